package httpapi

import (
	"net/http"
	"time"

	"github.com/custos-dev/custos/coordinator"
	"github.com/labstack/echo/v4"
)

// webhookView is a webhook as the API shows it: never its secret.
type webhookView struct {
	ID             string     `json:"id"`
	URL            string     `json:"url"`
	Events         []string   `json:"events"`
	Enabled        bool       `json:"enabled"`
	Failing        bool       `json:"failing"`
	CreatedBy      string     `json:"created_by"`
	CreatedAt      time.Time  `json:"created_at"`
	Cursor         int64      `json:"cursor"`
	Lag            int64      `json:"lag"`
	Failures       int        `json:"failures"`
	LastError      string     `json:"last_error,omitempty"`
	LastDeliveryAt *time.Time `json:"last_delivery_at,omitempty"`
	NextAttemptAt  *time.Time `json:"next_attempt_at,omitempty"`
}

func viewWebhook(w *coordinator.Webhook) webhookView {
	return webhookView{ID: w.ID, URL: w.URL, Events: w.Events, Enabled: w.Enabled, Failing: w.Failing, CreatedBy: w.CreatedBy,
		CreatedAt: w.CreatedAt, Cursor: w.Cursor, Lag: w.Lag, Failures: w.Failures, LastError: w.LastError,
		LastDeliveryAt: w.LastDeliveryAt, NextAttemptAt: w.NextAttemptAt}
}

func (s *server) listWebhooks(c echo.Context) error {
	ws, err := s.svc.ListWebhooks(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"webhooks": views(ws, viewWebhook)})
}

// createWebhook answers with the signing secret, this once; the answer
// must not be cached.
func (s *server) createWebhook(c echo.Context) error {
	var in struct {
		URL    string   `json:"url"`
		Events []string `json:"events"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	w, secret, err := s.svc.CreateWebhook(c.Request().Context(), principal(c), coordinator.WebhookInput{URL: in.URL, Events: in.Events})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"webhook": viewWebhook(w), "secret": secret.Reveal()})
}

func (s *server) enableWebhook(c echo.Context) error {
	if err := s.svc.SetWebhookEnabled(c.Request().Context(), principal(c), c.Param("id"), true); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *server) disableWebhook(c echo.Context) error {
	if err := s.svc.SetWebhookEnabled(c.Request().Context(), principal(c), c.Param("id"), false); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *server) deleteWebhook(c echo.Context) error {
	if err := s.svc.DeleteWebhook(c.Request().Context(), principal(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
