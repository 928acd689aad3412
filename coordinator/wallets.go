package coordinator

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/approvals/intent"
	"github.com/custos-dev/custos/approvals/policy"
	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/frost"
	"github.com/custos-dev/custos/governance"
	"github.com/custos-dev/custos/hd"
	"github.com/custos-dev/custos/internal/seal"
	"github.com/custos-dev/custos/store"
)

// WalletInput describes a wallet to create.
type WalletInput struct {
	Name  string `json:"name"`
	Mode  string `json:"mode"`
	Curve string `json:"curve"`
	Path  string `json:"derivation_path,omitempty"`
	// Threshold and Guardians describe a FROST wallet: any Threshold of
	// the Guardians (ids or names; ids once the request is filed) sign.
	// Guardian i+1 in the key is Guardians[i].
	Threshold int      `json:"threshold,omitempty"`
	Guardians []string `json:"guardians,omitempty"`
}

func (in *WalletInput) normalise() error {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 64 {
		return newErr(KindInvalid, "invalid_wallet", "name is required (at most 64 characters)")
	}
	if in.Mode == "" {
		in.Mode = store.ModeHD
	}
	switch in.Mode {
	case store.ModeHD:
		return in.normaliseHD()
	case store.ModeFROST:
		return in.normaliseFROST()
	case store.ModeShamir, store.ModeHardware:
		return newErr(KindUnprocessable, "unsupported_mode", "wallet mode %q is not available in this version", in.Mode)
	}
	return newErr(KindInvalid, "invalid_wallet", "mode must be one of hd, frost, shamir, hardware")
}

func (in *WalletInput) normaliseHD() error {
	if in.Threshold != 0 || len(in.Guardians) != 0 {
		return newErr(KindInvalid, "invalid_wallet", "threshold and guardians apply to frost wallets only")
	}
	if in.Curve == "" {
		in.Curve = CurveSecp256k1
	}
	if _, err := hdCurve(in.Curve); err != nil {
		return newErr(KindInvalid, "invalid_wallet", "curve must be secp256k1 or ed25519")
	}
	if in.Path == "" {
		in.Path = DefaultPath[in.Curve]
	}
	if _, err := hd.ParsePath(in.Path); err != nil {
		return wrapErr(KindInvalid, "invalid_wallet", "derivation_path is not a valid BIP32 path", err)
	}
	if in.Curve == CurveEd25519 && !allHardened(in.Path) {
		return newErr(KindInvalid, "invalid_wallet", "ed25519 (SLIP-10) paths must be hardened at every level")
	}
	return nil
}

func (in *WalletInput) normaliseFROST() error {
	if in.Curve == "" {
		in.Curve = CurveEd25519
	}
	if _, err := frost.ParseSuite(in.Curve); err != nil {
		return newErr(KindInvalid, "invalid_wallet", "curve must be ed25519 or secp256k1")
	}
	if in.Path != "" {
		return newErr(KindInvalid, "invalid_wallet", "a frost wallet has no derivation path")
	}
	n := len(in.Guardians)
	if n < 2 || n > frost.MaxSigners {
		return newErr(KindInvalid, "invalid_wallet", "a frost wallet needs 2 to %d guardians", frost.MaxSigners)
	}
	if in.Threshold < 2 || in.Threshold > n {
		return newErr(KindInvalid, "invalid_wallet", "threshold must be between 2 and the number of guardians (%d)", n)
	}
	seen := map[string]bool{}
	for i, g := range in.Guardians {
		g = strings.TrimSpace(g)
		if g == "" || len(g) > 64 {
			return newErr(KindInvalid, "invalid_wallet", "guardian %d is empty or too long", i+1)
		}
		if seen[g] {
			return newErr(KindInvalid, "invalid_wallet", "guardian %q is listed twice", g)
		}
		seen[g] = true
		in.Guardians[i] = g
	}
	return nil
}

// resolveGuardians replaces guardian names by ids and checks that every
// guardian is distinct and active (a quarantined or removed guardian takes
// part in no new key).
func resolveGuardians(names []string, all []*store.Guardian) ([]string, []*store.Guardian, error) {
	ids := make([]string, len(names))
	gs := make([]*store.Guardian, len(names))
	seen := map[string]bool{}
	for i, n := range names {
		g := findGuardian(all, n)
		if g == nil {
			return nil, nil, newErr(KindUnprocessable, "unknown_guardian", "guardian %q is not enrolled", n)
		}
		if g.Status != store.GuardianActive {
			return nil, nil, newErr(KindUnprocessable, "guardian_not_active", "guardian %s is %s and takes part in no new key", g.Name, g.Status)
		}
		if seen[g.ID] {
			return nil, nil, newErr(KindInvalid, "invalid_wallet", "guardian %s is listed twice", g.Name)
		}
		seen[g.ID] = true
		ids[i], gs[i] = g.ID, g
	}
	return ids, gs, nil
}

