package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

const (
	// EnvChromium names the environment variable that overrides the path of
	// the Chromium binary.
	EnvChromium = "CUSTOS_CHROMIUM"
	// EnvScreenshots names the environment variable that overrides the
	// screenshot directory (default: <module root>/screenshots).
	EnvScreenshots = "CUSTOS_SCREENSHOTS"
	// DefaultChromium is where Debian's chromium package installs the browser.
	DefaultChromium = "/usr/bin/chromium"
	// DefaultActionTimeout bounds each call of [Tab.Run] and the other Tab
	// methods unless [WithActionTimeout] says otherwise.
	DefaultActionTimeout = 20 * time.Second

	// startTimeout bounds the start of the browser and of a tab.
	startTimeout = 30 * time.Second
	// closeTimeout bounds the graceful close of the browser in t.Cleanup.
	closeTimeout = 10 * time.Second
	// diagnosticTimeout bounds each step of the failure report of Run.
	diagnosticTimeout = 5 * time.Second
	// maxDimension is the largest screenshot width or height accepted.
	maxDimension = 10000
	// mobileBelow is the width under which a screenshot emulates a phone.
	mobileBelow = 600

	installHint = "hint: run `make test`, which installs it, or scripts/install-chromium.sh"
)

// config holds what the options set.
type config struct {
	actionTimeout time.Duration
	screenshotDir string
}

// Option changes how [Start] sets up the browser.
type Option func(*config)

// WithActionTimeout sets the time limit of each call of [Tab.Run] and of the
// other Tab methods. It must be positive.
func WithActionTimeout(d time.Duration) Option {
	return func(c *config) { c.actionTimeout = d }
}

// WithScreenshotDir sets the directory that screenshots are written to. It
// takes precedence over $CUSTOS_SCREENSHOTS.
func WithScreenshotDir(dir string) Option {
	return func(c *config) { c.screenshotDir = dir }
}

// Browser is one headless Chromium process. Its tabs are safe to use from
// different goroutines, one goroutine per tab.
type Browser struct {
	ctx           context.Context // chromedp context of the first tab; owns the process
	actionTimeout time.Duration
	screenshotDir string
}

// Start starts Chromium for the test and stops it in t.Cleanup, waiting for
// the process to exit. The binary is $CUSTOS_CHROMIUM, else /usr/bin/chromium,
// else `chromium` on PATH; when none exists the test fails (it never skips).
//
// Chromium gets exactly these flags:
//
//	--headless --no-sandbox --disable-gpu --disable-background-networking
//	--disable-component-update --disable-sync --no-first-run
//	--user-data-dir=<t.TempDir()>
//
// plus what chromedp adds to drive it: --remote-debugging-pipe (the protocol
// runs over a pipe, so no TCP port is opened) and the start page about:blank.
// None of chromedp.DefaultExecAllocatorOptions is used: those flags tune a
// long-running scraper (throttling, hang monitor, popup blocker, automation
// info bar) and none is needed for short headless tests. Note that Debian's
// /usr/bin/chromium is a wrapper script that adds the flags of
// /etc/chromium.d (among them --disable-dev-shm-usage when /dev/shm is small);
// point $CUSTOS_CHROMIUM at /usr/lib/chromium/chromium to bypass it.
func Start(t testing.TB, opts ...Option) *Browser {
	t.Helper()
	cfg := config{actionTimeout: DefaultActionTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.actionTimeout <= 0 {
		t.Fatalf("browsertest: action timeout %v is not positive", cfg.actionTimeout)
	}
	bin, err := locateChromium(os.Getenv(EnvChromium), DefaultChromium, exec.LookPath)
	if err != nil {
		t.Fatalf("browsertest: %v\n%s", err, installHint)
	}
	shots, err := resolveScreenshotDir(cfg.screenshotDir, os.Getenv(EnvScreenshots), os.Getwd)
	if err != nil {
		t.Fatalf("browsertest: %v", err)
	}

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), allocatorOptions(bin, t.TempDir())...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	b := &Browser{ctx: ctx, actionTimeout: cfg.actionTimeout, screenshotDir: shots}
	t.Cleanup(func() {
		if err := b.close(cancelBrowser, cancelAlloc); err != nil {
			t.Errorf("browsertest: closing Chromium: %v", err)
		}
	})
	// The first Do binds the life of the browser to ctx, so it cannot carry
	// a deadline itself: the deadline is enforced around it.
	if err := within(startTimeout, func() error { return chromedp.Do(ctx) }); err != nil {
		t.Fatalf("browsertest: starting %s: %v\n%s", bin, err, installHint)
	}
	return b
}

