package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/custos-dev/custos/store"
)

func testUsers(t *testing.T, s store.Store) {
	alice := newUser("u1", "alice")
	alice.Role = store.RoleAdmin
	alice.ApprovalKey = filled(0xed, 32)
	bob := newUser("u2", "bob") // ApprovalKey nil
	bob.CreatedAt = at(time.Second)
	carol := newUser("u3", "carol")
	rw(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, u := range []*store.User{carol, alice, bob} {
			noErr(t, "CreateUser", tx.CreateUser(ctx, u))
		}
		return nil
	})

	t.Run("ok/get", func(t *testing.T) {
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			for _, want := range []*store.User{alice, bob} {
				got, err := tx.GetUser(ctx, want.ID)
				noErr(t, "GetUser", err)
				same(t, "GetUser", got, want)
				got, err = tx.GetUserByName(ctx, want.Name)
				noErr(t, "GetUserByName", err)
				same(t, "GetUserByName", got, want)
			}
			return nil
		})
	})
	t.Run("ok/list_by_name", func(t *testing.T) {
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.ListUsers(ctx)
			noErr(t, "ListUsers", err)
			same(t, "ListUsers", got, []*store.User{alice, bob, carol})
			return nil
		})
	})
	t.Run("ok/set_role_and_key", func(t *testing.T) {
		rw(t, s, func(ctx context.Context, tx store.Tx) error {
			noErr(t, "SetUserRole", tx.SetUserRole(ctx, "u3", store.RoleAuditor))
			noErr(t, "SetApprovalKey", tx.SetApprovalKey(ctx, "u3", filled(7, 32)))
			return nil
		})
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetUser(ctx, "u3")
			noErr(t, "GetUser", err)
			want := *carol
			want.Role, want.ApprovalKey = store.RoleAuditor, filled(7, 32)
			same(t, "GetUser", got, &want)
			return nil
		})
		// A key is recorded once, and never for two people.
		wantErr(t, "SetApprovalKey again", write(s, func(ctx context.Context, tx store.Tx) error {
			return tx.SetApprovalKey(ctx, "u3", filled(8, 32))
		}), store.ErrConflict)
		wantErr(t, "SetApprovalKey of another user's key", write(s, func(ctx context.Context, tx store.Tx) error {
			return tx.SetApprovalKey(ctx, "u2", filled(7, 32))
		}), store.ErrConflict)
		rw(t, s, func(ctx context.Context, tx store.Tx) error {
			noErr(t, "SetPasswordHash", tx.SetPasswordHash(ctx, "u3", "$argon2id$new"))
			got, err := tx.GetUser(ctx, "u3")
			noErr(t, "GetUser", err)
			same(t, "ApprovalKey kept", got.ApprovalKey, filled(7, 32))
			same(t, "PasswordHash", got.PasswordHash, "$argon2id$new")
			return nil
		})
	})
	for _, tc := range []struct {
		name string
		f    func(ctx context.Context, tx store.Tx) error
		want error
	}{
		{"fail/duplicate_name", func(ctx context.Context, tx store.Tx) error { return tx.CreateUser(ctx, newUser("u9", "alice")) }, store.ErrConflict},
		{"fail/duplicate_id", func(ctx context.Context, tx store.Tx) error { return tx.CreateUser(ctx, newUser("u1", "dave")) }, store.ErrConflict},
		{"fail/get_missing", func(ctx context.Context, tx store.Tx) error { _, err := tx.GetUser(ctx, "nope"); return err }, store.ErrNotFound},
		{"fail/get_by_name_missing", func(ctx context.Context, tx store.Tx) error { _, err := tx.GetUserByName(ctx, "nope"); return err }, store.ErrNotFound},
		{"fail/set_role_missing", func(ctx context.Context, tx store.Tx) error { return tx.SetUserRole(ctx, "nope", store.RoleAdmin) }, store.ErrNotFound},
		{"fail/set_key_missing", func(ctx context.Context, tx store.Tx) error { return tx.SetApprovalKey(ctx, "nope", filled(1, 32)) }, store.ErrNotFound},
		{"fail/set_password_missing", func(ctx context.Context, tx store.Tx) error { return tx.SetPasswordHash(ctx, "nope", "x") }, store.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, tc.name, write(s, tc.f), tc.want)
		})
	}
	t.Run("ok/second_factor", func(t *testing.T) {
		rw(t, s, func(ctx context.Context, tx store.Tx) error {
			noErr(t, "SetTOTP pending", tx.SetTOTP(ctx, "u2", filled(0x70, 48), nil))
			got, err := tx.GetUser(ctx, "u2")
			noErr(t, "GetUser", err)
			same(t, "pending secret", got.TOTPSecret, filled(0x70, 48))
			if got.TOTPEnabledAt != nil || got.TOTPLastStep != 0 {
				t.Fatalf("pending enrolment: enabled %v, last step %d", got.TOTPEnabledAt, got.TOTPLastStep)
			}
			noErr(t, "SetTOTP confirmed", tx.SetTOTP(ctx, "u2", filled(0x70, 48), ptr(at(time.Minute))))
			noErr(t, "UseTOTPStep", tx.UseTOTPStep(ctx, "u2", 100))
			return nil
		})
		// A step is accepted once, and never one before the last.
		for _, step := range []int64{100, 99} {
			wantErr(t, "UseTOTPStep replayed", write(s, func(ctx context.Context, tx store.Tx) error {
				return tx.UseTOTPStep(ctx, "u2", step)
			}), store.ErrConflict)
		}
		rw(t, s, func(ctx context.Context, tx store.Tx) error {
			noErr(t, "UseTOTPStep later", tx.UseTOTPStep(ctx, "u2", 101))
			noErr(t, "SetLoginFailures", tx.SetLoginFailures(ctx, "u2", 5, ptr(at(time.Hour))))
			got, err := tx.GetUser(ctx, "u2")
			noErr(t, "GetUser", err)
			want := *bob
			want.TOTPSecret, want.TOTPEnabledAt, want.TOTPLastStep = filled(0x70, 48), ptr(at(time.Minute)), 101
			want.FailedLogins, want.LockedUntil = 5, ptr(at(time.Hour))
			same(t, "GetUser", got, &want)
			// Re-enrolment replaces the secret and keeps the last step, so
			// a code accepted before cannot be replayed under the new one.
			noErr(t, "SetTOTP removed", tx.SetTOTP(ctx, "u2", nil, nil))
			noErr(t, "SetLoginFailures reset", tx.SetLoginFailures(ctx, "u2", 0, nil))
			got, err = tx.GetUser(ctx, "u2")
			noErr(t, "GetUser", err)
			want.TOTPSecret, want.TOTPEnabledAt, want.FailedLogins, want.LockedUntil = nil, nil, 0, nil
			same(t, "GetUser after reset", got, &want)
			return nil
		})
		for name, f := range map[string]func(ctx context.Context, tx store.Tx) error{
			"SetTOTP":          func(ctx context.Context, tx store.Tx) error { return tx.SetTOTP(ctx, "nope", filled(1, 8), nil) },
			"UseTOTPStep":      func(ctx context.Context, tx store.Tx) error { return tx.UseTOTPStep(ctx, "nope", 1) },
			"SetLoginFailures": func(ctx context.Context, tx store.Tx) error { return tx.SetLoginFailures(ctx, "nope", 1, nil) },
		} {
			wantErr(t, name+" of a missing user", write(s, f), store.ErrNotFound)
		}
	})
	t.Run("ok/failed_writes_changed_nothing", func(t *testing.T) {
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.ListUsers(ctx)
			noErr(t, "ListUsers", err)
			if len(got) != 3 {
				t.Fatalf("ListUsers: %d users, want 3", len(got))
			}
			return nil
		})
	})
}

