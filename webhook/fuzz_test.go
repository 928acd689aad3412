package webhook_test

import (
	"strings"
	"testing"
	"time"

	"github.com/custos-dev/custos/webhook"
)

// FuzzVerify feeds arbitrary headers and bodies to Verify. It must not
// panic; whatever it accepts must carry, among its comma-separated items,
// exactly one t within the tolerance and the v1 signature computed from the
// documentation for that t and body; and what Sign makes must verify.
func FuzzVerify(f *testing.F) {
	good := webhook.Sign(secret, sent, body)
	f.Add(good, body, int64(0))
	f.Add(good+",v1="+strings.Repeat("0", 64), body, int64(30))
	f.Add("v0=x,"+good, body, int64(-30))
	f.Add(good, []byte{}, int64(400))
	f.Add(strings.ToUpper(good), body, int64(0))
	f.Add("t=1800000000,t=1800000000,"+good[len("t=1800000000,"):], body, int64(0))
	f.Add("t=,v1=", body, int64(0))
	f.Add(",,,", body, int64(0))
	f.Add("t=00001800000000,v1="+reference("00001800000000", body), body, int64(0))

	f.Fuzz(func(t *testing.T, header string, b []byte, skew int64) {
		now := sent.Add(time.Duration(skew) * time.Second)
		if err := webhook.Verify(secret, header, b, now, 0); err == nil {
			var ts []string
			signed := false
			for _, item := range strings.Split(header, ",") {
				if v, ok := strings.CutPrefix(item, "t="); ok {
					ts = append(ts, v)
				}
			}
			if len(ts) != 1 {
				t.Fatalf("accepted %q with %d timestamps", header, len(ts))
			}
			want := reference(ts[0], b)
			for _, item := range strings.Split(header, ",") {
				if v, ok := strings.CutPrefix(item, "v1="); ok && strings.EqualFold(v, want) {
					signed = true
				}
			}
			if !signed {
				t.Fatalf("accepted %q without the signature %s", header, want)
			}
			if skew > 300 || skew < -300 {
				t.Fatalf("accepted %q at %d s from its time", header, skew)
			}
		}
		// Round trip: a fresh signature of any body verifies.
		if err := webhook.Verify(secret, webhook.Sign(secret, now, b), b, now, 0); err != nil {
			t.Fatalf("Sign then Verify: %v", err)
		}
	})
}
