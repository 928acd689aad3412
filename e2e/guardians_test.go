package e2e

// Harness for the FROST acceptance tests (frost_test.go): a `custos dev`
// coordinator started without guardians of its own, guardian processes the
// test sets up the way an operator does (`custos guardian init`, an
// administrator's invitation, `custos guardian enroll` confirming the
// governance hash, `custos guardian run`), each behind a recording reverse
// proxy that is the endpoint the coordinator knows it by, and independent
// checks of what crossed the wire: which guardians released signature
// shares in which signing session, the RFC 9591 group commitment R of a
// session, and searches for key shares in plaintext.

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"filippo.io/edwards25519"

	"github.com/custos-dev/custos/frost"
	"github.com/custos-dev/custos/guardian"
	"github.com/custos-dev/custos/guardian/wire"
	"github.com/custos-dev/custos/internal/seal"
	"github.com/custos-dev/custos/internal/timing"
)

// frostSystem is a `custos dev` coordinator that runs no guardians itself
// (--guardians 0) and the guardian processes a test adds to it.
type frostSystem struct {
	*devSystem
	top     *testing.T // the test that owns the processes
	logDir  string     // guardian process logs (they outlive subtests)
	govHash string     // the governance hash operators confirm at enrolment

	mu        sync.Mutex
	tokens    map[string]string // staff session tokens by user name
	guardians []*guardianNode
	transfers int // destinations handed out, to keep intents distinct
}

