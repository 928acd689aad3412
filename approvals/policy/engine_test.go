package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"
)

// In these tests the asset is "EURC" with 2 decimals at EUR 1.00, so one
// base unit is one cent.
var (
	wed  = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC) // a Wednesday
	euro = func(now time.Time) *Rate { return &Rate{EURPerUnit: "1", Decimals: 2, UpdatedAt: now} }
)

func engineDoc(t testing.TB, tz, rules string) *Document {
	t.Helper()
	src := fmt.Sprintf(`{"timezone":%q,"rate_max_age":"15m","actions":{
		"transfer":{"expiry":"24h","tiers":[{"up_to_eur":"1000","approvals":1},{"up_to_eur":"10000","approvals":2},{"approvals":4,"roles":{"treasury_manager":1}}]},
		"wallet.create":{"expiry":"48h","tiers":[{"approvals":2,"roles":{"treasury_manager":1}}]},
		"wallet.freeze":{"expiry":"1h","tiers":[{"approvals":0}]}},
		"spending":{"*":%s}}`, tz, rules)
	doc, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return doc
}

type entry struct {
	ago   time.Duration
	cents int64
}

// ledgerAt builds a ledger of entries relative to now (any order).
func ledgerAt(t testing.TB, now time.Time, entries ...entry) *MemoryLedger {
	t.Helper()
	slices.SortFunc(entries, func(a, b entry) int { return int(b.ago - a.ago) })
	l := NewMemoryLedger(len(entries))
	for _, e := range entries {
		if err := l.Add(now.Add(-e.ago), e.cents); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

func transfer(now time.Time, cents int64, l Ledger) Input {
	return Input{Action: ActionTransfer, WalletID: "w1", Chain: "ethereum", Asset: "EURC", To: "0xAbC1",
		Amount: big.NewInt(cents), Rate: euro(now), Ledger: l, Now: now}
}

func codes(d *Decision) string {
	var c []string
	for _, r := range d.Reasons {
		c = append(c, r.Code)
	}
	return strings.Join(c, ",")
}

func TestEvaluateRules(t *testing.T) {
	now := wed
	tests := []struct {
		name    string
		rules   string
		ledger  []entry
		cents   int64
		mod     func(*Input)
		outcome string
		codes   string // comma-separated reason codes, in order
	}{
		{name: "ok/no rules", rules: `{}`, cents: 100, outcome: OutcomeApprovalRequired},

		{name: "ok/per transaction cap exactly", rules: `{"per_transaction_eur":"500"}`, cents: 50000, outcome: OutcomeApprovalRequired},
		{name: "fail/per_transaction_cap", rules: `{"per_transaction_eur":"500"}`, cents: 50001, outcome: OutcomeDeny, codes: ReasonPerTransactionCap},

		{name: "ok/daily exactly at limit", rules: `{"daily_eur":"1000"}`, ledger: []entry{{23 * time.Hour, 90000}}, cents: 10000, outcome: OutcomeApprovalRequired},
		{name: "fail/daily_limit one cent over", rules: `{"daily_eur":"1000"}`, ledger: []entry{{23 * time.Hour, 90000}}, cents: 10001, outcome: OutcomeDeny, codes: ReasonDailyLimit},
		{name: "fail/daily_limit entry exactly 24h ago counts", rules: `{"daily_eur":"1000"}`, ledger: []entry{{24 * time.Hour, 90000}}, cents: 10001, outcome: OutcomeDeny, codes: ReasonDailyLimit},
		{name: "ok/daily entry older than 24h", rules: `{"daily_eur":"1000"}`, ledger: []entry{{24*time.Hour + time.Nanosecond, 90000}}, cents: 100000, outcome: OutcomeApprovalRequired},
		{name: "fail/daily_limit zero", rules: `{"daily_eur":"0"}`, cents: 1, outcome: OutcomeDeny, codes: ReasonDailyLimit},

		{name: "ok/weekly exactly at limit", rules: `{"weekly_eur":"1000"}`, ledger: []entry{{6 * 24 * time.Hour, 90000}}, cents: 10000, outcome: OutcomeApprovalRequired},
		{name: "fail/weekly_limit", rules: `{"weekly_eur":"1000"}`, ledger: []entry{{6 * 24 * time.Hour, 90000}}, cents: 10001, outcome: OutcomeDeny, codes: ReasonWeeklyLimit},
		{name: "fail/weekly_limit entry exactly 7 days ago counts", rules: `{"weekly_eur":"1000"}`, ledger: []entry{{7 * 24 * time.Hour, 90000}}, cents: 10001, outcome: OutcomeDeny, codes: ReasonWeeklyLimit},
		{name: "ok/weekly entry older than 7 days", rules: `{"weekly_eur":"1000"}`, ledger: []entry{{7*24*time.Hour + time.Second, 90000}}, cents: 100000, outcome: OutcomeApprovalRequired},

		{name: "ok/monthly exactly at limit", rules: `{"monthly_eur":"1000"}`, ledger: []entry{{29 * 24 * time.Hour, 90000}}, cents: 10000, outcome: OutcomeApprovalRequired},
		{name: "fail/monthly_limit", rules: `{"monthly_eur":"1000"}`, ledger: []entry{{29 * 24 * time.Hour, 90000}}, cents: 10001, outcome: OutcomeDeny, codes: ReasonMonthlyLimit},
		{name: "fail/monthly_limit entry exactly 30 days ago counts", rules: `{"monthly_eur":"1000"}`, ledger: []entry{{30 * 24 * time.Hour, 90000}}, cents: 10001, outcome: OutcomeDeny, codes: ReasonMonthlyLimit},
		{name: "ok/monthly entry older than 30 days", rules: `{"monthly_eur":"1000"}`, ledger: []entry{{30*24*time.Hour + time.Second, 90000}}, cents: 100000, outcome: OutcomeApprovalRequired},

		{name: "ok/hourly velocity below", rules: `{"max_per_hour":2}`, ledger: []entry{{30 * time.Minute, 1}, {61 * time.Minute, 1}}, cents: 1, outcome: OutcomeApprovalRequired},
		{name: "fail/hourly_velocity entry exactly 1h ago counts", rules: `{"max_per_hour":2}`, ledger: []entry{{30 * time.Minute, 1}, {60 * time.Minute, 1}}, cents: 1, outcome: OutcomeDeny, codes: ReasonHourlyVelocity},
		{name: "fail/hourly_velocity zero", rules: `{"max_per_hour":0}`, cents: 1, outcome: OutcomeDeny, codes: ReasonHourlyVelocity},
		{name: "ok/daily velocity below", rules: `{"max_per_day":2}`, ledger: []entry{{3 * time.Hour, 1}, {25 * time.Hour, 1}}, cents: 1, outcome: OutcomeApprovalRequired},
		{name: "fail/daily_velocity", rules: `{"max_per_day":2}`, ledger: []entry{{3 * time.Hour, 1}, {23 * time.Hour, 1}}, cents: 1, outcome: OutcomeDeny, codes: ReasonDailyVelocity},
		{name: "fail/daily_velocity entry exactly 24h ago counts", rules: `{"max_per_day":2}`, ledger: []entry{{3 * time.Hour, 1}, {24 * time.Hour, 1}}, cents: 1, outcome: OutcomeDeny, codes: ReasonDailyVelocity},

		{name: "ok/cooldown elapsed exactly", rules: `{"cooldown":"30s"}`, ledger: []entry{{30 * time.Second, 1}}, cents: 1, outcome: OutcomeApprovalRequired},
		{name: "ok/cooldown no previous transfer", rules: `{"cooldown":"30s"}`, cents: 1, outcome: OutcomeApprovalRequired},
		{name: "fail/cooldown", rules: `{"cooldown":"30s"}`, ledger: []entry{{30*time.Second - time.Nanosecond, 1}}, cents: 1, outcome: OutcomeDeny, codes: ReasonCooldown},
		{name: "fail/cooldown last in the future", rules: `{"cooldown":"30s"}`, ledger: []entry{{-time.Minute, 1}}, cents: 1, outcome: OutcomeDeny, codes: ReasonCooldown},

		{name: "ok/allowed hours", rules: `{"allowed_hours":{"from":8,"to":20}}`, cents: 1, outcome: OutcomeApprovalRequired},
		{name: "fail/outside_allowed_hours", rules: `{"allowed_hours":{"from":13,"to":20}}`, cents: 1, outcome: OutcomeDeny, codes: ReasonOutsideAllowedHours},
		{name: "ok/allowed weekday", rules: `{"allowed_weekdays":["wed"]}`, cents: 1, outcome: OutcomeApprovalRequired},
		{name: "fail/outside_allowed_weekdays", rules: `{"allowed_weekdays":["mon","tue","thu","fri"]}`, cents: 1, outcome: OutcomeDeny, codes: ReasonOutsideAllowedWeekdays},

		{name: "ok/allowlisted", rules: `{"allowlist":[{"chain":"ethereum","address":"0xabc1"}]}`, cents: 1, outcome: OutcomeApprovalRequired},
		{name: "ok/allowlisted case-insensitive", rules: `{"allowlist":[{"chain":"ETHEREUM","address":"0XABC1"}]}`, cents: 1, outcome: OutcomeApprovalRequired},
		{name: "ok/allowlist entry not yet expired", rules: `{"allowlist":[{"chain":"ethereum","address":"0xabc1","expires_at":"2026-03-04T12:00:00.001Z"}]}`, cents: 1, outcome: OutcomeApprovalRequired},
		{name: "fail/destination_not_allowlisted", rules: `{"allowlist":[{"chain":"ethereum","address":"0xabc2"}]}`, cents: 1, outcome: OutcomeDeny, codes: ReasonNotAllowlisted},
		{name: "fail/destination_not_allowlisted other chain", rules: `{"allowlist":[{"chain":"polygon","address":"0xabc1"}]}`, cents: 1, outcome: OutcomeDeny, codes: ReasonNotAllowlisted},
		{name: "fail/destination_not_allowlisted empty list", rules: `{"allowlist":[]}`, cents: 1, outcome: OutcomeDeny, codes: ReasonNotAllowlisted},
		{name: "fail/allowlist_entry_expired", rules: `{"allowlist":[{"chain":"ethereum","address":"0xabc1","label":"payroll","expires_at":"2026-03-04T13:00:00+01:00"}]}`, cents: 1, outcome: OutcomeDeny, codes: ReasonAllowlistEntryExpired},

		{name: "fail/wallet_frozen", rules: `{}`, cents: 1, mod: func(in *Input) { in.Frozen = true }, outcome: OutcomeDeny, codes: ReasonWalletFrozen},
		{name: "fail/emergency_stop", rules: `{}`, cents: 1, mod: func(in *Input) { in.EmergencyStop = true }, outcome: OutcomeDeny, codes: ReasonEmergencyStop},
		{name: "fail/rate_missing", rules: `{}`, cents: 1, mod: func(in *Input) { in.Rate = nil }, outcome: OutcomeDeny, codes: ReasonRateMissing},
		{name: "ok/rate exactly rate_max_age old", rules: `{}`, cents: 1, mod: func(in *Input) { in.Rate = euro(now.Add(-15 * time.Minute)) }, outcome: OutcomeApprovalRequired},
		{name: "fail/rate_stale", rules: `{}`, cents: 1, mod: func(in *Input) { in.Rate = euro(now.Add(-15*time.Minute - time.Nanosecond)) }, outcome: OutcomeDeny, codes: ReasonRateStale},
		{name: "fail/rate_stale future", rules: `{}`, cents: 1, mod: func(in *Input) { in.Rate = euro(now.Add(16 * time.Minute)) }, outcome: OutcomeDeny, codes: ReasonRateStale},
		{name: "fail/rate_stale zero time", rules: `{}`, cents: 1, mod: func(in *Input) { in.Rate = euro(time.Time{}) }, outcome: OutcomeDeny, codes: ReasonRateStale},
		{name: "fail/no_policy", rules: `{}`, cents: 1, mod: func(in *Input) { in.Action = "guardian.add" }, outcome: OutcomeDeny, codes: ReasonNoPolicy},

		{name: "fail/several violations all reported",
			rules: `{"per_transaction_eur":"100","daily_eur":"150","weekly_eur":"150","monthly_eur":"150","max_per_hour":1,"max_per_day":1,"cooldown":"1h",
				"allowed_hours":{"from":0,"to":1},"allowed_weekdays":["sun"],"allowlist":[]}`,
			ledger: []entry{{time.Minute, 10000}}, cents: 10001,
			mod:     func(in *Input) { in.Frozen = true; in.EmergencyStop = true },
			outcome: OutcomeDeny,
			codes: "emergency_stop,wallet_frozen,per_transaction_cap,daily_limit,weekly_limit,monthly_limit,hourly_velocity,daily_velocity," +
				"cooldown,outside_allowed_hours,outside_allowed_weekdays,destination_not_allowlisted"},
		{name: "fail/stale rate and velocity both reported", rules: `{"max_per_hour":0,"daily_eur":"0"}`, cents: 1,
			mod: func(in *Input) { in.Rate = nil }, outcome: OutcomeDeny, codes: "rate_missing,hourly_velocity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := engineDoc(t, "UTC", tt.rules)
			in := transfer(now, tt.cents, ledgerAt(t, now, tt.ledger...))
			if tt.mod != nil {
				tt.mod(&in)
			}
			d, err := Evaluate(doc, in)
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if d.Outcome != tt.outcome || codes(d) != tt.codes {
				t.Fatalf("outcome %s [%s], want %s [%s]; reasons %+v", d.Outcome, codes(d), tt.outcome, tt.codes, d.Reasons)
			}
			for _, r := range d.Reasons {
				if r.Message == "" {
					t.Fatalf("reason %s without message", r.Code)
				}
			}
			if d.PolicyHash != doc.Hash() {
				t.Fatal("PolicyHash is not the document's hash")
			}
		})
	}
}

func TestEvaluateWalletRules(t *testing.T) {
	src := minimal(`,"spending":{"*":{"per_transaction_eur":"1"},"w1":{"per_transaction_eur":"100"}}`)
	doc, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, wallet, outcome string
	}{
		{"ok/own entry replaces default", "w1", OutcomeApprovalRequired},
		{"fail/per_transaction_cap default applies", "w2", OutcomeDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := transfer(wed, 5000, NewMemoryLedger(0))
			in.WalletID = tt.wallet
			d, err := Evaluate(doc, in)
			if err != nil {
				t.Fatal(err)
			}
			if d.Outcome != tt.outcome {
				t.Fatalf("outcome %s %v", d.Outcome, d.Reasons)
			}
		})
	}
	t.Run("ok/no default no limits", func(t *testing.T) {
		doc, _ := Parse([]byte(minimal(`,"spending":{"w9":{"daily_eur":"0"}}`)))
		d, err := Evaluate(doc, transfer(wed, 1<<40, NewMemoryLedger(0)))
		if err != nil || d.Outcome != OutcomeApprovalRequired {
			t.Fatalf("%v %+v", err, d)
		}
	})
}

