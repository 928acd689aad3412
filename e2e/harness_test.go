// Package e2e is the end-to-end acceptance suite of Custos. It builds the
// real custos binary once, starts it as a subprocess (`custos dev` on the
// embedded SQLite store, or two `custos coordinator` replicas on one
// PostgreSQL database when CUSTOS_TEST_POSTGRES is set), and drives it the
// way a new user would: through the CLI and over HTTP. Signatures, proofs
// and the audit chain are checked independently of the server.
//
// The suite proves what coordinator/service_test.go proves at the service
// level, but through the binary, the REST API and the CLI: the four-eyes
// walkthrough, denials with their signed proofs, the refusal of bad input,
// idempotency, rate limiting, tamper-evident audit exports, and exactly one
// signature when two replicas race on the same approval.
package e2e

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/internal/keyfile"
	"github.com/custos-dev/custos/store/postgres/pgtest"
)

// custosBin is the binary TestMain builds.
var custosBin string

const envPostgres = pgtest.EnvDSN // CUSTOS_TEST_POSTGRES

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "custos-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	custosBin = filepath.Join(dir, "custos")
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, goBin, "build", "-o", custosBin, "./cmd/custos")
	build.Dir = ".." // the module root, relative to this package
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building custos: %v\n%s", err, out)
		return 1
	}
	if os.Getenv(envPostgres) == "" {
		fmt.Fprintln(os.Stderr, "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!")
		fmt.Fprintln(os.Stderr, "!! e2e: "+envPostgres+" is not set: the two-coordinator PostgreSQL   !!")
		fmt.Fprintln(os.Stderr, "!! race test (TestPostgresReplicasSignOnce) is SKIPPED.                 !!")
		fmt.Fprintln(os.Stderr, "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!")
	}
	return m.Run()
}

// cliTimeout bounds one CLI invocation; it only keeps a hung command from
// hanging the suite.
const cliTimeout = 2 * time.Minute

// runCLI runs the custos binary with args and returns its standard output,
// standard error and exit code. It fails the test only if the command
// cannot be run or hangs.
//
// A command refused by the server's rate limits (logins are limited per
// client address, and every CLI user here comes from 127.0.0.1) is run
// again after a second: the limits have their own test, and the other
// tests must not depend on how fast the machine hashes passwords.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, exit int) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		stdout, stderr, exit = runCLIOnce(t, args...)
		if exit == 0 || attempt == 30 || !strings.Contains(stderr, "(rate_limited, HTTP 429") {
			return stdout, stderr, exit
		}
		t.Logf("custos %s: rate limited, retrying: %s", strings.Join(args, " "), strings.TrimSpace(stderr))
		time.Sleep(time.Second)
	}
}

