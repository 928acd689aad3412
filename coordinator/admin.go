package coordinator

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/custos-dev/custos/approvals/policy"
	"github.com/custos-dev/custos/approvals/proof"
	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/internal/auth"
	"github.com/custos-dev/custos/store"
)

// UnfreezeWallet files a wallet.unfreeze request: freezing is immediate,
// lifting a freeze needs approvals like any other action.
func (s *Service) UnfreezeWallet(ctx context.Context, p *Principal, id string) (*RequestView, error) {
	if err := p.require(PermPolicyWrite); err != nil {
		return nil, err
	}
	w, err := s.GetWallet(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if !w.Frozen {
		// An unfreeze approved in advance would lift a later freeze.
		return nil, newErr(KindConflict, "not_frozen", "wallet %s is not frozen", id)
	}
	return s.requestAction(ctx, p, "wallet.unfreeze", map[string]string{"wallet_id": id})
}

// EmergencyStop turns the global stop on at once: while it is on no
// transfer is approved or signed. Turning it off is an emergency_stop.off
// request (returned), approved like any other action.
func (s *Service) EmergencyStop(ctx context.Context, p *Principal, on bool) (*RequestView, error) {
	if err := p.require(PermPolicyWrite); err != nil {
		return nil, err
	}
	if !on {
		stopped, err := s.EmergencyStopped(ctx)
		if err != nil {
			return nil, s.storeErr("emergency stop", err)
		}
		if !stopped {
			return nil, newErr(KindConflict, "not_stopped", "the emergency stop is not on")
		}
		return s.requestAction(ctx, p, "emergency_stop.off", map[string]string{})
	}
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		return s.setStop(ctx, tx, p.Actor(), "on")
	})
	if err != nil {
		return nil, s.storeErr("emergency stop", err)
	}
	return nil, nil
}

func (s *Service) setStop(ctx context.Context, tx store.Tx, actor, v string) error {
	if err := tx.PutSetting(ctx, settingEmergencyStop, v); err != nil {
		return err
	}
	if v == "on" {
		// A pending request to lift an earlier stop must not lift this one.
		if err := s.voidRequests(ctx, tx, "emergency_stop.off", "", "", "the emergency stop was turned on again"); err != nil {
			return err
		}
	}
	return s.record(ctx, tx, event{category: audit.CategoryAdmin, action: "emergency_stop." + v, actor: actor,
		target: "system", result: audit.ResultSuccess})
}

// voidRequests ends the pending and the approved-but-not-run requests of
// action whose parameter key equals value (every one when key is empty):
// for instance unfreeze requests made before a new freeze. A request that
// moves on concurrently (a vote, an expiry) is left to that change.
func (s *Service) voidRequests(ctx context.Context, tx store.Tx, action, key, value, reason string) error {
	for _, st := range []store.RequestStatus{store.RequestPending, store.RequestApproved} {
		rs, err := tx.ListRequests(ctx, store.RequestFilter{Status: st, Action: action})
		if err != nil {
			return err
		}
		for _, r := range rs {
			if key != "" && requestParam(r, key) != value {
				continue
			}
			if st == store.RequestPending {
				err = s.finish(ctx, tx, "system", r, store.RequestRejected, store.TxRejected, reason)
			} else {
				err = tx.UpdateRequestStatus(ctx, r.ID, store.RequestApproved, store.RequestFailed, s.now())
				if err == nil {
					err = s.record(ctx, tx, event{category: audit.CategoryPolicy, action: "request.failed", actor: "system",
						target: "request:" + r.ID, result: audit.ResultSuccess, meta: map[string]string{"reason": reason}})
				}
			}
			if err != nil && !errors.Is(err, store.ErrConflict) {
				return err
			}
		}
	}
	return nil
}

// EmergencyStopped reports whether the global stop is on.
func (s *Service) EmergencyStopped(ctx context.Context) (bool, error) {
	var on bool
	err := s.store.ReadTx(ctx, func(ctx context.Context, tx store.Tx) error {
		v, err := tx.GetSetting(ctx, settingEmergencyStop)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		on = v == "on"
		return err
	})
	return on, err
}

