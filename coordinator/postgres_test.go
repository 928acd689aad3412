package coordinator_test

import (
	"context"
	"crypto/ed25519"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/hd"
	"github.com/custos-dev/custos/store"
	"github.com/custos-dev/custos/store/postgres"
	"github.com/custos-dev/custos/store/postgres/pgtest"
	"github.com/jackc/pgx/v5"
)

// openPG opens a store on dsn, closed when the test ends.
func openPG(t *testing.T, dsn string) store.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// seededPG opens a fresh PostgreSQL database and seeds it.
func seededPG(t *testing.T) (dsn string, st store.Store, sd *seeded) {
	t.Helper()
	dsn = pgtest.NewDatabase(t, os.Getenv(pgtest.EnvDSN))
	st = openPG(t, dsn)
	sd, err := seed(context.Background(), testService(t, st, func() time.Time { return testStart }))
	if err != nil {
		t.Fatal(err)
	}
	return dsn, st, sd
}

// twoPGCoordinators runs two coordinators on one seeded PostgreSQL
// database, each with its own connection pool, on one clock.
func twoPGCoordinators(t *testing.T) (a, b *fixture) {
	t.Helper()
	dsn, st, sd := seededPG(t)
	a = newFixtureOn(t, st, "", sd)
	b = newFixtureOn(t, openPG(t, dsn), "", sd)
	b.clock = a.clock
	return a, b
}

