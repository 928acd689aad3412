package coordinator

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/governance"
	"github.com/custos-dev/custos/guardian/wire"
	"github.com/custos-dev/custos/store"
)

// GuardianInviteTTL is how long a guardian claim code stays valid.
const GuardianInviteTTL = 24 * time.Hour

// claimCodePrefix starts every guardian claim code.
const claimCodePrefix = "cgc_"

// ClaimCode is a single-use guardian enrolment code: 128 random bits. It is
// shown once; the store keeps only its SHA-256. Its String, LogValue and
// MarshalJSON are redacted; Reveal gives the code.
type ClaimCode struct{ code string }

// Reveal returns the code, to be shown to the administrator once.
func (c ClaimCode) Reveal() string { return c.code }

// String is redacted.
func (c ClaimCode) String() string { return "cgc_[REDACTED]" }

// LogValue is redacted.
func (c ClaimCode) LogValue() slog.Value { return slog.StringValue(c.String()) }

// MarshalJSON is redacted: a code reaches the wire only through Reveal.
func (c ClaimCode) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

func hashClaimCode(code string) []byte { h := sha256.Sum256([]byte(code)); return h[:] }

// GuardianInvitation is a new invitation with its code.
type GuardianInvitation struct {
	ID        string
	Name      string
	Code      ClaimCode
	ExpiresAt time.Time
}

// validGuardianName allows the same plain names as users.
func validGuardianName(n string) bool { return validUserName(n) }

// InviteGuardian creates a single-use claim code with which the operator
// of a new guardian enrols it under name (`custos guardian enroll`). The
// code expires after GuardianInviteTTL. Administrators only.
func (s *Service) InviteGuardian(ctx context.Context, p *Principal, name string) (*GuardianInvitation, error) {
	if err := p.require(PermAdmin); err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if !validGuardianName(name) {
		return nil, newErr(KindInvalid, "invalid_guardian", "name is required: 1 to 64 of a-z, 0-9, '.', '_' and '-'")
	}
	if s.guardianKey == nil {
		return nil, errGuardiansDisabled
	}
	raw := make([]byte, 16)
	if _, err := io.ReadFull(s.rand, raw); err != nil {
		return nil, internal("claim code", err)
	}
	code := claimCodePrefix + base64.RawURLEncoding.EncodeToString(raw)
	clear(raw)
	now := s.now()
	inv := &store.GuardianInvite{ID: s.newID(), CodeHash: hashClaimCode(code), Name: name, CreatedBy: p.Actor(),
		CreatedAt: now, ExpiresAt: now.Add(GuardianInviteTTL)}
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		gs, err := tx.ListGuardians(ctx)
		if err != nil {
			return err
		}
		for _, g := range gs {
			if g.Name == name {
				return newErr(KindConflict, "guardian_exists", "a guardian named %q is enrolled", name)
			}
		}
		invs, err := tx.ListGuardianInvites(ctx)
		if err != nil {
			return err
		}
		for _, o := range invs {
			if o.Name == name && o.UsedAt == nil && now.Before(o.ExpiresAt) {
				return newErr(KindConflict, "invitation_pending", "an invitation for %q is pending until %s", name, o.ExpiresAt.UTC().Format(time.RFC3339))
			}
		}
		if err := tx.CreateGuardianInvite(ctx, inv); err != nil {
			return err
		}
		return s.record(ctx, tx, event{category: audit.CategoryAdmin, action: "guardian.invite", actor: p.Actor(),
			target: "invitation:" + inv.ID, result: audit.ResultSuccess,
			meta: map[string]string{"name": name, "expires_at": inv.ExpiresAt.UTC().Format(time.RFC3339)}})
	})
	if err != nil {
		return nil, s.storeErr("invite guardian", err)
	}
	return &GuardianInvitation{ID: inv.ID, Name: name, Code: ClaimCode{code: code}, ExpiresAt: inv.ExpiresAt}, nil
}

