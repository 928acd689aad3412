// Package storetest is the conformance suite every store engine must pass:
// round trips of every entity and field, the ErrNotFound / ErrConflict
// contract, rollback, read-only transactions, the audit chain, the spend
// ledger, and concurrent transactions racing for the same rows.
//
// It is test-only material: production code never imports it.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/custos-dev/custos/store"
)

// Run runs the whole suite. open is called once per group of subtests and
// must return a fresh, empty, migrated store, closed by a t.Cleanup it
// registers. Groups run in parallel. The store must let ReadTx run while a
// ReadWriteTx is open (the SQLite engine on a file and PostgreSQL do).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	groups := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"users", testUsers},
		{"passkeys", testPasskeys},
		{"sessions", testSessions},
		{"api_keys", testAPIKeys},
		{"wallets", testWallets},
		{"wallet_keys", testWalletKeys},
		{"guardians", testGuardians},
		{"guardian_invites", testGuardianInvites},
		{"ceremonies", testCeremonies},
		{"webhooks", testWebhooks},
		{"rates", testRates},
		{"policies", testPolicies},
		{"settings", testSettings},
		{"requests", testRequests},
		{"approvals", testApprovals},
		{"transactions", testTransactions},
		{"spend", testSpend},
		{"audit", testAudit},
		{"times", testTimes},
		{"tx/rollback", testRollback},
		{"tx/panic", testPanic},
		{"tx/conflict_keeps_tx_usable", testConflictKeepsTxUsable},
		{"tx/read_only", testReadOnly},
		{"tx/snapshot", testSnapshot},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			g.run(t, open(t))
		})
	}
	t.Run("concurrency", func(t *testing.T) {
		t.Parallel()
		Concurrent(t, func(t *testing.T) []store.Store { return []store.Store{open(t)} })
	})
}

// t0 is a microsecond-aligned instant: stored times keep microseconds.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793000, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func ptr(t time.Time) *time.Time { return &t }

func rw(t testing.TB, s store.Store, f func(ctx context.Context, tx store.Tx) error) {
	t.Helper()
	if err := s.ReadWriteTx(context.Background(), f); err != nil {
		t.Fatalf("ReadWriteTx: %v", err)
	}
}

func ro(t testing.TB, s store.Store, f func(ctx context.Context, tx store.Tx) error) {
	t.Helper()
	if err := s.ReadTx(context.Background(), f); err != nil {
		t.Fatalf("ReadTx: %v", err)
	}
}

// write runs one write method in its own read-write transaction and returns
// its error.
func write(s store.Store, f func(ctx context.Context, tx store.Tx) error) error {
	return s.ReadWriteTx(context.Background(), f)
}

// readOne returns what f reads in a read-only transaction, and its error.
func readOne[T any](s store.Store, f func(ctx context.Context, tx store.Tx) (T, error)) (T, error) {
	var v T
	err := s.ReadTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
		var err error
		v, err = f(ctx, tx)
		return err
	})
	return v, err
}

// mustRead is readOne failing the test on an error; what names the read.
func mustRead[T any](t testing.TB, s store.Store, what string, f func(ctx context.Context, tx store.Tx) (T, error)) T {
	t.Helper()
	v, err := readOne(s, f)
	noErr(t, what, err)
	return v
}

// checkErr checks that err is want, or that there is none if want is nil.
func checkErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if want == nil {
		noErr(t, what, err)
		return
	}
	wantErr(t, what, err, want)
}

func wantErr(t testing.TB, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func noErr(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func same(t testing.TB, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %s\nwant %s", what, show(got), show(want))
	}
}

// show prints pointers' targets, so that a diff is readable.
func show(v any) string {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice {
		s := "["
		for i := 0; i < rv.Len(); i++ {
			if i > 0 {
				s += ", "
			}
			s += show(rv.Index(i).Interface())
		}
		return s + "]"
	}
	if rv.Kind() == reflect.Pointer && !rv.IsNil() {
		return fmt.Sprintf("&%+v", rv.Elem().Interface())
	}
	return fmt.Sprintf("%+v", v)
}

func b(s string) []byte { return []byte(s) }

// filled returns n bytes of value v.
func filled(v byte, n int) []byte { return bytes.Repeat([]byte{v}, n) }

func newUser(id, name string) *store.User {
	return &store.User{ID: id, Name: name, Role: store.RoleApprover, PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", CreatedAt: t0}
}

func newWallet(id, name string) *store.Wallet {
	return &store.Wallet{ID: id, Name: name, Mode: store.ModeHD, Curve: "secp256k1", DerivationPath: "m/44'/60'/0'/0/0",
		PublicKey: filled(2, 33), SealedSeed: filled(0xaa, 80), KeyVersion: 1, CreatedAt: t0, Status: store.WalletActive}
}

func newRequest(id string) *store.Request {
	return &store.Request{ID: id, Action: "transfer", RequesterID: "u-req", Payload: b(`{"to":"0xabc","amount":"100"}`),
		Fingerprint: filled(0xf1, 32), PolicyVersion: 3, PolicyHash: filled(0xb3, 32), EURCents: 1234567,
		Requirement: b(`{"approvals":2,"roles":["treasury_manager"]}`), Revision: 1, Status: store.RequestPending,
		CreatedAt: t0, UpdatedAt: t0, ExpiresAt: at(24 * time.Hour)}
}

func newTransaction(id string) *store.Transaction {
	return &store.Transaction{ID: id, RequestID: "", ClientID: "k1", IdempotencyKey: "", BodyHash: filled(0xbd, 32),
		WalletID: "w1", Chain: "ethereum", Asset: "eth", To: "0x00000000219ab540356cBB839Cbe05303d7705Fa",
		Amount: "1000000000000000000", Memo: "invoice 42", Nonce: "7", Intent: b(`{"intent":1}`),
		Fingerprint: filled(0xf2, 32), EURCents: 254317, Status: store.TxPendingApproval, CreatedAt: t0, UpdatedAt: t0}
}