// findGuardian is the guardian in all whose id, or else whose name, is
// ref; nil if none.
func findGuardian(all []*store.Guardian, ref string) *store.Guardian {
	if i := slices.IndexFunc(all, func(g *store.Guardian) bool { return g.ID == ref }); i >= 0 {
		return all[i]
	}
	if i := slices.IndexFunc(all, func(g *store.Guardian) bool { return g.Name == ref }); i >= 0 {
		return all[i]
	}
	return nil
}

func allHardened(path string) bool {
	for _, seg := range strings.Split(path, "/")[1:] {
		if !strings.HasSuffix(seg, "'") && !strings.HasSuffix(seg, "h") {
			return false
		}
	}
	return true
}

// CreateWallet files a wallet.create request. If the policy needs no
// approvals the wallet is created at once. It returns the request.
func (s *Service) CreateWallet(ctx context.Context, p *Principal, in WalletInput) (*RequestView, error) {
	if err := p.require(PermWalletsWrite); err != nil {
		return nil, err
	}
	if err := in.normalise(); err != nil {
		return nil, err
	}
	if in.Mode == store.ModeFROST {
		if s.guardianKey == nil {
			return nil, errGuardiansDisabled
		}
		all, err := s.allGuardians(ctx)
		if err != nil {
			return nil, err
		}
		if in.Guardians, _, err = resolveGuardians(in.Guardians, all); err != nil {
			return nil, err
		}
	}
	ws, err := s.ListWallets(ctx, p)
	if err != nil {
		return nil, err
	}
	for _, w := range ws {
		if w.Name == in.Name {
			return nil, newErr(KindConflict, "wallet_exists", "a wallet named %q exists", in.Name)
		}
	}
	return s.requestAction(ctx, p, "wallet.create", in)
}

// requestAction files an approval request for a non-transfer action and
// runs it at once when the policy needs no approvals.
func (s *Service) requestAction(ctx context.Context, p *Principal, action string, params any) (*RequestView, error) {
	return s.requestActionWith(ctx, p, action, params, nil)
}

// requestActionWith is requestAction with also, when not nil, run in the
// transaction that files the request (after it), so that what the request
// is about is stored with it or not at all.
func (s *Service) requestActionWith(ctx context.Context, p *Principal, action string, params any, also func(ctx context.Context, tx store.Tx, requestID string) error) (*RequestView, error) {
	payload, err := intent.NewAction(action, params)
	if err != nil {
		return nil, wrapErr(KindInvalid, "invalid_request", "invalid parameters", err)
	}
	id := s.newID()
	var auto bool
	err = s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		pol, doc, err := s.activePolicy(ctx, tx)
		if err != nil {
			return err
		}
		req, err := policy.RequirementFor(doc, action, 0)
		if err != nil {
			return wrapErr(KindUnprocessable, "no_policy", fmt.Sprintf("the policy has no rule for action %q; it is refused", action), err)
		}
		auto = req.Approvals == 0
		outcome := policy.OutcomeApprovalRequired
		if auto {
			outcome = policy.OutcomeAllow
		}
		ev := &evaluation{policy: pol, doc: doc, decision: &policy.Decision{Outcome: outcome, Requirement: req}}
		if err := s.createRequest(ctx, tx, p, id, action, payload, ev, auto, true); err != nil {
			return err
		}
		if also != nil {
			return also(ctx, tx, id)
		}
		return nil
	})
	if err != nil {
		return nil, s.storeErr("request "+action, err)
	}
	if auto {
		if err := s.execute(ctx, id); err != nil {
			return nil, err
		}
	}
	return s.requestView(ctx, id)
}