func TestEvaluateMessages(t *testing.T) {
	doc := engineDoc(t, "Europe/Berlin", `{"daily_eur":"100000","per_transaction_eur":"5000","allowlist":[{"chain":"ethereum","address":"0xabc1","label":"payroll","expires_at":"2026-01-01T00:00:00Z"}],"allowed_hours":{"from":8,"to":12}}`)
	in := transfer(wed, 1_000_000, ledgerAt(t, wed, entry{time.Hour, 9_500_000}))
	d, err := Evaluate(doc, in)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"the per-transaction cap of EUR 5,000.00 would be exceeded: this transfer is EUR 10,000.00",
		"the daily limit of EUR 100,000.00 would be exceeded: spent EUR 95,000.00 in the last 24h, this transfer EUR 10,000.00",
		"transfers are allowed from 08:00 to 12:00 (Europe/Berlin); it is 13:00 on Wednesday 2026-03-04",
		`the allowlist entry ("payroll") for "0xabc1" on "ethereum" expired at 2026-01-01T00:00:00Z`,
	}
	if len(d.Reasons) != len(want) {
		t.Fatalf("reasons %+v", d.Reasons)
	}
	for i, w := range want {
		if d.Reasons[i].Message != w {
			t.Errorf("message %d:\n got %q\nwant %q", i, d.Reasons[i].Message, w)
		}
	}
}

