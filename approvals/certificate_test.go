package approvals

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custos-dev/custos/approvals/intent"
)

// testIntent returns the canonical bytes of a transfer intent.
func testIntent(t testing.TB, amount string) []byte {
	t.Helper()
	tr, err := intent.NewTransfer("wallet-1", "ethereum", "usdc", "0x00000000000000000000000000000000000000aa", amount, "invoice 42", "nonce-1")
	if err != nil {
		t.Fatal(err)
	}
	return tr.Canonical()
}

// certBinding binds a request to intentBytes.
func certBinding(intentBytes []byte) Binding {
	fp := intent.Fingerprint(intentBytes)
	return Binding{RequestID: "req-cert", RequesterID: requester.ID, Fingerprint: fp[:], PolicyHash: sum("policy"), ExpiresAt: time.Unix(1893456000, 0).UTC()}
}

// testCertificate returns a certificate with approvals by alice, bob, carol
// and trent under the treasury quorum.
func testCertificate(t testing.TB) *Certificate {
	t.Helper()
	in := testIntent(t, "25000000000")
	b := certBinding(in)
	votes := []Vote{alice.vote(b, Approve), bob.vote(b, Approve), dave.vote(b, Reject), carol.vote(b, Approve), trent.vote(b, Approve)}
	q := treasuryQuorum()
	q.RejectionsToDeny = 2
	tally, err := Count(b, q, votes, testRoster())
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCertificate("transfer", b, in, q, tally, votes, testRoster())
	if err != nil {
		t.Fatalf("NewCertificate: %v", err)
	}
	return c
}

func TestNewCertificate(t *testing.T) {
	c := testCertificate(t)
	if err := c.Verify(nil); err != nil {
		t.Fatalf("Verify(nil): %v", err)
	}
	if err := c.Verify(testRoster()); err != nil {
		t.Fatalf("Verify(roster): %v", err)
	}
	if c.Version != 1 || c.Action != "transfer" || c.RequestID != "req-cert" || c.RequesterID != requester.ID {
		t.Errorf("header = %+v", c)
	}
	var ids []string
	for _, a := range c.Approvals {
		ids = append(ids, a.ApproverID)
		want := testRoster()[a.ApproverID]
		if a.Role != want.Role || a.Name != want.Name || !bytes.Equal(a.PublicKey, want.Key) {
			t.Errorf("approval %s = %+v, want roster entry %+v", a.ApproverID, a, want)
		}
	}
	if want := []string{"alice", "bob", "carol", "trent"}; !slices.Equal(ids, want) {
		t.Errorf("approvers = %v, want %v (the rejection is not an approval)", ids, want)
	}
}

