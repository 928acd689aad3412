package httpapi

import (
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/custos-dev/custos/coordinator"
	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

const principalKey = "custos.principal"

func principal(c echo.Context) *coordinator.Principal {
	p, _ := c.Get(principalKey).(*coordinator.Principal)
	return p
}

// authenticate resolves the bearer credential and applies its rate limit.
func (s *server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get(echo.HeaderAuthorization)
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || token == "" {
			return coordinator.ErrUnauthenticated
		}
		p, err := s.svc.Authenticate(c.Request().Context(), token)
		if err != nil {
			return err
		}
		if err := spend(s.limiter(p.Kind+":"+p.ID), "too many requests for this credential"); err != nil {
			return err
		}
		if p.Kind == "apikey" {
			s.touch(c, p.ID)
		}
		c.Set(principalKey, p)
		return next(c)
	}
}

// spend takes one request's worth from lim, or refuses with msg when lim
// has none to give.
func spend(lim *rate.Limiter, msg string) error {
	if r := lim.Reserve(); r.Delay() > 0 {
		delay := r.Delay()
		r.Cancel()
		return &apiError{status: http.StatusTooManyRequests, code: "rate_limited", msg: msg, retryAfter: delay}
	}
	return nil
}

// loginLimiter limits login attempts per client address (per /64 for
// IPv6, where one client easily holds many addresses).
func (s *server) loginLimiter(ip string) *rate.Limiter {
	if a, err := netip.ParseAddr(ip); err == nil && a.Is6() && !a.Is4In6() {
		if p, err := a.Prefix(64); err == nil {
			ip = p.String()
		}
	}
	return s.loginLimiters.get(ip, s.loginRPS, s.loginBurst)
}

// Edge is what the API server shares with the routes mounted on it.
type Edge struct{ s *server }

// AllowSignIn takes one attempt from the sign-in budget of a client
// address, the budget POST /v1/auth/login spends too, and reports whether
// there was one.
func (e Edge) AllowSignIn(ip string) bool { return spend(e.s.loginLimiter(ip), "") == nil }

// Status is the HTTP status of an error of kind k.
func Status(k coordinator.Kind) int {
	if st, ok := kindStatus[k]; ok {
		return st
	}
	return http.StatusInternalServerError
}

func (s *server) limiter(key string) *rate.Limiter {
	return s.limiters.get(key, s.rps, s.burst)
}

// limiterSet holds rate limiters by key and forgets idle ones, so that a
// stream of new client addresses cannot grow it without bound.
type limiterSet struct {
	mu      sync.Mutex
	entries map[string]*limiterEntry
}

type limiterEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

const (
	limiterIdle = 10 * time.Minute
	limiterMax  = 100_000
)

func (l *limiterSet) get(key string, r rate.Limit, burst int) *rate.Limiter {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.entries == nil {
		l.entries = map[string]*limiterEntry{}
	}
	if e, ok := l.entries[key]; ok {
		e.seen = now
		return e.lim
	}
	if len(l.entries) >= limiterMax {
		for k, e := range l.entries {
			// An idle limiter has refilled: forgetting it loses nothing.
			if now.Sub(e.seen) > limiterIdle {
				delete(l.entries, k)
			}
		}
	}
	if len(l.entries) >= limiterMax {
		// Still full of recently seen keys: forget one at random rather
		// than refuse the new key (refusing would let a flood of new keys
		// lock everyone else out).
		for k := range l.entries {
			delete(l.entries, k)
			break
		}
	}
	e := &limiterEntry{lim: rate.NewLimiter(r, burst), seen: now}
	l.entries[key] = e
	return e.lim
}

// touch records an API key's last use, at most once a minute per key so
// that a busy client does not turn every read into a write.
func (s *server) touch(c echo.Context, id string) {
	now := time.Now()
	if last, ok := s.touched.Load(id); ok && now.Sub(last.(time.Time)) < time.Minute {
		return
	}
	s.touched.Store(id, now)
	s.svc.TouchAPIKey(c.Request().Context(), id)
}
