package guardian_test

// The test coordinator: it holds an Ed25519 identity key, enrols guardians
// through minimal /v1/guardians/enroll/preview and /v1/guardians/enroll
// endpoints, builds approval
// certificates signed by approvers whose keys it generated, and drives
// guardian.Node values through Serve with signed envelopes, exactly as the
// real coordinator would over HTTP (and as a lying one could).

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/approvals/intent"
	"github.com/custos-dev/custos/approvals/policy"
	"github.com/custos-dev/custos/dkg"
	"github.com/custos-dev/custos/frost"
	"github.com/custos-dev/custos/governance"
	"github.com/custos-dev/custos/guardian"
	"github.com/custos-dev/custos/guardian/wire"
)

// Transfer amounts in wei, valued at the "eth" anchor of EUR 2000 per ETH
// under policy.Default: up to EUR 1,000 one approval, up to EUR 10,000 two,
// above that four including a treasury_manager.
const (
	amountSmall = "100000000000000000"   // 0.1 ETH = EUR 200: 1 approval
	amountMid   = "2000000000000000000"  // 2 ETH = EUR 4,000: 2 approvals
	amountLarge = "10000000000000000000" // 10 ETH = EUR 20,000: 4 approvals, one a treasury_manager
)

// fataler is what the helpers need of a test; a goroutine passes its own
// (goT) so that it never calls testing.T.Fatal off the test goroutine.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// clock is the time shared by the test coordinator and its guardians
// (guardian.Options.Now); a test moves it to expire a certificate.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// person is someone who can sign approvals.
type person struct {
	approvals.Approver
	priv ed25519.PrivateKey
}

// people: the roster handed out at enrolment, and u-frank, who holds an
// approval key but is not rostered until a user.role.assign adds him.
var people = []struct {
	id, role string
	rostered bool
}{
	{"u-alice", "treasury_manager", true},
	{"u-bob", "approver", true},
	{"u-carol", "approver", true},
	{"u-dave", "approver", true},
	{"u-erin", "approver", true},
	{"u-frank", "approver", false},
	{"u-grace", "treasury_manager", true},
}

// requester files the requests; they are not an approver.
const requester = "u-requester"

type coordinator struct {
	key    ed25519.PrivateKey
	clock  *clock
	people map[string]*person
	srv    *httptest.Server

	mu       sync.Mutex
	state    *governance.State // what the administrators see; handed out at enrolment
	lastMs   int64
	codes    map[string]bool
	enrolled int
	// calls counts the requests each enrolment endpoint received, by
	// path, valid or not.
	calls map[string]int
}

// Paths of the enrolment endpoints.
const (
	previewPath = "/v1/guardians/enroll/preview"
	enrollPath  = "/v1/guardians/enroll"
)

func newCoordinator(t *testing.T) *coordinator {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c := &coordinator{key: key, clock: &clock{}, people: map[string]*person{}, codes: map[string]bool{}, calls: map[string]int{}}
	st := &governance.State{Policy: policy.Default().Canonical(), Anchors: map[string]string{"eth": "2000/18"}}
	for _, p := range people {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(p.id, "u-")
		c.people[p.id] = &person{Approver: approvals.Approver{ID: p.id, Name: name, Role: p.role, Key: pub}, priv: priv}
		if p.rostered {
			st.Roster = append(st.Roster, governance.Member{ID: p.id, Name: name, Role: p.role, Key: pub})
		}
	}
	if _, err := st.Document(); err != nil {
		t.Fatal(err)
	}
	c.state = st
	c.srv = httptest.NewServer(http.HandlerFunc(c.serveEnroll))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *coordinator) governance() *governance.State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

func (c *coordinator) setGovernance(st *governance.State) {
	c.mu.Lock()
	c.state = st
	c.mu.Unlock()
}

func (c *coordinator) publicKey() ed25519.PublicKey { return c.key.Public().(ed25519.PublicKey) }