func runCLIOnce(t *testing.T, args ...string) (stdout, stderr string, exit int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, custosBin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("custos %s: timed out after %v\nstderr:\n%s", strings.Join(args, " "), cliTimeout, errb.String())
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		exit = ee.ExitCode()
	default:
		t.Fatalf("custos %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), exit
}

// mustCLI runs the CLI and fails the test unless it exits 0.
func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("custos %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// failCLI runs the CLI, expects a non-zero exit and returns stderr.
func failCLI(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	out, errOut, code := runCLI(t, args...)
	if code == 0 {
		t.Fatalf("custos %s: exit 0, want a failure\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), out, errOut)
	}
	return out, errOut
}

// credentials mirrors the file `custos dev` writes.
type credentials struct {
	APIURL  string     `json:"api_url"`
	APIKey  string     `json:"api_key"`
	Users   []credUser `json:"users"`
	Wallets []struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		Curve string `json:"curve"`
	} `json:"wallets"`
}

// credUser is a demo user in the credentials.
type credUser struct {
	Name            string `json:"name"`
	Role            string `json:"role"`
	Password        string `json:"password"`
	ApprovalKeyFile string `json:"approval_key_file"`
}

func (c *credentials) user(t *testing.T, name string) *credUser {
	t.Helper()
	for i := range c.Users {
		if c.Users[i].Name == name {
			return &c.Users[i]
		}
	}
	t.Fatalf("no user %q in the credentials", name)
	return nil
}

func (c *credentials) password(t *testing.T, name string) string {
	t.Helper()
	return c.user(t, name).Password
}

// approvalKey reads the user's approval key; the caller clears it.
func (c *credentials) approvalKey(t *testing.T, name string) ed25519.PrivateKey {
	t.Helper()
	key, err := keyfile.ReadEd25519(c.user(t, name).ApprovalKeyFile)
	if err != nil {
		t.Fatalf("approval key of %s: %v", name, err)
	}
	return key
}

func (c *credentials) walletID(t *testing.T, name string) string {
	t.Helper()
	for _, w := range c.Wallets {
		if w.Name == name {
			return w.ID
		}
	}
	t.Fatalf("no wallet %q in the credentials", name)
	return ""
}

// process is a long-running custos subprocess (dev or coordinator).
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error // set before done is closed
}

// startProcess starts custos with args and env added to this process's
// environment; its standard output and error go to name.log in logDir,
// whose tail is printed on failure.
func startProcess(t *testing.T, logDir string, env []string, name string, args ...string) *process {
	t.Helper()
	logPath := filepath.Join(logDir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(custosBin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("starting custos %s: %v", strings.Join(args, " "), err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p
}

// tail returns the last lines of the process's output.
func (p *process) tail() string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return fmt.Sprintf("--- last lines of %s's output ---\n%s\n---", p.name, strings.Join(lines, "\n"))
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitReady polls url (a /readyz or /healthz) until it answers 200 and
// reports true. If the process exits because its port was taken it reports
// false; any other exit fails the test. The deadline only keeps a broken
// start from hanging the suite (`custos dev` hashes every demo password
// before it listens).
func (p *process) waitReady(t *testing.T, url string) bool {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	cl := &http.Client{Timeout: 5 * time.Second}
	for {
		resp, err := cl.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		select {
		case <-p.done:
			if strings.Contains(p.tail(), "address already in use") {
				return false
			}
			t.Fatalf("%s exited before it was ready: %v\n%s", p.name, p.err, p.tail())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.cmd.Process.Kill()
			t.Fatalf("%s not ready at %s: %v\n%s", p.name, url, err, p.tail())
		}
	}
}

// logTailIfFailed logs the process's output tail if the test failed, so
// that a failure shows what the server said.
func (p *process) logTailIfFailed(t *testing.T) {
	if t.Failed() {
		t.Log(p.tail())
	}
}

// stop sends SIGTERM and checks that the process exits cleanly.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if p.exited() {
		t.Errorf("%s had already exited: %v\n%s", p.name, p.err, p.tail())
		return
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("signalling %s: %v", p.name, err)
	}
	select {
	case <-p.done:
		if p.err != nil {
			t.Errorf("%s did not exit cleanly on SIGTERM: %v\n%s", p.name, p.err, p.tail())
		}
	case <-time.After(60 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		t.Errorf("%s did not stop within 60s of SIGTERM; killed\n%s", p.name, p.tail())
	}
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// devSystem is one `custos dev` process with its data directory.
type devSystem struct {
	dir       string
	url       string
	credsPath string
	creds     credentials
	proc      *process
}

// startDev starts `custos dev` on a fresh data directory and waits until it
// is ready. The process is stopped, and its clean exit checked, when the
// test ends. It runs no guardians unless extra flags (which come last, so
// they win) ask for them.
func startDev(t *testing.T, extra ...string) *devSystem {
	t.Helper()
	for attempt := 1; ; attempt++ {
		d := &devSystem{dir: t.TempDir()}
		addr := freeAddr(t)
		args := append([]string{"dev", "--data", d.dir, "--listen", addr, "--log-level", "warn", "--guardians", "0"}, extra...)
		d.proc = startProcess(t, t.TempDir(), nil, "custos-dev", args...)
		d.url = "http://" + addr
		// Another process may take the port between freeAddr and the
		// listen: then start again on a new one.
		if !d.proc.waitReady(t, d.url+"/readyz") {
			if attempt < 3 {
				continue
			}
			t.Fatalf("custos dev: no free port after %d attempts\n%s", attempt, d.proc.tail())
		}
		t.Cleanup(func() { d.proc.stop(t) })
		t.Cleanup(func() { d.proc.logTailIfFailed(t) })
		d.credsPath = filepath.Join(d.dir, "credentials.json")
		data, err := os.ReadFile(d.credsPath)
		if err != nil {
			t.Fatalf("reading the credentials: %v\n%s", err, d.proc.tail())
		}
		if err := json.Unmarshal(data, &d.creds); err != nil {
			t.Fatalf("credentials.json: %v", err)
		}
		if d.creds.APIURL != d.url || !strings.HasPrefix(d.creds.APIKey, "cst_") || len(d.creds.Users) != 8 || len(d.creds.Wallets) != 2 {
			t.Fatalf("credentials.json does not describe the system: api_url %q, %d users, %d wallets", d.creds.APIURL, len(d.creds.Users), len(d.creds.Wallets))
		}
		return d
	}
}

// creds returns the --credentials flag for CLI commands.
func (d *devSystem) credsFlag() string { return "--credentials=" + d.credsPath }

// waitTx polls a transaction until cond holds.
func (d *devSystem) waitTx(t *testing.T, id string, limit time.Duration, what string, cond func(*txView) bool) *txView {
	t.Helper()
	deadline := time.Now().Add(limit) // a hang guard
	for {
		tx := getTx(t, d.url, d.creds.APIKey, id)
		if cond(tx) {
			return tx
		}
		if time.Now().After(deadline) {
			t.Fatalf("transfer %s: %s not reached within %v: status %s, reason %q\n%s", id, what, limit, tx.Status, tx.FailureReason, d.proc.tail())
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// ---- HTTP ----

// apiResponse is an HTTP answer with its raw body.
type apiResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r *apiResponse) String() string {
	return fmt.Sprintf("HTTP %d %s", r.Status, bytes.TrimSpace(r.Body))
}

// decode decodes the body into v, failing the test if it is not JSON.
func (r *apiResponse) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", r, err)
	}
}

var httpClient = &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}

// request is an HTTP request to the API. Body is sent as is when it is a
// []byte or string, as JSON otherwise. A Header entry with an empty value
// removes that header.
type request struct {
	Method, Path, Token string
	Body                any
	Header              map[string]string
}

// doHTTP sends rq and fails the test if there is no answer. A 429 is
// retried after its Retry-After (see runCLI); tryHTTP does not retry.
func doHTTP(t *testing.T, base string, rq request) *apiResponse {
	t.Helper()
	for attempt := 1; ; attempt++ {
		r, err := tryHTTP(base, rq)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != http.StatusTooManyRequests || attempt == 30 {
			return r
		}
		wait, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || wait < 1 || wait > 10 {
			wait = 1
		}
		t.Logf("%s %s: rate limited, retrying in %ds", rq.Method, rq.Path, wait)
		time.Sleep(time.Duration(wait) * time.Second)
	}
}

// tryHTTP sends rq; it is safe to call from any goroutine.
func tryHTTP(base string, rq request) (*apiResponse, error) {
	var rd io.Reader
	switch b := rq.Body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(data)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, rq.Method, base+rq.Path, rd)
	if err != nil {
		return nil, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if rq.Token != "" {
		req.Header.Set("Authorization", "Bearer "+rq.Token)
	}
	for k, v := range rq.Header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", rq.Method, rq.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %w", rq.Method, rq.Path, err)
	}
	return &apiResponse{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// expectStatus fails the test unless r has the status.
func expectStatus(t *testing.T, r *apiResponse, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("got %s, want HTTP %d", r, status)
	}
}

// errorEnvelope is the API's error body.
type errorEnvelope struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	} `json:"error"`
}

