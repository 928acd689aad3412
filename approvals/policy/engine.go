package policy

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Outcomes of a Decision.
const (
	OutcomeDeny             = "deny"
	OutcomeAllow            = "allow"             // no approval needed
	OutcomeApprovalRequired = "approval_required" // see Decision.Requirement
)

// Reason codes.
const (
	ReasonEmergencyStop          = "emergency_stop"
	ReasonWalletFrozen           = "wallet_frozen"
	ReasonNoPolicy               = "no_policy"
	ReasonRateMissing            = "rate_missing"
	ReasonRateStale              = "rate_stale"
	ReasonPerTransactionCap      = "per_transaction_cap"
	ReasonDailyLimit             = "daily_limit"
	ReasonWeeklyLimit            = "weekly_limit"
	ReasonMonthlyLimit           = "monthly_limit"
	ReasonHourlyVelocity         = "hourly_velocity"
	ReasonDailyVelocity          = "daily_velocity"
	ReasonCooldown               = "cooldown"
	ReasonOutsideAllowedHours    = "outside_allowed_hours"
	ReasonOutsideAllowedWeekdays = "outside_allowed_weekdays"
	ReasonNotAllowlisted         = "destination_not_allowlisted"
	ReasonAllowlistEntryExpired  = "allowlist_entry_expired"
)

// Rolling windows.
const (
	hour  = time.Hour
	day   = 24 * time.Hour
	week  = 7 * day
	month = 30 * day
)

// Windows returns the starts of the rolling windows Evaluate asks its
// Ledger about for a decision at now (1 hour, 24 hours, 7 and 30 days), so
// that a Ledger backed by a database can fetch them in one read.
func Windows(now time.Time) []time.Time {
	return []time.Time{now.Add(-hour), now.Add(-day), now.Add(-week), now.Add(-month)}
}

// Input is one request to decide on.
type Input struct {
	// Action: ActionTransfer gets the spending rules and a tier; any other
	// action only a tier (by EUR value, 0 when Amount is nil or zero).
	Action   string
	WalletID string // transfer: required; selects the spending rules
	Chain    string // transfer: required; allowlist lookup
	Asset    string // informational (messages)
	To       string // transfer: required; allowlist lookup
	// Amount in base units: > 0 for a transfer; nil or >= 0 otherwise.
	Amount *big.Int
	// Rate values Amount. nil => deny "rate_missing"; more than the
	// document's rate_max_age away from Now => deny "rate_stale". Not
	// needed when there is nothing to value (non-transfer, no amount).
	Rate *Rate
	// Ledger is this wallet's counted transfers (transfer: required). It
	// must not already contain the transfer being decided.
	Ledger        Ledger
	Frozen        bool // wallet frozen => deny "wallet_frozen" (transfer only)
	EmergencyStop bool // global stop => deny "emergency_stop" (transfer only)
	Now           time.Time
}

// Reason is one violated rule.
type Reason struct {
	Code    string `json:"code"`
	Message string `json:"message"` // a human sentence with the figures
}

// Requirement is what an approval request must collect. JSON:
//
//	{"tier":0,"approvals":1,"roles":{"treasury_manager":1},"expiry":"24h0m0s","rejections_to_deny":1}
//
// ("roles" is {} when no role is required, "expiry" is a Go duration string.)
type Requirement struct {
	Tier             int            // index into the action's tiers
	Approvals        int            // distinct approvers; 0 = none needed
	Roles            map[string]int // role -> minimum number among the approvers; nil if none
	Expiry           time.Duration  // the request expires this long after it is created
	RejectionsToDeny int            // this many rejections end the request
}

// Covers reports whether approvals collected under r also satisfy other,
// so that a re-check (a rate move, a changed policy) needs no new
// approvals. It holds when r needs at least as many approvers as other, at
// least as many of every role other names, denies on no more rejections
// than other (r.RejectionsToDeny <= other.RejectionsToDeny) and expires no
// later (r.Expiry <= other.Expiry). The tier index is not compared.
func (r Requirement) Covers(other Requirement) bool {
	if r.Approvals < other.Approvals || r.RejectionsToDeny > other.RejectionsToDeny || r.Expiry > other.Expiry {
		return false
	}
	for role, n := range other.Roles {
		if r.Roles[role] < n {
			return false
		}
	}
	return true
}

