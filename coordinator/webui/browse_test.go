package webui_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custos-dev/custos/approvals/proof"
	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/frost"
	"github.com/custos-dev/custos/guardian/wire"
	"github.com/custos-dev/custos/store"
)

// browseEnv is a server with an auditor, audrey, signed in through the
// pages (auditors read transactions, wallets and the audit log), and
// alice, an approver who may not read the audit log.
type browseEnv struct {
	srv    *httptest.Server
	svc    *coordinator.Service
	audrey *browser
}

func newBrowseEnv(t *testing.T) *browseEnv {
	t.Helper()
	srv, svc := newServer(t)
	if _, err := svc.BootstrapUser(context.Background(), "audrey", store.RoleAuditor, password, nil); err != nil {
		t.Fatal(err)
	}
	return &browseEnv{srv: srv, svc: svc, audrey: signInThroughPages(t, srv.URL, "audrey")}
}

// write runs f in a read-write transaction of the server's store.
func (env *browseEnv) write(t *testing.T, f func(ctx context.Context, tx store.Tx) error) {
	t.Helper()
	if err := env.svc.Store().ReadWriteTx(context.Background(), f); err != nil {
		t.Fatal(err)
	}
}

// get fetches path with b and fails unless the answer has status want.
func get(t *testing.T, b *browser, path string, want int) string {
	t.Helper()
	resp, page := b.do(http.MethodGet, path, nil)
	if resp.StatusCode != want {
		t.Fatalf("GET %s: %d, want %d\n%s", path, resp.StatusCode, want, page)
	}
	return page
}

// all returns group 1 of every match of re in page, in order.
func all(re *regexp.Regexp, page string) []string {
	var out []string
	for _, m := range re.FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return out
}

// olderLink is the href of a page's "Older" link, "" if none.
func olderLink(page string) string {
	m := regexp.MustCompile(`<a rel="next" href="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return strings.ReplaceAll(m[1], "&amp;", "&")
}

// pageThrough follows the "Older" links from path and returns the
// matches of re on every page, and the number of pages.
func pageThrough(t *testing.T, b *browser, path string, re *regexp.Regexp) ([]string, int) {
	t.Helper()
	var out []string
	pages := 0
	for path != "" {
		page := get(t, b, path, http.StatusOK)
		out = append(out, all(re, page)...)
		pages++
		if pages > 100 {
			t.Fatal("the Older links do not end")
		}
		path = olderLink(page)
	}
	return out, pages
}

func TestBrowsePagesNeedSignIn(t *testing.T) {
	srv, _ := newServer(t)
	b := newBrowser(t, srv.URL)
	for _, path := range []string{"/transactions", "/transactions/t1", "/wallets", "/wallets/w1", "/guardians",
		"/audit", "/audit/verify", "/audit/export", "/audit/checkpoint"} {
		resp, _ := b.do(http.MethodGet, path, nil)
		wantRedirect(t, resp, "/signin?next="+path)
	}
}

var txRowRe = regexp.MustCompile(`<tr data-tx="([^"]+)"`)

