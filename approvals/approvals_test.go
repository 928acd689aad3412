package approvals

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// person is an approver with the private key behind their registered key.
type person struct {
	Approver
	priv ed25519.PrivateKey
}

// seedKey derives a deterministic key from a label.
func seedKey(label string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("approvals test key: " + label))
	return ed25519.NewKeyFromSeed(seed[:])
}

func newPerson(id, role string) person {
	priv := seedKey(id)
	return person{
		Approver: Approver{ID: id, Name: "user " + id, Role: role, Key: priv.Public().(ed25519.PublicKey)},
		priv:     priv,
	}
}

// vote signs decision for b with p's key.
func (p person) vote(b Binding, decision string) Vote {
	return Vote{ApproverID: p.ID, Decision: decision, Signature: ed25519.Sign(p.priv, Message(b, decision))}
}

// The people of a treasury: five approvers, two treasury managers, the
// requester (an approver too), and roles that may not approve.
var (
	alice     = newPerson("alice", "approver")
	bob       = newPerson("bob", "approver")
	carol     = newPerson("carol", "approver")
	dave      = newPerson("dave", "approver")
	erin      = newPerson("erin", "approver")
	trent     = newPerson("trent", "treasury_manager")
	tina      = newPerson("tina", "treasury_manager")
	requester = newPerson("rita", "approver")
	admin     = newPerson("adam", "admin")
	viewer    = newPerson("vera", "viewer")
	auditor   = newPerson("audrey", "auditor")
)

func testRoster(people ...person) map[string]Approver {
	if len(people) == 0 {
		people = []person{alice, bob, carol, dave, erin, trent, tina, requester, admin, viewer, auditor}
	}
	r := map[string]Approver{}
	for _, p := range people {
		r[p.ID] = p.Approver
	}
	return r
}

func sum(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func testBinding() Binding {
	return Binding{
		RequestID:   "7f0c2a4e-1d3b-4c5a-9e8f-0a1b2c3d4e5f",
		RequesterID: requester.ID,
		Revision:    1,
		Fingerprint: sum("intent"),
		PolicyHash:  sum("policy"),
		ExpiresAt:   time.Unix(1893456000, 0).UTC(),
	}
}

// treasuryQuorum is the default tier of a treasury above EUR 10,000: four
// approvals, one of them by a treasury manager, one rejection ends it.
func treasuryQuorum() Quorum {
	return Quorum{Approvals: 4, Roles: map[string]int{"treasury_manager": 1}, RejectionsToDeny: 1}
}

func TestMessageRoundTrip(t *testing.T) {
	other := testBinding()
	other.RequestID = "req 42/ünïcode"
	other.Fingerprint = bytes.Repeat([]byte{0xff}, 32)
	other.PolicyHash = make([]byte, 32)
	for _, tc := range []struct {
		name     string
		b        Binding
		decision string
	}{
		{"ok/approve", testBinding(), Approve},
		{"ok/reject", testBinding(), Reject},
		{"ok/odd-request-id", other, Approve},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := Message(tc.b, tc.decision)
			b, d, err := ParseMessage(m)
			if err != nil {
				t.Fatalf("ParseMessage(%q): %v", m, err)
			}
			if d != tc.decision {
				t.Errorf("decision = %q, want %q", d, tc.decision)
			}
			if b.RequestID != tc.b.RequestID || b.RequesterID != tc.b.RequesterID || !bytes.Equal(b.Fingerprint, tc.b.Fingerprint) || !bytes.Equal(b.PolicyHash, tc.b.PolicyHash) {
				t.Errorf("binding = %+v, want %+v", b, tc.b)
			}
			if got := Message(b, d); !bytes.Equal(got, m) {
				t.Errorf("Message(ParseMessage(m)) = %q, want %q", got, m)
			}
		})
	}
}

