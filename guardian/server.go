package guardian

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/custos-dev/custos/governance"
	"github.com/custos-dev/custos/guardian/wire"
)

// refuse is a typed refusal, answered as a KindError envelope.
func refuse(code, format string, args ...any) *wire.Error {
	return &wire.Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// accuse is refuse naming the ceremony participants responsible.
func accuse(code string, culprits []uint16, format string, args ...any) *wire.Error {
	return &wire.Error{Code: code, Message: fmt.Sprintf(format, args...), Culprits: culprits}
}

// Handler serves the guardian's HTTP interface: GET /healthz (liveness,
// unauthenticated) and POST /v1/rpc (signed envelopes from the pinned
// coordinator).
func (n *Node) Handler() http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]any{"status": "ok", "enrolled": n.ID() != ""})
	})
	e.POST("/v1/rpc", func(c echo.Context) error {
		body, err := io.ReadAll(io.LimitReader(c.Request().Body, wire.MaxBody+64<<10))
		if err != nil {
			return c.JSON(http.StatusBadRequest, wire.Error{Code: wire.CodeMalformed, Message: "unreadable body"})
		}
		status, ans, werr := n.Serve(c.Request().Context(), body)
		if ans == nil {
			return c.JSON(status, werr)
		}
		return c.JSON(status, ans)
	})
	return e
}

// Serve handles one request envelope. It returns the signed answer, or
// (for a request it cannot authenticate) an HTTP status and an unsigned
// error.
func (n *Node) Serve(ctx context.Context, raw []byte) (int, *wire.Envelope, *wire.Error) {
	env, err := wire.ParseEnvelope(raw)
	if err != nil {
		return http.StatusBadRequest, nil, &wire.Error{Code: wire.CodeMalformed, Message: err.Error()}
	}
	n.mu.Lock()
	id, coord := n.id, n.coordKey
	n.mu.Unlock()
	if id == "" {
		return http.StatusServiceUnavailable, nil, &wire.Error{Code: wire.CodeUnauthenticated, Message: "this guardian is not enrolled"}
	}
	now := n.now()
	if err := env.Verify(coord, wire.Expect{From: wire.CoordinatorID, To: id, Now: now}); err != nil {
		n.event(ctx, "rpc.reject", "envelope", "denied", map[string]string{"kind": env.Kind, "error": err.Error()})
		return http.StatusUnauthorized, nil, &wire.Error{Code: wire.CodeUnauthenticated, Message: err.Error()}
	}
	digest := env.Digest()
	// An envelope delivered twice gets the same answer; it is not run again.
	n.mu.Lock()
	if a, ok := n.seen[digest]; ok {
		n.mu.Unlock()
		return http.StatusOK, a.answer, nil
	}
	n.mu.Unlock()

	body, err := n.dispatch(ctx, env)
	kind := env.Kind
	if err != nil {
		kind, body = wire.KindError, n.refusalBody(ctx, env, err)
	}
	ans, err := wire.New(n.identity, kind, env.Session, env.Round, id, wire.CoordinatorID, digest[:], body, n.now())
	if err != nil {
		return http.StatusInternalServerError, nil, &wire.Error{Code: wire.CodeInternal, Message: "encoding the answer"}
	}
	n.mu.Lock()
	n.seen[digest] = seenEntry{answer: ans, at: now}
	// Envelopes older than the skew window are refused as stale anyway;
	// forget their answers, sweeping at most once a minute.
	if now.Sub(n.seenSwept) > time.Minute {
		for d, s := range n.seen {
			if now.Sub(s.at) > 2*wire.MaxSkew+time.Minute {
				delete(n.seen, d)
			}
		}
		n.seenSwept = now
	}
	n.mu.Unlock()
	return http.StatusOK, ans, nil
}

type seenEntry struct {
	answer *wire.Envelope
	at     time.Time
}

func (n *Node) refusalBody(ctx context.Context, env *wire.Envelope, err error) *wire.Error {
	var r *wire.Error
	var g *governance.Refusal
	var out wire.Error
	switch {
	case errors.As(err, &r):
		out = *r
	case errors.As(err, &g):
		out = wire.Error{Code: g.Code, Message: g.Reason}
	case errors.Is(err, wire.ErrMalformed): // a body that does not decode
		out = wire.Error{Code: wire.CodeMalformed, Message: err.Error()}
	default:
		n.log.ErrorContext(ctx, "guardian request failed", "kind", env.Kind, "session", env.Session, "err", err)
		out = wire.Error{Code: wire.CodeInternal, Message: "internal error"}
	}
	meta := map[string]string{"code": out.Code, "reason": out.Message}
	if len(out.Culprits) > 0 {
		ids := make([]string, len(out.Culprits))
		for i, c := range out.Culprits {
			ids[i] = strconv.Itoa(int(c))
		}
		meta["culprits"] = strings.Join(ids, ",")
	}
	n.event(ctx, env.Kind, "session:"+env.Session, "denied", meta)
	return &out
}

func (n *Node) dispatch(ctx context.Context, env *wire.Envelope) (any, error) {
	switch env.Kind {
	case wire.KindHealth:
		var r wire.HealthRequest
		if err := env.Decode(&r); err != nil {
			return nil, err
		}
		return n.health(ctx), nil
	case wire.KindCommit:
		return n.commit(env)
	case wire.KindPrepare:
		return n.prepare(ctx, env)
	case wire.KindSign:
		return n.sign(ctx, env)
	case wire.KindDKGStart:
		return n.dkgStart(ctx, env)
	case wire.KindDKGConfirm:
		return n.dkgConfirm(env)
	case wire.KindDKGShares:
		return n.dkgShares(env)
	case wire.KindDKGFinalize:
		return n.dkgFinalize(ctx, env)
	case wire.KindDKGActivate:
		return n.dkgActivate(ctx, env)
	case wire.KindDKGAbort:
		return n.dkgAbort(ctx, env)
	case wire.KindGovernance:
		return n.applyGovernance(ctx, env)
	}
	return nil, refuse(wire.CodeMalformed, "unknown kind %q", env.Kind)
}

// health reports the node's state.
func (n *Node) health(ctx context.Context) *wire.Health {
	h := &wire.Health{Version: Version, StartedAt: n.started.UTC()}
	if g, err := n.governance(); err == nil {
		h.GovernanceHash, h.Applied = g.hash, g.applied
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	h.GuardianID = n.id
	for _, k := range n.keys {
		h.Keys = append(h.Keys, wire.KeyStatus{WalletID: k.ref.WalletID, KeyVersion: k.ref.KeyVersion, Index: k.index,
			Status: k.status, Nonces: len(k.issued)})
	}
	return h
}

// Version is reported in health answers.
const Version = "custos-guardian/1"