// executeAction runs an approved non-transfer request exactly once.
func (s *Service) executeAction(ctx context.Context, r *store.Request) error {
	var a intent.Action
	if err := json.Unmarshal(r.Payload, &a); err != nil {
		return internal("decode action", err)
	}
	var prepared preparedAction
	var after func(cert *approvals.Certificate) // runs once the action committed
	switch r.Action {
	case "wallet.create":
		var in WalletInput
		if err := json.Unmarshal(a.Params, &in); err != nil {
			return internal("decode wallet.create", err)
		}
		var err error
		if prepared, after, err = s.prepareWallet(r, in); err != nil {
			return s.markFailed(ctx, r, err)
		}
	case "wallet.unfreeze":
		var in struct {
			WalletID string `json:"wallet_id"`
		}
		if err := json.Unmarshal(a.Params, &in); err != nil {
			return internal("decode wallet.unfreeze", err)
		}
		prepared = func(ctx context.Context, tx store.Tx) (string, error) {
			if err := tx.SetWalletFrozen(ctx, in.WalletID, false); err != nil && !errors.Is(err, store.ErrConflict) {
				return "", err
			}
			return "wallet:" + in.WalletID, s.record(ctx, tx, event{category: audit.CategoryWallet, action: "wallet.unfreeze",
				actor: "system", target: "wallet:" + in.WalletID, result: audit.ResultSuccess, meta: map[string]string{"request": r.ID}})
		}
	case "policy.change":
		prepared = func(ctx context.Context, tx store.Tx) (string, error) { return s.applyPolicy(ctx, tx, r, a.Params) }
	case "rate.set":
		prepared = func(ctx context.Context, tx store.Tx) (string, error) { return s.applyRate(ctx, tx, r, a.Params) }
	case "emergency_stop.off":
		prepared = func(ctx context.Context, tx store.Tx) (string, error) {
			return "system", s.setStop(ctx, tx, "system", "off")
		}
	case "user.role.assign":
		prepared = func(ctx context.Context, tx store.Tx) (string, error) { return s.applyRole(ctx, tx, r, a.Params) }
	case governance.ActionCredentialAdd:
		prepared = func(ctx context.Context, tx store.Tx) (string, error) { return s.applyPasskey(ctx, tx, r, a.Params) }
	case "apikey.create":
		prepared = func(ctx context.Context, tx store.Tx) (string, error) { return s.activateAPIKey(ctx, tx, r, a.Params) }
	default:
		return s.markFailed(ctx, r, fmt.Errorf("%w %q", errNoAction, r.Action))
	}
	var actionErr error
	var cert *approvals.Certificate
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		actionErr, cert = nil, nil
		// Run only what a valid certificate under the policy in force
		// covers: the status column alone is not proof of approval.
		v, err := s.loadRequest(ctx, tx, r.ID)
		if err != nil {
			return err
		}
		if v.Request.Status != store.RequestApproved {
			return store.ErrConflict
		}
		if cert, err = s.certificate(v); err != nil {
			actionErr = wrapErr(KindInternal, "certificate_invalid", "the approval certificate does not verify; refusing to act", err)
			return actionErr
		}
		pol, _, err := s.activePolicy(ctx, tx)
		if err != nil {
			return err
		}
		if !bytes.Equal(pol.Hash, v.Request.PolicyHash) {
			actionErr = newErr(KindConflict, "policy_changed", "the policy changed after request %s was approved; file it again", r.ID)
			return actionErr
		}
		if err := tx.UpdateRequestStatus(ctx, r.ID, store.RequestApproved, store.RequestExecuted, s.now()); err != nil {
			return err
		}
		target, err := prepared(ctx, tx)
		if err != nil {
			actionErr = err // a conflict here is the action's own failure
			return err
		}
		if err := s.record(ctx, tx, event{category: audit.CategoryPolicy, action: "request.executed", actor: "system",
			target: "request:" + r.ID, result: audit.ResultSuccess, meta: map[string]string{"action": r.Action, "result": target}}); err != nil {
			return err
		}
		if governance.IsGovernanceAction(r.Action) {
			// Guardians apply the same change from this certificate.
			return s.logGovernance(ctx, tx, r, cert)
		}
		return nil
	})
	if err != nil && actionErr != nil {
		return s.markFailed(ctx, r, actionErr)
	}
	if errors.Is(err, store.ErrConflict) {
		return nil // another coordinator ran it, or it is no longer approved
	}
	if err != nil {
		return s.storeErr("execute "+r.Action, err)
	}
	if after != nil {
		after(cert)
	}
	if governance.IsGovernanceAction(r.Action) {
		s.goBackground(s.pushGovernance)
	}
	return nil
}

// preparedAction is an approved action's change, run in the transaction
// that marks the request executed; it returns the action's target.
type preparedAction func(ctx context.Context, tx store.Tx) (string, error)

