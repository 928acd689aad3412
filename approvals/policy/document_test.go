package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// minimal builds a valid document with the given extra top-level members
// and "transfer" tiers.
func minimal(extra string) string {
	return `{"rate_max_age":"15m","actions":{"transfer":{"expiry":"24h","tiers":[{"up_to_eur":"1000","approvals":1},{"approvals":2}]}}` + extra + `}`
}

func withTiers(tiers string) string {
	return `{"rate_max_age":"15m","actions":{"transfer":{"expiry":"24h","tiers":` + tiers + `}}}`
}

func withSpending(rules string) string {
	return minimal(`,"spending":{"*":` + rules + `}`)
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		path string // wanted FieldError.Path ("" for the document); ignored when ok
		ok   bool
	}{
		{name: "ok/minimal", doc: minimal(""), ok: true},
		{name: "ok/spec example", doc: specExample, ok: true},
		{name: "ok/default", doc: defaultPolicy, ok: true},
		{name: "ok/empty actions", doc: `{"rate_max_age":"1h","actions":{}}`, ok: true},
		{name: "ok/wrap-around hours", doc: withSpending(`{"allowed_hours":{"from":22,"to":6}}`), ok: true},
		{name: "ok/hours to 24", doc: withSpending(`{"allowed_hours":{"from":0,"to":24}}`), ok: true},
		{name: "ok/zero limits", doc: withSpending(`{"daily_eur":"0","max_per_hour":0}`), ok: true},
		{name: "ok/empty allowlist", doc: withSpending(`{"allowlist":[]}`), ok: true},
		{name: "ok/auto-allow tier", doc: withTiers(`[{"up_to_eur":"0","approvals":0},{"approvals":1}]`), ok: true},
		{name: "ok/amount one decimal", doc: withTiers(`[{"up_to_eur":"1000.5","approvals":1},{"approvals":2}]`), ok: true},

		{name: "fail/not json", doc: `{"rate_max_age":`, path: ""},
		{name: "fail/trailing data", doc: minimal("") + ` {}`, path: ""},
		{name: "fail/not an object", doc: `[]`, path: ""},
		{name: "fail/invalid utf8", doc: "{\"timezone\":\"\xff\"}", path: ""},
		{name: "fail/too large", doc: `{"x":"` + strings.Repeat("a", MaxDocumentSize) + `"}`, path: ""},
		{name: "fail/unknown field", doc: minimal(`,"comment":"x"`), path: "comment"},
		{name: "fail/unknown field nested", doc: withTiers(`[{"approval":1}]`), path: `actions["transfer"].tiers[0].approval`},
		{name: "fail/unknown field spending", doc: withSpending(`{"daily":"1"}`), path: `spending["*"].daily`},
		{name: "fail/unknown field action", doc: `{"rate_max_age":"1h","actions":{"transfer":{"expiry":"1h","tiers":[{"approvals":1}],"quorum":2}}}`, path: `actions["transfer"].quorum`},
		{name: "fail/field case differs", doc: `{"Rate_max_age":"1h","actions":{}}`, path: "Rate_max_age"},
		{name: "fail/duplicate key", doc: `{"rate_max_age":"1h","rate_max_age":"2h","actions":{}}`, path: "rate_max_age"},
		{name: "fail/duplicate action", doc: `{"rate_max_age":"1h","actions":{"transfer":{"expiry":"1h","tiers":[{"approvals":1}]},"transfer":{"expiry":"1h","tiers":[{"approvals":0}]}}}`, path: `actions["transfer"]`},
		{name: "fail/null", doc: `{"rate_max_age":null,"actions":{}}`, path: "rate_max_age"},
		{name: "fail/missing rate_max_age", doc: `{"actions":{}}`, path: "rate_max_age"},
		{name: "fail/missing actions", doc: `{"rate_max_age":"1h"}`, path: "actions"},
		{name: "fail/bad duration", doc: `{"rate_max_age":"15 minutes","actions":{}}`, path: "rate_max_age"},
		{name: "fail/negative duration", doc: `{"rate_max_age":"-1h","actions":{}}`, path: "rate_max_age"},
		{name: "fail/zero duration", doc: `{"rate_max_age":"0s","actions":{}}`, path: "rate_max_age"},
		{name: "fail/duration too long", doc: `{"rate_max_age":"9000h","actions":{}}`, path: "rate_max_age"},
		{name: "fail/duration as number", doc: `{"rate_max_age":900,"actions":{}}`, path: "rate_max_age"},
		{name: "fail/bad timezone", doc: minimal(`,"timezone":"Mars/Olympus_Mons"`), path: "timezone"},
		{name: "fail/timezone local", doc: minimal(`,"timezone":"Local"`), path: "timezone"},
		{name: "fail/timezone empty", doc: minimal(`,"timezone":""`), path: "timezone"},
		{name: "fail/timezone path", doc: minimal(`,"timezone":"../../etc/passwd"`), path: "timezone"},
		{name: "fail/bad action name", doc: `{"rate_max_age":"1h","actions":{"Transfer":{"expiry":"1h","tiers":[{"approvals":1}]}}}`, path: `actions["Transfer"]`},
		{name: "fail/missing expiry", doc: `{"rate_max_age":"1h","actions":{"transfer":{"tiers":[{"approvals":1}]}}}`, path: `actions["transfer"].expiry`},
		{name: "fail/missing tiers", doc: `{"rate_max_age":"1h","actions":{"transfer":{"expiry":"1h"}}}`, path: `actions["transfer"].tiers`},
		{name: "fail/no tiers", doc: withTiers(`[]`), path: `actions["transfer"].tiers`},
		{name: "fail/rejections_to_deny zero", doc: `{"rate_max_age":"1h","actions":{"transfer":{"expiry":"1h","rejections_to_deny":0,"tiers":[{"approvals":1}]}}}`, path: `actions["transfer"].rejections_to_deny`},
		{name: "fail/unsorted tiers", doc: withTiers(`[{"up_to_eur":"10000","approvals":1},{"up_to_eur":"1000","approvals":2},{"approvals":4}]`), path: `actions["transfer"].tiers[1].up_to_eur`},
		{name: "fail/equal tier bounds", doc: withTiers(`[{"up_to_eur":"1000","approvals":1},{"up_to_eur":"1000.00","approvals":2},{"approvals":4}]`), path: `actions["transfer"].tiers[1].up_to_eur`},
		{name: "fail/last tier bounded", doc: withTiers(`[{"up_to_eur":"1000","approvals":1},{"up_to_eur":"10000","approvals":2}]`), path: `actions["transfer"].tiers[1].up_to_eur`},
		{name: "fail/middle tier unbounded", doc: withTiers(`[{"approvals":1},{"approvals":2}]`), path: `actions["transfer"].tiers[0].up_to_eur`},
		{name: "fail/decreasing approvals", doc: withTiers(`[{"up_to_eur":"1000","approvals":3},{"approvals":2}]`), path: `actions["transfer"].tiers[1].approvals`},
		{name: "fail/missing approvals", doc: withTiers(`[{"roles":{}}]`), path: `actions["transfer"].tiers[0].approvals`},
		{name: "fail/approvals too many", doc: withTiers(`[{"approvals":51}]`), path: `actions["transfer"].tiers[0].approvals`},
		{name: "fail/approvals negative", doc: withTiers(`[{"approvals":-1}]`), path: `actions["transfer"].tiers[0].approvals`},
		{name: "fail/approvals fraction", doc: withTiers(`[{"approvals":1.5}]`), path: `actions["transfer"].tiers[0].approvals`},
		{name: "fail/approvals exponent", doc: withTiers(`[{"approvals":1e0}]`), path: `actions["transfer"].tiers[0].approvals`},
		{name: "fail/approvals string", doc: withTiers(`[{"approvals":"1"}]`), path: `actions["transfer"].tiers[0].approvals`},
		{name: "fail/roles sum over approvals", doc: withTiers(`[{"approvals":2,"roles":{"approver":1,"treasury_manager":2}}]`), path: `actions["transfer"].tiers[0].roles`},
		{name: "fail/roles on zero approvals", doc: withTiers(`[{"approvals":0,"roles":{"approver":1}}]`), path: `actions["transfer"].tiers[0].roles`},
		{name: "fail/unknown role", doc: withTiers(`[{"approvals":2,"roles":{"cfo":1}}]`), path: `actions["transfer"].tiers[0].roles["cfo"]`},
		{name: "fail/role count zero", doc: withTiers(`[{"approvals":2,"roles":{"approver":0}}]`), path: `actions["transfer"].tiers[0].roles["approver"]`},
		{name: "fail/non-approving role", doc: withTiers(`[{"approvals":2,"roles":{"admin":1}}]`), path: `actions["transfer"].tiers[0].roles["admin"]`},
		{name: "fail/viewer role", doc: withTiers(`[{"approvals":2,"roles":{"viewer":1}}]`), path: `actions["transfer"].tiers[0].roles["viewer"]`},
		{name: "fail/negative amount", doc: withTiers(`[{"up_to_eur":"-5","approvals":1},{"approvals":2}]`), path: `actions["transfer"].tiers[0].up_to_eur`},
		{name: "fail/three decimals", doc: withTiers(`[{"up_to_eur":"1000.001","approvals":1},{"approvals":2}]`), path: `actions["transfer"].tiers[0].up_to_eur`},
		{name: "fail/amount as number", doc: withTiers(`[{"up_to_eur":1000,"approvals":1},{"approvals":2}]`), path: `actions["transfer"].tiers[0].up_to_eur`},
		{name: "fail/amount exponent", doc: withSpending(`{"daily_eur":"1e6"}`), path: `spending["*"].daily_eur`},
		{name: "fail/amount separators", doc: withSpending(`{"daily_eur":"1,000"}`), path: `spending["*"].daily_eur`},
		{name: "fail/amount trailing dot", doc: withSpending(`{"daily_eur":"1000."}`), path: `spending["*"].daily_eur`},
		{name: "fail/amount leading dot", doc: withSpending(`{"daily_eur":".5"}`), path: `spending["*"].daily_eur`},
		{name: "fail/amount plus", doc: withSpending(`{"daily_eur":"+5"}`), path: `spending["*"].daily_eur`},
		{name: "fail/amount space", doc: withSpending(`{"daily_eur":" 5"}`), path: `spending["*"].daily_eur`},
		{name: "fail/amount empty", doc: withSpending(`{"daily_eur":""}`), path: `spending["*"].daily_eur`},
		{name: "fail/amount too large", doc: withSpending(`{"monthly_eur":"1000000000000000.01"}`), path: `spending["*"].monthly_eur`},
		{name: "fail/negative per transaction", doc: withSpending(`{"per_transaction_eur":"-1"}`), path: `spending["*"].per_transaction_eur`},
		{name: "fail/velocity negative", doc: withSpending(`{"max_per_hour":-1}`), path: `spending["*"].max_per_hour`},
		{name: "fail/velocity too large", doc: withSpending(`{"max_per_day":1000001}`), path: `spending["*"].max_per_day`},
		{name: "fail/bad cooldown", doc: withSpending(`{"cooldown":"30"}`), path: `spending["*"].cooldown`},
		{name: "fail/hours equal", doc: withSpending(`{"allowed_hours":{"from":8,"to":8}}`), path: `spending["*"].allowed_hours`},
		{name: "fail/hours to 25", doc: withSpending(`{"allowed_hours":{"from":8,"to":25}}`), path: `spending["*"].allowed_hours.to`},
		{name: "fail/hours from 24", doc: withSpending(`{"allowed_hours":{"from":24,"to":6}}`), path: `spending["*"].allowed_hours.from`},
		{name: "fail/hours missing to", doc: withSpending(`{"allowed_hours":{"from":8}}`), path: `spending["*"].allowed_hours.to`},
		{name: "fail/hours as array", doc: withSpending(`{"allowed_hours":[8,20]}`), path: `spending["*"].allowed_hours`},
		{name: "fail/bad weekday", doc: withSpending(`{"allowed_weekdays":["monday"]}`), path: `spending["*"].allowed_weekdays[0]`},
		{name: "fail/weekday upper case", doc: withSpending(`{"allowed_weekdays":["mon","Tue"]}`), path: `spending["*"].allowed_weekdays[1]`},
		{name: "fail/duplicate weekday", doc: withSpending(`{"allowed_weekdays":["mon","tue","mon"]}`), path: `spending["*"].allowed_weekdays[2]`},
		{name: "fail/empty weekdays", doc: withSpending(`{"allowed_weekdays":[]}`), path: `spending["*"].allowed_weekdays`},
		{name: "fail/allowlist null", doc: withSpending(`{"allowlist":null}`), path: `spending["*"].allowlist`},
		{name: "fail/allowlist missing address", doc: withSpending(`{"allowlist":[{"chain":"ethereum"}]}`), path: `spending["*"].allowlist[0].address`},
		{name: "fail/allowlist missing chain", doc: withSpending(`{"allowlist":[{"address":"0xabc"}]}`), path: `spending["*"].allowlist[0].chain`},
		{name: "fail/allowlist address space", doc: withSpending(`{"allowlist":[{"chain":"ethereum","address":"0x ab"}]}`), path: `spending["*"].allowlist[0].address`},
		{name: "fail/allowlist duplicate", doc: withSpending(`{"allowlist":[{"chain":"ethereum","address":"0xABC"},{"chain":"Ethereum","address":"0xabc"}]}`), path: `spending["*"].allowlist[1]`},
		{name: "fail/allowlist bad expiry", doc: withSpending(`{"allowlist":[{"chain":"ethereum","address":"0xabc","expires_at":"2027-01-01"}]}`), path: `spending["*"].allowlist[0].expires_at`},
		{name: "fail/allowlist label control", doc: withSpending(`{"allowlist":[{"chain":"ethereum","address":"0xabc","label":"a\u0007b"}]}`), path: `spending["*"].allowlist[0].label`},
		{name: "fail/allowlist unknown field", doc: withSpending(`{"allowlist":[{"chain":"ethereum","address":"0xabc","memo":"x"}]}`), path: `spending["*"].allowlist[0].memo`},
		{name: "fail/bad wallet id", doc: minimal(`,"spending":{"a b":{}}`), path: `spending["a b"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := Parse([]byte(tt.doc))
			if tt.ok {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse accepted the document; canonical: %s", doc.Canonical())
			}
			if !errors.Is(err, ErrInvalidDocument) {
				t.Fatalf("error %v does not wrap ErrInvalidDocument", err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not a *FieldError", err)
			}
			if fe.Path != tt.path {
				t.Fatalf("path = %q, want %q (error: %v)", fe.Path, tt.path, err)
			}
			if !strings.HasPrefix(err.Error(), "policy: invalid document: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
		})
	}
}

const specExample = `{
  "timezone": "Europe/Berlin",
  "rate_max_age": "15m",
  "actions": {
    "transfer": {
      "expiry": "24h",
      "rejections_to_deny": 1,
      "tiers": [
        {"up_to_eur": "1000", "approvals": 1},
        {"up_to_eur": "10000", "approvals": 2},
        {"approvals": 4, "roles": {"treasury_manager": 1}}
      ]
    },
    "wallet.create": {"expiry": "48h", "rejections_to_deny": 2, "tiers": [{"approvals": 2, "roles": {"treasury_manager": 1, "approver": 1}}]}
  },
  "spending": {
    "*": {
      "per_transaction_eur": "50000",
      "daily_eur": "100000", "weekly_eur": "300000.5", "monthly_eur": "1000000.25",
      "max_per_hour": 10, "max_per_day": 50,
      "cooldown": "30s",
      "allowed_hours": {"from": 8, "to": 20},
      "allowed_weekdays": ["fri","mon","tue","wed","thu"],
      "allowlist": [
        {"chain": "solana", "address": "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"},
        {"chain": "Ethereum", "address": "0xAbC0000000000000000000000000000000000001", "label": "payroll <ops>", "expires_at": "2027-01-01T01:00:00+01:00"}
      ]
    },
    "wallet-7": {"daily_eur": "5.5"}
  }
}`

const specCanonical = `{"timezone":"Europe/Berlin","rate_max_age":"15m0s","actions":{"transfer":{"expiry":"24h0m0s","rejections_to_deny":1,"tiers":[{"up_to_eur":"1000.00","approvals":1},{"up_to_eur":"10000.00","approvals":2},{"approvals":4,"roles":{"treasury_manager":1}}]},"wallet.create":{"expiry":"48h0m0s","rejections_to_deny":2,"tiers":[{"approvals":2,"roles":{"approver":1,"treasury_manager":1}}]}},"spending":{"*":{"per_transaction_eur":"50000.00","daily_eur":"100000.00","weekly_eur":"300000.50","monthly_eur":"1000000.25","max_per_hour":10,"max_per_day":50,"cooldown":"30s","allowed_hours":{"from":8,"to":20},"allowed_weekdays":["mon","tue","wed","thu","fri"],"allowlist":[{"chain":"ethereum","address":"0xAbC0000000000000000000000000000000000001","label":"payroll \u003cops\u003e","expires_at":"2027-01-01T00:00:00Z"},{"chain":"solana","address":"9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"}]},"wallet-7":{"daily_eur":"5.50"}}}`

func TestCanonical(t *testing.T) {
	doc, err := Parse([]byte(specExample))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("ok/golden", func(t *testing.T) {
		if got := string(doc.Canonical()); got != specCanonical {
			t.Fatalf("canonical:\n got %s\nwant %s", got, specCanonical)
		}
	})
	t.Run("ok/round trip", func(t *testing.T) {
		for _, src := range []string{specExample, defaultPolicy, minimal(""), withSpending(`{"allowlist":[]}`), `{"rate_max_age":"1h","actions":{}}`} {
			d1, err := Parse([]byte(src))
			if err != nil {
				t.Fatal(err)
			}
			d2, err := Parse(d1.Canonical())
			if err != nil {
				t.Fatalf("Parse(Canonical()): %v\n%s", err, d1.Canonical())
			}
			if !bytes.Equal(d1.Canonical(), d2.Canonical()) || d1.Hash() != d2.Hash() {
				t.Fatalf("round trip changed the document:\n%s\n%s", d1.Canonical(), d2.Canonical())
			}
		}
	})
	t.Run("ok/same document same hash", func(t *testing.T) {
		// Key order, whitespace, number spelling, weekday order, allowlist
		// order and time offsets do not change the hash.
		var v map[string]any
		if err := json.Unmarshal([]byte(specExample), &v); err != nil {
			t.Fatal(err)
		}
		reordered, _ := json.MarshalIndent(v, "", "\t") // keys sorted, new layout
		d2, err := Parse(reordered)
		if err != nil {
			t.Fatal(err)
		}
		if d2.Hash() != doc.Hash() {
			t.Fatalf("hash differs:\n%s\n%s", doc.Canonical(), d2.Canonical())
		}
	})
	t.Run("ok/hash changes with content", func(t *testing.T) {
		d2, err := Parse([]byte(strings.Replace(specExample, `"max_per_hour": 10`, `"max_per_hour": 11`, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if d2.Hash() == doc.Hash() {
			t.Fatal("different documents have the same hash")
		}
	})
	t.Run("ok/canonical is a copy", func(t *testing.T) {
		c := doc.Canonical()
		c[0] = 'X'
		if doc.Canonical()[0] != '{' {
			t.Fatal("Canonical exposes the document's bytes")
		}
	})
	t.Run("ok/empty allowlist differs from none", func(t *testing.T) {
		a, _ := Parse([]byte(withSpending(`{"allowlist":[]}`)))
		b, _ := Parse([]byte(withSpending(`{}`)))
		if a.Hash() == b.Hash() {
			t.Fatal("an empty allowlist and no allowlist hash alike")
		}
	})
}

func TestDefault(t *testing.T) {
	doc := Default()
	if doc.Timezone() != "UTC" || doc.RateMaxAge().String() != "1h0m0s" {
		t.Fatalf("zone %q, rate_max_age %s", doc.Timezone(), doc.RateMaxAge())
	}
	tests := []struct {
		name   string
		action string
		eur    int64
		want   Requirement
	}{
		{"ok/transfer small", ActionTransfer, 100000, Requirement{Tier: 0, Approvals: 1}},
		{"ok/transfer medium", ActionTransfer, 1000000, Requirement{Tier: 1, Approvals: 2}},
		{"ok/transfer large", ActionTransfer, 1000001, Requirement{Tier: 2, Approvals: 4, Roles: map[string]int{"treasury_manager": 1}}},
		{"ok/wallet.create", ActionWalletCreate, 0, Requirement{Approvals: 2, Roles: map[string]int{"treasury_manager": 1}}},
		{"ok/policy.change", ActionPolicyChange, 0, Requirement{Approvals: 2, Roles: map[string]int{"treasury_manager": 1}}},
		{"ok/user.role.assign", ActionUserRoleAssign, 0, Requirement{Approvals: 2, Roles: map[string]int{"treasury_manager": 1}}},
		{"ok/rate.set", ActionRateSet, 0, Requirement{Approvals: 2, Roles: map[string]int{"treasury_manager": 1}}},
		{"ok/emergency_stop.off", ActionEmergencyOff, 0, Requirement{Approvals: 2, Roles: map[string]int{"treasury_manager": 1}}},
		{"ok/apikey.create", ActionAPIKeyCreate, 0, Requirement{Approvals: 1}},
		{"ok/wallet.freeze", ActionWalletFreeze, 0, Requirement{Approvals: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RequirementFor(doc, tt.action, tt.eur)
			if err != nil {
				t.Fatal(err)
			}
			if got.Tier != tt.want.Tier || got.Approvals != tt.want.Approvals || !sameRoles(got.Roles, tt.want.Roles) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			if got.Expiry <= 0 || got.RejectionsToDeny != 1 {
				t.Fatalf("expiry %s, rejections_to_deny %d", got.Expiry, got.RejectionsToDeny)
			}
		})
	}
	t.Run("ok/default spending", func(t *testing.T) {
		r := doc.d.Spending[DefaultWallet]
		if r == nil || r.PerTransactionEUR == nil || *r.PerTransactionEUR != 10_000_000 || *r.DailyEUR != 25_000_000 ||
			r.AllowedHours != nil || r.AllowedWeekdays != nil || r.Allowlist != nil {
			t.Fatalf("default spending rules: %s", doc.Canonical())
		}
	})
	t.Run("ok/fresh each call", func(t *testing.T) {
		if Default() == doc || Default().Hash() != doc.Hash() {
			t.Fatal("Default should return equal, distinct documents")
		}
	})
	t.Run("ok/actions", func(t *testing.T) {
		got := strings.Join(doc.Actions(), ",")
		want := "apikey.create,emergency_stop.off,guardian.add,guardian.remove,key.rotate,policy.change,rate.set,threshold.modify,transfer,user.credential.add,user.role.assign,wallet.create,wallet.freeze,wallet.unfreeze"
		if got != want {
			t.Fatalf("actions %s", got)
		}
	})
}

func sameRoles(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestAllowlisted(t *testing.T) {
	doc, err := Parse([]byte(withSpending(`{"allowlist":[{"chain":"ethereum","address":"0xAbC","label":"Supplier GmbH","expires_at":"2027-01-01T00:00:00Z"},{"chain":"bitcoin","address":"bc1q"}]}`)))
	if err != nil {
		t.Fatal(err)
	}
	e, restricted := doc.Allowlisted("any-wallet", "Ethereum", "0xabc")
	if !restricted || e == nil || e.Label != "Supplier GmbH" || e.ExpiresAt == nil || !e.ExpiresAt.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("listed destination: %+v, restricted %v", e, restricted)
	}
	if e, restricted := doc.Allowlisted("w", "bitcoin", "bc1q"); !restricted || e == nil || e.Label != "" || e.ExpiresAt != nil {
		t.Fatalf("listed without label: %+v", e)
	}
	if e, restricted := doc.Allowlisted("w", "ethereum", "0xdef"); !restricted || e != nil {
		t.Fatalf("unlisted destination: %+v, restricted %v", e, restricted)
	}
	if e, restricted := Default().Allowlisted("w", "ethereum", "0xabc"); restricted || e != nil {
		t.Fatalf("the default policy restricts destinations: %+v", e)
	}
}

func TestTiers(t *testing.T) {
	doc := Default()
	tiers := doc.Tiers("transfer")
	if len(tiers) != 3 || *tiers[0].UpToEURCents != 100_000 || *tiers[1].UpToEURCents != 1_000_000 || tiers[2].UpToEURCents != nil ||
		tiers[2].Approvals != 4 || tiers[2].Roles["treasury_manager"] != 1 {
		t.Fatalf("default transfer tiers: %+v", tiers)
	}
	tiers[2].Roles["treasury_manager"] = 9 // a copy: the document is unchanged
	if doc.Tiers("transfer")[2].Roles["treasury_manager"] != 1 || doc.Tiers("no.such.action") != nil {
		t.Fatal("Tiers shares the document's state or invents tiers")
	}
}
