package coordinator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custos-dev/custos/approvals/proof"
	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/internal/seal"
	"github.com/custos-dev/custos/store"
	"github.com/custos-dev/custos/webhook"
)

// hookService is another coordinator process on f's store (same keys and
// clock) that allows private webhook addresses or not, logging to logs
// (nil: nowhere); it is closed when t ends.
func hookService(t *testing.T, f *fixture, allowPrivate bool, logs io.Writer) *coordinator.Service {
	t.Helper()
	kek, err := seal.NewKEK(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := proof.NewSigner(seedKey("decision"))
	if err != nil {
		t.Fatal(err)
	}
	var logger *slog.Logger
	if logs != nil {
		logger = slog.New(slog.NewTextHandler(&lockedWriter{w: logs}, nil))
	}
	svc, err := coordinator.New(coordinator.Config{Store: f.st, KEK: kek, DecisionKey: signer, Now: f.clock.Now, Logger: logger,
		Webhooks: coordinator.WebhookConfig{AllowPrivate: allowPrivate, Poll: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// dispatch runs svc's dispatcher until the returned stop is called (or
// the test ends); stop waits for it to return.
func dispatch(t *testing.T, svc *coordinator.Service) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.RunWebhooks(ctx)
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// eventually polls cond until it holds, failing the test after a deadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// receiver is a webhook endpoint on 127.0.0.1 that checks every delivery
// with the public verification helper, against the coordinator's clock.
type receiver struct {
	srv *httptest.Server
	now func() time.Time
	// answer, if set, decides the status of the nth delivery (0-based);
	// 204 otherwise.
	answer func(n int, ev webhook.Event, r *http.Request) int

	mu       sync.Mutex
	secret   []byte
	got      []webhook.Event // verified deliveries, in arrival order
	problems []string        // deliveries refused, and why
}

func newReceiver(t *testing.T, now func() time.Time) *receiver {
	rc := &receiver{now: now}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	rc.mu.Lock()
	secret := rc.secret
	rc.mu.Unlock()
	var ev webhook.Event
	problem := ""
	switch {
	case err != nil:
		problem = "unreadable body"
	case r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json":
		problem = "not a JSON POST"
	case webhook.Verify(secret, r.Header.Get(webhook.SignatureHeader), body, rc.now(), 0) != nil:
		problem = "bad signature: " + webhook.Verify(secret, r.Header.Get(webhook.SignatureHeader), body, rc.now(), 0).Error()
	case json.Unmarshal(body, &ev) != nil:
		problem = "not an event"
	case ev.ID == "" || r.Header.Get(webhook.EventIDHeader) != ev.ID:
		problem = "event id header " + r.Header.Get(webhook.EventIDHeader) + " for event " + ev.ID
	}
	rc.mu.Lock()
	if problem != "" {
		rc.problems = append(rc.problems, problem)
		rc.mu.Unlock()
		http.Error(w, problem, http.StatusBadRequest)
		return
	}
	n := len(rc.got)
	rc.got = append(rc.got, ev)
	rc.mu.Unlock()
	status := http.StatusNoContent
	if rc.answer != nil {
		status = rc.answer(n, ev, r)
	}
	w.WriteHeader(status)
}

func (rc *receiver) setSecret(s string) {
	rc.mu.Lock()
	rc.secret = []byte(s)
	rc.mu.Unlock()
}

// deliveries returns what was received so far and fails on a refused one.
func (rc *receiver) deliveries(t *testing.T) []webhook.Event {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.problems) > 0 {
		t.Fatalf("the receiver refused deliveries: %q", rc.problems)
	}
	return slices.Clone(rc.got)
}

// createHook creates a webhook to rc as the administrator ada.
func createHook(t *testing.T, f *fixture, svc *coordinator.Service, rc *receiver, events ...string) *coordinator.Webhook {
	t.Helper()
	w, secret, err := svc.CreateWebhook(context.Background(), f.users["ada"], coordinator.WebhookInput{URL: rc.srv.URL + "/custos", Events: events})
	if err != nil {
		t.Fatal(err)
	}
	rc.setSecret(secret.Reveal())
	return w
}

func hookState(t *testing.T, f *fixture, id string) *coordinator.Webhook {
	t.Helper()
	ws, err := f.svc.ListWebhooks(context.Background(), f.users["ada"])
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		if w.ID == id {
			return w
		}
	}
	t.Fatalf("webhook %s not listed", id)
	return nil
}

// subscribedSince returns the audit events after seq whose action is in
// one of the families, in order: what a webhook must deliver.
func subscribedSince(t *testing.T, f *fixture, seq int64, families ...string) []*audit.Event {
	t.Helper()
	evs, err := f.svc.ListAudit(context.Background(), f.users["ada"], seq, 0)
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(evs, func(e *audit.Event) bool {
		return !slices.ContainsFunc(families, func(fam string) bool { return strings.HasPrefix(e.Action, strings.TrimSuffix(fam, "*")) })
	})
}

func ids(evs []webhook.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func TestWebhookDeliversInOrderAtLeastOnceAcrossARestart(t *testing.T) {
	f := newFixture(t, "")
	rc := newReceiver(t, f.clock.Now)
	blocked, release := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(release) })
	var once sync.Once
	// The third event is received but never acknowledged: the first
	// dispatcher stops while it waits for the answer.
	rc.answer = func(n int, ev webhook.Event, r *http.Request) int {
		if n == 2 {
			once.Do(func() { close(blocked) })
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}
		return http.StatusNoContent
	}
	first := hookService(t, f, true, nil)
	hook := createHook(t, f, first, rc, "transaction.*", "request.*")
	for i := range 4 {
		f.submit(f.users["carol"], f.ethW, "eth", fmt.Sprintf("0x%040d", i+1), eth(1))
	}
	want := subscribedSince(t, f, hook.Cursor, "transaction.*", "request.*")
	if len(want) < 4 {
		t.Fatalf("only %d events to deliver", len(want))
	}

	stop := dispatch(t, first)
	<-blocked
	stop()
	if got := rc.deliveries(t); !slices.Equal(ids(got), []string{want[0].ID, want[1].ID, want[2].ID}) {
		t.Fatalf("before the restart: received %v, want the first three of %d", ids(got), len(want))
	}
	if w := hookState(t, f, hook.ID); w.Cursor >= want[2].Seq || w.Failures != 0 {
		t.Fatalf("after the stop: cursor %d, failures %d; want before %d, none recorded", w.Cursor, w.Failures, want[2].Seq)
	}

	// Another process picks up where the first stopped: the
	// unacknowledged event again, then the rest, in order.
	dispatch(t, hookService(t, f, true, nil))
	eventually(t, "every event delivered", func() bool { return hookState(t, f, hook.ID).Lag == 0 })
	got := rc.deliveries(t)
	wantIDs := []string{want[0].ID, want[1].ID, want[2].ID}
	for _, e := range want[2:] {
		wantIDs = append(wantIDs, e.ID)
	}
	if !slices.Equal(ids(got), wantIDs) {
		t.Fatalf("received %v\nwant     %v", ids(got), wantIDs)
	}
	for i, ev := range got[3:] {
		e := want[i+2]
		if ev.Type != e.Action || ev.AuditSeq != e.Seq || ev.AuditHash != fmt.Sprintf("%x", e.Hash) || ev.Target != e.Target ||
			ev.Result != e.Result || !ev.OccurredAt.Equal(e.Time) || ev.Meta["fingerprint"] != e.Metadata["fingerprint"] {
			t.Fatalf("delivery %+v does not match audit event %+v", ev, e)
		}
	}
	w := hookState(t, f, hook.ID)
	if w.LastDeliveryAt == nil || w.Failures != 0 || w.LastError != "" || w.Failing {
		t.Fatalf("webhook after delivering everything: %+v", w)
	}
}

func TestWebhookRetriesWithBackoffAndShowsFailing(t *testing.T) {
	f := newFixture(t, "")
	rc := newReceiver(t, f.clock.Now)
	var mu sync.Mutex
	failing := true
	rc.answer = func(int, webhook.Event, *http.Request) int {
		mu.Lock()
		defer mu.Unlock()
		if failing {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	}
	svc := hookService(t, f, true, nil)
	hook := createHook(t, f, svc, rc, "transaction.*")
	tx := f.submit(f.users["carol"], f.ethW, "eth", "0x00000000000000000000000000000000000000b0", eth(1))
	first := subscribedSince(t, f, hook.Cursor, "transaction.*")[0]
	dispatch(t, svc)

	for n := 1; n <= coordinator.WebhookFailingAfter; n++ {
		eventually(t, fmt.Sprintf("failure %d recorded", n), func() bool { return hookState(t, f, hook.ID).Failures == n })
		w := hookState(t, f, hook.ID)
		backoff := time.Second << (n - 1)
		if w.Cursor >= first.Seq || !strings.Contains(w.LastError, "HTTP 500") || w.NextAttemptAt == nil ||
			!w.NextAttemptAt.Equal(f.clock.Now().Add(backoff)) || w.Failing != (n >= coordinator.WebhookFailingAfter) {
			t.Fatalf("after failure %d: %+v; want the cursor kept, a retry in %s", n, w, backoff)
		}
		if got := len(rc.deliveries(t)); got != n {
			t.Fatalf("after failure %d the endpoint had %d attempts", n, got)
		}
		if n == coordinator.WebhookFailingAfter {
			mu.Lock()
			failing = false
			mu.Unlock()
		}
		f.clock.Advance(backoff)
	}
	eventually(t, "the retry delivered", func() bool { return hookState(t, f, hook.ID).Failures == 0 })
	w := hookState(t, f, hook.ID)
	if w.Failing || w.LastError != "" || w.NextAttemptAt != nil || w.LastDeliveryAt == nil {
		t.Fatalf("after a successful retry: %+v", w)
	}
	got := rc.deliveries(t)
	for _, ev := range got {
		if ev.ID != got[0].ID || ev.Type != "transaction.submit" || ev.Target != "transaction:"+tx.ID {
			t.Fatalf("retries of the first event: %+v", got)
		}
	}
	if len(got) != coordinator.WebhookFailingAfter+1 {
		t.Fatalf("%d attempts, want %d", len(got), coordinator.WebhookFailingAfter+1)
	}
}

func TestWebhookDisabledGetsNothingUntilEnabled(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	svc := hookService(t, f, true, nil)
	off, witness := newReceiver(t, f.clock.Now), newReceiver(t, f.clock.Now)
	hookOff := createHook(t, f, svc, off, "transaction.*")
	hookWitness := createHook(t, f, svc, witness, "transaction.*")
	if err := svc.SetWebhookEnabled(ctx, f.users["ada"], hookOff.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := svc.SetWebhookEnabled(ctx, f.users["ada"], hookOff.ID, false); code(err) != "webhook_unchanged" {
		t.Fatalf("disabling a disabled webhook: %v", err)
	}
	f.submit(f.users["carol"], f.ethW, "eth", "0x00000000000000000000000000000000000000b1", eth(1))
	dispatch(t, svc)
	// The witness, enabled, got the event: the dispatcher went round.
	eventually(t, "the witness's delivery", func() bool { return hookState(t, f, hookWitness.ID).Lag == 0 })
	if got := off.deliveries(t); len(got) != 0 {
		t.Fatalf("a disabled webhook received %d events", len(got))
	}
	if w := hookState(t, f, hookOff.ID); w.Enabled || w.Lag == 0 {
		t.Fatalf("disabled webhook: %+v", w)
	}
	// Enabled again, it receives what was recorded meanwhile.
	if err := svc.SetWebhookEnabled(ctx, f.users["ada"], hookOff.ID, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the backlog delivered", func() bool { return hookState(t, f, hookOff.ID).Lag == 0 })
	if got, want := ids(off.deliveries(t)), ids(witness.deliveries(t)); !slices.Equal(got, want) || len(got) == 0 {
		t.Fatalf("re-enabled webhook received %v, want %v", got, want)
	}
}

func TestWebhookURLsAreChecked(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	allowing := hookService(t, f, true, nil)
	for _, tc := range []struct {
		name  string
		svc   *coordinator.Service
		url   string
		valid bool
	}{
		{"ok/https_public_name", f.svc, "https://hooks.example.com/custos?token=x", true},
		{"ok/https_public_address", f.svc, "https://8.8.8.8/custos", true},
		{"ok/http_loopback_allowed", allowing, "http://127.0.0.1:9/custos", true},
		{"ok/https_private_allowed", allowing, "https://10.1.2.3/custos", true},
		{"fail/loopback", f.svc, "https://127.0.0.1:8443/custos", false},
		{"fail/loopback_name", f.svc, "https://localhost/custos", false},
		{"fail/loopback_v6", f.svc, "https://[::1]/custos", false},
		{"fail/mapped_loopback", f.svc, "https://[::ffff:127.0.0.1]/custos", false},
		{"fail/private", f.svc, "https://192.168.1.10/custos", false},
		{"fail/http", f.svc, "http://hooks.example.com/custos", false},
		{"fail/http_public_allowed", allowing, "http://8.8.8.8/custos", false},
		{"fail/link_local_allowed", allowing, "https://169.254.169.254/latest/meta-data", false},
		{"fail/unspecified_allowed", allowing, "https://0.0.0.0/custos", false},
		{"fail/credentials", f.svc, "https://user:pass@hooks.example.com/custos", false},
		{"fail/fragment", f.svc, "https://hooks.example.com/custos#x", false},
		{"fail/scheme", f.svc, "ftp://hooks.example.com/custos", false},
		{"fail/relative", f.svc, "/custos", false},
		{"fail/empty", f.svc, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := tc.svc.CreateWebhook(ctx, f.users["ada"], coordinator.WebhookInput{URL: tc.url, Events: []string{"request.*"}})
			if tc.valid && err != nil || !tc.valid && code(err) != "invalid_webhook" {
				t.Fatalf("CreateWebhook(%q): %v", tc.url, err)
			}
		})
	}
	for _, events := range [][]string{nil, {"auth.*"}, {"transaction.*", "transaction.*"}, {"transaction.sign"}} {
		_, _, err := f.svc.CreateWebhook(ctx, f.users["ada"], coordinator.WebhookInput{URL: "https://hooks.example.com/", Events: events})
		if code(err) != "invalid_webhook" {
			t.Fatalf("events %q: %v", events, err)
		}
	}
}

// A webhook made while private addresses were allowed is not delivered by
// a coordinator that does not allow them: the dialer checks the address
// it connects to, whatever the URL says.
func TestWebhookDialerRefusesLoopback(t *testing.T) {
	f := newFixture(t, "")
	var hits sync.Map
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Store(r.URL.Path, true) }))
	t.Cleanup(tls.Close)
	port := tls.URL[strings.LastIndex(tls.URL, ":")+1:]
	allowing := hookService(t, f, true, nil)
	var hooks []*coordinator.Webhook
	for _, u := range []string{"https://localhost:" + port + "/by-name", "http://127.0.0.1:" + port + "/plain"} {
		w, _, err := allowing.CreateWebhook(context.Background(), f.users["ada"], coordinator.WebhookInput{URL: u, Events: []string{"transaction.*"}})
		if err != nil {
			t.Fatal(err)
		}
		hooks = append(hooks, w)
	}
	f.submit(f.users["carol"], f.ethW, "eth", "0x00000000000000000000000000000000000000b2", eth(1))
	first := subscribedSince(t, f, hooks[1].Cursor, "transaction.*")[0]
	var logs bytes.Buffer
	strict := hookService(t, f, false, &logs)
	dispatch(t, strict)
	for i, want := range []string{"refused to connect to", "http URLs are not allowed"} {
		eventually(t, "the refusal recorded", func() bool { return hookState(t, f, hooks[i].ID).Failures == 1 })
		if w := hookState(t, f, hooks[i].ID); !strings.Contains(w.LastError, want) || w.Cursor >= first.Seq {
			t.Fatalf("webhook %s: last error %q, cursor %d; want %q, the cursor kept", hooks[i].URL, w.LastError, w.Cursor, want)
		}
	}
	hits.Range(func(k, _ any) bool { t.Fatalf("the endpoint was reached at %v", k); return false })
	if strings.Contains(logs.String(), "/by-name") || strings.Contains(logs.String(), "/plain") {
		t.Fatalf("the log names the webhook URL:\n%s", logs.String())
	}
}

// A redirect is a failed delivery, never followed: it could lead to an
// address the dialer would refuse.
func TestWebhookDoesNotFollowRedirects(t *testing.T) {
	f := newFixture(t, "")
	target := newReceiver(t, f.clock.Now)
	redirect := httptest.NewServer(http.RedirectHandler(target.srv.URL+"/custos", http.StatusTemporaryRedirect))
	t.Cleanup(redirect.Close)
	svc := hookService(t, f, true, nil)
	hook, _, err := svc.CreateWebhook(context.Background(), f.users["ada"], coordinator.WebhookInput{URL: redirect.URL, Events: []string{"transaction.*"}})
	if err != nil {
		t.Fatal(err)
	}
	f.submit(f.users["carol"], f.ethW, "eth", "0x00000000000000000000000000000000000000b3", eth(1))
	dispatch(t, svc)
	eventually(t, "the failure recorded", func() bool { return hookState(t, f, hook.ID).Failures == 1 })
	if w := hookState(t, f, hook.ID); !strings.Contains(w.LastError, "HTTP 307; redirects are not followed") {
		t.Fatalf("last error %q", w.LastError)
	}
	if got := target.deliveries(t); len(got) != 0 {
		t.Fatalf("the redirect was followed: %d deliveries", len(got))
	}
}

func TestWebhookAdministration(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	in := coordinator.WebhookInput{URL: "https://hooks.example.com/custos", Events: []string{"transaction.*"}}
	for _, p := range []*coordinator.Principal{f.users["tess"], f.users["alice"], f.users["victor"], f.api, nil} {
		if _, _, err := f.svc.CreateWebhook(ctx, p, in); code(err) != "forbidden" && code(err) != "unauthenticated" {
			t.Fatalf("CreateWebhook by %v: %v", p, err)
		}
		if _, err := f.svc.ListWebhooks(ctx, p); code(err) != "forbidden" && code(err) != "unauthenticated" {
			t.Fatalf("ListWebhooks by %v: %v", p, err)
		}
	}
	hook, secret, err := f.svc.CreateWebhook(ctx, f.users["ada"], in)
	if err != nil {
		t.Fatal(err)
	}
	s := secret.Reveal()
	if !strings.HasPrefix(s, webhook.SecretPrefix) || len(s) != len(webhook.SecretPrefix)+43 {
		t.Fatalf("secret %q is not cwh_ and 32 bytes in base64url", s)
	}
	js, _ := json.Marshal(secret)
	if strings.Contains(fmt.Sprint(secret), s) || strings.Contains(string(js), s) || strings.Contains(secret.LogValue().String(), s) {
		t.Fatal("the secret type prints its secret")
	}
	for _, p := range []*coordinator.Principal{f.users["tess"], f.api} {
		if err := f.svc.SetWebhookEnabled(ctx, p, hook.ID, false); code(err) != "forbidden" {
			t.Fatalf("SetWebhookEnabled by %s: %v", p.Name, err)
		}
		if err := f.svc.DeleteWebhook(ctx, p, hook.ID); code(err) != "forbidden" {
			t.Fatalf("DeleteWebhook by %s: %v", p.Name, err)
		}
	}
	// Stored sealed: neither the store nor the audit log holds the secret.
	var stored *store.Webhook
	if err := f.st.ReadTx(ctx, func(ctx context.Context, tx store.Tx) error {
		stored, err = tx.GetWebhook(ctx, hook.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored.SealedSecret, []byte(s)) || bytes.Contains(stored.SealedSecret, []byte(s[len(webhook.SecretPrefix):])) {
		t.Fatal("the secret is stored in the clear")
	}
	if err := f.svc.SetWebhookEnabled(ctx, f.users["ada"], hook.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetWebhookEnabled(ctx, f.users["ada"], hook.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteWebhook(ctx, f.users["ada"], hook.ID); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{f.svc.DeleteWebhook(ctx, f.users["ada"], hook.ID), f.svc.SetWebhookEnabled(ctx, f.users["ada"], hook.ID, true)} {
		if code(err) != "unknown_webhook" {
			t.Fatalf("a deleted webhook: %v", err)
		}
	}
	evs := subscribedSince(t, f, hook.Cursor, "webhook.*")
	var actions []string
	for _, e := range evs {
		actions = append(actions, e.Action)
		if e.Category != audit.CategoryAdmin || e.Actor != f.users["ada"].Actor() || e.Target != "webhook:"+hook.ID {
			t.Fatalf("audit event %+v", e)
		}
		for _, v := range e.Metadata {
			if strings.Contains(v, s[len(webhook.SecretPrefix):]) {
				t.Fatal("the audit log holds the secret")
			}
		}
	}
	if want := []string{"webhook.create", "webhook.disable", "webhook.enable", "webhook.delete"}; !slices.Equal(actions, want) {
		t.Fatalf("audit actions %v, want %v", actions, want)
	}
	// Only the origin: a URL's path may carry a token, and the log is kept for ever.
	if evs[0].Metadata["url"] != "https://hooks.example.com" || evs[0].Metadata["events"] != "transaction.*" {
		t.Fatalf("webhook.create metadata %v", evs[0].Metadata)
	}
	if ws, err := f.svc.ListWebhooks(ctx, f.users["ada"]); err != nil || len(ws) != 0 {
		t.Fatalf("webhooks after delete: %v, %v", ws, err)
	}
}