// invite issues a one-time enrolment code.
func (c *coordinator) invite() string {
	code := randomHex(8)
	c.mu.Lock()
	c.codes[code] = true
	c.mu.Unlock()
	return code
}

func enrollError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": code}})
}

// enrollCalls returns how many requests the enrolment endpoint at path
// received.
func (c *coordinator) enrollCalls(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[path]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// serveEnroll is the coordinator's POST /v1/guardians/enroll/preview,
// which claims nothing, and POST /v1/guardians/enroll, which claims the
// code only if the request carries the current governance hash.
func (c *coordinator) serveEnroll(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || (r.URL.Path != previewPath && r.URL.Path != enrollPath) {
		http.NotFound(w, r)
		return
	}
	c.mu.Lock()
	c.calls[r.URL.Path]++
	c.mu.Unlock()
	if r.URL.Path == previewPath {
		var req wire.EnrollPreviewRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			enrollError(w, http.StatusBadRequest, "malformed")
			return
		}
		c.mu.Lock()
		ok, st := c.codes[req.Code], c.state
		c.mu.Unlock()
		if !ok {
			enrollError(w, http.StatusUnauthorized, "invalid_code")
			return
		}
		writeJSON(w, http.StatusOK, wire.EnrollPreview{Name: "guardian", CoordinatorKey: c.publicKey(),
			Governance: st.Canonical(), GovernanceHash: st.HashHex()})
		return
	}
	var req wire.EnrollRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		enrollError(w, http.StatusBadRequest, "malformed")
		return
	}
	if len(req.IdentityKey) != ed25519.PublicKeySize || !ed25519.Verify(req.IdentityKey, wire.EnrollMessage(&req), req.Signature) {
		enrollError(w, http.StatusBadRequest, "bad_signature")
		return
	}
	c.mu.Lock()
	ok, st := c.codes[req.Code], c.state
	changed := ok && req.GovernanceHash != st.HashHex()
	if ok && !changed {
		delete(c.codes, req.Code)
		c.enrolled++
	}
	n := c.enrolled
	c.mu.Unlock()
	switch {
	case !ok:
		enrollError(w, http.StatusForbidden, "invalid_code")
		return
	case changed:
		enrollError(w, http.StatusConflict, "governance_changed")
		return
	}
	resp := wire.EnrollResponse{GuardianID: fmt.Sprintf("g-%d", n), Name: fmt.Sprintf("guardian %d", n),
		CoordinatorKey: c.publicKey(), Governance: st.Canonical(), GovernanceHash: st.HashHex()}
	writeJSON(w, http.StatusCreated, resp)
}

// node is a guardian under test, reopened in place by restart.
type node struct {
	*guardian.Node
	dir string
	id  string
	c   *coordinator
}