// allocatorOptions returns the exec allocator options of Start.
func allocatorOptions(bin, userDataDir string) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(userDataDir),
	}
}

// close shuts the browser down gracefully, then cancels the contexts, which
// waits for the process to exit.
func (b *Browser) close(cancelBrowser, cancelAlloc context.CancelFunc) error {
	ctx, cancel := context.WithTimeout(b.ctx, closeTimeout)
	err := chromedp.Cancel(ctx)
	cancel()
	cancelBrowser()
	cancelAlloc()
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// The process was killed by the cancellation instead; it is gone.
		return nil
	}
	return err
}

// ScreenshotDir returns the directory that [Tab.Screenshot] writes to.
func (b *Browser) ScreenshotDir() string { return b.screenshotDir }

// within runs f and returns its error, or an error once d has passed. A
// timed-out f keeps running until the contexts it uses are canceled.
func within(d time.Duration, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		return fmt.Errorf("no answer after %v", d)
	}
}

// locateChromium returns the Chromium binary: env when set (it must exist),
// else fixed when it exists, else "chromium" found by lookPath.
func locateChromium(env, fixed string, lookPath func(string) (string, error)) (string, error) {
	if env != "" {
		if err := executable(env); err != nil {
			return "", fmt.Errorf("$%s=%q: %w", EnvChromium, env, err)
		}
		return env, nil
	}
	if executable(fixed) == nil {
		return fixed, nil
	}
	if p, err := lookPath("chromium"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("Chromium not found: no %s and no chromium on PATH (set $%s to use another binary)", fixed, EnvChromium)
}

// executable reports why path is not an executable regular file.
func executable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}

// resolveScreenshotDir picks the screenshot directory: the option, else the
// environment, else <module root>/screenshots with the module root found by
// walking up from the working directory to go.mod.
func resolveScreenshotDir(option, env string, getwd func() (string, error)) (string, error) {
	if option != "" {
		return option, nil
	}
	if env != "" {
		return env, nil
	}
	wd, err := getwd()
	if err != nil {
		return "", fmt.Errorf("finding the module root: %w", err)
	}
	root, err := moduleRoot(wd)
	if err != nil {
		return "", fmt.Errorf("%w (set $%s)", err, EnvScreenshots)
	}
	return filepath.Join(root, "screenshots"), nil
}

// moduleRoot returns the nearest directory at or above dir that holds go.mod.
func moduleRoot(dir string) (string, error) {
	for d := filepath.Clean(dir); ; {
		if fi, err := os.Stat(filepath.Join(d, "go.mod")); err == nil && fi.Mode().IsRegular() {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod at or above %s", dir)
		}
		d = parent
	}
}

// Tab is one page in its own browser context (separate cookies, storage and
// authenticators). Use a Tab from one goroutine at a time.
type Tab struct {
	browser *Browser
	ctx     context.Context

	mu       sync.Mutex
	console  []string // console errors and uncaught exceptions
	external []string // refused requests, "METHOD URL"
}

// NewTab opens a tab in a fresh browser context; t.Cleanup closes it and
// disposes of the context. Every non-loopback request of the tab is refused
// and recorded.
func (b *Browser) NewTab(t testing.TB) *Tab {
	t.Helper()
	tab := &Tab{browser: b}
	ctx, cancel := chromedp.NewContext(b.ctx,
		chromedp.WithNewBrowserContext(),
		chromedp.WithListener(tab.observe),
	)
	tab.ctx = ctx
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	// As in Start, the first Do binds the tab to ctx and takes no deadline.
	if err := within(startTimeout, func() error { return chromedp.Do(ctx) }); err != nil {
		t.Fatalf("browsertest: opening a tab: %v", err)
	}
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	wg.Go(func() { tab.filter(paused) })
	if err := tab.call(func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{
			Patterns: []*fetch.RequestPattern{{URLPattern: "*"}},
		})
		return err
	}); err != nil {
		t.Fatalf("browsertest: enabling request filtering: %v", err)
	}
	return tab
}

// Context returns the tab's chromedp context, for chromedp calls that Run does
// not cover (such as chromedp.Events). It carries no deadline.
func (tab *Tab) Context() context.Context { return tab.ctx }

// WithTimeout returns a child of the tab's context bounded by the action
// timeout of the browser.
func (tab *Tab) WithTimeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(tab.ctx, tab.browser.actionTimeout)
}

