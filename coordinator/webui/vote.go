package webui

import (
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/coordinator"
	"github.com/labstack/echo/v4"
)

// Approving in the browser: the request page carries, for each decision,
// the WebAuthn challenge the approval engine expects (the SHA-256 of the
// canonical approval message: request, revision, intent fingerprint,
// policy hash, decision) and the ids of the person's approved passkeys.
// The page's script asks the browser for an assertion over the chosen
// decision's challenge and posts it; the coordinator checks it against
// the signed-in person's own passkeys, and every guardian checks it again
// from its roster before taking part in a signature.

var b64url = base64.RawURLEncoding

// decideData is the request page's decision panel.
type decideData struct {
	// Refusal says why the signed-in person may not vote ("" if they may).
	Refusal string
	// Passkey voting: the challenges and the allowed credentials.
	ApproveChallenge, RejectChallenge string
	RPID                              string
	Credentials                       string // space-separated credential ids, base64url
	// NoPasskey: the person may vote but has no approved passkey here
	// (they can register one, or vote with the CLI).
	NoPasskey bool
	RequestID string
	// Others are who else may still vote.
	Others []approvals.Approver
}

// decide builds the decision panel of request v for the signed-in person.
func (u *UI) decide(c echo.Context, v *coordinator.RequestView) *decideData {
	p := principal(c)
	d := &decideData{RequestID: v.Request.ID}
	for _, a := range v.Eligible() {
		if a.ID != p.UserID {
			d.Others = append(d.Others, a)
		}
	}
	if err := v.MayVote(p.UserID); err != nil {
		var de *coordinator.Error
		if errors.As(err, &de) {
			d.Refusal = de.Message
		}
		return d
	}
	me := v.Roster[p.UserID]
	origin := u.svc.PasskeyOrigin()
	ids := make([]string, 0, len(me.Passkeys))
	for _, k := range me.Passkeys {
		if slices.Contains(k.Origins, origin) {
			ids = append(ids, b64url.EncodeToString(k.ID))
			d.RPID = k.RPID
		}
	}
	if len(ids) == 0 {
		d.NoPasskey = true
		return d
	}
	d.Credentials = strings.Join(ids, " ")
	d.ApproveChallenge = b64url.EncodeToString(approvals.Challenge(v.Binding(), approvals.Approve))
	d.RejectChallenge = b64url.EncodeToString(approvals.Challenge(v.Binding(), approvals.Reject))
	return d
}

// vote records the signed-in person's passkey vote on a request and
// shows the request again.
func (u *UI) vote(c echo.Context) error {
	field := func(name string) ([]byte, error) {
		b, err := b64url.DecodeString(c.FormValue(name))
		if err != nil || len(b) == 0 {
			return nil, &coordinator.Error{Kind: coordinator.KindInvalid, Code: "invalid_assertion", Message: "The passkey's answer did not reach Custos intact. Try again."}
		}
		return b, nil
	}
	var a approvals.Assertion
	var err error
	if a.CredentialID, err = field("credential_id"); err != nil {
		return err
	}
	if a.AuthenticatorData, err = field("authenticator_data"); err != nil {
		return err
	}
	if a.ClientDataJSON, err = field("client_data_json"); err != nil {
		return err
	}
	if a.Signature, err = field("signature"); err != nil {
		return err
	}
	id := c.Param("id")
	ballot := coordinator.Ballot{Decision: c.FormValue("decision"), Assertion: &a, Reason: strings.TrimSpace(c.FormValue("reason"))}
	if _, err := u.svc.Cast(c.Request().Context(), principal(c), id, ballot); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/requests/"+id+"?voted="+ballot.Decision)
}
