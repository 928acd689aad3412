package coordinator

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/internal/seal"
	"github.com/custos-dev/custos/store"
	"github.com/custos-dev/custos/webhook"
)

// Webhooks are driven by the audit log, not by the workflow: every step of
// a transfer and a request is an audit event already, and a dispatcher
// (RunWebhooks) tails the log from each webhook's durable cursor and posts
// the events the webhook subscribed to, one at a time, in order, signed
// (package webhook). Delivery is at least once: the cursor moves only
// after a 2xx answer, so an event whose answer was lost (a timeout, a
// restart) is posted again. Nothing in the signing path waits for a
// delivery.

// Delivery limits.
const (
	// WebhookTimeout bounds each delivery: connecting, sending and
	// receiving the answer's headers.
	WebhookTimeout = 10 * time.Second
	// WebhookFailingAfter is the number of consecutive failed deliveries
	// after which a webhook shows as failing. It is still retried.
	WebhookFailingAfter = 5
	// Retries wait webhookMinBackoff after the first failure, twice as
	// long after each further one, at most webhookMaxBackoff.
	webhookMinBackoff = time.Second
	webhookMaxBackoff = 10 * time.Minute
	// webhookLease is how long a dispatcher holds a webhook; it stops
	// delivering before the lease runs out.
	webhookLease = time.Minute
	// webhookPage is how many audit events are read at a time.
	webhookPage = 100
	// webhookParallel bounds the webhooks delivered to at the same time.
	webhookParallel = 8
	maxWebhookURL   = 2048
)

// webhookEventTypes are the event types a webhook may subscribe to. Each
// names a family of audit actions: "transaction.*" is every action that
// starts with "transaction." (transaction.submit, transaction.sign, ...).
var webhookEventTypes = []string{"transaction.*", "request.*", "wallet.*", "policy.*", "guardian.*", "emergency_stop.*"}

// WebhookEventTypes returns the event types a webhook may subscribe to.
func WebhookEventTypes() []string { return slices.Clone(webhookEventTypes) }

// WebhookConfig configures webhook deliveries.
type WebhookConfig struct {
	// AllowPrivate lets webhooks reach loopback and private addresses, and
	// use plain http to reach them: for tests and `custos dev`. Without it
	// a webhook URL must be https and may connect to public addresses
	// only. Link-local, multicast and reserved addresses are refused
	// either way.
	AllowPrivate bool
	// Poll is how often the dispatcher looks for new events (default 1s).
	Poll time.Duration
}

// webhooks is the delivery machinery of a Service.
type webhooks struct {
	allowPrivate bool
	poll         time.Duration
	clients      map[string]*http.Client // by URL scheme
	holder       string                  // this process, as a lease holder
	wake         chan struct{}           // a webhook became due
}

func newWebhooks(cfg WebhookConfig, holder string) *webhooks {
	w := &webhooks{allowPrivate: cfg.AllowPrivate, poll: cfg.Poll, holder: holder, wake: make(chan struct{}, 1),
		clients: map[string]*http.Client{"https": webhookClient(dialPublic)}}
	if w.poll <= 0 {
		w.poll = time.Second
	}
	if cfg.AllowPrivate {
		w.clients["https"] = webhookClient(dialAny)
		w.clients["http"] = webhookClient(dialPrivate)
	}
	return w
}

// signal wakes the dispatcher without waiting for it.
func (w *webhooks) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// WebhookSecret is a webhook's signing secret: 32 random bytes, shown
// once at creation and stored only sealed. Every way of printing,
// logging or encoding it is redacted; Reveal gives the secret.
type WebhookSecret struct{ s string }

// Reveal returns the secret, to be shown to the administrator once.
func (s WebhookSecret) Reveal() string { return s.s }

// String is redacted.
func (s WebhookSecret) String() string { return webhook.SecretPrefix + "[REDACTED]" }