// TestMessageFormat pins the exact bytes approvers sign: changing them voids
// every stored approval.
func TestMessageFormat(t *testing.T) {
	b := Binding{RequestID: "req-1", RequesterID: "user-9", Revision: 3, Fingerprint: sum("intent"), PolicyHash: sum("policy"),
		ExpiresAt: time.Unix(1893456000, 0)}
	want := "custos/approval/v1\n" +
		"request=req-1\n" +
		"requester=user-9\n" +
		"revision=3\n" +
		"fingerprint=" + hex.EncodeToString(sum("intent")) + "\n" +
		"policy=" + hex.EncodeToString(sum("policy")) + "\n" +
		"expires=1893456000\n" +
		"decision=approve\n"
	if got := string(Message(b, Approve)); got != want {
		t.Errorf("Message = %q, want %q", got, want)
	}
	if bytes.Equal(Message(b, Approve), Message(b, Reject)) {
		t.Error("approve and reject messages are equal")
	}
}

func TestParseMessage(t *testing.T) {
	fp := hex.EncodeToString(sum("intent"))
	ph := hex.EncodeToString(sum("policy"))
	msg := func(request, fingerprint, policy, decision string) string {
		return "custos/approval/v1\nrequest=" + request + "\nrequester=u-1\nrevision=1\nfingerprint=" + fingerprint + "\npolicy=" + policy + "\nexpires=1893456000\ndecision=" + decision + "\n"
	}
	valid := msg("req-1", fp, ph, Approve)
	for _, tc := range []struct {
		name string
		in   string
	}{
		{"ok", valid},
		{"ok/reject", msg("req-1", fp, ph, Reject)},
		{"fail/empty", ""},
		{"fail/missing-header", strings.TrimPrefix(valid, "custos/approval/v1\n")},
		{"fail/other-version", strings.Replace(valid, "/v1\n", "/v2\n", 1)},
		{"fail/header-without-newline", strings.Replace(valid, "/v1\n", "/v1", 1)},
		{"fail/leading-bytes", " " + valid},
		{"fail/missing-line", "custos/approval/v1\nrequest=req-1\nrequester=u-1\nfingerprint=" + fp + "\ndecision=approve\n"},
		{"fail/extra-line", valid + "extra=1\n"},
		{"fail/empty-extra-line", valid + "\n"},
		{"fail/duplicated-line", "custos/approval/v1\nrequest=req-1\nrequester=u-1\nrequest=req-1\nfingerprint=" + fp + "\npolicy=" + ph + "\ndecision=approve\n"},
		{"fail/missing-final-newline", strings.TrimSuffix(valid, "\n")},
		{"fail/trailing-bytes", valid + "x"},
		{"fail/trailing-nul", valid + "\x00"},
		{"fail/crlf", strings.ReplaceAll(valid, "\n", "\r\n")},
		{"fail/cr-in-request", msg("req-1\r", fp, ph, Approve)},
		{"fail/fields-out-of-order", "custos/approval/v1\nrequester=u-1\nfingerprint=" + fp + "\nrequest=req-1\npolicy=" + ph + "\ndecision=approve\n"},
		{"fail/space-before-equals", strings.Replace(valid, "request=", "request =", 1)},
		{"fail/upper-case-field-name", strings.Replace(valid, "policy=", "POLICY=", 1)},
		{"fail/empty-request", msg("", fp, ph, Approve)},
		{"fail/missing-requester", strings.Replace(valid, "requester=u-1\n", "", 1)},
		{"fail/missing-revision", strings.Replace(valid, "revision=1\n", "", 1)},
		{"fail/missing-expires", strings.Replace(valid, "expires=1893456000\n", "", 1)},
		{"fail/zero-expires", strings.Replace(valid, "expires=1893456000\n", "expires=0\n", 1)},
		{"fail/negative-expires", strings.Replace(valid, "expires=1893456000\n", "expires=-1\n", 1)},
		{"fail/padded-expires", strings.Replace(valid, "expires=1893456000\n", "expires=01893456000\n", 1)},
		{"fail/fractional-expires", strings.Replace(valid, "expires=1893456000\n", "expires=1893456000.5\n", 1)},
		{"fail/zero-revision", strings.Replace(valid, "revision=1\n", "revision=0\n", 1)},
		{"fail/padded-revision", strings.Replace(valid, "revision=1\n", "revision=01\n", 1)},
		{"fail/negative-revision", strings.Replace(valid, "revision=1\n", "revision=-1\n", 1)},
		{"fail/empty-requester", strings.Replace(valid, "requester=u-1\n", "requester=\n", 1)},
		{"fail/equals-in-request", msg("req=1", fp, ph, Approve)},
		{"fail/upper-case-fingerprint", msg("req-1", strings.ToUpper(fp), ph, Approve)},
		{"fail/upper-case-policy", msg("req-1", fp, strings.ToUpper(ph), Approve)},
		{"fail/short-fingerprint", msg("req-1", fp[:62], ph, Approve)},
		{"fail/short-policy", msg("req-1", fp, ph[:62], Approve)},
		{"fail/long-fingerprint", msg("req-1", fp+"00", ph, Approve)},
		{"fail/odd-length-policy", msg("req-1", fp, ph+"0", Approve)},
		{"fail/empty-fingerprint", msg("req-1", "", ph, Approve)},
		{"fail/non-hex-fingerprint", msg("req-1", "zz"+fp[2:], ph, Approve)},
		{"fail/space-in-hex", msg("req-1", " "+fp[1:], ph, Approve)},
		{"fail/unknown-decision", msg("req-1", fp, ph, "approved")},
		{"fail/upper-case-decision", msg("req-1", fp, ph, "APPROVE")},
		{"fail/empty-decision", msg("req-1", fp, ph, "")},
		{"fail/decision-with-space", msg("req-1", fp, ph, "approve ")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, d, err := ParseMessage([]byte(tc.in))
			if strings.HasPrefix(tc.name, "ok") {
				if err != nil {
					t.Fatalf("ParseMessage: %v", err)
				}
				if got := string(Message(b, d)); got != tc.in {
					t.Errorf("Message(ParseMessage(x)) = %q, want %q", got, tc.in)
				}
				return
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseMessage(%q) error = %v, want ErrMalformed", tc.in, err)
			}
			if d != "" {
				t.Errorf("ParseMessage returned decision %q with an error", d)
			}
		})
	}
}

