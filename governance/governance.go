// Package governance is the state a guardian holds so that it does not have
// to trust the coordinator: the approver roster and the policy document
// (with the approved EUR rate anchors), pinned at enrolment and changed
// only by approved requests whose certificates meet the quorum of the state
// they change.
//
// The coordinator builds the same State from its store and compares hashes;
// a guardian applies each approved governance request itself (Apply) and
// checks every signing certificate against its own copy (Check).
package governance

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/approvals/intent"
	"github.com/custos-dev/custos/approvals/policy"
)

// Actions that change the governance state.
const (
	ActionPolicyChange = "policy.change"
	ActionRoleAssign   = "user.role.assign"
	ActionRateSet      = "rate.set"
	// ActionCredentialAdd adds a WebAuthn passkey to a user's approval
	// credentials.
	ActionCredentialAdd = "user.credential.add"
)

// IsGovernanceAction reports whether approving action changes the state.
func IsGovernanceAction(action string) bool {
	switch action {
	case ActionPolicyChange, ActionRoleAssign, ActionRateSet, ActionCredentialAdd:
		return true
	}
	return false
}

// Member is a rostered approver. They vote with their Ed25519 approval key
// (the CLI) or with one of their passkeys (the web UI); a member has at
// least one of them.
type Member struct {
	ID       string              `json:"id"`
	Name     string              `json:"name"`
	Role     string              `json:"role"`
	Key      ed25519.PublicKey   `json:"key,omitempty"`
	Passkeys []approvals.Passkey `json:"passkeys,omitempty"` // sorted by credential id
}

// State is the governance state.
type State struct {
	Policy  json.RawMessage   `json:"policy"`  // canonical policy document
	Roster  []Member          `json:"roster"`  // approving members, sorted by ID
	Anchors map[string]string `json:"anchors"` // asset -> "eur_per_unit/decimals", the approved rate anchors

	// parsed is the policy document as Parse or Apply validated it, so that
	// checking a certificate does not parse the policy again. It is set
	// before the state is shared and only read afterwards; Document falls
	// back to parsing if Policy was replaced since.
	parsed *parsedPolicy
}

type parsedPolicy struct {
	src []byte
	doc *policy.Document
}

// Refusal codes.
const (
	CodeMalformed        = "certificate_malformed"
	CodePolicyMismatch   = "policy_mismatch"
	CodeExpired          = "certificate_expired"
	CodeQuorum           = "quorum_not_met"
	CodeNotRostered      = "approver_not_rostered"
	CodeBadSignature     = "approval_signature_invalid"
	CodeSelfApproval     = "requester_approved"
	CodeSubjectApproved  = "subject_approved"
	CodeWrongAction      = "wrong_action"
	CodeIntentMismatch   = "intent_mismatch"
	CodeStaleState       = "state_changed"
	CodeInvalidValuation = "invalid_valuation"
)

// Refusal is a typed refusal of a certificate.
type Refusal struct {
	Code   string
	Reason string
}

func (r *Refusal) Error() string { return "refused (" + r.Code + "): " + r.Reason }

