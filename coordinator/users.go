package coordinator

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"

	"encoding/hex"
	"slices"

	"filippo.io/edwards25519"
	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/internal/auth"
	"github.com/custos-dev/custos/store"
)

// ListUsers lists the staff (never password hashes).
func (s *Service) ListUsers(ctx context.Context, p *Principal) ([]*store.User, error) {
	if err := p.require(PermApprovalsRead); err != nil {
		return nil, err
	}
	return read(ctx, s, "list users", nil, func(ctx context.Context, tx store.Tx) ([]*store.User, error) {
		return tx.ListUsers(ctx)
	})
}

// CreateUser adds a staff member with the viewer role, which can read but
// not move anything. Giving a role beyond that is a user.role.assign
// request.
func (s *Service) CreateUser(ctx context.Context, p *Principal, name, password string) (*store.User, error) {
	if err := p.require(PermAdmin); err != nil {
		return nil, err
	}
	if !validUserName(name) {
		return nil, newErr(KindInvalid, "invalid_user", "name is required: 1 to 64 of a-z, 0-9, '.', '_' and '-' (no look-alike letters)")
	}
	if err := auth.CheckPasswordPolicy(password); err != nil {
		return nil, wrapErr(KindInvalid, "weak_password", err.Error(), nil)
	}
	hash, err := auth.HashPassword(password, s.rand)
	if err != nil {
		return nil, internal("hash password", err)
	}
	u := &store.User{ID: s.newID(), Name: name, Role: store.RoleViewer, PasswordHash: hash, CreatedAt: s.now()}
	err = s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return newErr(KindConflict, "user_exists", "a user named %q exists", name)
			}
			return err
		}
		return s.record(ctx, tx, event{category: audit.CategoryAdmin, action: "user.create", actor: p.Actor(),
			target: "user:" + u.ID, result: audit.ResultSuccess, meta: map[string]string{"name": name, "role": u.Role}})
	})
	if err != nil {
		return nil, s.storeErr("create user", err)
	}
	return u, nil
}

// validUserName allows plain lower-case ASCII names only, so that two
// names cannot look alike and none carries terminal escapes.
func validUserName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for _, c := range []byte(n) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

type roleAssignment struct {
	UserID string `json:"user_id"`
	Name   string `json:"name"`
	Role   string `json:"role"`
	From   string `json:"from_role"` // the role it changes; the request fails if that changed
	// ApprovalKey and Passkeys are the subject's registered approval key
	// (hex) and approved passkeys when the new role approves: approvers
	// see, and sign, exactly which keys gain the power to approve, and can
	// check them with the person out of band.
	ApprovalKey string              `json:"approval_key,omitempty"`
	Passkeys    []approvals.Passkey `json:"passkeys,omitempty"`
}

// AssignRole files a user.role.assign request; the role changes when the
// request is approved.
func (s *Service) AssignRole(ctx context.Context, p *Principal, userID, role string) (*RequestView, error) {
	if err := p.require(PermAdmin); err != nil {
		return nil, err
	}
	if !ValidRole(role) {
		return nil, newErr(KindInvalid, "invalid_role", "role must be one of admin, treasury_manager, approver, viewer, auditor")
	}
	u, err := read(ctx, s, "get user", newErr(KindNotFound, "unknown_user", "user %q does not exist", userID),
		func(ctx context.Context, tx store.Tx) (*store.User, error) { return tx.GetUser(ctx, userID) })
	if err != nil {
		return nil, err
	}
	if u.Role == role {
		return nil, newErr(KindConflict, "role_unchanged", "%s already has role %s", u.Name, role)
	}
	ra := roleAssignment{UserID: u.ID, Name: u.Name, Role: role, From: u.Role}
	if slices.Contains(approvals.ApprovingRoles(), role) {
		keys, err := read(ctx, s, "list passkeys", nil, func(ctx context.Context, tx store.Tx) ([]*store.Passkey, error) {
			return tx.ListPasskeys(ctx, u.ID)
		})
		if err != nil {
			return nil, err
		}
		ra.Passkeys = activePasskeys(keys)[u.ID]
		if u.ApprovalKey != nil {
			ra.ApprovalKey = hex.EncodeToString(u.ApprovalKey)
		}
		if u.ApprovalKey == nil && len(ra.Passkeys) == 0 {
			return nil, newErr(KindUnprocessable, "no_approval_key", "%s must register an approval key or a passkey before getting role %s", u.Name, role)
		}
	}
	return s.requestAction(ctx, p, "user.role.assign", ra)
}

