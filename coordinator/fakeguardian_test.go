package coordinator_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/custos-dev/custos/approvals/intent"
	"github.com/custos-dev/custos/approvals/proof"
	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/dkg"
	"github.com/custos-dev/custos/frost"
	"github.com/custos-dev/custos/governance"
	"github.com/custos-dev/custos/guardian/wire"
	"github.com/custos-dev/custos/internal/seal"
	"github.com/custos-dev/custos/store"
	"github.com/google/uuid"
)

// This file is an in-process stand-in for guardian processes, for testing
// the coordinator's side of the protocol: enrolment, key ceremonies with
// the real dkg package, and signing with real frost.Signer shares. It
// checks what the coordinator sends as strictly as the protocol needs
// (authenticated envelopes, commitments reserved per session, the same
// request in both rounds) and can be told to misbehave. The real guardian
// daemon is tested against the coordinator end to end under e2e/.

// fakeNet is a GuardianTransport to fake guardians. Messages go through
// JSON both ways, as over HTTP.
type fakeNet struct {
	coord ed25519.PublicKey
	now   func() time.Time

	mu        sync.Mutex
	guardians map[string]*fakeGuardian // by guardian id
}

var _ coordinator.GuardianTransport = (*fakeNet)(nil)

func (n *fakeNet) add(g *fakeGuardian) {
	n.mu.Lock()
	n.guardians[g.id] = g
	n.mu.Unlock()
}

func (n *fakeNet) RoundTrip(ctx context.Context, g *store.Guardian, req *wire.Envelope) (*wire.Envelope, error) {
	n.mu.Lock()
	fg := n.guardians[g.ID]
	n.mu.Unlock()
	if fg == nil {
		return nil, errors.New("connection refused")
	}
	raw, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	env, err := wire.ParseEnvelope(raw)
	if err != nil {
		return nil, err
	}
	ans, err := fg.serve(env, n.coord, n.now)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err // as an HTTP client whose request was cancelled
	}
	if raw, err = json.Marshal(ans); err != nil {
		return nil, err
	}
	return wire.ParseEnvelope(raw)
}

// fakeGuardian is one guardian.
type fakeGuardian struct {
	name     string
	endpoint string // set when served over HTTP
	id       string
	identity ed25519.PrivateKey
	enc      *ecdh.PrivateKey
	started  time.Time

	mu         sync.Mutex
	down       bool   // does not answer
	corrupt    bool   // returns corrupted signature shares
	refuse     string // refuses a transfer's certificate with this code
	checkCert  bool   // checks a transfer's certificate against the governance state it holds, as a guardian does
	dropGov    bool   // governance updates reach it but get no answer
	onPrepare  func() // called when it receives sign.prepare
	onSign     func() // called when it receives sign.share
	badProof   bool   // DKG: sends a round-1 package with a broken proof of knowledge
	govHash    string
	state      *governance.State // the governance state it holds
	applied    map[string]bool   // governance requests applied
	calls      map[string]int
	shares     int // signature shares released
	onDemand   int // commitment requests for a single commitment
	keys       map[wire.KeyRef]*fakeKey
	ceremonies map[string]*fakeCeremony
	aborted    map[string]string // session -> reason
}

type fakeKey struct {
	index    uint16
	share    []byte // the key share, to rebuild the signer after a "restart"
	signer   *frost.Signer
	issued   map[uint64]bool // commitments handed out and not used
	status   string
	ceremony string
	group    frost.GroupKey
	reserved map[uint64]string // commitment id -> session
}

type fakeCeremony struct {
	p          *dkg.Participant
	index      uint16
	ref        wire.KeyRef
	parts      []wire.Participant
	transcript [32]byte
	shares     []dkg.Round2
}

func newFakeGuardian(name string) *fakeGuardian {
	seed := sha256.Sum256([]byte("fake guardian identity " + name))
	encSeed := sha256.Sum256([]byte("fake guardian encryption " + name))
	enc, err := ecdh.X25519().NewPrivateKey(encSeed[:])
	if err != nil {
		panic(err)
	}
	return &fakeGuardian{name: name, identity: ed25519.NewKeyFromSeed(seed[:]), enc: enc, started: time.Unix(1_700_000_000, 0).UTC(),
		applied: map[string]bool{}, calls: map[string]int{}, keys: map[wire.KeyRef]*fakeKey{}, ceremonies: map[string]*fakeCeremony{}, aborted: map[string]string{}}
}