func TestCheckVote(t *testing.T) {
	b := testBinding()
	retarget := func(f func(*Binding)) Binding {
		o := testBinding()
		f(&o)
		return o
	}
	otherRequest := retarget(func(o *Binding) { o.RequestID = "another-request" })
	otherIntent := retarget(func(o *Binding) { o.Fingerprint = sum("changed intent") })
	otherPolicy := retarget(func(o *Binding) { o.PolicyHash = sum("changed policy") })
	noKey := alice
	noKey.Key = nil
	shortKey := alice
	shortKey.Key = alice.Key[:31]
	wrongKey := alice
	wrongKey.Key = bob.Key
	withSig := func(v Vote, sig []byte) Vote { v.Signature = sig; return v }
	good := alice.vote(b, Approve)

	for _, tc := range []struct {
		name string
		a    Approver
		v    Vote
		want error
	}{
		{"ok/approve", alice.Approver, alice.vote(b, Approve), nil},
		{"ok/reject", alice.Approver, alice.vote(b, Reject), nil},
		{"ok/treasury-manager", trent.Approver, trent.vote(b, Approve), nil},
		{"fail/self-approval", requester.Approver, requester.vote(b, Approve), ErrSelfApproval},
		{"fail/self-rejection", requester.Approver, requester.vote(b, Reject), ErrSelfApproval},
		{"fail/admin", admin.Approver, admin.vote(b, Approve), ErrNotApprover},
		{"fail/viewer", viewer.Approver, viewer.vote(b, Approve), ErrNotApprover},
		{"fail/auditor", auditor.Approver, auditor.vote(b, Reject), ErrNotApprover},
		{"fail/empty-role", newPerson("nobody", "").Approver, newPerson("nobody", "").vote(b, Approve), ErrNotApprover},
		{"fail/role-case", newPerson("shouty", "APPROVER").Approver, newPerson("shouty", "APPROVER").vote(b, Approve), ErrNotApprover},
		{"fail/no-key", noKey.Approver, good, ErrNoApprovalKey},
		{"fail/short-key", shortKey.Approver, good, ErrNoApprovalKey},
		{"fail/signed-by-another-key", wrongKey.Approver, good, ErrBadSignature},
		{"fail/vote-of-another-person", alice.Approver, withSig(good, bob.vote(b, Approve).Signature), ErrBadSignature},
		{"fail/replay-from-another-request", alice.Approver, alice.vote(otherRequest, Approve), ErrBadSignature},
		{"fail/changed-intent", alice.Approver, alice.vote(otherIntent, Approve), ErrBadSignature},
		{"fail/changed-policy", alice.Approver, alice.vote(otherPolicy, Approve), ErrBadSignature},
		{"fail/approve-presented-as-reject", alice.Approver, withSig(alice.vote(b, Reject), good.Signature), ErrBadSignature},
		{"fail/reject-presented-as-approve", alice.Approver, withSig(good, alice.vote(b, Reject).Signature), ErrBadSignature},
		{"fail/truncated-signature", alice.Approver, withSig(good, good.Signature[:63]), ErrBadSignature},
		{"fail/extended-signature", alice.Approver, withSig(good, append(slices.Clone(good.Signature), 0)), ErrBadSignature},
		{"fail/empty-signature", alice.Approver, withSig(good, nil), ErrBadSignature},
		{"fail/flipped-signature", alice.Approver, withSig(good, flip(good.Signature, 10)), ErrBadSignature},
		{"fail/unknown-decision", alice.Approver, Vote{ApproverID: alice.ID, Decision: "abstain", Signature: good.Signature}, ErrMalformed},
		{"fail/empty-decision", alice.Approver, Vote{ApproverID: alice.ID, Signature: good.Signature}, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkErr(t, "CheckVote", CheckVote(b, tc.a, tc.v), tc.want)
		})
	}
}

