package approvals

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/custos-dev/custos/approvals/intent"
)

// CertificateApproval is one approval inside a certificate, carrying the
// approver's public key (or passkey) and role as the coordinator knew them.
// A verifier that keeps its own roster checks them against it.
//
// An approval is either an Ed25519 Signature checked with PublicKey, or a
// passkey Assertion checked with Passkey (and no PublicKey or Signature).
type CertificateApproval struct {
	ApproverID string            `json:"approver_id"`
	Name       string            `json:"name"`
	Role       string            `json:"role"`
	PublicKey  ed25519.PublicKey `json:"public_key,omitempty"`
	Signature  []byte            `json:"signature,omitempty"`
	Assertion  *Assertion        `json:"assertion,omitempty"`
	Passkey    *Passkey          `json:"passkey,omitempty"`
}

// check refuses an approval whose fields do not describe one kind of vote.
func (a CertificateApproval) check() error {
	var what string
	switch {
	case a.Assertion != nil && len(a.Signature) != 0:
		what = "both a signature and a passkey assertion"
	case a.Assertion != nil && a.Passkey == nil:
		what = "a passkey assertion without its passkey"
	case a.Assertion != nil && len(a.PublicKey) != 0:
		what = "a passkey assertion and an Ed25519 key"
	case a.Assertion == nil && a.Passkey != nil:
		what = "a passkey without an assertion"
	default:
		return nil
	}
	return fmt.Errorf("%w: %w: approval by %s has %s", ErrBadCertificate, ErrMalformed, a.ApproverID, what)
}

// matches reports whether the key a was checked with is the one roster
// entry known has: the Ed25519 key, or one of the passkeys exactly.
func (a CertificateApproval) matches(known Approver) (Passkey, bool) {
	if a.Assertion == nil {
		return Passkey{}, bytes.Equal(known.Key, a.PublicKey)
	}
	i := slices.IndexFunc(known.Passkeys, a.Passkey.Equal)
	if i < 0 {
		return Passkey{}, false
	}
	return known.Passkeys[i], true
}

// Certificate is the proof that a request met its quorum: the intent, the
// policy it was approved under and the signed approvals.
type Certificate struct {
	Version     int                   `json:"version"`
	RequestID   string                `json:"request_id"`
	RequesterID string                `json:"requester_id"`
	Revision    int64                 `json:"revision"`
	Action      string                `json:"action"`
	Intent      []byte                `json:"intent"` // canonical intent bytes
	Fingerprint []byte                `json:"fingerprint"`
	PolicyHash  []byte                `json:"policy_hash"`
	ExpiresAt   time.Time             `json:"expires_at"`
	Quorum      Quorum                `json:"quorum"`
	Approvals   []CertificateApproval `json:"approvals"`
}

// NewCertificate assembles a certificate from the counted approvals.
func NewCertificate(action string, b Binding, intentBytes []byte, q Quorum, tally Tally, votes []Vote, roster map[string]Approver) (*Certificate, error) {
	if !tally.QuorumMet {
		return nil, ErrQuorumNotMet
	}
	first := map[string]Vote{} // approver id -> their first approval
	for _, v := range votes {
		if _, ok := first[v.ApproverID]; v.Decision == Approve && !ok {
			first[v.ApproverID] = v
		}
	}
	c := &Certificate{
		Version: 1, RequestID: b.RequestID, RequesterID: b.RequesterID, Revision: b.Revision, Action: action,
		Intent: intentBytes, Fingerprint: b.Fingerprint, PolicyHash: b.PolicyHash, ExpiresAt: time.Unix(b.ExpiresAt.Unix(), 0).UTC(), Quorum: q,
	}
	for _, id := range tally.Approvers {
		a, v := roster[id], first[id]
		ca := CertificateApproval{ApproverID: id, Name: a.Name, Role: a.Role, PublicKey: a.Key, Signature: v.Signature}
		if v.Assertion != nil {
			as := v.Assertion.clone()
			ca.PublicKey, ca.Assertion = nil, &as
			if p, ok := a.passkey(as.CredentialID); ok {
				p = p.clone()
				ca.Passkey = &p
			}
		}
		c.Approvals = append(c.Approvals, ca)
	}
	if err := c.Verify(nil); err != nil {
		return nil, err
	}
	return c, nil
}

