package storetest

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/store"
)

func spendSince(t testing.TB, s store.Store, wallet string, since time.Time) (sum, n int64) {
	t.Helper()
	ro(t, s, func(ctx context.Context, tx store.Tx) error {
		var err error
		sum, n, err = tx.SpendSince(ctx, wallet, since)
		noErr(t, "SpendSince", err)
		return nil
	})
	return sum, n
}

func testSpend(t *testing.T, s store.Store) {
	rw(t, s, func(ctx context.Context, tx store.Tx) error {
		noErr(t, "CreateWallet", tx.CreateWallet(ctx, newWallet("w1", "one")))
		noErr(t, "CreateWallet", tx.CreateWallet(ctx, newWallet("w2", "two")))
		return nil
	})
	t.Run("ok/empty", func(t *testing.T) {
		for _, w := range []string{"w1", "unknown"} {
			if sum, n := spendSince(t, s, w, time.Time{}); sum != 0 || n != 0 {
				t.Fatalf("SpendSince(%s) = %d, %d; want 0, 0", w, sum, n)
			}
			err := s.ReadTx(context.Background(), func(ctx context.Context, tx store.Tx) error { _, err := tx.LastSpend(ctx, w); return err })
			wantErr(t, "LastSpend", err, store.ErrNotFound)
		}
		rw(t, s, func(ctx context.Context, tx store.Tx) error { // locking read paths
			sum, n, err := tx.SpendSince(ctx, "w1", time.Time{})
			noErr(t, "SpendSince", err)
			same(t, "SpendSince", [2]int64{sum, n}, [2]int64{0, 0})
			_, err = tx.LastSpend(ctx, "w1")
			wantErr(t, "LastSpend", err, store.ErrNotFound)
			return nil
		})
	})

	// Entries on w1 at t0+0h, +1h, ..., +9h of 100, 101, ... cents.
	var entries []*store.SpendEntry
	t.Run("ok/append_sets_running_totals", func(t *testing.T) {
		var cum int64
		for i := range 10 {
			e := &store.SpendEntry{WalletID: "w1", At: at(time.Duration(i) * time.Hour), EURCents: int64(100 + i), TransactionID: fmt.Sprintf("t%d", i)}
			rw(t, s, func(ctx context.Context, tx store.Tx) error { return tx.AppendSpend(ctx, e) })
			cum += e.EURCents
			want := store.SpendEntry{WalletID: "w1", Seq: int64(i + 1), At: at(time.Duration(i) * time.Hour), EURCents: int64(100 + i),
				TransactionID: fmt.Sprintf("t%d", i), CumEURCents: cum, CumCount: int64(i + 1)}
			same(t, "appended entry", *e, want)
			entries = append(entries, e)
		}
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.LastSpend(ctx, "w1")
			noErr(t, "LastSpend", err)
			same(t, "LastSpend", got, entries[9])
			return nil
		})
	})
	t.Run("ok/since_boundaries", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			since time.Time
			first int // index of the first entry that counts
		}{
			{"zero_time", time.Time{}, 0},
			{"before_all", at(-time.Hour), 0},
			{"exactly_first", at(0), 0},
			{"first_plus_1ns", at(time.Nanosecond), 1},
			{"first_plus_1us", at(time.Microsecond), 1},
			{"exactly_5th", at(4 * time.Hour), 4},
			{"5th_minus_1ns", at(4*time.Hour - time.Nanosecond), 4},
			{"5th_minus_1us", at(4*time.Hour - time.Microsecond), 4},
			{"between", at(4*time.Hour + 30*time.Minute), 5},
			{"exactly_last", at(9 * time.Hour), 9},
			{"after_last", at(9*time.Hour + time.Nanosecond), 10},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var want int64
				for _, e := range entries[tc.first:] {
					want += e.EURCents
				}
				sum, n := spendSince(t, s, "w1", tc.since)
				same(t, "SpendSince", [2]int64{sum, n}, [2]int64{want, int64(10 - tc.first)})
			})
		}
	})
	t.Run("ok/at_never_decreases", func(t *testing.T) {
		e := &store.SpendEntry{WalletID: "w1", At: at(5 * time.Hour), EURCents: 7, TransactionID: "late"}
		rw(t, s, func(ctx context.Context, tx store.Tx) error { return tx.AppendSpend(ctx, e) })
		same(t, "At raised to the previous entry's", e.At, at(9*time.Hour))
		same(t, "Seq", e.Seq, int64(11))
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.LastSpend(ctx, "w1")
			noErr(t, "LastSpend", err)
			same(t, "LastSpend", got, e)
			return nil
		})
		sum, n := spendSince(t, s, "w1", at(9*time.Hour))
		same(t, "SpendSince(last two)", [2]int64{sum, n}, [2]int64{109 + 7, 2})
		entries = append(entries, e)
	})
	t.Run("ok/sub_microsecond_at_is_truncated", func(t *testing.T) {
		e := &store.SpendEntry{WalletID: "w2", At: at(time.Microsecond + 999*time.Nanosecond), EURCents: 5, TransactionID: "x"}
		rw(t, s, func(ctx context.Context, tx store.Tx) error { return tx.AppendSpend(ctx, e) })
		same(t, "At", e.At, at(time.Microsecond))
		// The entry is at t0+1us exactly: a window starting 1ns later misses it.
		if sum, n := spendSince(t, s, "w2", at(time.Microsecond+time.Nanosecond)); sum != 0 || n != 0 {
			t.Fatalf("SpendSince = %d, %d; want 0, 0", sum, n)
		}
	})
	t.Run("ok/wallets_are_independent", func(t *testing.T) {
		sum, n := spendSince(t, s, "w2", time.Time{})
		same(t, "SpendSince(w2)", [2]int64{sum, n}, [2]int64{5, 1})
	})
	t.Run("ok/matches_brute_force", func(t *testing.T) {
		// Deterministic irregular times, with ties.
		var all []*store.SpendEntry
		rw(t, s, func(ctx context.Context, tx store.Tx) error {
			noErr(t, "CreateWallet", tx.CreateWallet(ctx, newWallet("w3", "three")))
			x := uint64(12345)
			when := t0
			for i := range 200 {
				x = x*6364136223846793005 + 1442695040888963407
				when = when.Add(time.Duration(x>>60) * time.Minute) // 0..15 min, 0 is a tie
				e := &store.SpendEntry{WalletID: "w3", At: when, EURCents: int64(x>>40) % 100000, TransactionID: fmt.Sprint(i)}
				noErr(t, "AppendSpend", tx.AppendSpend(ctx, e))
				all = append(all, e)
			}
			return nil
		})
		for i := 0; i < len(all); i += 7 {
			for _, since := range []time.Time{all[i].At, all[i].At.Add(-time.Nanosecond), all[i].At.Add(time.Second)} {
				var want, wantN int64
				for _, e := range all {
					if !e.At.Before(since) {
						want += e.EURCents
						wantN++
					}
				}
				sum, n := spendSince(t, s, "w3", since)
				if sum != want || n != wantN {
					t.Fatalf("SpendSince(%v) = %d, %d; want %d, %d", since, sum, n, want, wantN)
				}
			}
		}
		// SpendWindows answers the same, several windows in one read, in
		// read-only and read-write transactions (where it locks on PostgreSQL).
		for i := 0; i+14 < len(all); i += 13 {
			sinces := []time.Time{all[i].At, all[i+7].At.Add(-time.Nanosecond), all[i+14].At.Add(time.Second), t0.Add(-time.Hour)}
			check := func(ctx context.Context, tx store.Tx) error {
				sums, last, err := tx.SpendWindows(ctx, "w3", sinces)
				noErr(t, "SpendWindows", err)
				for k, since := range sinces {
					want, wantN, err := tx.SpendSince(ctx, "w3", since)
					noErr(t, "SpendSince", err)
					if sums[k].EURCents != want || sums[k].Count != wantN {
						t.Fatalf("SpendWindows window %d = %+v; SpendSince says %d, %d", k, sums[k], want, wantN)
					}
				}
				if !last.Equal(all[len(all)-1].At) {
					t.Fatalf("SpendWindows last %v, want %v", last, all[len(all)-1].At)
				}
				return nil
			}
			ro(t, s, check)
			rw(t, s, check)
		}
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			sums, last, err := tx.SpendWindows(ctx, "w1-empty", []time.Time{t0})
			noErr(t, "SpendWindows of a wallet without spend", err)
			if sums[0] != (store.SpendSum{}) || !last.IsZero() {
				t.Fatalf("SpendWindows without spend: %+v %v", sums, last)
			}
			return nil
		})
	})
	t.Run("fail/unknown_wallet", func(t *testing.T) {
		err := write(s, func(ctx context.Context, tx store.Tx) error {
			return tx.AppendSpend(ctx, &store.SpendEntry{WalletID: "nope", At: t0, EURCents: 1, TransactionID: "x"})
		})
		wantErr(t, "AppendSpend", err, store.ErrNotFound)
	})
}