// flip returns a copy of b with one bit of byte i flipped.
func flip(b []byte, i int) []byte {
	c := slices.Clone(b)
	c[i] ^= 0x01
	return c
}

func TestCount(t *testing.T) {
	b := testBinding()
	yes := func(p person) Vote { return p.vote(b, Approve) }
	no := func(p person) Vote { return p.vote(b, Reject) }
	denyTwo := treasuryQuorum()
	denyTwo.RejectionsToDeny = 2
	denyZero := treasuryQuorum()
	denyZero.RejectionsToDeny = 0
	for _, tc := range []struct {
		name  string
		q     Quorum
		votes []Vote
		want  Tally
	}{
		{
			name:  "ok/three-approvers-and-treasury-manager",
			q:     treasuryQuorum(),
			votes: []Vote{yes(alice), yes(bob), yes(carol), yes(trent)},
			want:  Tally{Approvers: []string{"alice", "bob", "carol", "trent"}, QuorumMet: true, Approvals: 4},
		},
		{
			name:  "ok/more-than-needed",
			q:     treasuryQuorum(),
			votes: []Vote{yes(trent), yes(tina), yes(alice), yes(bob), yes(carol)},
			want:  Tally{Approvers: []string{"trent", "tina", "alice", "bob", "carol"}, QuorumMet: true, Approvals: 5},
		},
		{
			name:  "fail/three-approvers",
			q:     treasuryQuorum(),
			votes: []Vote{yes(alice), yes(bob), yes(carol)},
			want: Tally{Approvers: []string{"alice", "bob", "carol"}, Approvals: 3,
				Missing: []string{"1 more approval(s)", "1 more approval(s) by a treasury_manager"}},
		},
		{
			name:  "fail/four-approvers-without-treasury-manager",
			q:     treasuryQuorum(),
			votes: []Vote{yes(alice), yes(bob), yes(carol), yes(dave)},
			want: Tally{Approvers: []string{"alice", "bob", "carol", "dave"}, Approvals: 4,
				Missing: []string{"1 more approval(s) by a treasury_manager"}},
		},
		{
			name: "fail/no-votes",
			q:    treasuryQuorum(),
			want: Tally{Missing: []string{"4 more approval(s)", "1 more approval(s) by a treasury_manager"}},
		},
		{
			name:  "fail/duplicate-vote-counts-once",
			q:     treasuryQuorum(),
			votes: []Vote{yes(alice), yes(alice), yes(bob), yes(trent), yes(trent)},
			want: Tally{Approvers: []string{"alice", "bob", "trent"}, Approvals: 3,
				Missing: []string{"1 more approval(s)"}},
		},
		{
			name:  "ok/first-vote-wins-approve-then-reject",
			q:     treasuryQuorum(),
			votes: []Vote{yes(alice), no(alice), yes(bob), yes(carol), yes(trent)},
			want:  Tally{Approvers: []string{"alice", "bob", "carol", "trent"}, QuorumMet: true, Approvals: 4},
		},
		{
			name:  "fail/first-vote-wins-reject-then-approve",
			q:     treasuryQuorum(),
			votes: []Vote{no(alice), yes(alice), yes(bob), yes(carol), yes(dave), yes(trent)},
			want: Tally{Approvers: []string{"bob", "carol", "dave", "trent"}, Rejecters: []string{"alice"},
				Rejected: true, Approvals: 4, Rejections: 1},
		},
		{
			name:  "fail/one-rejection-ends-request",
			q:     treasuryQuorum(),
			votes: []Vote{yes(alice), yes(bob), yes(carol), yes(trent), no(dave)},
			want: Tally{Approvers: []string{"alice", "bob", "carol", "trent"}, Rejecters: []string{"dave"},
				Rejected: true, Approvals: 4, Rejections: 1},
		},
		{
			name:  "fail/rejections-to-deny-zero-means-one",
			q:     denyZero,
			votes: []Vote{no(dave)},
			want: Tally{Rejecters: []string{"dave"}, Rejected: true, Rejections: 1,
				Missing: []string{"4 more approval(s)", "1 more approval(s) by a treasury_manager"}},
		},
		{
			name:  "ok/one-rejection-of-two-needed",
			q:     denyTwo,
			votes: []Vote{yes(alice), no(dave), yes(bob), yes(carol), yes(trent)},
			want: Tally{Approvers: []string{"alice", "bob", "carol", "trent"}, Rejecters: []string{"dave"},
				QuorumMet: true, Approvals: 4, Rejections: 1},
		},
		{
			name:  "ok/same-rejecter-twice-counts-once",
			q:     denyTwo,
			votes: []Vote{no(dave), no(dave), yes(alice), yes(bob), yes(carol), yes(trent)},
			want: Tally{Approvers: []string{"alice", "bob", "carol", "trent"}, Rejecters: []string{"dave"},
				QuorumMet: true, Approvals: 4, Rejections: 1},
		},
		{
			name:  "fail/two-distinct-rejecters",
			q:     denyTwo,
			votes: []Vote{no(dave), yes(alice), yes(bob), yes(carol), yes(trent), no(erin)},
			want: Tally{Approvers: []string{"alice", "bob", "carol", "trent"}, Rejecters: []string{"dave", "erin"},
				Rejected: true, Approvals: 4, Rejections: 2},
		},
		{
			name: "ok/zero-approval-quorum-without-votes",
			q:    Quorum{},
			want: Tally{QuorumMet: true},
		},
		{
			name:  "fail/zero-approval-quorum-rejected",
			q:     Quorum{},
			votes: []Vote{no(alice)},
			want:  Tally{Rejecters: []string{"alice"}, Rejected: true, Rejections: 1},
		},
		{
			name:  "fail/two-roles-missing",
			q:     Quorum{Approvals: 1, Roles: map[string]int{"treasury_manager": 2, "approver": 1}},
			votes: []Vote{yes(trent)},
			want: Tally{Approvers: []string{"trent"}, Approvals: 1,
				Missing: []string{"1 more approval(s) by a approver", "1 more approval(s) by a treasury_manager"}},
		},
		{
			name:  "fail/role-that-cannot-approve",
			q:     Quorum{Approvals: 1, Roles: map[string]int{"admin": 1}},
			votes: []Vote{yes(alice)},
			want: Tally{Approvers: []string{"alice"}, Approvals: 1,
				Missing: []string{"1 more approval(s) by a admin"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Count(b, tc.q, tc.votes, testRoster())
			if err != nil {
				t.Fatalf("Count: %v", err)
			}
			if !equalTally(got, tc.want) {
				t.Errorf("Count =\n  %+v\nwant\n  %+v", got, tc.want)
			}
			if ok := strings.HasPrefix(tc.name, "ok"); got.QuorumMet != ok {
				t.Errorf("QuorumMet = %v, want %v", got.QuorumMet, ok)
			}
		})
	}
}

func equalTally(a, b Tally) bool {
	return slices.Equal(a.Approvers, b.Approvers) && slices.Equal(a.Rejecters, b.Rejecters) &&
		slices.Equal(a.Missing, b.Missing) && a.QuorumMet == b.QuorumMet && a.Rejected == b.Rejected &&
		a.Approvals == b.Approvals && a.Rejections == b.Rejections
}

// TestCountRefuses checks that a vote that does not verify is an error, not
// a vote that is skipped: the votes come from storage, and a bad one means
// storage was tampered with.
func TestCountRefuses(t *testing.T) {
	b := testBinding()
	good := []Vote{alice.vote(b, Approve), bob.vote(b, Approve), carol.vote(b, Approve), trent.vote(b, Approve)}
	with := func(i int, v Vote) []Vote {
		votes := slices.Clone(good)
		votes[i] = v
		return votes
	}
	tampered := good[1]
	tampered.Signature = flip(tampered.Signature, 0)
	changedDecision := good[1]
	changedDecision.Decision = Reject
	other := testBinding()
	other.RequestID = "another-request"

	// mallory registered alice's public key as her own: alice's signature
	// would verify for mallory too, since the message does not name the
	// approver.
	mallory := newPerson("mallory", "approver")
	mallory.Key = alice.Key
	copied := good[0]
	copied.ApproverID = mallory.ID
	rosterWithMallory := testRoster()
	rosterWithMallory[mallory.ID] = mallory.Approver

	for _, tc := range []struct {
		name   string
		votes  []Vote
		roster map[string]Approver
		want   error
	}{
		{"fail/tampered-signature", with(1, tampered), testRoster(), ErrBadSignature},
		{"fail/tampered-decision", with(1, changedDecision), testRoster(), ErrBadSignature},
		{"fail/vote-for-another-request", with(2, carol.vote(other, Approve)), testRoster(), ErrBadSignature},
		{"fail/one-signature-two-identities", append(slices.Clone(good[:3]), copied), rosterWithMallory, ErrNotApprover},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Count(b, treasuryQuorum(), tc.votes, tc.roster)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Count error = %v, want %v", err, tc.want)
			}
			if got.QuorumMet || got.Approvals != 0 || got.Approvers != nil {
				t.Errorf("Count returned a tally with an error: %+v", got)
			}
		})
	}

	t.Run("ok/baseline", func(t *testing.T) {
		got, err := Count(b, treasuryQuorum(), good, rosterWithMallory)
		if err != nil || !got.QuorumMet {
			t.Fatalf("Count = %+v, %v; want quorum met", got, err)
		}
	})
}

