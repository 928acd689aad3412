package frost_test

import (
	"crypto/ed25519"
	"fmt"

	"github.com/custos-dev/custos/frost"
)

// A 2-of-3 FROST(Ed25519) signature: round one (Commit) on two guardians,
// the coordinator checks the commitment list, round two (Sign), then the
// coordinator aggregates. The result is a plain Ed25519 signature.
func Example() {
	keys, err := frost.TrustedDealerKeys(frost.Ed25519, 2, 3) // production: the dkg package
	if err != nil {
		panic(err)
	}
	group := &keys[0].Group
	var guardians []*frost.Signer
	for _, k := range keys[:2] {
		s, err := frost.NewSigner(k)
		if err != nil {
			panic(err)
		}
		defer s.Close()
		k.Zero()
		guardians = append(guardians, s)
	}

	// Round one: each guardian commits to a fresh nonce pair.
	var list []frost.Commitment
	for _, g := range guardians {
		c, err := g.Commit()
		if err != nil {
			panic(err)
		}
		list = append(list, c)
	}
	if err := frost.ValidateCommitmentList(group, list); err != nil {
		panic(err)
	}

	// Round two: each guardian signs the message over the same list.
	msg := []byte("transfer 100 USDC to treasury-2")
	shares := map[uint16][]byte{}
	for _, g := range guardians {
		share, err := g.Sign(msg, list)
		if err != nil {
			panic(err)
		}
		shares[g.ID()] = share
	}

	sig, err := frost.Aggregate(group, msg, list, shares)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(sig), ed25519.Verify(group.VerificationKey, msg, sig))

	// A nonce never signs twice.
	_, err = guardians[0].Sign([]byte("another message"), list)
	fmt.Println(err != nil)
	// Output:
	// 64 true
	// true
}
