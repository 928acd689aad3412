package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Actions Custos knows. A document may name any other well-formed action
// (lower-case words joined by dots).
const (
	ActionTransfer        = "transfer"
	ActionWalletCreate    = "wallet.create"
	ActionWalletFreeze    = "wallet.freeze"
	ActionWalletUnfreeze  = "wallet.unfreeze"
	ActionPolicyChange    = "policy.change"
	ActionUserRoleAssign  = "user.role.assign"
	ActionAPIKeyCreate    = "apikey.create"
	ActionGuardianAdd     = "guardian.add"
	ActionGuardianRemove  = "guardian.remove"
	ActionKeyRotate       = "key.rotate"
	ActionThresholdModify = "threshold.modify"
	ActionRateSet         = "rate.set"
	ActionEmergencyOff    = "emergency_stop.off"
)

// DefaultWallet is the "spending" key whose rules apply to wallets without
// an entry of their own.
const DefaultWallet = "*"

// Bounds on a document.
const (
	// MaxDocumentSize is the largest document Parse accepts, in bytes.
	MaxDocumentSize = 1 << 20
	// MaxApprovals bounds a tier's "approvals" and "rejections_to_deny".
	MaxApprovals = 50
	// MaxDuration bounds every duration in a document (366 days).
	MaxDuration = 366 * 24 * time.Hour
	// MaxCount bounds "max_per_hour" and "max_per_day".
	MaxCount = 1_000_000
)

// validRole reports whether a tier may require role: only the roles whose
// votes count (approver, treasury_manager). A requirement for any other
// role could never be met.
func validRole(r string) bool {
	switch r {
	case "treasury_manager", "approver":
		return true
	}
	return false
}

var weekdayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"} // index = time.Weekday

// Document is a parsed, validated policy document. It is immutable and safe
// for concurrent use; build one with Parse or Default.
type Document struct {
	d         *document
	loc       *time.Location
	canonical []byte
	hash      [32]byte
}

// Canonical returns the document's deterministic JSON encoding (a fresh
// copy): same document, same bytes, and Parse(Canonical()) round-trips.
// Amounts are written "1000.00", durations as Go prints them ("15m0s"),
// object keys sorted, weekdays in week order, allowlist entries sorted by
// chain and lower-cased address, times in UTC.
func (doc *Document) Canonical() []byte { return bytes.Clone(doc.canonical) }

// Hash returns the SHA-256 of Canonical().
func (doc *Document) Hash() [32]byte { return doc.hash }

// Timezone returns the IANA zone allowed hours and weekdays are evaluated in.
func (doc *Document) Timezone() string { return doc.d.Timezone }

// RateMaxAge returns the age beyond which a EUR rate is refused.
func (doc *Document) RateMaxAge() time.Duration { return time.Duration(doc.d.RateMaxAge) }

// Actions returns the sorted names of the actions the document has a
// policy for.
func (doc *Document) Actions() []string {
	names := make([]string, 0, len(doc.d.Actions))
	for n := range doc.d.Actions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Parse decodes and validates a policy document (see the package comment
// for the format and what is refused). Errors are *FieldError values that
// wrap ErrInvalidDocument.
func Parse(data []byte) (*Document, error) {
	if len(data) > MaxDocumentSize {
		return nil, errAt("", "larger than %d bytes", MaxDocumentSize)
	}
	if !utf8.Valid(data) {
		return nil, errAt("", "not valid UTF-8")
	}
	var probe json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, errAt("", "malformed JSON at byte %d: %s", se.Offset, se.Error())
		}
		return nil, errAt("", "malformed JSON: %s", err.Error())
	}
	d, loc, err := decodeDocument(data)
	if err != nil {
		return nil, err
	}
	canonical, err := json.Marshal(d)
	if err != nil { // unreachable for a validated document
		return nil, errAt("", "cannot encode: %s", err.Error())
	}
	return &Document{d: d, loc: loc, canonical: canonical, hash: sha256.Sum256(canonical)}, nil
}

