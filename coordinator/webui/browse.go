package webui

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custos-dev/custos/approvals/intent"
	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/frost"
	"github.com/custos-dev/custos/guardian/wire"
	"github.com/custos-dev/custos/store"
	"github.com/labstack/echo/v4"
)

// The browsing pages: transactions, wallets and guardians, read-only.

// pageSize is the number of rows a listing page shows.
const pageSize = 50

// badRequest refuses a malformed page address; the page wrapper shows
// msg on a 400 page.
func badRequest(msg string) error {
	return &coordinator.Error{Kind: coordinator.KindInvalid, Code: "invalid_query", Message: msg}
}

var errDamagedLink = badRequest("This page link is damaged. Start again from the first page.")

// pager is the "pager" partial's data: the link to the next (older) page,
// empty at the end.
type pager struct {
	Next string
}

// nextLink is path with query q and key set to value.
func nextLink(path string, q url.Values, key, value string) string {
	q = maps.Clone(q)
	q.Set(key, value)
	return path + "?" + q.Encode()
}

// txStatuses are the transaction statuses, in lifecycle order.
var txStatuses = []store.TxStatus{store.TxPendingApproval, store.TxApproved, store.TxSigning, store.TxSigned,
	store.TxDenied, store.TxRejected, store.TxExpired, store.TxFailed}

type txFilter struct {
	Status, Wallet, Asset string
}

// query is the filter as URL parameters, empty ones left out.
func (f txFilter) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"status": f.Status, "wallet": f.Wallet, "asset": f.Asset} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

type txRow struct {
	*store.Transaction
	Wallet string // the wallet's name
	Amount string // in whole units of the asset
	Link   string // its request, or else its own page
}

type transactionsData struct {
	Filter   txFilter
	Statuses []store.TxStatus
	Wallets  []*store.Wallet
	Assets   []string
	Rows     []txRow
	Pager    pager
}