// RateInput sets the EUR rate of an asset.
type RateInput struct {
	Asset      string `json:"asset"`
	EURPerUnit string `json:"eur_per_unit"`
	Decimals   int    `json:"decimals"`
}

// RateBandPercent bounds how far a rate may move from its approved anchor
// without approvals. A price feed keeps rates fresh inside the band; a move
// beyond it (or a new asset, or new decimals) is a rate.set request,
// because whoever sets rates decides which approval tier a transfer falls
// into and whether it fits the EUR limits.
const RateBandPercent = 10

func rateAnchorKey(asset string) string { return "rate_anchor:" + asset }

// PutRate records a rate at once when it stays within RateBandPercent of
// the approved anchor; otherwise it files a rate.set request and returns
// it. An asset's decimals never change once set. Only administrators set
// rates.
func (s *Service) PutRate(ctx context.Context, p *Principal, in RateInput) (*store.Rate, *RequestView, error) {
	if err := p.require(PermAdmin); err != nil {
		return nil, nil, err
	}
	if err := in.normalise(s.now()); err != nil {
		return nil, nil, err
	}
	var (
		applied *store.Rate
		anchor  string
	)
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		applied, anchor = nil, ""
		switch cur, err := tx.GetRate(ctx, in.Asset); {
		case err == nil && cur.Decimals != in.Decimals:
			return newErr(KindUnprocessable, "decimals_fixed", "%s has %d decimals; an asset's decimals never change", in.Asset, cur.Decimals)
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
		a, err := tx.GetSetting(ctx, rateAnchorKey(in.Asset))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		anchor = a
		if a == "" || !inBand(a, in) {
			return nil // beyond the band: a request, filed below
		}
		applied = &store.Rate{Asset: in.Asset, EURPerUnit: in.EURPerUnit, Decimals: in.Decimals, UpdatedAt: s.now()}
		return s.putRateTx(ctx, tx, p.Actor(), applied, false)
	})
	if err != nil {
		return nil, nil, s.storeErr("put rate", err)
	}
	if applied != nil {
		return applied, nil, nil
	}
	v, err := s.requestAction(ctx, p, "rate.set", rateChange{RateInput: in, BaseAnchor: anchor})
	return nil, v, err
}

// rateChange is a rate.set request: the new rate and the anchor it moves
// from. It runs only if the anchor is still the one the approvers saw.
type rateChange struct {
	RateInput
	BaseAnchor string `json:"base_anchor"` // "price/decimals", empty for a new asset
}

func (in *RateInput) normalise(now time.Time) error {
	in.Asset = strings.ToLower(strings.TrimSpace(in.Asset))
	if in.Asset == "" || len(in.Asset) > 32 {
		return newErr(KindInvalid, "invalid_rate", "asset is required (at most 32 characters)")
	}
	if in.Decimals < 0 || in.Decimals > 36 {
		return newErr(KindInvalid, "invalid_rate", "decimals must be between 0 and 36")
	}
	probe := policy.Rate{EURPerUnit: in.EURPerUnit, Decimals: in.Decimals, UpdatedAt: now}
	if _, err := policy.ToEURCents(big.NewInt(1), probe); err != nil || strings.HasPrefix(in.EURPerUnit, "-") {
		return newErr(KindInvalid, "invalid_rate", "eur_per_unit must be a non-negative decimal string")
	}
	if p, ok := new(big.Rat).SetString(in.EURPerUnit); !ok || p.Sign() <= 0 {
		return newErr(KindInvalid, "invalid_rate", "eur_per_unit must be positive")
	}
	return nil
}

// inBand reports whether in keeps the decimals of the anchor ("price/decimals")
// and a price within RateBandPercent of it.
func inBand(anchor string, in RateInput) bool {
	price, dec, ok := strings.Cut(anchor, "/")
	if !ok || dec != fmt.Sprint(in.Decimals) {
		return false
	}
	a, ok1 := new(big.Rat).SetString(price)
	n, ok2 := new(big.Rat).SetString(in.EURPerUnit)
	if !ok1 || !ok2 || a.Sign() <= 0 {
		return false
	}
	// |n - a| * 100 <= a * band
	diff := new(big.Rat).Sub(n, a)
	diff.Abs(diff)
	diff.Mul(diff, big.NewRat(100, 1))
	return diff.Cmp(new(big.Rat).Mul(a, big.NewRat(RateBandPercent, 1))) <= 0
}