func (s *Service) applyRole(ctx context.Context, tx store.Tx, r *store.Request, params json.RawMessage) (string, error) {
	var ra roleAssignment
	if err := json.Unmarshal(params, &ra); err != nil {
		return "", internal("decode user.role.assign", err)
	}
	u, err := tx.GetUser(ctx, ra.UserID)
	if err != nil {
		return "", err
	}
	if u.Role != ra.From {
		return "", newErr(KindConflict, "role_moved", "%s's role changed since this request was filed (now %s); file it again", u.Name, u.Role)
	}
	if slices.Contains(approvals.ApprovingRoles(), ra.Role) {
		keys, err := tx.ListPasskeys(ctx, u.ID)
		if err != nil {
			return "", err
		}
		// The member the guardians add is made of the request's keys:
		// the store must hold exactly those.
		if hex.EncodeToString(u.ApprovalKey) != ra.ApprovalKey || !samePasskeys(activePasskeys(keys)[u.ID], ra.Passkeys) {
			return "", newErr(KindConflict, "key_changed", "%s's approval keys are not the ones the approvers saw; file the request again", u.Name)
		}
	}
	if err := tx.SetUserRole(ctx, ra.UserID, ra.Role); err != nil {
		return "", err
	}
	return "user:" + ra.UserID, s.record(ctx, tx, event{category: audit.CategoryAdmin, action: "user.role.assign", actor: "system",
		target: "user:" + ra.UserID, result: audit.ResultSuccess, meta: map[string]string{"role": ra.Role, "request": r.ID}})
}

// samePasskeys reports whether a and b hold the same passkeys in order.
func samePasskeys(a, b []approvals.Passkey) bool {
	return slices.EqualFunc(a, b, approvals.Passkey.Equal)
}

// KeyRegistrationMessage is what a user signs with a new approval key to
// prove they hold its private half.
func KeyRegistrationMessage(userID string, publicKey []byte) []byte {
	return fmt.Appendf(nil, "custos/approval-key/v1\nuser=%s\nkey=%x\n", userID, publicKey)
}

// RegisterApprovalKey records the calling user's Ed25519 approval key. The
// signature over KeyRegistrationMessage proves possession; keys of small
// order (which anyone can sign for) and non-canonical encodings are
// refused. A key is registered once: replacing it is not possible here.
func (s *Service) RegisterApprovalKey(ctx context.Context, p *Principal, publicKey, signature []byte) error {
	if p == nil {
		return ErrUnauthenticated
	}
	if p.Kind != "user" {
		return newErr(KindForbidden, "forbidden", "approval keys belong to people, not API keys")
	}
	if p.Role == store.RoleAdmin || p.Role == store.RoleAuditor {
		return newErr(KindForbidden, "forbidden", "role %s never approves and holds no approval key", p.Role)
	}
	if slices.Contains(approvals.ApprovingRoles(), p.Role) {
		// An approver's keys are in the roster the guardians hold, and
		// change only through approved requests: a key registered now would
		// approve at once without anyone's approval.
		return newErr(KindForbidden, "approver_key_change", "approvers gain approval keys only through an approved request: register the key while a viewer, before the role is assigned (the role request names it)")
	}
	if err := checkApprovalKey(publicKey); err != nil {
		return err
	}
	if len(signature) != ed25519.SignatureSize || !ed25519.Verify(publicKey, KeyRegistrationMessage(p.UserID, publicKey), signature) {
		return newErr(KindUnprocessable, "bad_signature", "the signature does not prove possession of the key")
	}
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		u, err := tx.GetUser(ctx, p.UserID)
		if err != nil {
			return err
		}
		if u.ApprovalKey != nil {
			return newErr(KindConflict, "key_registered", "%s already has an approval key", u.Name)
		}
		users, err := tx.ListUsers(ctx)
		if err != nil {
			return err
		}
		for _, o := range users {
			if string(o.ApprovalKey) == string(publicKey) {
				return newErr(KindConflict, "key_in_use", "that key is registered to another user")
			}
		}
		if err := tx.SetApprovalKey(ctx, u.ID, publicKey); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return newErr(KindConflict, "key_registered", "%s already has an approval key, or the key is in use", u.Name)
			}
			return err
		}
		return s.record(ctx, tx, event{category: audit.CategoryAdmin, action: "user.approval_key.register", actor: p.Actor(),
			target: "user:" + u.ID, result: audit.ResultSuccess, meta: map[string]string{"public_key": fmt.Sprintf("%x", publicKey)}})
	})
	if err != nil {
		return s.storeErr("register approval key", err)
	}
	return nil
}