// TestTransactionsListFilterAndPages fills the store with transactions
// of two wallets and two assets, some created at the same instant, and
// pages through them with and without filters.
func TestTransactionsListFilterAndPages(t *testing.T) {
	env := newBrowseEnv(t)
	ctx := context.Background()
	for _, r := range []coordinator.RateInput{{Asset: "eth", EURPerUnit: "2500", Decimals: 18}, {Asset: "btc", EURPerUnit: "60000", Decimals: 8}} {
		if err := env.svc.BootstrapRate(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	var wallets []*store.Wallet
	for _, name := range []string{"ops-eth", "cold-btc"} {
		w, err := env.svc.CreateWalletNow(ctx, "bootstrap", coordinator.WalletInput{Name: name, Mode: "hd", Curve: "secp256k1"})
		if err != nil {
			t.Fatal(err)
		}
		wallets = append(wallets, w)
	}
	base := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var txs []*store.Transaction
	for i := range 120 {
		x := &store.Transaction{ID: fmt.Sprintf("tx-%03d", i), ClientID: "c", WalletID: wallets[i%2].ID, Chain: "message",
			Asset: "eth", To: fmt.Sprintf("0x%040x", i), Amount: "1500000000000000000", EURCents: 375000,
			Status: store.TxPendingApproval, RequestID: fmt.Sprintf("req-%03d", i),
			CreatedAt: base.Add(time.Duration(i/3) * time.Minute)} // three at each instant
		x.UpdatedAt = x.CreatedAt
		if i%2 == 1 {
			x.Asset, x.Amount = "btc", "25000000"
		}
		if i%5 == 0 {
			x.Status, x.RequestID = store.TxDenied, ""
		}
		txs = append(txs, x)
	}
	env.write(t, func(ctx context.Context, tx store.Tx) error {
		for _, x := range txs {
			if err := tx.CreateTransaction(ctx, x); err != nil {
				return err
			}
		}
		return nil
	})
	// Newest first; among those created at the same instant, by id.
	newest := slices.Clone(txs)
	slices.SortStableFunc(newest, func(a, b *store.Transaction) int { return b.CreatedAt.Compare(a.CreatedAt) })
	ids := func(keep func(*store.Transaction) bool) []string {
		var out []string
		for _, x := range newest {
			if keep(x) {
				out = append(out, x.ID)
			}
		}
		return out
	}

	t.Run("ok/rows", func(t *testing.T) {
		page := get(t, env.audrey, "/transactions", http.StatusOK)
		rows := all(txRowRe, page)
		if len(rows) != 50 || rows[0] != "tx-117" { // tx-117 to 119 are the newest, created together
			t.Fatalf("first page: %d rows from %v, want 50 from tx-117", len(rows), rows[:min(len(rows), 3)])
		}
		row := rowOf(t, page, "tx-119") // btc, pending, with a request
		for _, want := range []string{`href="/requests/req-119"`, "0.25 BTC", "EUR 3,750.00", "cold-btc", "message",
			fmt.Sprintf("0x%040x", 119), "pending_approval", "2026-03-01 09:39"} {
			if !strings.Contains(row, want) {
				t.Errorf("row of tx-119 lacks %q:\n%s", want, row)
			}
		}
		row = rowOf(t, page, "tx-115") // denied at submission: no request
		for _, want := range []string{`href="/transactions/tx-115"`, "denied"} {
			if !strings.Contains(row, want) {
				t.Errorf("row of tx-115 lacks %q:\n%s", want, row)
			}
		}
	})
	for _, tc := range []struct {
		name  string
		query url.Values
		keep  func(*store.Transaction) bool
		pages int
	}{
		{"ok/all", nil, func(*store.Transaction) bool { return true }, 3},
		{"ok/status", url.Values{"status": {"denied"}}, func(x *store.Transaction) bool { return x.Status == store.TxDenied }, 1},
		{"ok/wallet", url.Values{"wallet": {wallets[0].ID}}, func(x *store.Transaction) bool { return x.WalletID == wallets[0].ID }, 2},
		{"ok/asset", url.Values{"asset": {"btc"}}, func(x *store.Transaction) bool { return x.Asset == "btc" }, 2},
		{"ok/wallet_and_status", url.Values{"wallet": {wallets[1].ID}, "status": {"pending_approval"}}, func(x *store.Transaction) bool {
			return x.WalletID == wallets[1].ID && x.Status == store.TxPendingApproval
		}, 1},
		{"ok/none", url.Values{"wallet": {wallets[0].ID}, "asset": {"btc"}}, func(*store.Transaction) bool { return false }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/transactions"
			if len(tc.query) > 0 {
				path += "?" + tc.query.Encode()
			}
			got, pages := pageThrough(t, env.audrey, path, txRowRe)
			if want := ids(tc.keep); !slices.Equal(got, want) {
				t.Fatalf("got %d rows %v\nwant %d rows %v", len(got), got, len(want), want)
			}
			if pages != tc.pages {
				t.Errorf("%d pages, want %d", pages, tc.pages)
			}
		})
	}
	t.Run("ok/filters_kept_in_the_form", func(t *testing.T) {
		page := get(t, env.audrey, "/transactions?asset=btc&status=denied", http.StatusOK)
		for _, want := range []string{`<option value="btc" selected>`, `<option value="denied" selected>`} {
			if !strings.Contains(page, want) {
				t.Errorf("filter form lacks %s", want)
			}
		}
	})
	for name, path := range map[string]string{
		"fail/unknown_status": "/transactions?status=lost",
		"fail/bad_cursor":     "/transactions?after=yesterday",
	} {
		t.Run(name, func(t *testing.T) { get(t, env.audrey, path, http.StatusBadRequest) })
	}
}

// rowOf is the table row of transaction id in page.
func rowOf(t *testing.T, page, id string) string {
	t.Helper()
	i := strings.Index(page, `<tr data-tx="`+id+`"`)
	if i < 0 {
		t.Fatalf("no row for %s", id)
	}
	row, _, _ := strings.Cut(page[i:], "</tr>")
	return row
}

func TestTransactionDetail(t *testing.T) {
	env := newBrowseEnv(t)
	reqID := submitTransfer(t, env.svc)
	var tx *store.Transaction
	env.write(t, func(ctx context.Context, st store.Tx) error {
		var err error
		tx, err = st.GetTransactionByRequest(ctx, reqID)
		return err
	})
	page := get(t, env.audrey, "/transactions/"+tx.ID, http.StatusOK)
	for _, want := range []string{"pending_approval", `href="/requests/` + reqID + `"`, "6 ETH", "6000000000000000000 base units",
		"EUR 15,000.00", "0x00000000000000000000000000000000000000b0", "invoice 2026-118", "treasury-eth",
		hex.EncodeToString(tx.Fingerprint), tx.Nonce} {
		if !strings.Contains(page, want) {
			t.Errorf("transaction page lacks %q", want)
		}
	}

	// An unknown id is a 404 page naming it, escaped.
	page = get(t, env.audrey, "/transactions/"+url.PathEscape(`"><img src=x onerror=alert(1)>`), http.StatusNotFound)
	if strings.Contains(page, "<img src=x") || !strings.Contains(page, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Fatalf("not-found page does not show the id escaped:\n%s", page)
	}
}

// frostFixture puts three guardians in the store, with different health,
// and a FROST wallet whose key they hold, with its completed ceremony.
type frostFixture struct {
	guardians []*store.Guardian // healthy, governance differs, quarantined
	removed   *store.Guardian
	wallet    *store.Wallet
	group     frost.GroupKey
}

func newFROSTFixture(t *testing.T, env *browseEnv) *frostFixture {
	t.Helper()
	ctx := context.Background()
	tok, _, _, err := env.svc.Login(ctx, "carol", password)
	if err != nil {
		t.Fatal(err)
	}
	carol, err := env.svc.Authenticate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	gov, err := env.svc.GovernanceHash(ctx, carol)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	f := &frostFixture{}
	for i, g := range []struct {
		name, gov string
		status    store.GuardianStatus
	}{
		{"gina", gov, store.GuardianActive},
		{"hugo", strings.Repeat("ab", 32), store.GuardianActive},
		{"ines", gov, store.GuardianQuarantined},
		{"jack", gov, store.GuardianRemoved},
	} {
		health, _ := json.Marshal(wire.Health{GuardianID: g.name, Version: "v1.2.3", GovernanceHash: g.gov})
		gd := &store.Guardian{ID: "guardian-" + g.name, Name: g.name, IdentityKey: bytes.Repeat([]byte{byte(i + 1)}, 32),
			EncryptionKey: bytes.Repeat([]byte{byte(i + 101)}, 32), Endpoint: "https://" + g.name + ".example:8443",
			Status: g.status, EnrolledAt: now.Add(-time.Hour), LastSeenAt: &now, Health: health}
		if g.status == store.GuardianQuarantined {
			gd.StatusReason = "returned an invalid signature share"
		}
		if g.status == store.GuardianRemoved {
			f.removed = gd
		} else {
			f.guardians = append(f.guardians, gd)
		}
	}
	ids := []string{f.guardians[0].ID, f.guardians[1].ID, f.guardians[2].ID}
	f.group = frost.GroupKey{Suite: frost.Ed25519, Threshold: 2, MaxSigners: 3, VerificationKey: bytes.Repeat([]byte{0x7a}, 32)}
	for i := range 3 {
		f.group.Shares = append(f.group.Shares, frost.PublicShare{ID: uint16(i + 1), Key: bytes.Repeat([]byte{byte(0x10 + i)}, 32)})
	}
	gk, _ := json.Marshal(&f.group)
	f.wallet = &store.Wallet{ID: "wallet-frost", Name: "frost-treasury", Mode: store.ModeFROST, Curve: "ed25519", KeyVersion: 1,
		CreatedAt: now, Status: store.WalletActive, Threshold: 2, Guardians: ids, GroupKey: gk, PublicKey: f.group.VerificationKey}
	progress, _ := json.Marshal(coordinator.CeremonyProgress{Steps: []coordinator.CeremonyStep{{Round: "round1", StartedAt: now, DurationMS: 42}}})
	cer := &store.Ceremony{ID: "ceremony-1", WalletID: f.wallet.ID, State: store.CeremonyCompleted, Round: "done", Curve: "ed25519",
		Threshold: 2, Guardians: ids, Progress: progress, CreatedAt: now, UpdatedAt: now}
	env.write(t, func(ctx context.Context, tx store.Tx) error {
		for _, g := range append(slices.Clone(f.guardians), f.removed) {
			if err := tx.CreateGuardian(ctx, g); err != nil {
				return err
			}
		}
		if err := tx.CreateWallet(ctx, f.wallet); err != nil {
			return err
		}
		return tx.CreateCeremony(ctx, cer)
	})
	return f
}

func TestWalletPages(t *testing.T) {
	env := newBrowseEnv(t)
	f := newFROSTFixture(t, env)
	hdw, err := env.svc.CreateWalletNow(context.Background(), "bootstrap", coordinator.WalletInput{Name: "ops-hd", Mode: "hd", Curve: "secp256k1"})
	if err != nil {
		t.Fatal(err)
	}
	env.write(t, func(ctx context.Context, tx store.Tx) error { return tx.SetWalletFrozen(ctx, hdw.ID, true) })

	page := get(t, env.audrey, "/wallets", http.StatusOK)
	for _, want := range []string{`data-wallet="` + f.wallet.ID + `"`, "frost-treasury", "2 of 3 guardians",
		`data-wallet="` + hdw.ID + `"`, "ops-hd", "seed sealed by the coordinator", hex.EncodeToString(hdw.PublicKey), "frozen"} {
		if !strings.Contains(page, want) {
			t.Errorf("wallet list lacks %q", want)
		}
	}

	page = get(t, env.audrey, "/wallets/"+f.wallet.ID, http.StatusOK)
	for _, want := range []string{`id="panel-frost"`, "2 of 3 guardians", hex.EncodeToString(f.group.VerificationKey),
		hex.EncodeToString(f.group.Shares[1].Key), `id="ceremony-state">completed`, "42 ms",
		"gina", "healthy", "hugo", "governance differs", "ines", "quarantined"} {
		if !strings.Contains(page, want) {
			t.Errorf("FROST wallet page lacks %q", want)
		}
	}
	if strings.Contains(page, `id="frozen"`) || strings.Contains(page, `id="panel-hd"`) {
		t.Error("FROST wallet page shows it frozen, or the HD panel")
	}

	page = get(t, env.audrey, "/wallets/"+hdw.ID, http.StatusOK)
	for _, want := range []string{`id="panel-hd"`, `id="frozen"`, html.EscapeString(hdw.DerivationPath), hex.EncodeToString(hdw.PublicKey)} {
		if !strings.Contains(page, want) {
			t.Errorf("HD wallet page lacks %q", want)
		}
	}
	if strings.Contains(page, `id="panel-frost"`) || strings.Contains(page, "wallet-guardians") {
		t.Error("HD wallet page shows a FROST panel or guardians")
	}

	get(t, env.audrey, "/wallets/no-such-wallet", http.StatusNotFound)
}

func TestGuardiansPage(t *testing.T) {
	env := newBrowseEnv(t)
	f := newFROSTFixture(t, env)
	page := get(t, env.audrey, "/guardians", http.StatusOK)
	summary := find(t, regexp.MustCompile(`(?s)id="guardian-summary">(.*?)</p>`), page)
	summary = strings.Join(strings.Fields(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(summary, "")), " ")
	if want := "1 of 3 guardians healthy · 1 governance differs · 1 quarantined"; summary != want {
		t.Errorf("summary %q, want %q", summary, want)
	}
	for _, tc := range []struct {
		g    *store.Guardian
		want []string
	}{
		{f.guardians[0], []string{"gina", "health-ok", "healthy", "in sync", "https://gina.example:8443", "v1.2.3"}},
		{f.guardians[1], []string{"hugo", "health-warn", "governance differs", strings.Repeat("ab", 32)}},
		{f.guardians[2], []string{"ines", "health-bad", "quarantined", "returned an invalid signature share"}},
		{f.removed, []string{"jack", "health-off", "removed"}},
	} {
		i := strings.Index(page, `<tr data-guardian="`+tc.g.ID+`"`)
		if i < 0 {
			t.Fatalf("no row for %s", tc.g.Name)
		}
		row, _, _ := strings.Cut(page[i:], "</tr>")
		for _, want := range tc.want {
			if !strings.Contains(row, want) {
				t.Errorf("row of %s lacks %q:\n%s", tc.g.Name, want, row)
			}
		}
	}
	// A guardian that has not answered for long is not healthy.
	long := time.Now().Add(-time.Hour)
	env.write(t, func(ctx context.Context, tx store.Tx) error {
		g := *f.guardians[0]
		g.LastSeenAt = &long
		return tx.UpdateGuardian(ctx, &g)
	})
	page = get(t, env.audrey, "/guardians", http.StatusOK)
	if !strings.Contains(page, "<strong>0 of 3</strong> guardians healthy") || !strings.Contains(page, "1 not answering") {
		t.Errorf("a guardian silent for an hour still counts as healthy:\n%s", find(t, regexp.MustCompile(`(?s)id="guardian-summary">(.*?)</p>`), page))
	}
}

var auditRowRe = regexp.MustCompile(`<tr data-seq="(\d+)"`)

// appendEvents appends events to the audit chain as the coordinator
// would, n of them from seq head+1, each made by mk.
func appendEvents(t *testing.T, env *browseEnv, n int, mk func(i int) *audit.Event) {
	t.Helper()
	env.write(t, func(ctx context.Context, tx store.Tx) error {
		for i := range n {
			if err := tx.AppendAudit(ctx, mk(i)); err != nil {
				return err
			}
		}
		return nil
	})
}

// head is the seq of the newest audit event.
func head(t *testing.T, env *browseEnv) int64 {
	t.Helper()
	var seq int64
	err := env.svc.Store().ReadTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
		var err error
		seq, _, err = tx.AuditHead(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

func TestAuditListFilterAndPages(t *testing.T) {
	env := newBrowseEnv(t)
	old := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	appendEvents(t, env, 130, func(i int) *audit.Event {
		e := &audit.Event{ID: fmt.Sprintf("ev-%d", i), Time: time.Now().UTC(), Category: audit.CategoryTransaction,
			Action: "transaction.submit", Actor: "apikey:key-" + strconv.Itoa(i%3), Target: "transaction:tx-" + strconv.Itoa(i),
			Result: audit.ResultSuccess, Metadata: map[string]string{"amount": strconv.Itoa(i)}}
		if i%4 == 0 {
			e.Category, e.Action, e.Result = audit.CategoryPolicy, "request.create", audit.ResultDenied
		}
		if i < 10 {
			e.Time = old.Add(time.Duration(i) * 24 * time.Hour) // 1 to 10 May 2024
		}
		return e
	})
	var events []*audit.Event
	env.write(t, func(ctx context.Context, tx store.Tx) error {
		var err error
		events, err = tx.ListAudit(ctx, 0, 0)
		return err
	})
	slices.Reverse(events)
	seqs := func(keep func(*audit.Event) bool) []string {
		var out []string
		for _, e := range events {
			if keep(e) {
				out = append(out, strconv.FormatInt(e.Seq, 10))
			}
		}
		return out
	}

	page := get(t, env.audrey, "/audit", http.StatusOK)
	top := strconv.FormatInt(events[0].Seq, 10)
	if rows := all(auditRowRe, page); len(rows) != 50 || rows[0] != top {
		t.Fatalf("first page: %d rows from %v, want 50 from %s", len(rows), rows[:min(3, len(rows))], top)
	}
	for _, want := range []string{`href="/transactions/tx-129"`, "apikey:key-0", "transaction.submit", "Verify the whole chain"} {
		if !strings.Contains(page, want) {
			t.Errorf("audit page lacks %q", want)
		}
	}
	if strings.Contains(page, `id="chain-status"`) {
		t.Error("the audit page verifies the chain without being asked")
	}

	for _, tc := range []struct {
		name  string
		query url.Values
		keep  func(*audit.Event) bool
	}{
		{"ok/all", nil, func(*audit.Event) bool { return true }},
		{"ok/category", url.Values{"category": {audit.CategoryPolicy}}, func(e *audit.Event) bool { return e.Category == audit.CategoryPolicy }},
		{"ok/action_prefix", url.Values{"action": {"transaction."}}, func(e *audit.Event) bool { return strings.HasPrefix(e.Action, "transaction.") }},
		{"ok/actor", url.Values{"actor": {"key-1"}}, func(e *audit.Event) bool { return e.Actor == "apikey:key-1" }},
		{"ok/result", url.Values{"result": {audit.ResultDenied}}, func(e *audit.Event) bool { return e.Result == audit.ResultDenied }},
		{"ok/days", url.Values{"from": {"2024-05-03"}, "to": {"2024-05-05"}}, func(e *audit.Event) bool {
			return !e.Time.Before(old.AddDate(0, 0, 2).Truncate(24*time.Hour)) && e.Time.Before(time.Date(2024, 5, 6, 0, 0, 0, 0, time.UTC))
		}},
		{"ok/combined", url.Values{"actor": {"key-2"}, "result": {audit.ResultSuccess}}, func(e *audit.Event) bool {
			return e.Actor == "apikey:key-2" && e.Result == audit.ResultSuccess
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/audit"
			if len(tc.query) > 0 {
				path += "?" + tc.query.Encode()
			}
			got, _ := pageThrough(t, env.audrey, path, auditRowRe)
			want := seqs(tc.keep)
			if !slices.Equal(got, want) || len(want) == 0 {
				t.Fatalf("got %d events %v\nwant %d events %v", len(got), got, len(want), want)
			}
		})
	}
	for name, path := range map[string]string{
		"fail/bad_day":    "/audit?from=May+3",
		"fail/bad_cursor": "/audit?before=-4",
	} {
		t.Run(name, func(t *testing.T) { get(t, env.audrey, path, http.StatusBadRequest) })
	}
	t.Run("fail/not_an_auditor", func(t *testing.T) {
		alice := signInThroughPages(t, env.srv.URL, "alice")
		for _, path := range []string{"/audit", "/audit/verify", "/audit/export", "/audit/checkpoint"} {
			get(t, alice, path, http.StatusForbidden)
		}
	})
}

func TestAuditVerifyShowsTheFirstBreak(t *testing.T) {
	env := newBrowseEnv(t)
	appendEvents(t, env, 20, func(i int) *audit.Event {
		return &audit.Event{ID: fmt.Sprintf("ev-%d", i), Time: time.Now().UTC(), Category: audit.CategoryAdmin,
			Action: "test.event", Actor: "system", Target: "system", Result: audit.ResultSuccess}
	})
	n := head(t, env)
	page := get(t, env.audrey, "/audit/verify", http.StatusOK)
	status := find(t, regexp.MustCompile(`(?s)id="chain-status"[^>]*>(.*?)</p>`), page)
	var hash []byte
	env.write(t, func(ctx context.Context, tx store.Tx) error {
		var err error
		_, hash, err = tx.AuditHead(ctx)
		return err
	})
	if want := fmt.Sprintf("Chain verified: %d events, head hash", n); !strings.Contains(status, want) || !strings.Contains(status, hex.EncodeToString(hash)) {
		t.Fatalf("chain status %q, want %q and the head hash", status, want)
	}

	// Edit one event in the database, as someone with write access could.
	const edited = 7
	db, err := sql.Open("sqlite", "file:"+storePath(t)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("UPDATE audit_events SET actor = 'user:mallory' WHERE seq = ?", edited); err != nil {
		t.Fatal(err)
	}
	page = get(t, env.audrey, "/audit/verify", http.StatusOK)
	status = find(t, regexp.MustCompile(`(?s)id="chain-status"[^>]*>(.*?)</p>`), page)
	if want := fmt.Sprintf("Chain broken at event %d: edited", edited); !strings.Contains(status, want) {
		t.Fatalf("chain status %q, want %q", status, want)
	}
}

// storePath finds the database newServer made: the one custos.db among
// this test's temporary directories.
func storePath(t *testing.T) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(filepath.Dir(t.TempDir()), "*", "custos.db"))
	if err != nil || len(m) != 1 {
		t.Fatalf("want one custos.db in the test's directories, found %v (%v)", m, err)
	}
	return m[0]
}

func TestAuditExportVerifies(t *testing.T) {
	env := newBrowseEnv(t)
	submitTransfer(t, env.svc)

	resp, cpBody := env.audrey.do(http.MethodGet, "/audit/checkpoint", nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") {
		t.Fatalf("checkpoint: %d %q", resp.StatusCode, resp.Header.Get("Content-Disposition"))
	}
	before := head(t, env)
	resp, export := env.audrey.do(http.MethodGet, "/audit/export", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("export: %d", resp.StatusCode)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, ".jsonl") {
		t.Errorf("export Content-Disposition %q", cd)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("export Content-Type %q", ct)
	}
	rep, err := audit.Verify(strings.NewReader(export))
	if err != nil {
		t.Fatal(err)
	}
	// Every event, and the export's own, recorded first.
	if rep.Count != before+1 || rep.LastSeq != before+1 {
		t.Fatalf("export of %d events up to seq %d, want %d", rep.Count, rep.LastSeq, before+1)
	}
	lines := strings.Split(strings.TrimSuffix(export, "\n"), "\n")
	last, err := audit.ParseLine([]byte(lines[len(lines)-1]))
	if err != nil || last.Action != "audit.export" || !strings.HasPrefix(last.Actor, "user:") {
		t.Fatalf("last event %+v (%v), want the export by audrey", last, err)
	}

	// The checkpoint verifies with the coordinator's published keys, and
	// the export holds its event unchanged (custos audit verify --checkpoint).
	p, err := proof.Parse([]byte(cpBody))
	if err != nil {
		t.Fatal(err)
	}
	keySet, _ := json.Marshal(map[string]any{"keys": env.svc.DecisionKeys()})
	keys, err := proof.ParseKeys(keySet)
	if err != nil {
		t.Fatal(err)
	}
	stmt, err := proof.Verify(p, keys)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := coordinator.ParseCheckpoint(stmt)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	sc := bufio.NewScanner(strings.NewReader(export))
	sc.Buffer(nil, audit.MaxLineSize+2)
	for sc.Scan() {
		e, err := audit.ParseLine(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if e.Seq == cp.Seq {
			found = hex.EncodeToString(e.Hash) == cp.Head
		}
	}
	if !found || cp.Seq != before {
		t.Fatalf("checkpoint at seq %d (head %d) is not in the export unchanged", cp.Seq, before)
	}
}

// A selective filter reads a bounded stretch of the log per page and
// says how far back it searched, with a link to search on.
func TestAuditFilterSearchesInSteps(t *testing.T) {
	env := newBrowseEnv(t)
	mk := func(action string) func(int) *audit.Event {
		return func(i int) *audit.Event {
			return &audit.Event{ID: fmt.Sprintf("%s-%d", action, i), Time: time.Now().UTC(), Category: audit.CategoryAdmin,
				Action: action, Actor: "system", Target: "system", Result: audit.ResultSuccess}
		}
	}
	appendEvents(t, env, 1, mk("needle.event"))
	needle := head(t, env)
	appendEvents(t, env, 5100, mk("hay.event"))
	top := head(t, env)

	page := get(t, env.audrey, "/audit?action=needle", http.StatusOK)
	searched := find(t, regexp.MustCompile(`Searched back to event (\d+);`), page)
	if rows := all(auditRowRe, page); len(rows) != 0 || searched != strconv.FormatInt(top-5000+1, 10) {
		t.Fatalf("first page: rows %v, searched back to %s; want none, back to %d", rows, searched, top-5000+1)
	}
	next := olderLink(page)
	if !strings.Contains(next, "action=needle") {
		t.Fatalf("the link to search on, %q, drops the filter", next)
	}
	page = get(t, env.audrey, next, http.StatusOK)
	if rows := all(auditRowRe, page); !slices.Equal(rows, []string{strconv.FormatInt(needle, 10)}) {
		t.Fatalf("second page: rows %v, want the needle, event %d", rows, needle)
	}
}
