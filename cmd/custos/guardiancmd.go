package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/custos-dev/custos/governance"
	"github.com/custos-dev/custos/guardian"
)

// runGuardian is `custos guardian`: the operator's commands for a guardian
// node (init, enroll, run, status, audit) and, for anything else, the
// coordinator-side administration of guardians.
func runGuardian(ctx context.Context, args []string, out io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "init":
			return guardianInit(args[1:], out)
		case "enroll":
			return guardianEnroll(ctx, args[1:], out)
		case "run":
			return guardianRun(ctx, args[1:], out)
		case "status":
			return guardianStatus(ctx, args[1:], out)
		case "audit":
			return guardianAudit(ctx, args[1:], out)
		}
	}
	return runGuardianAdmin(ctx, args, out)
}

func guardianDirFlag(fs *flag.FlagSet) *string {
	return fs.String("dir", envOr("CUSTOS_GUARDIAN_DIR", "./guardian-data"), "guardian directory (keys, sealed shares, state)")
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func guardianInit(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("guardian init", flag.ContinueOnError)
	dir := guardianDirFlag(fs)
	listen := fs.String("listen", "127.0.0.1:7101", "address the guardian serves on")
	endpoint := fs.String("endpoint", "", "URL the coordinator calls (default http://LISTEN)")
	pass := fs.String("passphrase-file", "", "derive the share-encryption key with argon2id from this 0600 file instead of a KEK file")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	st, err := guardian.Init(*dir, guardian.InitOptions{Listen: *listen, Endpoint: *endpoint, PassphraseFile: *pass})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "guardian initialised in %s\n  identity key   %s\n  encryption key %s\n  listen %s, endpoint %s\nnext: custos guardian enroll --dir %s --coordinator URL --code CODE\n",
		*dir, st.IdentityKey, st.EncryptionKey, st.Listen, st.Endpoint, *dir)
	return nil
}

func guardianEnroll(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("guardian enroll", flag.ContinueOnError)
	dir := guardianDirFlag(fs)
	coord := fs.String("coordinator", "", "coordinator URL")
	code := fs.String("code", "", "single-use claim code from `custos guardian invite`")
	expect := fs.String("governance-hash", "", "the governance hash the coordinator's administrators confirmed (skips the prompt)")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if *coord == "" || *code == "" {
		return usagef("usage: custos guardian enroll --dir DIR --coordinator URL --code CODE [--governance-hash HEX]")
	}
	n, err := guardian.Open(*dir, guardian.Options{})
	if err != nil {
		return err
	}
	defer n.Close()
	confirm := func(hash string, st *governance.State) error {
		fmt.Fprintf(out, "governance state offered by the coordinator:\n  hash %s\n  policy %d bytes, %d approvers:\n", hash, len(st.Policy), len(st.Roster))
		for _, m := range st.Roster {
			fmt.Fprintf(out, "    %-20s %-17s %x\n", m.Name, m.Role, m.Key)
		}
		if *expect != "" {
			if !strings.EqualFold(*expect, hash) {
				return fmt.Errorf("the governance hash is %s, not the %s you expected; not enrolled (nothing was claimed: the code is still usable)", hash, *expect)
			}
			return nil
		}
		fmt.Fprint(out, "compare the hash with your administrators' and type it (or its first 16 characters) to accept: ")
		line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		line = strings.TrimSpace(line)
		if len(line) < 16 || !strings.HasPrefix(hash, strings.ToLower(line)) {
			return errors.New("the hash was not confirmed; not enrolled (nothing was claimed: the code is still usable)")
		}
		return nil
	}
	er, err := n.Enroll(ctx, *coord, *code, confirm)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "enrolled as guardian %s (%s); coordinator key %x pinned\nnext: custos guardian run --dir %s\n", er.GuardianID, er.Name, er.CoordinatorKey, *dir)
	return nil
}

func guardianRun(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("guardian run", flag.ContinueOnError)
	dir := guardianDirFlag(fs)
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	log := newLogger("info")
	n, err := guardian.Open(*dir, guardian.Options{Logger: log, Fault: os.Getenv("CUSTOS_GUARDIAN_TEST_FAULT")})
	if err != nil {
		return err
	}
	defer n.Close()
	if n.ID() == "" {
		return fmt.Errorf("guardian in %s is not enrolled; run `custos guardian enroll` first", *dir)
	}
	cfg := n.Config()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: n.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 5 * time.Minute}
	log.Info("guardian listening", "guardian", n.ID(), "addr", ln.Addr().String())
	fmt.Fprintf(out, "guardian %s listening on %s\n", n.ID(), ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	case err := <-errc:
		return err
	}
}

func guardianStatus(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("guardian status", flag.ContinueOnError)
	dir := guardianDirFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	d, err := guardian.Inspect(*dir)
	if err != nil {
		return err
	}
	defer d.Close()
	st, err := d.Status(ctx)
	if err != nil {
		return err
	}
	running := "not answering"
	if guardianAnswers(st.Endpoint, 2*time.Second) {
		running = "running"
	}
	if *asJSON {
		return json.NewEncoder(out).Encode(struct {
			*guardian.Status
			Daemon string `json:"daemon"`
		}{st, running})
	}
	id := st.Name + " (" + st.GuardianID + ")"
	if st.GuardianID == "" {
		id = "(not enrolled)"
	}
	fmt.Fprintf(out, "guardian       %s\ndaemon         %s at %s\nidentity key   %s\ncoordinator    %s (key %s)\ngovernance     %s (%d approved changes applied)\nkeys:\n",
		id, running, st.Endpoint, st.IdentityKey, st.Coordinator, st.CoordinatorKey, st.GovernanceHash, st.Applied)
	for _, k := range st.Keys {
		fmt.Fprintf(out, "  wallet %s v%d  participant %d  %s\n", k.WalletID, k.KeyVersion, k.Index, k.Status)
	}
	return nil
}

func guardianAudit(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("guardian audit", flag.ContinueOnError)
	dir := guardianDirFlag(fs)
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	d, err := guardian.Inspect(*dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.ExportEvents(ctx, func(line []byte) error {
		if _, err := out.Write(line); err != nil {
			return err
		}
		if len(line) == 0 || line[len(line)-1] != '\n' {
			_, err := out.Write([]byte("\n"))
			return err
		}
		return nil
	})
}

// guardianAnswers reports whether the guardian at endpoint answers its
// health check within timeout.
func guardianAnswers(endpoint string, timeout time.Duration) bool {
	resp, err := (&http.Client{Timeout: timeout}).Get(strings.TrimRight(endpoint, "/") + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
