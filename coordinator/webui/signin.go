package webui

import (
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"strings"

	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/coordinator/httpapi"
	"github.com/labstack/echo/v4"
)

type signInData struct {
	Name, Next string
	NeedCode   bool
}

type signInPage struct {
	Form  signInData
	Error string
}

func (u *UI) signInPage(c echo.Context) error {
	if tok := sessionCookie(c); tok != "" {
		if p, err := u.svc.AuthenticateWeb(c.Request().Context(), tok); err == nil && p.MFA {
			return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
		}
	}
	return u.render(c, http.StatusOK, "signin", "Sign in", signInPage{Form: signInData{Next: safeNext(c.QueryParam("next"))}})
}

// signIn checks the password and, for a user who has enrolled one, the
// one-time code, then sets the session cookie. A user without a second
// factor is sent to enrol one; the session can do nothing else.
func (u *UI) signIn(c echo.Context) error {
	name, password, code := strings.TrimSpace(c.FormValue("name")), c.FormValue("password"), strings.TrimSpace(c.FormValue("code"))
	data := signInData{Name: name, Next: safeNext(c.FormValue("next")), NeedCode: code != ""}
	if !u.edge.AllowSignIn(c.RealIP()) {
		return u.renderSignIn(c, http.StatusTooManyRequests, data, "Too many sign-in attempts from this address. Wait a minute and try again.")
	}
	if name == "" || password == "" {
		return u.renderSignIn(c, http.StatusUnprocessableEntity, data, "Enter your user name and password.")
	}
	sess, err := u.svc.SignIn(c.Request().Context(), coordinator.SignIn{Name: name, Password: password, Code: code, Web: true})
	if err != nil {
		var de *coordinator.Error
		if !errors.As(err, &de) || de.Kind == coordinator.KindInternal || de.Kind == coordinator.KindUnavailable {
			return err
		}
		if de.Code == "code_required" {
			data.NeedCode = true
			return u.renderSignIn(c, http.StatusUnauthorized, data, "Enter the six-digit code from your authenticator app.")
		}
		return u.renderSignIn(c, httpapi.Status(de.Kind), data, de.Message)
	}
	setCookie(c, sess.Token, sess.ExpiresAt)
	if !sess.MFA {
		return c.Redirect(http.StatusSeeOther, "/enrol")
	}
	return c.Redirect(http.StatusSeeOther, data.Next)
}

func (u *UI) renderSignIn(c echo.Context, status int, data signInData, msg string) error {
	return u.render(c, status, "signin", "Sign in", signInPage{Form: data, Error: msg})
}

type enrolData struct {
	QR     template.URL // data: URL of the PNG made here
	Secret string
	Error  string
}

// enrolPage starts the enrolment of an authenticator app: a new secret
// each time the page is shown (the last one shown is the one confirmed).
func (u *UI) enrolPage(c echo.Context) error {
	p := principal(c)
	if p.MFA {
		return c.Redirect(http.StatusSeeOther, "/queue")
	}
	return u.showEnrolment(c, http.StatusOK, "")
}

func (u *UI) showEnrolment(c echo.Context, status int, msg string) error {
	e, err := u.svc.BeginTOTP(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	return u.render(c, status, "enrol", "Enrol your authenticator app", enrolData{
		QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(e.QR)), Secret: e.Secret, Error: msg})
}

// enrol confirms the enrolment with a code from the app.
func (u *UI) enrol(c echo.Context) error {
	err := u.svc.ConfirmTOTP(c.Request().Context(), principal(c), strings.TrimSpace(c.FormValue("code")))
	var de *coordinator.Error
	if errors.As(err, &de) && de.Code == "bad_code" {
		// A new secret: the app must be set up again from the new code.
		return u.showEnrolment(c, http.StatusUnprocessableEntity, de.Message+". Scan the new code below and try again.")
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/queue")
}

func (u *UI) signOut(c echo.Context) error {
	if err := u.svc.Logout(c.Request().Context(), token(c)); err != nil {
		var de *coordinator.Error
		if !errors.As(err, &de) || de.Kind != coordinator.KindUnauthenticated {
			return err
		}
	}
	clearCookie(c)
	return c.Redirect(http.StatusSeeOther, "/signin")
}