// prepareWallet returns the action of an approved wallet.create for the
// wallet's mode, and what runs once it committed (nil if nothing).
func (s *Service) prepareWallet(r *store.Request, in WalletInput) (preparedAction, func(*approvals.Certificate), error) {
	switch in.Mode {
	case store.ModeHD:
		prepared, err := s.prepareHDWallet(r, in)
		return prepared, nil, err
	case store.ModeFROST:
		prepared, after := s.prepareFROSTWallet(r, in)
		return prepared, after, nil
	}
	return nil, nil, newErr(KindUnprocessable, "unsupported_mode", "wallet mode %q is not available in this version", in.Mode)
}

// prepareHDWallet generates an HD wallet's seed and returns the action
// that stores the wallet.
func (s *Service) prepareHDWallet(r *store.Request, in WalletInput) (preparedAction, error) {
	w, err := s.newHDWallet(in)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, tx store.Tx) (string, error) {
		if err := tx.CreateWallet(ctx, w); err != nil {
			return "", err
		}
		return "wallet:" + w.ID, s.record(ctx, tx, event{category: audit.CategoryWallet, action: "wallet.create",
			actor: "system", target: "wallet:" + w.ID, result: audit.ResultSuccess,
			meta: map[string]string{"name": w.Name, "mode": w.Mode, "curve": w.Curve, "path": w.DerivationPath,
				"public_key": hex.EncodeToString(w.PublicKey), "request": r.ID}})
	}, nil
}

// prepareFROSTWallet returns the action of an approved wallet.create for a
// FROST wallet: the wallet is created pending, with its key ceremony, and
// the ceremony starts once that is committed.
func (s *Service) prepareFROSTWallet(r *store.Request, in WalletInput) (preparedAction, func(*approvals.Certificate)) {
	now := s.now()
	w := &store.Wallet{ID: s.newID(), Name: in.Name, Mode: store.ModeFROST, Curve: in.Curve, KeyVersion: 1, CreatedAt: now,
		Status: store.WalletPending, Threshold: in.Threshold, Guardians: in.Guardians}
	c := &store.Ceremony{ID: s.newCeremonyID(), WalletID: w.ID, State: store.CeremonyRunning, Round: RoundStart, Curve: in.Curve,
		Threshold: in.Threshold, Guardians: in.Guardians, CreatedAt: now, UpdatedAt: now}
	var gs []*store.Guardian
	prepared := func(ctx context.Context, tx store.Tx) (string, error) {
		if s.guardianKey == nil {
			return "", errGuardiansDisabled
		}
		all, err := tx.ListGuardians(ctx)
		if err != nil {
			return "", err
		}
		// The guardians must still be enrolled and active, and be the
		// ones the approvers saw (by id).
		ids, resolved, err := resolveGuardians(in.Guardians, all)
		if err != nil {
			return "", err
		}
		if !slices.Equal(ids, in.Guardians) {
			return "", newErr(KindConflict, "guardians_changed", "the approved guardians are not listed by id")
		}
		gs = resolved
		if err := tx.CreateWallet(ctx, w); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return "", newErr(KindConflict, "wallet_exists", "a wallet named %q exists", w.Name)
			}
			return "", err
		}
		if err := tx.CreateCeremony(ctx, c); err != nil {
			return "", err
		}
		return "wallet:" + w.ID, s.record(ctx, tx, event{category: audit.CategoryWallet, action: "wallet.create",
			actor: "system", target: "wallet:" + w.ID, result: audit.ResultSuccess,
			meta: map[string]string{"name": w.Name, "mode": w.Mode, "curve": w.Curve, "threshold": strconv.Itoa(w.Threshold),
				"guardians": strings.Join(w.Guardians, ","), "ceremony": c.ID, "status": string(w.Status), "request": r.ID}})
	}
	after := func(cert *approvals.Certificate) { s.startCeremony(c, w, cert, gs) }
	return prepared, after
}

func (s *Service) markFailed(ctx context.Context, r *store.Request, cause error) error {
	s.log.WarnContext(ctx, "approved action failed", "request", r.ID, "action", r.Action, "err", cause)
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		if err := tx.UpdateRequestStatus(ctx, r.ID, store.RequestApproved, store.RequestFailed, s.now()); err != nil {
			return err
		}
		if err := s.refusePasskeyOf(ctx, tx, r); err != nil {
			return err
		}
		return s.record(ctx, tx, event{category: audit.CategoryPolicy, action: "request.executed", actor: "system",
			target: "request:" + r.ID, result: audit.ResultFailure, meta: map[string]string{"action": r.Action}})
	})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return s.storeErr("mark failed", err)
	}
	var de *Error
	if errors.As(cause, &de) {
		return cause
	}
	return wrapErr(KindUnprocessable, "action_failed", "the approved action failed", cause)
}