// expectError checks that r is an error answer with the status and code,
// in the documented envelope, whose request_id is the X-Request-Id header.
// An empty code accepts any code. It returns the envelope.
func expectError(t *testing.T, r *apiResponse, status int, code string) errorEnvelope {
	t.Helper()
	if r.Status != status {
		t.Fatalf("got %s, want HTTP %d %s", r, status, code)
	}
	var env errorEnvelope
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		t.Fatalf("error body %q is not the {\"error\":{code,message,request_id}} envelope: %v", r.Body, err)
	}
	e := env.Error
	if code != "" && e.Code != code {
		t.Errorf("error code %q, want %q (%s)", e.Code, code, r)
	}
	if e.Message == "" {
		t.Errorf("empty error message (%s)", r)
	}
	if e.RequestID == "" || e.RequestID != r.Header.Get("X-Request-Id") {
		t.Errorf("request_id %q, X-Request-Id header %q: want the same non-empty id", e.RequestID, r.Header.Get("X-Request-Id"))
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error Content-Type %q, want application/json", ct)
	}
	return env
}

// signVote is the vote that approves r as it stands, signed with key, in
// the session token: built, not sent, so that it can be sent from another
// goroutine.
func signVote(t *testing.T, token string, key ed25519.PrivateKey, r *requestView) request {
	t.Helper()
	fp, err1 := hex.DecodeString(r.Fingerprint)
	ph, err2 := hex.DecodeString(r.PolicyHash)
	if err1 != nil || err2 != nil || len(fp) != 32 || len(ph) != 32 {
		t.Fatalf("request %s: fingerprint %q, policy hash %q", r.ID, r.Fingerprint, r.PolicyHash)
	}
	msg := approvals.Message(approvals.Binding{RequestID: r.ID, RequesterID: r.RequesterID, Revision: r.Revision,
		Fingerprint: fp, PolicyHash: ph, ExpiresAt: r.ExpiresAt}, approvals.Approve)
	sig := ed25519.Sign(key, msg)
	return request{Method: http.MethodPost, Path: "/v1/requests/" + r.ID + "/votes", Token: token,
		Body: map[string]string{"decision": approvals.Approve, "signature": base64.StdEncoding.EncodeToString(sig)}}
}

