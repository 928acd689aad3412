// Package approvals is Custos's approval engine: the canonical message an
// approver signs, the rules that turn signed votes into a decision, and the
// approval certificate that lets a guardian check a quorum on its own.
//
// Guarantees:
//   - An approval is an Ed25519 signature by the approver's registered key
//     over Message(request id, intent fingerprint, policy hash, decision),
//     or a WebAuthn assertion by one of the approver's registered passkeys
//     whose challenge is SHA-256 of that message (see VerifyAssertion); a
//     vote for another request, another intent or another policy does not
//     verify.
//   - Passkey assertions are checked as a pure function of the passkey
//     record, the message and the assertion, so a guardian checks them
//     from its roster copy with the coordinator's own rules: exact origin
//     and relying party, user presence and user verification.
//   - Distinct approvers only; one person counts once; the requester never
//     counts; only roles allowed to approve count; required roles must be
//     among the approvers; a configured number of rejections ends the
//     request.
//
// The package refuses: votes with a bad signature or assertion, unknown
// approvers, approvers without a key or passkey or an approving role,
// self-approval, a key or passkey shared by two approvers, assertions
// without user verification or from another origin or relying party,
// approvals carrying both a signature and an assertion, and certificates
// whose intent does not hash to their fingerprint.
package approvals

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custos-dev/custos/internal/seen"
)

// Decisions an approver can sign.
const (
	Approve = "approve"
	Reject  = "reject"
)

// Errors callers branch on.
var (
	ErrBadSignature   = errors.New("approvals: signature does not verify")
	ErrSelfApproval   = errors.New("approvals: the requester cannot approve their own request")
	ErrNotApprover    = errors.New("approvals: user may not approve")
	ErrNoApprovalKey  = errors.New("approvals: user has no approval key registered")
	ErrMalformed      = errors.New("approvals: malformed approval message")
	ErrQuorumNotMet   = errors.New("approvals: quorum not met")
	ErrBadCertificate = errors.New("approvals: invalid certificate")
)

// ApprovingRoles returns the roles whose approvals count. Administrators
// manage the system but do not approve the movement of money.
func ApprovingRoles() []string { return []string{"approver", "treasury_manager"} }

const messageHeader = "custos/approval/v1\n"

// Binding is what a vote is bound to: one request in one state.
type Binding struct {
	RequestID   string
	RequesterID string
	Revision    int64  // bumped whenever the intent, policy or requirement is re-bound
	Fingerprint []byte // SHA-256 intent fingerprint
	PolicyHash  []byte // SHA-256 of the policy document in force
	// ExpiresAt is when the request expires (whole seconds count): an
	// approval is signed over it, so no one can stretch a request's life
	// after the approvers saw it, and a guardian refuses an expired
	// certificate on its own clock.
	ExpiresAt time.Time
}

// Message returns the canonical bytes an approver signs.
func Message(b Binding, decision string) []byte {
	var s strings.Builder
	s.WriteString(messageHeader)
	s.WriteString("request=" + b.RequestID + "\n")
	s.WriteString("requester=" + b.RequesterID + "\n")
	s.WriteString("revision=" + strconv.FormatInt(b.Revision, 10) + "\n")
	s.WriteString("fingerprint=" + hex.EncodeToString(b.Fingerprint) + "\n")
	s.WriteString("policy=" + hex.EncodeToString(b.PolicyHash) + "\n")
	s.WriteString("expires=" + strconv.FormatInt(b.ExpiresAt.Unix(), 10) + "\n")
	s.WriteString("decision=" + decision + "\n")
	return []byte(s.String())
}