// newHDWallet generates a master seed, seals it and derives the wallet key.
func (s *Service) newHDWallet(in WalletInput) (*store.Wallet, error) {
	mnemonic, err := hd.NewMnemonic(s.rand, 256)
	if err != nil {
		return nil, err
	}
	seed, err := hd.SeedFromMnemonic(mnemonic, "")
	if err != nil {
		return nil, err
	}
	defer clear(seed)
	w := &store.Wallet{ID: s.newID(), Name: in.Name, Mode: store.ModeHD, Curve: in.Curve,
		DerivationPath: in.Path, KeyVersion: 1, CreatedAt: s.now(), Status: store.WalletActive}
	if w.PublicKey, err = deriveHDPublicKey(seed, w.Curve, w.DerivationPath); err != nil {
		return nil, err
	}
	if w.SealedSeed, err = seal.Seal(s.kek, seed, seedAD(w), s.rand); err != nil {
		return nil, err
	}
	return w, nil
}

// CreateWalletNow creates an HD wallet without an approval request. Only
// bootstrap code (custos dev, first-run seeding) calls it.
func (s *Service) CreateWalletNow(ctx context.Context, actor string, in WalletInput) (*store.Wallet, error) {
	if err := in.normalise(); err != nil {
		return nil, err
	}
	if in.Mode != store.ModeHD {
		return nil, newErr(KindUnprocessable, "unsupported_mode", "only hd wallets are created without approval; a %s wallet is a wallet.create request", in.Mode)
	}
	w, err := s.newHDWallet(in)
	if err != nil {
		return nil, internal("create wallet", err)
	}
	err = s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		if err := tx.CreateWallet(ctx, w); err != nil {
			return err
		}
		return s.record(ctx, tx, event{category: audit.CategoryWallet, action: "wallet.create", actor: actor,
			target: "wallet:" + w.ID, result: audit.ResultSuccess,
			meta: map[string]string{"name": w.Name, "mode": w.Mode, "curve": w.Curve, "path": w.DerivationPath, "bootstrap": "true"}})
	})
	if err != nil {
		return nil, s.storeErr("create wallet", err)
	}
	return w, nil
}

// ListWallets lists wallets.
func (s *Service) ListWallets(ctx context.Context, p *Principal) ([]*store.Wallet, error) {
	if err := p.require(PermWalletsRead); err != nil {
		return nil, err
	}
	return read(ctx, s, "list wallets", nil, func(ctx context.Context, tx store.Tx) ([]*store.Wallet, error) {
		return tx.ListWallets(ctx)
	})
}

// GetWallet returns one wallet.
func (s *Service) GetWallet(ctx context.Context, p *Principal, id string) (*store.Wallet, error) {
	if err := p.require(PermWalletsRead); err != nil {
		return nil, err
	}
	return read(ctx, s, "get wallet", newErr(KindNotFound, "unknown_wallet", "wallet %q does not exist", id), func(ctx context.Context, tx store.Tx) (*store.Wallet, error) {
		return tx.GetWallet(ctx, id)
	})
}

// FreezeWallet freezes a wallet at once; a frozen wallet signs nothing.
// Lifting a freeze is a request (UnfreezeWallet).
func (s *Service) FreezeWallet(ctx context.Context, p *Principal, id string) error {
	if err := p.require(PermPolicyWrite); err != nil {
		return err
	}
	return s.setFrozen(ctx, p.Actor(), id, true)
}

func (s *Service) setFrozen(ctx context.Context, actor, id string, frozen bool) error {
	action := map[bool]string{true: "wallet.freeze", false: "wallet.unfreeze"}[frozen]
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		w, err := tx.GetWallet(ctx, id)
		if err != nil {
			return err
		}
		if w.Frozen != frozen {
			if err := tx.SetWalletFrozen(ctx, id, frozen); err != nil {
				return err
			}
		}
		if frozen {
			// Every freeze is a new incident: an unfreeze approved (or
			// being approved) for an earlier one must not lift it.
			if err := s.voidRequests(ctx, tx, "wallet.unfreeze", "wallet_id", id, "the wallet was frozen again"); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, event{category: audit.CategoryWallet, action: action, actor: actor,
			target: "wallet:" + id, result: audit.ResultSuccess, meta: map[string]string{"was_frozen": fmt.Sprint(w.Frozen)}})
	})
	if errors.Is(err, store.ErrNotFound) {
		return newErr(KindNotFound, "unknown_wallet", "wallet %q does not exist", id)
	}
	if err != nil {
		return s.storeErr(action, err)
	}
	return nil
}