var errGuardiansDisabled = newErr(KindUnavailable, "guardians_disabled",
	"this coordinator has no guardian identity key configured; guardians and FROST wallets are unavailable")

// errBadClaim is the one answer for an unknown, used or expired code, so
// that the endpoint tells a guesser nothing.
var errBadClaim = newErr(KindUnauthenticated, "invalid_claim_code", "the claim code is unknown, used or expired")

// errGovernanceChanged refuses an enrolment confirmed on a governance state
// that is no longer the coordinator's; nothing is claimed.
var errGovernanceChanged = newErr(KindConflict, "governance_changed",
	"the governance state changed since the enrolment preview; the claim code is still unused: preview again and confirm the new hash")

// wellFormedClaimCode reports whether code has the shape of a claim code.
func wellFormedClaimCode(code string) bool {
	return strings.HasPrefix(code, claimCodePrefix) && len(code) == len(claimCodePrefix)+22
}

// PreviewGuardianEnrollment shows what a claim code would enrol, claiming
// nothing: the guardian's name, the coordinator's guardian key and the
// current governance state with its hash. The guardian's operator
// confirms that hash (with the administrators, out of band) before
// EnrollGuardian claims the code. No credential but the code is needed;
// an unknown, used or expired code gets the same answer as at enrolment.
func (s *Service) PreviewGuardianEnrollment(ctx context.Context, code string) (*wire.EnrollPreview, error) {
	if s.guardianKey == nil {
		return nil, errGuardiansDisabled
	}
	if !wellFormedClaimCode(code) {
		s.enrolFailure(ctx, "preview: malformed claim code")
		return nil, errBadClaim
	}
	var out *wire.EnrollPreview
	err := s.store.ReadTx(ctx, func(ctx context.Context, tx store.Tx) error {
		out = nil
		inv, err := tx.GuardianInviteByCode(ctx, hashClaimCode(code))
		if errors.Is(err, store.ErrNotFound) {
			return errBadClaim
		}
		if err != nil {
			return err
		}
		if inv.UsedAt != nil || !s.now().Before(inv.ExpiresAt) {
			return errBadClaim
		}
		st, err := s.enrolmentGovernance(ctx, tx)
		if err != nil {
			return err
		}
		out = &wire.EnrollPreview{Name: inv.Name, CoordinatorKey: s.guardianKey.Public().(ed25519.PublicKey),
			Governance: st.Canonical(), GovernanceHash: st.HashHex()}
		return nil
	})
	if err != nil {
		if errors.Is(err, errBadClaim) {
			s.enrolFailure(ctx, "preview: unknown, used or expired claim code")
		}
		return nil, s.storeErr("preview guardian enrolment", err)
	}
	return out, nil
}

// enrolmentGovernance is the governance state a guardian enrolling now
// pins, checked to validate.
func (s *Service) enrolmentGovernance(ctx context.Context, tx store.Tx) (*governance.State, error) {
	st, err := s.governanceState(ctx, tx)
	if err != nil {
		return nil, err
	}
	if _, err := st.Document(); err != nil {
		return nil, wrapErr(KindInternal, "governance_invalid", "the governance state does not validate", err)
	}
	return st, nil
}