// TestTwoCoordinatorsOnePostgresSignOnce runs two coordinators, each with
// its own connection pool, on one PostgreSQL database and races the
// approvals that complete a quorum through both: exactly one signature.
func TestTwoCoordinatorsOnePostgresSignOnce(t *testing.T) {
	ctx := context.Background()
	a, b := twoPGCoordinators(t)

	for round := 0; round < 3; round++ {
		tx := a.submit(a.api, a.ethW, "eth", "0xrace", eth(6)) // EUR 15,000: 4 incl. a treasury manager
		for _, n := range []string{"alice", "bob"} {
			if _, err := a.vote(n, tx.RequestID, approvals.Approve); err != nil {
				t.Fatal(err)
			}
		}
		// dave, tess and carol complete the quorum at the same time on both
		// coordinators; every vote is sent to both.
		var wg sync.WaitGroup
		for _, n := range []string{"dave", "tess", "carol"} {
			sig := a.sign(n, tx.RequestID, approvals.Approve)
			for _, f := range []*fixture{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					f.svc.Vote(ctx, f.users[n], tx.RequestID, approvals.Approve, sig) // losers get a conflict
				}()
			}
		}
		wg.Wait()
		got := a.tx(tx.ID)
		if got.Status != store.TxSigned || !hd.VerifySecp256k1(a.ethW.PublicKey, got.Intent, got.Signature) {
			t.Fatalf("round %d: status %s", round, got.Status)
		}
		var events []*audit.Event
		err := a.st.ReadTx(ctx, func(ctx context.Context, txn store.Tx) error {
			var err error
			events, err = txn.ListAudit(ctx, 0, 0)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		signs, signing := 0, 0
		for _, e := range events {
			if e.Target != "transaction:"+tx.ID {
				continue
			}
			switch e.Action {
			case "transaction.sign":
				signs++
			case "transaction.signing":
				signing++
			}
		}
		if signs != 1 || signing != 1 {
			t.Fatalf("round %d: %d sign and %d signing events for one transfer, want 1 and 1", round, signs, signing)
		}
		var spent, count int64
		a.st.ReadTx(ctx, func(ctx context.Context, txn store.Tx) error {
			var err error
			spent, count, err = txn.SpendSince(ctx, a.ethW.ID, testStart.Add(-time.Hour))
			return err
		})
		if count != int64(round+1) || spent != int64(round+1)*1_500_000 {
			t.Fatalf("round %d: spend ledger holds %d transfers, EUR cents %d", round, count, spent)
		}
	}
}

// TestConcurrentGovernanceChangesOnePostgres: two coordinators execute two
// approved governance changes at the same time on one PostgreSQL
// database. Both land in the governance log, in an order a guardian can
// apply: a guardian that missed both catches up to the coordinators' state.
func TestConcurrentGovernanceChangesOnePostgres(t *testing.T) {
	ctx := context.Background()
	a, b := twoPGCoordinators(t)
	net := &fakeNet{coord: coordinatorGuardianKey.Public().(ed25519.PublicKey), now: a.clock.Now, guardians: map[string]*fakeGuardian{}}
	ga := &guardianFixture{fixture: a, net: net}
	for _, f := range []*fixture{a, b} {
		f.svc = guardianService(t, f.st, f.clock, net)
	}
	g := ga.enrol("g1")
	g.set(func(g *fakeGuardian) { g.down = true })
	a.clock.Advance(time.Minute)

	var reqs []string
	for _, r := range []coordinator.RateInput{{Asset: "sol", EURPerUnit: "300", Decimals: 9}, {Asset: "eth", EURPerUnit: "5000", Decimals: 18}} {
		_, v, err := a.svc.PutRate(ctx, a.users["ada"], r)
		if err != nil || v == nil {
			t.Fatalf("rate.set request: %v", err)
		}
		if _, err := a.vote("alice", v.Request.ID, approvals.Approve); err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, v.Request.ID)
	}
	var wg sync.WaitGroup
	for i, id := range reqs {
		f := []*fixture{a, b}[i]
		sig := a.sign("tess", id, approvals.Approve)
		wg.Go(func() {
			if _, err := f.svc.Vote(ctx, f.users["tess"], id, approvals.Approve, sig); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	want, err := a.svc.GovernanceHash(ctx, a.users["victor"])
	if err != nil {
		t.Fatal(err)
	}
	g.set(func(g *fakeGuardian) { g.down = false })
	if err := b.svc.GuardianHealth(ctx); err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	got, applied := g.govHash, len(g.applied)
	g.mu.Unlock()
	if got != want || applied != 2 {
		t.Fatalf("guardian reached %s after %d changes, coordinators hold %s", got, applied, want)
	}
}

// TestApprovalsRaceSubmissionsOnePostgres races the approvals that
// complete quorums (each reserves its transfer in the vote's transaction)
// with submissions on the same wallet: both lock the wallet, the spend
// ledger and the audit chain's head, in that order, so PostgreSQL detects
// no deadlock and every vote goes through.
func TestApprovalsRaceSubmissionsOnePostgres(t *testing.T) {
	ctx := context.Background()
	dsn, st, sd := seededPG(t)
	f := newFixtureOn(t, st, "", sd)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	deadlocks := func() int64 {
		var n int64
		if err := conn.QueryRow(ctx, `SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	var reqs, txs []string
	for range 40 {
		tx := f.submit(f.api, f.ethW, "eth", "0xabc", eth(1))
		if _, err := f.vote("alice", tx.RequestID, approvals.Approve); err != nil {
			t.Fatal(err)
		}
		reqs, txs = append(reqs, tx.RequestID), append(txs, tx.ID)
	}
	before := deadlocks()
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(reqs))
	for _, id := range reqs {
		sig := f.sign("bob", id, approvals.Approve)
		wg.Go(func() {
			if _, err := f.svc.Vote(ctx, f.users["bob"], id, approvals.Approve, sig); err != nil {
				errs <- err
			}
		})
		wg.Go(func() {
			in := coordinator.TransferInput{WalletID: f.ethW.ID, Chain: "message", Asset: "eth", To: "0xdef", Amount: eth(1)}
			if _, _, err := f.svc.SubmitTransfer(ctx, f.api, in, ""); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Each approved transfer is signed, or denied by the velocity limits
	// the racing submissions used up: a policy decision, not an error.
	for _, id := range txs {
		if tx := f.tx(id); tx.Status != store.TxSigned && (tx.Status != store.TxDenied || !strings.Contains(tx.FailureReason, "velocity")) {
			t.Fatalf("transfer %s is %s after its approval: %s", id, tx.Status, tx.FailureReason)
		}
	}
	st.Close() // its sessions end and report their statistics
	time.Sleep(200 * time.Millisecond)
	if n := deadlocks() - before; n != 0 {
		t.Fatalf("PostgreSQL detected %d deadlocks", n)
	}
}