// ChangePassword replaces the calling user's password after checking the
// current one. A user whose account an administrator created changes the
// initial password so that the administrator no longer knows it.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, current, next string) error {
	if p == nil || p.Kind != "user" {
		return ErrUnauthenticated
	}
	if err := auth.CheckPasswordPolicy(next); err != nil {
		return wrapErr(KindInvalid, "weak_password", err.Error(), nil)
	}
	if current == next {
		return newErr(KindInvalid, "weak_password", "the new password must differ from the current one")
	}
	if err := s.checkPassword(ctx, p.UserID, current); err != nil {
		var de *Error
		if errors.As(err, &de) && de.Code == "bad_credentials" {
			s.recordAlone(ctx, event{category: audit.CategoryAuth, action: "auth.password.change", actor: p.Actor(),
				target: "user:" + p.UserID, result: audit.ResultFailure, meta: map[string]string{"reason": "wrong current password"}})
		}
		return err
	}
	hash, err := auth.HashPassword(next, s.rand)
	if err != nil {
		return internal("hash password", err)
	}
	err = s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		if err := tx.SetPasswordHash(ctx, p.UserID, hash); err != nil {
			return err
		}
		// Whoever knew the old password (an administrator who created the
		// account) loses any session opened with it.
		if err := tx.DeleteUserSessions(ctx, p.UserID); err != nil {
			return err
		}
		return s.record(ctx, tx, event{category: audit.CategoryAuth, action: "auth.password.change", actor: p.Actor(),
			target: "user:" + p.UserID, result: audit.ResultSuccess})
	})
	if err != nil {
		return s.storeErr("change password", err)
	}
	return nil
}

// checkApprovalKey refuses anything but a canonical Ed25519 point of large
// order.
func checkApprovalKey(pub []byte) error {
	switch err := checkEd25519Key(pub); {
	case err == nil:
		return nil
	case errors.Is(err, errKeyLength):
		return newErr(KindInvalid, "invalid_key", "an approval key is a 32-byte Ed25519 public key")
	case errors.Is(err, errKeyEncoding):
		return newErr(KindInvalid, "invalid_key", "the key is not a canonical Ed25519 point")
	}
	return newErr(KindInvalid, "invalid_key", "the key has small order: anyone could sign for it")
}

// Why checkEd25519Key refuses a key.
var (
	errKeyLength     = errors.New("not 32 bytes long")
	errKeyEncoding   = errors.New("not a canonical Ed25519 point encoding")
	errKeySmallOrder = errors.New("a point of small order")
)

// checkEd25519Key checks that pub is a canonical Ed25519 point of large
// order, as approval and guardian identity keys must be: crypto/ed25519
// accepts non-canonical encodings, and a small-order key is one anyone can
// sign for.
func checkEd25519Key(pub []byte) error {
	if len(pub) != ed25519.PublicKeySize {
		return errKeyLength
	}
	pt, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil || string(pt.Bytes()) != string(pub) {
		return errKeyEncoding
	}
	if new(edwards25519.Point).MultByCofactor(pt).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return errKeySmallOrder
	}
	return nil
}
