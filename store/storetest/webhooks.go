package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/custos-dev/custos/store"
)

func newWebhook(id string) *store.Webhook {
	return &store.Webhook{ID: id, URL: "https://hooks.example.com/custos/" + id, SealedSecret: filled(0x5c, 80),
		Events: []string{"transaction.*", "request.*"}, Enabled: true, CreatedBy: "user:u1", CreatedAt: t0, Cursor: 41}
}

func testWebhooks(t *testing.T, s store.Store) {
	w1 := newWebhook("wh1")
	w2 := newWebhook("wh2") // every optional field set
	w2.Events, w2.Enabled, w2.CreatedAt, w2.Cursor = []string{"wallet.*"}, false, at(time.Minute), 7
	w2.Failures, w2.LastError, w2.LastDeliveryAt, w2.NextAttemptAt = 3, "HTTP 500", ptr(at(time.Second)), ptr(at(time.Hour))
	w3 := newWebhook("wh3") // no events: reads back nil
	w3.Events, w3.CreatedAt = []string{}, at(-time.Minute)
	rw(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, w := range []*store.Webhook{w1, w2, w3} {
			noErr(t, "CreateWebhook", tx.CreateWebhook(ctx, w))
		}
		return nil
	})
	w3.Events = nil
	get := func(t *testing.T, id string) *store.Webhook {
		t.Helper()
		return mustRead(t, s, "GetWebhook", func(ctx context.Context, tx store.Tx) (*store.Webhook, error) {
			return tx.GetWebhook(ctx, id)
		})
	}

	t.Run("ok/get", func(t *testing.T) {
		for _, want := range []*store.Webhook{w1, w2, w3} {
			same(t, "GetWebhook", get(t, want.ID), want)
		}
	})
	t.Run("ok/list_oldest_first", func(t *testing.T) {
		got := mustRead(t, s, "ListWebhooks", func(ctx context.Context, tx store.Tx) ([]*store.Webhook, error) {
			return tx.ListWebhooks(ctx)
		})
		same(t, "ListWebhooks", got, []*store.Webhook{w3, w1, w2})
	})
	t.Run("ok/enable_makes_due", func(t *testing.T) {
		rw(t, s, func(ctx context.Context, tx store.Tx) error { return tx.SetWebhookEnabled(ctx, "wh2", true) })
		want := *w2
		want.Enabled, want.NextAttemptAt = true, nil
		same(t, "enabled webhook", get(t, "wh2"), &want)
		rw(t, s, func(ctx context.Context, tx store.Tx) error { return tx.SetWebhookEnabled(ctx, "wh2", false) })
		want.Enabled = false
		same(t, "disabled webhook", get(t, "wh2"), &want)
	})
	t.Run("ok/delivery_moves_the_cursor_once", func(t *testing.T) {
		next := *w1
		next.Cursor, next.Failures, next.LastError, next.LastDeliveryAt, next.NextAttemptAt = 45, 0, "", ptr(at(time.Minute)), nil
		rw(t, s, func(ctx context.Context, tx store.Tx) error { return tx.UpdateWebhookDelivery(ctx, &next, 41) })
		same(t, "delivered webhook", get(t, "wh1"), &next)
		// A dispatcher that read the old cursor cannot move it back.
		stale := *w1
		stale.Failures, stale.LastError = 1, "timeout"
		wantErr(t, "UpdateWebhookDelivery from a stale cursor", write(s, func(ctx context.Context, tx store.Tx) error {
			return tx.UpdateWebhookDelivery(ctx, &stale, 41)
		}), store.ErrConflict)
		same(t, "webhook after a stale update", get(t, "wh1"), &next)
	})
	t.Run("ok/lease", func(t *testing.T) {
		lease := func(holder string, now time.Time) error {
			return write(s, func(ctx context.Context, tx store.Tx) error {
				return tx.LeaseWebhook(ctx, "wh3", holder, now, now.Add(time.Minute))
			})
		}
		release := func(holder string) {
			rw(t, s, func(ctx context.Context, tx store.Tx) error { return tx.ReleaseWebhook(ctx, "wh3", holder) })
		}
		noErr(t, "lease by a", lease("a", t0))
		wantErr(t, "lease by b while a holds it", lease("b", at(59*time.Second)), store.ErrConflict)
		noErr(t, "renewal by a", lease("a", at(30*time.Second)))
		wantErr(t, "lease by b before the renewal ran out", lease("b", at(89*time.Second)), store.ErrConflict)
		noErr(t, "lease by b once a's ran out", lease("b", at(90*time.Second)))
		release("a") // no longer a's: nothing happens
		wantErr(t, "lease by c while b holds it", lease("c", at(91*time.Second)), store.ErrConflict)
		release("b")
		noErr(t, "lease by c after b released it", lease("c", at(91*time.Second)))
		same(t, "webhook after leases", get(t, "wh3"), w3)
	})
	t.Run("ok/lease_race_one_wins", func(t *testing.T) {
		errs := race(racers, func(i int) error {
			return write(s, func(ctx context.Context, tx store.Tx) error {
				return tx.LeaseWebhook(ctx, "wh2", fmt.Sprintf("r%d", i), t0, at(time.Minute))
			})
		})
		if n := countOK(t, errs, store.ErrConflict); n != 1 {
			t.Fatalf("%d of %d racers leased one webhook, want 1", n, racers)
		}
	})
	for _, tc := range []struct {
		name string
		f    func(ctx context.Context, tx store.Tx) error
		want error
	}{
		{"fail/duplicate_id", func(ctx context.Context, tx store.Tx) error { return tx.CreateWebhook(ctx, newWebhook("wh1")) }, store.ErrConflict},
		{"fail/get_missing", func(ctx context.Context, tx store.Tx) error { _, err := tx.GetWebhook(ctx, "nope"); return err }, store.ErrNotFound},
		{"fail/enable_enabled", func(ctx context.Context, tx store.Tx) error { return tx.SetWebhookEnabled(ctx, "wh1", true) }, store.ErrConflict},
		{"fail/disable_disabled", func(ctx context.Context, tx store.Tx) error { return tx.SetWebhookEnabled(ctx, "wh2", false) }, store.ErrConflict},
		{"fail/enable_missing", func(ctx context.Context, tx store.Tx) error { return tx.SetWebhookEnabled(ctx, "nope", true) }, store.ErrNotFound},
		{"fail/update_missing", func(ctx context.Context, tx store.Tx) error {
			return tx.UpdateWebhookDelivery(ctx, newWebhook("nope"), 41)
		}, store.ErrNotFound},
		{"fail/lease_missing", func(ctx context.Context, tx store.Tx) error {
			return tx.LeaseWebhook(ctx, "nope", "a", t0, at(time.Minute))
		}, store.ErrNotFound},
		{"fail/delete_missing", func(ctx context.Context, tx store.Tx) error { return tx.DeleteWebhook(ctx, "nope") }, store.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, tc.name, write(s, tc.f), tc.want)
		})
	}
	t.Run("fail/no_secret", func(t *testing.T) {
		w := newWebhook("wh9")
		w.SealedSecret = nil
		if err := write(s, func(ctx context.Context, tx store.Tx) error { return tx.CreateWebhook(ctx, w) }); err == nil {
			t.Fatal("CreateWebhook without a secret succeeded")
		}
	})
	t.Run("ok/delete", func(t *testing.T) {
		rw(t, s, func(ctx context.Context, tx store.Tx) error {
			noErr(t, "DeleteWebhook", tx.DeleteWebhook(ctx, "wh3"))
			// Releasing the lease of a deleted webhook is not an error.
			noErr(t, "ReleaseWebhook", tx.ReleaseWebhook(ctx, "wh3", "c"))
			return nil
		})
		_, err := readOne(s, func(ctx context.Context, tx store.Tx) (*store.Webhook, error) { return tx.GetWebhook(ctx, "wh3") })
		wantErr(t, "GetWebhook after delete", err, store.ErrNotFound)
	})
}
