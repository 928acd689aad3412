// Package httpapi serves the coordinator's REST API under /v1 with echo.
//
// Every error is answered as {"error": {"code", "message", "request_id"}};
// internal causes are logged with the request id and never sent. Request
// bodies must be JSON (Content-Type application/json), at most 64 KiB, with
// no unknown fields and nothing after the object. Callers authenticate with
// a bearer API key (cst_...) or a staff session token (css_...); each
// credential is rate limited.
package httpapi

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/internal/timing"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"
)

//go:embed openapi.json
var openAPI []byte

// MaxBody is the largest request body accepted.
const MaxBody = 64 << 10

// Config configures the HTTP server.
type Config struct {
	Service *coordinator.Service
	Logger  *slog.Logger // nil: discard
	// RatePerSecond and Burst limit each credential (defaults 50 and 100).
	RatePerSecond float64
	Burst         int
	// LoginRatePerSecond and LoginBurst limit login attempts per client
	// address (defaults 2 and 20).
	LoginRatePerSecond float64
	LoginBurst         int
	// Registry receives the metrics (nil: a new registry).
	Registry *prometheus.Registry
	// TrustProxyHeaders takes the client address from X-Forwarded-For, as
	// set by a reverse proxy in front of the coordinator. Leave it off when
	// clients connect directly: they could otherwise choose the address the
	// login limit and the audit log see.
	TrustProxyHeaders bool
	// Mount, if set, registers further routes (the web UI) on the server,
	// behind the same request ids, metrics, body limit and recovery, with
	// the Edge they share with the API.
	Mount func(*echo.Echo, Edge)
}