func testSessions(t *testing.T, s store.Store) {
	sess := &store.Session{TokenHash: filled(0x5e, 32), UserID: "u1", CreatedAt: t0, ExpiresAt: at(12 * time.Hour),
		LastSeenAt: t0, Web: true, MFA: true}
	apiSess := &store.Session{TokenHash: filled(0x5f, 32), UserID: "u1", CreatedAt: t0, ExpiresAt: at(time.Hour)}
	rw(t, s, func(ctx context.Context, tx store.Tx) error {
		noErr(t, "CreateUser", tx.CreateUser(ctx, newUser("u1", "alice")))
		noErr(t, "CreateSession", tx.CreateSession(ctx, sess))
		noErr(t, "CreateSession", tx.CreateSession(ctx, apiSess))
		return nil
	})
	t.Run("ok/get", func(t *testing.T) {
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetSession(ctx, filled(0x5e, 32))
			noErr(t, "GetSession", err)
			same(t, "GetSession", got, sess)
			got, err = tx.GetSession(ctx, filled(0x5f, 32))
			noErr(t, "GetSession", err)
			same(t, "GetSession", got, apiSess)
			return nil
		})
	})
	t.Run("ok/touch_moves_forward_only", func(t *testing.T) {
		rw(t, s, func(ctx context.Context, tx store.Tx) error {
			noErr(t, "TouchSession", tx.TouchSession(ctx, filled(0x5e, 32), at(time.Minute)))
			noErr(t, "TouchSession earlier", tx.TouchSession(ctx, filled(0x5e, 32), at(time.Second)))
			got, err := tx.GetSession(ctx, filled(0x5e, 32))
			noErr(t, "GetSession", err)
			same(t, "LastSeenAt", got.LastSeenAt, at(time.Minute))
			return nil
		})
		wantErr(t, "TouchSession missing", write(s, func(ctx context.Context, tx store.Tx) error {
			return tx.TouchSession(ctx, filled(0x01, 32), at(time.Minute))
		}), store.ErrNotFound)
	})
	t.Run("ok/set_mfa", func(t *testing.T) {
		rw(t, s, func(ctx context.Context, tx store.Tx) error {
			noErr(t, "SetSessionMFA", tx.SetSessionMFA(ctx, filled(0x5f, 32)))
			got, err := tx.GetSession(ctx, filled(0x5f, 32))
			noErr(t, "GetSession", err)
			if !got.MFA || got.Web {
				t.Fatalf("session after SetSessionMFA: mfa %v, web %v", got.MFA, got.Web)
			}
			return nil
		})
		wantErr(t, "SetSessionMFA missing", write(s, func(ctx context.Context, tx store.Tx) error {
			return tx.SetSessionMFA(ctx, filled(0x01, 32))
		}), store.ErrNotFound)
	})
	t.Run("fail/duplicate_token", func(t *testing.T) {
		err := write(s, func(ctx context.Context, tx store.Tx) error {
			return tx.CreateSession(ctx, &store.Session{TokenHash: filled(0x5e, 32), UserID: "u1", CreatedAt: t0, ExpiresAt: t0})
		})
		wantErr(t, "CreateSession", err, store.ErrConflict)
	})
	t.Run("fail/unknown_user", func(t *testing.T) {
		err := write(s, func(ctx context.Context, tx store.Tx) error {
			return tx.CreateSession(ctx, &store.Session{TokenHash: filled(0x77, 32), UserID: "ghost", CreatedAt: t0, ExpiresAt: t0})
		})
		wantErr(t, "CreateSession", err, store.ErrNotFound)
	})
	t.Run("fail/get_missing", func(t *testing.T) {
		err := s.ReadTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
			_, err := tx.GetSession(ctx, filled(0x01, 32))
			return err
		})
		wantErr(t, "GetSession", err, store.ErrNotFound)
	})
	t.Run("ok/delete", func(t *testing.T) {
		rw(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.DeleteSession(ctx, filled(0x5e, 32))
		})
		err := s.ReadTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
			_, err := tx.GetSession(ctx, filled(0x5e, 32))
			return err
		})
		wantErr(t, "GetSession after delete", err, store.ErrNotFound)
	})
	t.Run("fail/delete_missing", func(t *testing.T) {
		err := write(s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteSession(ctx, filled(0x5e, 32)) })
		wantErr(t, "DeleteSession", err, store.ErrNotFound)
	})
}

