package coordinator_test

import (
	"context"
	"encoding/base32"
	"strings"
	"testing"
	"time"

	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/internal/auth"
)

const seedPassword = "correct horse battery staple"

// webSignIn opens a browser session for name and resolves it.
func (f *fixture) webSignIn(name, code string) (*coordinator.Session, *coordinator.Principal) {
	f.t.Helper()
	ctx := context.Background()
	sess, err := f.svc.SignIn(ctx, coordinator.SignIn{Name: name, Password: seedPassword, Code: code, Web: true})
	if err != nil {
		f.t.Fatalf("sign-in as %s: %v", name, err)
	}
	p, err := f.svc.AuthenticateWeb(ctx, sess.Token)
	if err != nil {
		f.t.Fatalf("web session of %s: %v", name, err)
	}
	return sess, p
}

// enrol runs a whole authenticator-app enrolment for name in a fresh
// browser session and returns the secret, as the app would hold it.
func (f *fixture) enrol(name string) []byte {
	f.t.Helper()
	ctx := context.Background()
	sess, p := f.webSignIn(name, "")
	if sess.MFA || p.MFA {
		f.t.Fatalf("%s signed in with a second factor before enrolling one", name)
	}
	e, err := f.svc.BeginTOTP(ctx, p)
	if err != nil {
		f.t.Fatal(err)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
	if err != nil || len(e.QR) == 0 || !strings.HasPrefix(e.URL, "otpauth://totp/Custos:"+name) {
		f.t.Fatalf("enrolment: %v, QR %d bytes, URL %q", err, len(e.QR), e.URL)
	}
	code, _ := auth.TOTPCode(secret, f.clock.Now())
	if err := f.svc.ConfirmTOTP(ctx, p, code); err != nil {
		f.t.Fatal(err)
	}
	// The session that confirmed it now counts as signed in with it.
	if p, err = f.svc.AuthenticateWeb(ctx, sess.Token); err != nil || !p.MFA {
		f.t.Fatalf("session after enrolment: %+v, %v", p, err)
	}
	f.clock.Advance(auth.TOTPPeriod) // the next code is a new one
	return secret
}

func TestSignInWithSecondFactor(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	secret := f.enrol("alice")

	if _, err := f.svc.SignIn(ctx, coordinator.SignIn{Name: "alice", Password: seedPassword, Web: true}); code(err) != "code_required" {
		t.Fatalf("enrolled user without a code: %v", err)
	}
	if _, err := f.svc.SignIn(ctx, coordinator.SignIn{Name: "alice", Password: seedPassword}); code(err) != "code_required" {
		t.Fatalf("enrolled user on the API without a code: %v", err)
	}
	good, _ := auth.TOTPCode(secret, f.clock.Now())
	sess, p := f.webSignIn("alice", good)
	if !sess.MFA || !p.MFA || !p.Web {
		t.Fatalf("sign-in with a code: session %+v, principal %+v", sess, p)
	}
	// The same code again (someone who saw it) is refused.
	if _, err := f.svc.SignIn(ctx, coordinator.SignIn{Name: "alice", Password: seedPassword, Code: good, Web: true}); code(err) != "bad_code" {
		t.Fatalf("replayed code: %v", err)
	}
	// Enrolling again needs an administrator's reset.
	if _, err := f.svc.BeginTOTP(ctx, p); code(err) != "second_factor_enrolled" {
		t.Fatalf("second enrolment: %v", err)
	}
	if err := f.svc.ResetTOTP(ctx, f.users["alice"], f.users["alice"].UserID); code(err) != "forbidden" {
		t.Fatalf("reset by a non-administrator: %v", err)
	}
	if err := f.svc.ResetTOTP(ctx, f.users["ada"], f.users["alice"].UserID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AuthenticateWeb(ctx, sess.Token); code(err) != "unauthenticated" {
		t.Fatalf("session kept after its user's second factor was reset: %v", err)
	}
	if s2, _ := f.webSignIn("alice", ""); s2.MFA {
		t.Fatal("after a reset the user signs in without a second factor, to enrol a new one")
	}
}

func TestSignInLockout(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	secret := f.enrol("bob")
	good := func() string { c, _ := auth.TOTPCode(secret, f.clock.Now()); return c }
	// Wrong passwords and wrong codes count alike.
	for i := 0; i < coordinator.MaxFailedSignIns; i++ {
		in := coordinator.SignIn{Name: "bob", Password: "wrong password " + string(rune('a'+i)), Web: true}
		want := "bad_credentials"
		if i%2 == 1 {
			in.Password, in.Code, want = seedPassword, "000000", "bad_code"
			if in.Code == good() {
				in.Code = "000001"
			}
		}
		if _, err := f.svc.SignIn(ctx, in); code(err) != want {
			t.Fatalf("attempt %d: %v, want %s", i+1, err, want)
		}
	}
	// Locked: even the right password and code are refused, and said so.
	if _, err := f.svc.SignIn(ctx, coordinator.SignIn{Name: "bob", Password: seedPassword, Code: good(), Web: true}); code(err) != "account_locked" {
		t.Fatalf("locked account: %v", err)
	}
	// Unknown users are never locked out, and look like wrong passwords.
	for range coordinator.MaxFailedSignIns + 1 {
		if _, err := f.svc.SignIn(ctx, coordinator.SignIn{Name: "nobody", Password: "x"}); code(err) != "bad_credentials" {
			t.Fatalf("unknown user: %v", err)
		}
	}
	f.clock.Advance(coordinator.LockoutFor + time.Second)
	if _, p := f.webSignIn("bob", good()); !p.MFA {
		t.Fatal("sign-in after the lock ended")
	}
	actions := map[string]int{}
	for _, e := range f.auditEvents() {
		if strings.HasPrefix(e.Action, "auth.") {
			actions[e.Action+"/"+e.Result]++
		}
	}
	if actions["auth.lockout/success"] != 1 || actions["auth.login/failure"] < coordinator.MaxFailedSignIns+1 ||
		actions["auth.login/denied"] != 1 || actions["auth.mfa.enroll/success"] != 1 {
		t.Fatalf("audit of the sign-ins: %v", actions)
	}
}

func TestWebSessions(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	secret := f.enrol("carol")
	c, _ := auth.TOTPCode(secret, f.clock.Now())
	sess, _ := f.webSignIn("carol", c)
	// A browser session's cookie is not an API bearer token, and an API
	// token is not a cookie.
	if _, err := f.svc.Authenticate(ctx, sess.Token); code(err) != "unauthenticated" {
		t.Fatalf("web session used as an API token: %v", err)
	}
	api, _, _, err := f.svc.Login(ctx, "dave", seedPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AuthenticateWeb(ctx, api); code(err) != "unauthenticated" {
		t.Fatalf("API token used as a cookie: %v", err)
	}
	// Use keeps it alive; idleness ends it.
	for range 3 {
		f.clock.Advance(coordinator.WebIdle - time.Minute)
		if _, err := f.svc.AuthenticateWeb(ctx, sess.Token); err != nil {
			t.Fatalf("session in use ended: %v", err)
		}
	}
	f.clock.Advance(coordinator.WebIdle)
	if _, err := f.svc.AuthenticateWeb(ctx, sess.Token); code(err) != "unauthenticated" {
		t.Fatalf("idle session still works: %v", err)
	}
	// However busy, it ends at its absolute limit.
	c, _ = auth.TOTPCode(secret, f.clock.Now())
	sess, _ = f.webSignIn("carol", c)
	for elapsed := time.Duration(0); elapsed < coordinator.WebSessionTTL-10*time.Minute; elapsed += 10 * time.Minute {
		f.clock.Advance(10 * time.Minute)
		if _, err := f.svc.AuthenticateWeb(ctx, sess.Token); err != nil {
			t.Fatalf("session ended early, after %s: %v", elapsed, err)
		}
	}
	f.clock.Advance(10 * time.Minute)
	if _, err := f.svc.AuthenticateWeb(ctx, sess.Token); code(err) != "unauthenticated" {
		t.Fatalf("session outlived its absolute limit: %v", err)
	}
}

// auditEvents is the whole audit log as an auditor reads it.
func (f *fixture) auditEvents() []*audit.Event {
	f.t.Helper()
	auditor := &coordinator.Principal{Kind: "user", Role: "auditor"}
	var all []*audit.Event
	for after := int64(0); ; {
		evs, err := f.svc.ListAudit(context.Background(), auditor, after, 1000)
		if err != nil {
			f.t.Fatal(err)
		}
		if len(evs) == 0 {
			return all
		}
		all = append(all, evs...)
		after = evs[len(evs)-1].Seq
	}
}
