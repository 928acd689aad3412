package webui

import (
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"

	"github.com/custos-dev/custos/store"
	"github.com/labstack/echo/v4"
)

// accountData is the signed-in person's own page: their approval
// credentials.
type accountData struct {
	ApprovalKey string // hex, "" if none
	Passkeys    []*store.Passkey
	CanRegister bool   // their role may hold passkeys
	Disabled    string // why passkeys cannot be registered here, if so
}

// account shows the signed-in person's approval key and passkeys, with
// the passkey registration.
func (u *UI) account(c echo.Context) error {
	ctx, p := c.Request().Context(), principal(c)
	keys, err := u.svc.ListPasskeys(ctx, p, p.UserID)
	if err != nil {
		return err
	}
	d := accountData{Passkeys: keys, CanRegister: p.Role != store.RoleAdmin && p.Role != store.RoleAuditor}
	users, err := u.svc.ListUsers(ctx, p)
	if err == nil {
		for _, x := range users {
			if x.ID == p.UserID && x.ApprovalKey != nil {
				d.ApprovalKey = hex.EncodeToString(x.ApprovalKey)
			}
		}
	}
	if u.svc.PasskeyOrigin() == "" {
		d.Disabled = "Passkeys are not configured on this coordinator: its administrator sets the web origin (--web-origin)."
	}
	return u.render(c, http.StatusOK, "account", "My account", d)
}

// maxRegistrationBody bounds the browser's registration answer.
const maxRegistrationBody = 64 << 10

// passkeyOptions starts a passkey registration: the options for
// navigator.credentials.create, as JSON.
func (u *UI) passkeyOptions(c echo.Context) error {
	options, err := u.svc.BeginPasskeyRegistration(c.Request().Context(), principal(c))
	if err != nil {
		return u.jsonError(c, err)
	}
	return c.JSONBlob(http.StatusOK, options)
}

// passkeyRegister finishes a registration with the browser's answer
// ({"label": ..., "credential": PublicKeyCredential}) and answers with the
// user.credential.add request it filed.
func (u *UI) passkeyRegister(c echo.Context) error {
	var in struct {
		Label      string          `json:"label"`
		Credential json.RawMessage `json:"credential"`
	}
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxRegistrationBody+1))
	if err != nil || len(body) > maxRegistrationBody || json.Unmarshal(body, &in) != nil {
		return c.JSON(http.StatusBadRequest, map[string]string{"error": "The browser's answer is not a passkey registration."})
	}
	v, err := u.svc.FinishPasskeyRegistration(c.Request().Context(), principal(c), in.Label, in.Credential)
	if err != nil {
		return u.jsonError(c, err)
	}
	return c.JSON(http.StatusCreated, map[string]string{"request_id": v.Request.ID, "location": "/requests/" + v.Request.ID})
}

// jsonError answers a script's call with err's public message.
func (u *UI) jsonError(c echo.Context, err error) error {
	status, msg := u.public(c, err)
	return c.JSON(status, map[string]string{"error": msg})
}