// ParseMessage decodes a canonical approval message. The requester is part
// of the message, so a coordinator cannot present a vote as another
// person's request (and hide a self-approval) after the fact.
func ParseMessage(m []byte) (Binding, string, error) {
	var b Binding
	rest, ok := bytes.CutPrefix(m, []byte(messageHeader))
	if !ok {
		return b, "", fmt.Errorf("%w: missing header", ErrMalformed)
	}
	lines := strings.Split(string(rest), "\n")
	if len(lines) != 8 || lines[7] != "" {
		return b, "", fmt.Errorf("%w: want 7 newline-terminated fields", ErrMalformed)
	}
	var decision string
	for i, key := range []string{"request", "requester", "revision", "fingerprint", "policy", "expires", "decision"} {
		v, ok := strings.CutPrefix(lines[i], key+"=")
		if !ok {
			return b, "", fmt.Errorf("%w: field %d is not %s", ErrMalformed, i+1, key)
		}
		switch key {
		case "request", "requester":
			if v == "" || strings.ContainsAny(v, "\r\n=") {
				return b, "", fmt.Errorf("%w: bad %s id", ErrMalformed, key)
			}
			if key == "request" {
				b.RequestID = v
			} else {
				b.RequesterID = v
			}
		case "revision":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 || strconv.FormatInt(n, 10) != v {
				return b, "", fmt.Errorf("%w: revision must be a positive decimal integer", ErrMalformed)
			}
			b.Revision = n
		case "expires":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 || strconv.FormatInt(n, 10) != v {
				return b, "", fmt.Errorf("%w: expires must be a positive decimal Unix time", ErrMalformed)
			}
			b.ExpiresAt = time.Unix(n, 0).UTC()
		case "fingerprint", "policy":
			h, err := hex.DecodeString(v)
			if err != nil || len(h) != 32 || hex.EncodeToString(h) != v {
				return b, "", fmt.Errorf("%w: %s must be 32 bytes of lower-case hex", ErrMalformed, key)
			}
			if key == "fingerprint" {
				b.Fingerprint = h
			} else {
				b.PolicyHash = h
			}
		case "decision":
			if v != Approve && v != Reject {
				return b, "", fmt.Errorf("%w: decision must be %q or %q", ErrMalformed, Approve, Reject)
			}
			decision = v
		}
	}
	return b, decision, nil
}

// Approver is a user as the engine sees them.
type Approver struct {
	ID       string
	Name     string
	Role     string
	Key      ed25519.PublicKey // nil if none registered
	Passkeys []Passkey         // WebAuthn credentials the approver may also vote with
}

// passkey returns a's passkey with credential id id.
func (a Approver) passkey(id []byte) (Passkey, bool) {
	i := slices.IndexFunc(a.Passkeys, func(p Passkey) bool { return bytes.Equal(p.ID, id) })
	if i < 0 {
		return Passkey{}, false
	}
	return a.Passkeys[i], true
}

// Vote is one signed decision for the binding it is checked against:
// an Ed25519 Signature, or, when Assertion is not nil, a WebAuthn
// assertion over Challenge(binding, decision) and no Signature.
type Vote struct {
	ApproverID string
	Decision   string
	Signature  []byte
	Assertion  *Assertion
}

// CheckVote verifies that v is a valid vote by a for binding b. An
// Ed25519 vote needs a's key; a passkey vote needs the passkey of a with
// the assertion's credential id (ErrNoApprovalKey if a has none), and
// VerifyAssertion decides.
func CheckVote(b Binding, a Approver, v Vote) error {
	_, err := checkVote(b, a, v)
	return err
}

// keyUse names a key a verified vote was made with, so that Count can
// refuse a key registered to two approvers.
type keyUse struct {
	what string // for errors: "key", "passkey credential"
	id   string
}

// checkVote is CheckVote, returning the keys the vote was made with.
func checkVote(b Binding, a Approver, v Vote) ([]keyUse, error) {
	if v.Decision != Approve && v.Decision != Reject {
		return nil, fmt.Errorf("%w: decision must be %q or %q", ErrMalformed, Approve, Reject)
	}
	if a.ID == b.RequesterID {
		return nil, ErrSelfApproval
	}
	if !slices.Contains(ApprovingRoles(), a.Role) {
		return nil, fmt.Errorf("%w: role %q does not approve", ErrNotApprover, a.Role)
	}
	if v.Assertion != nil {
		return checkPasskeyVote(b, a, v)
	}
	if len(a.Key) != ed25519.PublicKeySize {
		return nil, ErrNoApprovalKey
	}
	if len(v.Signature) != ed25519.SignatureSize || !verifySignature(a.Key, Message(b, v.Decision), v.Signature) {
		return nil, ErrBadSignature
	}
	return []keyUse{{"key", ed25519Identity(a.Key)}}, nil
}

// checkPasskeyVote checks a vote made with a passkey. A credential the
// approver no longer has is not an approval key of theirs: the vote is
// void, as the vote of an approver whose key was removed.
func checkPasskeyVote(b Binding, a Approver, v Vote) ([]keyUse, error) {
	if len(v.Signature) != 0 {
		return nil, fmt.Errorf("%w: a vote has both a signature and a passkey assertion", ErrMalformed)
	}
	p, ok := a.passkey(v.Assertion.CredentialID)
	if !ok {
		return nil, fmt.Errorf("%w: webauthn: credential not registered to the approver", ErrNoApprovalKey)
	}
	key, err := verifyAssertion(p, Message(b, v.Decision), *v.Assertion)
	if err != nil {
		return nil, err
	}
	// The signature does not cover the credential id, so a public key
	// registered under two credential ids must be caught by the key itself.
	return []keyUse{{"passkey credential", "credential " + string(p.ID)}, {"key", key.identity()}}, nil
}

