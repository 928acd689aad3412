package httpapi

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/guardian/wire"
	"github.com/custos-dev/custos/store"
	"github.com/labstack/echo/v4"
)

// keyStatusView is a key share a guardian reports holding.
type keyStatusView struct {
	WalletID   string `json:"wallet_id"`
	KeyVersion int    `json:"key_version"`
	Index      uint16 `json:"index"`
	Status     string `json:"status"`
	Nonces     int    `json:"nonces"`
}

type guardianView struct {
	ID            string               `json:"id"`
	Name          string               `json:"name"`
	Status        store.GuardianStatus `json:"status"`
	StatusReason  string               `json:"status_reason,omitempty"`
	Endpoint      string               `json:"endpoint"`
	IdentityKey   string               `json:"identity_key"`
	EncryptionKey string               `json:"encryption_key"`
	EnrolledAt    time.Time            `json:"enrolled_at"`
	LastSeenAt    *time.Time           `json:"last_seen_at,omitempty"`
	Version       string               `json:"version,omitempty"`
	StartedAt     *time.Time           `json:"started_at,omitempty"`
	// GovernanceHash is the governance state the guardian last reported;
	// GovernanceInSync tells whether it is the coordinator's.
	GovernanceHash   string          `json:"governance_hash"`
	GovernanceInSync bool            `json:"governance_in_sync"`
	Keys             []keyStatusView `json:"keys"`
}

func viewGuardian(g *store.Guardian, current string) guardianView {
	v := guardianView{ID: g.ID, Name: g.Name, Status: g.Status, StatusReason: g.StatusReason, Endpoint: g.Endpoint,
		IdentityKey: hex.EncodeToString(g.IdentityKey), EncryptionKey: hex.EncodeToString(g.EncryptionKey),
		EnrolledAt: g.EnrolledAt, LastSeenAt: g.LastSeenAt, Keys: []keyStatusView{}}
	var h wire.Health
	if len(g.Health) > 0 && json.Unmarshal(g.Health, &h) == nil {
		v.Version, v.GovernanceHash = h.Version, h.GovernanceHash
		if !h.StartedAt.IsZero() {
			st := h.StartedAt
			v.StartedAt = &st
		}
		for _, k := range h.Keys {
			v.Keys = append(v.Keys, keyStatusView{WalletID: k.WalletID, KeyVersion: k.KeyVersion, Index: k.Index, Status: k.Status, Nonces: k.Nonces})
		}
	}
	v.GovernanceInSync = v.GovernanceHash != "" && v.GovernanceHash == current
	return v
}

type ceremonyView struct {
	ID         string                        `json:"id"`
	WalletID   string                        `json:"wallet_id"`
	State      store.CeremonyState           `json:"state"`
	Round      string                        `json:"round"`
	Curve      string                        `json:"curve"`
	Threshold  int                           `json:"threshold"`
	Guardians  []string                      `json:"guardians"`
	Transcript string                        `json:"transcript,omitempty"`
	Blamed     []string                      `json:"blamed,omitempty"`
	Error      string                        `json:"error,omitempty"`
	Progress   *coordinator.CeremonyProgress `json:"progress,omitempty"`
	CreatedAt  time.Time                     `json:"created_at"`
	UpdatedAt  time.Time                     `json:"updated_at"`
}

func viewCeremony(c *store.Ceremony) *ceremonyView {
	v := &ceremonyView{ID: c.ID, WalletID: c.WalletID, State: c.State, Round: c.Round, Curve: c.Curve, Threshold: c.Threshold,
		Guardians: c.Guardians, Error: c.Error, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	if v.Guardians == nil {
		v.Guardians = []string{}
	}
	if len(c.Transcript) > 0 {
		v.Transcript = hex.EncodeToString(c.Transcript)
	}
	if c.Blamed != "" {
		v.Blamed = strings.Split(c.Blamed, ",")
	}
	if len(c.Progress) > 0 {
		var p coordinator.CeremonyProgress
		if json.Unmarshal(c.Progress, &p) == nil {
			v.Progress = &p
		}
	}
	return v
}

func (s *server) createGuardianInvitation(c echo.Context) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	inv, err := s.svc.InviteGuardian(c.Request().Context(), principal(c), in.Name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"id": inv.ID, "name": inv.Name, "code": inv.Code.Reveal(),
		"expires_at": inv.ExpiresAt})
}

// previewGuardianEnrollment shows what a claim code would enrol, claiming
// nothing. Like enrollGuardian it is unauthenticated and spends the client
// address's login attempts.
func (s *server) previewGuardianEnrollment(c echo.Context) error {
	var in wire.EnrollPreviewRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	if err := spend(s.loginLimiter(c.RealIP()), "too many enrolment attempts"); err != nil {
		return err
	}
	resp, err := s.svc.PreviewGuardianEnrollment(c.Request().Context(), in.Code)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, resp)
}

// enrollGuardian is unauthenticated (the claim code is the credential) and
// spends the client address's login attempts.
func (s *server) enrollGuardian(c echo.Context) error {
	var in wire.EnrollRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	if err := spend(s.loginLimiter(c.RealIP()), "too many enrolment attempts"); err != nil {
		return err
	}
	resp, err := s.svc.EnrollGuardian(c.Request().Context(), &in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, resp)
}

func (s *server) listGuardians(c echo.Context) error {
	ctx, p := c.Request().Context(), principal(c)
	gs, err := s.svc.ListGuardians(ctx, p)
	if err != nil {
		return err
	}
	current, err := s.svc.GovernanceHash(ctx, p)
	if err != nil {
		return err
	}
	out := views(gs, func(g *store.Guardian) guardianView { return viewGuardian(g, current) })
	return c.JSON(http.StatusOK, map[string]any{"governance_hash": current, "guardians": out})
}

func (s *server) getGuardian(c echo.Context) error {
	ctx, p := c.Request().Context(), principal(c)
	g, err := s.svc.GetGuardian(ctx, p, c.Param("id"))
	if err != nil {
		return err
	}
	return s.guardianJSON(c, g)
}

// guardianJSON answers with g, compared with the current governance state.
func (s *server) guardianJSON(c echo.Context, g *store.Guardian) error {
	current, err := s.svc.GovernanceHash(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewGuardian(g, current))
}

func (s *server) reinstateGuardian(c echo.Context) error {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	g, err := s.svc.ReinstateGuardian(c.Request().Context(), principal(c), c.Param("id"), in.Reason)
	if err != nil {
		return err
	}
	return s.guardianJSON(c, g)
}

func (s *server) getCeremony(c echo.Context) error {
	cer, err := s.svc.GetCeremony(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewCeremony(cer))
}