func (g *fakeGuardian) set(f func(g *fakeGuardian)) {
	g.mu.Lock()
	f(g)
	g.mu.Unlock()
}

// locked returns f(g), read under g's lock.
func locked[T any](g *fakeGuardian, f func(g *fakeGuardian) T) T {
	g.mu.Lock()
	defer g.mu.Unlock()
	return f(g)
}

func (g *fakeGuardian) count(kind string) int {
	return locked(g, func(g *fakeGuardian) int { return g.calls[kind] })
}

type fakeRefusal struct {
	code, msg string
	culprits  []uint16 // ceremony participants it names, as a guardian does
}

func (r *fakeRefusal) Error() string { return r.code + ": " + r.msg }

func refuse(code, format string, args ...any) error {
	return &fakeRefusal{code: code, msg: fmt.Sprintf(format, args...)}
}

func (g *fakeGuardian) serve(env *wire.Envelope, coord ed25519.PublicKey, now func() time.Time) (*wire.Envelope, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.down {
		return nil, errors.New("connection refused")
	}
	if err := env.Verify(coord, wire.Expect{From: wire.CoordinatorID, To: g.id, Now: now()}); err != nil {
		return nil, fmt.Errorf("HTTP 401: %v", err)
	}
	g.calls[env.Kind]++
	if g.dropGov && env.Kind == wire.KindGovernance {
		return nil, errors.New("connection reset")
	}
	body, err := g.dispatch(env, now())
	kind := env.Kind
	if err != nil {
		var r *fakeRefusal
		if !errors.As(err, &r) {
			r = &fakeRefusal{code: wire.CodeInternal, msg: err.Error()}
		}
		kind, body = wire.KindError, wire.Error{Code: r.code, Message: r.msg, Culprits: r.culprits}
	}
	return g.answer(env, kind, body, now())
}

// answer is g's signed answer of kind with body to req.
func (g *fakeGuardian) answer(req *wire.Envelope, kind string, body any, now time.Time) (*wire.Envelope, error) {
	d := req.Digest()
	return wire.New(g.identity, kind, req.Session, req.Round, g.id, wire.CoordinatorID, d[:], body, now)
}

func (g *fakeGuardian) dispatch(env *wire.Envelope, now time.Time) (any, error) {
	switch env.Kind {
	case wire.KindHealth:
		h := wire.Health{GuardianID: g.id, Version: "fake/1", StartedAt: g.started, GovernanceHash: g.govHash}
		for ref, k := range g.keys {
			h.Keys = append(h.Keys, wire.KeyStatus{WalletID: ref.WalletID, KeyVersion: ref.KeyVersion, Index: k.index, Status: k.status, Nonces: k.signer.Pending()})
		}
		return h, nil
	case wire.KindGovernance:
		var r wire.GovernanceUpdate
		if err := env.Decode(&r); err != nil {
			return nil, refuse(wire.CodeMalformed, "%v", err)
		}
		for _, c := range r.Certificates {
			if g.applied[c.RequestID] {
				continue
			}
			next, err := g.state.Apply(c, now)
			if err != nil {
				var ref *governance.Refusal
				if errors.As(err, &ref) {
					return nil, refuse(ref.Code, "%s", ref.Reason)
				}
				return nil, err
			}
			g.state, g.govHash, g.applied[c.RequestID] = next, next.HashHex(), true
		}
		return wire.GovernanceState{Hash: g.govHash, Applied: len(g.applied)}, nil
	case wire.KindCommit:
		return g.commit(env)
	case wire.KindPrepare:
		return g.prepare(env, now)
	case wire.KindSign:
		return g.sign(env, now)
	case wire.KindDKGStart:
		return g.dkgStart(env)
	case wire.KindDKGConfirm:
		return g.dkgConfirm(env)
	case wire.KindDKGShares:
		return g.dkgShares(env)
	case wire.KindDKGFinalize:
		return g.dkgFinalize(env)
	case wire.KindDKGActivate:
		return g.dkgActivate(env)
	case wire.KindDKGAbort:
		var r wire.DKGAbort
		if err := env.Decode(&r); err != nil {
			return nil, refuse(wire.CodeMalformed, "%v", err)
		}
		g.aborted[env.Session] = r.Reason
		delete(g.ceremonies, env.Session)
		return r, nil
	}
	return nil, refuse(wire.CodeMalformed, "unknown kind %q", env.Kind)
}