// initNode initialises and opens a guardian that is not enrolled yet.
func (c *coordinator) initNode(t *testing.T) *node {
	t.Helper()
	dir := t.TempDir()
	if _, err := guardian.Init(dir, guardian.InitOptions{Listen: "127.0.0.1:0"}); err != nil {
		t.Fatal(err)
	}
	g, err := guardian.Open(dir, guardian.Options{Now: c.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	n := &node{Node: g, dir: dir, c: c}
	t.Cleanup(func() { n.Close() })
	return n
}

// confirmHash is the operator's check at enrolment: the hash must be the
// one the coordinator's administrators see.
func (c *coordinator) confirmHash(hash string, _ *governance.State) error {
	if want := c.governance().HashHex(); hash != want {
		return fmt.Errorf("governance hash %s is not the one the administrators see (%s)", hash, want)
	}
	return nil
}

// newNode initialises, opens and enrols a guardian.
func (c *coordinator) newNode(t *testing.T) *node {
	t.Helper()
	n := c.initNode(t)
	if _, err := n.Enroll(context.Background(), c.srv.URL, c.invite(), c.confirmHash); err != nil {
		t.Fatal(err)
	}
	n.id = n.ID()
	if n.id == "" {
		t.Fatal("enrolled guardian has no id")
	}
	return n
}

func (c *coordinator) newNodes(t *testing.T, count int) []*node {
	t.Helper()
	out := make([]*node, count)
	for i := range out {
		out[i] = c.newNode(t)
	}
	return out
}

// restart closes the node and opens its directory again: what survives is
// what it keeps on disk.
func (n *node) restart(tb fataler) {
	tb.Helper()
	if err := n.Node.Close(); err != nil {
		tb.Fatalf("closing %s: %v", n.id, err)
	}
	g, err := guardian.Open(n.dir, guardian.Options{Now: n.c.clock.Now})
	if err != nil {
		tb.Fatalf("reopening %s: %v", n.id, err)
	}
	n.Node = g
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// issueTime returns the coordinator's clock, strictly increasing in
// milliseconds so that two envelopes never share a digest by accident.
func (c *coordinator) issueTime() time.Time {
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	ms := now.UnixMilli()
	if ms <= c.lastMs && c.lastMs-ms < 1000 { // not after the clock was moved back
		ms = c.lastMs + 1
	}
	c.lastMs = ms
	return time.UnixMilli(ms)
}

// envelope builds a request to guardian id, signed by the coordinator.
func (c *coordinator) envelope(tb fataler, to, kind, session string, round int, body any) *wire.Envelope {
	tb.Helper()
	e, err := wire.New(c.key, kind, session, round, wire.CoordinatorID, to, nil, body, c.issueTime())
	if err != nil {
		tb.Fatalf("building %s: %v", kind, err)
	}
	return e
}

// serve delivers env to n as raw JSON.
func serve(n *node, env *wire.Envelope) (int, *wire.Envelope, *wire.Error) {
	raw, err := json.Marshal(env)
	if err != nil {
		return 0, nil, &wire.Error{Code: "test_encoding", Message: err.Error()}
	}
	return n.Serve(context.Background(), raw)
}

// deliver sends env to n and returns the guardian's signed answer after
// checking it answers exactly env.
func (c *coordinator) deliver(tb fataler, n *node, env *wire.Envelope) *wire.Envelope {
	tb.Helper()
	status, ans, werr := serve(n, env)
	if status != http.StatusOK || ans == nil {
		tb.Fatalf("%s to %s: HTTP %d, answer %v, error %+v", env.Kind, n.id, status, ans != nil, werr)
	}
	d := env.Digest()
	if err := ans.Verify(n.IdentityKey(), wire.Expect{Session: env.Session, Round: env.Round, From: n.id,
		To: wire.CoordinatorID, ReplyTo: d[:], Now: c.clock.Now()}); err != nil {
		tb.Fatalf("%s answer of %s: %v", env.Kind, n.id, err)
	}
	if ans.Kind != env.Kind && ans.Kind != wire.KindError {
		tb.Fatalf("%s answered with kind %s", env.Kind, ans.Kind)
	}
	return ans
}

// answer decodes a delivered answer: its body into out, or its refusal.
func answer(tb fataler, ans *wire.Envelope, out any) *wire.Error {
	tb.Helper()
	if ans.Kind == wire.KindError {
		var e wire.Error
		if err := ans.Decode(&e); err != nil {
			tb.Fatalf("refusal body: %v", err)
		}
		return &e
	}
	if out != nil {
		if err := ans.Decode(out); err != nil {
			tb.Fatalf("%s answer body: %v", ans.Kind, err)
		}
	}
	return nil
}

// rpc sends one request and returns the answer envelope and, if the
// guardian refused, its refusal.
func (c *coordinator) rpc(tb fataler, n *node, kind, session string, round int, body, out any) (*wire.Envelope, *wire.Error) {
	tb.Helper()
	ans := c.deliver(tb, n, c.envelope(tb, n.id, kind, session, round, body))
	return ans, answer(tb, ans, out)
}

// ok is rpc for a request that must succeed.
func (c *coordinator) ok(tb fataler, n *node, kind, session string, round int, body, out any) *wire.Envelope {
	tb.Helper()
	ans, e := c.rpc(tb, n, kind, session, round, body, out)
	if e != nil {
		tb.Fatalf("%s to %s refused: %s: %s", kind, n.id, e.Code, e.Message)
	}
	return ans
}

// mustRefuse checks that ans is a refusal with code (and so carries no
// share, no package, no statement) and returns it.
func mustRefuse(tb fataler, ans *wire.Envelope, code string) *wire.Error {
	tb.Helper()
	if ans.Kind != wire.KindError {
		var s wire.ShareResponse
		if ans.Kind == wire.KindSign && ans.Decode(&s) == nil {
			tb.Fatalf("want refusal %s, the guardian released a signature share", code)
		}
		tb.Fatalf("want refusal %s, got a %s answer: %s", code, ans.Kind, ans.Body)
	}
	e := answer(tb, ans, nil)
	if e.Code != code {
		tb.Fatalf("refusal code %q (%s), want %q", e.Code, e.Message, code)
	}
	return e
}

// refused is rpc for a request that must be refused with code.
func (c *coordinator) refused(tb fataler, n *node, kind, session string, round int, body any, code string) *wire.Error {
	tb.Helper()
	ans := c.deliver(tb, n, c.envelope(tb, n.id, kind, session, round, body))
	return mustRefuse(tb, ans, code)
}

// health asks n for its health report.
func (c *coordinator) health(tb fataler, n *node) *wire.Health {
	tb.Helper()
	var h wire.Health
	c.ok(tb, n, wire.KindHealth, "health-"+randomHex(4), 1, wire.HealthRequest{}, &h)
	return &h
}

// keyStatus is n's status of key ref ("" if it holds none).
func (c *coordinator) keyStatus(tb fataler, n *node, ref wire.KeyRef) string {
	tb.Helper()
	for _, k := range c.health(tb, n).Keys {
		if k.WalletID == ref.WalletID && k.KeyVersion == ref.KeyVersion {
			return k.Status
		}
	}
	return ""
}

// ---- approval certificates ----

// certSpec describes a certificate; zero fields take the honest default.
type certSpec struct {
	action    string
	intent    []byte
	eurCents  int64             // value the policy quorum is looked up at
	requestID string            // default: random
	requester string            // default: requester
	approvers []string          // who signs, in order
	quorum    *approvals.Quorum // default: what the coordinator's policy demands
	policy    []byte            // policy hash; default: the coordinator's state
	expires   time.Time         // default: an hour from now
}

// requirement is what the coordinator's policy demands for action at eur.
func (c *coordinator) requirement(tb fataler, action string, eurCents int64) approvals.Quorum {
	tb.Helper()
	doc, err := c.governance().Document()
	if err != nil {
		tb.Fatalf("policy: %v", err)
	}
	req, err := policy.RequirementFor(doc, action, eurCents)
	if err != nil {
		tb.Fatalf("policy for %s: %v", action, err)
	}
	return approvals.Quorum{Approvals: req.Approvals, Roles: req.Roles, RejectionsToDeny: req.RejectionsToDeny}
}

// vote is approver id's signature over b.
func (c *coordinator) vote(tb fataler, id string, b approvals.Binding) approvals.Vote {
	tb.Helper()
	p := c.people[id]
	if p == nil {
		tb.Fatalf("no person %s", id)
	}
	return approvals.Vote{ApproverID: id, Decision: approvals.Approve, Signature: ed25519.Sign(p.priv, approvals.Message(b, approvals.Approve))}
}

// certificate builds the certificate s describes: through
// approvals.NewCertificate when the votes meet the stated quorum, and
// assembled by hand otherwise (what a lying coordinator would send).
func (c *coordinator) certificate(tb fataler, s certSpec) *approvals.Certificate {
	tb.Helper()
	if s.requestID == "" {
		s.requestID = "req-" + randomHex(6)
	}
	if s.requester == "" {
		s.requester = requester
	}
	if s.policy == nil {
		s.policy = c.governance().PolicyHash()
	}
	if s.expires.IsZero() {
		s.expires = c.clock.Now().Add(time.Hour)
	}
	q := c.requirement(tb, s.action, s.eurCents)
	if s.quorum != nil {
		q = *s.quorum
	}
	fp := intent.Fingerprint(s.intent)
	b := approvals.Binding{RequestID: s.requestID, RequesterID: s.requester, Revision: 1, Fingerprint: fp[:],
		PolicyHash: s.policy, ExpiresAt: time.Unix(s.expires.Unix(), 0).UTC()}
	roster := map[string]approvals.Approver{}
	var votes []approvals.Vote
	for _, id := range s.approvers {
		votes = append(votes, c.vote(tb, id, b))
		roster[id] = c.people[id].Approver
	}
	if tally, err := approvals.Count(b, q, votes, roster); err == nil && tally.QuorumMet && len(tally.Approvers) == len(s.approvers) {
		cert, err := approvals.NewCertificate(s.action, b, s.intent, q, tally, votes, roster)
		if err != nil {
			tb.Fatalf("NewCertificate: %v", err)
		}
		return cert
	}
	cert := &approvals.Certificate{Version: 1, RequestID: b.RequestID, RequesterID: b.RequesterID, Revision: b.Revision,
		Action: s.action, Intent: s.intent, Fingerprint: b.Fingerprint, PolicyHash: b.PolicyHash, ExpiresAt: b.ExpiresAt, Quorum: q}
	for i, id := range s.approvers {
		a := c.people[id].Approver
		cert.Approvals = append(cert.Approvals, approvals.CertificateApproval{ApproverID: id, Name: a.Name, Role: a.Role,
			PublicKey: a.Key, Signature: votes[i].Signature})
	}
	return cert
}

// transferIntent is the canonical intent of a transfer of amount wei.
func transferIntent(tb fataler, walletID, amount string) []byte {
	tb.Helper()
	t, err := intent.NewTransfer(walletID, "ethereum", "eth", "0x"+randomHex(20), amount, "invoice "+randomHex(4), randomHex(16))
	if err != nil {
		tb.Fatalf("transfer intent: %v", err)
	}
	return t.Canonical()
}

// eurOf values a transfer intent at the coordinator's anchors.
func (c *coordinator) eurOf(tb fataler, raw []byte) int64 {
	tb.Helper()
	t, err := intent.ParseTransfer(raw)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	eur, err := c.governance().TransferValue(t, nil)
	if err != nil {
		tb.Fatalf("valuing: %v", err)
	}
	return eur
}

// transferCert is an honest certificate for a transfer of amount from
// walletID, signed by approvers. It returns the intent (the message) too.
func (c *coordinator) transferCert(tb fataler, walletID, amount string, approvers ...string) ([]byte, *approvals.Certificate) {
	tb.Helper()
	raw := transferIntent(tb, walletID, amount)
	return raw, c.certificate(tb, certSpec{action: "transfer", intent: raw, eurCents: c.eurOf(tb, raw), approvers: approvers})
}

// ---- key ceremony ----

// wallet is an active FROST key held by nodes (participant i+1 is
// nodes[i]).
type wallet struct {
	ref       wire.KeyRef
	group     frost.GroupKey
	nodes     []*node
	threshold int
}

func (w *wallet) index(n *node) uint16 {
	return uint16(slices.Index(w.nodes, n) + 1)
}

// ceremony is a DKG in progress, step by step.
type ceremony struct {
	c           *coordinator
	session     string
	w           *wallet
	start       wire.DKGStart
	round1      [][]byte        // package of participant i+1
	confirms    []wire.Envelope // DKGTranscript answers
	completions []wire.Envelope // DKGCompletion answers
}

// walletCreate is an approved wallet.create certificate for the ceremony.
func (c *coordinator) walletCreate(tb fataler, nodes []*node, threshold int, walletID string) *approvals.Certificate {
	tb.Helper()
	var ids []string
	for _, n := range nodes {
		ids = append(ids, n.id)
	}
	raw, err := intent.NewAction("wallet.create", map[string]any{"name": walletID, "mode": "frost", "curve": "ed25519",
		"threshold": threshold, "guardians": ids})
	if err != nil {
		tb.Fatalf("%v", err)
	}
	return c.certificate(tb, certSpec{action: "wallet.create", intent: raw, approvers: []string{"u-alice", "u-bob"}})
}

// newCeremony prepares a DKG among nodes without sending anything.
func (c *coordinator) newCeremony(tb fataler, nodes []*node, threshold int, walletID string) *ceremony {
	tb.Helper()
	cr := &ceremony{c: c, session: randomHex(32),
		w: &wallet{ref: wire.KeyRef{WalletID: walletID, KeyVersion: 1}, nodes: nodes, threshold: threshold}}
	cr.start = wire.DKGStart{KeyRef: cr.w.ref, Curve: "ed25519", Threshold: uint16(threshold),
		Certificate: c.walletCreate(tb, nodes, threshold, walletID)}
	for i, n := range nodes {
		cr.start.Participants = append(cr.start.Participants, wire.Participant{Index: uint16(i + 1), GuardianID: n.id,
			IdentityKey: n.IdentityKey(), EncryptionKey: n.EncryptionKey()})
	}
	return cr
}

// doStart runs round 1 on every participant.
func (cr *ceremony) doStart(tb fataler) {
	tb.Helper()
	for _, n := range cr.w.nodes {
		var r wire.DKGRound1
		cr.c.ok(tb, n, wire.KindDKGStart, cr.session, 1, cr.start, &r)
		cr.round1 = append(cr.round1, r.Package)
	}
}

// doConfirm relays the round-1 set to every participant.
func (cr *ceremony) doConfirm(tb fataler) {
	tb.Helper()
	for _, n := range cr.w.nodes {
		var tr wire.DKGTranscript
		ans := cr.c.ok(tb, n, wire.KindDKGConfirm, cr.session, 2, wire.DKGConfirm{Packages: cr.round1}, &tr)
		if tr.Index != cr.w.index(n) {
			tb.Fatalf("transcript of %s names index %d", n.id, tr.Index)
		}
		cr.confirms = append(cr.confirms, *ans)
	}
}

// doShares collects the encrypted shares and routes them by recipient.
func (cr *ceremony) doShares(tb fataler) map[uint16][][]byte {
	tb.Helper()
	routed := map[uint16][][]byte{}
	for _, n := range cr.w.nodes {
		var out wire.DKGSharesResponse
		cr.c.ok(tb, n, wire.KindDKGShares, cr.session, 3, wire.DKGShares{Confirmations: cr.confirms}, &out)
		if len(out.Shares) != len(cr.w.nodes)-1 {
			tb.Fatalf("%s released %d shares for %d participants", n.id, len(out.Shares), len(cr.w.nodes))
		}
		for _, b := range out.Shares {
			m, err := dkg.UnmarshalRound2(b)
			if err != nil {
				tb.Fatalf("round-2 message of %s: %v", n.id, err)
			}
			if m.From != cr.w.index(n) {
				tb.Fatalf("round-2 message of %s is from %d", n.id, m.From)
			}
			routed[m.To] = append(routed[m.To], b)
		}
	}
	return routed
}

// doFinalize hands every participant its shares; all must agree on the key.
func (cr *ceremony) doFinalize(tb fataler, routed map[uint16][][]byte) {
	tb.Helper()
	for i, n := range cr.w.nodes {
		var d wire.DKGCompletion
		ans := cr.c.ok(tb, n, wire.KindDKGFinalize, cr.session, 4, wire.DKGFinalize{Shares: routed[uint16(i+1)]}, &d)
		if i == 0 {
			cr.w.group = d.GroupKey
		} else if !bytes.Equal(d.GroupKey.VerificationKey, cr.w.group.VerificationKey) {
			tb.Fatalf("participants computed different group keys")
		}
		cr.completions = append(cr.completions, *ans)
	}
	if err := cr.w.group.Validate(); err != nil {
		tb.Fatalf("group key: %v", err)
	}
	if int(cr.w.group.Threshold) != cr.w.threshold || int(cr.w.group.MaxSigners) != len(cr.w.nodes) {
		tb.Fatalf("group key is %d-of-%d", cr.w.group.Threshold, cr.w.group.MaxSigners)
	}
}

// testSignature signs the ceremony's test message with the first t nodes.
func (cr *ceremony) testSignature(tb fataler) []byte {
	tb.Helper()
	msg := wire.TestMessage(cr.session, &cr.w.group)
	return cr.c.sign(tb, cr.w, cr.w.nodes[:cr.w.threshold], wire.SignRequest{Message: msg, Ceremony: cr.session})
}

// doActivate activates the key on every participant.
func (cr *ceremony) doActivate(tb fataler, sig []byte) {
	tb.Helper()
	for _, n := range cr.w.nodes {
		var a wire.DKGActivated
		cr.c.ok(tb, n, wire.KindDKGActivate, cr.session, 5, wire.DKGActivate{Completions: cr.completions, TestSignature: sig}, &a)
		if a.Status != "active" {
			tb.Fatalf("%s: key status %q after activation", n.id, a.Status)
		}
	}
}

// finalized runs a ceremony up to a pending key.
func (c *coordinator) finalized(tb fataler, nodes []*node, threshold int, walletID string) *ceremony {
	tb.Helper()
	cr := c.newCeremony(tb, nodes, threshold, walletID)
	cr.doStart(tb)
	cr.doConfirm(tb)
	cr.doFinalize(tb, cr.doShares(tb))
	return cr
}

// dkg runs a whole key ceremony among nodes and returns the active wallet.
func (c *coordinator) dkg(tb fataler, nodes []*node, threshold int, walletID string) *wallet {
	tb.Helper()
	cr := c.finalized(tb, nodes, threshold, walletID)
	cr.doActivate(tb, cr.testSignature(tb))
	return cr.w
}

// ---- signing ----

// commitments asks n for count fresh commitments for w's key.
func (c *coordinator) commitments(tb fataler, n *node, ref wire.KeyRef, count int) []frost.Commitment {
	tb.Helper()
	var r wire.CommitResponse
	c.ok(tb, n, wire.KindCommit, "pool-"+randomHex(6), 1, wire.CommitRequest{KeyRef: ref, Count: count}, &r)
	if len(r.Commitments) != count {
		tb.Fatalf("%s handed out %d commitments, want %d", n.id, len(r.Commitments), count)
	}
	return r.Commitments
}

// signing is one signing attempt: a session, its signers and its request.
type signing struct {
	c        *coordinator
	w        *wallet
	session  string
	signers  []*node
	req      wire.SignRequest
	prepared []wire.Envelope
}

// newSigning draws a fresh commitment from every signer and completes req
// (message, certificate, valuation or ceremony set by the caller) with the
// key and the sorted commitment list.
func (c *coordinator) newSigning(tb fataler, w *wallet, signers []*node, req wire.SignRequest) *signing {
	tb.Helper()
	s := &signing{c: c, w: w, session: "sign-" + randomHex(8), signers: slices.Clone(signers), req: req}
	slices.SortFunc(s.signers, func(a, b *node) int { return int(w.index(a)) - int(w.index(b)) })
	s.req.KeyRef = w.ref
	s.req.Commitments = nil
	for _, n := range s.signers {
		s.req.Commitments = append(s.req.Commitments, c.commitments(tb, n, w.ref, 1)[0])
	}
	return s
}

// digest is the RequestDigest of s.req.
func (s *signing) digest(tb fataler) [32]byte {
	tb.Helper()
	d, err := wire.RequestDigest(&s.req)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	return d
}

// prepareOne sends round 1 of s (with req) to n.
func (s *signing) prepareOne(tb fataler, n *node, req wire.SignRequest) *wire.Envelope {
	tb.Helper()
	return s.c.deliver(tb, n, s.c.envelope(tb, n.id, wire.KindPrepare, s.session, 1, req))
}

// prepare runs round 1 on every signer; all must accept.
func (s *signing) prepare(tb fataler) {
	tb.Helper()
	d := s.digest(tb)
	s.prepared = nil
	for _, n := range s.signers {
		ans := s.prepareOne(tb, n, s.req)
		var p wire.Prepared
		if e := answer(tb, ans, &p); e != nil {
			tb.Fatalf("prepare refused by %s: %s: %s", n.id, e.Code, e.Message)
		}
		if p.Guardian != s.w.index(n) || p.Request != d {
			tb.Fatalf("%s prepared %+v, want index %d and digest %x", n.id, p, s.w.index(n), d)
		}
		s.prepared = append(s.prepared, *ans)
	}
}

// shareEnvelope is round 2 of s for n, with the given statements.
func (s *signing) shareEnvelope(tb fataler, n *node, req wire.SignRequest, prepared []wire.Envelope) *wire.Envelope {
	tb.Helper()
	return s.c.envelope(tb, n.id, wire.KindSign, s.session, 2, wire.ShareRequest{Request: req, Prepared: prepared})
}

// shareOf runs round 2 on n and returns its share.
func (s *signing) shareOf(tb fataler, n *node) []byte {
	tb.Helper()
	ans := s.c.deliver(tb, n, s.shareEnvelope(tb, n, s.req, s.prepared))
	var r wire.ShareResponse
	if e := answer(tb, ans, &r); e != nil {
		tb.Fatalf("round 2 refused by %s: %s: %s", n.id, e.Code, e.Message)
	}
	if r.Guardian != s.w.index(n) || len(r.Share) == 0 {
		tb.Fatalf("%s answered share %+v", n.id, r)
	}
	return r.Share
}

// shares runs round 2 on every signer.
func (s *signing) shares(tb fataler) map[uint16][]byte {
	tb.Helper()
	out := map[uint16][]byte{}
	for _, n := range s.signers {
		out[s.w.index(n)] = s.shareOf(tb, n)
	}
	return out
}

// aggregate combines shares and checks the signature with crypto/ed25519.
func (s *signing) aggregate(tb fataler, shares map[uint16][]byte) []byte {
	tb.Helper()
	sig, err := frost.Aggregate(&s.w.group, s.req.Message, s.req.Commitments, shares)
	if err != nil {
		tb.Fatalf("aggregate: %v", err)
	}
	if !ed25519.Verify(s.w.group.VerificationKey, s.req.Message, sig) {
		tb.Fatalf("the aggregate signature does not verify with crypto/ed25519")
	}
	return sig
}

// sign runs a whole signature of req by signers and returns it, verified.
func (c *coordinator) sign(tb fataler, w *wallet, signers []*node, req wire.SignRequest) []byte {
	tb.Helper()
	s := c.newSigning(tb, w, signers, req)
	s.prepare(tb)
	return s.aggregate(tb, s.shares(tb))
}

// signTransfer signs an honestly approved small transfer from w.
func (c *coordinator) signTransfer(tb fataler, w *wallet, signers []*node) []byte {
	tb.Helper()
	msg, cert := c.transferCert(tb, w.ref.WalletID, amountSmall, "u-bob")
	return c.sign(tb, w, signers, wire.SignRequest{Message: msg, Certificate: cert})
}

// subsets returns every k-element subset of nodes, in order.
func subsets(nodes []*node, k int) [][]*node {
	if k == 0 {
		return [][]*node{nil}
	}
	if len(nodes) < k {
		return nil
	}
	var out [][]*node
	for _, rest := range subsets(nodes[1:], k-1) {
		out = append(out, append([]*node{nodes[0]}, rest...))
	}
	return append(out, subsets(nodes[1:], k)...)
}
