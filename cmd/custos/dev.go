package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/custos-dev/custos/approvals/policy"
	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/internal/auth"
	"github.com/custos-dev/custos/internal/seal"
	"github.com/custos-dev/custos/store"
)

// demoUsers are seeded by custos dev.
var demoUsers = []struct{ name, role string }{
	{"ada", store.RoleAdmin},
	{"tess", store.RoleTreasuryManager},
	{"alice", store.RoleApprover},
	{"bob", store.RoleApprover},
	{"carol", store.RoleApprover},
	{"dave", store.RoleApprover},
	{"victor", store.RoleViewer},
	{"aude", store.RoleAuditor},
}

// demoRates are the EUR prices custos dev keeps fresh.
var demoRates = []coordinator.RateInput{
	{Asset: "eth", EURPerUnit: "2500.00", Decimals: 18},
	{Asset: "btc", EURPerUnit: "60000.00", Decimals: 8},
	{Asset: "sol", EURPerUnit: "150.00", Decimals: 9},
	{Asset: "usdc", EURPerUnit: "0.92", Decimals: 6},
}

func runDev(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	dataDir := fs.String("data", "data", "directory for the database, keys and credentials")
	var cfg serverConfig
	fs.StringVar(&cfg.listen, "listen", "127.0.0.1:8080", "address to serve the API on")
	fs.StringVar(&cfg.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.Float64Var(&cfg.ratePerSecond, "rate-limit", 50, "requests per second allowed per credential")
	refresh := fs.Duration("refresh-rates", 5*time.Minute, "how often to refresh the demo EUR rates (0: never)")
	fs.StringVar(&cfg.postgresDSNFile, "postgres-dsn-file", "", "use the PostgreSQL database named in this file instead of SQLite")
	guardians := fs.Int("guardians", 3, "guardian processes to run on loopback; a 2-of-3 FROST wallet is made among the first three (0: none)")
	guardianPort := fs.Int("guardian-port", 7101, "port of the first guardian; the others follow (0: any free ports)")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if *guardians < 0 || *guardians > 15 {
		return usagef("--guardians must be between 0 and 15")
	}
	if *guardianPort < 0 || *guardianPort+*guardians > 65536 {
		return usagef("--guardian-port must be a port number")
	}
	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		return err
	}
	cfg.sqlitePath = filepath.Join(*dataDir, "custos.db")
	cfg.kekFile = filepath.Join(*dataDir, "kek.hex")
	cfg.decisionKeyFile = filepath.Join(*dataDir, "decision-key.pem")
	cfg.guardianKeyFile = filepath.Join(*dataDir, "guardian-key.pem")
	cfg.sweepEvery = 10 * time.Second
	cfg.checkpointEvery = 10 * time.Minute
	cfg.healthEvery = 5 * time.Second
	cfg.guardianTimeout = 5 * time.Second
	cfg.webhooksPrivate = true // receivers on this machine, for trying webhooks out

	if _, err := os.Stat(cfg.kekFile); errors.Is(err, os.ErrNotExist) {
		if err := seal.GenerateKEKFile(cfg.kekFile, rand.Reader); err != nil {
			return err
		}
		fmt.Fprintf(out, "custos: created a DEVELOPMENT key-encryption key at %s (for development only: production uses --kek-file or --kek-passphrase-file)\n", cfg.kekFile)
	}
	if _, created, err := loadOrCreateKey(cfg.decisionKeyFile); err != nil {
		return err
	} else if created {
		fmt.Fprintf(out, "custos: created the decision-proof signing key at %s\n", cfg.decisionKeyFile)
	}
	if _, created, err := loadOrCreateKey(cfg.guardianKeyFile); err != nil {
		return err
	} else if created {
		fmt.Fprintf(out, "custos: created the coordinator's guardian identity key at %s\n", cfg.guardianKeyFile)
	}
	logger := newLogger(cfg.logLevel)
	svc, st, err := buildService(ctx, &cfg, logger)
	if err != nil {
		return err
	}
	defer st.Close()

	credsPath := filepath.Join(*dataDir, "credentials.json")
	if _, err := os.Stat(credsPath); errors.Is(err, os.ErrNotExist) {
		if err := seedDev(ctx, svc, *dataDir, credsPath, cfg.listen); err != nil {
			return fmt.Errorf("seeding the development system: %w (hint: remove %s and run again)", err, *dataDir)
		}
		fmt.Fprintf(out, "custos: seeded demo users, approval keys, an API key, EUR rates, the default policy and two HD wallets\n")
	}
	// The demo price feed keeps the rates fresh within the band of their
	// approved anchors; it never moves an anchor (guardians hold them too,
	// and only an approved rate.set changes them).
	feed := func() {
		for _, r := range demoRates {
			if err := svc.FeedRate(ctx, r); err != nil {
				logger.Warn("refreshing demo rate failed", "asset", r.Asset, "err", err)
			}
		}
	}
	feed()
	if *refresh > 0 {
		go every(ctx, *refresh, feed)
	}
	var wg sync.WaitGroup
	defer wg.Wait() // the guardian processes stop with the coordinator
	return serve(ctx, &cfg, svc, logger, func(addr string) {
		fmt.Fprintf(out, "custos: credentials written to %s\n", credsPath)
		where := "SQLite store " + cfg.sqlitePath
		if cfg.postgresDSNFile != "" {
			where = "PostgreSQL store"
		}
		fmt.Fprintf(out, "custos: coordinator listening on http://%s (%s)\n", addr, where)
		if origin := svc.PasskeyOrigin(); origin != "" {
			fmt.Fprintf(out, "custos: web UI at %s/ (passwords in %s; passkeys work on this origin)\n", origin, credsPath)
		}
		fmt.Fprintf(out, "hint: in another terminal: ./bin/custos wallet list; ./bin/custos tx submit --wallet treasury-eth --asset eth --to 0xBEEF --amount 6000000000000000000\n")
		if *guardians > 0 {
			dg := &devGuardians{n: *guardians, basePort: *guardianPort, dataDir: *dataDir, credsPath: credsPath,
				coordURL: "http://" + addr, svc: svc, out: out, log: logger}
			wg.Go(func() { dg.run(ctx) })
		}
	})
}