func (g *fakeGuardian) commit(env *wire.Envelope) (any, error) {
	var r wire.CommitRequest
	if err := env.Decode(&r); err != nil {
		return nil, refuse(wire.CodeMalformed, "%v", err)
	}
	k := g.keys[r.KeyRef]
	if k == nil {
		return nil, refuse(wire.CodeUnknownKey, "no key")
	}
	if r.Count < 1 || r.Count > 64 {
		return nil, refuse(wire.CodeMalformed, "count %d", r.Count)
	}
	if r.Count == 1 {
		g.onDemand++
	}
	var out wire.CommitResponse
	for range r.Count {
		c, err := k.signer.Commit()
		if err != nil {
			return nil, err
		}
		k.issued[c.ID] = true
		out.Commitments = append(out.Commitments, c)
	}
	return out, nil
}

func ownCommitment(k *fakeKey, list []frost.Commitment) (frost.Commitment, error) {
	i := slices.IndexFunc(list, func(c frost.Commitment) bool { return c.Signer == k.index })
	if i < 0 || !slices.IsSortedFunc(list, func(a, b frost.Commitment) int { return int(a.Signer) - int(b.Signer) }) {
		return frost.Commitment{}, refuse(wire.CodeCommitmentList, "own commitment missing or list unsorted")
	}
	return list[i], nil
}

func (g *fakeGuardian) prepare(env *wire.Envelope, now time.Time) (any, error) {
	if g.onPrepare != nil {
		g.onPrepare()
	}
	var r wire.SignRequest
	if err := env.Decode(&r); err != nil {
		return nil, refuse(wire.CodeMalformed, "%v", err)
	}
	k := g.keys[r.KeyRef]
	if k == nil {
		return nil, refuse(wire.CodeUnknownKey, "no key")
	}
	switch {
	case r.Ceremony != "":
		if g.refuse != "" {
			return nil, refuse(g.refuse, "this guardian refuses")
		}
		if k.status != "pending" || r.Ceremony != k.ceremony || r.Certificate != nil || !bytes.Equal(r.Message, wire.TestMessage(k.ceremony, &k.group)) {
			return nil, refuse(wire.CodeMessageMismatch, "not this key's test message")
		}
	case k.status != "active":
		return nil, refuse(wire.CodeKeyNotActive, "key %s", k.status)
	case r.Certificate == nil:
		// Ahead of the approval: a transfer from this wallet.
		if t, err := intent.ParseTransfer(r.Message); err != nil || t.WalletID != r.WalletID {
			return nil, refuse(wire.CodeMessageMismatch, "not a transfer from this wallet")
		}
	default:
		if err := g.checkTransfer(&r, now); err != nil {
			return nil, err
		}
	}
	own, err := ownCommitment(k, r.Commitments)
	if err != nil {
		return nil, err
	}
	if !k.issued[own.ID] {
		return nil, refuse(wire.CodeUnknownNonce, "commitment %d is spent or was issued before a restart", own.ID)
	}
	if s, ok := k.reserved[own.ID]; ok && s != env.Session {
		return nil, refuse(wire.CodeNonceReserved, "commitment %d reserved", own.ID)
	}
	k.reserved[own.ID] = env.Session
	d, err := wire.RequestDigest(&r)
	if err != nil {
		return nil, err
	}
	return wire.Prepared{Guardian: k.index, Request: d}, nil
}

// checkTransfer checks a transfer request's certificate, as
// guardian.checkTransfer does (with checkCert) or only its shape.
func (g *fakeGuardian) checkTransfer(r *wire.SignRequest, now time.Time) error {
	if g.refuse != "" {
		return refuse(g.refuse, "this guardian refuses")
	}
	if r.Certificate == nil || !bytes.Equal(r.Certificate.Intent, r.Message) || r.Certificate.Action != "transfer" {
		return refuse("certificate_malformed", "no transfer certificate for this message")
	}
	if g.checkCert {
		return g.checkCertificate(r, now)
	}
	return nil
}

