package browsertest

import (
	"errors"
	"fmt"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The pages of the test server. Every page has a viewport meta tag, as the UI
// will, so that the phone screenshot lays out at 390 CSS pixels.
const head = `<!doctype html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>t</title></head><body>`

const formPage = head + `
<form id="f"><label>Name <input id="name" name="name"></label><button id="send" type="submit">Send</button></form>
<p id="out"></p>
<script>
document.getElementById("f").addEventListener("submit", e => {
  e.preventDefault();
  document.getElementById("out").textContent = "hello " + document.getElementById("name").value;
});
</script></body></html>`

const longPage = head + `<div style="height:3000px;background:linear-gradient(#fff,#888)">tall</div></body></html>`

const externalPage = head + `
<img src="http://example.com/x.png" alt="">
<p id="fetched"></p>
<script>
fetch("https://example.org/y").then(() => "loaded", () => "failed")
  .then(r => { document.getElementById("fetched").textContent = r; });
</script></body></html>`

const consolePage = head + `<p id="done"></p>
<script>
console.log("just a log");
console.warn("just a warning");
console.error("boom", 42);
console.assert(1 === 2, "one is not two");
setTimeout(() => { throw new Error("kaput"); }, 0);
setTimeout(() => { document.getElementById("done").textContent = "done"; }, 20);
</script></body></html>`

// webauthnPage registers and uses a discoverable credential. Both functions
// resolve to "ok:..." or "error:<DOMException name>".
const webauthnPage = head + `<script>
const rand = () => crypto.getRandomValues(new Uint8Array(32));
async function register(rpId) {
  const publicKey = {
    challenge: rand(),
    rp: {name: "Custos"},
    user: {id: new TextEncoder().encode("alice"), name: "alice", displayName: "Alice"},
    pubKeyCredParams: [{type: "public-key", alg: -7}],
    authenticatorSelection: {residentKey: "required", userVerification: "required"},
    timeout: 5000,
  };
  if (rpId) publicKey.rp.id = rpId;
  try {
    const c = await navigator.credentials.create({publicKey});
    return "ok:" + c.type;
  } catch (e) { return "error:" + e.name; }
}
async function login(rpId) {
  const publicKey = {challenge: rand(), userVerification: "required", timeout: 3000};
  if (rpId) publicKey.rpId = rpId;
  try {
    const a = await navigator.credentials.get({publicKey});
    const flags = new Uint8Array(a.response.authenticatorData)[32];
    return "ok:" + ((flags & 4) ? "uv" : "no-uv") + ":" + new TextDecoder().decode(a.response.userHandle);
  } catch (e) { return "error:" + e.name; }
}
</script></body></html>`

// newServer serves the test pages on 127.0.0.1.
func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	page := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, body)
		}
	}
	mux.Handle("/form", page(formPage))
	mux.Handle("/long", page(longPage))
	mux.Handle("/external", page(externalPage))
	mux.Handle("/console", page(consolePage))
	mux.Handle("/webauthn", page(webauthnPage))
	mux.HandleFunc("/cookie/set", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "who", Value: r.URL.Query().Get("v"), Path: "/"})
		fmt.Fprint(w, "set")
	})
	mux.HandleFunc("/cookie/get", func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("who")
		if err != nil {
			fmt.Fprint(w, "none")
			return
		}
		fmt.Fprint(w, c.Value)
	})
	srv := httptest.NewServer(mux) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	return srv
}

// localhostURL is srv's URL with the host "localhost" instead of 127.0.0.1.
func localhostURL(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return "http://localhost:" + port
}

// fatalRecorder stands in for the testing.TB of a harness call that must
// fail: it records the message and ends the goroutine as t.Fatal does.
type fatalRecorder struct {
	testing.TB
	mu   sync.Mutex
	msgs []string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatal(args ...any) { r.fail(fmt.Sprint(args...)) }

func (r *fatalRecorder) Fatalf(format string, args ...any) { r.fail(fmt.Sprintf(format, args...)) }

func (r *fatalRecorder) fail(msg string) {
	r.mu.Lock()
	r.msgs = append(r.msgs, msg)
	r.mu.Unlock()
	runtime.Goexit()
}

// expectFatal runs f with a recorder and returns the fatal message; the test
// fails if f returns without a fatal error.
func expectFatal(t *testing.T, f func(tb testing.TB)) string {
	t.Helper()
	r := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.msgs) != 1 {
		t.Fatalf("got %d fatal messages, want 1: %q", len(r.msgs), r.msgs)
	}
	return r.msgs[0]
}

