package webui

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custos-dev/custos/approvals/intent"
	"github.com/custos-dev/custos/approvals/policy"
	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/store"
	"github.com/labstack/echo/v4"
)

// canonicalPolicy is the policy document in its canonical JSON form (see
// approvals/policy), read for the summary. Only documents that
// policy.Parse accepted are read with it.
type canonicalPolicy struct {
	Timezone   string                       `json:"timezone"`
	RateMaxAge string                       `json:"rate_max_age"`
	Actions    map[string]canonicalAction   `json:"actions"`
	Spending   map[string]canonicalSpending `json:"spending"`
}

type canonicalAction struct {
	Expiry           string `json:"expiry"`
	RejectionsToDeny int    `json:"rejections_to_deny"`
}

type canonicalSpending struct {
	PerTransactionEUR *string `json:"per_transaction_eur"`
	DailyEUR          *string `json:"daily_eur"`
	WeeklyEUR         *string `json:"weekly_eur"`
	MonthlyEUR        *string `json:"monthly_eur"`
	MaxPerHour        *int64  `json:"max_per_hour"`
	MaxPerDay         *int64  `json:"max_per_day"`
	Cooldown          *string `json:"cooldown"`
	AllowedHours      *struct {
		From int `json:"from"`
		To   int `json:"to"`
	} `json:"allowed_hours"`
	AllowedWeekdays []string        `json:"allowed_weekdays"`
	Allowlist       *[]allowedEntry `json:"allowlist"`
}

type allowedEntry struct {
	Chain     string `json:"chain"`
	Address   string `json:"address"`
	Label     string `json:"label"`
	ExpiresAt string `json:"expires_at"`
}

// policySummary is a policy document in words.
type policySummary struct {
	Timezone, RateMaxAge string
	Actions              []actionSummary
	Spending             []spendingSummary
}

type actionSummary struct {
	Name, Expiry     string
	RejectionsToDeny int
	Tiers            []tierSummary
}

type tierSummary struct{ Range, Need string }

type spendingSummary struct {
	Wallet     string // "*" is every wallet without rules of its own
	Limits     []fact
	Restricted bool // only the Allowlist's destinations (maybe none)
	Allowlist  []allowedEntry
}

type fact struct{ Label, Value string }

// summarise puts a policy document into words.
func summarise(pd *policy.Document) (policySummary, error) {
	var doc canonicalPolicy
	if err := json.Unmarshal(pd.Canonical(), &doc); err != nil {
		return policySummary{}, fmt.Errorf("webui: read policy document: %w", err)
	}
	s := policySummary{Timezone: doc.Timezone, RateMaxAge: shortDuration(doc.RateMaxAge)}
	for _, name := range sortedKeys(doc.Actions) {
		a := doc.Actions[name]
		s.Actions = append(s.Actions, actionSummary{Name: name, Expiry: shortDuration(a.Expiry), RejectionsToDeny: a.RejectionsToDeny,
			Tiers: tierSummaries(pd.Tiers(name))})
	}
	for _, wallet := range sortedKeys(doc.Spending) {
		r := doc.Spending[wallet]
		ss := spendingSummary{Wallet: wallet}
		if r.Allowlist != nil {
			ss.Restricted, ss.Allowlist = true, *r.Allowlist
		}
		add := func(label, value string) { ss.Limits = append(ss.Limits, fact{label, value}) }
		for _, l := range []struct {
			label string
			v     *string
		}{{"Per transfer", r.PerTransactionEUR}, {"Per 24 hours", r.DailyEUR}, {"Per 7 days", r.WeeklyEUR}, {"Per 30 days", r.MonthlyEUR}} {
			if l.v != nil {
				add(l.label, eurText(*l.v))
			}
		}
		if r.MaxPerHour != nil {
			add("Transfers per hour", strconv.FormatInt(*r.MaxPerHour, 10))
		}
		if r.MaxPerDay != nil {
			add("Transfers per 24 hours", strconv.FormatInt(*r.MaxPerDay, 10))
		}
		if r.Cooldown != nil {
			add("Time between transfers", "at least "+shortDuration(*r.Cooldown))
		}
		if h := r.AllowedHours; h != nil {
			add("Hours", fmt.Sprintf("%02d:00 to %02d:00 (%s)", h.From, h.To, doc.Timezone))
		}
		if r.AllowedWeekdays != nil {
			add("Days", strings.Join(r.AllowedWeekdays, ", "))
		}
		s.Spending = append(s.Spending, ss)
	}
	return s, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// tierSummaries puts an action's approval tiers into words: the EUR range
// of each and what it needs.
func tierSummaries(tiers []policy.Tier) []tierSummary {
	out := make([]tierSummary, len(tiers))
	var prev *int64
	for i, t := range tiers {
		switch {
		case t.UpToEURCents != nil && prev == nil:
			out[i].Range = "Up to EUR " + policy.FormatEURCents(*t.UpToEURCents)
		case t.UpToEURCents != nil:
			out[i].Range = "Above EUR " + policy.FormatEURCents(*prev) + ", up to EUR " + policy.FormatEURCents(*t.UpToEURCents)
		case prev != nil:
			out[i].Range = "Above EUR " + policy.FormatEURCents(*prev)
		default:
			out[i].Range = "Any amount"
		}
		out[i].Need = need(t.Approvals, t.Roles)
		if t.UpToEURCents != nil {
			prev = t.UpToEURCents
		}
	}
	return out
}

// need says what a tier requires: "2 approvals, at least 1 by a
// treasury_manager".
func need(approvals int, roles map[string]int) string {
	if approvals == 0 {
		return "No approval needed"
	}
	out := plural(approvals, "approval")
	for _, r := range sortedKeys(roles) {
		out += fmt.Sprintf(", at least %d by a %s", roles[r], r)
	}
	return out
}

// eurText formats a canonical amount ("10000.00") as "EUR 10,000.00".
func eurText(amount string) string {
	c, err := policy.ParseEURCents(amount)
	if err != nil {
		return "EUR " + amount
	}
	return "EUR " + policy.FormatEURCents(c)
}

// shortDuration writes a canonical duration without its trailing zero
// units: "24h0m0s" as "24h", "1h30m0s" as "1h30m".
func shortDuration(s string) string {
	if t, ok := strings.CutSuffix(s, "m0s"); ok {
		s = t + "m"
		if t, ok := strings.CutSuffix(s, "h0m"); ok {
			s = t + "h"
		}
	}
	return s
}

// prettyJSON indents JSON by two spaces.
func prettyJSON(b []byte) (string, error) {
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		return "", fmt.Errorf("webui: indent policy document: %w", err)
	}
	buf.WriteByte('\n')
	return buf.String(), nil
}

