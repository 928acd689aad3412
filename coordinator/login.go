package coordinator

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/internal/auth"
	"github.com/custos-dev/custos/store"
)

// Sign-in limits: MaxFailedSignIns failed attempts in a row (wrong password
// or wrong one-time code) lock the account for LockoutFor; a browser
// session ends after WebIdle without use, and at the latest WebSessionTTL
// after sign-in.
const (
	MaxFailedSignIns = 5
	LockoutFor       = 15 * time.Minute
	WebIdle          = 15 * time.Minute
	WebSessionTTL    = 8 * time.Hour
	// touchEvery bounds the writes that keep a browser session alive: its
	// last-seen time moves at most once a minute.
	touchEvery = time.Minute
)

// SignIn is a staff member's sign-in.
type SignIn struct {
	Name, Password string
	// Code is the one-time code from the user's authenticator app,
	// required once they have enrolled one.
	Code string
	// Web asks for a browser session (a cookie for the web UI) rather
	// than an API token. A browser session without a second factor can
	// only enrol one.
	Web bool
}

// Session is an opened session.
type Session struct {
	Token     string // the secret: shown once, never stored
	User      *store.User
	ExpiresAt time.Time
	// MFA reports whether the second factor was checked. A browser session
	// without it must enrol one before anything else.
	MFA bool
}

// SignIn checks a staff member's password and, once they have enrolled
// one, their one-time code, and opens a session. Unknown users and wrong
// passwords get the same answer and cost the same time. Failed attempts
// in a row lock the account (MaxFailedSignIns, LockoutFor); a locked
// account is refused before its password is checked.
func (s *Service) SignIn(ctx context.Context, in SignIn) (*Session, error) {
	user, err := read(ctx, s, "get user", nil, func(ctx context.Context, tx store.Tx) (*store.User, error) {
		u, err := tx.GetUserByName(ctx, in.Name)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		return u, err
	})
	if err != nil {
		return nil, err
	}
	now := s.now()
	if user != nil && user.LockedUntil != nil && now.Before(*user.LockedUntil) {
		s.recordAlone(ctx, event{category: audit.CategoryAuth, action: "auth.login", actor: "anonymous",
			target: "user:" + user.ID, result: audit.ResultDenied, meta: map[string]string{"reason": "locked"}})
		return nil, newErr(KindForbidden, "account_locked",
			"too many failed sign-ins: the account is locked until %s", user.LockedUntil.UTC().Format(time.RFC3339))
	}
	release, err := s.passwordSlot(ctx)
	if err != nil {
		return nil, err
	}
	ok := false
	if user == nil {
		auth.DummyVerify(in.Password)
	} else if ok, err = auth.VerifyPassword(user.PasswordHash, in.Password); err != nil {
		release()
		return nil, internal("verify password", err)
	}
	release()
	if !ok {
		if user == nil {
			s.recordAlone(ctx, event{category: audit.CategoryAuth, action: "auth.login", actor: "anonymous",
				target: "user-name:" + in.Name, result: audit.ResultFailure})
		} else if err := s.signInFailed(ctx, user, "wrong password"); err != nil {
			return nil, err
		}
		return nil, newErr(KindUnauthenticated, "bad_credentials", "unknown user or wrong password")
	}
	mfa := user.TOTPEnabledAt != nil
	var step int64
	if mfa {
		if in.Code == "" {
			return nil, newErr(KindUnauthenticated, "code_required", "a one-time code from your authenticator app is required")
		}
		secret, err := s.totpSecret(user)
		if err != nil {
			return nil, err
		}
		var bad error
		step, bad = auth.CheckTOTP(secret, in.Code, now)
		clear(secret)
		switch {
		case bad != nil:
			bad = newErr(KindUnauthenticated, "bad_code", "wrong or expired one-time code")
		case step <= user.TOTPLastStep:
			bad = errCodeReused(KindUnauthenticated)
		}
		if bad != nil {
			if err := s.signInFailed(ctx, user, "wrong one-time code"); err != nil {
				return nil, err
			}
			return nil, bad
		}
	}
	tok, hash, err := auth.NewSessionToken(s.rand)
	if err != nil {
		return nil, internal("session token", err)
	}
	ttl := s.ttl
	if in.Web {
		ttl = WebSessionTTL
	}
	out := &Session{Token: tok, User: user, ExpiresAt: now.Add(ttl), MFA: mfa}
	err = s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		if mfa {
			// Accepted once: a code seen by someone looking over the
			// shoulder is spent.
			if err := tx.UseTOTPStep(ctx, user.ID, step); err != nil {
				if errors.Is(err, store.ErrConflict) {
					return errCodeReused(KindUnauthenticated)
				}
				return err
			}
		}
		if user.FailedLogins != 0 || user.LockedUntil != nil {
			if err := tx.SetLoginFailures(ctx, user.ID, 0, nil); err != nil {
				return err
			}
		}
		if err := tx.CreateSession(ctx, &store.Session{TokenHash: hash, UserID: user.ID, CreatedAt: now, ExpiresAt: out.ExpiresAt,
			LastSeenAt: now, Web: in.Web, MFA: mfa}); err != nil {
			return err
		}
		return s.record(ctx, tx, event{category: audit.CategoryAuth, action: "auth.login", actor: "user:" + user.ID,
			target: "user:" + user.ID, result: audit.ResultSuccess,
			meta: map[string]string{"second_factor": strconv.FormatBool(mfa), "web": strconv.FormatBool(in.Web)}})
	})
	if err != nil {
		var de *Error
		if errors.As(err, &de) {
			return nil, de
		}
		return nil, internal("create session", err)
	}
	return out, nil
}

