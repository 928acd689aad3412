package coordinator

import (
	"context"
	"errors"

	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/internal/auth"
	"github.com/custos-dev/custos/internal/seal"
	"github.com/custos-dev/custos/store"
)

// totpAD binds a sealed TOTP secret to its user: a secret copied onto
// another user's row does not open.
func totpAD(userID string) []byte { return seal.AssociatedData("custos/totp-secret/v1", userID) }

// totpSecret opens user's sealed TOTP secret. The caller clears it.
func (s *Service) totpSecret(user *store.User) ([]byte, error) {
	if user.TOTPSecret == nil {
		return nil, newErr(KindConflict, "no_second_factor", "%s has no authenticator app enrolled", user.Name)
	}
	secret, err := seal.Open(s.kek, user.TOTPSecret, totpAD(user.ID))
	if err != nil {
		return nil, internal("open second-factor secret", err)
	}
	return secret, nil
}

// enrolling returns the user of session p, who may enrol an authenticator
// app: a person in their own session, with none enrolled yet.
func (s *Service) enrolling(ctx context.Context, p *Principal) (*store.User, error) {
	if p.Kind != "user" {
		return nil, newErr(KindForbidden, "forbidden", "an authenticator app is enrolled by the person who uses it, in their own session")
	}
	user, err := read(ctx, s, "get user", nil, func(ctx context.Context, tx store.Tx) (*store.User, error) {
		return tx.GetUser(ctx, p.UserID)
	})
	if err != nil {
		return nil, err
	}
	if user.TOTPEnabledAt != nil {
		return nil, newErr(KindConflict, "second_factor_enrolled", "%s already has an authenticator app enrolled; an administrator can reset it", user.Name)
	}
	return user, nil
}

// errCodeReused refuses a one-time code whose time step was accepted
// before: each code is accepted once.
func errCodeReused(k Kind) error {
	return newErr(k, "bad_code", "this one-time code was used already; wait for the next one")
}

// TOTPEnrolment is a started enrolment: what the user's authenticator app
// takes (a QR code of URL, or Secret typed in). It is shown once.
type TOTPEnrolment struct {
	URL    string
	Secret string // base32, for typing in
	QR     []byte // PNG
}

// BeginTOTP starts the enrolment of an authenticator app for the signed-in
// user: a new secret, stored sealed and pending until ConfirmTOTP. A user
// who has one enrolled must have it reset by an administrator first.
func (s *Service) BeginTOTP(ctx context.Context, p *Principal) (*TOTPEnrolment, error) {
	user, err := s.enrolling(ctx, p)
	if err != nil {
		return nil, err
	}
	e, err := auth.NewTOTP("Custos", user.Name, 240, s.rand)
	if err != nil {
		return nil, internal("new second-factor secret", err)
	}
	defer clear(e.Secret)
	sealed, err := seal.Seal(s.kek, e.Secret, totpAD(user.ID), s.rand)
	if err != nil {
		return nil, internal("seal second-factor secret", err)
	}
	err = s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		if err := tx.SetTOTP(ctx, user.ID, sealed, nil); err != nil {
			return err
		}
		return s.record(ctx, tx, event{category: audit.CategoryAuth, action: "auth.mfa.begin", actor: p.Actor(),
			target: "user:" + user.ID, result: audit.ResultSuccess})
	})
	if err != nil {
		return nil, s.storeErr("begin second-factor enrolment", err)
	}
	return &TOTPEnrolment{URL: e.URL, Secret: auth.TOTPSecretText(e.Secret), QR: e.QR}, nil
}

// ConfirmTOTP completes the enrolment with a code from the app: the
// secret becomes the user's second factor, and the session that confirmed
// it counts as signed in with it.
func (s *Service) ConfirmTOTP(ctx context.Context, p *Principal, code string) error {
	user, err := s.enrolling(ctx, p)
	if err != nil {
		return err
	}
	secret, err := s.totpSecret(user)
	if err != nil {
		return err
	}
	now := s.now()
	step, err := auth.CheckTOTP(secret, code, now)
	clear(secret)
	if err != nil {
		return newErr(KindInvalid, "bad_code", "wrong or expired one-time code: check the app shows Custos (%s) and the device's clock", user.Name)
	}
	err = s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		if err := tx.UseTOTPStep(ctx, user.ID, step); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return errCodeReused(KindInvalid)
			}
			return err
		}
		if err := tx.SetTOTP(ctx, user.ID, user.TOTPSecret, &now); err != nil {
			return err
		}
		if p.session != nil {
			if err := tx.SetSessionMFA(ctx, p.session); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, event{category: audit.CategoryAuth, action: "auth.mfa.enroll", actor: p.Actor(),
			target: "user:" + user.ID, result: audit.ResultSuccess, meta: map[string]string{"method": "totp"}})
	})
	if err != nil {
		return s.storeErr("confirm second-factor enrolment", err)
	}
	return nil
}

// ResetTOTP removes a user's second factor (an administrator's act, for a
// lost phone): they enrol a new one at their next sign-in. Their sessions
// end.
func (s *Service) ResetTOTP(ctx context.Context, p *Principal, userID string) error {
	if err := p.require(PermAdmin); err != nil {
		return err
	}
	if p.UserID == userID {
		return newErr(KindForbidden, "forbidden", "an administrator cannot reset their own second factor")
	}
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		if err := tx.SetTOTP(ctx, userID, nil, nil); err != nil {
			return err
		}
		if err := tx.DeleteUserSessions(ctx, userID); err != nil {
			return err
		}
		return s.record(ctx, tx, event{category: audit.CategoryAuth, action: "auth.mfa.reset", actor: p.Actor(),
			target: "user:" + userID, result: audit.ResultSuccess})
	})
	if err != nil {
		return s.storeErr("reset second factor", err)
	}
	return nil
}
