package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDevFROSTWallet is the `make run` walk-through with guardians: custos
// dev starts three guardian processes, enrols them, creates the 2-of-3
// FROST wallet treasury-frost through an approved wallet.create request and
// its key ceremony, and a transfer on it is signed by two guardians with a
// signature crypto/ed25519 accepts under the wallet's group key.
func TestDevFROSTWallet(t *testing.T) {
	t.Parallel()
	d := startDev(t, "--guardians", "3", "--guardian-port", "0")

	// The wallet appears in the credentials once its ceremony completed.
	var walletID string
	deadline := time.Now().Add(3 * time.Minute)
	for walletID == "" {
		var cr credentials
		if data, err := os.ReadFile(d.credsPath); err == nil && json.Unmarshal(data, &cr) == nil {
			for _, w := range cr.Wallets {
				if w.Name == "treasury-frost" {
					walletID = w.ID
				}
			}
		}
		if walletID == "" {
			if time.Now().After(deadline) || d.proc.exited() {
				t.Fatalf("no FROST wallet in the credentials after the guardians started\n%s", d.proc.tail())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	for i := 1; i <= 3; i++ {
		dir := filepath.Join(d.dir, "guardians", "g"+string(rune('0'+i)))
		out := mustCLI(t, "guardian", "status", "--dir", dir)
		if !strings.Contains(out, "g"+string(rune('0'+i))) {
			t.Errorf("guardian status of %s does not name it:\n%s", dir, out)
		}
	}
	w, ok := listWallets(t, d.url, d.creds.APIKey)[walletID]
	if !ok || w.Curve != "ed25519" || len(w.PublicKey) != 64 {
		t.Fatalf("wallet %s: %+v, want an ed25519 wallet with a group key", walletID, w)
	}
	show := mustCLI(t, "wallet", "show", d.credsFlag(), walletID)
	if !strings.Contains(show, "any 2 of 3 guardians") || !strings.Contains(show, "status      active") {
		t.Errorf("wallet show does not say active 2-of-3:\n%s", show)
	}

	out := mustCLI(t, "tx", "submit", "--as", "carol", d.credsFlag(), "--wallet", "treasury-frost", "--asset", "sol",
		"--to", "beneficiary", "--amount", "2000000000")
	m := txLine.FindStringSubmatch(out)
	if m == nil || m[2] != "pending_approval" {
		t.Fatalf("tx submit did not print a pending transaction:\n%s", out)
	}
	txID := m[1]
	mustCLI(t, "approve", "--as", "alice", d.credsFlag(), txID)
	tx := d.waitTx(t, txID, 2*time.Minute, "signed or failed", func(tx *txView) bool { return tx.Status == "signed" || tx.Status == "failed" })
	if tx.Status != "signed" {
		t.Fatalf("transaction %s is %s (%s), want signed\n%s", txID, tx.Status, tx.FailureReason, d.proc.tail())
	}
	if err := verifyWalletSignature("ed25519", w.PublicKey, tx.Signature, tx.Intent); err != nil {
		t.Fatalf("the FROST signature of %s: %v", txID, err)
	}
}