// call runs f with a context bounded by the action timeout.
func (tab *Tab) call(f func(ctx context.Context) error) error {
	ctx, cancel := tab.WithTimeout()
	defer cancel()
	err := f(ctx)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("action timeout (%v) reached: %w", tab.browser.actionTimeout, err)
	}
	return err
}

// Run runs the steps in order within the action timeout. On error it fails the
// test with the error, the page's URL, a screenshot of the page (written to
// the screenshot directory, under failures/), the console errors and the
// refused external requests.
func (tab *Tab) Run(t testing.TB, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := tab.call(func(ctx context.Context) error { return chromedp.Do(ctx, steps...) }); err != nil {
		t.Fatalf("browsertest: %v\n%s", err, tab.report(t))
	}
}

// Get runs one action that returns a value within the action timeout and
// returns the value; on error it fails the test as [Tab.Run] does.
func Get[T any](t testing.TB, tab *Tab, action chromedp.Action[T]) T {
	t.Helper()
	var v T
	err := tab.call(func(ctx context.Context) error {
		var err error
		v, err = chromedp.Run(ctx, action)
		return err
	})
	if err != nil {
		t.Fatalf("browsertest: %v\n%s", err, tab.report(t))
	}
	return v
}

// report describes the state of the tab for a failure message. Each step has
// its own deadline, so a tab whose action timed out still gets a report.
func (tab *Tab) report(t testing.TB) string {
	var b strings.Builder
	if u, err := tab.url(); err != nil {
		fmt.Fprintf(&b, "  url: unavailable: %v\n", err)
	} else {
		fmt.Fprintf(&b, "  url: %s\n", u)
	}
	if path, err := tab.failureScreenshot(t.Name()); err != nil {
		fmt.Fprintf(&b, "  screenshot: unavailable: %v\n", err)
	} else {
		fmt.Fprintf(&b, "  screenshot: %s\n", path)
	}
	writeList(&b, "console errors", tab.ConsoleErrors())
	writeList(&b, "refused external requests", tab.ExternalRequests())
	return strings.TrimSuffix(b.String(), "\n")
}

func writeList(b *strings.Builder, title string, items []string) {
	if len(items) == 0 {
		fmt.Fprintf(b, "  %s: none\n", title)
		return
	}
	fmt.Fprintf(b, "  %s:\n", title)
	for _, s := range items {
		fmt.Fprintf(b, "    %s\n", s)
	}
}

// url asks the browser (not the page, whose script may hang) for the tab's URL.
func (tab *Tab) url() (string, error) {
	c := chromedp.FromContext(tab.ctx)
	if c == nil || c.Target == nil {
		return "", errors.New("the tab has no target")
	}
	ctx, cancel := context.WithTimeout(tab.ctx, diagnosticTimeout)
	defer cancel()
	res, err := chromedp.CallBrowser(ctx, target.GetTargetInfo, target.GetTargetInfoParams{TargetID: c.Target.TargetID})
	if err != nil {
		return "", err
	}
	if res.TargetInfo == nil {
		return "", errors.New("the browser returned no target info")
	}
	return res.TargetInfo.URL, nil
}

// failureScreenshot writes the visible part of the page to
// <screenshot dir>/failures/<test name>.png.
func (tab *Tab) failureScreenshot(testName string) (string, error) {
	ctx, cancel := context.WithTimeout(tab.ctx, diagnosticTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return "", err
	}
	dir := filepath.Join(tab.browser.screenshotDir, "failures")
	return writeFile(dir, sanitize(testName)+".png", png)
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// sanitize turns a test name such as "TestUI/sign_in" into a file name.
func sanitize(name string) string {
	s := strings.Trim(unsafeChars.ReplaceAllString(name, "_"), "._")
	if s == "" {
		return "test"
	}
	return s
}

func writeFile(dir, name string, data []byte) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating the screenshot directory: %w", err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return "", fmt.Errorf("writing the screenshot: %w", err)
	}
	return path, nil
}

// observe records console errors and uncaught exceptions. chromedp calls it
// in the tab's event loop, in order, so it only appends under the lock.
func (tab *Tab) observe(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		msg = fmt.Sprintf("console.%s: %s", ev.Type, formatArgs(ev.Args))
	case *runtime.EventExceptionThrown:
		msg = "uncaught: " + formatException(ev.ExceptionDetails)
	default:
		return
	}
	tab.mu.Lock()
	tab.console = append(tab.console, msg)
	tab.mu.Unlock()
}

