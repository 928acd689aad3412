package httpapi

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/store"
	"github.com/labstack/echo/v4"
)

func (s *server) keys(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"keys": s.svc.DecisionKeys()})
}

func (s *server) login(c echo.Context) error {
	var in struct {
		Name     string `json:"name"`
		Password string `json:"password"`
		Code     string `json:"code"` // one-time code, once the user has enrolled an authenticator app
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	// Password guessing is limited per client address on top of the
	// argon2id cost of every attempt and the per-account lockout.
	if err := spend(s.loginLimiter(c.RealIP()), "too many login attempts"); err != nil {
		return err
	}
	sess, err := s.svc.SignIn(c.Request().Context(), coordinator.SignIn{Name: in.Name, Password: in.Password, Code: in.Code})
	if err != nil {
		return err
	}
	u := sess.User
	return c.JSON(http.StatusOK, map[string]any{"token": sess.Token, "expires_at": sess.ExpiresAt, "second_factor": sess.MFA,
		"user": map[string]string{"id": u.ID, "name": u.Name, "role": u.Role}})
}

func (s *server) logout(c echo.Context) error {
	tok := c.Request().Header.Get(echo.HeaderAuthorization)[len("Bearer "):]
	if err := s.svc.Logout(c.Request().Context(), tok); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *server) me(c echo.Context) error {
	p := principal(c)
	return c.JSON(http.StatusOK, map[string]any{"kind": p.Kind, "id": p.ID, "user_id": p.UserID, "name": p.Name,
		"role": p.Role, "scopes": p.Scopes})
}

func (s *server) registerApprovalKey(c echo.Context) error {
	var in struct {
		PublicKey string `json:"public_key"` // hex
		Signature string `json:"signature"`  // base64, over the key registration message
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	pub, err := hex.DecodeString(in.PublicKey)
	if err != nil {
		return badRequest("invalid_key", "public_key must be hex")
	}
	sig, err := base64.StdEncoding.DecodeString(in.Signature)
	if err != nil {
		return badRequest("invalid_signature", "signature must be base64")
	}
	if err := s.svc.RegisterApprovalKey(c.Request().Context(), principal(c), pub, sig); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *server) changePassword(c echo.Context) error {
	var in struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	if err := s.svc.ChangePassword(c.Request().Context(), principal(c), in.Current, in.New); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type userView struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Role        string    `json:"role"`
	ApprovalKey string    `json:"approval_key,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

func viewUser(u *store.User) userView {
	v := userView{ID: u.ID, Name: u.Name, Role: u.Role, CreatedAt: u.CreatedAt}
	if u.ApprovalKey != nil {
		v.ApprovalKey = hex.EncodeToString(u.ApprovalKey)
	}
	return v
}

func (s *server) listUsers(c echo.Context) error {
	us, err := s.svc.ListUsers(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	out := views(us, viewUser)
	return c.JSON(http.StatusOK, map[string]any{"users": out})
}

func (s *server) createUser(c echo.Context) error {
	var in struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	u, err := s.svc.CreateUser(c.Request().Context(), principal(c), in.Name, in.Password)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, viewUser(u))
}

func (s *server) assignRole(c echo.Context) error {
	var in struct {
		Role string `json:"role"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	v, err := s.svc.AssignRole(c.Request().Context(), principal(c), c.Param("id"), in.Role)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]any{"request": viewRequest(v)})
}

// resetMFA removes a user's authenticator app (administrators only).
func (s *server) resetMFA(c echo.Context) error {
	if err := s.svc.ResetTOTP(c.Request().Context(), principal(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *server) submitTransaction(c echo.Context) error {
	var in coordinator.TransferInput
	if err := decode(c, &in); err != nil {
		return err
	}
	t, created, err := s.svc.SubmitTransfer(c.Request().Context(), principal(c), in, c.Request().Header.Get("Idempotency-Key"))
	if err != nil {
		return err
	}
	v, err := viewTransaction(t)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
		c.Response().Header().Set("Idempotent-Replayed", "true")
	}
	return c.JSON(status, v)
}

func limitParam(c echo.Context) (int, error) {
	q := c.QueryParam("limit")
	if q == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(q)
	if err != nil || n < 1 || n > 1000 {
		return 0, badRequest("invalid_limit", "limit must be an integer from 1 to 1000")
	}
	return n, nil
}

func (s *server) listTransactions(c echo.Context) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	ts, err := s.svc.ListTransactions(c.Request().Context(), principal(c), store.TransactionFilter{
		WalletID: c.QueryParam("wallet_id"), Status: store.TxStatus(c.QueryParam("status")), Limit: limit})
	if err != nil {
		return err
	}
	out := make([]*transactionView, 0, len(ts))
	for _, t := range ts {
		v, err := viewTransaction(t)
		if err != nil {
			return err
		}
		out = append(out, v)
	}
	return c.JSON(http.StatusOK, map[string]any{"transactions": out})
}

