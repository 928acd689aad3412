package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/store"
)

// Concurrent runs the concurrency subtests: goroutines, each in its own
// ReadWriteTx, racing for the same rows. open returns one or more Stores
// over the same fresh database (several Stores stand for several
// coordinator processes); goroutine i uses store i mod len.
func Concurrent(t *testing.T, open func(t *testing.T) []store.Store) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, ss []store.Store)
	}{
		{"cas_exactly_one_wins", raceCAS},
		{"audit_chain_stays_intact", raceAudit},
		{"spend_running_totals", raceSpend},
		{"limit_check_then_spend", raceLimit},
		{"approval_quorum", raceQuorum},
		{"policy_version", racePolicy},
		{"idempotency_key", raceIdempotency},
		{"guardian_invite_claimed_once", raceInviteClaim},
		{"wallet_key_set_once", raceWalletKey},
		{"ceremony_finished_once", raceCeremonyFinish},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, open(t))
		})
	}
}

const racers = 8

// race runs f(i) for i in [0, n) in n goroutines started together and
// returns their errors.
func race(n int, f func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = f(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

func pick(ss []store.Store, i int) store.Store { return ss[i%len(ss)] }

// countOK returns how many errors are nil and fails the test on any that is
// neither nil nor target.
func countOK(t *testing.T, errs []error, target error) int {
	t.Helper()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case target != nil && errors.Is(err, target):
		default:
			t.Errorf("racer %d: unexpected error %v", i, err)
		}
	}
	return ok
}

func raceCAS(t *testing.T, ss []store.Store) {
	for round := range 3 { // the same race on three requests
		id := fmt.Sprintf("r%d", round)
		rw(t, ss[0], func(ctx context.Context, tx store.Tx) error { return tx.CreateRequest(ctx, newRequest(id)) })
		errs := race(racers, func(i int) error {
			return pick(ss, i).ReadWriteTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
				return tx.UpdateRequestStatus(ctx, id, store.RequestPending, store.RequestApproved, at(time.Duration(i)*time.Second))
			})
		})
		if n := countOK(t, errs, store.ErrConflict); n != 1 {
			t.Fatalf("round %d: %d transitions succeeded, want exactly 1 (errors: %v)", round, n, errs)
		}
	}
}