func randomPassword() string {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func seedDev(ctx context.Context, svc *coordinator.Service, dataDir, credsPath, listen string) error {
	if _, err := svc.InitPolicy(ctx, policy.Default()); err != nil {
		return err
	}
	cr := credentials{
		APIURL:          "http://" + listen,
		KEKFile:         filepath.Join(dataDir, "kek.hex"),
		DecisionKeyFile: filepath.Join(dataDir, "decision-key.pem"),
	}
	var adminID string
	for _, du := range demoUsers {
		cu := credUser{Name: du.name, Role: du.role, Password: randomPassword()}
		var pub ed25519.PublicKey
		if du.role == store.RoleApprover || du.role == store.RoleTreasuryManager {
			cu.ApprovalKeyFile = filepath.Join(dataDir, "keys", du.name+".pem")
			k, _, err := loadOrCreateKey(cu.ApprovalKeyFile)
			if err != nil {
				return err
			}
			pub = k.Public().(ed25519.PublicKey)
		}
		u, err := svc.BootstrapUser(ctx, du.name, du.role, cu.Password, pub)
		if err != nil {
			return err
		}
		if du.role == store.RoleAdmin {
			adminID = u.ID
		}
		cr.Users = append(cr.Users, cu)
	}
	key, err := svc.BootstrapAPIKey(ctx, adminID, "demo-payments", []string{auth.ScopeTransactionsWrite,
		auth.ScopeTransactionsRead, auth.ScopeWalletsRead, auth.ScopeApprovalsRead})
	if err != nil {
		return err
	}
	cr.APIKey = key.Reveal()
	for _, r := range demoRates {
		if err := svc.BootstrapRate(ctx, r); err != nil {
			return err
		}
	}
	for _, w := range []coordinator.WalletInput{
		{Name: "treasury-eth", Mode: store.ModeHD, Curve: coordinator.CurveSecp256k1},
		{Name: "treasury-sol", Mode: store.ModeHD, Curve: coordinator.CurveEd25519},
	} {
		created, err := svc.CreateWalletNow(ctx, "bootstrap", w)
		if err != nil {
			return err
		}
		cr.Wallets = append(cr.Wallets, credWallet{ID: created.ID, Name: created.Name, Curve: created.Curve})
	}
	return writeCredentials(credsPath, &cr)
}