// EnrollGuardian registers a guardian that claims an invitation. No
// credential but the claim code is needed: the request must carry a
// signature by the guardian's identity key over wire.EnrollMessage (proof
// that it holds the key), well-formed keys, an http(s) endpoint and the
// hash of the governance state its operator confirmed after
// PreviewGuardianEnrollment. The code is claimed atomically with the
// guardian's creation: of concurrent claims one wins. If the governance
// state is another one by then (compared in the claim's transaction) the
// enrolment is refused with governance_changed and the code stays
// unused. The answer pins the coordinator's guardian key and hands over
// the governance state the enrolment was accepted under.
func (s *Service) EnrollGuardian(ctx context.Context, req *wire.EnrollRequest) (*wire.EnrollResponse, error) {
	if s.guardianKey == nil {
		return nil, errGuardiansDisabled
	}
	if req == nil || !wellFormedClaimCode(req.Code) {
		s.enrolFailure(ctx, "malformed claim code")
		return nil, errBadClaim
	}
	if checkEd25519Key(req.IdentityKey) != nil {
		return nil, newErr(KindInvalid, "invalid_key", "identity_key must be a canonical Ed25519 public key of large order")
	}
	if err := checkX25519Key(req.EncryptionKey, s.rand); err != nil {
		return nil, newErr(KindInvalid, "invalid_key", "encryption_key must be a usable X25519 public key")
	}
	endpoint, err := checkEndpoint(req.Endpoint)
	if err != nil {
		return nil, wrapErr(KindInvalid, "invalid_endpoint", "endpoint must be an http or https URL with a host and no credentials, query or fragment", err)
	}
	if req.GovernanceHash == "" {
		return nil, newErr(KindInvalid, "invalid_governance_hash",
			"governance_hash is required: the hash of the governance state the operator confirmed after the enrolment preview")
	}
	if len(req.Signature) != ed25519.SignatureSize || !ed25519.Verify(req.IdentityKey, wire.EnrollMessage(req), req.Signature) {
		s.enrolFailure(ctx, "bad signature")
		return nil, newErr(KindUnprocessable, "bad_signature", "the signature does not verify with identity_key over the enrolment message")
	}
	g := &store.Guardian{ID: s.newID(), IdentityKey: append([]byte(nil), req.IdentityKey...),
		EncryptionKey: append([]byte(nil), req.EncryptionKey...), Endpoint: endpoint, Status: store.GuardianActive, EnrolledAt: s.now()}
	var state []byte
	var hash string
	err = s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		inv, err := tx.ClaimGuardianInvite(ctx, hashClaimCode(req.Code), g.ID, s.now())
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
			return errBadClaim
		}
		if err != nil {
			return err
		}
		g.Name = inv.Name
		st, err := s.enrolmentGovernance(ctx, tx)
		if err != nil {
			return err
		}
		state, hash = st.Canonical(), st.HashHex()
		if req.GovernanceHash != hash {
			// Returning an error rolls the claim back.
			return errGovernanceChanged
		}
		g.Health, _ = json.Marshal(wire.Health{GuardianID: g.ID, GovernanceHash: hash})
		if err := tx.CreateGuardian(ctx, g); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return wrapErr(KindConflict, "guardian_exists", "a guardian with this name, identity key or encryption key is enrolled already", err)
			}
			return err
		}
		return s.record(ctx, tx, event{category: audit.CategoryAdmin, action: "guardian.enroll", actor: "guardian:" + g.ID,
			target: "guardian:" + g.ID, result: audit.ResultSuccess,
			meta: map[string]string{"name": g.Name, "invitation": inv.ID, "endpoint": g.Endpoint,
				"identity_key": hex.EncodeToString(g.IdentityKey), "encryption_key": hex.EncodeToString(g.EncryptionKey),
				"governance_hash": hash}})
	})
	if err != nil {
		switch {
		case errors.Is(err, errBadClaim):
			s.enrolFailure(ctx, "unknown, used or expired claim code")
		case errors.Is(err, errGovernanceChanged):
			s.enrolFailure(ctx, "governance state changed since the preview")
		}
		return nil, s.storeErr("enroll guardian", err)
	}
	s.guardians.invalidate()
	return &wire.EnrollResponse{GuardianID: g.ID, Name: g.Name, CoordinatorKey: s.guardianKey.Public().(ed25519.PublicKey),
		Governance: state, GovernanceHash: hash}, nil
}

