// Package policy is Custos's policy document and policy engine: gate 1 of
// every action (spending rules) and the approval tier each action needs.
//
// The package is pure logic. It holds no store, makes no network calls,
// never reads the clock (the time of a decision is an input), never logs and
// keeps no global state. A *Document is immutable once parsed and safe for
// concurrent use.
//
// Guarantees:
//   - Fail closed. A missing or stale EUR rate, an action the document does
//     not name, a frozen wallet, the emergency stop or a ledger error never
//     yield an allow: they yield a deny Decision (rate_missing, rate_stale,
//     no_policy, wallet_frozen, emergency_stop) or an error.
//   - Every violated rule is reported, each with a reason code and a human
//     sentence with the figures, not only the first one found.
//   - Money is integer EUR cents (int64) in the engine and decimal strings
//     with at most two decimals in the document. No floats anywhere; base
//     units are converted with math/big and rounded up.
//   - Same document, same bytes: Canonical is deterministic and
//     Parse(Canonical()) round-trips exactly, so Hash identifies a policy.
//   - Evaluate costs O(log n) in the number of ledger entries when the
//     Ledger is O(log n) (MemoryLedger is).
//
// Refusals (Parse): unknown fields, duplicate keys, JSON null, numbers where
// strings are expected and the reverse, non-integer counts, amounts with
// more than two decimals or a sign, bad or non-positive durations, unknown
// roles, role minimums adding up to more than the approvals, tier bounds
// that are not strictly ascending, a bounded last tier or an unbounded
// earlier one, approvals that decrease from one tier to the next, an empty
// weekday list, bad IANA zones (and "Local"), documents over
// MaxDocumentSize or not valid UTF-8. Every error names the JSON path of the bad field, e.g.
// `actions["transfer"].tiers[1].up_to_eur`, and wraps ErrInvalidDocument.
//
// Semantics worth knowing:
//   - Spending rules apply to the "transfer" action only, and so do Frozen
//     and EmergencyStop (so that wallet.unfreeze or policy.change can still
//     be requested during an incident). Other actions only get a tier.
//   - A wallet with its own "spending" entry uses that entry alone; it is
//     not merged with "*". A wallet with no entry uses "*"; with neither,
//     it has no spending limits.
//   - Absent rule = no limit. A limit of 0 is a real limit (nothing may be
//     spent, no transfer may be made).
//   - Rolling windows: 1h, 24h, 7x24h, 30x24h ending at Input.Now; a ledger
//     entry exactly at the window start is counted (the stricter choice).
//   - allowed_hours {"from": f, "to": t} allows local hours h with
//     f <= h < t when f < t, and wraps past midnight when f > t
//     ({"from": 22, "to": 6} allows 22:00-05:59). f == t is refused; "to"
//     may be 24. Hours and weekdays use the document's time zone, so DST
//     is followed.
//   - A rate is stale when |Now - UpdatedAt| > rate_max_age: a timestamp too
//     far in the future is refused as well.
//   - Allowlist: absent = any destination; present (even empty) = only
//     listed entries whose expires_at is after Now. Chain and address are
//     compared lower-cased.
//   - tier "approvals": 0 means no approval needed (Outcome "allow"); the
//     approvals of the tiers may not decrease from one tier to the next.
package policy
