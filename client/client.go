// Package client is a small Go client for the Custos REST API, used by the
// custos CLI. It sends JSON, decodes JSON, and turns the API's error
// envelope into *Error values.
package client

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/custos-dev/custos/approvals"
)

// Client calls one Custos coordinator.
type Client struct {
	BaseURL string // e.g. http://127.0.0.1:8080
	Token   string // API key or session token
	HTTP    *http.Client
}

// New returns a client for baseURL authenticating with token.
func New(baseURL, token string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Token: token, HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// Error is an error answered by the API.
type Error struct {
	Status    int
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s (%s, HTTP %d, request %s)", e.Message, e.Code, e.Status, e.RequestID)
}

// Do sends a request with an optional JSON body and decodes a JSON answer
// into out (if not nil). Extra headers are name/value pairs.
func (c *Client) Do(ctx context.Context, method, path string, body, out any, headers ...string) (int, http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, resp.Header, err
	}
	if resp.StatusCode >= 400 {
		var env struct {
			Error Error `json:"error"`
		}
		if json.Unmarshal(data, &env) != nil || env.Error.Code == "" {
			return resp.StatusCode, resp.Header, &Error{Status: resp.StatusCode, Code: "http_error", Message: strings.TrimSpace(string(data))}
		}
		env.Error.Status = resp.StatusCode
		return resp.StatusCode, resp.Header, &env.Error
	}
	if out != nil {
		if raw, ok := out.(*[]byte); ok {
			*raw = data
		} else if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, resp.Header, fmt.Errorf("decoding answer: %w", err)
		}
	}
	return resp.StatusCode, resp.Header, nil
}

// Login opens a staff session and sets c.Token. code is the one-time
// code from the user's authenticator app, needed once they have enrolled
// one.
func (c *Client) Login(ctx context.Context, name, password string, code ...string) error {
	var out struct {
		Token string `json:"token"`
	}
	body := map[string]string{"name": name, "password": password}
	if len(code) > 0 && code[0] != "" {
		body["code"] = code[0]
	}
	if _, _, err := c.Do(ctx, http.MethodPost, "/v1/auth/login", body, &out); err != nil {
		return err
	}
	c.Token = out.Token
	return nil
}

// Path joins escaped path segments under /v1.
func Path(segments ...string) string {
	var b strings.Builder
	b.WriteString("/v1")
	for _, s := range segments {
		b.WriteString("/" + url.PathEscape(s))
	}
	return b.String()
}

// ApprovalRequest is an approval request as GET /v1/requests/{id} shows
// it: its status and what an approver's signature binds.
type ApprovalRequest struct {
	ID          string    `json:"id"`
	Status      string    `json:"status"`
	RequesterID string    `json:"requester_id"`
	Revision    int64     `json:"revision"`
	Fingerprint string    `json:"fingerprint"`
	PolicyHash  string    `json:"policy_hash"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// Binding is what a vote on r signs (see approvals.Message). It refuses a
// fingerprint or policy hash that is not 32 bytes of hex.
func (r *ApprovalRequest) Binding() (approvals.Binding, error) {
	fp, err := hex.DecodeString(r.Fingerprint)
	if err != nil || len(fp) != 32 {
		return approvals.Binding{}, fmt.Errorf("request %s: malformed fingerprint", r.ID)
	}
	ph, err := hex.DecodeString(r.PolicyHash)
	if err != nil || len(ph) != 32 {
		return approvals.Binding{}, fmt.Errorf("request %s: malformed policy hash", r.ID)
	}
	return approvals.Binding{RequestID: r.ID, RequesterID: r.RequesterID, Revision: r.Revision, Fingerprint: fp, PolicyHash: ph,
		ExpiresAt: r.ExpiresAt}, nil
}

// Webhook is a webhook as GET /v1/webhooks shows it (never its secret).
type Webhook struct {
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

// CreateWebhook creates a webhook that POSTs the events of the given
// types (e.g. "transaction.*") to endpoint, and returns it with its signing
// secret, which the API shows this once (verify deliveries with
// webhook.Verify).
func (c *Client) CreateWebhook(ctx context.Context, endpoint string, events []string) (*Webhook, string, error) {
	var out struct {
		Webhook Webhook `json:"webhook"`
		Secret  string  `json:"secret"`
	}
	if _, _, err := c.Do(ctx, http.MethodPost, "/v1/webhooks", map[string]any{"url": endpoint, "events": events}, &out); err != nil {
		return nil, "", err
	}
	return &out.Webhook, out.Secret, nil
}

// ListWebhooks lists the webhooks with their delivery state.
func (c *Client) ListWebhooks(ctx context.Context) ([]Webhook, error) {
	var out struct {
		Webhooks []Webhook `json:"webhooks"`
	}
	if _, _, err := c.Do(ctx, http.MethodGet, "/v1/webhooks", nil, &out); err != nil {
		return nil, err
	}
	return out.Webhooks, nil
}

// SetWebhookEnabled enables or disables a webhook.
func (c *Client) SetWebhookEnabled(ctx context.Context, id string, enabled bool) error {
	action := map[bool]string{true: "enable", false: "disable"}[enabled]
	_, _, err := c.Do(ctx, http.MethodPost, Path("webhooks", id, action), nil, nil)
	return err
}

// DeleteWebhook deletes a webhook.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	_, _, err := c.Do(ctx, http.MethodDelete, Path("webhooks", id), nil, nil)
	return err
}
