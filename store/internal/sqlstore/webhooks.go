package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/custos-dev/custos/store"
)

// Webhook URLs are not quoted in errors (one may carry a token in its
// path); webhooks are named by id.

const webhookCols = `id, url, secret, events, enabled, created_by, created_at_us, audit_cursor, failures, last_error,
	last_delivery_at_us, next_attempt_at_us`

func scanWebhook(s scanner) (*store.Webhook, error) {
	var w store.Webhook
	var events string
	var enabled, created int64
	var delivered, next *int64
	if err := s.Scan(&w.ID, &w.URL, &w.SealedSecret, &events, &enabled, &w.CreatedBy, &created, &w.Cursor, &w.Failures,
		&w.LastError, &delivered, &next); err != nil {
		return nil, err
	}
	var err error
	if w.Events, err = decodeIDs(events); err != nil {
		return nil, err
	}
	w.SealedSecret = nilIfEmpty(w.SealedSecret)
	w.Enabled = enabled != 0
	w.CreatedAt = fromUS(created)
	w.LastDeliveryAt = fromNullUS(delivered)
	w.NextAttemptAt = fromNullUS(next)
	return &w, nil
}

// CreateWebhook implements store.Tx: ErrConflict on a duplicate id. A
// webhook without a sealed secret is refused.
func (t *Tx) CreateWebhook(ctx context.Context, w *store.Webhook) error {
	op := "create webhook " + strconv.Quote(w.ID)
	if len(w.SealedSecret) == 0 {
		return fmt.Errorf("store: %s: no secret", op)
	}
	events, err := encodeIDs(w.Events)
	if err != nil {
		return t.fail(op, err)
	}
	return t.insert(ctx, op,
		`INSERT INTO webhooks (`+webhookCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING`,
		w.ID, w.URL, w.SealedSecret, events, flag(w.Enabled), w.CreatedBy, us(w.CreatedAt), w.Cursor, w.Failures,
		w.LastError, nullUS(w.LastDeliveryAt), nullUS(w.NextAttemptAt))
}

// GetWebhook implements store.Tx.
func (t *Tx) GetWebhook(ctx context.Context, id string) (*store.Webhook, error) {
	return queryOne(ctx, t, "get webhook "+strconv.Quote(id),
		`SELECT `+webhookCols+` FROM webhooks WHERE id = $1`, scanWebhook, id)
}

// ListWebhooks implements store.Tx: oldest first, then by id.
func (t *Tx) ListWebhooks(ctx context.Context) ([]*store.Webhook, error) {
	return queryList(ctx, t, "list webhooks",
		`SELECT `+webhookCols+` FROM webhooks ORDER BY created_at_us, id`, scanWebhook)
}

// SetWebhookEnabled implements store.Tx.
func (t *Tx) SetWebhookEnabled(ctx context.Context, id string, enabled bool) error {
	q := `UPDATE webhooks SET enabled = 0 WHERE id = $1 AND enabled = 1`
	if enabled {
		q = `UPDATE webhooks SET enabled = 1, next_attempt_at_us = NULL WHERE id = $1 AND enabled = 0`
	}
	return t.update(ctx, "set enabled="+strconv.FormatBool(enabled)+" on webhook "+strconv.Quote(id), q,
		`SELECT 1 FROM webhooks WHERE id = $1`, id, id)
}

// DeleteWebhook implements store.Tx.
func (t *Tx) DeleteWebhook(ctx context.Context, id string) error {
	return t.update(ctx, "delete webhook "+strconv.Quote(id), `DELETE FROM webhooks WHERE id = $1`, "", id, id)
}

// UpdateWebhookDelivery implements store.Tx: a compare-and-swap on the
// cursor.
func (t *Tx) UpdateWebhookDelivery(ctx context.Context, w *store.Webhook, from int64) error {
	return t.update(ctx, "record delivery of webhook "+strconv.Quote(w.ID),
		`UPDATE webhooks SET audit_cursor = $3, failures = $4, last_error = $5, last_delivery_at_us = $6, next_attempt_at_us = $7
			WHERE id = $1 AND audit_cursor = $2`,
		`SELECT 1 FROM webhooks WHERE id = $1`, w.ID,
		w.ID, from, w.Cursor, w.Failures, w.LastError, nullUS(w.LastDeliveryAt), nullUS(w.NextAttemptAt))
}

// LeaseWebhook implements store.Tx: one conditional update, so of
// concurrent claims of a free webhook exactly one succeeds.
func (t *Tx) LeaseWebhook(ctx context.Context, id, holder string, now, until time.Time) error {
	return t.update(ctx, "lease webhook "+strconv.Quote(id),
		`UPDATE webhooks SET lease_holder = $2, lease_until_us = $4 WHERE id = $1 AND (lease_holder = $2 OR lease_until_us <= $3)`,
		`SELECT 1 FROM webhooks WHERE id = $1`, id, id, holder, us(now), us(until))
}

// ReleaseWebhook implements store.Tx.
func (t *Tx) ReleaseWebhook(ctx context.Context, id, holder string) error {
	err := t.update(ctx, "release webhook "+strconv.Quote(id),
		`UPDATE webhooks SET lease_holder = '', lease_until_us = 0 WHERE id = $1 AND lease_holder = $2`, "", id, id, holder)
	if errors.Is(err, store.ErrNotFound) {
		return nil // not held by holder, or gone
	}
	return err
}