// defaultPolicy is the document Default returns.
const defaultPolicy = `{
  "timezone": "UTC",
  "rate_max_age": "1h",
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
    "wallet.create":    {"expiry": "72h", "tiers": [{"approvals": 2, "roles": {"treasury_manager": 1}}]},
    "wallet.freeze":    {"expiry": "1h",  "tiers": [{"approvals": 0}]},
    "wallet.unfreeze":  {"expiry": "72h", "tiers": [{"approvals": 2, "roles": {"treasury_manager": 1}}]},
    "policy.change":    {"expiry": "72h", "tiers": [{"approvals": 2, "roles": {"treasury_manager": 1}}]},
    "user.role.assign": {"expiry": "72h", "tiers": [{"approvals": 2, "roles": {"treasury_manager": 1}}]},
    "user.credential.add": {"expiry": "72h", "tiers": [{"approvals": 2, "roles": {"treasury_manager": 1}}]},
    "apikey.create":    {"expiry": "72h", "tiers": [{"approvals": 1}]},
    "rate.set":         {"expiry": "24h", "tiers": [{"approvals": 2, "roles": {"treasury_manager": 1}}]},
    "emergency_stop.off": {"expiry": "24h", "tiers": [{"approvals": 2, "roles": {"treasury_manager": 1}}]},
    "guardian.add":     {"expiry": "72h", "tiers": [{"approvals": 2, "roles": {"treasury_manager": 1}}]},
    "guardian.remove":  {"expiry": "72h", "tiers": [{"approvals": 2, "roles": {"treasury_manager": 1}}]},
    "key.rotate":       {"expiry": "72h", "tiers": [{"approvals": 2, "roles": {"treasury_manager": 1}}]},
    "threshold.modify": {"expiry": "72h", "tiers": [{"approvals": 2, "roles": {"treasury_manager": 1}}]}
  },
  "spending": {
    "*": {
      "per_transaction_eur": "100000",
      "daily_eur": "250000",
      "weekly_eur": "1000000",
      "monthly_eur": "3000000",
      "max_per_hour": 30,
      "max_per_day": 200
    }
  }
}`

// Default returns the policy Custos ships with: transfers need 1 approval
// up to EUR 1,000, 2 up to EUR 10,000 and 4 (one of them a
// treasury_manager) above; wallet.create, wallet.unfreeze, policy.change,
// user.role.assign, user.credential.add (a new passkey), rate.set (a rate
// move beyond the feed band),
// emergency_stop.off, guardian.add, guardian.remove, key.rotate and
// threshold.modify need 2 including a treasury_manager; apikey.create 1;
// wallet.freeze none (stopping money is never held up). Spending for every wallet: EUR 100,000 per transfer, 250,000 per
// 24h, 1,000,000 per 7 days, 3,000,000 per 30 days, 30 transfers per hour,
// 200 per day; no hours, weekday, cooldown or allowlist restriction. Zone
// UTC, rates refused after 1h.
func Default() *Document {
	doc, err := Parse([]byte(defaultPolicy))
	if err != nil {
		panic("policy: default policy does not parse: " + err.Error()) // covered by tests
	}
	return doc
}

// ---- typed document (its JSON encoding is the canonical form) ----

type document struct {
	Timezone   string                    `json:"timezone"`
	RateMaxAge duration                  `json:"rate_max_age"`
	Actions    map[string]*actionPolicy  `json:"actions"`
	Spending   map[string]*spendingRules `json:"spending,omitempty"`
}

type actionPolicy struct {
	Expiry           duration `json:"expiry"`
	RejectionsToDeny int      `json:"rejections_to_deny"`
	Tiers            []tier   `json:"tiers"`
}

type tier struct {
	UpToEUR   *eurAmount     `json:"up_to_eur,omitempty"`
	Approvals int            `json:"approvals"`
	Roles     map[string]int `json:"roles,omitempty"`
}

