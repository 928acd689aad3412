package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/custos-dev/custos/store"
)

const requestCols = `id, action, requester_id, payload, fingerprint, policy_version, policy_hash, eur_cents,
	requirement, revision, status, created_at_us, updated_at_us, expires_at_us`

func scanRequest(s scanner) (*store.Request, error) {
	var r store.Request
	var status string
	var created, updated, expires int64
	if err := s.Scan(&r.ID, &r.Action, &r.RequesterID, &r.Payload, &r.Fingerprint, &r.PolicyVersion, &r.PolicyHash,
		&r.EURCents, &r.Requirement, &r.Revision, &status, &created, &updated, &expires); err != nil {
		return nil, err
	}
	r.Payload = nilIfEmpty(r.Payload)
	r.Fingerprint = nilIfEmpty(r.Fingerprint)
	r.PolicyHash = nilIfEmpty(r.PolicyHash)
	r.Requirement = nilIfEmpty(r.Requirement)
	r.Status = store.RequestStatus(status)
	r.CreatedAt = fromUS(created)
	r.UpdatedAt = fromUS(updated)
	r.ExpiresAt = fromUS(expires)
	return &r, nil
}

// CreateRequest implements store.Tx; ErrConflict on a duplicate id.
func (t *Tx) CreateRequest(ctx context.Context, r *store.Request) error {
	return t.insert(ctx, "create request "+strconv.Quote(r.ID),
		`INSERT INTO requests (`+requestCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT DO NOTHING`,
		r.ID, r.Action, r.RequesterID, blob(r.Payload), blob(r.Fingerprint), r.PolicyVersion, blob(r.PolicyHash),
		r.EURCents, blob(r.Requirement), r.Revision, string(r.Status), us(r.CreatedAt), us(r.UpdatedAt), us(r.ExpiresAt))
}

// GetRequest implements store.Tx. In a read-write transaction on PostgreSQL
// it locks the row until commit.
func (t *Tx) GetRequest(ctx context.Context, id string) (*store.Request, error) {
	return queryOne(ctx, t, "get request "+strconv.Quote(id),
		`SELECT `+requestCols+` FROM requests WHERE id = $1`+t.forUpdate(), scanRequest, id)
}

// ListRequests implements store.Tx: newest first (created_at descending,
// then id); Limit <= 0 means no limit.
func (t *Tx) ListRequests(ctx context.Context, f store.RequestFilter) ([]*store.Request, error) {
	var w where
	if f.Status != "" {
		w.add("status = ?", string(f.Status))
	}
	if f.Action != "" {
		w.add("action = ?", f.Action)
	}
	ord := w.order(f.Oldest, f.After)
	return queryList(ctx, t, "list requests",
		`SELECT `+requestCols+` FROM requests`+w.String()+ord+limitClause(f.Limit),
		scanRequest, w.args...)
}

// UpdateRequestStatus implements store.Tx: compare-and-swap on the status.
func (t *Tx) UpdateRequestStatus(ctx context.Context, id string, from, to store.RequestStatus, at time.Time) error {
	return t.update(ctx, fmt.Sprintf("update request %q from %s to %s", id, from, to),
		`UPDATE requests SET status = $3, updated_at_us = $4 WHERE id = $1 AND status = $2`,
		`SELECT 1 FROM requests WHERE id = $1`, id, id, string(from), string(to), us(at))
}

// UpdateRequestRequirement implements store.Tx.
func (t *Tx) UpdateRequestRequirement(ctx context.Context, r *store.Request, from store.RequestStatus) error {
	return t.update(ctx, fmt.Sprintf("update requirement of request %q from %s to %s", r.ID, from, r.Status),
		`UPDATE requests SET status = $4, requirement = $5, eur_cents = $6, updated_at_us = $7
		WHERE id = $1 AND revision = $2 AND status = $3`,
		`SELECT 1 FROM requests WHERE id = $1`, r.ID,
		r.ID, r.Revision, string(from), string(r.Status), blob(r.Requirement), r.EURCents, us(r.UpdatedAt))
}

// UpdateRequestBinding implements store.Tx. It writes Payload, Fingerprint,
// PolicyVersion, PolicyHash, EURCents, Requirement, Revision and UpdatedAt
// of r, provided the stored request is pending at revision r.Revision-1.
// EURCents and Requirement are part of the binding: a changed intent changes
// its EUR value, a changed policy the approvals it requires.
func (t *Tx) UpdateRequestBinding(ctx context.Context, r *store.Request) error {
	return t.update(ctx, fmt.Sprintf("update binding of request %q to revision %d", r.ID, r.Revision),
		`UPDATE requests SET payload = $3, fingerprint = $4, policy_version = $5, policy_hash = $6, eur_cents = $7,
			requirement = $8, revision = $2, updated_at_us = $9
		WHERE id = $1 AND revision = $2 - 1 AND status = $10`,
		`SELECT 1 FROM requests WHERE id = $1`, r.ID,
		r.ID, r.Revision, blob(r.Payload), blob(r.Fingerprint), r.PolicyVersion, blob(r.PolicyHash), r.EURCents,
		blob(r.Requirement), us(r.UpdatedAt), string(store.RequestPending))
}