// LogValue is redacted.
func (s WebhookSecret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON is redacted: a secret reaches the wire only through Reveal.
func (s WebhookSecret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalText is redacted.
func (s WebhookSecret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// GoString is redacted.
func (s WebhookSecret) GoString() string { return s.String() }

// Format prints String for every fmt verb, %#v and %+v included.
func (s WebhookSecret) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }

// webhookAD binds a sealed webhook secret to its webhook.
func webhookAD(id string) []byte { return seal.AssociatedData("custos/webhook-secret/v1", id) }

// WebhookInput describes a webhook to create.
type WebhookInput struct {
	URL    string
	Events []string
}

// Webhook is a webhook as administrators see it (never its secret).
type Webhook struct {
	ID        string
	URL       string
	Events    []string
	Enabled   bool
	CreatedBy string
	CreatedAt time.Time
	// Cursor is the audit sequence number delivered (or passed over) up
	// to; Lag is how many audit events were recorded after it.
	Cursor int64
	Lag    int64
	// Failures counts consecutive failed deliveries; Failing is set from
	// WebhookFailingAfter of them on. LastError says why the last failed.
	Failures       int
	Failing        bool
	LastError      string
	LastDeliveryAt *time.Time
	NextAttemptAt  *time.Time
}

func viewWebhook(w *store.Webhook, head int64) *Webhook {
	return &Webhook{ID: w.ID, URL: w.URL, Events: w.Events, Enabled: w.Enabled, CreatedBy: w.CreatedBy, CreatedAt: w.CreatedAt,
		Cursor: w.Cursor, Lag: max(head-w.Cursor, 0), Failures: w.Failures, Failing: w.Failures >= WebhookFailingAfter,
		LastError: w.LastError, LastDeliveryAt: w.LastDeliveryAt, NextAttemptAt: w.NextAttemptAt}
}

// CreateWebhook creates an enabled webhook that receives the events of
// in.Events recorded from now on, and returns it with its signing secret,
// shown this once. Administrators only. It is not an approval request: a
// webhook moves no money and decides nothing, it only receives what the
// audit log says; its creation is recorded in the audit log.
func (s *Service) CreateWebhook(ctx context.Context, p *Principal, in WebhookInput) (*Webhook, WebhookSecret, error) {
	var zero WebhookSecret
	if err := p.require(PermAdmin); err != nil {
		return nil, zero, err
	}
	u, err := s.checkWebhookURL(strings.TrimSpace(in.URL))
	if err != nil {
		return nil, zero, err
	}
	if err := checkWebhookEvents(in.Events); err != nil {
		return nil, zero, err
	}
	raw := make([]byte, 32)
	if _, err := io.ReadFull(s.rand, raw); err != nil {
		return nil, zero, internal("webhook secret", err)
	}
	secret := webhook.SecretPrefix + base64.RawURLEncoding.EncodeToString(raw)
	clear(raw)
	id := s.newID()
	sealed, err := seal.Seal(s.kek, []byte(secret), webhookAD(id), s.rand)
	if err != nil {
		return nil, zero, internal("seal webhook secret", err)
	}
	w := &store.Webhook{ID: id, URL: u.String(), SealedSecret: sealed, Events: slices.Clone(in.Events), Enabled: true,
		CreatedBy: p.Actor(), CreatedAt: s.now()}
	err = s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		// Events from now on: the head before this webhook's own event.
		head, _, err := tx.AuditHead(ctx)
		if err != nil {
			return err
		}
		w.Cursor = head
		if err := tx.CreateWebhook(ctx, w); err != nil {
			return err
		}
		return s.record(ctx, tx, event{category: audit.CategoryAdmin, action: "webhook.create", actor: p.Actor(),
			target: "webhook:" + id, result: audit.ResultSuccess,
			meta: map[string]string{"url": originOf(u), "events": strings.Join(w.Events, " ")}})
	})
	if err != nil {
		return nil, zero, s.storeErr("create webhook", err)
	}
	s.hooks.signal()
	return viewWebhook(w, w.Cursor), WebhookSecret{s: secret}, nil
}

// ListWebhooks lists the webhooks with their delivery state, oldest
// first. Administrators only.
func (s *Service) ListWebhooks(ctx context.Context, p *Principal) ([]*Webhook, error) {
	if err := p.require(PermAdmin); err != nil {
		return nil, err
	}
	return read(ctx, s, "list webhooks", nil, func(ctx context.Context, tx store.Tx) ([]*Webhook, error) {
		ws, err := tx.ListWebhooks(ctx)
		if err != nil {
			return nil, err
		}
		head, _, err := tx.AuditHead(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]*Webhook, 0, len(ws))
		for _, w := range ws {
			out = append(out, viewWebhook(w, head))
		}
		return out, nil
	})
}

