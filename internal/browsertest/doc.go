// Package browsertest runs the browser tests of the web UI: it starts Debian's
// Chromium headless, drives it through the DevTools protocol with
// github.com/chromedp/chromedp, and gives each test isolated tabs, a WebAuthn
// virtual authenticator for passkeys, and screenshots at the sizes the UI is
// reviewed at (1280x800 and 390x844).
//
// It is test support: import it from _test.go files only.
//
// # What it guarantees
//
//   - The tests run, or fail: a missing Chromium is a t.Fatal that names the
//     installer (scripts/install-chromium.sh, which `make test` runs), never a
//     skip.
//   - One Chromium process per [Start], with a fresh profile in t.TempDir(),
//     stopped (and waited for) by t.Cleanup.
//   - Each [Tab] lives in its own browser context: its own cookies, storage
//     and passkeys, so two staff members can be signed in at once.
//   - A tab reaches loopback only. Every request to another host is refused
//     inside the browser and recorded ([Tab.ExternalRequests]), so a test can
//     prove that the UI works on an isolated network. The allowed hosts are
//     127.0.0.0/8, [::1] and "localhost" over http, https, ws and wss.
//   - A failed [Tab.Run] reports the error, the page's URL, a screenshot file,
//     the console errors and the refused requests.
//
// # What it refuses
//
//   - Screenshot names that are not plain file names (no separators, no "..").
//   - Sizes outside 1..10000 pixels.
//
// # WebAuthn origins
//
// Chromium accepts WebAuthn on http://localhost:<port> (a secure context
// whose RP ID is "localhost"), and refuses it on http://127.0.0.1:<port>
// with a SecurityError, whether the RP ID is left out or given as
// "127.0.0.1": an IP address cannot be an RP ID. Tests that use
// passkeys must therefore load the UI from http://localhost:<port>, while the
// server may listen on 127.0.0.1. The package's own tests check both.
//
// # Limits
//
// Requests are filtered with the Fetch domain of the page target: it sees
// every HTTP request of the page and its same-process frames, but not
// WebSocket connections and not the requests of service workers.
package browsertest