// setRate stores a rate; anchor also makes it the new approved anchor.
func (s *Service) setRate(ctx context.Context, actor string, in RateInput, anchor bool) (*store.Rate, error) {
	r := &store.Rate{Asset: in.Asset, EURPerUnit: in.EURPerUnit, Decimals: in.Decimals, UpdatedAt: s.now()}
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		return s.putRateTx(ctx, tx, actor, r, anchor)
	})
	if err != nil {
		return nil, s.storeErr("put rate", err)
	}
	return r, nil
}

func (s *Service) putRateTx(ctx context.Context, tx store.Tx, actor string, r *store.Rate, anchor bool) error {
	if err := tx.PutRate(ctx, r); err != nil {
		return err
	}
	if anchor {
		if err := tx.PutSetting(ctx, rateAnchorKey(r.Asset), r.EURPerUnit+"/"+fmt.Sprint(r.Decimals)); err != nil {
			return err
		}
	}
	return s.record(ctx, tx, event{category: audit.CategoryAdmin, action: "rate.set", actor: actor,
		target: "asset:" + r.Asset, result: audit.ResultSuccess,
		meta: map[string]string{"eur_per_unit": r.EURPerUnit, "decimals": fmt.Sprint(r.Decimals), "anchor": fmt.Sprint(anchor)}})
}

func (s *Service) applyRate(ctx context.Context, tx store.Tx, r *store.Request, params json.RawMessage) (string, error) {
	var rc rateChange
	if err := json.Unmarshal(params, &rc); err != nil {
		return "", internal("decode rate.set", err)
	}
	cur, err := tx.GetSetting(ctx, rateAnchorKey(rc.Asset))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	if cur != rc.BaseAnchor {
		return "", newErr(KindConflict, "anchor_moved", "the approved rate of %s changed since this request was filed; file it again", rc.Asset)
	}
	if old, err := tx.GetRate(ctx, rc.Asset); err == nil && old.Decimals != rc.Decimals {
		return "", newErr(KindUnprocessable, "decimals_fixed", "%s has %d decimals; an asset's decimals never change", rc.Asset, old.Decimals)
	}
	rate := &store.Rate{Asset: rc.Asset, EURPerUnit: rc.EURPerUnit, Decimals: rc.Decimals, UpdatedAt: s.now()}
	return "asset:" + rc.Asset, s.putRateTx(ctx, tx, "system", rate, true)
}

// ListRates lists the EUR rates.
func (s *Service) ListRates(ctx context.Context, p *Principal) ([]*store.Rate, error) {
	if p == nil {
		return nil, ErrUnauthenticated
	}
	return read(ctx, s, "list rates", nil, func(ctx context.Context, tx store.Tx) ([]*store.Rate, error) {
		return tx.ListRates(ctx)
	})
}

// CurrentPolicy returns the policy in force.
func (s *Service) CurrentPolicy(ctx context.Context, p *Principal) (*store.Policy, error) {
	if err := p.require(PermApprovalsRead); err != nil {
		return nil, err
	}
	return read(ctx, s, "get policy", nil, func(ctx context.Context, tx store.Tx) (*store.Policy, error) {
		pol, _, err := s.activePolicy(ctx, tx)
		return pol, err
	})
}

type policyChange struct {
	BaseVersion int64           `json:"base_version"`
	Document    json.RawMessage `json:"document"`
}