// checkCertificate checks a transfer's certificate against the governance
// state g holds, as guardian.checkTransfer does.
func (g *fakeGuardian) checkCertificate(r *wire.SignRequest, now time.Time) error {
	t, err := intent.ParseTransfer(r.Certificate.Intent)
	if err != nil {
		return refuse(governance.CodeIntentMismatch, "%v", err)
	}
	eur, err := g.state.TransferValue(t, r.Valuation)
	if err == nil {
		err = g.state.Check(r.Certificate, eur, now)
	}
	var ref *governance.Refusal
	if errors.As(err, &ref) {
		return refuse(ref.Code, "%s", ref.Reason)
	}
	return err
}

func (g *fakeGuardian) sign(env *wire.Envelope, now time.Time) (any, error) {
	if g.onSign != nil {
		g.onSign()
	}
	var r wire.ShareRequest
	if err := env.Decode(&r); err != nil {
		return nil, refuse(wire.CodeMalformed, "%v", err)
	}
	k := g.keys[r.Request.KeyRef]
	if k == nil {
		return nil, refuse(wire.CodeUnknownKey, "no key")
	}
	if r.Request.Ceremony == "" {
		if err := g.checkTransfer(&r.Request, now); err != nil {
			return nil, err
		}
	}
	own, err := ownCommitment(k, r.Request.Commitments)
	if err != nil {
		return nil, err
	}
	if k.reserved[own.ID] != env.Session {
		return nil, refuse(wire.CodeNotPrepared, "not prepared in this session")
	}
	d, err := wire.RequestDigest(&r.Request)
	if err != nil {
		return nil, err
	}
	if len(r.Prepared) != len(r.Request.Commitments) {
		return nil, refuse(wire.CodeInconsistent, "%d statements", len(r.Prepared))
	}
	for _, p := range r.Prepared {
		var body wire.Prepared
		if err := p.Decode(&body); err != nil || body.Request != d || p.Kind != wire.KindPrepare || p.Session != env.Session {
			return nil, refuse(wire.CodeInconsistent, "participants were shown different requests")
		}
	}
	delete(k.reserved, own.ID)
	delete(k.issued, own.ID)
	share, err := k.signer.Sign(r.Request.Message, r.Request.Commitments)
	if err != nil {
		return nil, refuse(wire.CodeUnknownNonce, "%v", err)
	}
	if g.corrupt {
		share = slices.Clone(share)
		share[3] ^= 0x40
	}
	g.shares++
	return wire.ShareResponse{Guardian: k.index, Share: share}, nil
}

func (g *fakeGuardian) dkgStart(env *wire.Envelope) (any, error) {
	var r wire.DKGStart
	if err := env.Decode(&r); err != nil {
		return nil, refuse(wire.CodeMalformed, "%v", err)
	}
	sid, err := hex.DecodeString(env.Session)
	if err != nil || len(sid) != 32 {
		return nil, refuse(wire.CodeMalformed, "session id")
	}
	suite, err := frost.ParseSuite(r.Curve)
	if err != nil {
		return nil, refuse(wire.CodeMalformed, "%v", err)
	}
	var index uint16
	for i, p := range r.Participants {
		if p.Index != uint16(i+1) {
			return nil, refuse(wire.CodeMalformed, "participant order")
		}
		if p.GuardianID == g.id {
			if !bytes.Equal(p.IdentityKey, g.identity.Public().(ed25519.PublicKey)) || !bytes.Equal(p.EncryptionKey, g.enc.PublicKey().Bytes()) {
				return nil, refuse(wire.CodeMalformed, "listed with other keys")
			}
			index = p.Index
		}
	}
	if index == 0 || r.Certificate == nil || r.Certificate.Action != "wallet.create" {
		return nil, refuse(wire.CodeMalformed, "not a participant, or no wallet.create certificate")
	}
	s := dkg.Session{Suite: suite, Threshold: r.Threshold, N: uint16(len(r.Participants))}
	copy(s.ID[:], sid)
	p, err := dkg.NewParticipant(s, index, g.enc)
	if err != nil {
		return nil, refuse(wire.CodeCeremony, "%v", err)
	}
	r1, err := p.Round1()
	if err != nil {
		return nil, err
	}
	if g.badProof {
		r1.ProofZ = slices.Clone(r1.ProofZ)
		r1.ProofZ[0] ^= 1
	}
	b, err := r1.Marshal()
	if err != nil {
		return nil, err
	}
	g.ceremonies[env.Session] = &fakeCeremony{p: p, index: index, ref: r.KeyRef, parts: r.Participants}
	return wire.DKGRound1{Package: b}, nil
}