// enrolFailure records a refused enrolment (never the code).
func (s *Service) enrolFailure(ctx context.Context, reason string) {
	s.recordAlone(ctx, event{category: audit.CategoryAdmin, action: "guardian.enroll", actor: "anonymous",
		target: "guardian", result: audit.ResultDenied, meta: map[string]string{"reason": reason}})
}

// checkX25519Key checks that pub is an X25519 public key that yields a
// usable shared secret (crypto/ecdh refuses low-order points then).
func checkX25519Key(pub []byte, rnd io.Reader) error {
	k, err := ecdh.X25519().NewPublicKey(pub)
	if err != nil {
		return err
	}
	priv, err := ecdh.X25519().GenerateKey(rnd)
	if err != nil {
		return err
	}
	secret, err := priv.ECDH(k)
	clear(secret)
	return err
}

// checkEndpoint validates a guardian's base URL and returns it without a
// trailing slash.
func checkEndpoint(raw string) (string, error) {
	if len(raw) > 512 {
		return "", errors.New("too long")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("scheme %q", u.Scheme)
	case u.Host == "" || u.Hostname() == "":
		return "", errors.New("no host")
	case u.User != nil, u.RawQuery != "", u.Fragment != "", u.Opaque != "":
		return "", errors.New("credentials, query or fragment")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// ListGuardians lists the enrolled guardians, by name.
func (s *Service) ListGuardians(ctx context.Context, p *Principal) ([]*store.Guardian, error) {
	if err := p.require(PermWalletsRead); err != nil {
		return nil, err
	}
	return s.allGuardians(ctx)
}

// allGuardians lists every enrolled guardian, whatever its status, by name.
func (s *Service) allGuardians(ctx context.Context) ([]*store.Guardian, error) {
	return read(ctx, s, "list guardians", nil, func(ctx context.Context, tx store.Tx) ([]*store.Guardian, error) {
		return tx.ListGuardians(ctx)
	})
}

// GetGuardian returns one guardian.
func (s *Service) GetGuardian(ctx context.Context, p *Principal, id string) (*store.Guardian, error) {
	if err := p.require(PermWalletsRead); err != nil {
		return nil, err
	}
	return read(ctx, s, "get guardian", newErr(KindNotFound, "unknown_guardian", "guardian %q does not exist", id),
		func(ctx context.Context, tx store.Tx) (*store.Guardian, error) { return tx.GetGuardian(ctx, id) })
}

// GovernanceHash returns the hash of the governance state guardians must
// hold, to compare with what each reports.
func (s *Service) GovernanceHash(ctx context.Context, p *Principal) (string, error) {
	if err := p.require(PermWalletsRead); err != nil {
		return "", err
	}
	return s.currentGovernanceHash(ctx)
}

// pollableGuardians lists the guardians the coordinator talks to: active
// and quarantined ones (a quarantined guardian is not picked for signing
// but stays watched).
func (s *Service) pollableGuardians(ctx context.Context) ([]*store.Guardian, error) {
	all, err := s.allGuardians(ctx)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, g := range all {
		if g.Status == store.GuardianActive || g.Status == store.GuardianQuarantined {
			out = append(out, g)
		}
	}
	return out, nil
}

// GuardianHealth asks every active or quarantined guardian for its health,
// records when it last answered and what it reported, brings the
// governance state of those that report another one up to date, and tops
// up the commitment pools of active FROST wallets. A periodic job runs it;
// it is safe on every replica.
func (s *Service) GuardianHealth(ctx context.Context) error {
	if s.guardianKey == nil {
		return nil
	}
	gs, err := s.pollableGuardians(ctx)
	if err != nil {
		return err
	}
	if len(gs) == 0 {
		return nil
	}
	current, err := s.currentGovernanceHash(ctx)
	if err != nil {
		return err
	}
	log := s.governanceLogOnce(ctx)
	var wg sync.WaitGroup
	for _, g := range gs {
		wg.Go(func() { s.checkGuardian(ctx, g, log, current) })
	}
	wg.Wait()
	s.guardians.invalidate()
	s.frost.warm(ctx)
	return nil
}

func (s *Service) checkGuardian(ctx context.Context, g *store.Guardian, log governanceLoader, current string) {
	var h wire.Health
	if _, err := s.rpc.call(ctx, g, wire.KindHealth, s.newID(), 0, wire.HealthRequest{}, &h); err != nil {
		s.guardians.failed(g.ID, s.now())
		s.log.WarnContext(ctx, "guardian health check failed", "guardian", g.ID, "name", g.Name, "err", err)
		return
	}
	if s.guardians.answered(g.ID, h.StartedAt, s.now()) {
		// A restarted guardian forgot every commitment it handed out.
		s.frost.forgetGuardian(g.ID)
	}
	if h.GovernanceHash != current {
		hash, err := s.syncGovernance(ctx, g, log, h.GovernanceHash, current)
		if err != nil {
			s.log.WarnContext(ctx, "guardian governance state differs", "guardian", g.ID, "name", g.Name, "err", err)
		}
		h.GovernanceHash = hash
	}
	raw, _ := json.Marshal(&h)
	now := s.now()
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		cur, err := tx.GetGuardian(ctx, g.ID)
		if err != nil {
			return err
		}
		cur.LastSeenAt, cur.Health = &now, raw
		return tx.UpdateGuardian(ctx, cur)
	})
	if err != nil {
		s.log.WarnContext(ctx, "recording guardian health failed", "guardian", g.ID, "err", err)
	}
}