type spendingRules struct {
	PerTransactionEUR *eurAmount        `json:"per_transaction_eur,omitempty"`
	DailyEUR          *eurAmount        `json:"daily_eur,omitempty"`
	WeeklyEUR         *eurAmount        `json:"weekly_eur,omitempty"`
	MonthlyEUR        *eurAmount        `json:"monthly_eur,omitempty"`
	MaxPerHour        *int64            `json:"max_per_hour,omitempty"`
	MaxPerDay         *int64            `json:"max_per_day,omitempty"`
	Cooldown          *duration         `json:"cooldown,omitempty"`
	AllowedHours      *hourRange        `json:"allowed_hours,omitempty"`
	AllowedWeekdays   []string          `json:"allowed_weekdays,omitempty"` // nil = any; never empty
	Allowlist         *[]allowlistEntry `json:"allowlist,omitempty"`        // nil = any; non-nil, maybe empty = only these

	weekdays uint8                        // bit time.Weekday set = allowed
	allow    map[allowKey]*allowlistEntry // lower-cased chain and address
}

type hourRange struct {
	From int `json:"from"`
	To   int `json:"to"`
}

func (h hourRange) allows(hour int) bool {
	if h.From < h.To {
		return hour >= h.From && hour < h.To
	}
	return hour >= h.From || hour < h.To
}

type allowlistEntry struct {
	Chain     string     `json:"chain"`
	Address   string     `json:"address"`
	Label     string     `json:"label,omitempty"`
	ExpiresAt *timestamp `json:"expires_at,omitempty"`
}

type allowKey struct{ chain, address string }

// eurAmount is EUR cents, written "1000.00".
type eurAmount int64

func (e eurAmount) MarshalJSON() ([]byte, error) {
	return []byte(`"` + formatPlainCents(int64(e)) + `"`), nil
}

// duration is written as Go prints it: "15m0s".
type duration time.Duration

func (d duration) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Duration(d).String() + `"`), nil
}

// timestamp is written in UTC, RFC 3339 with the fraction Go prints.
type timestamp time.Time

func (t timestamp) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(time.RFC3339Nano) + `"`), nil
}

// ---- decoding with JSON paths ----

type jpath string

func (p jpath) field(name string) jpath {
	if p == "" {
		return jpath(name)
	}
	return p + "." + jpath(name)
}
func (p jpath) key(k string) jpath { return p + jpath("["+strconv.Quote(k)+"]") }
func (p jpath) index(i int) jpath  { return p + jpath("["+strconv.Itoa(i)+"]") }

func errAt(p jpath, format string, args ...any) error {
	return &FieldError{Path: string(p), Msg: fmt.Sprintf(format, args...)}
}

func kindOf(v []byte) string {
	v = bytes.TrimLeft(v, " \t\r\n")
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// eachField calls fn for each member of the JSON object raw, in document
// order, refusing anything that is not an object and duplicate keys. isMap
// says whether the keys are data (paths name them p["key"]) or field names
// (p.key).
func eachField(p jpath, raw []byte, isMap bool, fn func(key string, val json.RawMessage) error) error {
	if k := kindOf(raw); k != "an object" {
		return errAt(p, "must be an object, got %s", k)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // '{'
		return errAt(p, "malformed object: %v", err)
	}
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return errAt(p, "malformed object: %v", err)
		}
		key, ok := tok.(string)
		if !ok {
			return errAt(p, "malformed object")
		}
		kp := p.field(key)
		if isMap {
			kp = p.key(key)
		}
		if seen[key] {
			return errAt(kp, "duplicate key")
		}
		seen[key] = true
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return errAt(kp, "malformed value: %v", err)
		}
		if err := fn(key, val); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return errAt(p, "malformed object: %v", err)
	}
	return nil
}

// eachElement calls fn for each element of the JSON array raw.
func eachElement(p jpath, raw []byte, fn func(i int, val json.RawMessage) error) error {
	if k := kindOf(raw); k != "an array" {
		return errAt(p, "must be an array, got %s", k)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // '['
		return errAt(p, "malformed array: %v", err)
	}
	for i := 0; dec.More(); i++ {
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return errAt(p.index(i), "malformed value: %v", err)
		}
		if err := fn(i, val); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // ']'
		return errAt(p, "malformed array: %v", err)
	}
	return nil
}