func TestAllowedHoursInZone(t *testing.T) {
	berlin := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, time.UTC) }
	tests := []struct {
		name  string
		tz    string
		hours string
		now   time.Time // UTC
		ok    bool
	}{
		// 2026-03-28 (Saturday): CET, UTC+1.
		{"fail/CET 07:59", "Europe/Berlin", `{"from":8,"to":20}`, berlin(2026, 3, 28, 6, 59), false},
		{"ok/CET 08:00", "Europe/Berlin", `{"from":8,"to":20}`, berlin(2026, 3, 28, 7, 0), true},
		{"ok/CET 19:59", "Europe/Berlin", `{"from":8,"to":20}`, berlin(2026, 3, 28, 18, 59), true},
		{"fail/CET 20:00", "Europe/Berlin", `{"from":8,"to":20}`, berlin(2026, 3, 28, 19, 0), false},
		// 2026-03-29: clocks go forward at 01:00 UTC, CEST, UTC+2.
		{"fail/DST spring 07:59", "Europe/Berlin", `{"from":8,"to":20}`, berlin(2026, 3, 29, 5, 59), false},
		{"ok/DST spring 08:00", "Europe/Berlin", `{"from":8,"to":20}`, berlin(2026, 3, 29, 6, 0), true},
		{"ok/DST spring 19:59", "Europe/Berlin", `{"from":8,"to":20}`, berlin(2026, 3, 29, 17, 59), true},
		{"fail/DST spring 20:00", "Europe/Berlin", `{"from":8,"to":20}`, berlin(2026, 3, 29, 18, 0), false},
		{"fail/DST spring skipped hour", "Europe/Berlin", `{"from":2,"to":3}`, berlin(2026, 3, 29, 1, 0), false}, // 03:00 CEST
		// 2026-10-25: clocks go back at 01:00 UTC, CET again.
		{"fail/DST autumn 07:59", "Europe/Berlin", `{"from":8,"to":20}`, berlin(2026, 10, 25, 6, 59), false},
		{"ok/DST autumn 08:00", "Europe/Berlin", `{"from":8,"to":20}`, berlin(2026, 10, 25, 7, 0), true},
		{"ok/DST autumn repeated hour first", "Europe/Berlin", `{"from":2,"to":3}`, berlin(2026, 10, 25, 0, 30), true},
		{"ok/DST autumn repeated hour second", "Europe/Berlin", `{"from":2,"to":3}`, berlin(2026, 10, 25, 1, 30), true},
		// Wrap past midnight, New York (UTC-5 in January).
		{"fail/wrap 21:59", "America/New_York", `{"from":22,"to":6}`, berlin(2026, 1, 15, 2, 59), false},
		{"ok/wrap 22:00", "America/New_York", `{"from":22,"to":6}`, berlin(2026, 1, 15, 3, 0), true},
		{"ok/wrap 05:59", "America/New_York", `{"from":22,"to":6}`, berlin(2026, 1, 15, 10, 59), true},
		{"fail/wrap 06:00", "America/New_York", `{"from":22,"to":6}`, berlin(2026, 1, 15, 11, 0), false},
		{"ok/to 24 at 23:59", "UTC", `{"from":20,"to":24}`, berlin(2026, 1, 15, 23, 59), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := engineDoc(t, tt.tz, `{"allowed_hours":`+tt.hours+`}`)
			d, err := Evaluate(doc, transfer(tt.now, 1, NewMemoryLedger(0)))
			if err != nil {
				t.Fatal(err)
			}
			denied := codes(d) == ReasonOutsideAllowedHours
			if denied == tt.ok || (!denied && len(d.Reasons) > 0) {
				t.Fatalf("outcome %s %+v", d.Outcome, d.Reasons)
			}
		})
	}
}

