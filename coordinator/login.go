package coordinator

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/internal/auth"
	"github.com/custos-dev/custos/store"
)

// Login checks a staff member's password and opens a session. Unknown users
// and wrong passwords get the same answer and cost the same time.
func (s *Service) Login(ctx context.Context, name, password string) (token string, u *store.User, expires time.Time, err error) {
	var user *store.User
	err = s.store.ReadTx(ctx, func(ctx context.Context, tx store.Tx) error {
		var err error
		user, err = tx.GetUserByName(ctx, name)
		return err
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", nil, time.Time{}, wrapErr(KindUnavailable, "store_unavailable", "store unavailable", err)
	}
	release, err := s.passwordSlot(ctx)
	if err != nil {
		return "", nil, time.Time{}, err
	}
	ok := false
	if user == nil {
		auth.DummyVerify(password)
	} else if ok, err = auth.VerifyPassword(user.PasswordHash, password); err != nil {
		release()
		return "", nil, time.Time{}, internal("verify password", err)
	}
	release()
	if !ok {
		s.recordAlone(ctx, event{category: audit.CategoryAuth, action: "auth.login", actor: "anonymous",
			target: "user-name:" + name, result: audit.ResultFailure})
		return "", nil, time.Time{}, newErr(KindUnauthenticated, "bad_credentials", "unknown user or wrong password")
	}
	tok, hash, err := auth.NewSessionToken(s.rand)
	if err != nil {
		return "", nil, time.Time{}, internal("session token", err)
	}
	now := s.now()
	expires = now.Add(s.ttl)
	err = s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		if err := tx.CreateSession(ctx, &store.Session{TokenHash: hash, UserID: user.ID, CreatedAt: now, ExpiresAt: expires}); err != nil {
			return err
		}
		return s.record(ctx, tx, event{category: audit.CategoryAuth, action: "auth.login", actor: "user:" + user.ID,
			target: "user:" + user.ID, result: audit.ResultSuccess})
	})
	if err != nil {
		return "", nil, time.Time{}, internal("create session", err)
	}
	return tok, user, expires, nil
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
	case strings.HasPrefix(bearer, "cst_"):
		return s.authAPIKey(ctx, bearer)
	case strings.HasPrefix(bearer, "css_"):
		return s.authSession(ctx, bearer)
	}
	return nil, ErrUnauthenticated
}

func (s *Service) authSession(ctx context.Context, token string) (*Principal, error) {
	hash, err := auth.HashSessionToken(token)
	if err != nil {
		return nil, ErrUnauthenticated
	}
	var p *Principal
	err = s.store.ReadTx(ctx, func(ctx context.Context, tx store.Tx) error {
		sess, err := tx.GetSession(ctx, hash)
		if err != nil {
			return err
		}
		if !s.now().Before(sess.ExpiresAt) {
			return store.ErrNotFound
		}
		u, err := tx.GetUser(ctx, sess.UserID)
		if err != nil {
			return err
		}
		p = &Principal{Kind: "user", ID: u.ID, UserID: u.ID, Name: u.Name, Role: u.Role}
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