// verifyChain checks the chain rule over events listed from seq 1.
func verifyChain(t testing.TB, events []*audit.Event) {
	t.Helper()
	prev := make([]byte, audit.HashSize)
	for i, e := range events {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has Seq %d", i+1, e.Seq)
		}
		if !bytes.Equal(e.PrevHash, prev) {
			t.Fatalf("event %d: PrevHash %x, want %x", e.Seq, e.PrevHash, prev)
		}
		if h := e.ComputeHash(); !bytes.Equal(e.Hash, h) {
			t.Fatalf("event %d: Hash %x, ComputeHash %x", e.Seq, e.Hash, h)
		}
		prev = e.Hash
	}
}

func listAudit(t testing.TB, s store.Store, after int64, limit int) []*audit.Event {
	t.Helper()
	var out []*audit.Event
	ro(t, s, func(ctx context.Context, tx store.Tx) error {
		var err error
		out, err = tx.ListAudit(ctx, after, limit)
		noErr(t, "ListAudit", err)
		return nil
	})
	return out
}

func auditHead(t testing.TB, s store.Store) (int64, []byte) {
	t.Helper()
	var seq int64
	var hash []byte
	ro(t, s, func(ctx context.Context, tx store.Tx) error {
		var err error
		seq, hash, err = tx.AuditHead(ctx)
		noErr(t, "AuditHead", err)
		return nil
	})
	return seq, hash
}