func TestAllowedWeekdaysInZone(t *testing.T) {
	weekdays := `{"allowed_weekdays":["mon","tue","wed","thu","fri"]}`
	tests := []struct {
		name string
		tz   string
		now  time.Time
		ok   bool
	}{
		{"ok/friday in UTC", "UTC", time.Date(2026, 3, 6, 23, 30, 0, 0, time.UTC), true},
		{"fail/friday UTC is saturday in Berlin", "Europe/Berlin", time.Date(2026, 3, 6, 23, 30, 0, 0, time.UTC), false},
		{"fail/friday UTC is saturday in Auckland", "Pacific/Auckland", time.Date(2026, 3, 6, 11, 30, 0, 0, time.UTC), false},
		{"ok/sunday UTC is monday in Auckland", "Pacific/Auckland", time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC), true},
		{"fail/sunday in UTC", "UTC", time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC), false},
		{"ok/monday UTC is still monday in New York", "America/New_York", time.Date(2026, 3, 10, 3, 0, 0, 0, time.UTC), true},
		{"fail/monday UTC is sunday in New York", "America/New_York", time.Date(2026, 3, 9, 3, 0, 0, 0, time.UTC), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := engineDoc(t, tt.tz, weekdays)
			d, err := Evaluate(doc, transfer(tt.now, 1, NewMemoryLedger(0)))
			if err != nil {
				t.Fatal(err)
			}
			denied := codes(d) == ReasonOutsideAllowedWeekdays
			if denied == tt.ok || (!denied && len(d.Reasons) > 0) {
				t.Fatalf("outcome %s %+v", d.Outcome, d.Reasons)
			}
		})
	}
}

