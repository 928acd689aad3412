package webui_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/custos-dev/custos/internal/auth"
	"github.com/custos-dev/custos/internal/browsertest"
)

// TestBrowserSignInAndQueue drives Chromium through a first sign-in:
// enrolment of an authenticator app from the page, the queue, a request's
// detail, sign-out and a sign-in with a one-time code. It writes the
// screenshots of sign-in, queue and request detail at laptop and phone
// sizes.
func TestBrowserSignInAndQueue(t *testing.T) {
	srv, svc := newServer(t)
	reqID := submitTransfer(t, svc)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	base := "http://localhost:" + port // passkeys need localhost, not an IP
	b := browsertest.Start(t)
	tab := b.NewTab(t)
	sizes := [][2]int{{1280, 800}, {390, 844}}
	shoot := func(name string) {
		for _, sz := range sizes {
			tab.Screenshot(t, name, sz[0], sz[1])
		}
	}

	tab.Run(t, chromedp.Navigate(base+"/queue"), chromedp.WaitVisible(chromedp.CSS(`#signin`)))
	if loc := browsertest.Get(t, tab, chromedp.Location()); !strings.HasSuffix(loc, "/signin?next=/queue") {
		t.Fatalf("not signed in: at %s", loc)
	}
	shoot("signin")
	tab.Run(t,
		chromedp.SendKeys(chromedp.CSS(`#name`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Click(chromedp.CSS(`#signin`)),
		chromedp.WaitVisible(chromedp.CSS(`#totp-secret`)),
	)
	shoot("enrol")
	secret := decodeSecret(t, browsertest.Get(t, tab, chromedp.Text(chromedp.CSS(`#totp-secret`))))
	code, _ := auth.TOTPCode(secret, time.Now())
	tab.Run(t,
		chromedp.SendKeys(chromedp.CSS(`#code`), code),
		chromedp.Click(chromedp.CSS(`#enrol`)),
		chromedp.WaitVisible(chromedp.CSS(`#queue-summary`)),
	)
	summary := browsertest.Get(t, tab, chromedp.Text(chromedp.CSS(`#queue-summary`)))
	if !strings.Contains(summary, "1 need you") {
		t.Fatalf("queue summary %q, want the transfer needing alice", summary)
	}
	// The live count arrives from the page's script.
	browsertest.Get(t, tab, chromedp.Poll[bool](`document.getElementById("needs-me-count").textContent === "1"`, chromedp.WithPollingTimeout(10*time.Second)))
	shoot("queue")

	tab.Run(t, chromedp.Click(chromedp.CSS(`li[data-request="`+reqID+`"] a`)), chromedp.WaitVisible(chromedp.CSS(`#fingerprint`)))
	for sel, want := range map[string]string{"#amount": "6 ETH", "#eur": "EUR 15,000.00", "#recipient": "0x00000000000000000000000000000000000000b0"} {
		if got := browsertest.Get(t, tab, chromedp.Text(chromedp.CSS(sel))); !strings.Contains(got, want) {
			t.Errorf("%s shows %q, want %q", sel, got, want)
		}
	}
	shoot("request")

	tab.Run(t, chromedp.Click(chromedp.CSS(`.signout button`)), chromedp.WaitVisible(chromedp.CSS(`#signin`)))
	next, _ := auth.TOTPCode(secret, time.Now().Add(auth.TOTPPeriod)) // the enrolment's code is spent
	tab.Run(t,
		chromedp.SendKeys(chromedp.CSS(`#name`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.SendKeys(chromedp.CSS(`#code`), next),
		chromedp.Click(chromedp.CSS(`#signin`)),
		chromedp.WaitVisible(chromedp.CSS(`#queue-summary`)),
	)
	if errs := tab.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
	if ext := tab.ExternalRequests(); len(ext) > 0 {
		t.Errorf("the UI asked for other origins: %v", ext)
	}
}

func decodeSecret(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base32NoPad.DecodeString(strings.TrimSpace(s))
	if err != nil {
		t.Fatalf("secret %q: %v", s, err)
	}
	return b
}