// formatArgs renders console arguments roughly as the DevTools console does.
func formatArgs(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		parts = append(parts, formatObject(a))
	}
	return strings.Join(parts, " ")
}

func formatObject(o *runtime.RemoteObject) string {
	switch {
	case o == nil:
		return "undefined"
	case o.Type == runtime.RemoteObjectTypeString && len(o.Value) > 0:
		var s string
		if err := json.Unmarshal([]byte(o.Value), &s); err == nil {
			return s
		}
		return string(o.Value)
	case o.UnserializableValue != "":
		return string(o.UnserializableValue)
	case o.Description != "":
		return o.Description
	case len(o.Value) > 0:
		return string(o.Value)
	default:
		return string(o.Type)
	}
}

func formatException(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "exception without details"
	}
	text := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		// The description holds the message and the stack.
		text = strings.TrimSpace(text + " " + d.Exception.Description)
	}
	if d.URL != "" {
		text += fmt.Sprintf(" (%s:%d:%d)", d.URL, d.LineNumber+1, d.ColumnNumber+1)
	}
	return text
}

// ConsoleErrors returns the console.error and console.assert messages and the
// uncaught exceptions of the tab so far, in order.
func (tab *Tab) ConsoleErrors() []string {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	return append([]string(nil), tab.console...)
}

// ExternalRequests returns the requests that the tab refused because they
// were not addressed to loopback, as "METHOD URL", in order.
func (tab *Tab) ExternalRequests() []string {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	return append([]string(nil), tab.external...)
}

// filter answers every paused request: loopback ones continue, the others
// fail as blocked by the client and are recorded first, so that a page that
// has seen the failure is sure to find it in ExternalRequests. It returns when
// the tab's context ends.
func (tab *Tab) filter(paused iter.Seq2[fetch.EventRequestPaused, error]) {
	for ev, err := range paused {
		if err != nil {
			return
		}
		if ev.Request != nil && !Local(ev.Request.URL) {
			tab.mu.Lock()
			tab.external = append(tab.external, ev.Request.Method+" "+ev.Request.URL)
			tab.mu.Unlock()
			answer(tab, fetch.FailRequest, fetch.FailRequestParams{
				RequestID: ev.RequestID, ErrorReason: network.ErrorReasonBlockedByClient,
			})
			continue
		}
		answer(tab, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
	}
}

// answer sends the verdict on a paused request. Its error is dropped on
// purpose: it means the request went away (a navigation, a closed tab) and
// nothing waits for it any more.
func answer[P any](tab *Tab, cmd cdp.Command[P, cdp.Empty], params P) {
	ctx, cancel := context.WithTimeout(tab.ctx, diagnosticTimeout)
	defer cancel()
	_, _ = chromedp.Call(ctx, cmd, params)
}

// Local reports whether the tab lets a request to rawURL through: http,
// https, ws and wss to 127.0.0.0/8, [::1] or localhost, and the data:, blob:
// and about: schemes, which do not reach the network. Everything else,
// including unparsable URLs, is external.
func Local(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "data", "blob", "about":
		return true
	case "http", "https", "ws", "wss":
	default:
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// AddVirtualAuthenticator enables the WebAuthn domain for the tab and adds a
// platform-like virtual authenticator: CTAP2, internal transport, resident
// keys, user verification that succeeds, and automatic user presence.
func (tab *Tab) AddVirtualAuthenticator(t testing.TB) webauthn.AuthenticatorID {
	t.Helper()
	var id webauthn.AuthenticatorID
	err := tab.call(func(ctx context.Context) error {
		if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return fmt.Errorf("enabling WebAuthn: %w", err)
		}
		res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
			Options: &webauthn.VirtualAuthenticatorOptions{
				Protocol:                    webauthn.AuthenticatorProtocolCtap2,
				Transport:                   webauthn.AuthenticatorTransportInternal,
				HasResidentKey:              true,
				HasUserVerification:         true,
				IsUserVerified:              true,
				AutomaticPresenceSimulation: true,
			},
		})
		if err != nil {
			return fmt.Errorf("adding a virtual authenticator: %w", err)
		}
		id = res.AuthenticatorID
		return nil
	})
	if err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	return id
}