func testAudit(t *testing.T, s store.Store) {
	t.Run("ok/empty", func(t *testing.T) {
		same(t, "ListAudit", listAudit(t, s, 0, 0), []*audit.Event{})
		seq, hash := auditHead(t, s)
		if seq != 0 || !bytes.Equal(hash, make([]byte, audit.HashSize)) {
			t.Fatalf("AuditHead of an empty chain = %d %x, want 0 and zero hash", seq, hash)
		}
	})
	paris, _ := time.LoadLocation("Europe/Paris") // nil (UTC) if tzdata is missing: still a valid test
	events := []*audit.Event{
		{ID: "e1", Time: time.Date(2025, 3, 14, 9, 26, 53, 123456789, time.UTC), Category: audit.CategoryAuth,
			Action: "auth.login", Actor: "user:u1", Target: "session", RequestID: "req-1", Result: audit.ResultSuccess,
			Metadata: map[string]string{"ip": "192.0.2.1", "mfa": "totp"}},
		{ID: "e2", Time: time.Date(2025, 3, 14, 10, 0, 0, 1, time.UTC), Category: audit.CategoryTransaction,
			Action: "transaction.submit", Actor: "apikey:k1", Target: "transaction:t1", Result: audit.ResultDenied},
		{ID: "e3", Time: time.Date(2025, 3, 14, 11, 0, 0, 999999999, paris), Category: audit.CategoryPolicy,
			Action: "policy.change", Actor: "system", Result: audit.ResultFailure, Metadata: map[string]string{}},
		{ID: "e4", Time: time.Time{}, Category: audit.CategoryAdmin, Action: "user.role.assign", Actor: "user:u2",
			Target: "user:u3", Result: audit.ResultSuccess,
			Metadata: map[string]string{"note": "Zoë <&> \"quoted\"\n€", "": "empty key", "role": ""}},
		{ID: "e5", Time: time.Date(2262, 4, 11, 23, 47, 16, 854775807, time.UTC), Category: audit.CategoryWallet, Action: "wallet.freeze",
			Actor: "user:u1", Target: "wallet:w1", Result: audit.ResultSuccess},
	}
	t.Run("ok/append_and_list", func(t *testing.T) {
		rw(t, s, func(ctx context.Context, tx store.Tx) error {
			for _, e := range events[:3] {
				noErr(t, "AppendAudit", tx.AppendAudit(ctx, e))
			}
			return nil
		})
		rw(t, s, func(ctx context.Context, tx store.Tx) error { // the chain continues across transactions
			for _, e := range events[3:] {
				noErr(t, "AppendAudit", tx.AppendAudit(ctx, e))
			}
			return nil
		})
		for i, e := range events {
			if e.Seq != int64(i+1) || len(e.Hash) != audit.HashSize {
				t.Fatalf("AppendAudit did not seal event %d: Seq %d, Hash %x", i+1, e.Seq, e.Hash)
			}
		}
		got := listAudit(t, s, 0, 0)
		verifyChain(t, got)
		if !bytes.Equal(got[0].PrevHash, make([]byte, audit.HashSize)) {
			t.Fatalf("first PrevHash %x, want 32 zero bytes", got[0].PrevHash)
		}
		same(t, "len(ListAudit)", len(got), len(events))
		if seq, hash := auditHead(t, s); seq != got[len(got)-1].Seq || !bytes.Equal(hash, got[len(got)-1].Hash) {
			t.Fatalf("AuditHead = %d %x, want the last event %d %x", seq, hash, got[len(got)-1].Seq, got[len(got)-1].Hash)
		}
		for i, e := range events {
			want := *e
			want.Time = e.Time.UTC()
			if len(want.Metadata) == 0 {
				want.Metadata = nil // nil and empty are the same event
			}
			if !got[i].Time.Equal(e.Time) {
				t.Fatalf("event %d: Time %v, want %v", i+1, got[i].Time, e.Time)
			}
			got[i].Time = want.Time
			same(t, fmt.Sprintf("event %d", i+1), got[i], &want)
		}
	})
	t.Run("ok/list_after_and_limit", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			after int64
			limit int
			want  []int64
		}{
			{"all", 0, 0, []int64{1, 2, 3, 4, 5}},
			{"negative_limit_means_all", 0, -1, []int64{1, 2, 3, 4, 5}},
			{"after_2", 2, 0, []int64{3, 4, 5}},
			{"after_2_limit_2", 2, 2, []int64{3, 4}},
			{"limit_1", 0, 1, []int64{1}},
			{"after_last", 5, 0, []int64{}},
			{"after_beyond", 99, 10, []int64{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				seqs := []int64{}
				for _, e := range listAudit(t, s, tc.after, tc.limit) {
					seqs = append(seqs, e.Seq)
				}
				same(t, "seqs", seqs, tc.want)
			})
		}
	})
}

