package e2e

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// openSQLite opens the dev system's database next to the running server,
// the way an attacker with file access (or an operator) would.
func openSQLite(t *testing.T, d *devSystem) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(d.dir, "custos.db")+"?_pragma=busy_timeout(20000)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func execSQL(t *testing.T, db *sql.DB, query string, args ...any) {
	t.Helper()
	res, err := db.Exec(query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("%s: %d rows affected (%v), want 1", query, n, err)
	}
}

// testDenials is acceptance point 2: transfers the policy denies are
// recorded as denied with their reasons, get no approval request and are
// never signed, and their decision proofs verify offline while a tampered
// proof does not.
func testDenials(t *testing.T, d *devSystem, denied *syncSet) {
	eth := d.creds.walletID(t, "treasury-eth")
	t.Run("fail/per_transaction_cap", func(t *testing.T) {
		t.Parallel()
		// 41 ETH x EUR 2,500 = EUR 102,500 > EUR 100,000.
		tx := submitDenied(t, d, eth, "eth", "41000000000000000000", "per_transaction_cap")
		denied.add(tx.ID)
		checkProof(t, d, tx.ID, "per_transaction_cap")
	})
	t.Run("fail/rate_missing", func(t *testing.T) {
		t.Parallel()
		tx := submitDenied(t, d, eth, "doge", "100000000", "rate_missing")
		denied.add(tx.ID)
		checkProof(t, d, tx.ID, "rate_missing")
	})
	t.Run("fail/rate_stale", func(t *testing.T) {
		t.Parallel()
		// An asset of its own, so the demo rates (refreshed by custos dev)
		// and the other tests are not disturbed.
		// A first rate for an asset is a rate.set request: two approvals,
		// one by a treasury manager.
		out := mustCLI(t, "rate", "set", "--as", "ada", d.credsFlag(), "--asset", "stalecoin", "--eur", "1.00", "--decimals", "2")
		m := regexp.MustCompile(`rate\.set request ([0-9a-f-]{36}) is pending`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("rate set: %s, want a rate.set request", out)
		}
		for _, name := range []string{"alice", "tess"} {
			mustCLI(t, "approve", "--as", name, d.credsFlag(), m[1])
		}
		// While the rate is fresh, EUR 1 needs one approval.
		r := submit(t, d, eth, "stalecoin", "0xfresh", "100", nil)
		expectStatus(t, r, http.StatusCreated)
		var fresh txView
		r.decode(t, &fresh)
		if fresh.Status != "pending_approval" {
			t.Fatalf("with a fresh rate: %s %v, want pending_approval", fresh.Status, fresh.reasonCodes())
		}
		// Back-date the rate by two hours (the default policy refuses
		// rates older than one hour), behind the running server's back.
		db := openSQLite(t, d)
		execSQL(t, db, "UPDATE rates SET updated_at_us = ? WHERE asset = 'stalecoin'", time.Now().Add(-2*time.Hour).UnixMicro())
		tx := submitDenied(t, d, eth, "stalecoin", "100", "rate_stale")
		denied.add(tx.ID)
		checkProof(t, d, tx.ID, "rate_stale")
	})
}

// checkProof fetches a transaction's decision proof with the CLI, checks
// that `custos proof verify` accepts it and prints the reason, and that one
// changed character of the statement makes it fail.
func checkProof(t *testing.T, d *devSystem, txID, reason string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "proof.json")
	out := mustCLI(t, "tx", "show", d.credsFlag(), "--proof-out", path, txID)
	if !strings.Contains(out, "decision: deny") || !strings.Contains(out, reason) {
		t.Errorf("tx show does not show the denial and %s:\n%s", reason, out)
	}
	out = mustCLI(t, "proof", "verify", "--api", d.url, path)
	for _, want := range []string{"is valid", "transaction " + txID + ": deny at submission", "- " + reason + ": "} {
		if !strings.Contains(out, want) {
			t.Errorf("proof verify output lacks %q:\n%s", want, out)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Statement json.RawMessage `json:"statement"`
	}
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatalf("proof file: %v", err)
	}
	// Change one character inside the statement: the first digit of the
	// EUR value (a forger raising or lowering the amount).
	i := strings.Index(string(data), `"eur_cents":`)
	if i < 0 || !strings.Contains(string(p.Statement), `"eur_cents":`) {
		t.Fatalf("no eur_cents in the statement: %s", data)
	}
	i += len(`"eur_cents":`)
	tampered := []byte(string(data))
	if tampered[i] == '9' {
		tampered[i] = '8'
	} else {
		tampered[i]++
	}
	bad := filepath.Join(dir, "tampered.json")
	if err := os.WriteFile(bad, tampered, 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut := failCLI(t, "proof", "verify", "--api", d.url, bad)
	if !strings.Contains(errOut, "NOT valid") {
		t.Errorf("tampered proof refused without saying it is not valid:\n%s", errOut)
	}
}