type requirementJSON struct {
	Tier             int            `json:"tier"`
	Approvals        int            `json:"approvals"`
	Roles            map[string]int `json:"roles"`
	Expiry           string         `json:"expiry"`
	RejectionsToDeny int            `json:"rejections_to_deny"`
}

// MarshalJSON writes the shape documented on Requirement.
func (r Requirement) MarshalJSON() ([]byte, error) {
	roles := r.Roles
	if roles == nil {
		roles = map[string]int{}
	}
	return json.Marshal(requirementJSON{r.Tier, r.Approvals, roles, r.Expiry.String(), r.RejectionsToDeny})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *Requirement) UnmarshalJSON(b []byte) error {
	var j requirementJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("policy: requirement: %w", err)
	}
	exp, err := time.ParseDuration(j.Expiry)
	if err != nil {
		return fmt.Errorf("policy: requirement: expiry: %w", err)
	}
	if len(j.Roles) == 0 {
		j.Roles = nil
	}
	*r = Requirement{j.Tier, j.Approvals, j.Roles, exp, j.RejectionsToDeny}
	return nil
}

// Counters are the wallet's rolling figures before the transfer being
// decided (all zero, remaining null, for other actions). A nil Remaining*
// pointer (JSON null) means the rule is absent: unlimited. Remaining values
// never go below 0.
type Counters struct {
	SpentTodayEURCents int64 `json:"spent_today_eur_cents"` // rolling 24h
	SpentWeekEURCents  int64 `json:"spent_week_eur_cents"`  // rolling 7x24h
	SpentMonthEURCents int64 `json:"spent_month_eur_cents"` // rolling 30x24h
	CountLastHour      int64 `json:"count_last_hour"`
	CountLastDay       int64 `json:"count_last_day"`

	RemainingDailyEURCents   *int64 `json:"remaining_daily_eur_cents"`
	RemainingWeeklyEURCents  *int64 `json:"remaining_weekly_eur_cents"`
	RemainingMonthlyEURCents *int64 `json:"remaining_monthly_eur_cents"`
	RemainingHourlyCount     *int64 `json:"remaining_hourly_count"`
	RemainingDailyCount      *int64 `json:"remaining_daily_count"`

	LastTransferAt *time.Time `json:"last_transfer_at"` // UTC; null if none
	NextAllowedAt  *time.Time `json:"next_allowed_at"`  // last + cooldown, UTC; null without cooldown or previous transfer
}

// Decision is the policy engine's answer. JSON:
//
//	{"outcome":"approval_required","reasons":[],"eur_cents":250000,
//	 "requirement":{...},"counters":{...},"policy_hash":"<64 hex>"}
type Decision struct {
	Outcome string   // OutcomeDeny, OutcomeAllow or OutcomeApprovalRequired
	Reasons []Reason // every violated rule, in a fixed order; empty unless denied
	// EURCents is the value of Amount (0 when the rate is missing or stale).
	EURCents int64
	// Requirement is the tier for EURCents; zero when the action has no
	// policy or the value is unknown. Filled for a deny too, for display:
	// only Outcome decides.
	Requirement Requirement
	Counters    Counters
	PolicyHash  [32]byte // Hash() of the document that decided
}

type decisionJSON struct {
	Outcome     string      `json:"outcome"`
	Reasons     []Reason    `json:"reasons"`
	EURCents    int64       `json:"eur_cents"`
	Requirement Requirement `json:"requirement"`
	Counters    Counters    `json:"counters"`
	PolicyHash  string      `json:"policy_hash"`
}

// MarshalJSON writes the shape documented on Decision (policy_hash in hex).
func (d Decision) MarshalJSON() ([]byte, error) {
	reasons := d.Reasons
	if reasons == nil {
		reasons = []Reason{}
	}
	return json.Marshal(decisionJSON{d.Outcome, reasons, d.EURCents, d.Requirement, d.Counters, hex.EncodeToString(d.PolicyHash[:])})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (d *Decision) UnmarshalJSON(b []byte) error {
	var j decisionJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("policy: decision: %w", err)
	}
	h, err := hex.DecodeString(j.PolicyHash)
	if err != nil || len(h) != 32 {
		return fmt.Errorf("policy: decision: policy_hash must be 64 hex digits")
	}
	*d = Decision{Outcome: j.Outcome, Reasons: j.Reasons, EURCents: j.EURCents, Requirement: j.Requirement, Counters: j.Counters}
	copy(d.PolicyHash[:], h)
	return nil
}