// transactions lists transactions newest first, filtered by status and
// wallet (in the store) and asset (here), pageSize at a time.
func (u *UI) transactions(c echo.Context) error {
	ctx, p := c.Request().Context(), principal(c)
	f := txFilter{Status: c.QueryParam("status"), Wallet: c.QueryParam("wallet"), Asset: strings.ToLower(c.QueryParam("asset"))}
	if f.Status != "" && !slices.Contains(txStatuses, store.TxStatus(f.Status)) {
		return badRequest("There is no transaction status " + strconv.Quote(f.Status) + ".")
	}
	after, err := parseTxCursor(c.QueryParam("after"))
	if err != nil {
		return errDamagedLink
	}
	wallets, err := u.svc.ListWallets(ctx, p)
	if err != nil {
		return err
	}
	dec, err := u.decimals(c)
	if err != nil {
		return err
	}
	txs, err := u.svc.ListTransactions(ctx, p, store.TransactionFilter{WalletID: f.Wallet, Asset: f.Asset, Status: store.TxStatus(f.Status),
		After: after, Limit: pageSize + 1}) // one more than a page tells whether there is more
	if err != nil {
		return err
	}
	var next *store.Cursor
	if len(txs) > pageSize {
		last := txs[pageSize-1]
		txs, next = txs[:pageSize], &store.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	names := walletNames(wallets)
	d := transactionsData{Filter: f, Statuses: txStatuses, Wallets: wallets, Assets: slices.Sorted(maps.Keys(dec))}
	for _, t := range txs {
		row := txRow{Transaction: t, Wallet: names[t.WalletID], Amount: units(t.Amount, decimalsOf(dec, t.Asset)), Link: "/transactions/" + url.PathEscape(t.ID)}
		if t.RequestID != "" {
			row.Link = "/requests/" + url.PathEscape(t.RequestID)
		}
		d.Rows = append(d.Rows, row)
	}
	if next != nil {
		d.Pager.Next = nextLink("/transactions", f.query(), "after", formatTxCursor(*next))
	}
	return u.render(c, http.StatusOK, "transactions", "Transactions", d)
}

// A transaction cursor in a link is "<creation time in Unix nanoseconds>.<id>".
func formatTxCursor(cur store.Cursor) string {
	return strconv.FormatInt(cur.CreatedAt.UnixNano(), 10) + "." + cur.ID
}

func parseTxCursor(s string) (store.Cursor, error) {
	if s == "" {
		return store.Cursor{}, nil
	}
	ns, id, ok := strings.Cut(s, ".")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || id == "" {
		return store.Cursor{}, errors.New("webui: malformed cursor")
	}
	return store.Cursor{CreatedAt: time.Unix(0, n), ID: id}, nil
}

func walletNames(ws []*store.Wallet) map[string]string {
	m := make(map[string]string, len(ws))
	for _, w := range ws {
		m[w.ID] = w.Name
	}
	return m
}

type transactionData struct {
	T      *store.Transaction
	Wallet string // the wallet's name ("" if it is gone)
	// Intent is the canonical intent the fingerprint covers, decoded; nil
	// with IntentError set if it does not decode.
	Intent       *intent.Transfer
	IntentError  string
	IntentAmount string // the intent's amount in whole units
	MemoSHA256   string
	Fingerprint  string
	Words        string // the fingerprint as words, as approvers see it
	Signature    string
}

// transaction shows one transaction: its status and lifecycle, and the
// intent its fingerprint covers.
func (u *UI) transaction(c echo.Context) error {
	ctx, p := c.Request().Context(), principal(c)
	t, err := u.svc.GetTransaction(ctx, p, c.Param("id"))
	if err != nil {
		return err
	}
	dec, err := u.decimals(c)
	if err != nil {
		return err
	}
	d := transactionData{T: t, Fingerprint: hex.EncodeToString(t.Fingerprint), Words: intent.WordString(t.Fingerprint),
		Signature: hex.EncodeToString(t.Signature)}
	switch w, err := u.svc.GetWallet(ctx, p, t.WalletID); {
	case err == nil:
		d.Wallet = w.Name
	case kindStatusOf(err) != http.StatusNotFound:
		return err
	}
	if d.Intent, err = intent.ParseTransfer(t.Intent); err != nil {
		d.IntentError = err.Error()
	} else {
		d.IntentAmount = units(d.Intent.Amount.String(), decimalsOf(dec, d.Intent.Asset))
		d.MemoSHA256 = hex.EncodeToString(d.Intent.MemoSHA256[:])
	}
	return u.render(c, http.StatusOK, "transaction", "Transaction "+t.ID, d)
}

// guardianRow is a guardian with its health as the coordinator sees it.
type guardianRow struct {
	*store.Guardian
	ID     string // set even when the guardian is not enrolled (Guardian nil)
	Index  int    // its participant index in a wallet's key (wallet page only)
	Live   coordinator.GuardianLiveness
	Report wire.Health // its last health report (zero if none)
	// Governance is "in sync", "differs" or "not reported": whether the
	// governance state it reported is the coordinator's.
	Governance string
	// Health is a word for people and Level its class: ok, warn, bad or
	// off (removed).
	Health, Level string
}

// guardianHealth reads every enrolled guardian with its health, by id,
// and the hash of the coordinator's governance state.
func (u *UI) guardianHealth(c echo.Context) (map[string]*guardianRow, string, error) {
	ctx, p := c.Request().Context(), principal(c)
	gs, err := u.svc.ListGuardians(ctx, p)
	if err != nil {
		return nil, "", err
	}
	live, err := u.svc.GuardianLiveness(ctx, p)
	if err != nil {
		return nil, "", err
	}
	gov, err := u.svc.GovernanceHash(ctx, p)
	if err != nil {
		return nil, "", err
	}
	out := make(map[string]*guardianRow, len(gs))
	for _, g := range gs {
		r := &guardianRow{Guardian: g, ID: g.ID, Live: live[g.ID], Governance: "not reported"}
		if len(g.Health) > 0 {
			if err := json.Unmarshal(g.Health, &r.Report); err != nil {
				r.Report = wire.Health{}
			}
		}
		switch r.Report.GovernanceHash {
		case "":
		case gov:
			r.Governance = "in sync"
		default:
			r.Governance = "differs"
		}
		r.Health, r.Level = judge(r)
		out[g.ID] = r
	}
	return out, gov, nil
}

// judge sums up a guardian's health, the worst first.
func judge(r *guardianRow) (string, string) {
	switch {
	case r.Status == store.GuardianRemoved:
		return "removed", "off"
	case r.Status == store.GuardianQuarantined:
		return "quarantined", "bad"
	case r.Live.LastFailure.After(r.Live.LastAnswer):
		return "unreachable", "bad"
	case r.Live.Stale:
		return "not answering", "bad"
	case r.Governance != "in sync":
		return "governance " + r.Governance, "warn"
	}
	return "healthy", "ok"
}

type guardiansData struct {
	Rows       []*guardianRow
	Governance string
	Healthy    int // of Watched
	Watched    int // enrolled and not removed
	Problems   []string
}

// guardians shows the health of every enrolled guardian.
func (u *UI) guardians(c echo.Context) error {
	m, gov, err := u.guardianHealth(c)
	if err != nil {
		return err
	}
	d := guardiansData{Governance: gov}
	problems := map[string]int{}
	for _, r := range m {
		d.Rows = append(d.Rows, r)
		if r.Level == "off" {
			continue
		}
		d.Watched++
		if r.Level == "ok" {
			d.Healthy++
		} else {
			problems[r.Health]++
		}
	}
	slices.SortFunc(d.Rows, func(a, b *guardianRow) int { return strings.Compare(a.Name, b.Name) })
	for _, h := range slices.Sorted(maps.Keys(problems)) {
		d.Problems = append(d.Problems, strconv.Itoa(problems[h])+" "+h)
	}
	return u.render(c, http.StatusOK, "guardians", "Guardians", d)
}

type walletRow struct {
	*store.Wallet
	Scheme string // who signs: "2 of 3 guardians", ...
	KeyHex string // the public key in hex, once the key is active
}

func viewWallet(w *store.Wallet) walletRow {
	r := walletRow{Wallet: w, Scheme: scheme(w)}
	if w.Active() {
		r.KeyHex = hex.EncodeToString(w.PublicKey)
	}
	return r
}

// scheme says who holds a wallet's key.
func scheme(w *store.Wallet) string {
	if len(w.Guardians) > 0 {
		return strconv.Itoa(w.Threshold) + " of " + strconv.Itoa(len(w.Guardians)) + " guardians"
	}
	if w.Mode == store.ModeHD {
		return "1 of 1: seed sealed by the coordinator"
	}
	return "—"
}

// wallets lists the wallets.
func (u *UI) wallets(c echo.Context) error {
	ws, err := u.svc.ListWallets(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	rows := make([]walletRow, 0, len(ws))
	for _, w := range ws {
		rows = append(rows, viewWallet(w))
	}
	return u.render(c, http.StatusOK, "wallets", "Wallets", rows)
}

type walletData struct {
	Wallet    walletRow
	Guardians []*guardianRow // the holders of its key shares, by participant index
	// Panel is the data of the wallet's mode panel (see modePanels); nil
	// for a mode without a loader.
	Panel any
}

// modePanels loads the data of each wallet mode's own panel on the wallet
// page. This is the extension point for per-mode views: the page renders
// the block "mode-<mode>" of templates/wallet.html with walletData, whose
// Panel is what the mode's loader here returned. To give a mode a panel
// (the hardware mode's air-gapped QR signing page, for one), fill its
// block there and, if it needs data, add its loader here.
var modePanels = map[string]func(u *UI, c echo.Context, w *store.Wallet, gs []*guardianRow) (any, error){
	store.ModeFROST: (*UI).frostPanel,
}

// wallet shows one wallet: its key, who holds it and how they are.
func (u *UI) wallet(c echo.Context) error {
	w, err := u.svc.GetWallet(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	d := walletData{Wallet: viewWallet(w)}
	if len(w.Guardians) > 0 {
		health, _, err := u.guardianHealth(c)
		if err != nil {
			return err
		}
		for i, id := range w.Guardians {
			r := health[id]
			if r == nil { // removed from the store: the key share is gone with it
				r = &guardianRow{ID: id, Health: "not enrolled", Level: "bad"}
			}
			row := *r
			row.Index = i + 1
			d.Guardians = append(d.Guardians, &row)
		}
	}
	if load := modePanels[w.Mode]; load != nil {
		if d.Panel, err = load(u, c, w, d.Guardians); err != nil {
			return err
		}
	}
	return u.render(c, http.StatusOK, "wallet", "Wallet "+w.Name, d)
}

type frostPanel struct {
	// Group is the group's public key data, nil until the key ceremony
	// completed (or if it does not decode).
	Group    *frost.GroupKey
	Shares   []frostShare
	Ceremony *store.Ceremony // the latest key ceremony, nil if none
	Steps    []coordinator.CeremonyStep
	Blamed   string // the name of the guardian the ceremony blamed
}

type frostShare struct {
	Index    uint16
	Guardian string
	Key      string // hex
}

// frostPanel loads a FROST wallet's group key and key ceremony.
func (u *UI) frostPanel(c echo.Context, w *store.Wallet, gs []*guardianRow) (any, error) {
	var d frostPanel
	names := map[string]string{}
	for _, g := range gs {
		if g.Guardian != nil {
			names[g.ID] = g.Name
		}
	}
	if len(w.GroupKey) > 0 {
		var gk frost.GroupKey
		if err := json.Unmarshal(w.GroupKey, &gk); err == nil {
			d.Group = &gk
			for _, s := range gk.Shares {
				sh := frostShare{Index: s.ID, Key: hex.EncodeToString(s.Key)}
				if i := int(s.ID) - 1; i >= 0 && i < len(w.Guardians) {
					sh.Guardian = names[w.Guardians[i]]
				}
				d.Shares = append(d.Shares, sh)
			}
		}
	}
	cer, err := u.svc.WalletCeremony(c.Request().Context(), principal(c), w.ID)
	if err != nil {
		return nil, err
	}
	if cer != nil {
		d.Ceremony = cer
		var pr coordinator.CeremonyProgress
		if json.Unmarshal(cer.Progress, &pr) == nil {
			d.Steps = pr.Steps
		}
		d.Blamed = names[cer.Blamed]
		if d.Blamed == "" {
			d.Blamed = cer.Blamed
		}
	}
	return d, nil
}
