package coordinator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/governance"
	"github.com/custos-dev/custos/store"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"
)

// Passkeys are the WebAuthn credentials staff approve with in the web UI.
// Registering one is itself an approval request (user.credential.add): the
// passkey is stored pending and counts for nothing until that request is
// approved and executed. Its public key then joins the approver roster the
// guardians hold, so they check passkey votes themselves
// (approvals.VerifyAssertion), as the coordinator does.
//
// go-webauthn runs the registration ceremony (options, attestation
// parsing, client data and authenticator data checks). Assertions are
// verified by the approvals package alone, so that the guardians, which
// do not link go-webauthn, run the very same check.

// PasskeyConfig is where the web UI is served, which passkeys are bound
// to.
type PasskeyConfig struct {
	// Origin is the web UI's origin as browsers send it, e.g.
	// "https://custody.example.com" ("http://localhost:8080" for a local
	// run: browsers allow WebAuthn over plain HTTP on localhost only). The
	// relying party id is its host name. Empty: passkeys are disabled.
	Origin string
	// RPName is the name authenticators show (default "Custos").
	RPName string
}

// Limits of passkey registration.
const (
	maxPasskeysPerUser  = 10
	maxPasskeyNameLen   = 64
	registrationTimeout = 5 * time.Minute
)

// passkeys runs registrations: go-webauthn and the ceremonies in flight,
// one per browser session.
type passkeys struct {
	wa     *webauthn.WebAuthn // nil: disabled
	origin string

	mu      sync.Mutex
	pending map[string]*registration // by session token hash
}

// registration is a ceremony in flight.
type registration struct {
	session webauthn.SessionData
	expires time.Time // by the service's clock (go-webauthn's own check is off)
}

func newPasskeys(cfg PasskeyConfig) (*passkeys, error) {
	pk := &passkeys{pending: map[string]*registration{}}
	if cfg.Origin == "" {
		return pk, nil
	}
	if err := approvals.CheckOrigin(cfg.Origin); err != nil {
		return nil, fmt.Errorf("coordinator: passkey origin %q is not of the form scheme://host[:port] in lower case, as browsers send it", cfg.Origin)
	}
	u, _ := url.Parse(cfg.Origin)
	if u.Scheme == "http" && u.Hostname() != "localhost" {
		return nil, fmt.Errorf("coordinator: passkey origin %q: browsers allow passkeys over plain HTTP on localhost only; use https", cfg.Origin)
	}
	name := cfg.RPName
	if name == "" {
		name = "Custos"
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          u.Hostname(),
		RPDisplayName: name,
		RPOrigins:     []string{cfg.Origin},
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementDiscouraged,
			UserVerification: protocol.VerificationRequired,
		},
		AttestationPreference: protocol.PreferNoAttestation,
	})
	if err != nil {
		return nil, fmt.Errorf("coordinator: passkeys: %w", err)
	}
	pk.wa, pk.origin = wa, cfg.Origin
	return pk, nil
}

// PasskeyOrigin is the origin passkeys are bound to ("" if disabled).
func (s *Service) PasskeyOrigin() string { return s.passkeys.origin }

// webauthnUser is the signed-in person as go-webauthn sees them during a
// registration; the user handle is their user id.
type webauthnUser struct{ p *Principal }

func (w webauthnUser) WebAuthnID() []byte                         { return []byte(w.p.UserID) }
func (w webauthnUser) WebAuthnName() string                       { return w.p.Name }
func (w webauthnUser) WebAuthnDisplayName() string                { return w.p.Name }
func (w webauthnUser) WebAuthnCredentials() []webauthn.Credential { return nil }

// passkeyAlgorithms are the signature algorithms approvals.VerifyAssertion
// accepts, in order of preference.
var passkeyAlgorithms = []protocol.CredentialParameter{
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgES256},
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgEdDSA},
	{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgRS256},
}

