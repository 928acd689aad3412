// Package webui is the coordinator's web UI for treasury staff: sign-in
// with a password and a one-time code, the approval queue, and each
// request decoded before anyone approves it. It is served by the
// coordinator from files embedded in the binary (server-rendered
// templates, one stylesheet, one script), makes no request to any other
// origin, and works on an isolated network.
//
// Guarantees:
//   - Every page but sign-in needs a browser session (cookie: HttpOnly,
//     SameSite=Strict, Secure when the request came over TLS; idle and
//     absolute limits enforced by the coordinator). A session without a
//     second factor reaches only the enrolment page.
//   - Every form and every state-changing call carries the session's
//     anti-forgery token; a POST without the right one changes nothing.
//   - Pages are sent with a Content-Security-Policy that allows only this
//     origin's scripts and styles (no inline script), and may not be
//     framed.
package webui

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/coordinator/httpapi"
	"github.com/custos-dev/custos/internal/auth"
	"github.com/labstack/echo/v4"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Cookie names: the __Host- prefix (Secure, Path=/, no Domain) where the
// coordinator is reached over TLS.
const (
	cookieName    = "custos_session"
	cookieNameTLS = "__Host-custos_session"
	csrfField     = "csrf"
	csrfHeader    = "X-CSRF-Token"
)

// Config configures the UI.
type Config struct {
	Service *coordinator.Service
	Logger  *slog.Logger // nil: discard
}

// UI is the web UI.
type UI struct {
	svc   *coordinator.Service
	log   *slog.Logger
	pages map[string]*template.Template
	// edge is the API server the UI is mounted on: sign-ins spend the
	// per-address budget of the API's logins, on top of the per-account
	// lockout.
	edge httpapi.Edge
}

// New parses the embedded templates.
func New(cfg Config) (*UI, error) {
	if cfg.Service == nil {
		return nil, errors.New("webui: Service is required")
	}
	u := &UI{svc: cfg.Service, log: cfg.Logger}
	if u.log == nil {
		u.log = slog.New(slog.DiscardHandler)
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	u.pages = pages
	return u, nil
}

// Mount registers the UI's routes on e, the API server's (it is
// httpapi.Config.Mount). Middleware is attached per route (an echo group
// with middleware would catch every unknown path, the API's included).
func (u *UI) Mount(e *echo.Echo, edge httpapi.Edge) {
	u.edge = edge
	static, _ := fs.Sub(staticFS, "static")
	e.GET("/static/*", echo.WrapHandler(http.StripPrefix("/static/", staticHandler(static))), u.headers)
	e.GET("/", func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, "/queue") }, u.headers)
	e.GET("/signin", u.page(u.signInPage), u.headers)
	e.POST("/signin", u.page(u.signIn), u.headers)

	signedIn := []echo.MiddlewareFunc{u.headers, u.session}
	// Calls from the pages' scripts get JSON answers, refusals included.
	scripts := []echo.MiddlewareFunc{u.headers, forScript, u.session}
	e.GET("/enrol", u.page(u.enrolPage), signedIn...)
	e.POST("/enrol", u.page(u.enrol), signedIn...)
	e.POST("/signout", u.page(u.signOut), signedIn...)
	e.GET("/queue", u.page(u.queue), signedIn...)
	e.GET("/queue/counts", u.queueCounts, scripts...)
	e.GET("/requests/:id", u.page(u.request), signedIn...)
	e.POST("/requests/:id/vote", u.page(u.vote), signedIn...)
	e.GET("/account", u.page(u.account), signedIn...)
	e.POST("/account/passkeys/options", u.passkeyOptions, scripts...)
	e.POST("/account/passkeys", u.passkeyRegister, scripts...)
	e.GET("/transactions", u.page(u.transactions), signedIn...)
	e.GET("/transactions/:id", u.page(u.transaction), signedIn...)
	e.GET("/wallets", u.page(u.wallets), signedIn...)
	e.GET("/wallets/:id", u.page(u.wallet), signedIn...)
	e.GET("/guardians", u.page(u.guardians), signedIn...)
	e.GET("/audit", u.page(u.auditPage), signedIn...)
	e.GET("/audit/verify", u.page(u.auditVerify), signedIn...)
	e.GET("/audit/export", u.page(u.auditExport), signedIn...)
	e.GET("/audit/checkpoint", u.page(u.auditCheckpoint), signedIn...)
	e.GET("/policies", u.page(u.policies), signedIn...)
	e.GET("/policies/edit", u.page(u.policyEdit), signedIn...)
	e.POST("/policies/edit", u.page(u.proposePolicy), signedIn...)

	admins := []echo.MiddlewareFunc{u.headers, u.session, u.adminOnly}
	e.GET("/admin/users", u.page(u.users), admins...)
	e.POST("/admin/users", u.page(u.createUser), admins...)
	e.POST("/admin/users/:id/role", u.page(u.assignRole), admins...)
	e.POST("/admin/users/:id/reset-mfa", u.page(u.resetMFA), admins...)
	e.GET("/admin/apikeys", u.page(u.apiKeys), admins...)
	e.POST("/admin/apikeys", u.page(u.createAPIKey), admins...)
	e.POST("/admin/apikeys/:id/revoke", u.page(u.revokeAPIKey), admins...)
	e.GET("/admin/webhooks", u.page(u.webhooks), admins...)
	e.POST("/admin/webhooks", u.page(u.createWebhook), admins...)
	e.POST("/admin/webhooks/:id/enable", u.page(u.enableWebhook), admins...)
	e.POST("/admin/webhooks/:id/disable", u.page(u.disableWebhook), admins...)
	e.POST("/admin/webhooks/:id/delete", u.page(u.deleteWebhook), admins...)
}

