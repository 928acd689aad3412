package frost

import (
	"testing"

	bm "github.com/bytemare/frost"
)

// benchmarkSign measures one whole in-process signing through this package:
// t Commit, t Sign, Aggregate (which verifies the signature).
func benchmarkSign(b *testing.B, suite Suite, threshold, n uint16) {
	ks, signers := dealer(b, suite, threshold, n)
	g := &ks[0].Group
	ids := make([]uint16, threshold)
	for i := range ids {
		ids[i] = uint16(i + 1)
	}
	msg := []byte("benchmark transfer")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := signRound(g, signers, ids, nil, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSign2of3(b *testing.B)           { benchmarkSign(b, Ed25519, 2, 3) }
func BenchmarkSign3of5(b *testing.B)           { benchmarkSign(b, Ed25519, 3, 5) }
func BenchmarkSign7of10(b *testing.B)          { benchmarkSign(b, Ed25519, 7, 10) }
func BenchmarkSign2of3Secp256k1(b *testing.B)  { benchmarkSign(b, Secp256k1, 2, 3) }
func BenchmarkSign7of10Secp256k1(b *testing.B) { benchmarkSign(b, Secp256k1, 7, 10) }

// BenchmarkBytemareSign2of3 is the same round with bytemare/frost alone (no
// element validation, bytemare's own signature check), for comparison.
func BenchmarkBytemareSign2of3(b *testing.B) {
	ks, signers := dealer(b, Ed25519, 2, 3)
	conf, err := configuration(&ks[0].Group, ks[0].Group.Shares)
	if err != nil {
		b.Fatal(err)
	}
	bms := []*bm.Signer{signers[0].bms, signers[1].bms}
	msg := []byte("benchmark transfer")
	b.ReportAllocs()
	for b.Loop() {
		mu.Lock()
		list := make(bm.CommitmentList, len(bms))
		for i, s := range bms {
			list[i] = s.Commit()
		}
		shares := make([]*bm.SignatureShare, len(bms))
		for i, s := range bms {
			if shares[i], err = s.Sign(msg, list); err != nil {
				mu.Unlock()
				b.Fatal(err)
			}
		}
		sig, err := conf.AggregateSignatures(msg, shares, list, false)
		if err == nil {
			err = bm.VerifySignature(bm.Ed25519, msg, sig, conf.VerificationKey)
		}
		mu.Unlock()
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCommit(b *testing.B) {
	for _, suite := range []Suite{Ed25519, Secp256k1} {
		b.Run(suite.Curve(), func(b *testing.B) {
			_, signers := dealer(b, suite, 2, 3)
			s := signers[0]
			b.ReportAllocs()
			for b.Loop() {
				c, err := s.Commit()
				if err != nil {
					b.Fatal(err)
				}
				s.Discard(c.ID)
			}
		})
	}
}

func BenchmarkAggregate2of3(b *testing.B) {
	for _, suite := range []Suite{Ed25519, Secp256k1} {
		b.Run(suite.Curve(), func(b *testing.B) {
			ks, signers := dealer(b, suite, 2, 3)
			g := &ks[0].Group
			msg := []byte("benchmark transfer")
			var list []Commitment
			for _, s := range signers[:2] {
				c, err := s.Commit()
				if err != nil {
					b.Fatal(err)
				}
				list = append(list, c)
			}
			shares := map[uint16][]byte{}
			for _, s := range signers[:2] {
				sh, err := s.Sign(msg, list)
				if err != nil {
					b.Fatal(err)
				}
				shares[s.ID()] = sh
			}
			b.Run("decode-each-time", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := Aggregate(g, msg, list, shares); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("prepared", func(b *testing.B) {
				a, err := NewAggregator(g)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := a.Aggregate(msg, list, shares); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkDecodeElement decodes an element seen for the first time (the
// Ed25519 subgroup check runs) and one decoded before (it does not).
func BenchmarkDecodeElement(b *testing.B) {
	for _, suite := range []Suite{Ed25519, Secp256k1} {
		for _, seen := range []bool{false, true} {
			name := suite.Curve() + "/unseen"
			if seen {
				name = suite.Curve() + "/seen"
			}
			b.Run(name, func(b *testing.B) {
				g := suite.Group()
				enc := g.Base().Multiply(g.NewScalar().Random()).Encode()
				b.ReportAllocs()
				for b.Loop() {
					if !seen {
						checkedEd25519.Clear()
					}
					if _, err := suite.DecodeElement(enc); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
