package coordinator

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/custos-dev/custos/approvals/policy"
	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/internal/auth"
	"github.com/custos-dev/custos/store"
)

// Bootstrap operations set up a new installation. They bypass approvals
// because there is nobody to approve yet; each is recorded in the audit log
// with actor "bootstrap". They refuse to run over existing state.

// InitPolicy installs doc as policy version 1 if no policy exists.
func (s *Service) InitPolicy(ctx context.Context, doc *policy.Document) (installed bool, err error) {
	err = s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		installed = false
		if _, err := tx.CurrentPolicy(ctx); err == nil {
			return nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		h := doc.Hash()
		if err := tx.PutPolicy(ctx, &store.Policy{Version: 1, Hash: h[:], Document: doc.Canonical(), CreatedBy: "bootstrap", CreatedAt: s.now()}); err != nil {
			return err
		}
		installed = true
		return s.record(ctx, tx, event{category: audit.CategoryPolicy, action: "policy.init", actor: "bootstrap",
			target: "policy:1", result: audit.ResultSuccess})
	})
	return installed, err
}

// BootstrapUser creates a user with a password and, optionally, an
// approval public key.
func (s *Service) BootstrapUser(ctx context.Context, name, role, password string, approvalKey ed25519.PublicKey) (*store.User, error) {
	if !ValidRole(role) {
		return nil, fmt.Errorf("coordinator: unknown role %q", role)
	}
	if err := auth.CheckPasswordPolicy(password); err != nil {
		return nil, err
	}
	hash, err := auth.HashPassword(password, s.rand)
	if err != nil {
		return nil, err
	}
	u := &store.User{ID: s.newID(), Name: name, Role: role, PasswordHash: hash, CreatedAt: s.now()}
	if approvalKey != nil {
		if err := checkApprovalKey(approvalKey); err != nil {
			return nil, err
		}
		u.ApprovalKey = append([]byte(nil), approvalKey...)
	}
	err = s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return s.record(ctx, tx, event{category: audit.CategoryAdmin, action: "user.create", actor: "bootstrap",
			target: "user:" + u.ID, result: audit.ResultSuccess, meta: map[string]string{"name": name, "role": role}})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// BootstrapAPIKey creates an active API key owned by ownerID.
func (s *Service) BootstrapAPIKey(ctx context.Context, ownerID, name string, scopes []string) (auth.APIKeySecret, error) {
	var zero auth.APIKeySecret
	if err := auth.ValidateScopes(scopes); err != nil {
		return zero, err
	}
	key, prefix, hash, err := auth.NewAPIKey(s.rand)
	if err != nil {
		return zero, err
	}
	k := &store.APIKey{ID: s.newID(), Name: name, Prefix: prefix, SecretHash: hash, OwnerUserID: ownerID, Scopes: scopes, CreatedAt: s.now()}
	err = s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		if err := tx.CreateAPIKey(ctx, k); err != nil {
			return err
		}
		return s.record(ctx, tx, event{category: audit.CategoryAdmin, action: "apikey.create", actor: "bootstrap",
			target: "apikey:" + k.ID, result: audit.ResultSuccess, meta: map[string]string{"name": name, "prefix": prefix}})
	})
	if err != nil {
		return zero, err
	}
	return key, nil
}

// BootstrapRate sets a rate and makes it the approved anchor, as the
// bootstrap actor (or a development price feed).
func (s *Service) BootstrapRate(ctx context.Context, in RateInput) error {
	if err := in.normalise(s.now()); err != nil {
		return err
	}
	_, err := s.setRate(ctx, "bootstrap", in, true)
	return err
}

// FeedRate records a rate from a price feed (the system actor): only within
// RateBandPercent of the approved anchor, and never moving the anchor, which
// changes only through an approved rate.set (guardians hold the anchors
// too). A rate beyond the band, or for an asset without an anchor, is
// refused with code rate_out_of_band.
func (s *Service) FeedRate(ctx context.Context, in RateInput) error {
	if err := in.normalise(s.now()); err != nil {
		return err
	}
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		a, err := tx.GetSetting(ctx, rateAnchorKey(in.Asset))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if a == "" || !inBand(a, in) {
			return newErr(KindUnprocessable, "rate_out_of_band", "the %s rate %s is not within %d%% of the approved anchor %q; a rate.set request must move it",
				in.Asset, in.EURPerUnit, RateBandPercent, a)
		}
		return s.putRateTx(ctx, tx, "system:price-feed", &store.Rate{Asset: in.Asset, EURPerUnit: in.EURPerUnit, Decimals: in.Decimals, UpdatedAt: s.now()}, false)
	})
	if err != nil {
		return s.storeErr("feed rate", err)
	}
	return nil
}