// RequirementFor returns the approvals an action of the given EUR value
// needs under doc: the first tier whose up_to_eur is >= eurCents (bounds
// are inclusive), else the last tier. It fails with ErrNoPolicy when doc has
// no entry for the action, and ErrInvalidInput for a nil doc or a negative
// value. Use it for non-transfer actions and to re-check a transfer before
// signing (a rate move can push it into a higher tier; compare with
// Requirement.Covers).
func RequirementFor(doc *Document, action string, eurCents int64) (Requirement, error) {
	if doc == nil || doc.d == nil {
		return Requirement{}, fmt.Errorf("%w: nil document", ErrInvalidInput)
	}
	if eurCents < 0 {
		return Requirement{}, fmt.Errorf("%w: negative EUR value", ErrInvalidInput)
	}
	a, ok := doc.d.Actions[action]
	if !ok {
		return Requirement{}, fmt.Errorf("%w %q", ErrNoPolicy, action)
	}
	return a.requirement(eurCents), nil
}

func (a *actionPolicy) requirement(eurCents int64) Requirement {
	i := len(a.Tiers) - 1
	for j, t := range a.Tiers {
		if t.UpToEUR == nil || eurCents <= int64(*t.UpToEUR) {
			i = j
			break
		}
	}
	t := a.Tiers[i]
	var roles map[string]int
	if len(t.Roles) > 0 {
		roles = make(map[string]int, len(t.Roles))
		for k, v := range t.Roles {
			roles[k] = v
		}
	}
	return Requirement{Tier: i, Approvals: t.Approvals, Roles: roles, Expiry: time.Duration(a.Expiry), RejectionsToDeny: a.RejectionsToDeny}
}

func validateInput(in *Input) error {
	switch {
	case in.Action == "":
		return fmt.Errorf("%w: empty action", ErrInvalidInput)
	case in.Now.IsZero():
		return fmt.Errorf("%w: zero Now", ErrInvalidInput)
	case in.Amount != nil && in.Amount.Sign() < 0:
		return fmt.Errorf("%w: negative amount", ErrInvalidInput)
	}
	if in.Action != ActionTransfer {
		return nil
	}
	switch {
	case in.Amount == nil || in.Amount.Sign() == 0:
		return fmt.Errorf("%w: transfer amount must be > 0", ErrInvalidInput)
	case in.WalletID == "":
		return fmt.Errorf("%w: transfer without wallet id", ErrInvalidInput)
	case in.Chain == "" || in.To == "":
		return fmt.Errorf("%w: transfer without chain or destination", ErrInvalidInput)
	case in.Ledger == nil:
		return fmt.Errorf("%w: transfer without ledger", ErrInvalidInput)
	}
	return nil
}

// Evaluate decides on one request under doc. It returns a Decision
// (deny, allow or approval_required) with every violated rule, or an error
// (ErrInvalidInput, ErrInvalidRate, ErrOverflow, ErrLedger) when it cannot
// decide; an error must be treated as a deny. It never reads the clock:
// in.Now is the time of the decision.
func Evaluate(doc *Document, in Input) (*Decision, error) {
	if doc == nil || doc.d == nil {
		return nil, fmt.Errorf("%w: nil document", ErrInvalidInput)
	}
	if err := validateInput(&in); err != nil {
		return nil, err
	}
	now := in.Now.Round(0) // wall clock only
	transfer := in.Action == ActionTransfer
	dec := &Decision{Reasons: []Reason{}, PolicyHash: doc.hash}

	if transfer && in.EmergencyStop {
		dec.add(ReasonEmergencyStop, "the emergency stop is active: all transfers are halted")
	}
	if transfer && in.Frozen {
		dec.add(ReasonWalletFrozen, fmt.Sprintf("wallet %q is frozen", in.WalletID))
	}
	act, hasPolicy := doc.d.Actions[in.Action]
	if !hasPolicy {
		dec.add(ReasonNoPolicy, fmt.Sprintf("there is no policy for action %q, so it is denied", in.Action))
	}

	valued := true
	if in.Amount != nil && in.Amount.Sign() > 0 {
		maxAge := time.Duration(doc.d.RateMaxAge)
		switch {
		case in.Rate == nil:
			valued = false
			dec.add(ReasonRateMissing, fmt.Sprintf("no EUR rate is known for %s, so the amount cannot be valued", assetName(&in)))
		case now.Sub(in.Rate.UpdatedAt) > maxAge || in.Rate.UpdatedAt.Sub(now) > maxAge:
			valued = false
			dec.add(ReasonRateStale, staleMessage(&in, now, maxAge))
		default:
			c, err := ToEURCents(in.Amount, *in.Rate)
			if err != nil {
				return nil, err
			}
			dec.EURCents = c
		}
	}

	if transfer {
		if err := evaluateSpending(doc, &in, now, valued, dec); err != nil {
			return nil, err
		}
	}
	if hasPolicy && valued {
		dec.Requirement = act.requirement(dec.EURCents)
	}
	switch {
	case len(dec.Reasons) > 0:
		dec.Outcome = OutcomeDeny
	case dec.Requirement.Approvals == 0:
		dec.Outcome = OutcomeAllow
	default:
		dec.Outcome = OutcomeApprovalRequired
	}
	return dec, nil
}

