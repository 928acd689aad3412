package httpapi

import (
	"net/http"
	"strings"
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
		lim := s.limiter(p.Kind + ":" + p.ID)
		if r := lim.Reserve(); r.Delay() > 0 {
			delay := r.Delay()
			r.Cancel()
			return &apiError{status: http.StatusTooManyRequests, code: "rate_limited",
				msg: "too many requests for this credential", retryAfter: delay}
		}
		if p.Kind == "apikey" {
			s.touch(c, p.ID)
		}
		c.Set(principalKey, p)
		return next(c)
	}
}

// loginLimiter limits login attempts per client address.
func (s *server) loginLimiter(ip string) *rate.Limiter {
	key := "login:" + ip
	if l, ok := s.limiters.Load(key); ok {
		return l.(*rate.Limiter)
	}
	l, _ := s.limiters.LoadOrStore(key, rate.NewLimiter(s.loginRPS, s.loginBurst))
	return l.(*rate.Limiter)
}

func (s *server) limiter(key string) *rate.Limiter {
	if l, ok := s.limiters.Load(key); ok {
		return l.(*rate.Limiter)
	}
	l, _ := s.limiters.LoadOrStore(key, rate.NewLimiter(s.rps, s.burst))
	return l.(*rate.Limiter)
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