// registrant checks that the caller may register a passkey and returns
// their registered and pending ones.
func (s *Service) registrant(ctx context.Context, tx store.Tx, p *Principal) ([]*store.Passkey, error) {
	if p == nil || p.Kind != "user" {
		return nil, ErrUnauthenticated
	}
	if !p.Web || !p.MFA {
		return nil, newErr(KindForbidden, "web_session_required", "register a passkey from the web UI, signed in with your second factor")
	}
	if p.Role == store.RoleAdmin || p.Role == store.RoleAuditor {
		return nil, newErr(KindForbidden, "forbidden", "role %s never approves and holds no passkey", p.Role)
	}
	keys, err := tx.ListPasskeys(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	live := slices.DeleteFunc(keys, func(k *store.Passkey) bool {
		return k.Status != store.PasskeyPending && k.Status != store.PasskeyActive
	})
	if len(live) >= maxPasskeysPerUser {
		return nil, newErr(KindConflict, "too_many_passkeys", "%s has %d passkeys registered or pending; that is the limit", p.Name, len(live))
	}
	return live, nil
}

// BeginPasskeyRegistration starts registering a passkey for the calling
// user: it returns the options for the browser's
// navigator.credentials.create (as JSON). Only a browser session with a
// second factor may register, and only one registration per session is in
// flight (a new one replaces it).
func (s *Service) BeginPasskeyRegistration(ctx context.Context, p *Principal) ([]byte, error) {
	if s.passkeys.wa == nil {
		return nil, newErr(KindUnavailable, "passkeys_disabled", "passkeys are not configured on this coordinator (set its web origin)")
	}
	var live []*store.Passkey
	err := s.store.ReadTx(ctx, func(ctx context.Context, tx store.Tx) error {
		var err error
		live, err = s.registrant(ctx, tx, p)
		return err
	})
	if err != nil {
		return nil, s.storeErr("begin passkey registration", err)
	}
	exclude := make([]protocol.CredentialDescriptor, len(live))
	for i, k := range live {
		exclude[i] = protocol.CredentialDescriptor{Type: protocol.PublicKeyCredentialType, CredentialID: k.ID}
	}
	creation, session, err := s.passkeys.wa.BeginRegistration(webauthnUser{p},
		webauthn.WithCredentialParameters(passkeyAlgorithms), webauthn.WithExclusions(exclude))
	if err != nil {
		return nil, internal("begin passkey registration", err)
	}
	session.Expires = time.Time{}
	now := s.now()
	s.passkeys.mu.Lock()
	s.passkeys.pending[string(p.session)] = &registration{session: *session, expires: now.Add(registrationTimeout)}
	for k, v := range s.passkeys.pending {
		if now.After(v.expires) {
			delete(s.passkeys.pending, k)
		}
	}
	s.passkeys.mu.Unlock()
	return json.Marshal(creation)
}

// passkeyAddition is the intent of a user.credential.add request: the
// approvers see, and sign, exactly which credential gains the power to
// approve for whom.
type passkeyAddition struct {
	UserID  string            `json:"user_id"`
	Name    string            `json:"name"`
	Label   string            `json:"label"`
	Passkey approvals.Passkey `json:"passkey"`
}

// FinishPasskeyRegistration checks the browser's answer to the
// registration begun in the same session (response: the
// PublicKeyCredential as JSON), stores the passkey pending and files its
// user.credential.add request. label is the user's name for it.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, p *Principal, label string, response []byte) (*RequestView, error) {
	if s.passkeys.wa == nil {
		return nil, newErr(KindUnavailable, "passkeys_disabled", "passkeys are not configured on this coordinator (set its web origin)")
	}
	if p == nil {
		return nil, ErrUnauthenticated
	}
	label = strings.TrimSpace(label)
	if label == "" || len(label) > maxPasskeyNameLen || !utf8.ValidString(label) || strings.ContainsFunc(label, unicode.IsControl) {
		return nil, newErr(KindInvalid, "invalid_name", "name the passkey: 1 to %d characters, no control characters", maxPasskeyNameLen)
	}
	s.passkeys.mu.Lock()
	reg := s.passkeys.pending[string(p.session)]
	delete(s.passkeys.pending, string(p.session)) // one answer per ceremony
	s.passkeys.mu.Unlock()
	if reg == nil || s.now().After(reg.expires) {
		return nil, newErr(KindConflict, "no_registration", "no passkey registration is in progress in this session, or it timed out; start again")
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return nil, wrapErr(KindInvalid, "invalid_credential", "the browser's answer is not a WebAuthn registration", err)
	}
	// The ceremony was begun in this session, so for this person; whether
	// they may still register is checked where the passkey is stored.
	cred, err := s.passkeys.wa.CreateCredential(webauthnUser{p}, reg.session, parsed)
	if err != nil {
		return nil, wrapErr(KindUnprocessable, "registration_refused", "the passkey registration did not verify", err)
	}
	if !cred.Flags.UserPresent || !cred.Flags.UserVerified {
		return nil, newErr(KindUnprocessable, "registration_refused", "the authenticator did not verify the user (PIN or biometrics are required)")
	}
	pk := approvals.Passkey{ID: cred.ID, PublicKey: cred.PublicKey, RPID: s.passkeys.wa.Config.RPID, Origins: []string{s.passkeys.origin}}
	aaguid := cred.Authenticator.AAGUID
	if err := pk.Validate(); err != nil {
		return nil, wrapErr(KindUnprocessable, "unsupported_passkey", "the passkey's key type cannot be verified by the guardians (ES256, EdDSA or RS256 of 2048 to 4096 bits)", err)
	}
	add := passkeyAddition{UserID: p.UserID, Name: p.Name, Label: label, Passkey: pk}
	return s.requestActionWith(ctx, p, governance.ActionCredentialAdd, add, func(ctx context.Context, tx store.Tx, requestID string) error {
		if _, err := s.registrant(ctx, tx, p); err != nil {
			return err
		}
		now := s.now()
		err := tx.AddPasskey(ctx, &store.Passkey{ID: pk.ID, UserID: p.UserID, Name: label, PublicKey: pk.PublicKey, RPID: pk.RPID,
			Origins: pk.Origins, AAGUID: aaguid, Status: store.PasskeyPending, RequestID: requestID, CreatedAt: now, UpdatedAt: now})
		if errors.Is(err, store.ErrConflict) {
			return newErr(KindConflict, "passkey_exists", "that passkey is registered already")
		}
		if err != nil {
			return err
		}
		return s.record(ctx, tx, event{category: audit.CategoryAdmin, action: "user.passkey.register", actor: p.Actor(),
			target: "user:" + p.UserID, result: audit.ResultSuccess,
			meta: map[string]string{"credential_id": fmt.Sprintf("%x", pk.ID), "label": label, "request": requestID}})
	})
}