// Verify checks c on its own: the intent hashes to the fingerprint, every
// approval verifies, approvers are distinct and not the requester, and the
// quorum is met. If roster is not nil, each approver's role and key must
// match the roster entry, and a passkey approval's passkey must be one of
// the entry's passkeys exactly (a guardian passes the roster it trusts; the
// certificate's own keys and passkeys are then only hints, and the
// roster's records are used).
func (c *Certificate) Verify(roster map[string]Approver) error {
	if c.Version != 1 {
		return fmt.Errorf("%w: unsupported version %d", ErrBadCertificate, c.Version)
	}
	fp := intent.Fingerprint(c.Intent)
	if !bytes.Equal(fp[:], c.Fingerprint) {
		return fmt.Errorf("%w: intent does not match fingerprint", ErrBadCertificate)
	}
	b := c.Binding()
	r := map[string]Approver{}
	votes := make([]Vote, 0, len(c.Approvals))
	for _, a := range c.Approvals {
		if _, dup := r[a.ApproverID]; dup {
			return fmt.Errorf("%w: approver %s appears twice", ErrBadCertificate, a.ApproverID)
		}
		if err := a.check(); err != nil {
			return err
		}
		ap := Approver{ID: a.ApproverID, Name: a.Name, Role: a.Role, Key: a.PublicKey}
		if a.Passkey != nil {
			ap.Passkeys = []Passkey{*a.Passkey}
		}
		if roster != nil {
			known, ok := roster[a.ApproverID]
			p, same := a.matches(known)
			if !ok || !same || known.Role != a.Role {
				return fmt.Errorf("%w: %w: approver %s does not match the roster", ErrBadCertificate, ErrNotApprover, a.ApproverID)
			}
			ap = known
			if a.Assertion != nil {
				ap.Passkeys = []Passkey{p}
			}
		}
		r[a.ApproverID] = ap
		votes = append(votes, Vote{ApproverID: a.ApproverID, Decision: Approve, Signature: a.Signature, Assertion: a.Assertion})
	}
	t, err := Count(b, c.Quorum, votes, r)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadCertificate, err)
	}
	if len(t.Void) > 0 {
		return fmt.Errorf("%w: %w: approval by %s does not count", ErrBadCertificate, ErrNotApprover, t.Void[0])
	}
	if !t.QuorumMet {
		return fmt.Errorf("%w: %w", ErrBadCertificate, ErrQuorumNotMet)
	}
	return nil
}

// VerifyAgainst verifies c and checks that its quorum is at least want: a
// verifier that derives the quorum from the policy it holds itself must not
// trust the quorum the certificate states.
func (c *Certificate) VerifyAgainst(roster map[string]Approver, want Quorum) error {
	if c.Quorum.Approvals < want.Approvals || max(c.Quorum.RejectionsToDeny, 1) > max(want.RejectionsToDeny, 1) {
		return fmt.Errorf("%w: %w: the certificate's quorum is weaker than required", ErrBadCertificate, ErrQuorumNotMet)
	}
	for role, n := range want.Roles {
		if c.Quorum.Roles[role] < n {
			return fmt.Errorf("%w: %w: the certificate does not require %d %s", ErrBadCertificate, ErrQuorumNotMet, n, role)
		}
	}
	return c.Verify(roster)
}

// Binding is what c's approvals are signed over.
func (c *Certificate) Binding() Binding {
	return Binding{RequestID: c.RequestID, RequesterID: c.RequesterID, Revision: c.Revision,
		Fingerprint: c.Fingerprint, PolicyHash: c.PolicyHash, ExpiresAt: c.ExpiresAt}
}

// Marshal encodes c as JSON.
func (c *Certificate) Marshal() ([]byte, error) { return json.Marshal(c) }