// policyChangeParams are the parameters of a policy.change request.
type policyChangeParams struct {
	BaseVersion int64           `json:"base_version"`
	Document    json.RawMessage `json:"document"`
}

func policyChangeOf(r *store.Request) (policyChangeParams, error) {
	var pc policyChangeParams
	a, err := intent.ParseAction(r.Payload, policy.ActionPolicyChange)
	if err != nil {
		return pc, err
	}
	if err := json.Unmarshal(a.Params, &pc); err != nil {
		return pc, fmt.Errorf("webui: decode policy.change: %w", err)
	}
	return pc, nil
}

// ---- the policy page ----

type rateRow struct {
	*store.Rate
	Stale bool // older than the policy's rate_max_age: transfers in it are refused
}

type policiesData struct {
	Version     int64
	Hash        string
	InstalledAt time.Time
	InstalledBy string // a user's name, or "bootstrap"
	RequestID   string // the policy.change request that installed it, if known
	Summary     policySummary
	Document    string
	Rates       []rateRow
	CanPropose  bool
}

// policies shows the policy in force, summarised and in full, and the
// EUR rates it values transfers with.
func (u *UI) policies(c echo.Context) error {
	ctx, p := c.Request().Context(), principal(c)
	pol, err := u.svc.CurrentPolicy(ctx, p)
	if err != nil {
		return err
	}
	doc, err := policy.Parse(pol.Document)
	if err != nil {
		return fmt.Errorf("webui: the policy in force does not parse: %w", err)
	}
	d := policiesData{Version: pol.Version, Hash: hex.EncodeToString(pol.Hash), InstalledAt: pol.CreatedAt,
		InstalledBy: pol.CreatedBy, CanPropose: p.Can(coordinator.PermPolicyWrite)}
	if d.Summary, err = summarise(doc); err != nil {
		return err
	}
	if d.Document, err = prettyJSON(pol.Document); err != nil {
		return err
	}
	users, err := u.svc.ListUsers(ctx, p)
	if err != nil {
		return err
	}
	for _, usr := range users {
		if usr.ID == pol.CreatedBy {
			d.InstalledBy = usr.Name
		}
	}
	if pol.Version > 1 {
		done, err := u.svc.ListRequests(ctx, p, store.RequestFilter{Action: policy.ActionPolicyChange, Status: store.RequestExecuted})
		if err != nil {
			return err
		}
		for _, r := range done {
			if pc, err := policyChangeOf(r); err == nil && pc.BaseVersion == pol.Version-1 {
				d.RequestID = r.ID
			}
		}
	}
	rates, err := u.svc.ListRates(ctx, p)
	if err != nil {
		return err
	}
	for _, r := range rates {
		d.Rates = append(d.Rates, rateRow{Rate: r, Stale: time.Since(r.UpdatedAt) > doc.RateMaxAge()})
	}
	return u.render(c, http.StatusOK, "policies", "Policy", d)
}