func decodeString(p jpath, raw []byte) (string, error) {
	if k := kindOf(raw); k != "a string" {
		return "", errAt(p, "must be a string, got %s", k)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", errAt(p, "malformed string: %v", err)
	}
	return s, nil
}

func decodeInt(p jpath, raw []byte, lo, hi int64) (int64, error) {
	if k := kindOf(raw); k != "a number" {
		return 0, errAt(p, "must be an integer, got %s", k)
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64)
	if err != nil {
		return 0, errAt(p, "must be an integer, got %s", bytes.TrimSpace(raw))
	}
	if n < lo || n > hi {
		return 0, errAt(p, "must be between %d and %d, got %d", lo, hi, n)
	}
	return n, nil
}

func decodeEUR(p jpath, raw []byte) (*eurAmount, error) {
	if k := kindOf(raw); k != "a string" {
		return nil, errAt(p, "must be a decimal string such as \"1000.00\", got %s", k)
	}
	s, err := decodeString(p, raw)
	if err != nil {
		return nil, err
	}
	c, err := ParseEURCents(s)
	if err != nil {
		return nil, errAt(p, "%s", strings.TrimPrefix(err.Error(), "policy: "))
	}
	e := eurAmount(c)
	return &e, nil
}

func decodeDuration(p jpath, raw []byte) (duration, error) {
	s, err := decodeString(p, raw)
	if err != nil {
		return 0, err
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errAt(p, "must be a duration such as \"15m\" or \"24h\", got %q", s)
	}
	if d <= 0 || d > MaxDuration {
		return 0, errAt(p, "must be positive and at most %s, got %q", MaxDuration, s)
	}
	return duration(d), nil
}

func decodeDocument(data []byte) (*document, *time.Location, error) {
	d := &document{Timezone: "UTC"}
	loc := time.UTC
	var haveRateMaxAge, haveActions bool
	err := eachField("", data, false, func(k string, v json.RawMessage) error {
		p := jpath("").field(k)
		switch k {
		case "timezone":
			s, err := decodeString(p, v)
			if err != nil {
				return err
			}
			if loc, err = loadZone(p, s); err != nil {
				return err
			}
			d.Timezone = s
		case "rate_max_age":
			r, err := decodeDuration(p, v)
			if err != nil {
				return err
			}
			d.RateMaxAge, haveRateMaxAge = r, true
		case "actions":
			haveActions = true
			d.Actions = make(map[string]*actionPolicy)
			return eachField(p, v, true, func(name string, av json.RawMessage) error {
				if !validActionName(name) {
					return errAt(p.key(name), "action name must be lower-case words (a-z, 0-9, _) joined by dots, at most 64 characters")
				}
				a, err := decodeAction(p.key(name), av)
				if err != nil {
					return err
				}
				d.Actions[name] = a
				return nil
			})
		case "spending":
			d.Spending = make(map[string]*spendingRules)
			return eachField(p, v, true, func(wallet string, sv json.RawMessage) error {
				if !validWalletKey(wallet) {
					return errAt(p.key(wallet), "wallet id must be \"*\" or 1 to 128 characters of A-Z a-z 0-9 . _ : -")
				}
				s, err := decodeSpending(p.key(wallet), sv)
				if err != nil {
					return err
				}
				d.Spending[wallet] = s
				return nil
			})
		default:
			return errAt(p, "unknown field")
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if !haveRateMaxAge {
		return nil, nil, errAt("rate_max_age", "required")
	}
	if !haveActions {
		return nil, nil, errAt("actions", "required")
	}
	if len(d.Spending) == 0 {
		d.Spending = nil
	}
	return d, loc, nil
}

func loadZone(p jpath, name string) (*time.Location, error) {
	ok := name != "" && len(name) <= 64 && name != "Local"
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '/' || c == '_' || c == '-' || c == '+'
	}
	if !ok || strings.Contains(name, "..") {
		return nil, errAt(p, "must be an IANA time zone such as \"Europe/Berlin\" or \"UTC\", got %q", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, errAt(p, "unknown time zone %q", name)
	}
	return loc, nil
}

func validActionName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" || part[0] < 'a' || part[0] > 'z' {
			return false
		}
		for i := 0; i < len(part); i++ {
			c := part[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
				return false
			}
		}
	}
	return true
}