func raceAudit(t *testing.T, ss []store.Store) {
	const perRacer = 10
	seqs := make([][]int64, racers)
	errs := race(racers, func(i int) error {
		for j := range perRacer {
			var sealed []*audit.Event
			err := pick(ss, i).ReadWriteTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
				sealed = sealed[:0]
				for k := range 2 { // two events per transaction
					e := &audit.Event{ID: fmt.Sprintf("e-%d-%d-%d", i, j, k), Time: at(time.Duration(j) * time.Millisecond),
						Category: audit.CategoryTransaction, Action: "race", Actor: fmt.Sprintf("racer:%d", i), Result: audit.ResultSuccess,
						Metadata: map[string]string{"j": fmt.Sprint(j)}}
					if err := tx.AppendAudit(ctx, e); err != nil {
						return err
					}
					sealed = append(sealed, e)
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, e := range sealed {
				seqs[i] = append(seqs[i], e.Seq)
			}
		}
		return nil
	})
	if n := countOK(t, errs, nil); n != racers {
		t.Fatalf("%d of %d racers succeeded", n, racers)
	}
	events := listAudit(t, ss[0], 0, 0)
	if len(events) != racers*perRacer*2 {
		t.Fatalf("%d events, want %d", len(events), racers*perRacer*2)
	}
	verifyChain(t, events)
	byID := map[string]int64{}
	for _, e := range events {
		byID[e.ID] = e.Seq
	}
	for i := range racers {
		for j, seq := range seqs[i] {
			id := fmt.Sprintf("e-%d-%d-%d", i, j/2, j%2)
			if byID[id] != seq {
				t.Fatalf("event %s: AppendAudit reported seq %d, stored at %d", id, seq, byID[id])
			}
		}
		// One transaction's two events are adjacent.
		for j := 0; j < len(seqs[i]); j += 2 {
			if seqs[i][j+1] != seqs[i][j]+1 {
				t.Fatalf("racer %d: events of one transaction at seq %d and %d", i, seqs[i][j], seqs[i][j+1])
			}
		}
	}
}

func raceSpend(t *testing.T, ss []store.Store) {
	rw(t, ss[0], func(ctx context.Context, tx store.Tx) error { return tx.CreateWallet(ctx, newWallet("w1", "one")) })
	const perRacer = 10
	var mu sync.Mutex
	var appended []store.SpendEntry
	errs := race(racers, func(i int) error {
		for j := range perRacer {
			e := &store.SpendEntry{WalletID: "w1", At: at(time.Duration(i*perRacer+j) * time.Second), EURCents: int64(i*1000 + j), TransactionID: fmt.Sprintf("t-%d-%d", i, j)}
			if err := pick(ss, i).ReadWriteTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
				return tx.AppendSpend(ctx, e)
			}); err != nil {
				return err
			}
			mu.Lock()
			appended = append(appended, *e)
			mu.Unlock()
		}
		return nil
	})
	if n := countOK(t, errs, nil); n != racers {
		t.Fatalf("%d of %d racers succeeded", n, racers)
	}
	sort.Slice(appended, func(i, j int) bool { return appended[i].Seq < appended[j].Seq })
	var cum, total int64
	var prevAt time.Time
	for i, e := range appended {
		cum += e.EURCents
		if e.Seq != int64(i+1) || e.CumEURCents != cum || e.CumCount != e.Seq {
			t.Fatalf("entry %d: Seq %d CumEURCents %d CumCount %d; want %d, %d, %d", i, e.Seq, e.CumEURCents, e.CumCount, i+1, cum, i+1)
		}
		if e.At.Before(prevAt) {
			t.Fatalf("entry %d: At %v before the previous entry's %v", e.Seq, e.At, prevAt)
		}
		prevAt = e.At
	}
	for i := range racers {
		for j := range perRacer {
			total += int64(i*1000 + j)
		}
	}
	sum, n := spendSince(t, ss[0], "w1", time.Time{})
	same(t, "SpendSince", [2]int64{sum, n}, [2]int64{total, racers * perRacer})
}

var errOverLimit = errors.New("over limit")

// raceLimit: each racer checks the wallet's total and spends only if it
// stays within the limit. The store must not let two checks see the same
// total (SQLite: one writer; PostgreSQL: SpendSince locks the ledger head).
func raceLimit(t *testing.T, ss []store.Store) {
	rw(t, ss[0], func(ctx context.Context, tx store.Tx) error { return tx.CreateWallet(ctx, newWallet("w1", "one")) })
	const limit, amount = 500, 100
	errs := race(2*racers, func(i int) error {
		return pick(ss, i).ReadWriteTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
			sum, _, err := tx.SpendSince(ctx, "w1", time.Time{})
			if err != nil {
				return err
			}
			if sum+amount > limit {
				return errOverLimit
			}
			return tx.AppendSpend(ctx, &store.SpendEntry{WalletID: "w1", At: t0, EURCents: amount, TransactionID: fmt.Sprint(i)})
		})
	})
	if n := countOK(t, errs, errOverLimit); n != limit/amount {
		t.Fatalf("%d spends went through, want %d", n, limit/amount)
	}
	sum, n := spendSince(t, ss[0], "w1", time.Time{})
	same(t, "SpendSince", [2]int64{sum, n}, [2]int64{limit, limit / amount})
}