func (g *fakeGuardian) dkgConfirm(env *wire.Envelope) (any, error) {
	var r wire.DKGConfirm
	if err := env.Decode(&r); err != nil {
		return nil, refuse(wire.CodeMalformed, "%v", err)
	}
	c := g.ceremonies[env.Session]
	if c == nil {
		return nil, refuse(wire.CodeCeremony, "no ceremony")
	}
	var all []dkg.Round1
	for _, b := range r.Packages {
		p, err := dkg.UnmarshalRound1(b)
		if err != nil {
			return nil, refuse(wire.CodeMisbehaviour, "a package does not decode")
		}
		all = append(all, *p)
	}
	rec := map[uint16][]byte{}
	for _, p := range c.parts {
		if p.Index != c.index {
			rec[p.Index] = p.EncryptionKey
		}
	}
	tr, out, err := c.p.Round2(all, rec)
	if err != nil {
		var names []string
		for _, i := range dkg.Culprits(err) {
			names = append(names, fmt.Sprintf("participant %d", i))
		}
		return nil, &fakeRefusal{code: wire.CodeMisbehaviour, msg: fmt.Sprintf("%v: %v", names, err), culprits: dkg.Culprits(err)}
	}
	c.transcript, c.shares = tr, out
	return wire.DKGTranscript{Index: c.index, Transcript: tr}, nil
}

func (g *fakeGuardian) dkgShares(env *wire.Envelope) (any, error) {
	var r wire.DKGShares
	if err := env.Decode(&r); err != nil {
		return nil, refuse(wire.CodeMalformed, "%v", err)
	}
	c := g.ceremonies[env.Session]
	if c == nil || len(r.Confirmations) != len(c.parts) {
		return nil, refuse(wire.CodeCeremony, "no ceremony, or confirmations missing")
	}
	for _, e := range r.Confirmations {
		var t wire.DKGTranscript
		if err := e.Decode(&t); err != nil || t.Transcript != c.transcript || e.Kind != wire.KindDKGConfirm {
			return nil, refuse(wire.CodeInconsistent, "a participant saw another round-1 set")
		}
	}
	var out wire.DKGSharesResponse
	for i := range c.shares {
		b, err := c.shares[i].Marshal()
		if err != nil {
			return nil, err
		}
		out.Shares = append(out.Shares, b)
	}
	return out, nil
}

func (g *fakeGuardian) dkgFinalize(env *wire.Envelope) (any, error) {
	var r wire.DKGFinalize
	if err := env.Decode(&r); err != nil {
		return nil, refuse(wire.CodeMalformed, "%v", err)
	}
	c := g.ceremonies[env.Session]
	if c == nil {
		return nil, refuse(wire.CodeCeremony, "no ceremony")
	}
	var in []dkg.Round2
	for _, b := range r.Shares {
		m, err := dkg.UnmarshalRound2(b)
		if err != nil {
			return nil, refuse(wire.CodeMisbehaviour, "a share does not decode")
		}
		in = append(in, *m)
	}
	ks, err := c.p.Finalize(c.transcript, in)
	if err != nil {
		return nil, &fakeRefusal{code: wire.CodeMisbehaviour, msg: err.Error(), culprits: dkg.Culprits(err)}
	}
	defer ks.Zero()
	signer, err := frost.NewSigner(ks)
	if err != nil {
		return nil, err
	}
	g.keys[c.ref] = &fakeKey{index: c.index, signer: signer, status: "pending", ceremony: env.Session, group: ks.Group,
		reserved: map[uint64]string{}, issued: map[uint64]bool{}}
	return wire.DKGCompletion{Index: c.index, Transcript: c.transcript, GroupKey: ks.Group}, nil
}