// SetWebhookEnabled disables a webhook (no more deliveries; its cursor
// stays where it is) or enables it again: it resumes after its cursor, so
// the events recorded meanwhile are delivered too, and at once.
// Administrators only.
func (s *Service) SetWebhookEnabled(ctx context.Context, p *Principal, id string, enabled bool) error {
	if err := p.require(PermAdmin); err != nil {
		return err
	}
	action := map[bool]string{true: "webhook.enable", false: "webhook.disable"}[enabled]
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		if err := tx.SetWebhookEnabled(ctx, id, enabled); err != nil {
			return err
		}
		return s.record(ctx, tx, event{category: audit.CategoryAdmin, action: action, actor: p.Actor(),
			target: "webhook:" + id, result: audit.ResultSuccess})
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errUnknownWebhook(id)
	case errors.Is(err, store.ErrConflict):
		return newErr(KindConflict, "webhook_unchanged", "webhook %q is %s already", id, map[bool]string{true: "enabled", false: "disabled"}[enabled])
	case err != nil:
		return s.storeErr("set webhook state", err)
	}
	if enabled {
		s.hooks.signal()
	}
	return nil
}

// DeleteWebhook deletes a webhook: nothing more is delivered to it.
// Administrators only.
func (s *Service) DeleteWebhook(ctx context.Context, p *Principal, id string) error {
	if err := p.require(PermAdmin); err != nil {
		return err
	}
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		if err := tx.DeleteWebhook(ctx, id); err != nil {
			return err
		}
		return s.record(ctx, tx, event{category: audit.CategoryAdmin, action: "webhook.delete", actor: p.Actor(),
			target: "webhook:" + id, result: audit.ResultSuccess})
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errUnknownWebhook(id)
	case err != nil:
		return s.storeErr("delete webhook", err)
	}
	return nil
}

func errUnknownWebhook(id string) error {
	return newErr(KindNotFound, "unknown_webhook", "webhook %q does not exist", id)
}

func errInvalidWebhook(format string, args ...any) error {
	return newErr(KindInvalid, "invalid_webhook", format, args...)
}

// checkWebhookURL accepts an absolute https URL (http too when private
// addresses are allowed) without credentials or fragment, and refuses a
// literal address the dispatcher would refuse to connect to. Host names
// are checked at each connection instead (they may resolve differently
// later).
func (s *Service) checkWebhookURL(raw string) (*url.URL, error) {
	if raw == "" || len(raw) > maxWebhookURL {
		return nil, errInvalidWebhook("url is required (at most %d characters)", maxWebhookURL)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" || u.Hostname() == "" {
		return nil, errInvalidWebhook("url must be an absolute URL such as https://hooks.example.com/custos")
	}
	switch {
	case u.Scheme == "http" && !s.hooks.allowPrivate:
		return nil, errInvalidWebhook("url must use https")
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, errInvalidWebhook("url must use https")
	case u.User != nil:
		return nil, errInvalidWebhook("url must not carry a user name or password; authenticate deliveries with the signature")
	case u.Fragment != "" || u.RawFragment != "":
		return nil, errInvalidWebhook("url must not have a fragment (#...)")
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		host = "127.0.0.1"
	}
	if a, err := netip.ParseAddr(host); err == nil {
		kind := classifyAddr(a)
		switch {
		case kind == addrForbidden:
			return nil, errInvalidWebhook("url names a link-local, multicast or reserved address; webhooks never connect there")
		case kind == addrPrivate && !s.hooks.allowPrivate:
			return nil, errInvalidWebhook("url names a loopback or private address; webhooks connect to public addresses only")
		case kind == addrPublic && u.Scheme == "http":
			return nil, errInvalidWebhook("url must use https (http is for private addresses in development only)")
		}
	}
	return u, nil
}

// originOf is u's scheme and host only, for the audit log: a URL's path
// or query may carry a token (e.g. .../services/T/B/<secret>), and the log
// is exported and kept for ever.
func originOf(u *url.URL) string {
	return u.Scheme + "://" + u.Host
}