// headers sets the security headers of every UI response.
func (u *UI) headers(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		return next(c)
	}
}

// staticHandler serves the embedded assets; they may be cached (they
// change with the binary, and the pages name them with its build).
func staticHandler(root fs.FS) http.Handler {
	files := http.FileServer(http.FS(root))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

// forScript marks a route that the pages' scripts call: its refusals are
// JSON, and it never redirects.
func forScript(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Set("script", true)
		return next(c)
	}
}

func isScript(c echo.Context) bool { s, _ := c.Get("script").(bool); return s }

// session admits requests with a live browser session, and checks the
// anti-forgery token of every state-changing one. A session without a
// second factor reaches only the enrolment page and sign-out. A page is
// sent to sign-in or enrolment; a script's call is refused in JSON.
func (u *UI) session(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		refuse := func(status int, msg string) error {
			if isScript(c) {
				return c.JSON(status, map[string]string{"error": msg})
			}
			return u.status(c, status, msg)
		}
		page := c.Request().Method == http.MethodGet && !isScript(c)
		tok := sessionCookie(c)
		var p *coordinator.Principal
		if tok != "" {
			var err error
			if p, err = u.svc.AuthenticateWeb(c.Request().Context(), tok); err != nil {
				var de *coordinator.Error
				if errors.As(err, &de) && de.Kind != coordinator.KindUnauthenticated {
					return refuse(u.public(c, err))
				}
				p = nil
			}
		}
		if p == nil {
			clearCookie(c)
			if page {
				return c.Redirect(http.StatusSeeOther, "/signin?next="+safeNext(c.Request().URL.RequestURI()))
			}
			return refuse(http.StatusUnauthorized, "Your session has ended. Sign in again.")
		}
		if c.Request().Method != http.MethodGet && c.Request().Method != http.MethodHead {
			presented := c.Request().Header.Get(csrfHeader)
			if presented == "" {
				presented = c.FormValue(csrfField)
			}
			if !auth.CheckCSRF(tok, presented) {
				return refuse(http.StatusForbidden, "This form has expired or did not come from Custos. Reload the page and try again.")
			}
		}
		if !p.MFA && c.Path() != "/enrol" && c.Path() != "/signout" {
			if page {
				return c.Redirect(http.StatusSeeOther, "/enrol")
			}
			return refuse(http.StatusForbidden, "Enrol an authenticator app first.")
		}
		c.Set("principal", p)
		c.Set("token", tok)
		return next(c)
	}
}

func principal(c echo.Context) *coordinator.Principal {
	p, _ := c.Get("principal").(*coordinator.Principal)
	return p
}

func token(c echo.Context) string { t, _ := c.Get("token").(string); return t }

func sessionCookie(c echo.Context) string {
	name := cookieName
	if c.IsTLS() {
		name = cookieNameTLS
	}
	ck, err := c.Cookie(name)
	if err != nil {
		return ""
	}
	return ck.Value
}

func setCookie(c echo.Context, value string, expires time.Time) {
	ck := &http.Cookie{Name: cookieName, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Expires: expires}
	if c.IsTLS() {
		ck.Name, ck.Secure = cookieNameTLS, true
	}
	c.SetCookie(ck)
}

func clearCookie(c echo.Context) { setCookie(c, "", time.Unix(1, 0)) }

// safeNext keeps a post-sign-in destination on this site: a path, never a
// URL of another origin.
func safeNext(next string) string {
	// Browsers drop tabs and newlines from URLs and read a backslash as a
	// slash, so "/\t/evil.example" would become "//evil.example": refuse
	// any control character or backslash, then anything but a path.
	if strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return "/queue"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return "/queue"
	}
	return next
}

// view is what every page template gets.
type view struct {
	Title string
	User  *coordinator.Principal
	CSRF  string
	Data  any
}

// page adapts a handler that renders into an echo handler that shows
// errors as an error page.
func (u *UI) page(h func(c echo.Context) error) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := h(c); err != nil {
			return u.errorPage(c, err)
		}
		return nil
	}
}

// render executes page name with data inside the layout.
func (u *UI) render(c echo.Context, status int, name, title string, data any) error {
	t, ok := u.pages[name]
	if !ok {
		return errors.New("webui: no page " + name)
	}
	v := view{Title: title, User: principal(c), Data: data}
	if tok := token(c); tok != "" {
		v.CSRF = auth.CSRFToken(tok)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// errorPage shows err: a domain error's message as it is (it is written
// for people), anything else as an internal error, logged.
func (u *UI) errorPage(c echo.Context, err error) error {
	status, msg := u.public(c, err)
	return u.status(c, status, msg)
}

// public is what a person is told of err: a domain error's status and
// message as they are (written for people), anything else as an internal
// error, logged.
func (u *UI) public(c echo.Context, err error) (int, string) {
	var de *coordinator.Error
	if errors.As(err, &de) && de.Kind != coordinator.KindInternal {
		return httpapi.Status(de.Kind), de.Message
	}
	u.log.ErrorContext(c.Request().Context(), "web UI request failed", "path", c.Path(), "err", err)
	return http.StatusInternalServerError, "Something went wrong on our side. Nothing was changed; try again."
}

func (u *UI) status(c echo.Context, status int, msg string) error {
	return u.render(c, status, "error", http.StatusText(status), map[string]any{"Status": status, "Message": msg})
}

func kindStatusOf(err error) int {
	var de *coordinator.Error
	if errors.As(err, &de) {
		return httpapi.Status(de.Kind)
	}
	return http.StatusInternalServerError
}