func (g *fakeGuardian) dkgActivate(env *wire.Envelope) (any, error) {
	var r wire.DKGActivate
	if err := env.Decode(&r); err != nil {
		return nil, refuse(wire.CodeMalformed, "%v", err)
	}
	c := g.ceremonies[env.Session]
	if c == nil {
		return nil, refuse(wire.CodeCeremony, "no ceremony")
	}
	k := g.keys[c.ref]
	if k == nil || len(r.Completions) != len(c.parts) {
		return nil, refuse(wire.CodeCeremony, "no pending key, or completions missing")
	}
	if err := frost.Verify(k.group.Suite, k.group.VerificationKey, wire.TestMessage(env.Session, &k.group), r.TestSignature); err != nil {
		return nil, refuse(wire.CodeCeremony, "test signature: %v", err)
	}
	k.status = "active"
	delete(g.ceremonies, env.Session)
	return wire.DKGActivated{Status: "active"}, nil
}

// ---- fixtures with guardians ----

// guardianFixture is a fixture whose service talks to fake guardians.
type guardianFixture struct {
	*fixture
	net      *fakeNet
	gs       []*fakeGuardian
	overHTTP bool
}

var coordinatorGuardianKey = seedKey("coordinator guardian identity")

// newGuardianFixture enrols n fake guardians g1..gn, reached in process.
func newGuardianFixture(t *testing.T, policyJSON string, n int) *guardianFixture {
	return buildGuardianFixture(t, policyJSON, n, false)
}

// buildGuardianFixture enrols n fake guardians g1..gn, reached in process
// or, with overHTTP, through the coordinator's HTTP transport to a test
// server per guardian.
func buildGuardianFixture(t *testing.T, policyJSON string, n int, overHTTP bool) *guardianFixture {
	t.Helper()
	f := newFixture(t, policyJSON)
	net := &fakeNet{coord: coordinatorGuardianKey.Public().(ed25519.PublicKey), now: f.clock.Now, guardians: map[string]*fakeGuardian{}}
	var tr coordinator.GuardianTransport = net
	if overHTTP {
		tr = nil // the default: HTTP
	}
	f.svc = guardianService(t, f.st, f.clock, tr)
	gf := &guardianFixture{fixture: f, net: net, overHTTP: overHTTP}
	for i := range n {
		gf.gs = append(gf.gs, gf.enrol(fmt.Sprintf("g%d", i+1)))
	}
	return gf
}

