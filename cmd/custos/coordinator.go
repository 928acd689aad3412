package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/custos-dev/custos/approvals/policy"
	"github.com/custos-dev/custos/approvals/proof"
	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/coordinator/httpapi"
	"github.com/custos-dev/custos/coordinator/webui"
	"github.com/custos-dev/custos/internal/keyfile"
	"github.com/custos-dev/custos/internal/seal"
	"github.com/custos-dev/custos/store"
	"github.com/custos-dev/custos/store/postgres"
	"github.com/custos-dev/custos/store/sqlite"
)

// serverConfig is the coordinator's configuration. Secrets come from files.
type serverConfig struct {
	listen            string
	sqlitePath        string
	postgresDSNFile   string
	kekFile           string
	kekPassphraseFile string
	kekSaltFile       string
	decisionKeyFile   string
	guardianKeyFile   string
	logLevel          string
	sweepEvery        time.Duration
	checkpointEvery   time.Duration
	healthEvery       time.Duration
	guardianTimeout   time.Duration
	ratePerSecond     float64
	trustProxy        bool
	webOrigin         string
	// webhooksPrivate lets webhooks reach loopback and private addresses
	// (and use http there): custos dev sets it.
	webhooksPrivate bool
}

func (c *serverConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8080", "address to serve the API on")
	fs.StringVar(&c.sqlitePath, "sqlite", "data/custos.db", "embedded SQLite database file (used unless --postgres-dsn-file is set)")
	fs.StringVar(&c.postgresDSNFile, "postgres-dsn-file", "", "file holding a PostgreSQL DSN; selects the PostgreSQL store")
	fs.StringVar(&c.kekFile, "kek-file", "", "key-encryption key file (64 hex characters, mode 0600)")
	fs.StringVar(&c.kekPassphraseFile, "kek-passphrase-file", "", "passphrase file to derive the key-encryption key with argon2id (instead of --kek-file)")
	fs.StringVar(&c.kekSaltFile, "kek-salt-file", "", "salt file for --kek-passphrase-file (created on first use)")
	fs.StringVar(&c.decisionKeyFile, "decision-key-file", "", "Ed25519 key (PEM) that signs decision proofs")
	fs.StringVar(&c.guardianKeyFile, "guardian-key-file", "", "Ed25519 key (PEM) the coordinator signs guardian messages with (guardians pin its public key); without it guardians and FROST wallets are unavailable")
	fs.DurationVar(&c.healthEvery, "guardian-health-every", 10*time.Second, "how often to check guardians' health and governance state")
	fs.DurationVar(&c.guardianTimeout, "guardian-timeout", 5*time.Second, "deadline of each call to a guardian")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.DurationVar(&c.sweepEvery, "sweep-every", 30*time.Second, "how often to expire overdue requests and resume approved ones")
	fs.DurationVar(&c.checkpointEvery, "checkpoint-every", 10*time.Minute, "how often to sign the audit chain head into the log (0: never)")
	fs.Float64Var(&c.ratePerSecond, "rate-limit", 50, "requests per second allowed per credential")
	fs.BoolVar(&c.trustProxy, "trust-proxy-headers", false, "take client addresses from X-Forwarded-For (only behind a trusted reverse proxy)")
	fs.BoolVar(&c.webhooksPrivate, "webhooks-allow-private", false, "let webhooks reach loopback and private addresses, over http too (development only)")
	fs.StringVar(&c.webOrigin, "web-origin", "", "origin staff open the web UI at, e.g. https://custody.example.com; passkeys are bound to it (default: http://localhost:PORT when listening on a loopback address, else passkeys are off)")
}

func runCoordinatorCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("coordinator", flag.ContinueOnError)
	var cfg serverConfig
	cfg.flags(fs)
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if cfg.decisionKeyFile == "" || (cfg.kekFile == "" && cfg.kekPassphraseFile == "") {
		return usagef("coordinator: --decision-key-file and one of --kek-file or --kek-passphrase-file are required")
	}
	logger := newLogger(cfg.logLevel)
	svc, st, err := buildService(ctx, &cfg, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := svc.InitPolicy(ctx, policy.Default()); err != nil {
		return fmt.Errorf("installing the default policy: %w", err)
	}
	return serve(ctx, &cfg, svc, logger, func(addr string) {
		fmt.Fprintf(out, "custos: coordinator listening on http://%s\n", addr)
	})
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

func openStore(ctx context.Context, cfg *serverConfig) (store.Store, error) {
	if cfg.postgresDSNFile != "" {
		dsn, err := keyfile.Read(cfg.postgresDSNFile)
		if err != nil {
			return nil, err
		}
		return postgres.Open(ctx, string(trimSpace(dsn)))
	}
	if err := os.MkdirAll(filepath.Dir(cfg.sqlitePath), 0o700); err != nil {
		return nil, err
	}
	return sqlite.Open(ctx, cfg.sqlitePath)
}

func loadKEK(cfg *serverConfig) (*seal.KEK, error) {
	if cfg.kekFile != "" {
		return seal.LoadKEKFile(cfg.kekFile)
	}
	salt := cfg.kekSaltFile
	if salt == "" {
		salt = cfg.kekPassphraseFile + ".salt"
	}
	s, err := os.ReadFile(salt)
	if errors.Is(err, os.ErrNotExist) {
		s = make([]byte, 16)
		if _, err := rand.Read(s); err != nil {
			return nil, err
		}
		if err := keyfile.Create(salt, s); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	return seal.DeriveKEKFromPassphraseFile(cfg.kekPassphraseFile, s, seal.DefaultArgon2Params())
}

func buildService(ctx context.Context, cfg *serverConfig, logger *slog.Logger) (*coordinator.Service, store.Store, error) {
	kek, err := loadKEK(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("key-encryption key: %w", err)
	}
	dk, err := keyfile.ReadEd25519(cfg.decisionKeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("decision key: %w", err)
	}
	signer, err := proof.NewSigner(dk)
	clear(dk)
	if err != nil {
		return nil, nil, err
	}
	var gk ed25519.PrivateKey
	if cfg.guardianKeyFile != "" {
		if gk, err = keyfile.ReadEd25519(cfg.guardianKeyFile); err != nil {
			return nil, nil, fmt.Errorf("guardian key: %w", err)
		}
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the store: %w", err)
	}
	origin := cfg.webOrigin
	if origin == "" {
		origin = loopbackOrigin(cfg.listen)
	}
	if origin == "" {
		logger.Warn("passkeys are off: set --web-origin to the address staff open the web UI at")
	}
	svc, err := coordinator.New(coordinator.Config{Store: st, KEK: kek, DecisionKey: signer, Logger: logger,
		GuardianKey: gk, GuardianTimeout: cfg.guardianTimeout, GuardianStale: 3 * cfg.healthEvery,
		Passkeys: coordinator.PasskeyConfig{Origin: origin}, Webhooks: coordinator.WebhookConfig{AllowPrivate: cfg.webhooksPrivate}})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return svc, st, nil
}

// loopbackOrigin is the web UI's origin for a coordinator listening on a
// loopback address: http://localhost:PORT (browsers allow passkeys over
// plain HTTP on localhost only, not on 127.0.0.1). "" otherwise.
func loopbackOrigin(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return ""
	}
	return "http://localhost:" + port
}

// serve runs the HTTP server and the sweeper until ctx ends.
func serve(ctx context.Context, cfg *serverConfig, svc *coordinator.Service, logger *slog.Logger, ready func(addr string)) error {
	// Key ceremonies and other background work stop with the server (a
	// later sweep fails an interrupted ceremony), before the store closes.
	defer svc.Close()
	ui, err := webui.New(webui.Config{Service: svc, Logger: logger})
	if err != nil {
		return err
	}
	h, err := httpapi.New(httpapi.Config{Service: svc, Logger: logger, RatePerSecond: cfg.ratePerSecond, TrustProxyHeaders: cfg.trustProxy,
		Mount: ui.Mount})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	// Webhook deliveries stop with the server, before the store closes; an
	// interrupted one is made again at the next start.
	hooksCtx, stopHooks := context.WithCancel(ctx)
	hooksDone := make(chan struct{})
	go func() {
		defer close(hooksDone)
		svc.RunWebhooks(hooksCtx)
	}()
	defer func() { stopHooks(); <-hooksDone }()
	go every(ctx, cfg.sweepEvery, func() {
		if err := svc.Sweep(ctx); err != nil {
			logger.Warn("sweep failed", "err", err)
		}
	})

	if cfg.healthEvery > 0 {
		go every(ctx, cfg.healthEvery, func() {
			if err := svc.GuardianHealth(ctx); err != nil {
				logger.Warn("guardian health check failed", "err", err)
			}
		})
	}
	if cfg.checkpointEvery > 0 {
		go every(ctx, cfg.checkpointEvery, func() {
			if err := svc.PeriodicCheckpoint(ctx); err != nil {
				logger.Warn("audit checkpoint failed", "err", err)
			}
		})
	}
	logger.Info("coordinator started", "addr", ln.Addr().String())
	ready(ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	logger.Info("coordinator stopping")
	return srv.Shutdown(shutdown)
}

// every calls f every d until ctx ends.
func every(ctx context.Context, d time.Duration, f func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}
