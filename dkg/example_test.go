package dkg_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"fmt"
	"log"

	"github.com/custos-dev/custos/dkg"
	"github.com/custos-dev/custos/frost"
)

// A 2-of-3 ceremony. In production every participant is a guardian on its
// own host and the coordinator relays the messages; here they all run in
// one process.
func Example() {
	s, err := dkg.NewSession(frost.Ed25519, 2, 3)
	if err != nil {
		log.Fatal(err)
	}

	// Each guardian has an X25519 key; the public halves are known to all.
	pubs := map[uint16][]byte{}
	var parts []*dkg.Participant
	for id := uint16(1); id <= s.N; id++ {
		k, _ := ecdh.X25519().GenerateKey(rand.Reader)
		pubs[id] = k.PublicKey().Bytes()
		p, err := dkg.NewParticipant(s, id, k)
		if err != nil {
			log.Fatal(err)
		}
		parts = append(parts, p)
	}

	// Round 1: broadcast commitments and proofs; the coordinator checks them.
	var r1 []dkg.Round1
	for _, p := range parts {
		r, err := p.Round1()
		if err != nil {
			log.Fatal(err)
		}
		r1 = append(r1, *r)
	}
	if err := dkg.VerifyRound1(s, r1); err != nil {
		log.Fatal(err) // names the culprits: dkg.Culprits(err)
	}

	// Round 2: everyone checks the set and encrypts a share to each other
	// participant. The transcripts must all be equal before the shares are
	// relayed.
	var (
		transcripts [][32]byte
		r2          []dkg.Round2
	)
	for _, p := range parts {
		tr, out, err := p.Round2(r1, pubs)
		if err != nil {
			log.Fatal(err)
		}
		transcripts = append(transcripts, tr)
		r2 = append(r2, out...)
	}
	for _, tr := range transcripts {
		if tr != transcripts[0] {
			log.Fatal("transcript mismatch: abort the ceremony")
		}
	}

	// Finalize: each participant takes the shares addressed to it.
	var keys []*frost.KeyShare
	for _, p := range parts {
		var in []dkg.Round2
		for _, m := range r2 {
			if m.To == p.ID() {
				in = append(in, m)
			}
		}
		ks, err := p.Finalize(transcripts[0], in)
		if err != nil {
			log.Fatal(err)
		}
		keys = append(keys, ks)
	}
	same := bytes.Equal(keys[0].Group.VerificationKey, keys[2].Group.VerificationKey)
	fmt.Println("same group key:", same, "| public shares:", len(keys[0].Group.Shares))
	// Output: same group key: true | public shares: 3
}
