package approvals

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"time"

	"github.com/custos-dev/custos/approvals/intent"
)

// CertificateApproval is one approval inside a certificate, carrying the
// approver's public key and role as the coordinator knew them. A verifier
// that keeps its own roster checks them against it.
type CertificateApproval struct {
	ApproverID string            `json:"approver_id"`
	Name       string            `json:"name"`
	Role       string            `json:"role"`
	PublicKey  ed25519.PublicKey `json:"public_key"`
	Signature  []byte            `json:"signature"`
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
	sigs := map[string][]byte{}
	for _, v := range votes {
		if v.Decision == Approve && sigs[v.ApproverID] == nil {
			sigs[v.ApproverID] = v.Signature
		}
	}
	c := &Certificate{
		Version: 1, RequestID: b.RequestID, RequesterID: b.RequesterID, Revision: b.Revision, Action: action,
		Intent: intentBytes, Fingerprint: b.Fingerprint, PolicyHash: b.PolicyHash, ExpiresAt: time.Unix(b.ExpiresAt.Unix(), 0).UTC(), Quorum: q,
	}
	for _, id := range tally.Approvers {
		a := roster[id]
		c.Approvals = append(c.Approvals, CertificateApproval{
			ApproverID: id, Name: a.Name, Role: a.Role, PublicKey: a.Key, Signature: sigs[id],
		})
	}
	if err := c.Verify(nil); err != nil {
		return nil, err
	}
	return c, nil
}

// Verify checks c on its own: the intent hashes to the fingerprint, every
// approval verifies, approvers are distinct and not the requester, and the
// quorum is met. If roster is not nil, each approver's key and role must
// match the roster entry (a guardian passes the roster it trusts; the
// certificate's own keys are then only hints).
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
		ap := Approver{ID: a.ApproverID, Name: a.Name, Role: a.Role, Key: a.PublicKey}
		if roster != nil {
			known, ok := roster[a.ApproverID]
			if !ok || !bytes.Equal(known.Key, a.PublicKey) || known.Role != a.Role {
				return fmt.Errorf("%w: %w: approver %s does not match the roster", ErrBadCertificate, ErrNotApprover, a.ApproverID)
			}
			ap = known
		}
		r[a.ApproverID] = ap
		votes = append(votes, Vote{ApproverID: a.ApproverID, Decision: Approve, Signature: a.Signature})
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