// testTimes checks the documented time conventions: microseconds, UTC.
func testTimes(t *testing.T, s store.Store) {
	tokyo := time.FixedZone("JST", 9*3600)
	created := time.Date(2025, 3, 14, 18, 26, 53, 589793999, tokyo)
	u := newUser("u1", "alice")
	u.CreatedAt = created
	k := &store.APIKey{ID: "k1", Prefix: "p", OwnerUserID: "u1", CreatedAt: time.Time{}, ExpiresAt: ptr(created)}
	rw(t, s, func(ctx context.Context, tx store.Tx) error {
		noErr(t, "CreateUser", tx.CreateUser(ctx, u))
		noErr(t, "CreateAPIKey", tx.CreateAPIKey(ctx, k))
		return nil
	})
	ro(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.GetUser(ctx, "u1")
		noErr(t, "GetUser", err)
		want := created.Truncate(time.Microsecond).UTC()
		same(t, "CreatedAt (UTC, microseconds)", got.CreatedAt, want)
		gk, err := tx.GetAPIKey(ctx, "k1")
		noErr(t, "GetAPIKey", err)
		if !gk.CreatedAt.IsZero() {
			t.Fatalf("zero CreatedAt read back as %v", gk.CreatedAt)
		}
		same(t, "ExpiresAt", gk.ExpiresAt, &want)
		return nil
	})
	t.Run("ok/empty_bytes_read_back_nil", func(t *testing.T) {
		rw(t, s, func(ctx context.Context, tx store.Tx) error { return tx.SetApprovalKey(ctx, "u1", []byte{}) })
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetUser(ctx, "u1")
			noErr(t, "GetUser", err)
			same(t, "ApprovalKey", got.ApprovalKey, []byte(nil))
			return nil
		})
	})
}
