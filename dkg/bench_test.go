package dkg

import (
	"fmt"
	"testing"

	"github.com/custos-dev/custos/frost"
)

// BenchmarkDKG runs whole ceremonies, every participant in one goroutine
// (n round-1 packages, n·(n-1) encrypted shares, n key shares per op).
func BenchmarkDKG(b *testing.B) {
	for _, tc := range []struct{ t, n uint16 }{{2, 3}, {3, 5}, {5, 7}, {7, 10}} {
		b.Run(fmt.Sprintf("ed25519/t=%d/n=%d", tc.t, tc.n), func(b *testing.B) {
			s, err := NewSession(frost.Ed25519, tc.t, tc.n)
			if err != nil {
				b.Fatal(err)
			}
			keys, pubs := hpkeKeys(b, tc.n)
			for b.Loop() {
				c := newCeremonyWith(b, s, keys, pubs)
				var r1 []Round1
				for _, p := range c.parts {
					r, err := p.Round1()
					if err != nil {
						b.Fatal(err)
					}
					r1 = append(r1, *r)
				}
				tr, r2 := c.round2(b, r1)
				c.finalize(b, tr, r2)
			}
		})
	}
}