// Login opens an API session with a password alone: for users who have
// not enrolled a second factor (the demo's scripted clients, the tests).
// It is SignIn without a code.
func (s *Service) Login(ctx context.Context, name, password string) (token string, u *store.User, expires time.Time, err error) {
	sess, err := s.SignIn(ctx, SignIn{Name: name, Password: password})
	if err != nil {
		return "", nil, time.Time{}, err
	}
	return sess.Token, sess.User, sess.ExpiresAt, nil
}

// signInFailed counts a failed attempt for user and locks the account at
// the limit, recording both.
func (s *Service) signInFailed(ctx context.Context, user *store.User, reason string) error {
	now := s.now()
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		cur, err := tx.GetUser(ctx, user.ID)
		if err != nil {
			return err
		}
		failed := cur.FailedLogins + 1
		var until *time.Time
		meta := map[string]string{"reason": reason, "failed_in_a_row": strconv.Itoa(failed)}
		if failed >= MaxFailedSignIns {
			t := now.Add(LockoutFor)
			until, failed = &t, 0
			meta["locked_until"] = t.UTC().Format(time.RFC3339)
		}
		if err := tx.SetLoginFailures(ctx, user.ID, failed, until); err != nil {
			return err
		}
		evs := []event{{category: audit.CategoryAuth, action: "auth.login", actor: "anonymous",
			target: "user:" + user.ID, result: audit.ResultFailure, meta: meta}}
		if until != nil {
			evs = append(evs, event{category: audit.CategoryAuth, action: "auth.lockout", actor: "system",
				target: "user:" + user.ID, result: audit.ResultSuccess, meta: map[string]string{"until": meta["locked_until"]}})
		}
		return s.recordAll(ctx, tx, evs)
	})
	if err != nil {
		return wrapErr(KindUnavailable, "store_unavailable", "store unavailable", err)
	}
	return nil
}

// passwordSlot waits briefly for one of the few password checks allowed at
// once: each argon2id check takes 64 MiB, so unbounded concurrent logins
// would exhaust memory.
func (s *Service) passwordSlot(ctx context.Context) (func(), error) {
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	select {
	case s.pwSlots <- struct{}{}:
		return func() { <-s.pwSlots }, nil
	case <-t.C:
		return nil, &Error{Kind: KindTooMany, Code: "busy", Message: "too many logins in progress; try again shortly"}
	case <-ctx.Done():
		return nil, wrapErr(KindUnavailable, "cancelled", "the request was cancelled", ctx.Err())
	}
}

// checkPassword verifies a user's current password.
func (s *Service) checkPassword(ctx context.Context, userID, password string) error {
	u, err := read(ctx, s, "get user", nil, func(ctx context.Context, tx store.Tx) (*store.User, error) {
		return tx.GetUser(ctx, userID)
	})
	if err != nil {
		return err
	}
	release, err := s.passwordSlot(ctx)
	if err != nil {
		return err
	}
	defer release()
	ok, err := auth.VerifyPassword(u.PasswordHash, password)
	if err != nil {
		return internal("verify password", err)
	}
	if !ok {
		return newErr(KindUnauthenticated, "bad_credentials", "the current password is wrong")
	}
	return nil
}

// Logout ends the session of token.
func (s *Service) Logout(ctx context.Context, token string) error {
	hash, err := auth.HashSessionToken(token)
	if err != nil {
		return ErrUnauthenticated
	}
	return s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		sess, err := tx.GetSession(ctx, hash)
		if err != nil {
			return err
		}
		if err := tx.DeleteSession(ctx, hash); err != nil {
			return err
		}
		return s.record(ctx, tx, event{category: audit.CategoryAuth, action: "auth.logout", actor: "user:" + sess.UserID,
			target: "user:" + sess.UserID, result: audit.ResultSuccess})
	})
}