// TestCountVoidsIneligibleVotes: a vote by someone who can no longer
// approve (removed, demoted, key withdrawn) no longer counts, and the
// request stays usable instead of failing.
func TestCountVoidsIneligibleVotes(t *testing.T) {
	b := testBinding()
	good := []Vote{alice.vote(b, Approve), bob.vote(b, Approve), carol.vote(b, Approve), trent.vote(b, Approve)}
	with := func(i int, v Vote) []Vote {
		out := slices.Clone(good)
		out[i] = v
		return out
	}
	demoted := testRoster()
	a := demoted[alice.ID]
	a.Role = "viewer"
	demoted[alice.ID] = a
	keyless := testRoster()
	a = keyless[alice.ID]
	a.Key = nil
	keyless[alice.ID] = a
	zed := newPerson("zed", "approver")
	for _, tc := range []struct {
		name   string
		votes  []Vote
		roster map[string]Approver
		void   string
	}{
		{"ok/unknown-approver", with(0, zed.vote(b, Approve)), testRoster(), zed.ID},
		{"ok/removed-from-roster", good, testRoster(bob, carol, trent), alice.ID},
		{"ok/admin-vote", with(0, admin.vote(b, Approve)), testRoster(), admin.ID},
		{"ok/requester-vote", with(0, requester.vote(b, Approve)), testRoster(), requester.ID},
		{"ok/demoted", good, demoted, alice.ID},
		{"ok/key-withdrawn", good, keyless, alice.ID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Count(b, treasuryQuorum(), tc.votes, tc.roster)
			if err != nil {
				t.Fatalf("Count: %v", err)
			}
			if got.QuorumMet || got.Approvals != 3 || !slices.Equal(got.Void, []string{tc.void}) {
				t.Fatalf("tally %+v: want 3 approvals, no quorum, %s void", got, tc.void)
			}
		})
	}
}

