package webui

import (
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/custos-dev/custos/audit"
	"github.com/labstack/echo/v4"
)

// scanBudget bounds the rows one listing page reads when it filters in
// the UI (every audit filter) rather than in the store: a selective
// filter shows fewer than pageSize rows, and an "Older" link to continue,
// instead of reading the whole history at once. Reading 5,000 audit events from SQLite takes about 0.15 s.
const scanBudget = 5000

// scanChunk is how many rows a filtering page asks the store for at once.
const scanChunk = 250

// The audit log page: the events newest first with filters, the chain's
// verification on demand, and the export that `custos audit verify`
// checks.
//
// Verification reads the whole log: 0.2 to 0.3 s for 10,000 events on
// SQLite (measured), growing with the log, where a page of the listing
// takes about 10 ms. It is too slow to repeat on every view and every
// page, so it runs when asked (GET /audit/verify).

// auditCategories and auditResults are the values the filters offer.
var (
	auditCategories = []string{audit.CategoryAuth, audit.CategoryWallet, audit.CategoryTransaction, audit.CategoryPolicy, audit.CategoryAdmin}
	auditResults    = []string{audit.ResultSuccess, audit.ResultFailure, audit.ResultDenied}
)

// auditFilter selects events. The store has no filtered audit query, so
// the page filters what it reads, at most scanBudget events per page.
type auditFilter struct {
	Category, Result string // exact
	Action           string // prefix: "transaction." matches transaction.submit
	Actor            string // part of the actor: "user:", an id, "system"
	From, To         string // days, YYYY-MM-DD, UTC, both included
	from, to         time.Time
}

func parseAuditFilter(q url.Values) (auditFilter, error) {
	f := auditFilter{Category: q.Get("category"), Result: q.Get("result"), Action: strings.TrimSpace(q.Get("action")),
		Actor: strings.TrimSpace(q.Get("actor")), From: q.Get("from"), To: q.Get("to")}
	var err error
	if f.From != "" {
		if f.from, err = time.Parse(time.DateOnly, f.From); err != nil {
			return f, badRequest("The first day must be a date (YYYY-MM-DD).")
		}
	}
	if f.To != "" {
		if f.to, err = time.Parse(time.DateOnly, f.To); err != nil {
			return f, badRequest("The last day must be a date (YYYY-MM-DD).")
		}
		f.to = f.to.AddDate(0, 0, 1)
	}
	return f, nil
}

func (f auditFilter) empty() bool {
	return f.Category == "" && f.Result == "" && f.Action == "" && f.Actor == "" && f.From == "" && f.To == ""
}

func (f auditFilter) match(e *audit.Event) bool {
	return (f.Category == "" || e.Category == f.Category) &&
		(f.Result == "" || e.Result == f.Result) &&
		strings.HasPrefix(e.Action, f.Action) &&
		strings.Contains(e.Actor, f.Actor) &&
		(f.from.IsZero() || !e.Time.Before(f.from)) &&
		(f.to.IsZero() || e.Time.Before(f.to))
}

// query is the filter as URL parameters, empty ones left out.
func (f auditFilter) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"category": f.Category, "result": f.Result, "action": f.Action,
		"actor": f.Actor, "from": f.From, "to": f.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

type auditRow struct {
	*audit.Event
	Link string // the target's page, if the UI has one
}

// targetLink links the targets the UI has pages for.
func targetLink(target string) string {
	kind, id, ok := strings.Cut(target, ":")
	if !ok || id == "" {
		return ""
	}
	switch kind {
	case "transaction":
		return "/transactions/" + url.PathEscape(id)
	case "request":
		return "/requests/" + url.PathEscape(id)
	case "wallet":
		return "/wallets/" + url.PathEscape(id)
	}
	return ""
}

type auditData struct {
	Filter      auditFilter
	Categories  []string
	Results     []string
	HeadSeq     int64
	HeadHash    string
	Events      []auditRow
	SearchedTo  int64 // with fewer matches than a page: the oldest event searched
	Pager       pager
	Chain       *chainStatus // nil unless verification was asked for
	VerifyQuery string       // the filter, to keep on the verification page
}

// chainStatus is the outcome of verifying the chain.
type chainStatus struct {
	Intact bool
	Count  int64  // events verified
	Head   string // hex hash of the last one
	// Break says where and how the chain breaks (Intact false).
	Break    string
	BreakSeq int64
}

func (u *UI) auditPage(c echo.Context) error { return u.renderAudit(c, false) }

func (u *UI) auditVerify(c echo.Context) error { return u.renderAudit(c, true) }