// startFROSTSystem starts `custos dev --guardians 0` with debug logging
// (so that the log the leak check searches holds as much as the
// coordinator ever writes) and reads the governance hash the way an
// administrator does: the first line of `custos guardian list`.
func startFROSTSystem(t *testing.T) *frostSystem {
	t.Helper()
	s := &frostSystem{devSystem: startDev(t, "--log-level", "debug"), top: t, logDir: t.TempDir(), tokens: map[string]string{}}
	out := mustCLI(t, "guardian", "list", "--as", "ada", s.credsFlag())
	m := regexp.MustCompile(`^governance state ([0-9a-f]{64})\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("custos guardian list: no governance hash on its first line:\n%s", out)
	}
	s.govHash = m[1]
	return s
}

// token is a staff session of user, logged in once per system.
func (s *frostSystem) token(t *testing.T, user string) string {
	t.Helper()
	s.mu.Lock()
	tok := s.tokens[user]
	s.mu.Unlock()
	if tok != "" {
		return tok
	}
	tok = login(t, s.url, user, s.creds.password(t, user))
	s.mu.Lock()
	s.tokens[user] = tok
	s.mu.Unlock()
	return tok
}

// voteRequest is user's signed approval of request id as it stands now,
// built (not sent) so that it can be sent from another goroutine.
func (s *frostSystem) voteRequest(t *testing.T, user, id string) request {
	t.Helper()
	tok := s.token(t, user)
	r := getRequest(t, s.url, tok, id)
	key := s.creds.approvalKey(t, user)
	defer clear(key)
	return signVote(t, tok, key, r)
}

// approve sends user's approval of request id and expects it recorded.
func (s *frostSystem) approve(t *testing.T, user, id string) {
	t.Helper()
	r := doHTTP(t, s.url, s.voteRequest(t, user, id))
	if r.Status != http.StatusOK && r.Status != http.StatusCreated {
		t.Fatalf("%s approving %s: %s", user, id, r)
	}
}

// ---- guardian processes ----

// guardianNode is one guardian: its directory, its own listen address, the
// recording proxy the coordinator reaches it through, and its current
// process.
type guardianNode struct {
	sys      *frostSystem
	name     string
	dir      string
	listen   string
	wire     *wireRecorder
	id       string
	identity ed25519.PublicKey

	mu   sync.Mutex
	proc *process
	runs int
}

// addGuardians sets up and starts guardians with these names, as their
// operators would. Call it from the test that owns the system.
func (s *frostSystem) addGuardians(t *testing.T, names ...string) []*guardianNode {
	t.Helper()
	var added []*guardianNode
	for _, name := range names {
		g := &guardianNode{sys: s, name: name, dir: filepath.Join(s.top.TempDir(), name), listen: freeAddr(t)}
		g.wire = newWireRecorder(s.top, g.listen)
		s.top.Cleanup(func() { g.terminate(s.top) })

		out := mustCLI(t, "guardian", "init", "--dir", g.dir, "--listen", g.listen, "--endpoint", g.wire.url)
		if !strings.Contains(out, "endpoint "+g.wire.url) {
			t.Fatalf("guardian init does not show the endpoint %s:\n%s", g.wire.url, out)
		}
		inv := mustCLI(t, "guardian", "invite", "--as", "ada", "--name", name, s.credsFlag())
		m := regexp.MustCompile(`(?m)^claim code \(shown once\): (cgc_[A-Za-z0-9_-]{22})$`).FindStringSubmatch(inv)
		if m == nil {
			t.Fatalf("custos guardian invite printed no claim code:\n%s", inv)
		}
		enrolled := g.enroll(t, m[1])
		m = regexp.MustCompile(`enrolled as guardian ([0-9a-f-]{36}) \(` + regexp.QuoteMeta(name) + `\)`).FindStringSubmatch(enrolled)
		if m == nil {
			t.Fatalf("custos guardian enroll did not report the enrolment:\n%s", enrolled)
		}
		g.id = m[1]
		st := g.status(t)
		if st.GuardianID != g.id || st.Endpoint != g.wire.url || st.GovernanceHash != s.govHash {
			t.Fatalf("guardian %s status %+v: want id %s, endpoint %s, governance %s", name, st, g.id, g.wire.url, s.govHash)
		}
		key, err := hex.DecodeString(st.IdentityKey)
		if err != nil || len(key) != ed25519.PublicKeySize {
			t.Fatalf("guardian %s identity key %q", name, st.IdentityKey)
		}
		g.identity = key
		added = append(added, g)
	}
	for _, g := range added {
		g.start(t, "")
	}
	s.mu.Lock()
	s.guardians = append(s.guardians, added...)
	s.mu.Unlock()
	return added
}

// enroll runs `custos guardian enroll`, confirming the governance hash.
// Enrolments share the coordinator's per-address login limit: a refusal
// for that alone (the code is not claimed then) is tried again (runCLI's
// retry misses it: `guardian enroll` words the refusal its own way).
func (g *guardianNode) enroll(t *testing.T, code string) string {
	t.Helper()
	args := []string{"guardian", "enroll", "--dir", g.dir, "--coordinator", g.sys.url, "--code", code, "--governance-hash", g.sys.govHash}
	for attempt := 1; ; attempt++ {
		out, errOut, exit := runCLI(t, args...)
		if exit == 0 {
			return out
		}
		if attempt == 30 || !strings.Contains(errOut, "(HTTP 429)") {
			t.Fatalf("custos %s: exit %d\n%s%s", strings.Join(args, " "), exit, out, errOut)
		}
		time.Sleep(time.Second)
	}
}

// guardianStatus is `custos guardian status --json`.
type guardianStatus struct {
	guardian.Status
	Daemon string `json:"daemon"`
}

// status reads the guardian's own view of itself from its directory.
func (g *guardianNode) status(t *testing.T) *guardianStatus {
	t.Helper()
	var st guardianStatus
	out := mustCLI(t, "guardian", "status", "--dir", g.dir, "--json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("guardian status --json of %s: %v\n%s", g.name, err, out)
	}
	return &st
}

// keyIndex returns the guardian's participant index and key status for a
// wallet, from its own state (0, "" if it holds no key for it).
func (g *guardianNode) keyIndex(t *testing.T, walletID string) (uint16, string) {
	t.Helper()
	for _, k := range g.status(t).Keys {
		if k.WalletID == walletID {
			return k.Index, k.Status
		}
	}
	return 0, ""
}

// auditEvents is `custos guardian audit`: the guardian's own event chain.
func (g *guardianNode) auditEvents(t *testing.T) []auditEventView {
	t.Helper()
	out := mustCLI(t, "guardian", "audit", "--dir", g.dir)
	var evs []auditEventView
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e auditEventView
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("guardian audit of %s: %v: %s", g.name, err, sc.Text())
		}
		evs = append(evs, e)
	}
	return evs
}

// start runs `custos guardian run` with CUSTOS_GUARDIAN_TEST_FAULT=fault
// and waits until the guardian answers on its own address.
func (g *guardianNode) start(t *testing.T, fault string) {
	t.Helper()
	g.mu.Lock()
	g.runs++
	name := fmt.Sprintf("guardian-%s-run%d", g.name, g.runs)
	g.mu.Unlock()
	p := startProcess(t, g.sys.logDir, []string{"CUSTOS_GUARDIAN_TEST_FAULT=" + fault}, name, "guardian", "run", "--dir", g.dir)
	g.mu.Lock()
	g.proc = p
	g.mu.Unlock()
	if !p.waitReady(t, "http://"+g.listen+"/healthz") {
		t.Fatalf("guardian %s exited at start: %v\n%s", g.name, p.err, p.tail())
	}
}

func (g *guardianNode) current() *process {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.proc
}

// stop sends SIGTERM and checks the clean exit.
func (g *guardianNode) stop(t *testing.T) {
	t.Helper()
	g.current().stop(t)
}

// kill sends SIGKILL: the guardian gets no chance to clean up.
func (g *guardianNode) kill(t *testing.T) {
	t.Helper()
	p := g.current()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("killing guardian %s: %v", g.name, err)
	}
	<-p.done
}

// terminate stops the current process at the end of the test, whatever
// its state, and shows its output if the test failed.
func (g *guardianNode) terminate(t *testing.T) {
	p := g.current()
	if p == nil {
		return
	}
	if !p.exited() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
	}
	p.logTailIfFailed(t)
}

// waitLog waits until the current process's output has a line containing
// substr and returns that line.
func (g *guardianNode) waitLog(t *testing.T, substr string) string {
	t.Helper()
	p := g.current()
	deadline := time.Now().Add(2 * time.Minute) // a hang guard, not a timing assertion
	for {
		data, _ := os.ReadFile(p.logPath)
		for line := range strings.Lines(string(data)) {
			if strings.Contains(line, substr) {
				return line
			}
		}
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("guardian %s never logged %q\n%s", g.name, substr, p.tail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ---- the coordinator's view of guardians and wallets ----

type guardianAPIView struct {
	ID           string           `json:"id"`
	Name         string           `json:"name"`
	Status       string           `json:"status"`
	StatusReason string           `json:"status_reason"`
	StartedAt    *time.Time       `json:"started_at"`
	Keys         []wire.KeyStatus `json:"keys"`
}

// guardianView is GET /v1/guardians/{id}.
func (s *frostSystem) guardianView(t *testing.T, g *guardianNode) *guardianAPIView {
	t.Helper()
	r := doHTTP(t, s.url, request{Method: http.MethodGet, Path: "/v1/guardians/" + g.id, Token: s.creds.APIKey})
	expectStatus(t, r, http.StatusOK)
	var v guardianAPIView
	r.decode(t, &v)
	return &v
}

// waitRestartSeen waits until the coordinator's health job has seen the
// guardian's process started after since (it then forgets the commitments
// the previous process handed out; any it still holds are refused at their
// first use and replaced by fresh ones).
func (s *frostSystem) waitRestartSeen(t *testing.T, g *guardianNode, since time.Time) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute) // a hang guard
	for {
		v := s.guardianView(t, g)
		if v.StartedAt != nil && v.StartedAt.After(since) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the coordinator did not see guardian %s restarted: %+v\n%s", g.name, v, g.current().tail())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// pub is the wallet's group public key.
func (w *walletView) pub(t *testing.T) ed25519.PublicKey {
	t.Helper()
	b, err := hex.DecodeString(w.PublicKey)
	if err != nil || len(b) != ed25519.PublicKeySize {
		t.Fatalf("wallet %s public key %q is not an Ed25519 key", w.Name, w.PublicKey)
	}
	return b
}

func (s *frostSystem) wallet(t *testing.T, id string) *walletView {
	t.Helper()
	r := doHTTP(t, s.url, request{Method: http.MethodGet, Path: "/v1/wallets/" + id, Token: s.creds.APIKey})
	expectStatus(t, r, http.StatusOK)
	var w walletView
	r.decode(t, &w)
	return &w
}

// fileWallet files a FROST wallet.create request with the CLI, as the
// README shows, approves it by a treasury manager and an approver (the
// default policy's quorum; the key ceremony starts at the second) and
// returns the new wallet's id.
func (s *frostSystem) fileWallet(t *testing.T, name string, threshold int, gs []*guardianNode) string {
	t.Helper()
	var names []string
	for _, g := range gs {
		names = append(names, g.name)
	}
	out := mustCLI(t, "wallet", "create", "--as", "ada", s.credsFlag(), "--name", name, "--mode", "frost",
		"--threshold", strconv.Itoa(threshold), "--guardians", strings.Join(names, ","))
	m := regexp.MustCompile(`wallet\.create request ([0-9a-f-]{36}) is pending`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("custos wallet create did not file a pending request:\n%s", out)
	}
	reqID := m[1]
	s.approve(t, "tess", reqID)
	s.approve(t, "alice", reqID)
	if r := getRequest(t, s.url, s.token(t, "ada"), reqID); r.Status != "executed" {
		t.Fatalf("wallet.create request %s is %s after its quorum, want executed", reqID, r.Status)
	}
	for _, w := range listWallets(t, s.url, s.creds.APIKey) {
		if w.Name == name {
			return w.ID
		}
	}
	t.Fatalf("no wallet %q after its wallet.create request was executed", name)
	return ""
}

// waitWallet waits until the wallet's key ceremony has ended (the wallet
// is active or failed) and returns the wallet.
func (s *frostSystem) waitWallet(t *testing.T, id string) *walletView {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute) // a hang guard
	for {
		w := s.wallet(t, id)
		if w.Status != "pending" {
			return w
		}
		if time.Now().After(deadline) {
			t.Fatalf("wallet %s still pending: ceremony %+v", w.Name, w.Ceremony)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ---- transfers ----

// submitTransfer submits a EUR 150 transfer (1 SOL: one approval under
// the default policy) from the wallet with the API key.
func (s *frostSystem) submitTransfer(t *testing.T, walletID string) *txView {
	t.Helper()
	s.mu.Lock()
	s.transfers++
	to := fmt.Sprintf("frost-dest-%d", s.transfers)
	s.mu.Unlock()
	r := submit(t, s.devSystem, walletID, "sol", to, "1000000000", nil)
	expectStatus(t, r, http.StatusCreated)
	var tx txView
	r.decode(t, &tx)
	if tx.Status != "pending_approval" || tx.RequestID == "" || tx.Decision == nil || tx.Decision.Requirement.Approvals != 1 {
		t.Fatalf("transfer %s: status %s, decision %+v; want pending with one approval needed", tx.ID, tx.Status, tx.Decision)
	}
	return &tx
}

// signedTransfer submits a transfer, approves it (alice) and checks that
// it was signed and that the signature verifies, with crypto/ed25519,
// over the intent under the wallet's group key.
func (s *frostSystem) signedTransfer(t *testing.T, w *walletView) *txView {
	t.Helper()
	tx := s.submitTransfer(t, w.ID)
	r := doHTTP(t, s.url, s.voteRequest(t, "alice", tx.RequestID))
	expectStatus(t, r, http.StatusOK)
	got := getTx(t, s.url, s.creds.APIKey, tx.ID)
	if got.Status != "signed" {
		t.Fatalf("transfer %s from %s is %s (%s) after its approval, want signed\n%s", tx.ID, w.Name, got.Status, got.FailureReason, s.proc.tail())
	}
	// The approving call reports its signing phases (Server-Timing), the
	// load generator's source for the approved-to-stored latency.
	phases := timing.Parse(r.Header.Get("Server-Timing"))
	for _, name := range []string{"vote", "sign", "round2", "aggregate", "store", "approved-to-stored"} {
		if d, ok := phases[name]; !ok || d < 0 {
			t.Fatalf("transfer %s: Server-Timing %q has no %s phase", tx.ID, r.Header.Get("Server-Timing"), name)
		}
	}
	if phases["approved-to-stored"] < phases["round2"]+phases["store"] {
		t.Fatalf("transfer %s: approved-to-stored %s shorter than its round 2 %s and write %s", tx.ID,
			phases["approved-to-stored"], phases["round2"], phases["store"])
	}
	checkSignature(t, w, got)
	return got
}

// checkSignature verifies a transfer's signature with crypto/ed25519 alone.
func checkSignature(t *testing.T, w *walletView, tx *txView) {
	t.Helper()
	if err := verifyWalletSignature("ed25519", w.PublicKey, tx.Signature, tx.Intent); err != nil {
		t.Fatalf("transfer %s: signature %s under %s's group key %s over %s: %v", tx.ID, tx.Signature, w.Name, w.PublicKey, tx.Intent, err)
	}
	if len(tx.Intent) < 10 || !bytes.Contains(tx.Intent, []byte(w.ID)) {
		t.Fatalf("transfer %s: the signed intent %s is not for wallet %s", tx.ID, tx.Intent, w.ID)
	}
}

// ---- the recorded traffic ----

// wireRecorder is a reverse proxy in front of one guardian: the endpoint
// the guardian is enrolled with. It records every request the coordinator
// sends (before forwarding it, so that a request the guardian never
// answers is recorded too) and every answer. A tamper function, when set,
// may replace an answer: the test then plays a guardian operator who
// holds the guardian's identity key and does not follow the protocol.
type wireRecorder struct {
	url string

	mu        sync.Mutex
	exchanges []*exchange
	tamper    func(req, ans *wire.Envelope) *wire.Envelope
}

// exchange is one request through the proxy and its answer.
type exchange struct {
	req []byte
	ans []byte // nil if none came back
}

func newWireRecorder(t *testing.T, target string) *wireRecorder {
	rec := &wireRecorder{}
	u, _ := url.Parse("http://" + target)
	rp := httputil.NewSingleHostReverseProxy(u)
	// No keep-alive towards the guardian: a connection to a killed
	// process must not be reused for the next request.
	rp.Transport = &recordingTransport{rec: rec, base: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	rp.ErrorLog = log.New(io.Discard, "", 0)
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	rec.url = srv.URL
	return rec
}

type recordingTransport struct {
	rec  *wireRecorder
	base http.RoundTripper
}

func (rt *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	x := &exchange{req: body}
	rt.rec.mu.Lock()
	rt.rec.exchanges = append(rt.rec.exchanges, x)
	rt.rec.mu.Unlock()
	req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	resp, err := rt.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	ans, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	ans = rt.rec.maybeTamper(body, ans)
	rt.rec.mu.Lock()
	x.ans = ans
	rt.rec.mu.Unlock()
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(ans)), int64(len(ans))
	resp.Header.Set("Content-Length", strconv.Itoa(len(ans)))
	return resp, nil
}

func (r *wireRecorder) setTamper(f func(req, ans *wire.Envelope) *wire.Envelope) {
	r.mu.Lock()
	r.tamper = f
	r.mu.Unlock()
}

func (r *wireRecorder) maybeTamper(reqRaw, ansRaw []byte) []byte {
	r.mu.Lock()
	f := r.tamper
	r.mu.Unlock()
	if f == nil {
		return ansRaw
	}
	req, err1 := wire.ParseEnvelope(reqRaw)
	ans, err2 := wire.ParseEnvelope(ansRaw)
	if err1 != nil || err2 != nil {
		return ansRaw
	}
	out := f(req, ans)
	if out == nil {
		return ansRaw
	}
	b, err := json.Marshal(out)
	if err != nil {
		return ansRaw
	}
	return b
}

func (r *wireRecorder) snapshot() []exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]exchange, len(r.exchanges))
	for i, x := range r.exchanges {
		out[i] = *x
	}
	return out
}

// bytes is everything that crossed this proxy, both ways.
func (r *wireRecorder) bytes() [][]byte {
	var out [][]byte
	for _, x := range r.snapshot() {
		out = append(out, x.req, x.ans)
	}
	return out
}

// signSession is one FROST signing session as the guardians saw it:
// the round-2 request each received and what each answered.
type signSession struct {
	id          string
	message     []byte
	commitments []frost.Commitment
	requests    map[string][]byte // guardian name -> raw round-2 request envelope
	released    map[string][]byte // guardian name -> signature share it returned
	refused     map[string]string // guardian name -> refusal code
}

// signSessions gathers, from every guardian's proxy, the round-2
// (sign.share) exchanges of the sessions that signed for approval request
// requestID.
func (s *frostSystem) signSessions(t *testing.T, requestID string) map[string]*signSession {
	t.Helper()
	s.mu.Lock()
	gs := slices.Clone(s.guardians)
	s.mu.Unlock()
	out := map[string]*signSession{}
	for _, g := range gs {
		for _, x := range g.wire.snapshot() {
			env, err := wire.ParseEnvelope(x.req)
			if err != nil || env.Kind != wire.KindSign {
				continue
			}
			var sr wire.ShareRequest
			if err := env.Decode(&sr); err != nil {
				t.Fatalf("round-2 request to %s does not decode: %v", g.name, err)
			}
			if sr.Request.Certificate == nil || sr.Request.Certificate.RequestID != requestID {
				continue
			}
			ss := out[env.Session]
			if ss == nil {
				ss = &signSession{id: env.Session, message: sr.Request.Message, commitments: sr.Request.Commitments,
					requests: map[string][]byte{}, released: map[string][]byte{}, refused: map[string]string{}}
				out[env.Session] = ss
			}
			ss.requests[g.name] = x.req
			if x.ans == nil {
				continue
			}
			ans, err := wire.ParseEnvelope(x.ans)
			if err != nil {
				continue // an HTTP-level error, no envelope
			}
			if err := ans.Verify(g.identity, wire.Expect{From: g.id, To: wire.CoordinatorID, Session: env.Session}); err != nil {
				t.Fatalf("round-2 answer of %s does not verify under its identity key: %v", g.name, err)
			}
			switch ans.Kind {
			case wire.KindSign:
				var sh wire.ShareResponse
				if err := ans.Decode(&sh); err != nil {
					t.Fatalf("round-2 answer of %s: %v", g.name, err)
				}
				ss.released[g.name] = sh.Share
			case wire.KindError:
				var we wire.Error
				ans.Decode(&we)
				ss.refused[g.name] = we.Code
			}
		}
	}
	return out
}

// finalSession finds the session whose group commitment R is the R of
// sig (its first 32 bytes). That R is recomputed here from the recorded
// commitments (RFC 9591, FROST(Ed25519, SHA-512)), so finding it also
// checks this file's computation against the coordinator's aggregate.
func finalSession(t *testing.T, sessions map[string]*signSession, pub ed25519.PublicKey, sigHex string) *signSession {
	t.Helper()
	sig, _ := hex.DecodeString(sigHex)
	for _, ss := range sessions {
		r, err := groupCommitment(pub, ss.message, ss.commitments)
		if err != nil {
			t.Fatalf("session %s: %v", ss.id, err)
		}
		if len(sig) == 64 && bytes.Equal(r, sig[:32]) {
			return ss
		}
	}
	t.Fatalf("no recorded signing session has the signature's R %x (sessions: %d)", sig[:min(len(sig), 32)], len(sessions))
	return nil
}

func (ss *signSession) releasedBy() []string {
	var out []string
	for name := range ss.released {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

func (ss *signSession) commitmentOf(index uint16) (frost.Commitment, bool) {
	i := slices.IndexFunc(ss.commitments, func(c frost.Commitment) bool { return c.Signer == index })
	if i < 0 {
		return frost.Commitment{}, false
	}
	return ss.commitments[i], true
}

// ---- RFC 9591 group commitment, FROST(Ed25519, SHA-512) ----

const frostContext = "FROST-ED25519-SHA512-v1"

func frostHash(tag string, parts ...[]byte) []byte {
	h := sha512.New()
	h.Write([]byte(frostContext + tag))
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// scalarOf is the canonical encoding of a participant identifier.
func scalarOf(id uint16) *edwards25519.Scalar {
	var b [32]byte
	b[0], b[1] = byte(id), byte(id>>8)
	s, err := edwards25519.NewScalar().SetCanonicalBytes(b[:])
	if err != nil {
		panic(err)
	}
	return s
}

// groupCommitment is R = Σ D_i + ρ_i·E_i for a signing session (RFC 9591
// §4.4 and §4.5, with H1, H4, H5 of §6.1).
func groupCommitment(pub, msg []byte, list []frost.Commitment) ([]byte, error) {
	r, _, err := commitmentParts(pub, msg, list)
	if err != nil {
		return nil, err
	}
	return r.Bytes(), nil
}

// commitmentParts returns a session's group commitment R and each
// signer's binding factor ρ_i.
func commitmentParts(pub, msg []byte, list []frost.Commitment) (*edwards25519.Point, map[uint16]*edwards25519.Scalar, error) {
	list = slices.Clone(list)
	slices.SortFunc(list, func(a, b frost.Commitment) int { return int(a.Signer) - int(b.Signer) })
	var enc []byte
	for _, c := range list {
		enc = append(enc, scalarOf(c.Signer).Bytes()...)
		enc = append(enc, c.Hiding...)
		enc = append(enc, c.Binding...)
	}
	prefix := slices.Concat(pub, frostHash("msg", msg), frostHash("com", enc))
	r := edwards25519.NewIdentityPoint()
	rhos := map[uint16]*edwards25519.Scalar{}
	for _, c := range list {
		rho, err := edwards25519.NewScalar().SetUniformBytes(frostHash("rho", prefix, scalarOf(c.Signer).Bytes()))
		if err != nil {
			return nil, nil, err
		}
		d, err := new(edwards25519.Point).SetBytes(c.Hiding)
		if err != nil {
			return nil, nil, fmt.Errorf("hiding commitment of %d: %v", c.Signer, err)
		}
		e, err := new(edwards25519.Point).SetBytes(c.Binding)
		if err != nil {
			return nil, nil, fmt.Errorf("binding commitment of %d: %v", c.Signer, err)
		}
		r.Add(r, d)
		r.Add(r, new(edwards25519.Point).ScalarMult(rho, e))
		rhos[c.Signer] = rho
	}
	return r, rhos, nil
}

// lagrange is participant i's Lagrange coefficient at 0 among ids.
func lagrange(i uint16, ids []uint16) *edwards25519.Scalar {
	num, den := scalarOf(1), scalarOf(1)
	for _, j := range ids {
		if j == i {
			continue
		}
		num.Multiply(num, scalarOf(j))
		den.Multiply(den, edwards25519.NewScalar().Subtract(scalarOf(j), scalarOf(i)))
	}
	return edwards25519.NewScalar().Multiply(num, edwards25519.NewScalar().Invert(den))
}

// shareVerifies checks signer's signature share z_i of a session the way
// RFC 9591 §5.4 does: z_i·G = D_i + ρ_i·E_i + (c·λ_i)·Y_i, with
// c = SHA-512(R || Y || msg) (Ed25519's challenge) and Y_i the signer's
// public share in group.
func shareVerifies(group *frost.GroupKey, msg []byte, list []frost.Commitment, signer uint16, share []byte) (bool, error) {
	r, rhos, err := commitmentParts(group.VerificationKey, msg, list)
	if err != nil {
		return false, err
	}
	i := slices.IndexFunc(list, func(c frost.Commitment) bool { return c.Signer == signer })
	yi, ok := group.Share(signer)
	if i < 0 || !ok {
		return false, fmt.Errorf("participant %d is not in the session or the group", signer)
	}
	z, err := edwards25519.NewScalar().SetCanonicalBytes(share)
	if err != nil {
		return false, nil // not even a scalar
	}
	y, err := new(edwards25519.Point).SetBytes(yi)
	if err != nil {
		return false, err
	}
	d, _ := new(edwards25519.Point).SetBytes(list[i].Hiding)
	e, _ := new(edwards25519.Point).SetBytes(list[i].Binding)
	h := sha512.Sum512(slices.Concat(r.Bytes(), group.VerificationKey, msg))
	c, _ := edwards25519.NewScalar().SetUniformBytes(h[:])
	var ids []uint16
	for _, x := range list {
		ids = append(ids, x.Signer)
	}
	want := new(edwards25519.Point).Add(d, new(edwards25519.Point).ScalarMult(rhos[signer], e))
	want.Add(want, new(edwards25519.Point).ScalarMult(edwards25519.NewScalar().Multiply(c, lagrange(signer, ids)), y))
	return new(edwards25519.Point).ScalarBaseMult(z).Equal(want) == 1, nil
}

// ---- key shares, opened with the guardian's own key-encryption key ----

// keyShare is a guardian's secret share of a wallet's key, read from its
// sealed share file the way the guardian reads it.
type keyShare struct {
	guardian string
	index    uint16
	secret   []byte // canonical scalar, little-endian
	plain    []byte // the whole decrypted share file
	group    frost.GroupKey
}

// openShare decrypts the guardian's share of a wallet with its KEK file
// and the associated data guardian/node.go binds it to (purpose, wallet,
// guardian id, key version, participant index): a test-only decoder, as
// the guardian package exports no share reader.
func (g *guardianNode) openShare(t *testing.T, w *walletView) *keyShare {
	t.Helper()
	index, status := g.keyIndex(t, w.ID)
	if index == 0 || status != "active" {
		t.Fatalf("guardian %s holds no active key for wallet %s (index %d, %q)", g.name, w.Name, index, status)
	}
	kek, err := seal.LoadKEKFile(filepath.Join(g.dir, guardian.KEKFile))
	if err != nil {
		t.Fatalf("guardian %s KEK: %v", g.name, err)
	}
	defer kek.Zero()
	sealed, err := os.ReadFile(filepath.Join(g.dir, guardian.SharesDir, fmt.Sprintf("%s.v%d.share", w.ID, w.KeyVersion)))
	if err != nil {
		t.Fatalf("guardian %s share file: %v", g.name, err)
	}
	ad := seal.AssociatedData("guardian-key-share", w.ID, g.id, strconv.Itoa(w.KeyVersion), strconv.Itoa(int(index)))
	plain, err := seal.Open(kek, sealed, ad)
	if err != nil {
		t.Fatalf("opening guardian %s's share of %s: %v", g.name, w.Name, err)
	}
	ks, err := frost.UnmarshalKeyShare(plain)
	if err != nil {
		t.Fatalf("guardian %s's share of %s: %v", g.name, w.Name, err)
	}
	if ks.ID != index || !bytes.Equal(ks.Group.VerificationKey, w.pub(t)) {
		t.Fatalf("guardian %s's share of %s: participant %d, group key %x; want %d, %s", g.name, w.Name, ks.ID, ks.Group.VerificationKey, index, w.PublicKey)
	}
	if bytes.Contains(sealed, ks.Secret) {
		t.Fatalf("guardian %s's share file holds its secret in plaintext", g.name)
	}
	return &keyShare{guardian: g.name, index: index, secret: bytes.Clone(ks.Secret), plain: plain, group: ks.Group}
}

// interpolateSecret computes the group secret f(0) = Σ λ_i·s_i from t
// shares, and checks that it is the secret of the group public key.
func interpolateSecret(t *testing.T, shares []*keyShare, pub []byte) []byte {
	t.Helper()
	var ids []uint16
	for _, si := range shares {
		ids = append(ids, si.index)
	}
	sum := edwards25519.NewScalar()
	for _, si := range shares {
		s, err := edwards25519.NewScalar().SetCanonicalBytes(si.secret)
		if err != nil {
			t.Fatalf("share of %s is not a canonical scalar", si.guardian)
		}
		sum.Add(sum, edwards25519.NewScalar().Multiply(lagrange(si.index, ids), s))
	}
	if got := new(edwards25519.Point).ScalarBaseMult(sum).Bytes(); !bytes.Equal(got, pub) {
		t.Fatalf("the secret interpolated from %d shares gives public key %x, not the wallet's %x", len(shares), got, pub)
	}
	return sum.Bytes()
}

// ---- searching for secrets ----

// secretPatterns are the forms a 32-byte secret could take in a file, a
// log or a message: its bytes (and reversed, as a big-endian integer
// would be written), hex in either case, and standard or URL base64 at
// each of the three alignments it can have inside a longer base64 text
// (the 40 characters that encode 30 of its bytes and nothing else).
func secretPatterns(secret []byte) map[string][]byte {
	rev := slices.Clone(secret)
	slices.Reverse(rev)
	out := map[string][]byte{}
	for name, b := range map[string][]byte{"": secret, "reversed ": rev} {
		out[name+"raw"] = b
		out[name+"hex"] = []byte(hex.EncodeToString(b))
		out[name+"HEX"] = []byte(strings.ToUpper(hex.EncodeToString(b)))
		for encName, enc := range map[string]*base64.Encoding{"base64": base64.StdEncoding, "base64url": base64.URLEncoding} {
			for k := range 3 {
				s := enc.EncodeToString(append(make([]byte, k), b...))
				first := (k + 2) / 3         // first 3-byte group that lies within b
				last := (k + len(b) - 3) / 3 // last one
				out[fmt.Sprintf("%s%s@%d", name, encName, k)] = []byte(s[4*first : 4*(last+1)])
			}
		}
	}
	return out
}

// findSecret reports the first form of secret found in haystack.
func findSecret(haystack []byte, patterns map[string][]byte) (string, bool) {
	for name, p := range patterns {
		if bytes.Contains(haystack, p) {
			return name, true
		}
	}
	return "", false
}

// namedBytes is a haystack with where it comes from.
type namedBytes struct {
	what string
	data []byte
}

// readTree reads every regular file under dir (the SQLite database with
// its -wal and -shm files included).
func readTree(t *testing.T, dir string) []namedBytes {
	t.Helper()
	var out []namedBytes
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out = append(out, namedBytes{path, b})
		return nil
	})
	if err != nil {
		t.Fatalf("reading %s: %v", dir, err)
	}
	return out
}