// serveHTTP serves g's /v1/rpc as a guardian daemon does: 200 with a signed
// answer, 401 for a request it cannot authenticate.
func (n *fakeNet) serveHTTP(g *fakeGuardian) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		env, err := wire.ParseEnvelope(body)
		if r.URL.Path != "/v1/rpc" || err != nil {
			http.Error(w, `{"code":"malformed"}`, http.StatusBadRequest)
			return
		}
		ans, err := g.serve(env, n.coord, n.now)
		if err != nil {
			http.Error(w, `{"code":"unauthenticated"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(ans)
	}))
}

// guardianService is a coordinator on st that talks to guardians through
// tr (nil: HTTP) with the test coordinator key.
func guardianService(t *testing.T, st store.Store, clk *clock, tr coordinator.GuardianTransport) *coordinator.Service {
	t.Helper()
	kek, err := seal.NewKEK(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := proof.NewSigner(seedKey("decision"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := coordinator.New(coordinator.Config{Store: st, KEK: kek, DecisionKey: signer, Now: clk.Now,
		GuardianKey: coordinatorGuardianKey, GuardianTransport: tr, GuardianTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc
}

// enrol enrols a fake guardian named name.
func (gf *guardianFixture) enrol(name string) *fakeGuardian {
	gf.t.Helper()
	ctx := context.Background()
	inv, err := gf.svc.InviteGuardian(ctx, gf.users["ada"], name)
	if err != nil {
		gf.t.Fatal(err)
	}
	g := newFakeGuardian(name)
	if gf.overHTTP {
		srv := gf.net.serveHTTP(g)
		gf.t.Cleanup(srv.Close)
		g.endpoint = srv.URL
	}
	// As `custos guardian enroll` does: preview, then enrol with the
	// previewed governance hash.
	pv, err := gf.svc.PreviewGuardianEnrollment(ctx, inv.Code.Reveal())
	if err != nil {
		gf.t.Fatal(err)
	}
	resp, err := gf.svc.EnrollGuardian(ctx, g.enrollRequest(inv.Code.Reveal(), pv.GovernanceHash))
	if err != nil {
		gf.t.Fatal(err)
	}
	if resp.GovernanceHash != pv.GovernanceHash {
		gf.t.Fatalf("enrolled under governance state %s, previewed %s", resp.GovernanceHash, pv.GovernanceHash)
	}
	st, err := governance.Parse(resp.Governance)
	if err != nil {
		gf.t.Fatalf("enrolment governance state: %v", err)
	}
	if st.HashHex() != resp.GovernanceHash {
		gf.t.Fatalf("enrolment governance state hashes to %s, answered %s", st.HashHex(), resp.GovernanceHash)
	}
	g.id, g.govHash, g.state = resp.GuardianID, resp.GovernanceHash, st
	gf.net.add(g)
	return g
}

// enrollRequest is g's signed enrolment with code, confirming the
// governance state with hash governanceHash.
func (g *fakeGuardian) enrollRequest(code, governanceHash string) *wire.EnrollRequest {
	endpoint := g.endpoint
	if endpoint == "" {
		endpoint = "http://" + g.name + ".guardians.test:7101"
	}
	req := &wire.EnrollRequest{Code: code, IdentityKey: g.identity.Public().(ed25519.PublicKey), EncryptionKey: g.enc.PublicKey().Bytes(),
		Endpoint: endpoint, GovernanceHash: governanceHash}
	req.Signature = ed25519.Sign(g.identity, wire.EnrollMessage(req))
	return req
}

// dealerWallet creates an active threshold-of-len(gs) FROST wallet whose
// key a trusted dealer split among gs (in that order).
func (gf *guardianFixture) dealerWallet(name string, suite frost.Suite, threshold int, gs ...*fakeGuardian) *store.Wallet {
	gf.t.Helper()
	shares, err := frost.TrustedDealerKeys(suite, uint16(threshold), uint16(len(gs)))
	if err != nil {
		gf.t.Fatal(err)
	}
	group, err := json.Marshal(&shares[0].Group)
	if err != nil {
		gf.t.Fatal(err)
	}
	w := &store.Wallet{ID: uuid.NewString(), Name: name, Mode: store.ModeFROST, Curve: suite.Curve(), KeyVersion: 1,
		CreatedAt: gf.clock.Now(), Status: store.WalletActive, Threshold: threshold, GroupKey: group,
		PublicKey: shares[0].Group.VerificationKey}
	for _, g := range gs {
		w.Guardians = append(w.Guardians, g.id)
	}
	if err := gf.st.ReadWriteTx(context.Background(), func(ctx context.Context, tx store.Tx) error { return tx.CreateWallet(ctx, w) }); err != nil {
		gf.t.Fatal(err)
	}
	for i, g := range gs {
		signer, err := frost.NewSigner(shares[i])
		if err != nil {
			gf.t.Fatal(err)
		}
		raw, err := shares[i].Marshal()
		if err != nil {
			gf.t.Fatal(err)
		}
		shares[i].Zero()
		g.set(func(g *fakeGuardian) {
			g.keys[wire.KeyRef{WalletID: w.ID, KeyVersion: 1}] = &fakeKey{index: uint16(i + 1), share: raw, signer: signer, status: "active",
				group: shares[i].Group, reserved: map[uint64]string{}, issued: map[uint64]bool{}}
		})
	}
	return w
}

// frostSolFixture enrols n fake guardians and gives them a 2-of-n Ed25519
// FROST wallet, "frost-sol", split by a trusted dealer.
func frostSolFixture(t *testing.T, n int) (*guardianFixture, *store.Wallet) {
	t.Helper()
	gf := newGuardianFixture(t, "", n)
	return gf, gf.dealerWallet("frost-sol", frost.Ed25519, 2, gf.gs...)
}

// guardian returns the coordinator's record of g.
func (gf *guardianFixture) guardian(g *fakeGuardian) *store.Guardian {
	gf.t.Helper()
	rec, err := gf.svc.GetGuardian(context.Background(), gf.users["victor"], g.id)
	if err != nil {
		gf.t.Fatal(err)
	}
	return rec
}