func TestTierSelection(t *testing.T) {
	doc := engineDoc(t, "UTC", `{}`)
	tests := []struct {
		name      string
		cents     int64
		tier      int
		approvals int
		roles     map[string]int
	}{
		{"ok/one cent", 1, 0, 1, nil},
		{"ok/exactly 1000.00", 100000, 0, 1, nil},
		{"ok/1000.01", 100001, 1, 2, nil},
		{"ok/exactly 10000.00", 1000000, 1, 2, nil},
		{"ok/10000.01", 1000001, 2, 4, map[string]int{"treasury_manager": 1}},
		{"ok/huge", 1 << 60, 2, 4, map[string]int{"treasury_manager": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Evaluate(doc, transfer(wed, tt.cents, NewMemoryLedger(0)))
			if err != nil {
				t.Fatal(err)
			}
			r := d.Requirement
			if d.Outcome != OutcomeApprovalRequired || d.EURCents != tt.cents || r.Tier != tt.tier || r.Approvals != tt.approvals ||
				!sameRoles(r.Roles, tt.roles) || r.Expiry != 24*time.Hour || r.RejectionsToDeny != 1 {
				t.Fatalf("decision %+v", d)
			}
			r2, err := RequirementFor(doc, ActionTransfer, tt.cents)
			if err != nil || r2.Tier != r.Tier || r2.Approvals != r.Approvals {
				t.Fatalf("RequirementFor = %+v, %v", r2, err)
			}
		})
	}
	t.Run("ok/roles are a copy", func(t *testing.T) {
		r, _ := RequirementFor(doc, ActionTransfer, 1<<40)
		r.Roles["treasury_manager"] = 0
		r2, _ := RequirementFor(doc, ActionTransfer, 1<<40)
		if r2.Roles["treasury_manager"] != 1 {
			t.Fatal("Requirement.Roles aliases the document")
		}
	})
}

