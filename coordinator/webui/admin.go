package webui

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/coordinator/httpapi"
	"github.com/custos-dev/custos/internal/auth"
	"github.com/custos-dev/custos/store"
	"github.com/labstack/echo/v4"
)

// roles are the roles an administrator may request for a user, in the
// order the form lists them.
var roles = []string{store.RoleViewer, store.RoleApprover, store.RoleTreasuryManager, store.RoleAuditor, store.RoleAdmin}

// adminOnly admits administrators to the administration pages. The
// coordinator checks every action again; this only keeps others from
// pages whose every form they would see refused.
func (u *UI) adminOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !principal(c).Can(coordinator.PermAdmin) {
			return u.status(c, http.StatusForbidden, "These pages are for administrators.")
		}
		return next(c)
	}
}

// refusal returns the status and message of a coordinator refusal about
// a form's input or the state it would change, to show on the form's own
// page; ok is false for any other error (the error page shows it).
func refusal(err error) (status int, msg string, ok bool) {
	var de *coordinator.Error
	if !errors.As(err, &de) {
		return 0, "", false
	}
	switch de.Kind {
	case coordinator.KindInvalid, coordinator.KindConflict, coordinator.KindUnprocessable, coordinator.KindNotFound:
		return httpapi.Status(de.Kind), de.Message, true
	}
	return 0, "", false
}

// withNotice is path with a notice (a fixed code, never free text) about
// the thing with id, for the page to show after a redirect.
func withNotice(path, notice, id string) string {
	return path + "?" + url.Values{"notice": {notice}, "id": {id}}.Encode()
}

// ---- users ----

type userRow struct {
	ID, Name, Role string
	MFA            bool // an authenticator app is enrolled
	ApprovalKey    bool
	CreatedAt      time.Time
	Self           bool     // the signed-in administrator
	OtherRoles     []string // the roles a change may request
}

type usersData struct {
	Users       []userRow
	NewName     string // kept when creating a user failed
	MinPassword int
	Error       string
	Notice      string
	Confirm     *userRow // the user whose authenticator app is to be reset
}

func (u *UI) userRows(c echo.Context) ([]userRow, error) {
	p := principal(c)
	users, err := u.svc.ListUsers(c.Request().Context(), p)
	if err != nil {
		return nil, err
	}
	rows := make([]userRow, 0, len(users))
	for _, usr := range users {
		rows = append(rows, userRow{ID: usr.ID, Name: usr.Name, Role: usr.Role, MFA: usr.TOTPEnabledAt != nil,
			ApprovalKey: usr.ApprovalKey != nil, CreatedAt: usr.CreatedAt, Self: usr.ID == p.UserID,
			OtherRoles: slices.DeleteFunc(slices.Clone(roles), func(r string) bool { return r == usr.Role })})
	}
	slices.SortFunc(rows, func(a, b userRow) int { return strings.Compare(a.Name, b.Name) })
	return rows, nil
}

// users lists the staff, with the forms to add one, to request a role
// change and to reset an authenticator app (?reset=ID asks to confirm).
func (u *UI) users(c echo.Context) error {
	rows, err := u.userRows(c)
	if err != nil {
		return err
	}
	d := usersData{Users: rows, MinPassword: auth.MinPasswordLength}
	byID := func(id string) int { return slices.IndexFunc(rows, func(r userRow) bool { return r.ID == id }) }
	if id := c.QueryParam("reset"); id != "" {
		i := byID(id)
		if i < 0 {
			return u.status(c, http.StatusNotFound, "There is no such user.")
		}
		d.Confirm = &rows[i]
	}
	if i := byID(c.QueryParam("id")); i >= 0 {
		switch c.QueryParam("notice") {
		case "created":
			d.Notice = rows[i].Name + " was added with the viewer role. They enrol an authenticator app at their first sign-in."
		case "mfa-reset":
			d.Notice = rows[i].Name + "'s authenticator app was reset and their sessions ended. They enrol a new one at their next sign-in."
		}
	}
	return u.render(c, http.StatusOK, "users", "Users", d)
}

// createUser adds a user with the viewer role.
func (u *UI) createUser(c echo.Context) error {
	name := strings.TrimSpace(c.FormValue("name"))
	usr, err := u.svc.CreateUser(c.Request().Context(), principal(c), name, c.FormValue("password"))
	if err != nil {
		return u.usersRefused(c, err, name)
	}
	return c.Redirect(http.StatusSeeOther, withNotice("/admin/users", "created", usr.ID))
}

// assignRole files a user.role.assign request and shows it.
func (u *UI) assignRole(c echo.Context) error {
	v, err := u.svc.AssignRole(c.Request().Context(), principal(c), c.Param("id"), c.FormValue("role"))
	if err != nil {
		return u.usersRefused(c, err, "")
	}
	return c.Redirect(http.StatusSeeOther, "/requests/"+url.PathEscape(v.Request.ID))
}

// usersRefused shows the users page with the coordinator's refusal of a
// form, and the name typed for a new user; other errors go to the error
// page.
func (u *UI) usersRefused(c echo.Context, err error, newName string) error {
	status, msg, ok := refusal(err)
	if !ok {
		return err
	}
	rows, err := u.userRows(c)
	if err != nil {
		return err
	}
	return u.render(c, status, "users", "Users", usersData{Users: rows, NewName: newName, MinPassword: auth.MinPasswordLength, Error: msg})
}

