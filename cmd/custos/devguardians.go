package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/governance"
	"github.com/custos-dev/custos/guardian"
	"github.com/custos-dev/custos/internal/keyfile"
	"github.com/custos-dev/custos/store"
)

// devFROSTWallet is the FROST wallet custos dev creates among its guardians.
const devFROSTWallet = "treasury-frost"

// devGuardians is the guardian set of a development system: n processes of
// this same binary (`custos guardian run`), each with its own directory
// under DATA/guardians, on loopback. Each is set up the way an operator
// would: init, invitation by an administrator, enrolment confirming the
// governance hash. Then custos dev files a wallet.create request for a
// FROST wallet among them and approves it with the demo approvers' keys.
type devGuardians struct {
	n         int
	basePort  int // 0: any free port, chosen at init
	dataDir   string
	credsPath string
	coordURL  string
	svc       *coordinator.Service
	out       io.Writer
	log       *slog.Logger

	mu    sync.Mutex
	procs []*devProcess

	sessions []string // signed in during set-up, signed out after it
}

// devProcess is a running guardian child process.
type devProcess struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once Wait returned
}

func (d *devGuardians) dir(i int) string {
	return filepath.Join(d.dataDir, "guardians", "g"+strconv.Itoa(i))
}

// run sets up what is missing, starts the guardian processes, creates the
// FROST wallet if there is none, and stops the processes when ctx ends.
// It reports through the log and the terminal; a failure leaves the
// coordinator running with its HD wallets and the guardians that did
// start.
func (d *devGuardians) run(ctx context.Context) {
	defer d.stop()
	if err := d.setUp(ctx); err != nil && ctx.Err() == nil {
		fmt.Fprintf(d.out, "custos: the development guardians are not fully set up: %v\n", err)
		d.log.Error("development guardians", "err", err)
	}
	<-ctx.Done()
}

func (d *devGuardians) setUp(ctx context.Context) error {
	creds, err := readCredentials(d.credsPath)
	if err != nil {
		return err
	}
	defer func() {
		for _, tok := range d.sessions {
			d.svc.Logout(context.WithoutCancel(ctx), tok)
		}
		d.sessions = nil
	}()
	admin, err := d.login(ctx, creds, store.RoleAdmin)
	if err != nil {
		return err
	}
	// Each guardian on its own: one that cannot be set up or started is
	// reported and the others run.
	var names []string
	var failed []int
	for i := 1; i <= d.n; i++ {
		name, err := d.prepare(ctx, admin, i)
		if err == nil {
			err = d.start(ctx, i)
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Fprintf(d.out, "custos: guardian g%d: %v\n", i, err)
			failed = append(failed, i)
			continue
		}
		names = append(names, name)
	}
	ws, err := d.svc.ListWallets(ctx, admin)
	if err != nil {
		return err
	}
	for _, w := range ws {
		if w.Name == devFROSTWallet {
			fmt.Fprintf(d.out, "custos: FROST wallet %s (%d-of-%d) is %s\n", w.Name, w.Threshold, len(w.Guardians), w.Status)
			if w.Status == store.WalletFailed {
				fmt.Fprintf(d.out, "hint: its key ceremony failed (custos wallet show %s says why); to start over, stop custos dev and remove %s\n", w.Name, d.dataDir)
			}
			if len(failed) > 0 {
				return fmt.Errorf("%d of %d guardians are not running", len(failed), d.n)
			}
			return nil
		}
	}
	if len(failed) > 0 {
		fmt.Fprintf(d.out, "hint: the FROST wallet %s is made once all %d guardians run: fix the above and start custos dev again\n", devFROSTWallet, d.n)
		return fmt.Errorf("%d of %d guardians are not running", len(failed), d.n)
	}
	if d.n < 2 {
		return nil
	}
	return d.createWallet(ctx, creds, admin, names[:min(3, len(names))])
}