func TestEvaluateOtherActions(t *testing.T) {
	doc := engineDoc(t, "UTC", `{"daily_eur":"0","max_per_hour":0}`)
	tests := []struct {
		name    string
		in      Input
		outcome string
		codes   string
	}{
		{"ok/wallet.create needs approvals", Input{Action: ActionWalletCreate, Now: wed}, OutcomeApprovalRequired, ""},
		{"ok/frozen and stop do not apply", Input{Action: ActionWalletCreate, Now: wed, Frozen: true, EmergencyStop: true}, OutcomeApprovalRequired, ""},
		{"ok/auto-allow tier", Input{Action: ActionWalletFreeze, WalletID: "w1", Now: wed}, OutcomeAllow, ""},
		{"ok/valued with a rate", Input{Action: ActionWalletCreate, Amount: big.NewInt(5), Rate: euro(wed), Now: wed}, OutcomeApprovalRequired, ""},
		{"fail/rate_missing when an amount is given", Input{Action: ActionWalletCreate, Amount: big.NewInt(5), Now: wed}, OutcomeDeny, ReasonRateMissing},
		{"fail/no_policy", Input{Action: "key.rotate", Now: wed}, OutcomeDeny, ReasonNoPolicy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Evaluate(doc, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if d.Outcome != tt.outcome || codes(d) != tt.codes {
				t.Fatalf("outcome %s [%s] %+v", d.Outcome, codes(d), d.Reasons)
			}
			if d.Counters.RemainingDailyEURCents != nil || d.Counters.CountLastHour != 0 {
				t.Fatalf("counters for a non-transfer: %+v", d.Counters)
			}
		})
	}
	t.Run("ok/allow for transfer tier with zero approvals", func(t *testing.T) {
		doc, err := Parse([]byte(withTiers(`[{"up_to_eur":"10","approvals":0},{"approvals":1}]`)))
		if err != nil {
			t.Fatal(err)
		}
		d, err := Evaluate(doc, transfer(wed, 1000, NewMemoryLedger(0)))
		if err != nil || d.Outcome != OutcomeAllow {
			t.Fatalf("%v %+v", err, d)
		}
		d, err = Evaluate(doc, transfer(wed, 1001, NewMemoryLedger(0)))
		if err != nil || d.Outcome != OutcomeApprovalRequired {
			t.Fatalf("%v %+v", err, d)
		}
	})
}