// login opens a staff session over HTTP and returns its token.
func login(t *testing.T, base, name, password string) string {
	t.Helper()
	r := doHTTP(t, base, request{Method: http.MethodPost, Path: "/v1/auth/login",
		Body: map[string]string{"name": name, "password": password}})
	expectStatus(t, r, http.StatusOK)
	var out struct {
		Token string `json:"token"`
	}
	r.decode(t, &out)
	if !strings.HasPrefix(out.Token, "css_") {
		t.Fatalf("login as %s: token %q", name, out.Token)
	}
	return out.Token
}

// ---- API views (the subset the suite checks) ----

type reasonView struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type txView struct {
	ID            string          `json:"id"`
	Status        string          `json:"status"`
	WalletID      string          `json:"wallet_id"`
	Chain         string          `json:"chain"`
	Asset         string          `json:"asset"`
	To            string          `json:"to"`
	Amount        string          `json:"amount"`
	Fingerprint   string          `json:"fingerprint"`
	Intent        json.RawMessage `json:"intent"`
	RequestID     string          `json:"request_id"`
	Signature     string          `json:"signature"`
	FailureReason string          `json:"failure_reason"`
	Decision      *struct {
		Outcome     string       `json:"outcome"`
		Stage       string       `json:"stage"`
		Reasons     []reasonView `json:"reasons"`
		EURCents    int64        `json:"eur_cents"`
		Requirement struct {
			Approvals int            `json:"approvals"`
			Roles     map[string]int `json:"roles"`
		} `json:"requirement"`
	} `json:"decision"`
}

func (v *txView) reasonCodes() []string {
	if v.Decision == nil {
		return nil
	}
	var out []string
	for _, r := range v.Decision.Reasons {
		out = append(out, r.Code)
	}
	return out
}

