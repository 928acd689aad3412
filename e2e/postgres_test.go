package e2e

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/custos-dev/custos/approvals/policy"
	"github.com/custos-dev/custos/approvals/proof"
	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/internal/seal"
	"github.com/custos-dev/custos/store"
	"github.com/custos-dev/custos/store/postgres"
	"github.com/custos-dev/custos/store/postgres/pgtest"
)

// createDatabase creates a fresh database through the admin DSN, dropped
// when the test ends, and returns a DSN for it.
func createDatabase(t *testing.T, adminDSN string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn, drop, err := pgtest.CreateDatabase(ctx, adminDSN, "custos_e2e")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	return dsn
}

// pgSystem is what seedPostgres set up for the coordinators and the test.
type pgSystem struct {
	dsn                                string
	dsnFile, kekFile, decisionKeyFile  string
	apiKey                             string
	passwords                          map[string]string
	keys                               map[string]ed25519.PrivateKey // approval keys
	wallets                            []string                      // ids: secp256k1, ed25519
	walletAsset, walletCurve, walletAm map[string]string
}

// seedPostgres bootstraps a Custos installation in the database with the
// coordinator package, the way an installer would: default policy, staff
// with approval keys, an API key, EUR rates and two HD wallets, plus the
// KEK, decision key and DSN files the coordinator processes read.
func seedPostgres(t *testing.T, dsn string) *pgSystem {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	sys := &pgSystem{
		dsn:             dsn,
		dsnFile:         filepath.Join(dir, "postgres.dsn"),
		kekFile:         filepath.Join(dir, "kek.hex"),
		decisionKeyFile: filepath.Join(dir, "decision-key.pem"),
		passwords:       map[string]string{},
		keys:            map[string]ed25519.PrivateKey{},
		walletAsset:     map[string]string{},
		walletCurve:     map[string]string{},
		walletAm:        map[string]string{},
	}
	if err := os.WriteFile(sys.dsnFile, []byte(dsn+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := seal.GenerateKEKFile(sys.kekFile, rand.Reader); err != nil {
		t.Fatal(err)
	}
	kek, err := seal.LoadKEKFile(sys.kekFile)
	if err != nil {
		t.Fatal(err)
	}
	_, dk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(dk)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sys.decisionKeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := proof.NewSigner(dk)
	if err != nil {
		t.Fatal(err)
	}
	st, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("opening the PostgreSQL store: %v", err)
	}
	defer st.Close()
	svc, err := coordinator.New(coordinator.Config{Store: st, KEK: kek, DecisionKey: signer})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.InitPolicy(ctx, policy.Default()); err != nil {
		t.Fatal(err)
	}
	staff := []struct{ name, role string }{
		{"ada", store.RoleAdmin}, {"tess", store.RoleTreasuryManager}, {"alice", store.RoleApprover},
		{"bob", store.RoleApprover}, {"carol", store.RoleApprover}, {"dave", store.RoleApprover}, {"aude", store.RoleAuditor},
	}
	ids := make([]string, len(staff))
	errs := make([]error, len(staff))
	var wg sync.WaitGroup
	for i, u := range staff {
		sys.passwords[u.name] = base64.RawURLEncoding.EncodeToString([]byte(randomHex(t, 12)))
		var pub ed25519.PublicKey
		if u.role == store.RoleApprover || u.role == store.RoleTreasuryManager {
			p, k, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			sys.keys[u.name], pub = k, p
		}
		pw := sys.passwords[u.name]
		// Password hashing (argon2id) dominates; hash concurrently.
		wg.Go(func() {
			created, err := svc.BootstrapUser(ctx, u.name, u.role, pw, pub)
			if err == nil {
				ids[i] = created.ID
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("bootstrap user %s: %v", staff[i].name, err)
		}
	}
	key, err := svc.BootstrapAPIKey(ctx, ids[0], "e2e-payments", []string{"transactions:write", "transactions:read", "wallets:read", "approvals:read"})
	if err != nil {
		t.Fatal(err)
	}
	sys.apiKey = key.Reveal()
	for _, r := range []coordinator.RateInput{{Asset: "eth", EURPerUnit: "2500.00", Decimals: 18}, {Asset: "sol", EURPerUnit: "150.00", Decimals: 9}} {
		if err := svc.BootstrapRate(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range []struct{ name, curve, asset, amount string }{
		{"pg-eth", coordinator.CurveSecp256k1, "eth", "6000000000000000000"}, // EUR 15,000
		{"pg-sol", coordinator.CurveEd25519, "sol", "100000000000"},          // EUR 15,000
	} {
		created, err := svc.CreateWalletNow(ctx, "bootstrap", coordinator.WalletInput{Name: w.name, Mode: store.ModeHD, Curve: w.curve})
		if err != nil {
			t.Fatal(err)
		}
		sys.wallets = append(sys.wallets, created.ID)
		sys.walletAsset[created.ID], sys.walletCurve[created.ID], sys.walletAm[created.ID] = w.asset, w.curve, w.amount
	}
	return sys
}

// startCoordinator starts one `custos coordinator` replica on the database
// and returns its base URL. The sweeper runs often, so that it races the
// voters to execute approved requests.
func startCoordinator(t *testing.T, sys *pgSystem, name string) string {
	t.Helper()
	for attempt := 1; ; attempt++ {
		addr := freeAddr(t)
		p := startProcess(t, t.TempDir(), nil, name, "coordinator", "--postgres-dsn-file", sys.dsnFile, "--kek-file", sys.kekFile,
			"--decision-key-file", sys.decisionKeyFile, "--listen", addr, "--log-level", "warn", "--sweep-every", "50ms")
		if p.waitReady(t, "http://"+addr+"/readyz") {
			t.Cleanup(func() { p.stop(t) })
			t.Cleanup(func() { p.logTailIfFailed(t) })
			return "http://" + addr
		}
		if attempt == 3 {
			t.Fatalf("%s: no free port after %d attempts\n%s", name, attempt, p.tail())
		}
	}
}

// TestPostgresReplicasSignOnce is acceptance point 6: two coordinator
// processes on one PostgreSQL database, receiving the deciding approvals
// (and a duplicate) at the same moment, sign each transfer exactly once.
func TestPostgresReplicasSignOnce(t *testing.T) {
	t.Parallel()
	adminDSN := os.Getenv(envPostgres)
	if adminDSN == "" {
		t.Skip("!!! SKIPPED: " + envPostgres + " is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable); " +
			"the two-replica PostgreSQL race is not tested")
	}
	dsn := createDatabase(t, adminDSN)
	sys := seedPostgres(t, dsn)
	replicas := []string{startCoordinator(t, sys, "coordinator-a"), startCoordinator(t, sys, "coordinator-b")}
	a, b := replicas[0], replicas[1]

	tokens := map[string]string{}
	for _, name := range []string{"tess", "alice", "bob", "carol", "dave", "aude"} {
		// Sessions live in the database: a login on A works on B.
		tokens[name] = login(t, replicas[len(tokens)%2], name, sys.passwords[name])
	}
	wallets := listWallets(t, b, sys.apiKey)

	const rounds = 12
	var signedTx []string
	for round := range rounds {
		walletID := sys.wallets[round%2]
		t.Run(fmt.Sprintf("ok/round%d_%s_signed_once", round+1, sys.walletCurve[walletID]), func(t *testing.T) {
			r := doHTTP(t, a, request{Method: http.MethodPost, Path: "/v1/transactions", Token: sys.apiKey,
				Body: map[string]string{"wallet_id": walletID, "chain": "message", "asset": sys.walletAsset[walletID],
					"to": fmt.Sprintf("0xrace-%d", round), "amount": sys.walletAm[walletID]}})
			expectStatus(t, r, http.StatusCreated)
			var tx txView
			r.decode(t, &tx)
			if tx.Status != "pending_approval" || tx.Decision.Requirement.Approvals != 4 {
				t.Fatalf("submitted transfer %s needs %+v, want pending with 4 approvals", tx.Status, tx.Decision.Requirement)
			}
			req := getRequest(t, b, sys.apiKey, tx.RequestID)
			for i, name := range []string{"alice", "bob", "dave"} {
				r := doHTTP(t, replicas[i%2], signVote(t, tokens[name], sys.keys[name], req))
				expectStatus(t, r, http.StatusOK)
			}
			if got := getRequest(t, a, sys.apiKey, req.ID); got.Status != "pending" || got.Tally.Approvals != 3 {
				t.Fatalf("after 3 approvals: %s with %d", got.Status, got.Tally.Approvals)
			}

			// The race: tess (the deciding treasury manager) at both
			// replicas, and carol at both, all at once.
			shots := []struct{ name, url string }{{"tess", a}, {"tess", b}, {"carol", b}, {"carol", a}}
			answers := make([]*apiResponse, len(shots))
			failures := make([]error, len(shots))
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i, s := range shots {
				rq := signVote(t, tokens[s.name], sys.keys[s.name], req)
				wg.Go(func() {
					<-start
					answers[i], failures[i] = tryHTTP(s.url, rq)
				})
			}
			close(start)
			wg.Wait()
			accepted := map[string]int{}
			var outcome []string
			for i, s := range shots {
				if failures[i] != nil {
					t.Fatalf("%s's vote at %s: %v", s.name, s.url, failures[i])
				}
				ans := answers[i]
				var env errorEnvelope
				_ = json.Unmarshal(ans.Body, &env)
				outcome = append(outcome, fmt.Sprintf("%s@%s:%d%s", s.name, map[string]string{a: "A", b: "B"}[s.url], ans.Status, strings.TrimSuffix(" "+env.Error.Code, " ")))
				switch ans.Status {
				case http.StatusOK:
					accepted[s.name]++
				case http.StatusConflict:
					env := expectError(t, ans, http.StatusConflict, "")
					if c := env.Error.Code; c != "duplicate_vote" && c != "request_not_pending" && c != "conflict" {
						t.Errorf("%s's vote at %s refused with %s", s.name, s.url, ans)
					}
				default:
					t.Errorf("%s's vote at %s: %s", s.name, s.url, ans)
				}
			}
			t.Logf("race: %s", strings.Join(outcome, ", "))
			if accepted["tess"] != 1 || accepted["carol"] > 1 {
				t.Errorf("accepted votes %v: tess must count exactly once, carol at most once", accepted)
			}

			// The vote that met the quorum, or a sweeper, signs; wait for it.
			deadline := time.Now().Add(time.Minute)
			var final *txView
			for {
				final = getTx(t, replicas[round%2], sys.apiKey, tx.ID)
				if final.Status != "approved" && final.Status != "signing" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("transaction still %s a minute after the quorum", final.Status)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if final.Status != "signed" {
				t.Fatalf("transaction %s (%s), want signed", final.Status, final.FailureReason)
			}
			w := wallets[walletID]
			if err := verifyWalletSignature(w.Curve, w.PublicKey, final.Signature, final.Intent); err != nil {
				t.Fatalf("signature: %v", err)
			}
			if got := getRequest(t, b, sys.apiKey, req.ID); got.Status != "executed" || !got.Tally.QuorumMet {
				t.Errorf("request %s, quorum %v; want executed", got.Status, got.Tally.QuorumMet)
			}
			signedTx = append(signedTx, tx.ID)
		})
	}

	t.Run("ok/one_signing_per_transaction", func(t *testing.T) {
		if len(signedTx) != rounds {
			t.Fatalf("%d of %d rounds signed", len(signedTx), rounds)
		}
		dir := t.TempDir()
		tokenFile := filepath.Join(dir, "aude.token")
		if err := os.WriteFile(tokenFile, []byte(tokens["aude"]), 0o600); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "audit.jsonl")
		mustCLI(t, "audit", "export", "--api", b, "--token-file", tokenFile, "--out", path)
		// Both replicas appended to one chain; it must still be intact.
		verifyIntact(t, path)
		_, events := readAuditExport(t, path)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, sys.dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		for _, id := range signedTx {
			target := "transaction:" + id
			if n := countEvents(events, "transaction.sign", target, ""); n != 1 || countEvents(events, "transaction.sign", target, "success") != 1 {
				t.Errorf("%d transaction.sign events for %s, want exactly 1 success", n, id)
			}
			if n := countEvents(events, "transaction.signing", target, ""); n != 1 {
				t.Errorf("%d transaction.signing events for %s, want 1", n, id)
			}
			var spends int
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM spend_entries WHERE transaction_id = $1", id).Scan(&spends); err != nil {
				t.Fatal(err)
			}
			if spends != 1 {
				t.Errorf("%d spend entries for %s, want 1", spends, id)
			}
		}
	})

	t.Run("ok/no_deadlocks_between_replicas", func(t *testing.T) {
		// Votes, sweeps and the signing phases of both replicas take the
		// request row before the transaction row; taking them in the other
		// order deadlocks, and a signing phase that loses every retry
		// leaves its transaction in "signing" for good. PostgreSQL counts
		// deadlocks per database (its statistics may lag the last second,
		// so this can miss a late one, never invent one).
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, sys.dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var deadlocks int64
		if err := conn.QueryRow(ctx, "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()").Scan(&deadlocks); err != nil {
			t.Fatal(err)
		}
		if deadlocks != 0 {
			t.Errorf("PostgreSQL detected %d deadlocks in the coordinators' database", deadlocks)
		}
	})

	t.Run("ok/proof_from_one_replica_verifies_with_the_other", func(t *testing.T) {
		if len(signedTx) == 0 {
			t.Skip("no signed transaction")
		}
		dir := t.TempDir()
		keyFile := filepath.Join(dir, "api.key")
		if err := os.WriteFile(keyFile, []byte(sys.apiKey), 0o600); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "proof.json")
		mustCLI(t, "tx", "show", "--api", a, "--token-file", keyFile, "--proof-out", p, signedTx[0])
		out := mustCLI(t, "proof", "verify", "--api", b, p)
		if !strings.Contains(out, "is valid") || !strings.Contains(out, " at pre_signing") {
			t.Errorf("proof verify:\n%s", out)
		}
	})
}