// Credentials returns the credentials stored in the virtual authenticator id.
// They include private keys: do not log them.
func (tab *Tab) Credentials(t testing.TB, id webauthn.AuthenticatorID) []*webauthn.Credential {
	t.Helper()
	var creds []*webauthn.Credential
	err := tab.call(func(ctx context.Context) error {
		res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
		creds = res.Credentials
		return err
	})
	if err != nil {
		t.Fatalf("browsertest: reading the credentials of authenticator %s: %v", id, err)
	}
	return creds
}

// SetUserVerified makes user verification of the authenticator id succeed
// (true) or fail (false) from now on.
func (tab *Tab) SetUserVerified(t testing.TB, id webauthn.AuthenticatorID, verified bool) {
	t.Helper()
	err := tab.call(func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, webauthn.SetUserVerified, webauthn.SetUserVerifiedParams{
			AuthenticatorID: id, IsUserVerified: verified,
		})
		return err
	})
	if err != nil {
		t.Fatalf("browsertest: setting user verification of authenticator %s: %v", id, err)
	}
}

// validName accepts the names Screenshot turns into file names.
var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// checkScreenshot validates the arguments of Screenshot.
func checkScreenshot(name string, width, height int) error {
	if !validName.MatchString(name) || strings.Contains(name, "..") {
		return fmt.Errorf("screenshot name %q: use letters, digits, '.', '_' and '-' only", name)
	}
	if width < 1 || width > maxDimension || height < 1 || height > maxDimension {
		return fmt.Errorf("screenshot size %dx%d: each side must be in 1..%d", width, height, maxDimension)
	}
	return nil
}

// Screenshot renders the page at width x height CSS pixels (device scale 1;
// a phone, with the viewport meta tag honoured, when width < 600), writes a
// PNG of the full page to <screenshot dir>/<name>-<width>x<height>.png and
// returns its path. The PNG is width pixels wide (wider only if the page
// overflows horizontally) and at least height pixels tall. Afterwards the
// tab's device metrics override is cleared, back to the browser's default
// viewport.
func (tab *Tab) Screenshot(t testing.TB, name string, width, height int) string {
	t.Helper()
	if err := checkScreenshot(name, width, height); err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	var png []byte
	err := tab.call(func(ctx context.Context) error {
		var err error
		png, err = chromedp.Run(ctx, fullPage(width, height))
		return err
	})
	if err != nil {
		t.Fatalf("browsertest: screenshot %s at %dx%d: %v\n%s", name, width, height, err, tab.report(t))
	}
	path, err := writeFile(tab.browser.screenshotDir, fmt.Sprintf("%s-%dx%d.png", name, width, height), png)
	if err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	return path
}

// fullPage returns an action that sets the device metrics, waits for the page
// to lay out and paint at that size, captures the whole page as PNG, and
// clears the override again.
func fullPage(width, height int) chromedp.Action[[]byte] {
	return func(ctx context.Context, tgt *chromedp.Target) (_ []byte, err error) {
		_, err = cdp.Call(ctx, tgt, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: int64(width), Height: int64(height), DeviceScaleFactor: 1, Mobile: width < mobileBelow,
		})
		if err != nil {
			return nil, fmt.Errorf("setting device metrics: %w", err)
		}
		defer func() {
			if _, cerr := cdp.Call(ctx, tgt, emulation.ClearDeviceMetricsOverride, cdp.Empty{}); cerr != nil && err == nil {
				err = fmt.Errorf("clearing device metrics: %w", cerr)
			}
		}()
		// Two animation frames: resize handlers and media queries have run.
		const settle = `new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`
		if _, err := chromedp.Evaluate[bool](settle, chromedp.EvalAwaitPromise)(ctx, tgt); err != nil {
			return nil, fmt.Errorf("waiting for layout: %w", err)
		}
		m, err := cdp.Call(ctx, tgt, page.GetLayoutMetrics, cdp.Empty{})
		if err != nil {
			return nil, fmt.Errorf("reading the page size: %w", err)
		}
		w, h := float64(width), float64(height)
		if m.CSSContentSize != nil {
			w, h = max(w, m.CSSContentSize.Width), max(h, m.CSSContentSize.Height)
		}
		res, err := cdp.Call(ctx, tgt, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format:                page.CaptureScreenshotFormatPng,
			Clip:                  &page.Viewport{Width: w, Height: h, Scale: 1},
			FromSurface:           new(true),
			CaptureBeyondViewport: new(true),
		})
		if err != nil {
			return nil, fmt.Errorf("capturing: %w", err)
		}
		return res.Data, nil
	}
}