// TestBrowser runs the browser tests against one Chromium.
func TestBrowser(t *testing.T) {
	started := time.Now()
	shots := t.TempDir()
	b := Start(t, WithScreenshotDir(shots))
	t.Logf("Start took %v", time.Since(started))
	srv := newServer(t)

	t.Run("ok/form", func(t *testing.T) {
		tab := b.NewTab(t)
		tab.Run(t,
			chromedp.Navigate(srv.URL+"/form"),
			chromedp.SendKeys(chromedp.ID("name"), "Ada"),
			chromedp.Click(chromedp.ID("send")),
			chromedp.WaitVisible(chromedp.ID("out")),
		)
		if got := Get(t, tab, chromedp.Text(chromedp.ID("out"))); got != "hello Ada" {
			t.Fatalf("out = %q, want %q", got, "hello Ada")
		}
		if errs := tab.ConsoleErrors(); len(errs) != 0 {
			t.Fatalf("console errors: %q", errs)
		}
		if ext := tab.ExternalRequests(); len(ext) != 0 {
			t.Fatalf("external requests: %q", ext)
		}
	})

	t.Run("ok/tabs-have-separate-cookies", func(t *testing.T) {
		alice, bob := b.NewTab(t), b.NewTab(t)
		alice.Run(t, chromedp.Navigate(srv.URL+"/cookie/set?v=alice"))
		bob.Run(t, chromedp.Navigate(srv.URL+"/cookie/get"))
		if got := Get(t, bob, chromedp.Text(chromedp.CSS("body"))); got != "none" {
			t.Fatalf("bob sees cookie %q before setting one, want none", got)
		}
		bob.Run(t, chromedp.Navigate(srv.URL+"/cookie/set?v=bob"))
		for _, c := range []struct {
			tab  *Tab
			want string
		}{{alice, "alice"}, {bob, "bob"}} {
			c.tab.Run(t, chromedp.Navigate(srv.URL+"/cookie/get"))
			if got := Get(t, c.tab, chromedp.Text(chromedp.CSS("body"))); got != c.want {
				t.Errorf("cookie = %q, want %q", got, c.want)
			}
			// Each tab has its own window, so neither is a throttled
			// background tab while the other one works.
			if v := Get(t, c.tab, chromedp.Evaluate[string](`document.visibilityState`)); v != "visible" {
				t.Errorf("visibilityState of %s's tab = %q, want visible", c.want, v)
			}
		}
	})

	t.Run("ok/screenshots", func(t *testing.T) {
		tab := b.NewTab(t)
		tab.Run(t, chromedp.Navigate(srv.URL+"/form"))
		before := Get(t, tab, chromedp.Evaluate[int](`window.innerWidth`))
		tests := []struct {
			page          string
			width, height int
			minHeight     int
		}{
			{"/form", 1280, 800, 800},
			{"/form", 390, 844, 844},
			{"/long", 1280, 800, 3000},
			{"/long", 390, 844, 3000},
		}
		for _, tc := range tests {
			tab.Run(t, chromedp.Navigate(srv.URL+tc.page))
			name := strings.TrimPrefix(tc.page, "/")
			path := tab.Screenshot(t, name, tc.width, tc.height)
			if want := filepath.Join(shots, fmt.Sprintf("%s-%dx%d.png", name, tc.width, tc.height)); path != want {
				t.Errorf("path = %s, want %s", path, want)
			}
			w, h := pngSize(t, path)
			if w != tc.width || h < tc.minHeight || (tc.minHeight == tc.height && h != tc.height) {
				t.Errorf("%s at %dx%d: PNG is %dx%d, want width %d and height %d (at least)", tc.page, tc.width, tc.height, w, h, tc.width, tc.minHeight)
			}
		}
		if after := Get(t, tab, chromedp.Evaluate[int](`window.innerWidth`)); after != before {
			t.Errorf("innerWidth after screenshots = %d, want %d (the override must be cleared)", after, before)
		}
	})

	t.Run("ok/external-requests-blocked", func(t *testing.T) {
		tab := b.NewTab(t)
		tab.Run(t, chromedp.Navigate(srv.URL+"/external"))
		Get(t, tab, chromedp.Poll[bool](`document.getElementById("fetched").textContent !== ""`))
		if got := Get(t, tab, chromedp.Text(chromedp.ID("fetched"))); got != "failed" {
			t.Errorf("external fetch = %q, want failed", got)
		}
		want := []string{"GET http://example.com/x.png", "GET https://example.org/y"}
		got := tab.ExternalRequests()
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("external requests = %q, want %q", got, want)
		}
	})

	t.Run("ok/console-errors", func(t *testing.T) {
		tab := b.NewTab(t)
		tab.Run(t, chromedp.Navigate(srv.URL+"/console"))
		Get(t, tab, chromedp.Poll[bool](`document.getElementById("done").textContent === "done"`))
		got := tab.ConsoleErrors()
		if len(got) != 3 {
			t.Fatalf("console errors = %q, want 3", got)
		}
		if got[0] != "console.error: boom 42" || got[1] != "console.assert: one is not two" ||
			!strings.Contains(got[2], "Uncaught Error: kaput") {
			t.Errorf("console errors = %q", got)
		}
	})

	t.Run("ok/webauthn-localhost", func(t *testing.T) {
		tab := b.NewTab(t)
		id := tab.AddVirtualAuthenticator(t)
		tab.Run(t, chromedp.Navigate(localhostURL(t, srv)+"/webauthn"))
		for _, rpID := range []string{"", "localhost"} {
			got := Get(t, tab, chromedp.Evaluate[string](fmt.Sprintf("register(%q)", rpID), chromedp.EvalAwaitPromise))
			if got != "ok:public-key" {
				t.Fatalf("register(%q) = %q, want ok:public-key", rpID, got)
			}
		}
		// The RP ID defaults to the origin's host, so both registrations
		// are for ("localhost", alice): the second replaces the first.
		creds := tab.Credentials(t, id)
		if len(creds) != 1 {
			t.Fatalf("authenticator holds %d credentials, want 1", len(creds))
		}
		if c := creds[0]; c.RpID != "localhost" || !c.IsResidentCredential || string(c.UserHandle) != "alice" {
			t.Errorf("credential: rpId %q, resident %v, user handle %q; want localhost, true, alice", c.RpID, c.IsResidentCredential, c.UserHandle)
		}
		if got := Get(t, tab, chromedp.Evaluate[string](`login("")`, chromedp.EvalAwaitPromise)); got != "ok:uv:alice" {
			t.Errorf("login = %q, want ok:uv:alice", got)
		}
		tab.SetUserVerified(t, id, false)
		if got := Get(t, tab, chromedp.Evaluate[string](`login("")`, chromedp.EvalAwaitPromise)); got != "error:NotAllowedError" {
			t.Errorf("login without user verification = %q, want error:NotAllowedError", got)
		}
		if errs := tab.ConsoleErrors(); len(errs) != 0 {
			t.Errorf("console errors: %q", errs)
		}
	})

	t.Run("fail/webauthn-ip-host", func(t *testing.T) {
		// Chromium refuses an IP address as an RP ID, whether it is given
		// or taken from the origin: the UI must be reached via localhost.
		tab := b.NewTab(t)
		id := tab.AddVirtualAuthenticator(t)
		tab.Run(t, chromedp.Navigate(srv.URL+"/webauthn"))
		for _, rpID := range []string{"", "127.0.0.1"} {
			got := Get(t, tab, chromedp.Evaluate[string](fmt.Sprintf("register(%q)", rpID), chromedp.EvalAwaitPromise))
			if got != "error:SecurityError" {
				t.Errorf("register(%q) on %s = %q, want error:SecurityError", rpID, srv.URL, got)
			}
		}
		if n := len(tab.Credentials(t, id)); n != 0 {
			t.Errorf("authenticator holds %d credentials, want 0", n)
		}
	})

	t.Run("fail/run-reports", func(t *testing.T) {
		tab := b.NewTab(t)
		tab.Run(t, chromedp.Navigate(srv.URL+"/console"))
		Get(t, tab, chromedp.Poll[bool](`document.getElementById("done").textContent === "done"`))
		msg := expectFatal(t, func(tb testing.TB) {
			tab.Run(tb, chromedp.Evaluate[chromedp.Void](`notDefined()`))
		})
		for _, want := range []string{
			"notDefined is not defined",
			"url: " + srv.URL + "/console",
			"console.error: boom 42",
			"refused external requests: none",
		} {
			if !strings.Contains(msg, want) {
				t.Errorf("report lacks %q:\n%s", want, msg)
			}
		}
		shot := filepath.Join(shots, "failures", sanitize(t.Name())+".png")
		if !strings.Contains(msg, "screenshot: "+shot) {
			t.Errorf("report lacks the screenshot path %s:\n%s", shot, msg)
		}
		if w, _ := pngSize(t, shot); w <= 0 {
			t.Errorf("failure screenshot has width %d", w)
		}
	})

	t.Run("fail/run-timeout-reports", func(t *testing.T) {
		short := *b
		short.actionTimeout = 300 * time.Millisecond
		tab := short.NewTab(t)
		tab.Run(t, chromedp.Navigate(srv.URL+"/form"))
		began := time.Now()
		msg := expectFatal(t, func(tb testing.TB) {
			tab.Run(tb, chromedp.WaitVisible(chromedp.ID("missing")))
		})
		if !strings.Contains(msg, "action timeout (300ms) reached") || !strings.Contains(msg, "url: "+srv.URL+"/form") ||
			!strings.Contains(msg, "screenshot: "+shots) {
			t.Errorf("timeout report:\n%s", msg)
		}
		if d := time.Since(began); d > 3*diagnosticTimeout {
			t.Errorf("the report took %v", d)
		}
	})

	t.Run("fail/navigate-external", func(t *testing.T) {
		tab := b.NewTab(t)
		msg := expectFatal(t, func(tb testing.TB) {
			tab.Run(tb, chromedp.Navigate("https://example.net/"))
		})
		if !strings.Contains(msg, "GET https://example.net/") {
			t.Errorf("report lacks the refused navigation:\n%s", msg)
		}
	})

	t.Run("fail/screenshot-arguments", func(t *testing.T) {
		tab := b.NewTab(t)
		for _, c := range []struct {
			name          string
			width, height int
		}{
			{"../escape", 1280, 800},
			{"a/b", 1280, 800},
			{"", 1280, 800},
			{".hidden", 1280, 800},
			{"ok", 0, 800},
			{"ok", 1280, -1},
			{"ok", maxDimension + 1, 800},
		} {
			msg := expectFatal(t, func(tb testing.TB) { tab.Screenshot(tb, c.name, c.width, c.height) })
			if !strings.Contains(msg, "screenshot") {
				t.Errorf("Screenshot(%q, %d, %d): %s", c.name, c.width, c.height, msg)
			}
		}
		entries, err := os.ReadDir(filepath.Dir(shots))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "escape") {
				t.Errorf("a screenshot escaped its directory: %s", e.Name())
			}
		}
	})
}