type requestView struct {
	ID          string    `json:"id"`
	Action      string    `json:"action"`
	Status      string    `json:"status"`
	RequesterID string    `json:"requester_id"`
	Revision    int64     `json:"revision"`
	Fingerprint string    `json:"fingerprint"`
	PolicyHash  string    `json:"policy_hash"`
	ExpiresAt   time.Time `json:"expires_at"`
	Tally       struct {
		Approvers []string `json:"approvers"`
		QuorumMet bool     `json:"quorum_met"`
		Approvals int      `json:"approvals"`
	} `json:"tally"`
}

type walletView struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Mode       string   `json:"mode"`
	Curve      string   `json:"curve"`
	PublicKey  string   `json:"public_key"`
	KeyVersion int      `json:"key_version"`
	Frozen     bool     `json:"frozen"`
	Status     string   `json:"status"`
	Threshold  int      `json:"threshold"`
	Guardians  []string `json:"guardians"`
	Ceremony   *struct {
		ID         string   `json:"id"`
		State      string   `json:"state"`
		Round      string   `json:"round"`
		Transcript string   `json:"transcript"`
		Blamed     []string `json:"blamed"`
		Error      string   `json:"error"`
	} `json:"ceremony"`
}

type auditEventView struct {
	Seq       int64             `json:"seq"`
	Category  string            `json:"category"`
	Action    string            `json:"action"`
	Actor     string            `json:"actor"`
	Target    string            `json:"target"`
	RequestID string            `json:"request_id"`
	Result    string            `json:"result"`
	Metadata  map[string]string `json:"metadata"`
}

func getTx(t *testing.T, base, token, id string) *txView {
	t.Helper()
	r := doHTTP(t, base, request{Method: http.MethodGet, Path: "/v1/transactions/" + id, Token: token})
	expectStatus(t, r, http.StatusOK)
	var v txView
	r.decode(t, &v)
	return &v
}

func getRequest(t *testing.T, base, token, id string) *requestView {
	t.Helper()
	r := doHTTP(t, base, request{Method: http.MethodGet, Path: "/v1/requests/" + id, Token: token})
	expectStatus(t, r, http.StatusOK)
	var v requestView
	r.decode(t, &v)
	return &v
}

func listWallets(t *testing.T, base, token string) map[string]walletView {
	t.Helper()
	r := doHTTP(t, base, request{Method: http.MethodGet, Path: "/v1/wallets", Token: token})
	expectStatus(t, r, http.StatusOK)
	var list struct {
		Wallets []walletView `json:"wallets"`
	}
	r.decode(t, &list)
	out := map[string]walletView{}
	for _, w := range list.Wallets {
		out[w.ID] = w
	}
	return out
}

func listTransactions(t *testing.T, base, token string) []txView {
	t.Helper()
	r := doHTTP(t, base, request{Method: http.MethodGet, Path: "/v1/transactions?limit=1000", Token: token})
	expectStatus(t, r, http.StatusOK)
	var list struct {
		Transactions []txView `json:"transactions"`
	}
	r.decode(t, &list)
	return list.Transactions
}

// auditAfter lists the audit events after seq (as an auditor).
func auditAfter(t *testing.T, base, token string, after int64) []auditEventView {
	t.Helper()
	var all []auditEventView
	for {
		r := doHTTP(t, base, request{Method: http.MethodGet, Path: fmt.Sprintf("/v1/audit/events?after=%d&limit=1000", after), Token: token})
		expectStatus(t, r, http.StatusOK)
		var page struct {
			Events []auditEventView `json:"events"`
		}
		r.decode(t, &page)
		all = append(all, page.Events...)
		if len(page.Events) < 1000 {
			return all
		}
		after = page.Events[len(page.Events)-1].Seq
	}
}

// syncSet is a set of strings safe for concurrent use.
type syncSet struct {
	mu sync.Mutex
	m  map[string]bool
}

func (s *syncSet) add(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]bool{}
	}
	s.m[v] = true
}

func (s *syncSet) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.m))
	for v := range s.m {
		out = append(out, v)
	}
	return out
}

func (s *syncSet) has(v string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[v]
}