func testAPIKeys(t *testing.T, s store.Store) {
	k1 := &store.APIKey{ID: "k1", Name: "payments", Prefix: "cus_live_AAAA", SecretHash: filled(0x11, 32), OwnerUserID: "u1",
		Scopes: []string{"transactions:write", "transactions:read"}, CreatedAt: t0, ExpiresAt: ptr(at(90 * 24 * time.Hour))}
	k2 := &store.APIKey{ID: "k2", Name: "reporting", Prefix: "cus_live_BBBB", SecretHash: filled(0x22, 32), OwnerUserID: "u1",
		Scopes: []string{}, CreatedAt: at(time.Minute)} // no expiry, empty scopes
	k3 := &store.APIKey{ID: "k3", Name: "legacy", Prefix: "cus_live_CCCC", SecretHash: filled(0x33, 32), OwnerUserID: "u2",
		CreatedAt: at(-time.Minute), ExpiresAt: ptr(at(time.Hour)), RevokedAt: ptr(at(2 * time.Minute)),
		LastUsedAt: ptr(at(time.Minute))} // nil scopes, every optional time set
	rw(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, k := range []*store.APIKey{k1, k2, k3} {
			noErr(t, "CreateAPIKey", tx.CreateAPIKey(ctx, k))
		}
		return nil
	})
	t.Run("ok/get", func(t *testing.T) {
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			for _, want := range []*store.APIKey{k1, k2, k3} {
				got, err := tx.GetAPIKey(ctx, want.ID)
				noErr(t, "GetAPIKey", err)
				same(t, "GetAPIKey", got, want)
				got, err = tx.GetAPIKeyByPrefix(ctx, want.Prefix)
				noErr(t, "GetAPIKeyByPrefix", err)
				same(t, "GetAPIKeyByPrefix", got, want)
			}
			return nil
		})
	})
	t.Run("ok/list_by_created_at", func(t *testing.T) {
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.ListAPIKeys(ctx)
			noErr(t, "ListAPIKeys", err)
			same(t, "ListAPIKeys", got, []*store.APIKey{k3, k1, k2})
			return nil
		})
	})
	t.Run("ok/touch", func(t *testing.T) {
		rw(t, s, func(ctx context.Context, tx store.Tx) error {
			noErr(t, "TouchAPIKey", tx.TouchAPIKey(ctx, "k1", at(time.Hour)))
			got, err := tx.GetAPIKey(ctx, "k1")
			noErr(t, "GetAPIKey", err)
			same(t, "LastUsedAt", got.LastUsedAt, ptr(at(time.Hour)))
			same(t, "RevokedAt", got.RevokedAt, (*time.Time)(nil))
			return nil
		})
	})
	t.Run("ok/revoke", func(t *testing.T) {
		rw(t, s, func(ctx context.Context, tx store.Tx) error {
			noErr(t, "RevokeAPIKey", tx.RevokeAPIKey(ctx, "k1", at(2*time.Hour)))
			got, err := tx.GetAPIKey(ctx, "k1")
			noErr(t, "GetAPIKey", err)
			same(t, "RevokedAt", got.RevokedAt, ptr(at(2*time.Hour)))
			return nil
		})
	})
	for _, tc := range []struct {
		name string
		f    func(ctx context.Context, tx store.Tx) error
		want error
	}{
		{"fail/duplicate_prefix", func(ctx context.Context, tx store.Tx) error {
			return tx.CreateAPIKey(ctx, &store.APIKey{ID: "k9", Name: "x", Prefix: "cus_live_AAAA", OwnerUserID: "u1", CreatedAt: t0})
		}, store.ErrConflict},
		{"fail/duplicate_id", func(ctx context.Context, tx store.Tx) error {
			return tx.CreateAPIKey(ctx, &store.APIKey{ID: "k1", Name: "x", Prefix: "cus_live_ZZZZ", OwnerUserID: "u1", CreatedAt: t0})
		}, store.ErrConflict},
		{"fail/revoke_twice", func(ctx context.Context, tx store.Tx) error { return tx.RevokeAPIKey(ctx, "k1", at(3*time.Hour)) }, store.ErrConflict},
		{"fail/revoke_missing", func(ctx context.Context, tx store.Tx) error { return tx.RevokeAPIKey(ctx, "nope", t0) }, store.ErrNotFound},
		{"fail/touch_missing", func(ctx context.Context, tx store.Tx) error { return tx.TouchAPIKey(ctx, "nope", t0) }, store.ErrNotFound},
		{"fail/get_missing", func(ctx context.Context, tx store.Tx) error { _, err := tx.GetAPIKey(ctx, "nope"); return err }, store.ErrNotFound},
		{"fail/get_by_prefix_missing", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.GetAPIKeyByPrefix(ctx, "cus_live_NOPE")
			return err
		}, store.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, tc.name, write(s, tc.f), tc.want)
		})
	}
	t.Run("ok/revoke_twice_kept_first_time", func(t *testing.T) {
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetAPIKey(ctx, "k1")
			noErr(t, "GetAPIKey", err)
			same(t, "RevokedAt", got.RevokedAt, ptr(at(2*time.Hour)))
			return nil
		})
	})
}