// ProposePolicy files a policy.change request for a new policy document.
// The document is validated now and applied when the request is approved,
// only if no other change landed in between.
func (s *Service) ProposePolicy(ctx context.Context, p *Principal, document []byte) (*RequestView, error) {
	if err := p.require(PermPolicyWrite); err != nil {
		return nil, err
	}
	doc, err := policy.Parse(document)
	if err != nil {
		return nil, wrapErr(KindInvalid, "invalid_policy", err.Error(), nil)
	}
	cur, err := s.CurrentPolicy(ctx, p)
	if err != nil {
		return nil, err
	}
	return s.requestAction(ctx, p, "policy.change", policyChange{BaseVersion: cur.Version, Document: doc.Canonical()})
}

// applyPolicy installs an approved policy document and re-binds pending
// requests: their earlier approvals signed the old policy hash and are void.
func (s *Service) applyPolicy(ctx context.Context, tx store.Tx, r *store.Request, params json.RawMessage) (string, error) {
	var pc policyChange
	if err := json.Unmarshal(params, &pc); err != nil {
		return "", internal("decode policy.change", err)
	}
	doc, err := policy.Parse(pc.Document)
	if err != nil {
		return "", wrapErr(KindUnprocessable, "invalid_policy", "the approved policy no longer parses", err)
	}
	h := doc.Hash()
	np := &store.Policy{Version: pc.BaseVersion + 1, Hash: h[:], Document: doc.Canonical(), CreatedBy: r.RequesterID, CreatedAt: s.now()}
	if err := tx.PutPolicy(ctx, np); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return "", newErr(KindConflict, "policy_moved", "another policy change landed first; propose again against version %d", pc.BaseVersion+1)
		}
		return "", err
	}
	pending, err := tx.ListRequests(ctx, store.RequestFilter{Status: store.RequestPending})
	if err != nil {
		return "", err
	}
	for _, pr := range pending {
		req, err := policy.RequirementFor(doc, pr.Action, pr.EURCents)
		if err != nil {
			if err := s.finish(ctx, tx, "system", pr, store.RequestRejected, store.TxRejected, "the new policy has no rule for this action"); err != nil && !errors.Is(err, store.ErrConflict) {
				return "", err
			}
			continue
		}
		pr.PolicyVersion, pr.PolicyHash = np.Version, np.Hash
		pr.Requirement, _ = json.Marshal(quorumOf(req))
		if err := s.rebind(ctx, tx, pr); err != nil && !errors.Is(err, store.ErrConflict) {
			return "", err
		}
		// A request that moved on meanwhile (a vote, an amendment) stays
		// bound to the old policy: its votes are refused and it cannot run.
	}
	if err := s.record(ctx, tx, event{category: audit.CategoryPolicy, action: "policy.change", actor: "system",
		target: fmt.Sprintf("policy:%d", np.Version), result: audit.ResultSuccess,
		meta: map[string]string{"hash": hex.EncodeToString(np.Hash), "request": r.ID, "rebound_requests": fmt.Sprint(len(pending))}}); err != nil {
		return "", err
	}
	return fmt.Sprintf("policy:%d", np.Version), nil
}