func checkWebhookEvents(events []string) error {
	if len(events) == 0 {
		return errInvalidWebhook("events is required: one or more of %s", strings.Join(webhookEventTypes, ", "))
	}
	for i, e := range events {
		if !slices.Contains(webhookEventTypes, e) {
			return errInvalidWebhook("unknown event type %q: use %s", e, strings.Join(webhookEventTypes, ", "))
		}
		if slices.Contains(events[:i], e) {
			return errInvalidWebhook("event type %q is listed twice", e)
		}
	}
	return nil
}

// subscribed reports whether an audit action is in one of the families
// events names.
func subscribed(events []string, action string) bool {
	for _, e := range events {
		if family, ok := strings.CutSuffix(e, "*"); ok && strings.HasPrefix(action, family) {
			return true
		}
	}
	return false
}

// RunWebhooks delivers audit events to the webhooks until ctx ends, then
// waits for the deliveries in flight to stop (an interrupted one is made
// again later). It looks for due webhooks every WebhookConfig.Poll and
// whenever a webhook is created or enabled; each webhook is delivered to
// by one goroutine at a time, and one slow endpoint does not hold up the
// others. Coordinator replicas may all run it: a lease in the store lets
// one of them deliver a given webhook at a time.
func (s *Service) RunWebhooks(ctx context.Context) {
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		running = map[string]bool{}
		// started is when each webhook last got a delivery slot: the
		// slots go to the due webhooks served least recently, so a few
		// slow endpoints that stay due cannot keep the others waiting.
		started = map[string]time.Time{}
	)
	defer wg.Wait()
	tick := time.NewTicker(s.hooks.poll)
	defer tick.Stop()
	for {
		due := s.dueWebhooks(ctx)
		slices.SortStableFunc(due, func(a, b string) int { return started[a].Compare(started[b]) })
		for _, id := range due {
			mu.Lock()
			start := !running[id] && len(running) < webhookParallel
			if start {
				running[id] = true
				started[id] = time.Now()
			}
			mu.Unlock()
			if !start {
				continue
			}
			wg.Go(func() {
				s.deliverWebhook(ctx, id)
				mu.Lock()
				delete(running, id)
				mu.Unlock()
			})
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.hooks.wake:
		}
	}
}

// dueWebhooks returns the enabled webhooks with events after their cursor
// and no retry pending.
func (s *Service) dueWebhooks(ctx context.Context) []string {
	var ids []string
	err := s.store.ReadTx(ctx, func(ctx context.Context, tx store.Tx) error {
		ids = nil
		head, _, err := tx.AuditHead(ctx)
		if err != nil {
			return err
		}
		ws, err := tx.ListWebhooks(ctx)
		if err != nil {
			return err
		}
		for _, w := range ws {
			if webhookDue(w, s.now()) && w.Cursor < head {
				ids = append(ids, w.ID)
			}
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		s.log.WarnContext(ctx, "listing webhooks failed", "err", err)
	}
	return ids
}

func webhookDue(w *store.Webhook, now time.Time) bool {
	return w.Enabled && (w.NextAttemptAt == nil || !now.Before(*w.NextAttemptAt))
}

// deliverWebhook leases webhook id and posts its events in order until it
// has none left, one fails, ctx ends or the lease is about to run out.
func (s *Service) deliverWebhook(ctx context.Context, id string) {
	until := s.now().Add(webhookLease)
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		return tx.LeaseWebhook(ctx, id, s.hooks.holder, s.now(), until)
	})
	if err != nil {
		if !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
			s.log.WarnContext(ctx, "leasing webhook failed", "webhook", id, "err", err)
		}
		return
	}
	defer func() {
		// Released even when ctx ended, so that another dispatcher (or
		// this one, restarted) need not wait for the lease to run out.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err := s.store.ReadWriteTx(rctx, func(ctx context.Context, tx store.Tx) error {
			return tx.ReleaseWebhook(ctx, id, s.hooks.holder)
		})
		if err != nil {
			s.log.WarnContext(ctx, "releasing webhook failed", "webhook", id, "err", err)
		}
	}()
	var secret []byte
	defer func() { clear(secret) }()
	// evs is a page of the audit log after the cursor, read once and used
	// up event by event; the webhook itself is read before each delivery,
	// so that disabling it stops the deliveries at once.
	var evs []*audit.Event
	for ctx.Err() == nil && !s.now().Add(WebhookTimeout).After(until) {
		var w *store.Webhook
		err := s.store.ReadTx(ctx, func(ctx context.Context, tx store.Tx) error {
			var err error
			if w, err = tx.GetWebhook(ctx, id); err != nil {
				return err
			}
			for len(evs) > 0 && evs[0].Seq <= w.Cursor {
				evs = evs[1:]
			}
			if len(evs) == 0 {
				evs, err = tx.ListAudit(ctx, w.Cursor, webhookPage)
			}
			return err
		})
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
				s.log.WarnContext(ctx, "reading webhook events failed", "webhook", id, "err", err)
			}
			return
		}
		if !webhookDue(w, s.now()) || len(evs) == 0 {
			return
		}
		if secret == nil {
			if secret, err = seal.Open(s.kek, w.SealedSecret, webhookAD(w.ID)); err != nil {
				s.log.ErrorContext(ctx, "opening webhook secret failed", "webhook", id, "err", err)
				s.webhookFailed(ctx, w, w.Cursor, "the signing secret could not be opened (was the key-encryption key changed?)")
				return
			}
		}
		// The first subscribed event; the ones before it are passed over.
		pos, next := w.Cursor, (*audit.Event)(nil)
		for _, e := range evs {
			if subscribed(w.Events, e.Action) {
				next = e
				break
			}
			pos = e.Seq
		}
		if next == nil {
			if !s.saveWebhook(ctx, w, pos, func(n *store.Webhook) {}) {
				return
			}
			continue
		}
		if err := s.postEvent(ctx, w.URL, secret, next); err != nil {
			if ctx.Err() != nil {
				return // stopping: the event is delivered again later
			}
			s.log.WarnContext(ctx, "webhook delivery failed", "webhook", id, "seq", next.Seq, "failures", w.Failures+1, "err", err)
			s.webhookFailed(ctx, w, pos, err.Error())
			return
		}
		now := s.now()
		if !s.saveWebhook(ctx, w, next.Seq, func(n *store.Webhook) {
			n.Failures, n.LastError, n.LastDeliveryAt, n.NextAttemptAt = 0, "", &now, nil
		}) {
			return
		}
	}
}