func validWalletKey(s string) bool {
	if s == DefaultWallet {
		return true
	}
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

func decodeAction(p jpath, raw []byte) (*actionPolicy, error) {
	a := &actionPolicy{RejectionsToDeny: 1}
	var haveExpiry, haveTiers bool
	err := eachField(p, raw, false, func(k string, v json.RawMessage) error {
		fp := p.field(k)
		switch k {
		case "expiry":
			e, err := decodeDuration(fp, v)
			if err != nil {
				return err
			}
			a.Expiry, haveExpiry = e, true
		case "rejections_to_deny":
			n, err := decodeInt(fp, v, 1, MaxApprovals)
			if err != nil {
				return err
			}
			a.RejectionsToDeny = int(n)
		case "tiers":
			haveTiers = true
			a.Tiers = []tier{}
			return eachElement(fp, v, func(i int, tv json.RawMessage) error {
				t, err := decodeTier(fp.index(i), tv)
				if err != nil {
					return err
				}
				a.Tiers = append(a.Tiers, t)
				return nil
			})
		default:
			return errAt(fp, "unknown field")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !haveExpiry {
		return nil, errAt(p.field("expiry"), "required")
	}
	if !haveTiers {
		return nil, errAt(p.field("tiers"), "required")
	}
	tp := p.field("tiers")
	if len(a.Tiers) == 0 {
		return nil, errAt(tp, "must have at least one tier")
	}
	last := len(a.Tiers) - 1
	for i, t := range a.Tiers {
		if i == last {
			if t.UpToEUR != nil {
				return nil, errAt(tp.index(i).field("up_to_eur"), "the last tier must have no bound (it takes every amount above the previous tier)")
			}
		} else if t.UpToEUR == nil {
			return nil, errAt(tp.index(i).field("up_to_eur"), "required on every tier but the last")
		}
		if i == 0 {
			continue
		}
		prev := a.Tiers[i-1]
		if t.UpToEUR != nil && *t.UpToEUR <= *prev.UpToEUR {
			return nil, errAt(tp.index(i).field("up_to_eur"), "must be greater than tiers[%d].up_to_eur (%s)", i-1, formatPlainCents(int64(*prev.UpToEUR)))
		}
		if t.Approvals < prev.Approvals {
			return nil, errAt(tp.index(i).field("approvals"), "must not be lower than tiers[%d].approvals (%d)", i-1, prev.Approvals)
		}
	}
	return a, nil
}

func decodeTier(p jpath, raw []byte) (tier, error) {
	var t tier
	var haveApprovals bool
	err := eachField(p, raw, false, func(k string, v json.RawMessage) error {
		fp := p.field(k)
		switch k {
		case "up_to_eur":
			e, err := decodeEUR(fp, v)
			if err != nil {
				return err
			}
			t.UpToEUR = e
		case "approvals":
			n, err := decodeInt(fp, v, 0, MaxApprovals)
			if err != nil {
				return err
			}
			t.Approvals, haveApprovals = int(n), true
		case "roles":
			t.Roles = make(map[string]int)
			return eachField(fp, v, true, func(role string, rv json.RawMessage) error {
				if !validRole(role) {
					return errAt(fp.key(role), "not an approving role; a tier may require approver or treasury_manager")
				}
				n, err := decodeInt(fp.key(role), rv, 1, MaxApprovals)
				if err != nil {
					return err
				}
				t.Roles[role] = int(n)
				return nil
			})
		default:
			return errAt(fp, "unknown field")
		}
		return nil
	})
	if err != nil {
		return tier{}, err
	}
	if !haveApprovals {
		return tier{}, errAt(p.field("approvals"), "required")
	}
	sum := 0
	for _, n := range t.Roles {
		sum += n
	}
	if sum > t.Approvals {
		return tier{}, errAt(p.field("roles"), "role minimums add up to %d, more than the %d approvals of the tier", sum, t.Approvals)
	}
	if len(t.Roles) == 0 {
		t.Roles = nil
	}
	return t, nil
}

func decodeSpending(p jpath, raw []byte) (*spendingRules, error) {
	s := &spendingRules{}
	err := eachField(p, raw, false, func(k string, v json.RawMessage) error {
		fp := p.field(k)
		var err error
		switch k {
		case "per_transaction_eur":
			s.PerTransactionEUR, err = decodeEUR(fp, v)
		case "daily_eur":
			s.DailyEUR, err = decodeEUR(fp, v)
		case "weekly_eur":
			s.WeeklyEUR, err = decodeEUR(fp, v)
		case "monthly_eur":
			s.MonthlyEUR, err = decodeEUR(fp, v)
		case "max_per_hour", "max_per_day":
			var n int64
			if n, err = decodeInt(fp, v, 0, MaxCount); err == nil {
				if k == "max_per_hour" {
					s.MaxPerHour = &n
				} else {
					s.MaxPerDay = &n
				}
			}
		case "cooldown":
			var c duration
			if c, err = decodeDuration(fp, v); err == nil {
				s.Cooldown = &c
			}
		case "allowed_hours":
			s.AllowedHours, err = decodeHours(fp, v)
		case "allowed_weekdays":
			err = decodeWeekdays(fp, v, s)
		case "allowlist":
			err = decodeAllowlist(fp, v, s)
		default:
			err = errAt(fp, "unknown field")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

func decodeHours(p jpath, raw []byte) (*hourRange, error) {
	var h hourRange
	var haveFrom, haveTo bool
	err := eachField(p, raw, false, func(k string, v json.RawMessage) error {
		fp := p.field(k)
		switch k {
		case "from":
			n, err := decodeInt(fp, v, 0, 23)
			if err != nil {
				return err
			}
			h.From, haveFrom = int(n), true
		case "to":
			n, err := decodeInt(fp, v, 0, 24)
			if err != nil {
				return err
			}
			h.To, haveTo = int(n), true
		default:
			return errAt(fp, "unknown field")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !haveFrom {
		return nil, errAt(p.field("from"), "required")
	}
	if !haveTo {
		return nil, errAt(p.field("to"), "required")
	}
	if h.From == h.To {
		return nil, errAt(p, "from and to must differ (from < to allows [from, to); from > to wraps past midnight)")
	}
	return &h, nil
}

func decodeWeekdays(p jpath, raw []byte, s *spendingRules) error {
	err := eachElement(p, raw, func(i int, v json.RawMessage) error {
		name, err := decodeString(p.index(i), v)
		if err != nil {
			return err
		}
		day := slices.Index(weekdayNames[:], name)
		if day < 0 {
			return errAt(p.index(i), "must be one of mon, tue, wed, thu, fri, sat, sun, got %q", name)
		}
		if s.weekdays&(1<<day) != 0 {
			return errAt(p.index(i), "duplicate day %q", name)
		}
		s.weekdays |= 1 << day
		return nil
	})
	if err != nil {
		return err
	}
	if s.weekdays == 0 {
		return errAt(p, "must name at least one day; leave the field out for no weekday restriction")
	}
	s.AllowedWeekdays = nil
	for _, day := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
		if s.weekdays&(1<<day) != 0 {
			s.AllowedWeekdays = append(s.AllowedWeekdays, weekdayNames[day])
		}
	}
	return nil
}

func decodeAllowlist(p jpath, raw []byte, s *spendingRules) error {
	list := []allowlistEntry{}
	s.allow = make(map[allowKey]*allowlistEntry)
	err := eachElement(p, raw, func(i int, v json.RawMessage) error {
		e, err := decodeAllowlistEntry(p.index(i), v)
		if err != nil {
			return err
		}
		k := allowKey{e.Chain, strings.ToLower(e.Address)}
		if _, dup := s.allow[k]; dup {
			return errAt(p.index(i), "duplicate entry for %q on %q (addresses are compared lower-cased)", e.Address, e.Chain)
		}
		s.allow[k] = nil
		list = append(list, e)
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].Chain != list[j].Chain {
			return list[i].Chain < list[j].Chain
		}
		return strings.ToLower(list[i].Address) < strings.ToLower(list[j].Address)
	})
	for i := range list {
		s.allow[allowKey{list[i].Chain, strings.ToLower(list[i].Address)}] = &list[i]
	}
	s.Allowlist = &list
	return nil
}

func decodeAllowlistEntry(p jpath, raw []byte) (allowlistEntry, error) {
	var e allowlistEntry
	var haveChain, haveAddress bool
	err := eachField(p, raw, false, func(k string, v json.RawMessage) error {
		fp := p.field(k)
		s, err := decodeString(fp, v)
		if err != nil {
			return err
		}
		switch k {
		case "chain":
			c := strings.ToLower(s)
			if !validChain(c) {
				return errAt(fp, "must be 1 to 64 characters of a-z 0-9 . _ -, got %q", s)
			}
			e.Chain, haveChain = c, true
		case "address":
			if !validAddress(s) {
				return errAt(fp, "must be 1 to 256 printable ASCII characters without spaces")
			}
			e.Address, haveAddress = s, true
		case "label":
			if len(s) > 256 || strings.IndexFunc(s, unicode.IsControl) >= 0 {
				return errAt(fp, "must be at most 256 bytes without control characters")
			}
			e.Label = s
		case "expires_at":
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return errAt(fp, "must be an RFC 3339 time such as \"2027-01-01T00:00:00Z\", got %q", s)
			}
			t = t.UTC()
			if t.Year() < 1970 || t.Year() > 9999 {
				return errAt(fp, "year must be between 1970 and 9999 in UTC, got %q", s)
			}
			ts := timestamp(t)
			e.ExpiresAt = &ts
		default:
			return errAt(fp, "unknown field")
		}
		return nil
	})
	if err != nil {
		return allowlistEntry{}, err
	}
	if !haveChain {
		return allowlistEntry{}, errAt(p.field("chain"), "required")
	}
	if !haveAddress {
		return allowlistEntry{}, errAt(p.field("address"), "required")
	}
	return e, nil
}

func validChain(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func validAddress(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// AllowlistEntry is a destination on a wallet's allowlist, as people see
// it.
type AllowlistEntry struct {
	Label     string
	ExpiresAt *time.Time
}

// Allowlisted looks up a transfer's destination in the allowlist of the
// spending rules that apply to walletID: the entry if listed, and whether
// those rules restrict destinations to an allowlist at all.
func (doc *Document) Allowlisted(walletID, chain, to string) (e *AllowlistEntry, restricted bool) {
	rules := doc.d.Spending[walletID]
	if rules == nil {
		rules = doc.d.Spending[DefaultWallet]
	}
	if rules == nil || rules.Allowlist == nil {
		return nil, false
	}
	entry, ok := rules.allow[allowKey{strings.ToLower(chain), strings.ToLower(to)}]
	if !ok {
		return nil, true
	}
	out := &AllowlistEntry{Label: entry.Label}
	if entry.ExpiresAt != nil {
		t := time.Time(*entry.ExpiresAt).UTC()
		out.ExpiresAt = &t
	}
	return out, true
}

// Tier is one approval tier of an action, as people see it.
type Tier struct {
	UpToEURCents *int64 // nil: no upper bound
	Approvals    int
	Roles        map[string]int
}

// Tiers lists the approval tiers of action, lowest first (nil if the
// document has no rule for it).
func (doc *Document) Tiers(action string) []Tier {
	a, ok := doc.d.Actions[action]
	if !ok {
		return nil
	}
	out := make([]Tier, len(a.Tiers))
	for i, t := range a.Tiers {
		out[i] = Tier{Approvals: t.Approvals, Roles: maps.Clone(t.Roles)}
		if t.UpToEUR != nil {
			v := int64(*t.UpToEUR)
			out[i].UpToEURCents = &v
		}
	}
	return out
}