func TestRequirementForNoPolicy(t *testing.T) {
	doc := engineDoc(t, "UTC", `{}`)
	tests := []struct {
		name   string
		doc    *Document
		action string
		eur    int64
		want   error
	}{
		{"fail/unknown action", doc, "guardian.add", 0, ErrNoPolicy},
		{"fail/negative value", doc, ActionTransfer, -1, ErrInvalidInput},
		{"fail/nil document", nil, ActionTransfer, 0, ErrInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := RequirementFor(tt.doc, tt.action, tt.eur); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

type brokenLedger struct {
	sinceErr, lastErr error
	negative          bool
}

func (b brokenLedger) Since(time.Time) (int64, int64, error) {
	if b.negative {
		return -1, 0, nil
	}
	return 0, 0, b.sinceErr
}
func (b brokenLedger) Last() (time.Time, bool, error) { return time.Time{}, false, b.lastErr }

func TestEvaluateErrors(t *testing.T) {
	doc := engineDoc(t, "UTC", `{}`)
	boom := errors.New("database is down")
	tests := []struct {
		name string
		doc  *Document
		in   Input
		want error
	}{
		{"fail/ledger Since", doc, transfer(wed, 1, brokenLedger{sinceErr: boom}), ErrLedger},
		{"fail/ledger Last", doc, transfer(wed, 1, brokenLedger{lastErr: boom}), ErrLedger},
		{"fail/ledger negative", doc, transfer(wed, 1, brokenLedger{negative: true}), ErrLedger},
		{"fail/nil document", nil, transfer(wed, 1, NewMemoryLedger(0)), ErrInvalidInput},
		{"fail/zero document", &Document{}, transfer(wed, 1, NewMemoryLedger(0)), ErrInvalidInput},
		{"fail/nil ledger", doc, transfer(wed, 1, nil), ErrInvalidInput},
		{"fail/zero amount", doc, transfer(wed, 0, NewMemoryLedger(0)), ErrInvalidInput},
		{"fail/negative amount", doc, transfer(wed, -1, NewMemoryLedger(0)), ErrInvalidInput},
		{"fail/zero now", doc, transfer(time.Time{}, 1, NewMemoryLedger(0)), ErrInvalidInput},
		{"fail/no wallet", doc, func() Input { in := transfer(wed, 1, NewMemoryLedger(0)); in.WalletID = ""; return in }(), ErrInvalidInput},
		{"fail/no destination", doc, func() Input { in := transfer(wed, 1, NewMemoryLedger(0)); in.To = ""; return in }(), ErrInvalidInput},
		{"fail/empty action", doc, Input{Now: wed}, ErrInvalidInput},
		{"fail/malformed rate", doc, func() Input {
			in := transfer(wed, 1, NewMemoryLedger(0))
			in.Rate = &Rate{EURPerUnit: "1e3", UpdatedAt: wed}
			return in
		}(), ErrInvalidRate},
		{"fail/overflow", doc, func() Input {
			in := transfer(wed, 1, NewMemoryLedger(0))
			in.Amount = new(big.Int).Lsh(big.NewInt(1), 70)
			return in
		}(), ErrOverflow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Evaluate(tt.doc, tt.in)
			if !errors.Is(err, tt.want) || d != nil {
				t.Fatalf("Evaluate = %+v, %v; want error %v", d, err, tt.want)
			}
			if tt.want == ErrLedger && errors.Is(err, boom) != (tt.in.Ledger.(brokenLedger).negative == false) {
				t.Fatalf("ledger cause lost: %v", err)
			}
		})
	}
}

func TestCounters(t *testing.T) {
	doc := engineDoc(t, "UTC", `{"daily_eur":"1000","weekly_eur":"2000","monthly_eur":"100","max_per_hour":5,"max_per_day":2,"cooldown":"10m"}`)
	l := ledgerAt(t, wed,
		entry{20 * 24 * time.Hour, 30000}, // month only
		entry{3 * 24 * time.Hour, 20000},  // week and month
		entry{5 * time.Hour, 10000},       // day
		entry{30 * time.Minute, 5000},     // hour
		entry{2 * time.Minute, 1000},      // hour, last
	)
	d, err := Evaluate(doc, transfer(wed, 100, l))
	if err != nil {
		t.Fatal(err)
	}
	c := d.Counters
	want := Counters{SpentTodayEURCents: 16000, SpentWeekEURCents: 36000, SpentMonthEURCents: 66000, CountLastHour: 2, CountLastDay: 3}
	if c.SpentTodayEURCents != want.SpentTodayEURCents || c.SpentWeekEURCents != want.SpentWeekEURCents ||
		c.SpentMonthEURCents != want.SpentMonthEURCents || c.CountLastHour != want.CountLastHour || c.CountLastDay != want.CountLastDay {
		t.Fatalf("counters %+v", c)
	}
	check := func(name string, p *int64, want int64) {
		if p == nil || *p != want {
			t.Errorf("%s = %v, want %d", name, p, want)
		}
	}
	check("remaining daily", c.RemainingDailyEURCents, 100000-16000)
	check("remaining weekly", c.RemainingWeeklyEURCents, 200000-36000)
	check("remaining monthly (clamped)", c.RemainingMonthlyEURCents, 0)
	check("remaining hourly count", c.RemainingHourlyCount, 3)
	check("remaining daily count (clamped)", c.RemainingDailyCount, 0)
	if c.LastTransferAt == nil || !c.LastTransferAt.Equal(wed.Add(-2*time.Minute)) ||
		c.NextAllowedAt == nil || !c.NextAllowedAt.Equal(wed.Add(8*time.Minute)) {
		t.Fatalf("last %v next %v", c.LastTransferAt, c.NextAllowedAt)
	}
	if codes(d) != "monthly_limit,daily_velocity,cooldown" {
		t.Fatalf("codes %s", codes(d))
	}

	t.Run("ok/json shape", func(t *testing.T) {
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"outcome", "reasons", "eur_cents", "requirement", "counters", "policy_hash"} {
			if _, ok := m[k]; !ok {
				t.Fatalf("decision JSON lacks %q: %s", k, b)
			}
		}
		cm := m["counters"].(map[string]any)
		for _, k := range []string{"spent_today_eur_cents", "spent_week_eur_cents", "spent_month_eur_cents", "count_last_hour", "count_last_day",
			"remaining_daily_eur_cents", "remaining_weekly_eur_cents", "remaining_monthly_eur_cents", "remaining_hourly_count",
			"remaining_daily_count", "last_transfer_at", "next_allowed_at"} {
			if _, ok := cm[k]; !ok {
				t.Fatalf("counters JSON lacks %q: %s", k, b)
			}
		}
		if len(cm) != 12 {
			t.Fatalf("counters JSON has %d keys: %s", len(cm), b)
		}
		var back Decision
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		b2, _ := json.Marshal(back)
		if string(b) != string(b2) || back.PolicyHash != d.PolicyHash {
			t.Fatalf("decision JSON round trip:\n%s\n%s", b, b2)
		}
	})
	t.Run("ok/unlimited is null", func(t *testing.T) {
		d, err := Evaluate(engineDoc(t, "UTC", `{}`), transfer(wed, 100, NewMemoryLedger(0)))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(d.Counters)
		want := `{"spent_today_eur_cents":0,"spent_week_eur_cents":0,"spent_month_eur_cents":0,"count_last_hour":0,"count_last_day":0,` +
			`"remaining_daily_eur_cents":null,"remaining_weekly_eur_cents":null,"remaining_monthly_eur_cents":null,"remaining_hourly_count":null,` +
			`"remaining_daily_count":null,"last_transfer_at":null,"next_allowed_at":null}`
		if string(b) != want {
			t.Fatalf("got  %s\nwant %s", b, want)
		}
	})
}

func TestRequirementCovers(t *testing.T) {
	base := Requirement{Tier: 1, Approvals: 2, Roles: map[string]int{"admin": 1}, Expiry: time.Hour, RejectionsToDeny: 1}
	tests := []struct {
		name  string
		other Requirement
		want  bool
	}{
		{"ok/same", base, true},
		{"ok/other tier index, same demands", Requirement{Tier: 0, Approvals: 2, Roles: map[string]int{"admin": 1}, Expiry: time.Hour, RejectionsToDeny: 1}, true},
		{"ok/fewer approvals no roles", Requirement{Approvals: 1, Expiry: time.Hour, RejectionsToDeny: 1}, true},
		{"ok/longer expiry, more rejections", Requirement{Approvals: 2, Expiry: 2 * time.Hour, RejectionsToDeny: 2}, true},
		{"fail/more approvals", Requirement{Approvals: 3, Expiry: time.Hour, RejectionsToDeny: 1}, false},
		{"fail/new role", Requirement{Approvals: 2, Roles: map[string]int{"treasury_manager": 1}, Expiry: time.Hour, RejectionsToDeny: 1}, false},
		{"fail/more of a role", Requirement{Approvals: 2, Roles: map[string]int{"admin": 2}, Expiry: time.Hour, RejectionsToDeny: 1}, false},
		{"fail/shorter expiry", Requirement{Approvals: 2, Expiry: time.Minute, RejectionsToDeny: 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := base.Covers(tt.other); got != tt.want {
				t.Fatalf("Covers = %v", got)
			}
		})
	}
	t.Run("fail/rejections stricter", func(t *testing.T) {
		r := base
		r.RejectionsToDeny = 2
		if r.Covers(base) {
			t.Fatal("a request that tolerated 2 rejections does not cover one denied at 1")
		}
	})
	t.Run("ok/json round trip", func(t *testing.T) {
		b, err := json.Marshal(base)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != `{"tier":1,"approvals":2,"roles":{"admin":1},"expiry":"1h0m0s","rejections_to_deny":1}` {
			t.Fatalf("json %s", b)
		}
		var r Requirement
		if err := json.Unmarshal(b, &r); err != nil || !r.Covers(base) || !base.Covers(r) || r.Tier != 1 {
			t.Fatalf("%+v %v", r, err)
		}
		b, _ = json.Marshal(Requirement{})
		if string(b) != `{"tier":0,"approvals":0,"roles":{},"expiry":"0s","rejections_to_deny":0}` {
			t.Fatalf("zero json %s", b)
		}
	})
}

func TestRecheckAfterRateMove(t *testing.T) {
	doc := Default()
	in := Input{Action: ActionTransfer, WalletID: "w1", Chain: "ethereum", Asset: "ETH", To: "0x1",
		Amount: new(big.Int).Exp(big.NewInt(10), big.NewInt(17), nil), // 0.1 ETH
		Rate:   &Rate{EURPerUnit: "9000", Decimals: 18, UpdatedAt: wed}, Ledger: NewMemoryLedger(0), Now: wed}
	d, err := Evaluate(doc, in)
	if err != nil || d.EURCents != 90000 || d.Requirement.Tier != 0 {
		t.Fatalf("%v %+v", err, d)
	}
	// ETH rallies to 11,000: 0.1 ETH is now EUR 1,100 => tier 1.
	v, err := ToEURCents(in.Amount, Rate{EURPerUnit: "11000", Decimals: 18})
	if err != nil {
		t.Fatal(err)
	}
	now, err := RequirementFor(doc, ActionTransfer, v)
	if err != nil {
		t.Fatal(err)
	}
	if d.Requirement.Covers(now) || now.Tier != 1 {
		t.Fatalf("tier-0 approvals cover %+v", now)
	}
}