// prepare initialises and enrols guardian i if it is not yet, and returns
// its name.
func (d *devGuardians) prepare(ctx context.Context, admin *coordinator.Principal, i int) (string, error) {
	dir, name := d.dir(i), "g"+strconv.Itoa(i)
	if _, err := os.Stat(filepath.Join(dir, guardian.ConfigFile)); errors.Is(err, os.ErrNotExist) {
		listen := "127.0.0.1:" + strconv.Itoa(d.basePort+i-1)
		if d.basePort == 0 {
			if listen, err = freeLoopbackAddr(); err != nil {
				return "", err
			}
		}
		if _, err := guardian.Init(dir, guardian.InitOptions{Listen: listen}); err != nil {
			return "", err
		}
	}
	g, err := guardian.Inspect(dir)
	if err != nil {
		return "", err
	}
	st, err := g.Status(ctx)
	g.Close()
	if err != nil {
		return "", err
	}
	if st.GuardianID != "" {
		return name, nil
	}
	n, err := guardian.Open(dir, guardian.Options{})
	if err != nil {
		return "", err
	}
	defer n.Close()
	// The claim code is kept in the guardian's directory until the
	// enrolment succeeds, so that an interrupted one is taken up again
	// (the invitation stays pending for a day and cannot be made twice).
	codeFile := filepath.Join(dir, "dev-claim-code")
	code, err := keyfile.Read(codeFile)
	if errors.Is(err, os.ErrNotExist) {
		inv, err := d.svc.InviteGuardian(ctx, admin, name)
		var ce *coordinator.Error
		if errors.As(err, &ce) && ce.Code == "guardian_exists" {
			return "", fmt.Errorf("the coordinator has a guardian %s enrolled, but %s does not hold it (was it reset?); to start over, stop custos dev and remove %s", name, dir, d.dataDir)
		}
		if err != nil {
			return "", err
		}
		code = []byte(inv.Code.Reveal())
		if err := keyfile.Create(codeFile, code); err != nil {
			return "", err
		}
	} else if err != nil {
		return "", err
	}
	want, err := d.svc.GovernanceHash(ctx, admin)
	if err != nil {
		return "", err
	}
	// The operator's confirmation: here the administrator and the operator
	// are the same person, so the hash is compared with the coordinator's.
	confirm := func(hash string, _ *governance.State) error {
		if hash != want {
			return fmt.Errorf("governance hash %s offered, %s expected", hash, want)
		}
		return nil
	}
	if _, err := n.Enroll(ctx, d.coordURL, string(code), confirm); err != nil {
		return "", err
	}
	os.Remove(codeFile)
	return name, nil
}

// start runs guardian i as a child process and waits until it answers.
func (d *devGuardians) start(ctx context.Context, i int) error {
	dir := d.dir(i)
	cfg, err := guardian.LoadConfig(dir)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	// The port must be free: a guardian of another custos dev answering
	// there would look like this one.
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s (another custos dev running? pass --guardian-port): %w", cfg.Listen, err)
	}
	ln.Close()
	logPath := filepath.Join(dir, "guardian.log")
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer lf.Close() // the child holds its own descriptor
	cmd := exec.Command(exe, "guardian", "run", "--dir", dir)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.Env = append(os.Environ(), "CUSTOS_GUARDIAN_TEST_FAULT=") // never inherit a fault
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	p := &devProcess{cmd: cmd, exited: make(chan struct{})}
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(p.exited) }()
	d.mu.Lock()
	d.procs = append(d.procs, p)
	d.mu.Unlock()

	deadline := time.Now().Add(30 * time.Second)
	for !guardianAnswers(cfg.Endpoint, time.Second) {
		select {
		case <-p.exited:
			return fmt.Errorf("exited at start (%v); see %s", waitErr, logPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not answering at %s after 30s; see %s", cfg.Endpoint, logPath)
		}
	}
	go func() {
		// A guardian that dies while custos dev runs is reported; the
		// coordinator carries on with the others (and says so).
		<-p.exited
		if ctx.Err() == nil {
			d.log.Error("development guardian exited", "guardian", "g"+strconv.Itoa(i), "err", waitErr, "log", logPath)
		}
	}()
	fmt.Fprintf(d.out, "custos: guardian g%d running at %s (pid %d, log %s)\n", i, cfg.Endpoint, cmd.Process.Pid, logPath)
	return nil
}

