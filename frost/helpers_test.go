package frost

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// dealer returns key shares and one Signer per participant (index i is
// participant i+1); the signers are closed at the end of the test.
func dealer(tb testing.TB, suite Suite, threshold, n uint16) ([]*KeyShare, []*Signer) {
	tb.Helper()
	ks, err := TrustedDealerKeys(suite, threshold, n)
	if err != nil {
		tb.Fatalf("TrustedDealerKeys(%v, %d, %d): %v", suite, threshold, n, err)
	}
	signers := make([]*Signer, n)
	for i, k := range ks {
		if signers[i], err = NewSigner(k); err != nil {
			tb.Fatalf("NewSigner(%d): %v", k.ID, err)
		}
	}
	tb.Cleanup(func() {
		for _, s := range signers {
			s.Close()
		}
	})
	return ks, signers
}

// round runs a whole signing round with the given participants (ascending
// identifiers), signing in the order given by order (indices into ids; nil
// means ascending). It returns the aggregate signature.
func round(tb testing.TB, g *GroupKey, signers []*Signer, ids []uint16, order []int, msg []byte) []byte {
	tb.Helper()
	sig, err := signRound(g, signers, ids, order, msg)
	if err != nil {
		tb.Fatal(err)
	}
	return sig
}

// signRound is round for any goroutine: it returns errors instead.
func signRound(g *GroupKey, signers []*Signer, ids []uint16, order []int, msg []byte) ([]byte, error) {
	list, shares, err := commitAndSign(signers, ids, order, msg)
	if err != nil {
		return nil, err
	}
	sig, err := Aggregate(g, msg, list, shares)
	if err != nil {
		return nil, fmt.Errorf("Aggregate(%v): %w", ids, err)
	}
	return sig, nil
}

// commitAndSign runs rounds one and two with the given participants
// (ascending identifiers), signing in the order given by order (indices
// into ids; nil means ascending). It returns the commitment list and the
// signature shares.
func commitAndSign(signers []*Signer, ids []uint16, order []int, msg []byte) ([]Commitment, map[uint16][]byte, error) {
	list := make([]Commitment, len(ids))
	for i, id := range ids {
		c, err := signers[id-1].Commit()
		if err != nil {
			return nil, nil, fmt.Errorf("Commit(%d): %w", id, err)
		}
		list[i] = c
	}
	if order == nil {
		order = make([]int, len(ids))
		for i := range order {
			order[i] = i
		}
	}
	shares := make(map[uint16][]byte, len(ids))
	for _, i := range order {
		id := ids[i]
		sh, err := signers[id-1].Sign(msg, list)
		if err != nil {
			return nil, nil, fmt.Errorf("Sign(%d): %w", id, err)
		}
		shares[id] = sh
	}
	return list, shares, nil
}

// checkSignature verifies sig with Verify and, for Ed25519, with
// crypto/ed25519 directly.
func checkSignature(tb testing.TB, g *GroupKey, msg, sig []byte) {
	tb.Helper()
	if err := Verify(g.Suite, g.VerificationKey, msg, sig); err != nil {
		tb.Fatalf("Verify: %v", err)
	}
	if g.Suite == Ed25519 && !ed25519.Verify(ed25519.PublicKey(g.VerificationKey), msg, sig) {
		tb.Fatalf("crypto/ed25519.Verify refused %x", sig)
	}
}

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// subsets returns every k-subset of 1..n, ascending.
func subsets(n, k int) [][]uint16 {
	var out [][]uint16
	var rec func(start int, cur []uint16)
	rec = func(start int, cur []uint16) {
		if len(cur) == k {
			out = append(out, append([]uint16(nil), cur...))
			return
		}
		for i := start; i <= n; i++ {
			rec(i+1, append(cur, uint16(i)))
		}
	}
	rec(1, nil)
	return out
}
