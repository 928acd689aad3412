package approvals

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"
)

// TestVerifySignatureRemembers: a signature that verified is remembered
// for exactly its key, message and signature; nothing else passes because
// of it, and a failure is never remembered.
func TestVerifySignatureRemembers(t *testing.T) {
	pubA, privA, _ := ed25519.GenerateKey(rand.Reader)
	pubB, _, _ := ed25519.GenerateKey(rand.Reader)
	msg := []byte("approve request r1")
	sig := ed25519.Sign(privA, msg)
	before := verified.Len()
	for range 2 {
		if !verifySignature(pubA, msg, sig) {
			t.Fatal("a valid signature was refused")
		}
	}
	if verified.Len() != before+1 {
		t.Fatalf("%d entries remembered for one signature", verified.Len()-before)
	}
	bad := append([]byte(nil), sig...)
	bad[0] ^= 1
	for _, tc := range []struct {
		name     string
		pub      ed25519.PublicKey
		msg, sig []byte
	}{
		{"another key", pubB, msg, sig},
		{"another message", pubA, []byte("approve request r2"), sig},
		{"another signature", pubA, msg, bad},
		// The same bytes split differently between key and message.
		{"shifted boundary", append(append(ed25519.PublicKey(nil), pubA[1:]...), msg[0]), append(append([]byte(nil), pubA[:0]...), msg[1:]...), sig},
	} {
		for range 2 {
			if verifySignature(tc.pub, tc.msg, tc.sig) {
				t.Fatalf("%s: accepted", tc.name)
			}
		}
	}
	if verified.Len() != before+1 {
		t.Fatal("a failed verification was remembered")
	}
}

func BenchmarkCheckVote(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	bind := Binding{RequestID: "r1", RequesterID: "u-carol", Revision: 1, Fingerprint: make([]byte, 32), PolicyHash: make([]byte, 32)}
	a := Approver{ID: "u-bob", Role: "approver", Key: pub}
	v := Vote{ApproverID: a.ID, Decision: Approve, Signature: ed25519.Sign(priv, Message(bind, Approve))}
	for _, seen := range []bool{false, true} {
		name := "unseen"
		if seen {
			name = "seen"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if !seen {
					verified.Clear()
				}
				if err := CheckVote(bind, a, v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