func pngSize(t *testing.T, path string) (int, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cfg.Width, cfg.Height
}

func TestStartWithoutChromium(t *testing.T) {
	for _, c := range []struct {
		name, path string
	}{
		{"fail/missing", filepath.Join(t.TempDir(), "no-chromium")},
		{"fail/directory", t.TempDir()},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(EnvChromium, c.path)
			msg := expectFatal(t, func(tb testing.TB) { Start(tb) })
			for _, want := range []string{EnvChromium, "scripts/install-chromium.sh", "make test"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message lacks %q: %s", want, msg)
				}
			}
		})
	}
}

func TestStartRejectsBadTimeout(t *testing.T) {
	msg := expectFatal(t, func(tb testing.TB) { Start(tb, WithActionTimeout(0)) })
	if !strings.Contains(msg, "not positive") {
		t.Errorf("message: %s", msg)
	}
}

func TestLocateChromium(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "chromium")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	onPath := func(string) (string, error) { return "/opt/bin/chromium", nil }
	notOnPath := func(string) (string, error) { return "", errors.New("not found") }
	for _, c := range []struct {
		name, env, fixed string
		look             func(string) (string, error)
		want             string
	}{
		{"ok/env", exe, missing, notOnPath, exe},
		{"ok/env-wins-over-fixed", exe, plain, onPath, exe},
		{"ok/fixed", "", exe, onPath, exe},
		{"ok/path", "", missing, onPath, "/opt/bin/chromium"},
		{"ok/path-when-fixed-not-executable", "", plain, onPath, "/opt/bin/chromium"},
		{"fail/env-missing", missing, exe, onPath, ""},
		{"fail/env-not-executable", plain, exe, onPath, ""},
		{"fail/env-directory", dir, exe, onPath, ""},
		{"fail/nowhere", "", missing, notOnPath, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := locateChromium(c.env, c.fixed, c.look)
			if c.want == "" {
				if err == nil {
					t.Fatalf("locateChromium = %q, want an error", got)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("locateChromium = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func TestResolveScreenshotDir(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	nested := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(nested, 0o755); err != nil {
		t.Fatal(err)
	}
	// A directory named go.mod is not a module file.
	if err := os.MkdirAll(filepath.Join(nested, "go.mod"), 0o755); err != nil {
		t.Fatal(err)
	}
	wd := func(d string) func() (string, error) { return func() (string, error) { return d, nil } }
	for _, c := range []struct {
		name, option, env string
		getwd             func() (string, error)
		want              string
	}{
		{"ok/option", "/opt/shots", "/env/shots", wd(nested), "/opt/shots"},
		{"ok/env", "", "/env/shots", wd(nested), "/env/shots"},
		{"ok/module-root", "", "", wd(nested), filepath.Join(root, "screenshots")},
		{"ok/module-root-itself", "", "", wd(root), filepath.Join(root, "screenshots")},
		{"fail/getwd", "", "", func() (string, error) { return "", errors.New("gone") }, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := resolveScreenshotDir(c.option, c.env, c.getwd)
			if c.want == "" {
				if err == nil {
					t.Fatalf("resolveScreenshotDir = %q, want an error", got)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("resolveScreenshotDir = %q, %v; want %q", got, err, c.want)
			}
		})
	}
	t.Run("fail/no-module", func(t *testing.T) {
		if _, err := os.Stat("/go.mod"); err == nil {
			t.Fatal("/go.mod exists: this case cannot be checked here")
		}
		if got, err := moduleRoot("/"); err == nil {
			t.Fatalf("moduleRoot(/) = %q, want an error", got)
		}
	})
}

func TestLocal(t *testing.T) {
	for _, c := range []struct {
		url  string
		want bool
	}{
		{"http://127.0.0.1:8080/app", true},
		{"https://127.0.0.1/", true},
		{"http://127.8.9.10/", true},
		{"http://localhost:3000/x", true},
		{"http://[::1]:8080/", true},
		{"ws://localhost:8080/events", true},
		{"wss://127.0.0.1/events", true},
		{"data:image/png;base64,AAAA", true},
		{"blob:http://127.0.0.1:8080/0b1c", true},
		{"about:blank", true},
		{"http://example.com/x.png", false},
		{"https://fonts.googleapis.com/css", false},
		{"http://127.0.0.1.example.com/", false},
		{"http://localhost.example.com/", false},
		{"http://evil.example/?next=http://127.0.0.1/", false},
		{"http://127.0.0.1@evil.example/", false},
		{"http://[::ffff:8.8.8.8]/", false},
		{"http://10.0.0.1/", false},
		{"http://0.0.0.0/", false},
		{"file:///etc/passwd", false},
		{"ftp://127.0.0.1/", false},
		{"chrome-extension://abc/x.js", false},
		{"http://%zz/", false},
		{"", false},
		{"//127.0.0.1/", false},
	} {
		if got := Local(c.url); got != c.want {
			t.Errorf("Local(%q) = %v, want %v", c.url, got, c.want)
		}
	}
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"TestBrowser/ok/form":     "TestBrowser_ok_form",
		"TestX/a_b-c.d":           "TestX_a_b-c.d",
		"../../etc/passwd":        "etc_passwd",
		"TestÜnïcode/with spaces": "Test_n_code_with_spaces",
		"///":                     "test",
	} {
		if got := sanitize(in); got != want {
			t.Errorf("sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}