// APIKeyInput describes an API key to create.
type APIKeyInput struct {
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

type apiKeyParams struct {
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	Prefix     string     `json:"prefix"`
	SecretHash string     `json:"secret_sha256"`
	Owner      string     `json:"owner"`
}

// CreateAPIKey files an apikey.create request. The key is returned now,
// once, and works when the request is approved (at once if the policy
// needs no approval). Only its prefix and a hash are ever stored.
func (s *Service) CreateAPIKey(ctx context.Context, p *Principal, in APIKeyInput) (auth.APIKeySecret, *RequestView, error) {
	var zero auth.APIKeySecret
	if err := p.require(PermAdmin); err != nil {
		return zero, nil, err
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 64 {
		return zero, nil, newErr(KindInvalid, "invalid_api_key", "name is required (at most 64 characters)")
	}
	if err := auth.ValidateScopes(in.Scopes); err != nil {
		return zero, nil, wrapErr(KindInvalid, "invalid_api_key", err.Error(), nil)
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(s.now()) {
		return zero, nil, newErr(KindInvalid, "invalid_api_key", "expires_at must be in the future")
	}
	key, prefix, hash, err := auth.NewAPIKey(s.rand)
	if err != nil {
		return zero, nil, internal("new api key", err)
	}
	v, err := s.requestAction(ctx, p, "apikey.create", apiKeyParams{Name: in.Name, Scopes: in.Scopes, ExpiresAt: in.ExpiresAt,
		Prefix: prefix, SecretHash: hex.EncodeToString(hash), Owner: p.UserID})
	if err != nil {
		return zero, nil, err
	}
	return key, v, nil
}

func (s *Service) activateAPIKey(ctx context.Context, tx store.Tx, r *store.Request, params json.RawMessage) (string, error) {
	var ap apiKeyParams
	if err := json.Unmarshal(params, &ap); err != nil {
		return "", internal("decode apikey.create", err)
	}
	hash, err := hex.DecodeString(ap.SecretHash)
	if err != nil {
		return "", internal("decode apikey.create", err)
	}
	k := &store.APIKey{ID: s.newID(), Name: ap.Name, Prefix: ap.Prefix, SecretHash: hash, OwnerUserID: ap.Owner,
		Scopes: ap.Scopes, CreatedAt: s.now(), ExpiresAt: ap.ExpiresAt}
	if err := tx.CreateAPIKey(ctx, k); err != nil {
		return "", err
	}
	return "apikey:" + k.ID, s.record(ctx, tx, event{category: audit.CategoryAdmin, action: "apikey.create", actor: "system",
		target: "apikey:" + k.ID, result: audit.ResultSuccess,
		meta: map[string]string{"name": k.Name, "prefix": k.Prefix, "scopes": strings.Join(k.Scopes, " "), "request": r.ID}})
}

// RevokeAPIKey revokes a key at once.
func (s *Service) RevokeAPIKey(ctx context.Context, p *Principal, id string) error {
	if err := p.require(PermAdmin); err != nil {
		return err
	}
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		if err := tx.RevokeAPIKey(ctx, id, s.now()); err != nil {
			return err
		}
		return s.record(ctx, tx, event{category: audit.CategoryAdmin, action: "apikey.revoke", actor: p.Actor(),
			target: "apikey:" + id, result: audit.ResultSuccess})
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return newErr(KindNotFound, "unknown_api_key", "API key %q does not exist", id)
	case errors.Is(err, store.ErrConflict):
		return newErr(KindConflict, "already_revoked", "API key %q is already revoked", id)
	case err != nil:
		return s.storeErr("revoke api key", err)
	}
	return nil
}

// ListAPIKeys lists API keys (never their secrets).
func (s *Service) ListAPIKeys(ctx context.Context, p *Principal) ([]*store.APIKey, error) {
	if err := p.require(PermAdmin); err != nil {
		return nil, err
	}
	return read(ctx, s, "list api keys", nil, func(ctx context.Context, tx store.Tx) ([]*store.APIKey, error) {
		return tx.ListAPIKeys(ctx)
	})
}

// ListAudit returns audit events after seq.
func (s *Service) ListAudit(ctx context.Context, p *Principal, after int64, limit int) ([]*audit.Event, error) {
	if err := p.require(PermAuditRead); err != nil {
		return nil, err
	}
	return read(ctx, s, "list audit", nil, func(ctx context.Context, tx store.Tx) ([]*audit.Event, error) {
		return tx.ListAudit(ctx, after, limit)
	})
}

// ExportAudit writes the whole audit chain to w as JSON lines, reading it
// in pages so memory stays flat. The export itself is recorded first.
func (s *Service) ExportAudit(ctx context.Context, p *Principal, w io.Writer) error {
	if err := p.require(PermAuditRead); err != nil {
		return err
	}
	if err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		return s.record(ctx, tx, event{category: audit.CategoryAdmin, action: "audit.export", actor: p.Actor(),
			target: "audit", result: audit.ResultSuccess})
	}); err != nil {
		return s.storeErr("audit export", err)
	}
	return s.writeAudit(ctx, w)
}

