package coordinator

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/approvals/intent"
	"github.com/custos-dev/custos/approvals/policy"
	"github.com/custos-dev/custos/governance"
	"github.com/custos-dev/custos/store"
)

// Stages at which a decision is made.
const (
	StageSubmission = "submission"
	StagePreSigning = "pre_signing"
)

// Statement is the signed content of a decision proof.
type Statement struct {
	Type          string           `json:"type"` // "custos.decision.v1"
	Stage         string           `json:"stage"`
	TransactionID string           `json:"transaction_id"`
	RequestID     string           `json:"request_id,omitempty"`
	WalletID      string           `json:"wallet_id"`
	Intent        json.RawMessage  `json:"intent"`
	Fingerprint   string           `json:"fingerprint"`
	PolicyVersion int64            `json:"policy_version"`
	PolicyHash    string           `json:"policy_hash"`
	Outcome       string           `json:"outcome"`
	Reasons       []policy.Reason  `json:"reasons"`
	EURCents      int64            `json:"eur_cents"`
	Rate          *StatementRate   `json:"rate,omitempty"`
	Requirement   approvals.Quorum `json:"requirement"`
	Counters      policy.Counters  `json:"counters"`
	DecidedAt     time.Time        `json:"decided_at"`
}

// StatementRate is the EUR rate a decision used.
type StatementRate struct {
	Asset      string    `json:"asset"`
	EURPerUnit string    `json:"eur_per_unit"`
	Decimals   int       `json:"decimals"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// activePolicy loads and parses the policy in force.
func (s *Service) activePolicy(ctx context.Context, tx store.Tx) (*store.Policy, *policy.Document, error) {
	p, err := tx.CurrentPolicy(ctx)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, newErr(KindUnavailable, "no_policy", "no policy is configured; nothing can be approved or signed")
		}
		return nil, nil, err
	}
	key := hex.EncodeToString(p.Hash)
	s.mu.Lock()
	doc := s.policies[key]
	s.mu.Unlock()
	if doc == nil {
		if doc, err = policy.Parse(p.Document); err != nil {
			return nil, nil, wrapErr(KindUnavailable, "policy_invalid", "the stored policy does not parse; nothing is signed", err)
		}
		h := doc.Hash()
		if hex.EncodeToString(h[:]) != key {
			return nil, nil, newErr(KindUnavailable, "policy_invalid", "the stored policy does not match its hash; nothing is signed")
		}
		s.mu.Lock()
		s.policies[key] = doc
		s.mu.Unlock()
	}
	return p, doc, nil
}

// ledger adapts the store's spend ledger for one wallet to policy.Ledger.
// It reads the windows the engine asks about (policy.Windows) and the last
// transfer in one query, and falls back to a query per window otherwise.
type ledger struct {
	ctx    context.Context
	tx     store.Tx
	wallet string
	now    time.Time

	loaded bool
	starts []time.Time
	sums   []store.SpendSum
	last   time.Time
}

func (l *ledger) load() error {
	if l.loaded {
		return nil
	}
	l.starts = policy.Windows(l.now)
	sums, last, err := l.tx.SpendWindows(l.ctx, l.wallet, l.starts)
	if err != nil {
		return err
	}
	l.sums, l.last, l.loaded = sums, last, true
	return nil
}

func (l *ledger) Since(t time.Time) (int64, int64, error) {
	if err := l.load(); err != nil {
		return 0, 0, err
	}
	for i, start := range l.starts {
		if start.Equal(t) {
			return l.sums[i].EURCents, l.sums[i].Count, nil
		}
	}
	return l.tx.SpendSince(l.ctx, l.wallet, t)
}

func (l *ledger) Last() (time.Time, bool, error) {
	if err := l.load(); err != nil {
		return time.Time{}, false, err
	}
	return l.last, !l.last.IsZero(), nil
}

// evaluation is a policy decision with what it was made from.
type evaluation struct {
	decision *policy.Decision
	policy   *store.Policy
	doc      *policy.Document
	rate     *store.Rate
	price    string // the EUR price per unit the transfer was valued at (rate or anchor)
}

// valuation is the EUR price per unit of rate's asset a transfer is valued
// at, as guardians take it; nil without a rate.
func valuation(rate *store.Rate, price string) *governance.Valuation {
	if rate == nil {
		return nil
	}
	return &governance.Valuation{EURPerUnit: price, Decimals: rate.Decimals}
}

// evaluateTransfer runs gate 1 for t inside tx.
func (s *Service) evaluateTransfer(ctx context.Context, tx store.Tx, w *store.Wallet, t *intent.Transfer) (*evaluation, error) {
	pol, doc, err := s.activePolicy(ctx, tx)
	if err != nil {
		return nil, err
	}
	stop := false
	switch v, err := tx.GetSetting(ctx, settingEmergencyStop); {
	case err == nil:
		stop = v == "on"
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	rate, price, err := s.rateOf(ctx, tx, t.Asset)
	if err != nil {
		return nil, err
	}
	var prate *policy.Rate
	if rate != nil {
		prate = &policy.Rate{EURPerUnit: price, Decimals: rate.Decimals, UpdatedAt: rate.UpdatedAt}
	}
	now := s.now()
	d, err := policy.Evaluate(doc, policy.Input{
		Action:        "transfer",
		WalletID:      w.ID,
		Chain:         t.Chain,
		Asset:         t.Asset,
		To:            t.To,
		Amount:        new(big.Int).Set(t.Amount),
		Rate:          prate,
		Ledger:        &ledger{ctx: ctx, tx: tx, wallet: w.ID, now: now},
		Frozen:        w.Frozen,
		EmergencyStop: stop,
		Now:           now,
	})
	if err != nil {
		return nil, wrapErr(KindUnavailable, "policy_unavailable", "the policy could not be evaluated; nothing was done", err)
	}
	return &evaluation{decision: d, policy: pol, doc: doc, rate: rate, price: price}, nil
}

// rateOf returns the EUR rate of asset and the price a transfer of it is
// valued at (valuationPrice); a nil rate if the asset has none.
func (s *Service) rateOf(ctx context.Context, tx store.Tx, asset string) (*store.Rate, string, error) {
	r, err := tx.GetRate(ctx, asset)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	price, err := s.valuationPrice(ctx, tx, r)
	if err != nil {
		return nil, "", err
	}
	return r, price, nil
}

// valuationPrice is the EUR price a transfer is valued at: the higher of
// the current rate and the approved anchor. Rate moves inside the band
// need no approval, so they may only make a decision stricter, never move
// a transfer into a lower tier or under a limit.
func (s *Service) valuationPrice(ctx context.Context, tx store.Tx, r *store.Rate) (string, error) {
	anchor, err := tx.GetSetting(ctx, rateAnchorKey(r.Asset))
	if errors.Is(err, store.ErrNotFound) {
		return r.EURPerUnit, nil
	}
	if err != nil {
		return "", err
	}
	price, dec, _ := strings.Cut(anchor, "/")
	if dec != strconv.Itoa(r.Decimals) {
		return r.EURPerUnit, nil
	}
	a, ok1 := new(big.Rat).SetString(price)
	c, ok2 := new(big.Rat).SetString(r.EURPerUnit)
	if ok1 && ok2 && a.Cmp(c) > 0 {
		return price, nil
	}
	return r.EURPerUnit, nil
}

func quorumOf(r policy.Requirement) approvals.Quorum {
	return approvals.Quorum{Approvals: r.Approvals, Roles: r.Roles, RejectionsToDeny: r.RejectionsToDeny}
}

// prove signs the statement of a decision.
func (s *Service) prove(stage string, t *store.Transaction, ev *evaluation) ([]byte, error) {
	st := Statement{
		Type:          "custos.decision.v1",
		Stage:         stage,
		TransactionID: t.ID,
		RequestID:     t.RequestID,
		WalletID:      t.WalletID,
		Intent:        json.RawMessage(t.Intent),
		Fingerprint:   hex.EncodeToString(t.Fingerprint),
		PolicyVersion: ev.policy.Version,
		PolicyHash:    hex.EncodeToString(ev.policy.Hash),
		Outcome:       ev.decision.Outcome,
		Reasons:       ev.decision.Reasons,
		EURCents:      ev.decision.EURCents,
		Requirement:   quorumOf(ev.decision.Requirement),
		Counters:      ev.decision.Counters,
		DecidedAt:     s.now().UTC(),
	}
	if st.Reasons == nil {
		st.Reasons = []policy.Reason{}
	}
	if ev.rate != nil {
		st.Rate = &StatementRate{Asset: ev.rate.Asset, EURPerUnit: ev.rate.EURPerUnit, Decimals: ev.rate.Decimals, UpdatedAt: ev.rate.UpdatedAt.UTC()}
	}
	p, err := s.proofs.Sign(st)
	if err != nil {
		return nil, err
	}
	return json.Marshal(p)
}

// ParseStatement decodes the statement of a verified proof.
func ParseStatement(b []byte) (*Statement, error) {
	var st Statement
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, err
	}
	if st.Type != "custos.decision.v1" {
		return nil, errors.New("coordinator: not a decision statement")
	}
	return &st, nil
}

// CheckFingerprint checks that the statement's intent hashes to its
// fingerprint.
func (st *Statement) CheckFingerprint() error {
	fp := intent.Fingerprint(st.Intent)
	if hex.EncodeToString(fp[:]) != st.Fingerprint {
		return errors.New("the intent in the statement does not hash to its fingerprint")
	}
	return nil
}