func (d *Decision) add(code, msg string) {
	d.Reasons = append(d.Reasons, Reason{Code: code, Message: msg})
}

func assetName(in *Input) string {
	switch {
	case in.Asset != "" && in.Chain != "":
		return fmt.Sprintf("%s on %s", in.Asset, in.Chain)
	case in.Asset != "":
		return in.Asset
	}
	return "the asset"
}

func staleMessage(in *Input, now time.Time, maxAge time.Duration) string {
	if in.Rate.UpdatedAt.IsZero() {
		return fmt.Sprintf("the EUR rate for %s has no update time", assetName(in))
	}
	age := now.Sub(in.Rate.UpdatedAt)
	if age < 0 {
		return fmt.Sprintf("the EUR rate for %s is dated %s in the future, more than the %s allowed", assetName(in), (-age).Round(time.Second), maxAge)
	}
	return fmt.Sprintf("the EUR rate for %s is %s old, older than the %s allowed", assetName(in), age.Round(time.Second), maxAge)
}

// ledgerSince queries the ledger and refuses impossible answers.
func ledgerSince(l Ledger, t time.Time) (int64, int64, error) {
	c, n, err := l.Since(t)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %w", ErrLedger, err)
	}
	if c < 0 || n < 0 {
		return 0, 0, fmt.Errorf("%w: negative sum or count", ErrLedger)
	}
	return c, n, nil
}

// exceeds reports whether spent+amount > limit without overflowing
// (all three non-negative).
func exceeds(spent, amount, limit int64) bool {
	return spent > limit || amount > limit-spent
}

func remaining(limit, used int64) *int64 {
	r := max(limit-used, 0)
	return &r
}