// stop asks every guardian process to stop and waits a little for them.
func (d *devGuardians) stop() {
	d.mu.Lock()
	procs := d.procs
	d.procs = nil
	d.mu.Unlock()
	for _, p := range procs {
		p.cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	for i, p := range procs {
		select {
		case <-p.exited:
			continue
		case <-deadline.C:
		}
		// Out of time: kill this one and every one still running.
		for _, q := range procs[i:] {
			q.cmd.Process.Kill()
		}
		for _, q := range procs[i:] {
			<-q.exited
		}
		return
	}
}

// createWallet files the wallet.create request for a 2-of-n FROST wallet,
// approves it with a treasury manager's and an approver's keys (the
// default policy's quorum), and waits for the key ceremony.
func (d *devGuardians) createWallet(ctx context.Context, creds *credentials, admin *coordinator.Principal, names []string) error {
	v, err := d.svc.CreateWallet(ctx, admin, coordinator.WalletInput{Name: devFROSTWallet, Mode: store.ModeFROST,
		Curve: coordinator.CurveEd25519, Threshold: 2, Guardians: names})
	if err != nil {
		return err
	}
	for _, role := range []string{store.RoleTreasuryManager, store.RoleApprover} {
		if v.Request.Status != store.RequestPending {
			break
		}
		p, err := d.login(ctx, creds, role)
		if err != nil {
			return err
		}
		u, _ := creds.user(p.Name)
		key, err := keyfile.ReadEd25519(u.ApprovalKeyFile)
		if err != nil {
			return err
		}
		sig := ed25519.Sign(key, approvals.Message(v.Binding(), approvals.Approve))
		clear(key)
		if v, err = d.svc.Vote(ctx, p, v.Request.ID, approvals.Approve, sig); err != nil {
			return err
		}
	}
	fmt.Fprintf(d.out, "custos: wallet.create request %s for FROST wallet %s (2-of-%d) approved by the demo keys; key ceremony running\n",
		v.Request.ID, devFROSTWallet, len(names))
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		ws, err := d.svc.ListWallets(ctx, admin)
		if err != nil {
			return err
		}
		for _, w := range ws {
			if w.Name != devFROSTWallet {
				continue
			}
			switch w.Status {
			case store.WalletActive:
				creds.Wallets = append(creds.Wallets, credWallet{ID: w.ID, Name: w.Name, Curve: w.Curve})
				if err := writeCredentials(d.credsPath, creds); err != nil {
					return err
				}
				fmt.Fprintf(d.out, "custos: FROST wallet %s active, group key %x\n", w.Name, w.PublicKey)
				fmt.Fprintf(d.out, "hint: ./bin/custos tx submit --as carol --wallet %s --asset sol --to beneficiary --amount 2000000000; then ./bin/custos approve --as alice TX (EUR 300: one approval)\n", w.Name)
				return nil
			case store.WalletFailed:
				return fmt.Errorf("the key ceremony of %s failed; see `custos wallet show %s`", w.Name, w.ID)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("the key ceremony of %s did not finish within 2 minutes", devFROSTWallet)
}

// login signs in as the first demo user with role.
func (d *devGuardians) login(ctx context.Context, creds *credentials, role string) (*coordinator.Principal, error) {
	for _, u := range creds.Users {
		if u.Role != role {
			continue
		}
		token, _, _, err := d.svc.Login(ctx, u.Name, u.Password)
		if err != nil {
			return nil, fmt.Errorf("signing in as %s: %w", u.Name, err)
		}
		d.sessions = append(d.sessions, token)
		return d.svc.Authenticate(ctx, token)
	}
	return nil, fmt.Errorf("no demo user with role %s", role)
}

// freeLoopbackAddr returns a loopback address whose port was free a moment ago.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
