package main

import (
	"strings"
	"testing"
)

// A transaction is printed with its fingerprint's words (intent.Words, as
// the web UI and the API show them) on the line after the hex.
func TestPrintTxFingerprintWords(t *testing.T) {
	const fp = "0123456789abcdeffedcba98765432100123456789abcdeffedcba9876543210"
	for _, tc := range []struct {
		name, fp, want string
	}{
		{"ok", fp, "  fingerprint " + fp + "\n  fingerprint words: abuse boss fly battle rubber wave window nuclear\n"},
		{"fail/not-hex", "zz", "  fingerprint zz\n  fingerprint words: (none: not a valid fingerprint)\n"},
		{"fail/short", fp[:20], "  fingerprint " + fp[:20] + "\n  fingerprint words: (none: not a valid fingerprint)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			printTx(&out, &txView{ID: "tx_1", Status: "signed", Fingerprint: tc.fp})
			if !strings.Contains(out.String(), tc.want) {
				t.Fatalf("printed\n%s\nwant it to contain\n%s", out.String(), tc.want)
			}
		})
	}
}