type server struct {
	svc           *coordinator.Service
	log           *slog.Logger
	limiters      limiterSet // per authenticated credential
	loginLimiters limiterSet // per client address, for logins
	rps           rate.Limit
	burst         int
	loginRPS      rate.Limit
	loginBurst    int
	touched       sync.Map // api key id -> time.Time of last recorded use

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// New returns the HTTP handler.
func New(cfg Config) (http.Handler, error) {
	if cfg.Service == nil {
		return nil, errors.New("httpapi: Service is required")
	}
	s := &server{svc: cfg.Service, log: cfg.Logger, rps: rate.Limit(cfg.RatePerSecond), burst: cfg.Burst,
		loginRPS: rate.Limit(cfg.LoginRatePerSecond), loginBurst: cfg.LoginBurst}
	if s.loginRPS <= 0 {
		s.loginRPS = 2
	}
	if s.loginBurst <= 0 {
		s.loginBurst = 20
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.rps <= 0 {
		s.rps = 50
	}
	if s.burst <= 0 {
		s.burst = 100
	}
	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "custos_http_requests_total", Help: "HTTP requests by route and status."}, []string{"method", "route", "status"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "custos_http_request_duration_seconds", Help: "HTTP request latency.",
		Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, 1}}, []string{"method", "route"})
	if err := reg.Register(s.requests); err != nil {
		return nil, err
	}
	if err := reg.Register(s.latency); err != nil {
		return nil, err
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = echo.ExtractIPDirect()
	if cfg.TrustProxyHeaders {
		e.IPExtractor = echo.ExtractIPFromXFFHeader()
	}
	e.Use(s.requestID)
	e.Use(s.observe)
	e.Use(middleware.BodyLimit(strconv.Itoa(MaxBody)))
	e.Use(middleware.Recover())

	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", s.ready)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))

	if cfg.Mount != nil {
		cfg.Mount(e, Edge{s})
	}

	v1 := e.Group("/v1")
	v1.GET("/openapi.json", func(c echo.Context) error { return c.Blob(http.StatusOK, "application/json", openAPI) })
	v1.GET("/keys", s.keys)
	v1.POST("/auth/login", s.login)
	v1.POST("/guardians/enroll/preview", s.previewGuardianEnrollment)
	v1.POST("/guardians/enroll", s.enrollGuardian)

	a := v1.Group("", s.authenticate)
	a.POST("/auth/logout", s.logout)
	a.GET("/me", s.me)
	a.PUT("/me/approval-key", s.registerApprovalKey)
	a.PUT("/me/password", s.changePassword)
	a.GET("/users", s.listUsers)
	a.POST("/users", s.createUser)
	a.POST("/users/:id/role", s.assignRole)
	a.POST("/users/:id/mfa/reset", s.resetMFA)
	a.POST("/transactions", s.submitTransaction)
	a.GET("/transactions", s.listTransactions)
	a.GET("/transactions/:id", s.getTransaction)
	a.PATCH("/transactions/:id", s.amendTransaction)
	a.GET("/transactions/:id/proof", s.getProof)
	a.GET("/requests", s.listRequests)
	a.GET("/requests/:id", s.getRequest)
	a.POST("/requests/:id/votes", s.vote)
	a.GET("/requests/:id/certificate", s.getCertificate)
	a.POST("/wallets", s.createWallet)
	a.GET("/wallets", s.listWallets)
	a.GET("/wallets/:id", s.getWallet)
	a.POST("/wallets/:id/freeze", s.freezeWallet)
	a.POST("/wallets/:id/unfreeze", s.unfreezeWallet)
	a.GET("/rates", s.listRates)
	a.PUT("/rates/:asset", s.putRate)
	a.GET("/policy", s.getPolicy)
	a.POST("/policy", s.proposePolicy)
	a.PUT("/emergency-stop", s.emergencyStop)
	a.GET("/apikeys", s.listAPIKeys)
	a.POST("/apikeys", s.createAPIKey)
	a.DELETE("/apikeys/:id", s.revokeAPIKey)
	a.GET("/webhooks", s.listWebhooks)
	a.POST("/webhooks", s.createWebhook)
	a.POST("/webhooks/:id/enable", s.enableWebhook)
	a.POST("/webhooks/:id/disable", s.disableWebhook)
	a.DELETE("/webhooks/:id", s.deleteWebhook)
	a.GET("/audit/events", s.listAudit)
	a.GET("/audit/export", s.exportAudit)
	a.GET("/audit/checkpoint", s.auditCheckpoint)
	a.POST("/guardians/invitations", s.createGuardianInvitation)
	a.GET("/guardians", s.listGuardians)
	a.GET("/guardians/:id", s.getGuardian)
	a.POST("/guardians/:id/reinstate", s.reinstateGuardian)
	a.GET("/ceremonies/:id", s.getCeremony)
	return e, nil
}

// requestID gives every request an id of our own (the client's
// X-Request-Id is ignored: it would reach logs and the audit log) and puts
// it, with the client address, in the request context. Answers are not to
// be cached: they carry tokens, secrets shown once and live state (the
// UI's static assets set their own caching).
func (s *server) requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		var b [16]byte
		rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		c.Response().Header().Set("Cache-Control", "no-store")
		c.SetRequest(c.Request().WithContext(coordinator.WithMeta(c.Request().Context(),
			coordinator.Meta{RequestID: id, RemoteIP: c.RealIP()})))
		return next(c)
	}
}

// observe counts each call and its latency by route, and sends the phases
// it recorded (internal/timing) in its Server-Timing header.
func (s *server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		// The phases a call records (a signature's, for instance) go out
		// in its Server-Timing header.
		ctx, rec := timing.With(c.Request().Context())
		c.SetRequest(c.Request().WithContext(ctx))
		c.Response().Before(func() {
			if h := rec.Header(); h != "" {
				c.Response().Header().Set("Server-Timing", h)
			}
		})
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		method := metricMethod(c.Request().Method)
		s.requests.WithLabelValues(method, route, strconv.Itoa(c.Response().Status)).Inc()
		s.latency.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
		return nil
	}
}

// metricMethod keeps metric labels to a known set: a label per made-up
// method would let anyone grow the metrics without bound.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

func (s *server) ready(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.svc.Store().Ping(ctx); err != nil {
		s.log.WarnContext(ctx, "readiness: store unavailable", "err", err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "store unavailable"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}