// Authenticate resolves a bearer credential: an API key (cst_...) or a
// session token (css_...). Unknown, expired and revoked credentials get the
// same error.
func (s *Service) Authenticate(ctx context.Context, bearer string) (*Principal, error) {
	switch {
	case strings.HasPrefix(bearer, auth.APIKeyTag):
		return s.authAPIKey(ctx, bearer)
	case strings.HasPrefix(bearer, auth.SessionTokenTag):
		return s.authSession(ctx, bearer, false)
	}
	return nil, ErrUnauthenticated
}

// AuthenticateWeb resolves a browser session's cookie value. Only browser
// sessions pass, and only before their absolute end and within WebIdle of
// their last use; a use moves the last-use time (at most once a minute).
// A session whose user has not enrolled a second factor comes back with
// MFA false: the web UI lets it do nothing but enrol one.
func (s *Service) AuthenticateWeb(ctx context.Context, cookie string) (*Principal, error) {
	if !strings.HasPrefix(cookie, auth.SessionTokenTag) {
		return nil, ErrUnauthenticated
	}
	return s.authSession(ctx, cookie, true)
}

func (s *Service) authSession(ctx context.Context, token string, web bool) (*Principal, error) {
	hash, err := auth.HashSessionToken(token)
	if err != nil {
		return nil, ErrUnauthenticated
	}
	var p *Principal
	var touch bool
	now := s.now()
	err = s.store.ReadTx(ctx, func(ctx context.Context, tx store.Tx) error {
		sess, err := tx.GetSession(ctx, hash)
		if err != nil {
			return err
		}
		// A browser session's cookie is not an API token, nor the other
		// way round.
		if sess.Web != web || !now.Before(sess.ExpiresAt) || (web && now.Sub(sess.LastSeenAt) >= WebIdle) {
			return store.ErrNotFound
		}
		u, err := tx.GetUser(ctx, sess.UserID)
		if err != nil {
			return err
		}
		p = &Principal{Kind: "user", ID: u.ID, UserID: u.ID, Name: u.Name, Role: u.Role,
			Web: web, MFA: sess.MFA, session: hash}
		touch = web && now.Sub(sess.LastSeenAt) >= touchEvery
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, wrapErr(KindUnavailable, "store_unavailable", "store unavailable", err)
	}
	if touch {
		err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error { return tx.TouchSession(ctx, hash, now) })
		if err != nil {
			// Fail closed: a session whose use cannot be recorded would
			// outlive its idle limit.
			if errors.Is(err, store.ErrNotFound) {
				return nil, ErrUnauthenticated
			}
			return nil, wrapErr(KindUnavailable, "store_unavailable", "store unavailable", err)
		}
	}
	return p, nil
}

func (s *Service) authAPIKey(ctx context.Context, key string) (*Principal, error) {
	prefix, secretHash, err := auth.ParseAPIKey(key)
	if err != nil {
		return nil, ErrUnauthenticated
	}
	var p *Principal
	now := s.now()
	err = s.store.ReadTx(ctx, func(ctx context.Context, tx store.Tx) error {
		k, err := tx.GetAPIKeyByPrefix(ctx, prefix)
		if err != nil {
			return err
		}
		// Compare before looking at expiry or revocation so every failure
		// takes the same path.
		valid := auth.VerifyAPIKeySecret(k.SecretHash, secretHash)
		if !valid || k.RevokedAt != nil || (k.ExpiresAt != nil && !now.Before(*k.ExpiresAt)) {
			return store.ErrNotFound
		}
		owner, err := tx.GetUser(ctx, k.OwnerUserID)
		if err != nil {
			return err
		}
		p = &Principal{Kind: "apikey", ID: k.ID, UserID: owner.ID, Name: k.Name, Role: owner.Role, Scopes: k.Scopes}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, wrapErr(KindUnavailable, "store_unavailable", "store unavailable", err)
	}
	return p, nil
}

// TouchAPIKey records that the key was used. The HTTP layer calls it after
// a successful authentication; failures are logged, not fatal.
func (s *Service) TouchAPIKey(ctx context.Context, id string) {
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error { return tx.TouchAPIKey(ctx, id, s.now()) })
	if err != nil {
		s.log.WarnContext(ctx, "api key last-used update failed", "api_key_id", id, "err", err)
	}
}