// verified remembers approval signatures that verified, by a hash of the
// key, the message and the signature. Ed25519 verification is a function
// of those three alone, and the same votes are checked many times: the
// coordinator on every load of a request, each guardian in both signing
// rounds. Only successes are remembered, so a signature that fails is
// checked in full every time.
var verified = seen.New(1 << 14)

func verifySignature(pub ed25519.PublicKey, msg, sig []byte) bool {
	h := sha256.New()
	for _, part := range [][]byte{pub, msg, sig} {
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(part))))
		h.Write(part)
	}
	k := [32]byte(h.Sum(nil))
	if verified.Has(k) {
		return true
	}
	if !ed25519.Verify(pub, msg, sig) {
		return false
	}
	verified.Add(k)
	return true
}

// Quorum is what a request needs.
type Quorum struct {
	Approvals        int            `json:"approvals"`
	Roles            map[string]int `json:"roles,omitempty"` // role -> minimum approvers with it
	RejectionsToDeny int            `json:"rejections_to_deny"`
}

// Tally is the state of a request's votes.
type Tally struct {
	Approvers  []string `json:"approvers"`  // ids of counted approvals, in vote order
	Rejecters  []string `json:"rejecters"`  // ids of counted rejections
	QuorumMet  bool     `json:"quorum_met"` // enough approvals with the roles required
	Rejected   bool     `json:"rejected"`   // enough rejections to end the request
	Missing    []string `json:"missing,omitempty"`
	Void       []string `json:"void,omitempty"` // ids whose votes no longer count (role changed, user gone)
	Approvals  int      `json:"approvals"`
	Rejections int      `json:"rejections"`
}

// Count tallies votes for binding b under quorum q. Every vote is checked
// again (a vote that does not verify is an error: the caller's storage has
// been tampered with); a person counts once, with their first vote.
func Count(b Binding, q Quorum, votes []Vote, roster map[string]Approver) (Tally, error) {
	var t Tally
	seen := map[string]bool{}
	keyOwner := map[string]string{} // key or credential identity -> approver id
	roles := map[string]int{}
	for _, v := range votes {
		a, ok := roster[v.ApproverID]
		if !ok {
			t.Void = append(t.Void, v.ApproverID) // no longer a user
			continue
		}
		keys, err := checkVote(b, a, v)
		if err != nil {
			// A person who can no longer approve (role changed, no key)
			// casts a void vote; a vote that does not verify means the
			// stored votes were tampered with.
			if errors.Is(err, ErrNotApprover) || errors.Is(err, ErrNoApprovalKey) || errors.Is(err, ErrSelfApproval) {
				t.Void = append(t.Void, a.ID)
				continue
			}
			return Tally{}, fmt.Errorf("vote by %s: %w", a.Name, err)
		}
		// The message does not name the approver, so one signature would
		// verify for every user registered with the same key (or passkey):
		// refuse it rather than count one person twice.
		for _, k := range keys {
			if owner, ok := keyOwner[k.id]; ok && owner != a.ID {
				return Tally{}, fmt.Errorf("vote by %s: %w: %s already used by approver %s", a.Name, ErrNotApprover, k.what, owner)
			}
		}
		for _, k := range keys {
			keyOwner[k.id] = a.ID
		}
		if seen[a.ID] {
			continue
		}
		seen[a.ID] = true
		if v.Decision == Reject {
			t.Rejecters = append(t.Rejecters, a.ID)
			continue
		}
		t.Approvers = append(t.Approvers, a.ID)
		roles[a.Role]++
	}
	t.Approvals, t.Rejections = len(t.Approvers), len(t.Rejecters)
	need := max(q.RejectionsToDeny, 1)
	t.Rejected = t.Rejections >= need
	if n := q.Approvals - t.Approvals; n > 0 {
		t.Missing = append(t.Missing, fmt.Sprintf("%d more approval(s)", n))
	}
	for _, role := range sortedKeys(q.Roles) {
		if n := q.Roles[role] - roles[role]; n > 0 {
			t.Missing = append(t.Missing, fmt.Sprintf("%d more approval(s) by a %s", n, role))
		}
	}
	t.QuorumMet = !t.Rejected && len(t.Missing) == 0
	return t, nil
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