// TestCountDoesNotModifyInputs guards the caller's stored votes and quorum.
func TestCountDoesNotModifyInputs(t *testing.T) {
	b := testBinding()
	votes := []Vote{alice.vote(b, Approve), bob.vote(b, Reject)}
	before := slices.Clone(votes)
	q := treasuryQuorum()
	if _, err := Count(b, q, votes, testRoster()); err != nil {
		t.Fatal(err)
	}
	for i := range votes {
		if votes[i].ApproverID != before[i].ApproverID || votes[i].Decision != before[i].Decision || !bytes.Equal(votes[i].Signature, before[i].Signature) {
			t.Errorf("vote %d changed: %+v", i, votes[i])
		}
	}
	if len(q.Roles) != 1 || q.Roles["treasury_manager"] != 1 {
		t.Errorf("quorum changed: %+v", q)
	}
}

func FuzzParseMessage(f *testing.F) {
	b := testBinding()
	f.Add(Message(b, Approve))
	f.Add(Message(b, Reject))
	f.Add(Message(Binding{RequestID: "x", RequesterID: "y", Revision: 1, Fingerprint: make([]byte, 32), PolicyHash: make([]byte, 32), ExpiresAt: time.Unix(1, 0)}, Approve))
	f.Add([]byte("custos/approval/v1\n"))
	f.Add([]byte("custos/approval/v1\nrequest=a\nfingerprint=00\npolicy=00\ndecision=approve\n"))
	f.Add(bytes.ReplaceAll(Message(b, Approve), []byte("\n"), []byte("\r\n")))
	f.Add(append(Message(b, Approve), '\n'))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, m []byte) {
		got, decision, err := ParseMessage(m)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if decision != Approve && decision != Reject {
			t.Fatalf("accepted decision %q", decision)
		}
		if len(got.Fingerprint) != 32 || len(got.PolicyHash) != 32 || got.RequestID == "" || got.RequesterID == "" {
			t.Fatalf("accepted binding %+v", got)
		}
		if re := Message(got, decision); !bytes.Equal(re, m) {
			t.Fatalf("Message(ParseMessage(%q)) = %q", m, re)
		}
	})
}

// checkErr checks that err, returned by what, is want (nil: no error), and
// that an error says it comes from this package.
func checkErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("%s error = %v, want %v", what, err, want)
	}
	if !strings.HasPrefix(err.Error(), "approvals: ") {
		t.Errorf("error %q lacks the package prefix", err)
	}
}