// noteGovernance records the governance hash a guardian answered with (and
// drops the cached guardians, so that signing sees it).
func (s *Service) noteGovernance(ctx context.Context, id, hash string) {
	changed := false
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		changed = false
		cur, err := tx.GetGuardian(ctx, id)
		if err != nil {
			return err
		}
		h := healthOf(cur)
		if h.GovernanceHash == hash {
			return nil
		}
		h.GovernanceHash = hash
		cur.Health, _ = json.Marshal(&h)
		changed = true
		return tx.UpdateGuardian(ctx, cur)
	})
	if err != nil {
		s.log.WarnContext(ctx, "recording guardian governance state failed", "guardian", id, "err", err)
		return
	}
	if changed {
		s.guardians.invalidate()
	}
}

// quarantine takes a guardian out of signing: it returned an invalid
// signature share. Lifting a quarantine is an administrator's decision
// taken outside this path.
func (s *Service) quarantine(ctx context.Context, id, reason string, meta map[string]string) {
	md := map[string]string{"reason": reason}
	for k, v := range meta {
		md[k] = v
	}
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		g, err := tx.GetGuardian(ctx, id)
		if err != nil {
			return err
		}
		if g.Status != store.GuardianActive {
			return nil
		}
		g.Status, g.StatusReason = store.GuardianQuarantined, reason
		if err := tx.UpdateGuardian(ctx, g); err != nil {
			return err
		}
		return s.record(ctx, tx, event{category: audit.CategoryAdmin, action: "guardian.quarantine", actor: "system",
			target: "guardian:" + id, result: audit.ResultSuccess, meta: md})
	})
	s.guardians.invalidate()
	if err != nil {
		s.log.ErrorContext(ctx, "quarantining a guardian failed", "guardian", id, "err", err)
		return
	}
	s.log.WarnContext(ctx, "guardian quarantined", "guardian", id, "reason", reason)
}