// webhookFailed records a failed delivery (the cursor moved to pos, past
// the events passed over) and when to retry.
func (s *Service) webhookFailed(ctx context.Context, w *store.Webhook, pos int64, reason string) {
	s.saveWebhook(ctx, w, pos, func(n *store.Webhook) {
		n.Failures++
		n.LastError = clean(reason, 512)
		retry := s.now().Add(webhookBackoff(n.Failures))
		n.NextAttemptAt = &retry
	})
}

// saveWebhook moves w's cursor to cursor with the changes of set, if no
// one moved it meanwhile. It reports whether the dispatcher may go on.
func (s *Service) saveWebhook(ctx context.Context, w *store.Webhook, cursor int64, set func(*store.Webhook)) bool {
	n := *w
	n.Cursor = cursor
	set(&n)
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		return tx.UpdateWebhookDelivery(ctx, &n, w.Cursor)
	})
	if err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
		s.log.WarnContext(ctx, "recording webhook delivery failed", "webhook", w.ID, "err", err)
	}
	return err == nil
}

// webhookBackoff is the wait after the nth consecutive failure.
func webhookBackoff(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	if n > 20 {
		return webhookMaxBackoff
	}
	return min(webhookMinBackoff<<(n-1), webhookMaxBackoff)
}

// webhookEvent is what a delivery of e carries. The client address of
// the person who acted is left out: the endpoint is outside Custos.
func webhookEvent(e *audit.Event) webhook.Event {
	meta := make(map[string]string, len(e.Metadata))
	for k, v := range e.Metadata {
		if k != "remote_ip" {
			meta[k] = v
		}
	}
	return webhook.Event{ID: e.ID, Type: e.Action, OccurredAt: e.Time, Target: e.Target, Result: e.Result, Meta: meta,
		AuditSeq: e.Seq, AuditHash: hex.EncodeToString(e.Hash)}
}