func testPasskeys(t *testing.T, s store.Store) {
	newPasskey := func(id byte, user string, created time.Duration) *store.Passkey {
		return &store.Passkey{ID: filled(id, 16), UserID: user, Name: "key " + string(rune('a'+id)), PublicKey: filled(0xc0+id, 77),
			RPID: "custody.example.com", Origins: []string{"https://custody.example.com"}, Status: store.PasskeyPending,
			RequestID: "r1", CreatedAt: at(created), UpdatedAt: at(created)}
	}
	p1 := newPasskey(1, "u2", time.Minute)
	p2 := newPasskey(2, "u1", 0)
	p2.AAGUID = filled(0xaa, 16)
	p3 := newPasskey(3, "u2", 0)
	rw(t, s, func(ctx context.Context, tx store.Tx) error {
		noErr(t, "CreateUser", tx.CreateUser(ctx, newUser("u1", "alice")))
		noErr(t, "CreateUser", tx.CreateUser(ctx, newUser("u2", "bob")))
		for _, p := range []*store.Passkey{p1, p2, p3} {
			noErr(t, "AddPasskey", tx.AddPasskey(ctx, p))
		}
		return nil
	})

	t.Run("ok/get_and_list", func(t *testing.T) {
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetPasskey(ctx, p2.ID)
			noErr(t, "GetPasskey", err)
			same(t, "GetPasskey", got, p2)
			all, err := tx.ListPasskeys(ctx, "")
			noErr(t, "ListPasskeys", err)
			same(t, "ListPasskeys", all, []*store.Passkey{p2, p3, p1})
			mine, err := tx.ListPasskeys(ctx, "u2")
			noErr(t, "ListPasskeys(u2)", err)
			same(t, "ListPasskeys(u2)", mine, []*store.Passkey{p3, p1})
			none, err := tx.ListPasskeys(ctx, "nobody")
			noErr(t, "ListPasskeys(nobody)", err)
			same(t, "ListPasskeys(nobody)", none, []*store.Passkey{})
			return nil
		})
	})
	t.Run("ok/status_moves_once", func(t *testing.T) {
		rw(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.SetPasskeyStatus(ctx, p1.ID, store.PasskeyPending, store.PasskeyActive, at(time.Hour))
		})
		wantErr(t, "SetPasskeyStatus(again)", write(s, func(ctx context.Context, tx store.Tx) error {
			return tx.SetPasskeyStatus(ctx, p1.ID, store.PasskeyPending, store.PasskeyActive, at(time.Hour))
		}), store.ErrConflict)
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetPasskey(ctx, p1.ID)
			noErr(t, "GetPasskey", err)
			want := *p1
			want.Status, want.UpdatedAt = store.PasskeyActive, at(time.Hour)
			same(t, "GetPasskey", got, &want)
			return nil
		})
	})
	t.Run("fail/duplicate_id", func(t *testing.T) {
		dup := newPasskey(1, "u1", time.Hour)
		wantErr(t, "AddPasskey", write(s, func(ctx context.Context, tx store.Tx) error { return tx.AddPasskey(ctx, dup) }), store.ErrConflict)
	})
	t.Run("fail/live_key_twice", func(t *testing.T) {
		// A public key twice, under two credential ids: refused
		// while the first is pending or active, allowed once it is refused.
		again := newPasskey(7, "u2", time.Hour)
		again.PublicKey = filled(0xee, 77)
		first := newPasskey(6, "u1", time.Hour)
		first.PublicKey = again.PublicKey
		rw(t, s, func(ctx context.Context, tx store.Tx) error { return tx.AddPasskey(ctx, first) })
		wantErr(t, "AddPasskey", write(s, func(ctx context.Context, tx store.Tx) error { return tx.AddPasskey(ctx, again) }), store.ErrConflict)
		rw(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.SetPasskeyStatus(ctx, first.ID, store.PasskeyPending, store.PasskeyRefused, at(time.Hour))
		})
		rw(t, s, func(ctx context.Context, tx store.Tx) error { return tx.AddPasskey(ctx, again) })
	})
	t.Run("fail/unknown_user", func(t *testing.T) {
		p := newPasskey(9, "nobody", 0)
		wantErr(t, "AddPasskey", write(s, func(ctx context.Context, tx store.Tx) error { return tx.AddPasskey(ctx, p) }), store.ErrNotFound)
	})
	t.Run("fail/unknown_passkey", func(t *testing.T) {
		_, err := readOne(s, func(ctx context.Context, tx store.Tx) (*store.Passkey, error) {
			return tx.GetPasskey(ctx, filled(8, 16))
		})
		wantErr(t, "GetPasskey", err, store.ErrNotFound)
		wantErr(t, "SetPasskeyStatus", write(s, func(ctx context.Context, tx store.Tx) error {
			return tx.SetPasskeyStatus(ctx, filled(8, 16), store.PasskeyPending, store.PasskeyActive, at(0))
		}), store.ErrNotFound)
	})
}