// raceQuorum: approvers approve concurrently; whoever brings the count to
// the quorum moves the request to approved. The request must end approved
// and no racer may meet a conflict (GetRequest orders them).
func raceQuorum(t *testing.T, ss []store.Store) {
	rw(t, ss[0], func(ctx context.Context, tx store.Tx) error { return tx.CreateRequest(ctx, newRequest("r1")) })
	const quorum = 3
	errs := race(racers, func(i int) error {
		return pick(ss, i).ReadWriteTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
			r, err := tx.GetRequest(ctx, "r1")
			if err != nil {
				return err
			}
			if r.Status != store.RequestPending {
				return nil // too late, nothing to do
			}
			if err := tx.AddApproval(ctx, &store.Approval{RequestID: "r1", Revision: r.Revision, ApproverID: fmt.Sprintf("u%d", i),
				Decision: "approve", Fingerprint: r.Fingerprint, CreatedAt: t0}); err != nil {
				return err
			}
			as, err := tx.ListApprovals(ctx, "r1")
			if err != nil {
				return err
			}
			if len(as) >= quorum {
				return tx.UpdateRequestStatus(ctx, "r1", store.RequestPending, store.RequestApproved, t0)
			}
			return nil
		})
	})
	if n := countOK(t, errs, nil); n != racers {
		t.Fatalf("%d of %d approvers' transactions succeeded", n, racers)
	}
	ro(t, ss[0], func(ctx context.Context, tx store.Tx) error {
		r, err := tx.GetRequest(ctx, "r1")
		noErr(t, "GetRequest", err)
		same(t, "status", r.Status, store.RequestApproved)
		as, err := tx.ListApprovals(ctx, "r1")
		noErr(t, "ListApprovals", err)
		same(t, "approvals recorded", len(as), quorum)
		return nil
	})
}

func racePolicy(t *testing.T, ss []store.Store) {
	errs := race(racers, func(i int) error {
		return pick(ss, i).ReadWriteTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
			return tx.PutPolicy(ctx, &store.Policy{Version: 1, Document: []byte(fmt.Sprint(i)), CreatedBy: "u", CreatedAt: t0})
		})
	})
	if n := countOK(t, errs, store.ErrConflict); n != 1 {
		t.Fatalf("%d racers put policy version 1, want exactly 1", n)
	}
}

func raceIdempotency(t *testing.T, ss []store.Store) {
	errs := race(racers, func(i int) error {
		return pick(ss, i).ReadWriteTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
			x := newTransaction(fmt.Sprintf("t%d", i))
			x.IdempotencyKey = "same"
			return tx.CreateTransaction(ctx, x)
		})
	})
	if n := countOK(t, errs, store.ErrConflict); n != 1 {
		t.Fatalf("%d transactions created with one idempotency key, want exactly 1", n)
	}
}

// raceInviteClaim: racers claim the same enrolment code, each for its own
// guardian. Exactly one claim wins and the invitation names its guardian.
func raceInviteClaim(t *testing.T, ss []store.Store) {
	for round := range 3 { // the same race on three invitations
		id := fmt.Sprintf("i%d", round)
		code := filled(byte(0xc0+round), 32)
		rw(t, ss[0], func(ctx context.Context, tx store.Tx) error {
			return tx.CreateGuardianInvite(ctx, newInvite(id, byte(0xc0+round), t0, at(time.Hour)))
		})
		claims := make([]*store.GuardianInvite, racers)
		errs := race(racers, func(i int) error {
			return pick(ss, i).ReadWriteTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
				inv, err := tx.ClaimGuardianInvite(ctx, code, fmt.Sprintf("g%d", i), at(time.Duration(i)*time.Second))
				claims[i] = inv
				return err
			})
		})
		if n := countOK(t, errs, store.ErrConflict); n != 1 {
			t.Fatalf("round %d: %d claims succeeded, want exactly 1 (errors: %v)", round, n, errs)
		}
		winner := -1
		for i, err := range errs {
			if err == nil {
				winner = i
			}
		}
		want := newInvite(id, byte(0xc0+round), t0, at(time.Hour))
		want.GuardianID, want.UsedAt = fmt.Sprintf("g%d", winner), ptr(at(time.Duration(winner)*time.Second))
		same(t, "claim returned to the winner", claims[winner], want)
		ro(t, ss[0], func(ctx context.Context, tx store.Tx) error {
			all, err := tx.ListGuardianInvites(ctx)
			noErr(t, "ListGuardianInvites", err)
			for _, inv := range all {
				if inv.ID == id {
					same(t, "stored invitation", inv, want)
					return nil
				}
			}
			t.Fatalf("invitation %s not listed", id)
			return nil
		})
	}
}