// ReinstateGuardian puts a quarantined guardian (named by id or name) back
// among those picked for signing, once its operator found and fixed what
// made it return an invalid share. Nothing else changes: every share it
// returns is still verified, and a bad one quarantines it again. It is an
// administrator's act, recorded in the audit log with the reason given.
func (s *Service) ReinstateGuardian(ctx context.Context, p *Principal, guardian, reason string) (*store.Guardian, error) {
	if err := p.require(PermAdmin); err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" || utf8.RuneCountInString(reason) > 500 || !utf8.ValidString(reason) {
		return nil, newErr(KindInvalid, "invalid_reason", "a reason is required (at most 500 characters)")
	}
	var out *store.Guardian
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		all, err := tx.ListGuardians(ctx)
		if err != nil {
			return err
		}
		found := findGuardian(all, guardian)
		if found == nil {
			return newErr(KindNotFound, "unknown_guardian", "guardian %q does not exist", guardian)
		}
		// Read again through the locking read: the health job may have
		// written the row since the listing.
		g, err := tx.GetGuardian(ctx, found.ID)
		if err != nil {
			return err
		}
		if g.Status != store.GuardianQuarantined {
			return newErr(KindConflict, "guardian_not_quarantined", "guardian %s is %s, not quarantined", g.Name, g.Status)
		}
		was := g.StatusReason
		g.Status, g.StatusReason = store.GuardianActive, ""
		if err := tx.UpdateGuardian(ctx, g); err != nil {
			return err
		}
		out = g
		return s.record(ctx, tx, event{category: audit.CategoryAdmin, action: "guardian.reinstate", actor: p.Actor(),
			target: "guardian:" + g.ID, result: audit.ResultSuccess,
			meta: map[string]string{"name": g.Name, "reason": reason, "quarantined_for": was}})
	})
	s.guardians.invalidate()
	if err != nil {
		return nil, s.storeErr("reinstate guardian", err)
	}
	s.log.InfoContext(ctx, "guardian reinstated", "guardian", out.ID, "by", p.Actor())
	s.goBackground(s.frost.warm) // its commitment pools were dropped at quarantine
	return out, nil
}

// guardianCache keeps the enrolled guardians for the signing path (reloaded
// at most every guardianCacheTTL, and after every change this process
// makes), and what this process observed of each: when it last answered,
// when a call last failed, and when the guardian process started.
type guardianCache struct {
	mu   sync.Mutex
	at   time.Time
	byID map[string]*store.Guardian
	live map[string]*guardianLive
}

type guardianLive struct {
	ok, fail time.Time
	started  time.Time
}

const guardianCacheTTL = 5 * time.Second

func (c *guardianCache) invalidate() {
	c.mu.Lock()
	c.at = time.Time{}
	c.mu.Unlock()
}

func (c *guardianCache) liveOf(id string) *guardianLive {
	if c.live == nil {
		c.live = map[string]*guardianLive{}
	}
	l := c.live[id]
	if l == nil {
		l = &guardianLive{}
		c.live[id] = l
	}
	return l
}

// answered notes a health answer and reports whether the guardian process
// restarted since the previous one.
func (c *guardianCache) answered(id string, started, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.liveOf(id)
	restarted := !l.started.IsZero() && !started.Equal(l.started)
	l.ok, l.started = now, started
	return restarted
}

func (c *guardianCache) failed(id string, now time.Time) {
	c.mu.Lock()
	c.liveOf(id).fail = now
	c.mu.Unlock()
}

func (c *guardianCache) succeeded(id string, now time.Time) {
	c.mu.Lock()
	c.liveOf(id).ok = now
	c.mu.Unlock()
}

// guardiansByID returns the enrolled guardians, from the cache when fresh.
func (s *Service) guardiansByID(ctx context.Context) (map[string]*store.Guardian, error) {
	now := s.now()
	s.guardians.mu.Lock()
	if s.guardians.byID != nil && now.Sub(s.guardians.at) < guardianCacheTTL {
		m := s.guardians.byID
		s.guardians.mu.Unlock()
		return m, nil
	}
	s.guardians.mu.Unlock()
	all, err := s.allGuardians(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]*store.Guardian, len(all))
	for _, g := range all {
		m[g.ID] = g
	}
	s.guardians.mu.Lock()
	s.guardians.byID, s.guardians.at = m, now
	s.guardians.mu.Unlock()
	return m, nil
}