func TestNewCertificateRefuses(t *testing.T) {
	in := testIntent(t, "25000000000")
	b := certBinding(in)
	q := treasuryQuorum()
	three := []Vote{alice.vote(b, Approve), bob.vote(b, Approve), trent.vote(b, Approve)}

	t.Run("fail/quorum-not-met", func(t *testing.T) {
		tally, err := Count(b, q, three, testRoster())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewCertificate("transfer", b, in, q, tally, three, testRoster()); !errors.Is(err, ErrQuorumNotMet) {
			t.Fatalf("error = %v, want ErrQuorumNotMet", err)
		}
	})
	t.Run("fail/forged-tally", func(t *testing.T) {
		tally := Tally{Approvers: []string{"alice", "bob", "trent", "dave"}, QuorumMet: true, Approvals: 4}
		if _, err := NewCertificate("transfer", b, in, q, tally, three, testRoster()); !errors.Is(err, ErrBadCertificate) {
			t.Fatalf("error = %v, want ErrBadCertificate", err)
		}
	})
	t.Run("fail/intent-of-another-binding", func(t *testing.T) {
		votes := append(slices.Clone(three), carol.vote(b, Approve))
		tally, err := Count(b, q, votes, testRoster())
		if err != nil {
			t.Fatal(err)
		}
		other := testIntent(t, "25000000001")
		if _, err := NewCertificate("transfer", b, other, q, tally, votes, testRoster()); !errors.Is(err, ErrBadCertificate) {
			t.Fatalf("error = %v, want ErrBadCertificate", err)
		}
	})
	t.Run("ok/first-approval-signature-is-used", func(t *testing.T) {
		// alice approves, then rejects: her first vote counts, and the
		// certificate must carry her approval signature, not the rejection.
		votes := []Vote{alice.vote(b, Approve), alice.vote(b, Reject), bob.vote(b, Approve), carol.vote(b, Approve), trent.vote(b, Approve)}
		tally, err := Count(b, q, votes, testRoster())
		if err != nil {
			t.Fatal(err)
		}
		c, err := NewCertificate("transfer", b, in, q, tally, votes, testRoster())
		if err != nil {
			t.Fatalf("NewCertificate: %v", err)
		}
		if err := c.Verify(testRoster()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCertificateVerify(t *testing.T) {
	otherIntent := testIntent(t, "99000000000")
	otherFP := intent.Fingerprint(otherIntent)
	find := func(c *Certificate, id string) int {
		i := slices.IndexFunc(c.Approvals, func(a CertificateApproval) bool { return a.ApproverID == id })
		if i < 0 {
			t.Fatalf("no approval by %s", id)
		}
		return i
	}
	rosterWith := func(f func(r map[string]Approver)) map[string]Approver {
		r := testRoster()
		f(r)
		return r
	}

	for _, tc := range []struct {
		name   string
		mutate func(c *Certificate)
		roster map[string]Approver
		want   error // besides ErrBadCertificate
	}{
		{name: "ok/self-contained", mutate: func(c *Certificate) {}},
		{name: "ok/with-roster", mutate: func(c *Certificate) {}, roster: testRoster()},
		{name: "ok/roster-names-differ", mutate: func(c *Certificate) { c.Approvals[0].Name = "someone" }, roster: testRoster()},
		{name: "fail/changed-intent-byte", mutate: func(c *Certificate) {
			c.Intent = slices.Clone(c.Intent)
			c.Intent[len(c.Intent)/2] ^= 1
		}},
		{name: "fail/changed-intent-with-matching-fingerprint", mutate: func(c *Certificate) {
			c.Intent, c.Fingerprint = otherIntent, otherFP[:]
		}, want: ErrBadSignature},
		{name: "fail/changed-intent-with-matching-fingerprint-and-roster", mutate: func(c *Certificate) {
			c.Intent, c.Fingerprint = otherIntent, otherFP[:]
		}, roster: testRoster(), want: ErrBadSignature},
		{name: "fail/changed-fingerprint", mutate: func(c *Certificate) { c.Fingerprint = flip(c.Fingerprint, 0) }},
		{name: "fail/truncated-fingerprint", mutate: func(c *Certificate) { c.Fingerprint = c.Fingerprint[:31] }},
		{name: "fail/empty-intent", mutate: func(c *Certificate) { c.Intent = nil }},
		{name: "fail/changed-policy-hash", mutate: func(c *Certificate) { c.PolicyHash = sum("another policy") }, want: ErrBadSignature},
		{name: "fail/extended-expiry", mutate: func(c *Certificate) { c.ExpiresAt = c.ExpiresAt.Add(time.Hour) }, want: ErrBadSignature},
		{name: "fail/changed-request-id", mutate: func(c *Certificate) { c.RequestID = "req-other" }, want: ErrBadSignature},
		{name: "fail/removed-approval", mutate: func(c *Certificate) { c.Approvals = c.Approvals[:3] }, want: ErrQuorumNotMet},
		{name: "fail/removed-treasury-manager", mutate: func(c *Certificate) {
			c.Approvals = slices.Delete(c.Approvals, find(c, "trent"), find(c, "trent")+1)
		}, want: ErrQuorumNotMet},
		{name: "fail/no-approvals", mutate: func(c *Certificate) { c.Approvals = nil }, want: ErrQuorumNotMet},
		{name: "fail/duplicated-approval", mutate: func(c *Certificate) {
			c.Approvals = append(c.Approvals[:3], c.Approvals[0])
		}},
		{name: "fail/duplicated-approval-with-roster", mutate: func(c *Certificate) {
			c.Approvals = append(c.Approvals[:3], c.Approvals[0])
		}, roster: testRoster()},
		{name: "fail/signature-copied-under-another-id", mutate: func(c *Certificate) {
			copied := c.Approvals[0]
			copied.ApproverID = "mallory"
			c.Approvals = append(c.Approvals[:3], copied)
			c.Quorum.Roles = nil
		}, want: ErrNotApprover},
		{name: "fail/swapped-public-key", mutate: func(c *Certificate) { c.Approvals[0].PublicKey = erin.Key }, want: ErrBadSignature},
		{name: "fail/missing-public-key", mutate: func(c *Certificate) { c.Approvals[0].PublicKey = nil }, want: ErrNotApprover},
		{name: "fail/swapped-signature", mutate: func(c *Certificate) {
			c.Approvals[0].Signature, c.Approvals[1].Signature = c.Approvals[1].Signature, c.Approvals[0].Signature
		}, want: ErrBadSignature},
		{name: "fail/truncated-signature", mutate: func(c *Certificate) { c.Approvals[1].Signature = c.Approvals[1].Signature[:32] }, want: ErrBadSignature},
		{name: "fail/forged-key-and-signature-against-roster", mutate: func(c *Certificate) {
			// A coordinator that makes up a key and signs with it passes
			// the self-check but not the guardian's roster.
			i := find(c, "trent")
			b := c.Binding()
			v := tina.vote(b, Approve)
			c.Approvals[i].PublicKey, c.Approvals[i].Signature = tina.Key, v.Signature
		}, roster: testRoster(), want: ErrNotApprover},
		{name: "fail/roster-key-differs", mutate: func(c *Certificate) {}, roster: rosterWith(func(r map[string]Approver) {
			a := r["bob"]
			a.Key = erin.Key
			r["bob"] = a
		}), want: ErrNotApprover},
		{name: "fail/roster-role-differs", mutate: func(c *Certificate) {}, roster: rosterWith(func(r map[string]Approver) {
			a := r["trent"]
			a.Role = "approver"
			r["trent"] = a
		}), want: ErrNotApprover},
		{name: "fail/role-escalated-in-certificate", mutate: func(c *Certificate) {
			c.Approvals[0].Role = "treasury_manager"
		}, roster: testRoster(), want: ErrNotApprover},
		{name: "fail/approver-not-in-roster", mutate: func(c *Certificate) {}, roster: testRoster(bob, carol, trent), want: ErrNotApprover},
		{name: "fail/empty-roster", mutate: func(c *Certificate) {}, roster: map[string]Approver{}, want: ErrNotApprover},
		{name: "fail/role-not-approving", mutate: func(c *Certificate) { c.Approvals[0].Role = "admin" }, want: ErrNotApprover},
		{name: "fail/wrong-version-0", mutate: func(c *Certificate) { c.Version = 0 }},
		{name: "fail/wrong-version-2", mutate: func(c *Certificate) { c.Version = 2 }},
		// The requester is signed by every approval, so rewriting it breaks
		// the certificate whichever check catches it first.
		{name: "fail/requester-rewritten-to-an-approver", mutate: func(c *Certificate) { c.RequesterID = "bob" }},
		{name: "fail/requester-rewritten-with-roster", mutate: func(c *Certificate) { c.RequesterID = "trent" }, roster: testRoster()},
		{name: "fail/requester-rewritten-to-outsider", mutate: func(c *Certificate) { c.RequesterID = "mallory" }, want: ErrBadSignature},
		{name: "fail/quorum-raised", mutate: func(c *Certificate) { c.Quorum.Approvals = 5 }, want: ErrQuorumNotMet},
		{name: "fail/signature-and-assertion", mutate: func(c *Certificate) {
			c.Approvals[0].Assertion = &Assertion{CredentialID: []byte("credential")}
			c.Approvals[0].Passkey = &Passkey{ID: []byte("credential")}
		}, want: ErrMalformed},
		{name: "fail/signature-and-assertion-with-roster", mutate: func(c *Certificate) {
			c.Approvals[0].Assertion = &Assertion{CredentialID: []byte("credential")}
		}, roster: testRoster(), want: ErrMalformed},
		{name: "fail/stray-passkey", mutate: func(c *Certificate) { c.Approvals[0].Passkey = &Passkey{ID: []byte("credential")} }, want: ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testCertificate(t)
			tc.mutate(c)
			err := c.Verify(tc.roster)
			if strings.HasPrefix(tc.name, "ok") {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrBadCertificate) {
				t.Fatalf("Verify error = %v, want ErrBadCertificate", err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Verify error = %v, want it to wrap %v", err, tc.want)
			}
		})
	}
}

func TestCertificateJSONRoundTrip(t *testing.T) {
	c := testCertificate(t)
	data, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var got Certificate
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&got, c) {
		t.Errorf("round trip changed the certificate:\n got %+v\nwant %+v", got, *c)
	}
	if err := got.Verify(testRoster()); err != nil {
		t.Fatalf("Verify after round trip: %v", err)
	}
	for _, field := range []string{`"version":1`, `"request_id":"req-cert"`, `"action":"transfer"`, `"policy_hash":`, `"approver_id":"alice"`, `"public_key":`, `"treasury_manager":1`} {
		if !bytes.Contains(data, []byte(field)) {
			t.Errorf("JSON lacks %s: %s", field, data)
		}
	}

	t.Run("fail/edited-json", func(t *testing.T) {
		edited := bytes.Replace(data, []byte(`"request_id":"req-cert"`), []byte(`"request_id":"req-cerT"`), 1)
		var c2 Certificate
		if err := json.Unmarshal(edited, &c2); err != nil {
			t.Fatal(err)
		}
		if err := c2.Verify(testRoster()); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("Verify error = %v, want ErrBadSignature", err)
		}
	})
}

func FuzzCertificateVerify(f *testing.F) {
	c := testCertificate(f)
	valid, err := c.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	short := *c
	short.Approvals = c.Approvals[:2]
	if b, err := short.Marshal(); err == nil {
		f.Add(b)
	}
	if pc, _, _ := passkeyCertificate(f); pc != nil {
		b, err := pc.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(bytes.Replace(valid, []byte(`"version":1`), []byte(`"version":2`), 1))
	f.Add([]byte(`{"version":1,"intent":"","fingerprint":"","quorum":{"approvals":0}}`))
	f.Add([]byte(`{"version":1,"quorum":{"approvals":-1,"roles":{"x":-9223372036854775808}},"approvals":[{"approver_id":"a","role":"approver","public_key":"AAAA"}]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[]`))
	roster := testRoster()
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Certificate
		if json.Unmarshal(data, &c) != nil {
			return
		}
		errSelf := c.Verify(nil)
		errRoster := c.Verify(roster)
		for _, err := range []error{errSelf, errRoster} {
			if err != nil && !errors.Is(err, ErrBadCertificate) {
				t.Fatalf("error %v does not wrap ErrBadCertificate", err)
			}
		}
		if errRoster == nil && errSelf != nil {
			t.Fatalf("valid against the roster but not on its own: %v", errSelf)
		}
		if errSelf == nil {
			fp := intent.Fingerprint(c.Intent)
			if !bytes.Equal(fp[:], c.Fingerprint) {
				t.Fatal("accepted a certificate whose intent does not match its fingerprint")
			}
			seen := map[string]bool{}
			for _, a := range c.Approvals {
				if seen[a.ApproverID] || a.ApproverID == c.RequesterID {
					t.Fatalf("accepted approvals %+v with requester %q", c.Approvals, c.RequesterID)
				}
				seen[a.ApproverID] = true
			}
		}
	})
}