// ListPasskeys lists a user's passkeys: the caller's own, or anyone's for
// an administrator.
func (s *Service) ListPasskeys(ctx context.Context, p *Principal, userID string) ([]*store.Passkey, error) {
	if p == nil {
		return nil, ErrUnauthenticated
	}
	if userID != p.UserID {
		if err := p.require(PermAdmin); err != nil {
			return nil, err
		}
	}
	return read(ctx, s, "list passkeys", nil, func(ctx context.Context, tx store.Tx) ([]*store.Passkey, error) {
		return tx.ListPasskeys(ctx, userID)
	})
}

// applyPasskey activates the passkey of an approved user.credential.add.
func (s *Service) applyPasskey(ctx context.Context, tx store.Tx, r *store.Request, params json.RawMessage) (string, error) {
	var add passkeyAddition
	if err := json.Unmarshal(params, &add); err != nil {
		return "", internal("decode user.credential.add", err)
	}
	k, err := tx.GetPasskey(ctx, add.Passkey.ID)
	if err != nil {
		return "", err
	}
	if k.UserID != add.UserID || !bytes.Equal(k.PublicKey, add.Passkey.PublicKey) || k.RequestID != r.ID {
		return "", newErr(KindConflict, "passkey_changed", "the stored passkey is not the one the approvers saw")
	}
	if err := tx.SetPasskeyStatus(ctx, k.ID, store.PasskeyPending, store.PasskeyActive, s.now()); err != nil {
		return "", err
	}
	return "user:" + add.UserID, s.record(ctx, tx, event{category: audit.CategoryAdmin, action: "user.passkey.activate", actor: "system",
		target: "user:" + add.UserID, result: audit.ResultSuccess,
		meta: map[string]string{"credential_id": fmt.Sprintf("%x", k.ID), "request": r.ID}})
}

// refusePasskeyOf marks the pending passkey of a user.credential.add
// request that ended without executing (rejected, expired, failed) as
// refused.
func (s *Service) refusePasskeyOf(ctx context.Context, tx store.Tx, r *store.Request) error {
	if r.Action != governance.ActionCredentialAdd {
		return nil
	}
	var a struct {
		Params passkeyAddition `json:"params"`
	}
	if err := json.Unmarshal(r.Payload, &a); err != nil {
		return internal("decode user.credential.add", err)
	}
	err := tx.SetPasskeyStatus(ctx, a.Params.Passkey.ID, store.PasskeyPending, store.PasskeyRefused, s.now())
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// activePasskeys groups the active passkeys by user, as the approval
// engine takes them, sorted by credential id.
func activePasskeys(keys []*store.Passkey) map[string][]approvals.Passkey {
	out := map[string][]approvals.Passkey{}
	for _, k := range keys {
		if k.Status == store.PasskeyActive {
			out[k.UserID] = append(out[k.UserID], approvals.Passkey{ID: k.ID, PublicKey: k.PublicKey, RPID: k.RPID, Origins: k.Origins})
		}
	}
	for id, ps := range out {
		slices.SortFunc(ps, func(a, b approvals.Passkey) int { return bytes.Compare(a.ID, b.ID) })
		out[id] = ps
	}
	return out
}