// testFrozenWallet: a wallet frozen with the CLI denies every transfer.
func testFrozenWallet(t *testing.T, d *devSystem, denied *syncSet) {
	sol := d.creds.walletID(t, "treasury-sol")
	out := mustCLI(t, "wallet", "freeze", "--as", "tess", d.credsFlag(), "treasury-sol")
	if !strings.Contains(out, "wallet "+sol+" is frozen") {
		t.Errorf("wallet freeze output:\n%s", out)
	}
	if w := listWallets(t, d.url, d.creds.APIKey)[sol]; !w.Frozen {
		t.Fatalf("wallet %s is not frozen after wallet freeze: %+v", sol, w)
	}
	t.Run("fail/wallet_frozen", func(t *testing.T) {
		// 1 SOL = EUR 150, which would otherwise need a single approval.
		denied.add(submitDenied(t, d, sol, "sol", "1000000000", "wallet_frozen").ID)
	})
}

// testAllowedHours changes the policy through the API (a policy.change
// request approved by two people, one a treasury manager) so that
// transfers are allowed only in hours that are not now, then checks a
// transfer is denied for it.
func testAllowedHours(t *testing.T, d *devSystem, denied *syncSet) {
	key := d.creds.APIKey
	r := doHTTP(t, d.url, request{Method: http.MethodGet, Path: "/v1/policy", Token: key})
	expectStatus(t, r, http.StatusOK)
	var cur struct {
		Version  int64          `json:"version"`
		Document map[string]any `json:"document"`
	}
	r.decode(t, &cur)
	spending, _ := cur.Document["spending"].(map[string]any)
	rules, _ := spending["*"].(map[string]any)
	if rules == nil {
		t.Fatalf("policy has no spending rules for every wallet: %s", r.Body)
	}
	// A one-hour window two hours from now: the current hour, and the next
	// one should the clock turn meanwhile, are outside it.
	from := (time.Now().UTC().Hour() + 2) % 24
	rules["allowed_hours"] = map[string]int{"from": from, "to": from + 1}

	ada := login(t, d.url, "ada", d.creds.password(t, "ada"))
	r = doHTTP(t, d.url, request{Method: http.MethodPost, Path: "/v1/policy", Token: ada, Body: map[string]any{"document": cur.Document}})
	expectStatus(t, r, http.StatusAccepted)
	var res struct {
		Request requestView `json:"request"`
	}
	r.decode(t, &res)
	if res.Request.Status != "pending" || res.Request.Action != "policy.change" {
		t.Fatalf("policy change request %+v, want a pending policy.change", res.Request)
	}
	mustCLI(t, "approve", "--as", "alice", d.credsFlag(), res.Request.ID)
	out := mustCLI(t, "approve", "--as", "tess", d.credsFlag(), res.Request.ID)
	if !strings.Contains(out, "is executed") {
		t.Fatalf("policy change not executed after two approvals:\n%s", out)
	}
	r = doHTTP(t, d.url, request{Method: http.MethodGet, Path: "/v1/policy", Token: key})
	var now struct {
		Version int64 `json:"version"`
	}
	r.decode(t, &now)
	if now.Version != cur.Version+1 {
		t.Fatalf("policy version %d after the change, want %d", now.Version, cur.Version+1)
	}
	t.Run("fail/outside_allowed_hours", func(t *testing.T) {
		tx := submitDenied(t, d, d.creds.walletID(t, "treasury-eth"), "eth", "1000000000000000", "outside_allowed_hours")
		denied.add(tx.ID)
		if !strings.Contains(fmt.Sprint(tx.Decision.Reasons), fmt.Sprintf("%02d:00", from)) {
			t.Errorf("reason does not name the allowed hours: %+v", tx.Decision.Reasons)
		}
	})
}