// renderAudit shows the audit log newest first, pageSize events a page,
// and with verify the verification of the whole chain.
func (u *UI) renderAudit(c echo.Context, verify bool) error {
	ctx, p := c.Request().Context(), principal(c)
	f, err := parseAuditFilter(c.QueryParams())
	if err != nil {
		return err
	}
	var before int64
	if s := c.QueryParam("before"); s != "" {
		if before, err = strconv.ParseInt(s, 10, 64); err != nil || before < 1 {
			return errDamagedLink
		}
	}
	seq, hash, err := u.svc.AuditHead(ctx, p)
	if err != nil {
		return err
	}
	d := auditData{Filter: f, Categories: auditCategories, Results: auditResults, HeadSeq: seq, HeadHash: hex.EncodeToString(hash)}
	if before == 0 || before > seq+1 {
		before = seq + 1
	}
	evs, next, err := u.scanAudit(c, before, f)
	if err != nil {
		return err
	}
	for _, e := range evs {
		d.Events = append(d.Events, auditRow{Event: e, Link: targetLink(e.Target)})
	}
	if next > 1 {
		d.Pager.Next = nextLink("/audit", f.query(), "before", strconv.FormatInt(next, 10))
		if len(evs) < pageSize {
			d.SearchedTo = next
		}
	}
	if q := f.query(); len(q) > 0 {
		d.VerifyQuery = "?" + q.Encode()
	}
	if verify {
		if d.Chain, err = u.verifyChain(c); err != nil {
			return err
		}
	}
	return u.render(c, http.StatusOK, "audit", "Audit log", d)
}

// scanAudit reads events with seq below before, newest first, keeping
// those f matches, until a page is full or scanBudget events were read.
// It returns them and the seq to continue below (1 or less: nothing
// older). Sequence numbers run 1, 2, 3... so a page is a window of them.
func (u *UI) scanAudit(c echo.Context, before int64, f auditFilter) ([]*audit.Event, int64, error) {
	ctx, p := c.Request().Context(), principal(c)
	chunk := int64(pageSize)
	if !f.empty() {
		chunk = scanChunk
	}
	var out []*audit.Event
	read := 0
	for before > 1 {
		low := max(0, before-1-chunk) // the window is low+1 .. before-1
		evs, err := u.svc.ListAudit(ctx, p, low, int(before-1-low))
		if err != nil {
			return nil, 0, err
		}
		for i := len(evs) - 1; i >= 0; i-- {
			e := evs[i]
			if e.Seq >= before {
				continue // only where events are missing from the store
			}
			if len(out) == pageSize {
				return out, before, nil // e is the first event of the next page
			}
			before = e.Seq
			read++
			if f.match(e) {
				out = append(out, e)
			}
		}
		before = low + 1
		if read >= scanBudget || len(out) == pageSize {
			break
		}
	}
	return out, before, nil
}

// verifyChain verifies the whole audit chain as the store holds it now,
// with the verifier of `custos audit verify` over the export's lines. A
// break (a *audit.ChainError, or an event the export cannot hold) is a
// status; a failure to read the log is an error.
func (u *UI) verifyChain(c echo.Context) (*chainStatus, error) {
	rep, err := u.svc.VerifyAudit(c.Request().Context(), principal(c))
	var ce *audit.ChainError
	switch {
	case err == nil:
		return &chainStatus{Intact: true, Count: rep.Count, Head: hex.EncodeToString(rep.Head)}, nil
	case errors.As(err, &ce):
		return &chainStatus{BreakSeq: ce.Seq, Break: ce.Reason}, nil
	case errors.Is(err, audit.ErrNotExportable):
		return &chainStatus{Break: err.Error()}, nil
	}
	return nil, err
}

// auditExport downloads the whole audit log as `custos audit export`
// writes it (the same Service call, the same bytes), for `custos audit
// verify`.
func (u *UI) auditExport(c echo.Context) error {
	w := &download{c: c, typ: "application/x-ndjson", name: "custos-audit-" + fileTime() + ".jsonl"}
	if err := u.svc.ExportAudit(c.Request().Context(), principal(c), w); err != nil {
		if !w.started {
			return err
		}
		// Part of the log is sent: abort the response, so that the
		// browser reports a failed download rather than keeping a
		// truncated log that would verify as an intact prefix.
		u.log.ErrorContext(c.Request().Context(), "audit export failed mid-stream", "err", err)
		panic(http.ErrAbortHandler)
	}
	if !w.started {
		w.start()
	}
	return nil
}

// auditCheckpoint downloads a signed statement of the chain's head, for
// `custos audit verify --checkpoint`: taken before an export, it proves
// the export holds every event up to it unchanged.
func (u *UI) auditCheckpoint(c echo.Context) error {
	cp, err := u.svc.AuditCheckpoint(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", `attachment; filename="custos-audit-checkpoint-`+fileTime()+`.json"`)
	return c.JSON(http.StatusOK, cp)
}

func fileTime() string { return time.Now().UTC().Format("20060102T150405Z") }

// download writes a file attachment, its headers sent with the first
// bytes, so that an error before any is still shown as a page.
type download struct {
	c         echo.Context
	typ, name string
	started   bool
}

func (d *download) start() {
	h := d.c.Response().Header()
	h.Set(echo.HeaderContentType, d.typ)
	h.Set("Content-Disposition", `attachment; filename="`+d.name+`"`)
	d.c.Response().WriteHeader(http.StatusOK)
	d.started = true
}

func (d *download) Write(p []byte) (int, error) {
	if !d.started {
		d.start()
	}
	return d.c.Response().Write(p)
}