func (s *server) getTransaction(c echo.Context) error {
	t, err := s.svc.GetTransaction(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	v, err := viewTransaction(t)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *server) amendTransaction(c echo.Context) error {
	var in coordinator.AmendInput
	if err := decode(c, &in); err != nil {
		return err
	}
	t, err := s.svc.AmendTransfer(c.Request().Context(), principal(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	v, err := viewTransaction(t)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// auditCheckpoint serves a signed statement of the chain head, for
// `custos audit verify --checkpoint`.
func (s *server) auditCheckpoint(c echo.Context) error {
	p, err := s.svc.AuditCheckpoint(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

// getProof serves the decision proof as a file for `custos proof verify`.
func (s *server) getProof(c echo.Context) error {
	t, err := s.svc.GetTransaction(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, t.Decision)
}

func (s *server) listRequests(c echo.Context) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	rs, err := s.svc.ListRequests(c.Request().Context(), principal(c), store.RequestFilter{
		Status: store.RequestStatus(c.QueryParam("status")), Action: c.QueryParam("action"), Limit: limit})
	if err != nil {
		return err
	}
	out := views(rs, viewRequestSummary)
	return c.JSON(http.StatusOK, map[string]any{"requests": out})
}

func (s *server) getRequest(c echo.Context) error {
	v, err := s.svc.GetRequest(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewRequest(v))
}

func (s *server) vote(c echo.Context) error {
	var in struct {
		Decision  string `json:"decision"`
		Signature string `json:"signature"` // base64 Ed25519 signature
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	sig, err := base64.StdEncoding.DecodeString(in.Signature)
	if err != nil {
		return badRequest("invalid_signature", "signature must be base64")
	}
	v, err := s.svc.Vote(c.Request().Context(), principal(c), c.Param("id"), in.Decision, sig)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewRequest(v))
}

func (s *server) getCertificate(c echo.Context) error {
	cert, err := s.svc.Certificate(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cert)
}

func (s *server) createWallet(c echo.Context) error {
	var in coordinator.WalletInput
	if err := decode(c, &in); err != nil {
		return err
	}
	v, err := s.svc.CreateWallet(c.Request().Context(), principal(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]any{"request": viewRequest(v)})
}

func (s *server) listWallets(c echo.Context) error {
	ws, err := s.svc.ListWallets(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	out := views(ws, viewWallet)
	return c.JSON(http.StatusOK, map[string]any{"wallets": out})
}

func (s *server) getWallet(c echo.Context) error {
	ctx, p := c.Request().Context(), principal(c)
	w, err := s.svc.GetWallet(ctx, p, c.Param("id"))
	if err != nil {
		return err
	}
	v := viewWallet(w)
	cer, err := s.svc.WalletCeremony(ctx, p, w.ID)
	if err != nil {
		return err
	}
	if cer != nil {
		v.Ceremony = viewCeremony(cer)
	}
	return c.JSON(http.StatusOK, v)
}

func (s *server) freezeWallet(c echo.Context) error {
	if err := s.svc.FreezeWallet(c.Request().Context(), principal(c), c.Param("id")); err != nil {
		return err
	}
	return s.getWallet(c)
}

func (s *server) unfreezeWallet(c echo.Context) error {
	v, err := s.svc.UnfreezeWallet(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]any{"request": viewRequest(v)})
}

func (s *server) listRates(c echo.Context) error {
	rs, err := s.svc.ListRates(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	out := views(rs, viewRate)
	return c.JSON(http.StatusOK, map[string]any{"rates": out})
}

func (s *server) putRate(c echo.Context) error {
	var in struct {
		EURPerUnit string `json:"eur_per_unit"`
		Decimals   int    `json:"decimals"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	r, v, err := s.svc.PutRate(c.Request().Context(), principal(c), coordinator.RateInput{Asset: c.Param("asset"), EURPerUnit: in.EURPerUnit, Decimals: in.Decimals})
	if err != nil {
		return err
	}
	if v != nil {
		return c.JSON(http.StatusAccepted, map[string]any{"request": viewRequest(v)})
	}
	return c.JSON(http.StatusOK, viewRate(r))
}

func (s *server) getPolicy(c echo.Context) error {
	p, err := s.svc.CurrentPolicy(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"version": p.Version, "hash": hex.EncodeToString(p.Hash), "document": json.RawMessage(p.Document),
		"created_at": p.CreatedAt, "created_by": p.CreatedBy})
}

func (s *server) proposePolicy(c echo.Context) error {
	var in struct {
		Document json.RawMessage `json:"document"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	v, err := s.svc.ProposePolicy(c.Request().Context(), principal(c), in.Document)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]any{"request": viewRequest(v)})
}

func (s *server) emergencyStop(c echo.Context) error {
	var in struct {
		On *bool `json:"on"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	if in.On == nil {
		return badRequest("invalid_field", "field \"on\" (true or false) is required")
	}
	v, err := s.svc.EmergencyStop(c.Request().Context(), principal(c), *in.On)
	if err != nil {
		return err
	}
	if v != nil {
		return c.JSON(http.StatusAccepted, map[string]any{"request": viewRequest(v)})
	}
	return c.JSON(http.StatusOK, map[string]bool{"on": *in.On})
}

func (s *server) listAPIKeys(c echo.Context) error {
	ks, err := s.svc.ListAPIKeys(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	out := views(ks, viewAPIKey)
	return c.JSON(http.StatusOK, map[string]any{"api_keys": out})
}

func (s *server) createAPIKey(c echo.Context) error {
	var in coordinator.APIKeyInput
	if err := decode(c, &in); err != nil {
		return err
	}
	key, v, err := s.svc.CreateAPIKey(c.Request().Context(), principal(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]any{"api_key": key.Reveal(), "request": viewRequest(v),
		"note": "the key is shown once and works when the request is executed"})
}

func (s *server) revokeAPIKey(c echo.Context) error {
	if err := s.svc.RevokeAPIKey(c.Request().Context(), principal(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *server) listAudit(c echo.Context) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	after := int64(0)
	if q := c.QueryParam("after"); q != "" {
		if after, err = strconv.ParseInt(q, 10, 64); err != nil || after < 0 {
			return badRequest("invalid_after", "after must be a non-negative sequence number")
		}
	}
	evs, err := s.svc.ListAudit(c.Request().Context(), principal(c), after, limit)
	if err != nil {
		return err
	}
	out := views(evs, viewAudit)
	return c.JSON(http.StatusOK, map[string]any{"events": out})
}

// exportAudit streams the whole chain as JSON lines. The status line is
// sent with the first bytes, so a failure before any event was read still
// gets a JSON error answer.
func (s *server) exportAudit(c echo.Context) error {
	p := principal(c)
	w := &lazyWriter{c: c}
	if err := s.svc.ExportAudit(c.Request().Context(), p, w); err != nil {
		if w.started {
			s.log.ErrorContext(c.Request().Context(), "audit export failed mid-stream", "err", err)
			return nil
		}
		return err
	}
	if !w.started {
		w.start()
	}
	return nil
}

type lazyWriter struct {
	c       echo.Context
	started bool
}

func (w *lazyWriter) start() {
	h := w.c.Response().Header()
	h.Set(echo.HeaderContentType, "application/x-ndjson")
	h.Set("Content-Disposition", `attachment; filename="custos-audit-`+time.Now().UTC().Format("20060102T150405Z")+`.jsonl"`)
	w.c.Response().WriteHeader(http.StatusOK)
	w.started = true
}

func (w *lazyWriter) Write(p []byte) (int, error) {
	if !w.started {
		w.start()
	}
	return w.c.Response().Write(p)
}

// views maps stored records to their API views.
func views[T, V any](in []T, view func(T) V) []V {
	out := make([]V, 0, len(in))
	for _, x := range in {
		out = append(out, view(x))
	}
	return out
}

func viewRate(r *store.Rate) rateView {
	return rateView{Asset: r.Asset, EURPerUnit: r.EURPerUnit, Decimals: r.Decimals, UpdatedAt: r.UpdatedAt}
}

func viewAPIKey(k *store.APIKey) apiKeyView {
	return apiKeyView{ID: k.ID, Name: k.Name, Prefix: k.Prefix, OwnerID: k.OwnerUserID, Scopes: k.Scopes,
		CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt, LastUsedAt: k.LastUsedAt}
}