func evaluateSpending(doc *Document, in *Input, now time.Time, valued bool, dec *Decision) error {
	rules := doc.d.Spending[in.WalletID]
	if rules == nil {
		rules = doc.d.Spending[DefaultWallet]
	}

	// Counters, before this transfer.
	var err error
	c := &dec.Counters
	if _, c.CountLastHour, err = ledgerSince(in.Ledger, now.Add(-hour)); err != nil {
		return err
	}
	if c.SpentTodayEURCents, c.CountLastDay, err = ledgerSince(in.Ledger, now.Add(-day)); err != nil {
		return err
	}
	if c.SpentWeekEURCents, _, err = ledgerSince(in.Ledger, now.Add(-week)); err != nil {
		return err
	}
	if c.SpentMonthEURCents, _, err = ledgerSince(in.Ledger, now.Add(-month)); err != nil {
		return err
	}
	last, hasLast, err := in.Ledger.Last()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrLedger, err)
	}
	if hasLast {
		l := last.UTC()
		c.LastTransferAt = &l
	}
	if rules == nil {
		return nil
	}

	amount := dec.EURCents
	if rules.PerTransactionEUR != nil && valued {
		if limit := int64(*rules.PerTransactionEUR); amount > limit {
			dec.add(ReasonPerTransactionCap, fmt.Sprintf("the per-transaction cap of EUR %s would be exceeded: this transfer is EUR %s",
				FormatEURCents(limit), FormatEURCents(amount)))
		}
	}
	windows := [...]struct {
		limit  *eurAmount
		spent  int64
		remain **int64
		code   string
		name   string
		period string
	}{
		{rules.DailyEUR, c.SpentTodayEURCents, &c.RemainingDailyEURCents, ReasonDailyLimit, "daily", "24h"},
		{rules.WeeklyEUR, c.SpentWeekEURCents, &c.RemainingWeeklyEURCents, ReasonWeeklyLimit, "weekly", "7 days"},
		{rules.MonthlyEUR, c.SpentMonthEURCents, &c.RemainingMonthlyEURCents, ReasonMonthlyLimit, "monthly", "30 days"},
	}
	for _, w := range windows {
		if w.limit == nil {
			continue
		}
		limit := int64(*w.limit)
		*w.remain = remaining(limit, w.spent)
		if valued && exceeds(w.spent, amount, limit) {
			dec.add(w.code, fmt.Sprintf("the %s limit of EUR %s would be exceeded: spent EUR %s in the last %s, this transfer EUR %s",
				w.name, FormatEURCents(limit), FormatEURCents(w.spent), w.period, FormatEURCents(amount)))
		}
	}
	if rules.MaxPerHour != nil {
		limit := *rules.MaxPerHour
		c.RemainingHourlyCount = remaining(limit, c.CountLastHour)
		if c.CountLastHour >= limit {
			dec.add(ReasonHourlyVelocity, fmt.Sprintf("the limit of %d transfers per hour would be exceeded: %d transfers in the last hour", limit, c.CountLastHour))
		}
	}
	if rules.MaxPerDay != nil {
		limit := *rules.MaxPerDay
		c.RemainingDailyCount = remaining(limit, c.CountLastDay)
		if c.CountLastDay >= limit {
			dec.add(ReasonDailyVelocity, fmt.Sprintf("the limit of %d transfers per day would be exceeded: %d transfers in the last 24h", limit, c.CountLastDay))
		}
	}
	if rules.Cooldown != nil && hasLast {
		cd := time.Duration(*rules.Cooldown)
		next := last.Add(cd).UTC()
		c.NextAllowedAt = &next
		if now.Before(next) {
			dec.add(ReasonCooldown, fmt.Sprintf("the cooldown of %s since the previous transfer has not elapsed: last transfer at %s, next allowed at %s",
				cd, last.UTC().Format(time.RFC3339), next.Format(time.RFC3339)))
		}
	}
	if rules.AllowedHours != nil || rules.AllowedWeekdays != nil {
		local := now.In(doc.loc)
		if h := rules.AllowedHours; h != nil && !h.allows(local.Hour()) {
			dec.add(ReasonOutsideAllowedHours, fmt.Sprintf("transfers are allowed from %02d:00 to %02d:00 (%s); it is %s",
				h.From, h.To, doc.d.Timezone, local.Format("15:04 on Monday 2006-01-02")))
		}
		if rules.AllowedWeekdays != nil && rules.weekdays&(1<<local.Weekday()) == 0 {
			dec.add(ReasonOutsideAllowedWeekdays, fmt.Sprintf("transfers are allowed on %s (%s); it is %s",
				strings.Join(rules.AllowedWeekdays, ", "), doc.d.Timezone, local.Format("Monday 2006-01-02 15:04")))
		}
	}
	if rules.Allowlist != nil {
		e, listed := rules.allow[allowKey{strings.ToLower(in.Chain), strings.ToLower(in.To)}]
		switch {
		case !listed:
			dec.add(ReasonNotAllowlisted, fmt.Sprintf("destination %q on %q is not on the wallet's allowlist", in.To, in.Chain))
		case e.ExpiresAt != nil && !now.Before(time.Time(*e.ExpiresAt)):
			label := ""
			if e.Label != "" {
				label = fmt.Sprintf(" (%q)", e.Label)
			}
			dec.add(ReasonAllowlistEntryExpired, fmt.Sprintf("the allowlist entry%s for %q on %q expired at %s",
				label, e.Address, e.Chain, time.Time(*e.ExpiresAt).UTC().Format(time.RFC3339)))
		}
	}
	return nil
}