// raceWalletKey: racers each try to activate one pending FROST wallet with
// their own key. Exactly one wins and the wallet holds the winner's key.
func raceWalletKey(t *testing.T, ss []store.Store) {
	rw(t, ss[0], func(ctx context.Context, tx store.Tx) error {
		return tx.CreateWallet(ctx, newFROSTWallet("w1", "frost"))
	})
	errs := race(racers, func(i int) error {
		return pick(ss, i).ReadWriteTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
			w := newFROSTWallet("w1", "frost")
			w.Status, w.PublicKey, w.GroupKey = store.WalletActive, filled(byte(i+1), 32), []byte(fmt.Sprint(i))
			return tx.UpdateWalletKey(ctx, w, store.WalletPending)
		})
	})
	if n := countOK(t, errs, store.ErrConflict); n != 1 {
		t.Fatalf("%d racers activated the wallet, want exactly 1 (errors: %v)", n, errs)
	}
	for i, err := range errs {
		if err == nil {
			checkWalletKey(t, ss[0], "w1", i)
		}
	}
}

func checkWalletKey(t *testing.T, s store.Store, id string, winner int) {
	t.Helper()
	ro(t, s, func(ctx context.Context, tx store.Tx) error {
		w, err := tx.GetWallet(ctx, id)
		noErr(t, "GetWallet", err)
		same(t, "winner's key", [3]any{w.Status, w.PublicKey, w.GroupKey},
			[3]any{store.WalletActive, filled(byte(winner+1), 32), []byte(fmt.Sprint(winner))})
		return nil
	})
}

// raceCeremonyFinish: racers finish one key ceremony the way a coordinator
// does: lock the ceremony, check it is still running, read the wallet,
// then complete the ceremony and activate the wallet. GetCeremony orders
// them, so exactly one does the work and no racer meets a conflict or a
// deadlock (GetWallet's share lock is taken by one racer at a time).
func raceCeremonyFinish(t *testing.T, ss []store.Store) {
	rw(t, ss[0], func(ctx context.Context, tx store.Tx) error {
		noErr(t, "CreateWallet", tx.CreateWallet(ctx, newFROSTWallet("w1", "frost")))
		return tx.CreateCeremony(ctx, newCeremony("c1", "w1", t0))
	})
	did := make([]bool, racers)
	errs := race(racers, func(i int) error {
		return pick(ss, i).ReadWriteTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
			did[i] = false
			c, err := tx.GetCeremony(ctx, "c1")
			if err != nil {
				return err
			}
			if c.State != store.CeremonyRunning {
				return nil // finished by another racer
			}
			w, err := tx.GetWallet(ctx, c.WalletID)
			if err != nil {
				return err
			}
			c.State, c.Round, c.UpdatedAt = store.CeremonyCompleted, "done", at(time.Duration(i)*time.Second)
			if err := tx.UpdateCeremony(ctx, c, store.CeremonyRunning); err != nil {
				return err
			}
			w.Status, w.PublicKey, w.GroupKey = store.WalletActive, filled(byte(i+1), 32), []byte(fmt.Sprint(i))
			if err := tx.UpdateWalletKey(ctx, w, store.WalletPending); err != nil {
				return err
			}
			did[i] = true
			return nil
		})
	})
	if n := countOK(t, errs, nil); n != racers {
		t.Fatalf("%d of %d racers' transactions succeeded", n, racers)
	}
	winner := -1
	for i, d := range did {
		if d {
			if winner >= 0 {
				t.Fatalf("racers %d and %d both finished the ceremony", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatal("no racer finished the ceremony")
	}
	checkWalletKey(t, ss[0], "w1", winner)
	ro(t, ss[0], func(ctx context.Context, tx store.Tx) error {
		c, err := tx.GetCeremony(ctx, "c1")
		noErr(t, "GetCeremony", err)
		same(t, "ceremony", [2]any{c.State, c.UpdatedAt}, [2]any{store.CeremonyCompleted, at(time.Duration(winner) * time.Second)})
		return nil
	})
}