// postEvent posts e to rawURL, signed with secret: nil on a 2xx answer.
// Errors name neither the URL (it may carry a token) nor the secret.
func (s *Service) postEvent(ctx context.Context, rawURL string, secret []byte, e *audit.Event) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return errors.New("the URL does not parse")
	}
	client := s.hooks.clients[u.Scheme]
	if client == nil {
		return fmt.Errorf("%s URLs are not allowed by this coordinator", u.Scheme)
	}
	body, err := json.Marshal(webhookEvent(e))
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return errors.New("the URL does not parse")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Custos-Webhook/1")
	req.Header.Set(webhook.EventIDHeader, e.ID)
	req.Header.Set(webhook.SignatureHeader, webhook.Sign(secret, s.now(), body))
	resp, err := client.Do(req)
	if err != nil {
		var (
			ue      *url.Error
			refused *refusedAddrError
		)
		switch {
		case errors.As(err, &refused):
			return refused
		case errors.As(err, &ue) && ue.Timeout():
			return fmt.Errorf("no answer within %s", WebhookTimeout)
		case errors.As(err, &ue):
			return ue.Err // without the URL
		}
		return err
	}
	// Drained (a little) so that the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return fmt.Errorf("the endpoint answered HTTP %d; redirects are not followed", resp.StatusCode)
	}
	return fmt.Errorf("the endpoint answered HTTP %d", resp.StatusCode)
}

// webhookClient returns the HTTP client deliveries are made with: no
// proxy, no redirects followed, WebhookTimeout per delivery, and a dialer
// that checks every address it connects to with allow, after name
// resolution, so that a name resolving (or re-resolving) to an internal
// address is refused too.
func webhookClient(allow func(addrKind) bool) *http.Client {
	d := &net.Dialer{Timeout: WebhookTimeout, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("refused to connect to %q", address)
		}
		if kind := classifyAddr(ap.Addr()); !allow(kind) {
			return &refusedAddrError{addr: ap.Addr(), kind: kind}
		}
		return nil
	}}
	tr := &http.Transport{Proxy: nil, DialContext: d.DialContext, TLSHandshakeTimeout: WebhookTimeout,
		ResponseHeaderTimeout: WebhookTimeout, MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute, ForceAttemptHTTP2: true}
	return &http.Client{Transport: tr, Timeout: WebhookTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// refusedAddrError is a connection the dialer refused.
type refusedAddrError struct {
	addr netip.Addr
	kind addrKind
}

func (e *refusedAddrError) Error() string {
	return fmt.Sprintf("refused to connect to %s, a %s address", e.addr, e.kind)
}

// Where a webhook may connect, by kind of address: https to public ones,
// and with WebhookConfig.AllowPrivate https anywhere but forbidden
// addresses and http to private ones only.
func dialPublic(k addrKind) bool  { return k == addrPublic }
func dialAny(k addrKind) bool     { return k != addrForbidden }
func dialPrivate(k addrKind) bool { return k == addrPrivate }

// addrKind classifies an IP address for webhook connections.
type addrKind int

const (
	addrPublic    addrKind = iota
	addrPrivate            // loopback, RFC 1918, unique local, shared (CGNAT)
	addrForbidden          // link-local, multicast, unspecified, reserved, IPv6 embedding IPv4
)

func (k addrKind) String() string {
	return [...]string{"public", "loopback or private", "link-local, multicast or reserved"}[k]
}

var (
	sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")
	// reservedPrefixes are global unicast by netip's definition but are
	// not the Internet: documentation, benchmarking, protocol
	// assignments, and IPv6 ranges that embed an IPv4 address (which could
	// be a private one).
	reservedPrefixes = []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("192.0.0.0/24"), netip.MustParsePrefix("192.0.2.0/24"),
		netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("203.0.113.0/24"),
		netip.MustParsePrefix("240.0.0.0/4"), netip.MustParsePrefix("::/8"), netip.MustParsePrefix("64:ff9b::/96"),
		netip.MustParsePrefix("64:ff9b:1::/48"), netip.MustParsePrefix("100::/64"), netip.MustParsePrefix("2001::/23"),
		netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("2002::/16"), netip.MustParsePrefix("fec0::/10"),
	}
)

func classifyAddr(a netip.Addr) addrKind {
	a = a.Unmap().WithZone("")
	switch {
	case a.IsLoopback(), a.IsPrivate(), sharedAddressSpace.Contains(a):
		return addrPrivate
	case !a.IsGlobalUnicast():
		return addrForbidden
	}
	for _, p := range reservedPrefixes {
		if p.Contains(a) {
			return addrForbidden
		}
	}
	return addrPublic
}