// resetMFA removes a user's authenticator app (confirmed on the users
// page first).
func (u *UI) resetMFA(c echo.Context) error {
	id := c.Param("id")
	if err := u.svc.ResetTOTP(c.Request().Context(), principal(c), id); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, withNotice("/admin/users", "mfa-reset", id))
}

// ---- API keys ----

type apiKeyRow struct {
	ID, Name, Prefix string
	Scopes           []string
	Owner            string
	CreatedAt        time.Time
	ExpiresAt        *time.Time
	LastUsedAt       *time.Time
	RevokedAt        *time.Time
	Expired          bool
}

type apiKeyForm struct {
	Name    string
	Scopes  map[string]bool
	Expires string // YYYY-MM-DD, UTC
}

type apiKeysData struct {
	Keys      []apiKeyRow
	AllScopes []string
	Form      apiKeyForm
	Error     string
	Notice    string
	Confirm   *apiKeyRow // the key to be revoked
}

func (u *UI) apiKeyRows(c echo.Context) ([]apiKeyRow, error) {
	ctx, p := c.Request().Context(), principal(c)
	keys, err := u.svc.ListAPIKeys(ctx, p)
	if err != nil {
		return nil, err
	}
	names, err := u.userNames(c)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	rows := make([]apiKeyRow, 0, len(keys))
	for _, k := range keys {
		rows = append(rows, apiKeyRow{ID: k.ID, Name: k.Name, Prefix: auth.APIKeyTag + k.Prefix, Scopes: k.Scopes,
			Owner: names[k.OwnerUserID], CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt,
			RevokedAt: k.RevokedAt, Expired: k.ExpiresAt != nil && !k.ExpiresAt.After(now)})
	}
	return rows, nil
}

// apiKeys lists the API keys (never their secrets), with the form to
// create one and, per key, revocation (?revoke=ID asks to confirm).
func (u *UI) apiKeys(c echo.Context) error {
	rows, err := u.apiKeyRows(c)
	if err != nil {
		return err
	}
	d := apiKeysData{Keys: rows, AllScopes: auth.AllScopes()}
	byID := func(id string) int { return slices.IndexFunc(rows, func(r apiKeyRow) bool { return r.ID == id }) }
	if id := c.QueryParam("revoke"); id != "" {
		i := byID(id)
		if i < 0 {
			return u.status(c, http.StatusNotFound, "There is no such API key.")
		}
		d.Confirm = &rows[i]
	}
	if i := byID(c.QueryParam("id")); i >= 0 && c.QueryParam("notice") == "revoked" {
		d.Notice = "The API key " + rows[i].Name + " was revoked: it no longer works."
	}
	return u.render(c, http.StatusOK, "apikeys", "API keys", d)
}

type apiKeyCreated struct {
	Name, Secret string
	Request      *coordinator.RequestView
	Active       bool // the request ran: the key works now
}

// createAPIKey files an apikey.create request and shows the key, this
// once: only a hash of it is kept. It works once the request is approved.
func (u *UI) createAPIKey(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return u.status(c, http.StatusBadRequest, "The form could not be read.")
	}
	f := apiKeyForm{Name: strings.TrimSpace(form.Get("name")), Scopes: map[string]bool{}, Expires: strings.TrimSpace(form.Get("expires"))}
	in := coordinator.APIKeyInput{Name: f.Name, Scopes: form["scope"]}
	for _, s := range in.Scopes {
		f.Scopes[s] = true
	}
	if f.Expires != "" {
		t, err := time.Parse(time.DateOnly, f.Expires)
		if err != nil {
			return u.apiKeysRefused(c, http.StatusBadRequest, f, "The expiry must be a date such as 2027-01-31.")
		}
		in.ExpiresAt = &t
	}
	key, v, err := u.svc.CreateAPIKey(c.Request().Context(), principal(c), in)
	if err != nil {
		status, msg, ok := refusal(err)
		if !ok {
			return err
		}
		return u.apiKeysRefused(c, status, f, msg)
	}
	defer key.Zero()
	// Never stored by a browser or a proxy: the page is the key's only copy.
	return u.render(c, http.StatusOK, "apikey-created", "API key created", apiKeyCreated{Name: f.Name, Secret: key.Reveal(),
		Request: v, Active: v.Request.Status == store.RequestExecuted})
}

// apiKeysRefused shows the API keys page with a refused creation form,
// as it was filled in.
func (u *UI) apiKeysRefused(c echo.Context, status int, f apiKeyForm, msg string) error {
	rows, err := u.apiKeyRows(c)
	if err != nil {
		return err
	}
	return u.render(c, status, "apikeys", "API keys", apiKeysData{Keys: rows, AllScopes: auth.AllScopes(), Form: f, Error: msg})
}

// revokeAPIKey revokes a key at once (confirmed on the list first).
func (u *UI) revokeAPIKey(c echo.Context) error {
	id := c.Param("id")
	if err := u.svc.RevokeAPIKey(c.Request().Context(), principal(c), id); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, withNotice("/admin/apikeys", "revoked", id))
}

// userNames maps user ids to names.
func (u *UI) userNames(c echo.Context) (map[string]string, error) {
	users, err := u.svc.ListUsers(c.Request().Context(), principal(c))
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(users))
	for _, usr := range users {
		names[usr.ID] = usr.Name
	}
	return names, nil
}
