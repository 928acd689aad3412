package approvals_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/approvals/intent"
)

// An approver signs the canonical message for the request with their own
// key (in the web UI, or on their device); the engine checks every vote and
// tallies them against the quorum the policy demands. Here the policy wants
// four approvals, one of them by a treasury manager.
func Example() {
	tr, err := intent.NewTransfer("wallet-1", "ethereum", "usdc", "0x00000000000000000000000000000000000000aa", "25000000000", "invoice 42", "nonce-1")
	if err != nil {
		panic(err)
	}
	fp := tr.Fingerprint()
	policyHash := sha256.Sum256([]byte("policy document in force"))
	b := approvals.Binding{RequestID: "req-1", RequesterID: "rita", Revision: 1, Fingerprint: fp[:], PolicyHash: policyHash[:],
		ExpiresAt: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	q := approvals.Quorum{Approvals: 4, Roles: map[string]int{"treasury_manager": 1}, RejectionsToDeny: 1}

	roster := map[string]approvals.Approver{}
	keys := map[string]ed25519.PrivateKey{}
	for i, u := range []struct{ id, role string }{
		{"alice", "approver"}, {"bob", "approver"}, {"carol", "approver"}, {"trent", "treasury_manager"},
	} {
		seed := sha256.Sum256([]byte{byte(i)}) // fixed keys for a reproducible example
		keys[u.id] = ed25519.NewKeyFromSeed(seed[:])
		roster[u.id] = approvals.Approver{ID: u.id, Name: u.id, Role: u.role, Key: keys[u.id].Public().(ed25519.PublicKey)}
	}

	// What the approver's client shows and signs.
	fmt.Printf("%s", approvals.Message(b, approvals.Approve))

	var votes []approvals.Vote
	for _, id := range []string{"alice", "bob", "carol", "trent"} {
		sig := ed25519.Sign(keys[id], approvals.Message(b, approvals.Approve))
		v := approvals.Vote{ApproverID: id, Decision: approvals.Approve, Signature: sig}
		if err := approvals.CheckVote(b, roster[id], v); err != nil {
			panic(err)
		}
		votes = append(votes, v)
		t, err := approvals.Count(b, q, votes, roster)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s approves: %d approval(s), quorum met: %v, missing: %q\n", id, t.Approvals, t.QuorumMet, t.Missing)
	}

	t, _ := approvals.Count(b, q, votes, roster)
	cert, err := approvals.NewCertificate("transfer", b, tr.Canonical(), q, t, votes, roster)
	if err != nil {
		panic(err)
	}
	fmt.Println("certificate verifies against the guardian's roster:", cert.Verify(roster) == nil)

	// Output:
	// custos/approval/v1
	// request=req-1
	// requester=rita
	// revision=1
	// fingerprint=b577651927383a246a8a573dbe3925b5661f86d8d289178bc7c66f2e42d3903b
	// policy=1dc12621279dfac9099aa33a529a62edc761b3cd94d9f252713a664908596b84
	// expires=1893456000
	// decision=approve
	// alice approves: 1 approval(s), quorum met: false, missing: ["3 more approval(s)" "1 more approval(s) by a treasury_manager"]
	// bob approves: 2 approval(s), quorum met: false, missing: ["2 more approval(s)" "1 more approval(s) by a treasury_manager"]
	// carol approves: 3 approval(s), quorum met: false, missing: ["1 more approval(s)" "1 more approval(s) by a treasury_manager"]
	// trent approves: 4 approval(s), quorum met: true, missing: []
	// certificate verifies against the guardian's roster: true
}