func refuse(code, format string, args ...any) *Refusal {
	return &Refusal{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// ErrInvalidState is returned for a state that does not parse.
var ErrInvalidState = errors.New("governance: invalid state")

// Parse decodes and validates a state.
func Parse(b []byte) (*State, error) {
	var s State
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidState, err)
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// validate checks s and keeps its parsed policy for later checks.
func (s *State) validate() error {
	doc, err := s.Document()
	if err != nil {
		return err
	}
	s.parsed = &parsedPolicy{src: bytes.Clone(s.Policy), doc: doc}
	return nil
}

// policyDocument is the parsed policy: the one validate kept if Policy is
// unchanged, otherwise parsed now.
func (s *State) policyDocument() (*policy.Document, error) {
	if p := s.parsed; p != nil && bytes.Equal(p.src, s.Policy) {
		return p.doc, nil
	}
	doc, err := policy.Parse(s.Policy)
	if err != nil {
		return nil, fmt.Errorf("%w: policy: %w", ErrInvalidState, err)
	}
	if !bytes.Equal(doc.Canonical(), s.Policy) {
		return nil, fmt.Errorf("%w: policy is not in canonical form", ErrInvalidState)
	}
	return doc, nil
}

// Document parses the policy and validates the roster and anchors.
func (s *State) Document() (*policy.Document, error) {
	doc, err := s.policyDocument()
	if err != nil {
		return nil, err
	}
	keys, creds := map[string]bool{}, map[string]bool{}
	for i, m := range s.Roster {
		if i > 0 && s.Roster[i-1].ID >= m.ID {
			return nil, fmt.Errorf("%w: roster not sorted by id or has duplicates at %q", ErrInvalidState, m.ID)
		}
		if m.ID == "" || !slices.Contains(approvals.ApprovingRoles(), m.Role) {
			return nil, fmt.Errorf("%w: roster entry %q", ErrInvalidState, m.ID)
		}
		if m.Key == nil && len(m.Passkeys) == 0 || m.Key != nil && len(m.Key) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: roster entry %q has no valid approval key or passkey", ErrInvalidState, m.ID)
		}
		if m.Key != nil {
			if keys[string(m.Key)] {
				return nil, fmt.Errorf("%w: approval key of %q used twice", ErrInvalidState, m.ID)
			}
			keys[string(m.Key)] = true
		}
		for j, p := range m.Passkeys {
			if err := p.Validate(); err != nil {
				return nil, fmt.Errorf("%w: passkey of %q: %w", ErrInvalidState, m.ID, err)
			}
			if j > 0 && bytes.Compare(m.Passkeys[j-1].ID, p.ID) >= 0 {
				return nil, fmt.Errorf("%w: passkeys of %q not sorted by credential id", ErrInvalidState, m.ID)
			}
			if creds[string(p.ID)] || keys["cose:"+string(p.PublicKey)] {
				return nil, fmt.Errorf("%w: a passkey of %q is registered twice", ErrInvalidState, m.ID)
			}
			creds[string(p.ID)], keys["cose:"+string(p.PublicKey)] = true, true
		}
	}
	for asset, a := range s.Anchors {
		if _, err := parseAnchor(a); err != nil || asset == "" {
			return nil, fmt.Errorf("%w: anchor of %q", ErrInvalidState, asset)
		}
	}
	return doc, nil
}

// Canonical is the deterministic encoding of s (roster sorted, map keys
// sorted by encoding/json).
func (s *State) Canonical() []byte {
	c := *s
	c.Roster = slices.Clone(s.Roster)
	slices.SortFunc(c.Roster, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	if c.Anchors == nil {
		c.Anchors = map[string]string{}
	}
	if !json.Valid(c.Policy) {
		// Not a state Parse accepts; encode the bytes as a JSON string
		// (never a valid policy's encoding) rather than fail.
		c.Policy, _ = json.Marshal([]byte(c.Policy))
	}
	b, err := json.Marshal(&c)
	if err != nil {
		panic(err) // only plain types
	}
	return b
}

// Hash identifies a state; an operator confirms it at enrolment.
func (s *State) Hash() [32]byte {
	return sha256.Sum256(append([]byte("custos/governance/v1\n"), s.Canonical()...))
}

// HashHex is Hash in hex.
func (s *State) HashHex() string { h := s.Hash(); return hex.EncodeToString(h[:]) }

// PolicyHash is the SHA-256 of the policy document, as certificates carry it.
func (s *State) PolicyHash() []byte { h := sha256.Sum256(s.Policy); return h[:] }

// RosterMap is the roster as the approvals package takes it.
func (s *State) RosterMap() map[string]approvals.Approver {
	r := make(map[string]approvals.Approver, len(s.Roster))
	for _, m := range s.Roster {
		r[m.ID] = approvals.Approver{ID: m.ID, Name: m.Name, Role: m.Role, Key: m.Key, Passkeys: m.Passkeys}
	}
	return r
}

// Check verifies that c authorises its request under s at now: it is for
// the policy s holds, has not expired, and its approvals are by rostered
// approvers with the quorum s's own policy demands for action at eurCents
// (never the quorum the certificate states), the requester not among them.
func (s *State) Check(c *approvals.Certificate, eurCents int64, now time.Time) error {
	return s.check(c, eurCents, now, true)
}

func (s *State) check(c *approvals.Certificate, eurCents int64, now time.Time, expiry bool) error {
	if c == nil {
		return refuse(CodeMalformed, "no certificate")
	}
	doc, err := s.Document()
	if err != nil {
		return err
	}
	if !bytes.Equal(c.PolicyHash, s.PolicyHash()) {
		return refuse(CodePolicyMismatch, "the certificate was approved under policy %x, this guardian holds %x", c.PolicyHash, s.PolicyHash())
	}
	if expiry && (c.ExpiresAt.IsZero() || !now.Before(c.ExpiresAt)) {
		return refuse(CodeExpired, "the request expired at %s", c.ExpiresAt.UTC().Format(time.RFC3339))
	}
	for _, a := range c.Approvals {
		if a.ApproverID == c.RequesterID {
			return refuse(CodeSelfApproval, "the requester %s is among the approvers", c.RequesterID)
		}
	}
	req, err := policy.RequirementFor(doc, c.Action, eurCents)
	if err != nil {
		return refuse(CodeWrongAction, "this guardian's policy has no rule for %q", c.Action)
	}
	want := approvals.Quorum{Approvals: req.Approvals, Roles: req.Roles, RejectionsToDeny: req.RejectionsToDeny}
	if err := c.VerifyAgainst(s.RosterMap(), want); err != nil {
		return classify(err)
	}
	return nil
}

func classify(err error) *Refusal {
	msg := err.Error()
	switch {
	case errors.Is(err, approvals.ErrQuorumNotMet):
		return refuse(CodeQuorum, "%s", msg)
	case errors.Is(err, approvals.ErrSelfApproval):
		return refuse(CodeSelfApproval, "%s", msg)
	case errors.Is(err, approvals.ErrBadSignature):
		return refuse(CodeBadSignature, "%s", msg)
	case errors.Is(err, approvals.ErrNotApprover):
		return refuse(CodeNotRostered, "%s", msg)
	}
	return refuse(CodeMalformed, "%s", msg)
}

// Valuation is the EUR rate a coordinator valued a transfer at.
type Valuation struct {
	EURPerUnit string `json:"eur_per_unit"`
	Decimals   int    `json:"decimals"`
}

// TransferValue is the EUR value (cents) of a transfer under s: at the
// higher of the coordinator's rate and the approved anchor, so a lying
// coordinator can only make the requirement stricter than the anchor
// allows. Without an anchor the coordinator's rate is used.
func (s *State) TransferValue(t *intent.Transfer, v *Valuation) (int64, error) {
	price, dec := "", 0
	if v != nil {
		price, dec = v.EURPerUnit, v.Decimals
	}
	if a, ok := s.Anchors[t.Asset]; ok {
		an, err := parseAnchor(a)
		if err != nil {
			return 0, err
		}
		if v == nil || an.decimals != dec || ratGreater(an.price, price) {
			price, dec = an.price, an.decimals
		}
	}
	if price == "" {
		return 0, refuse(CodeInvalidValuation, "no rate for %s", t.Asset)
	}
	cents, err := policy.ToEURCents(t.Amount, policy.Rate{EURPerUnit: price, Decimals: dec, UpdatedAt: time.Now()})
	if err != nil {
		return 0, refuse(CodeInvalidValuation, "valuing %s: %v", t.Asset, err)
	}
	return cents, nil
}

// subjectNotApprover refuses a certificate in which the user a change is
// about approved it.
func subjectNotApprover(c *approvals.Certificate, userID, name string) error {
	for _, ap := range c.Approvals {
		if ap.ApproverID == userID {
			return refuse(CodeSubjectApproved, "%s approved a change of their own approval powers", name)
		}
	}
	return nil
}

// sortedPasskeys returns ps sorted by credential id, as members hold them.
func sortedPasskeys(ps []approvals.Passkey) []approvals.Passkey {
	if len(ps) == 0 {
		return nil
	}
	ps = slices.Clone(ps)
	slices.SortFunc(ps, func(a, b approvals.Passkey) int { return bytes.Compare(a.ID, b.ID) })
	return ps
}

type anchor struct {
	price    string
	decimals int
}

func parseAnchor(a string) (anchor, error) {
	p, d, ok := strings.Cut(a, "/")
	n, err := strconv.Atoi(d)
	if !ok || err != nil || n < 0 || n > 36 {
		return anchor{}, fmt.Errorf("%w: anchor %q", ErrInvalidState, a)
	}
	if _, ok := new(big.Rat).SetString(p); !ok || strings.HasPrefix(p, "-") {
		return anchor{}, fmt.Errorf("%w: anchor %q", ErrInvalidState, a)
	}
	return anchor{price: p, decimals: n}, nil
}

func ratGreater(a, b string) bool {
	x, ok1 := new(big.Rat).SetString(a)
	y, ok2 := new(big.Rat).SetString(b)
	if !ok1 {
		return false
	}
	return !ok2 || x.Cmp(y) > 0
}

// Apply checks c, an approved governance request, against s and returns the
// state it leads to. The change is read from the certificate's own intent,
// never from the caller.
//
// Apply does not check the request's expiry, which bounds how long it may
// collect approvals, not how long a guardian may take to learn of it: a
// guardian that was offline for longer than the expiry applies the changes
// it missed when it is back, in order. Each still has to meet the quorum of
// the state it changes and be for the policy in force, and the caller
// applies a request once (the guardian keeps the applied request ids), so
// an old certificate cannot be played again.
func (s *State) Apply(c *approvals.Certificate, now time.Time) (*State, error) {
	if c == nil || !IsGovernanceAction(c.Action) {
		return nil, refuse(CodeWrongAction, "not a governance request")
	}
	a, err := intent.ParseAction(c.Intent, c.Action)
	if err != nil {
		return nil, refuse(CodeIntentMismatch, "the intent is not a %s", c.Action)
	}
	if err := s.check(c, 0, now, false); err != nil {
		return nil, err
	}
	next := &State{Policy: s.Policy, Roster: slices.Clone(s.Roster), Anchors: map[string]string{}, parsed: s.parsed}
	for k, v := range s.Anchors {
		next.Anchors[k] = v
	}
	switch c.Action {
	case ActionPolicyChange:
		var p struct {
			Document json.RawMessage `json:"document"`
		}
		if err := json.Unmarshal(a.Params, &p); err != nil {
			return nil, refuse(CodeIntentMismatch, "policy.change without a document")
		}
		var raw []byte
		if err := json.Unmarshal(p.Document, &raw); err != nil {
			raw = p.Document // the document inline as JSON
		}
		doc, err := policy.Parse(raw)
		if err != nil {
			return nil, refuse(CodeIntentMismatch, "the new policy does not parse: %v", err)
		}
		next.Policy = doc.Canonical()
	case ActionRoleAssign:
		var ra struct {
			UserID      string              `json:"user_id"`
			Name        string              `json:"name"`
			Role        string              `json:"role"`
			From        string              `json:"from_role"`
			ApprovalKey string              `json:"approval_key"`
			Passkeys    []approvals.Passkey `json:"passkeys"`
		}
		if err := json.Unmarshal(a.Params, &ra); err != nil || ra.UserID == "" {
			return nil, refuse(CodeIntentMismatch, "malformed user.role.assign")
		}
		if err := subjectNotApprover(c, ra.UserID, ra.Name); err != nil {
			return nil, err
		}
		i := slices.IndexFunc(next.Roster, func(m Member) bool { return m.ID == ra.UserID })
		if i >= 0 {
			next.Roster = slices.Delete(next.Roster, i, i+1)
		}
		if slices.Contains(approvals.ApprovingRoles(), ra.Role) {
			m := Member{ID: ra.UserID, Name: ra.Name, Role: ra.Role, Passkeys: sortedPasskeys(ra.Passkeys)}
			if ra.ApprovalKey != "" {
				key, err := hex.DecodeString(ra.ApprovalKey)
				if err != nil || len(key) != ed25519.PublicKeySize {
					return nil, refuse(CodeIntentMismatch, "the approval key is not an Ed25519 key")
				}
				m.Key = key
			}
			if m.Key == nil && len(m.Passkeys) == 0 {
				return nil, refuse(CodeIntentMismatch, "an approving role without an approval key or passkey")
			}
			next.Roster = append(next.Roster, m)
			slices.SortFunc(next.Roster, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
		}
	case ActionCredentialAdd:
		var ca struct {
			UserID  string             `json:"user_id"`
			Name    string             `json:"name"`
			Passkey *approvals.Passkey `json:"passkey"`
		}
		if err := json.Unmarshal(a.Params, &ca); err != nil || ca.UserID == "" || ca.Passkey == nil {
			return nil, refuse(CodeIntentMismatch, "malformed user.credential.add")
		}
		if err := subjectNotApprover(c, ca.UserID, ca.Name); err != nil {
			return nil, err
		}
		if err := ca.Passkey.Validate(); err != nil {
			return nil, refuse(CodeIntentMismatch, "the passkey is not valid: %v", err)
		}
		// A user who does not approve gets no roster entry: their passkey
		// joins the roster with the approving role, whose request names it.
		if i := slices.IndexFunc(next.Roster, func(m Member) bool { return m.ID == ca.UserID }); i >= 0 {
			m := next.Roster[i]
			m.Passkeys = sortedPasskeys(append(slices.Clone(m.Passkeys), *ca.Passkey))
			next.Roster[i] = m
		}
	case ActionRateSet:
		var rc struct {
			Asset      string `json:"asset"`
			EURPerUnit string `json:"eur_per_unit"`
			Decimals   int    `json:"decimals"`
		}
		if err := json.Unmarshal(a.Params, &rc); err != nil || rc.Asset == "" {
			return nil, refuse(CodeIntentMismatch, "malformed rate.set")
		}
		next.Anchors[rc.Asset] = rc.EURPerUnit + "/" + strconv.Itoa(rc.Decimals)
	}
	if err := next.validate(); err != nil {
		return nil, refuse(CodeIntentMismatch, "the change leads to an invalid state: %v", err)
	}
	return next, nil
}