// VerifyAudit verifies the whole audit chain as the store holds it now,
// with the verifier of `custos audit verify` over the export's lines,
// streamed so that memory stays flat whatever the log's length. A break is
// the verifier's error (a *audit.ChainError, or audit.ErrNotExportable).
func (s *Service) VerifyAudit(ctx context.Context, p *Principal) (*audit.Report, error) {
	if err := p.require(PermAuditRead); err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		bw := bufio.NewWriterSize(pw, 64<<10)
		err := s.writeAudit(ctx, bw)
		if ferr := bw.Flush(); err == nil {
			err = ferr
		}
		pw.CloseWithError(err) // nil: the end of the export
	}()
	rep, err := audit.Verify(pr)
	pr.Close() // the verifier stops at the first break: release the writer
	<-done
	return rep, err
}

// writeAudit writes the whole audit chain to w as JSON lines, reading it
// in pages.
func (s *Service) writeAudit(ctx context.Context, w io.Writer) error {
	x := audit.NewExporter(w)
	const page = 2000
	for after := int64(0); ; {
		var evs []*audit.Event
		err := s.store.ReadTx(ctx, func(ctx context.Context, tx store.Tx) error {
			var err error
			evs, err = tx.ListAudit(ctx, after, page)
			return err
		})
		if err != nil {
			return s.storeErr("audit export", err)
		}
		for _, e := range evs {
			if err := x.Write(e); err != nil {
				return err
			}
		}
		if len(evs) < page {
			return nil
		}
		after = evs[len(evs)-1].Seq
	}
}

// Checkpoint is the signed statement of the audit chain head.
type Checkpoint struct {
	Type string    `json:"type"` // "custos.audit.checkpoint.v1"
	Seq  int64     `json:"seq"`
	Head string    `json:"head"` // hex hash of event Seq
	At   time.Time `json:"at"`
}

// AuditCheckpoint signs the current head of the audit chain with the
// decision key. An auditor who keeps checkpoints can prove that a later
// export still contains, unchanged, every event up to each checkpoint: the
// chain hash alone cannot show that a tail was cut or rewritten.
func (s *Service) AuditCheckpoint(ctx context.Context, p *Principal) (*proof.Proof, error) {
	if err := p.require(PermAuditRead); err != nil {
		return nil, err
	}
	return s.checkpoint(ctx)
}

// checkpoint signs the current chain head, for the service itself.
func (s *Service) checkpoint(ctx context.Context) (*proof.Proof, error) {
	seq, hash, err := s.auditHead(ctx)
	if err != nil {
		return nil, err
	}
	pr, err := s.proofs.Sign(Checkpoint{Type: "custos.audit.checkpoint.v1", Seq: seq, Head: hex.EncodeToString(hash), At: s.now().UTC()})
	if err != nil {
		return nil, internal("sign checkpoint", err)
	}
	return pr, nil
}

// PeriodicCheckpoint signs the current chain head, writes the signed
// checkpoint to the log (log shipping keeps copies outside the database,
// where a rewrite of the chain cannot reach them) and records it in the
// chain itself. Replicas may all run it; each checkpoint is valid.
func (s *Service) PeriodicCheckpoint(ctx context.Context) error {
	pr, err := s.checkpoint(ctx)
	if err != nil {
		return err
	}
	cp, err := ParseCheckpoint(pr.Statement)
	if err != nil {
		return err
	}
	raw, _ := json.Marshal(pr)
	s.log.InfoContext(ctx, "audit checkpoint", "seq", cp.Seq, "head", cp.Head, "checkpoint", string(raw))
	return s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		return s.record(ctx, tx, event{category: audit.CategoryAdmin, action: "audit.checkpoint", actor: "system",
			target: fmt.Sprintf("audit:%d", cp.Seq), result: audit.ResultSuccess,
			meta: map[string]string{"seq": fmt.Sprint(cp.Seq), "head": cp.Head, "key_id": pr.KeyID, "signature": pr.Signature,
				"at": cp.At.Format(time.RFC3339Nano)}})
	})
}

// ParseCheckpoint decodes the statement of a verified checkpoint proof.
func ParseCheckpoint(b []byte) (*Checkpoint, error) {
	var c Checkpoint
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	if c.Type != "custos.audit.checkpoint.v1" {
		return nil, errors.New("coordinator: not an audit checkpoint")
	}
	return &c, nil
}