// ---- proposing a change ----

type policyEditData struct {
	Document    string
	BaseVersion int64 // the version the text was edited from
	Error       string
}

// policyEdit shows the policy in force, pretty-printed, to edit.
func (u *UI) policyEdit(c echo.Context) error {
	p := principal(c)
	if !p.Can(coordinator.PermPolicyWrite) {
		return u.status(c, http.StatusForbidden, "Your role does not propose policy changes.")
	}
	pol, err := u.svc.CurrentPolicy(c.Request().Context(), p)
	if err != nil {
		return err
	}
	text, err := prettyJSON(pol.Document)
	if err != nil {
		return err
	}
	return u.render(c, http.StatusOK, "policy-edit", "Propose a policy change", policyEditData{Document: text, BaseVersion: pol.Version})
}

// proposePolicy files a policy.change request for the edited document.
// A document that does not parse, that changes nothing, or that was
// edited from a policy since replaced is shown again with the text kept,
// and nothing is filed.
func (u *UI) proposePolicy(c echo.Context) error {
	ctx, p := c.Request().Context(), principal(c)
	d := policyEditData{Document: c.FormValue("document")}
	d.BaseVersion, _ = strconv.ParseInt(c.FormValue("base_version"), 10, 64)
	again := func(status int, msg string) error {
		d.Error = msg
		return u.render(c, status, "policy-edit", "Propose a policy change", d)
	}
	cur, err := u.svc.CurrentPolicy(ctx, p)
	if err != nil {
		return err
	}
	if cur.Version != d.BaseVersion {
		d.BaseVersion = cur.Version
		return again(http.StatusConflict, fmt.Sprintf("The policy changed while you were editing (it is now version %d). Your text is kept below: compare it with the policy in force before you propose it again.", cur.Version))
	}
	doc, err := policy.Parse([]byte(d.Document))
	if err != nil {
		var fe *policy.FieldError
		if !errors.As(err, &fe) {
			return err
		}
		where := ""
		if fe.Path != "" {
			where = fe.Path + ": "
		}
		return again(http.StatusUnprocessableEntity, "The document is not valid: "+where+fe.Msg+".")
	}
	if bytes.Equal(doc.Canonical(), cur.Document) {
		return again(http.StatusUnprocessableEntity, "The document is the policy in force: there is no change to propose.")
	}
	v, err := u.svc.ProposePolicy(ctx, p, doc.Canonical())
	if err != nil {
		status, msg, ok := refusal(err)
		if !ok {
			return err
		}
		return again(status, msg)
	}
	return c.Redirect(http.StatusSeeOther, "/requests/"+url.PathEscape(v.Request.ID))
}

// ---- a policy.change request's changes ----

// policyChange is what a policy.change request changes: a line diff from
// the policy in force to the proposed document, both canonical and
// pretty-printed.
type policyChange struct {
	Diff           textDiff
	BaseVersion    int64 // the version the change was proposed against
	CurrentVersion int64 // the version in force now
	// Installed: the request ran and its document is the version in force.
	Installed bool
	Error     string
}

func (u *UI) policyChange(c echo.Context, r *store.Request) (*policyChange, error) {
	cur, err := u.svc.CurrentPolicy(c.Request().Context(), principal(c))
	if err != nil {
		return nil, err
	}
	out := &policyChange{CurrentVersion: cur.Version}
	pc, err := policyChangeOf(r)
	if err != nil {
		out.Error = "The request's document could not be read."
		return out, nil
	}
	out.BaseVersion = pc.BaseVersion
	if r.Status == store.RequestExecuted && cur.Version == pc.BaseVersion+1 {
		out.Installed = true
		return out, nil
	}
	doc, err := policy.Parse(pc.Document)
	if err != nil {
		out.Error = "The proposed document is not valid: " + err.Error()
		return out, nil
	}
	before, err := prettyJSON(cur.Document)
	if err != nil {
		return nil, err
	}
	after, err := prettyJSON(doc.Canonical())
	if err != nil {
		return nil, err
	}
	out.Diff = lineDiff(before, after)
	return out, nil
}
