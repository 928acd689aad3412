package guardian_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custos-dev/custos/client"
	"github.com/custos-dev/custos/governance"
	"github.com/custos-dev/custos/guardian/wire"
)

// TestEnvelopeAuthentication: an envelope that does not verify for this
// guardian, now, in its own session, round and kind, gets HTTP 401 and no
// answer, and changes nothing.
func TestEnvelopeAuthentication(t *testing.T) {
	c, nodes, w := signFixture(t)
	s := c.newSigning(t, w, nodes[:2], c.smallRequest(t, w))
	s.prepare(t)
	n := nodes[0]
	honest := s.shareEnvelope(t, n, s.req, s.prepared)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	body := wire.ShareRequest{Request: s.req, Prepared: s.prepared}

	edit := func(f func(e *wire.Envelope)) func() (*node, *wire.Envelope) {
		return func() (*node, *wire.Envelope) {
			e := *honest
			f(&e)
			return n, &e
		}
	}
	build := func(key ed25519.PrivateKey, from, to string, at time.Time) func() (*node, *wire.Envelope) {
		return func() (*node, *wire.Envelope) {
			e, err := wire.New(key, wire.KindSign, s.session, 2, from, to, nil, body, at)
			if err != nil {
				t.Fatal(err)
			}
			return n, e
		}
	}
	for _, tc := range []struct {
		name string
		env  func() (*node, *wire.Envelope)
	}{
		{"replayed into another session", edit(func(e *wire.Envelope) { e.Session = "sign-" + randomHex(8) })},
		{"replayed into another round", edit(func(e *wire.Envelope) { e.Round = 1 })},
		{"replayed as another kind", edit(func(e *wire.Envelope) { e.Kind = wire.KindPrepare })},
		{"body altered", edit(func(e *wire.Envelope) { e.Body = json.RawMessage(`{"request":{},"prepared":[]}`) })},
		{"issue time altered", edit(func(e *wire.Envelope) { e.IssuedAt++ })},
		{"no signature", edit(func(e *wire.Envelope) { e.Signature = nil })},
		{"signature truncated", edit(func(e *wire.Envelope) { e.Signature = e.Signature[:63] })},
		{"to another guardian", func() (*node, *wire.Envelope) { return nodes[1], honest }},
		{"re-addressed to another guardian", func() (*node, *wire.Envelope) {
			e := *honest
			e.To = nodes[1].id
			return nodes[1], &e
		}},
		{"stale", build(c.key, wire.CoordinatorID, n.id, c.clock.Now().Add(-wire.MaxSkew-time.Minute))},
		{"from the future", build(c.key, wire.CoordinatorID, n.id, c.clock.Now().Add(wire.MaxSkew+time.Minute))},
		{"signed by another key", build(other, wire.CoordinatorID, n.id, c.clock.Now())},
		{"in a guardian's name", build(c.key, nodes[1].id, n.id, c.clock.Now())},
	} {
		t.Run("fail/"+tc.name, func(t *testing.T) {
			to, e := tc.env()
			status, ans, werr := serve(to, e)
			if status != http.StatusUnauthorized || ans != nil {
				t.Fatalf("HTTP %d, answer %v: want 401 and no envelope", status, ans != nil)
			}
			if werr == nil || werr.Code != wire.CodeUnauthenticated {
				t.Fatalf("error %+v, want %s", werr, wire.CodeUnauthenticated)
			}
		})
	}
	for _, tc := range []struct {
		name string
		raw  string
	}{
		{"not JSON", "share please"},
		{"unknown field", `{"v":1,"kind":"sign.share","session":"s","round":2,"from":"coordinator","to":"g-1","issued_at":1,"body":{},"sig":"","extra":1}`},
		{"another version", `{"v":2,"kind":"sign.share","session":"s","round":2,"from":"coordinator","to":"g-1","issued_at":1,"body":{},"sig":""}`},
		{"no body", `{"v":1,"kind":"sign.share","session":"s","round":2,"from":"coordinator","to":"g-1","issued_at":1,"sig":""}`},
	} {
		t.Run("fail/malformed/"+tc.name, func(t *testing.T) {
			status, ans, werr := n.Serve(t.Context(), []byte(tc.raw))
			if status != http.StatusBadRequest || ans != nil || werr == nil || werr.Code != wire.CodeMalformed {
				t.Fatalf("HTTP %d, answer %v, error %+v: want 400 malformed", status, ans != nil, werr)
			}
		})
	}
	// None of it touched the session: the honest envelope gets the share.
	s.aggregate(t, map[uint16][]byte{1: s.shareOf(t, n), 2: s.shareOf(t, nodes[1])})
}

// TestDeliveredTwice: the same envelope delivered twice is answered once
// and the answer repeated; it does not run again.
func TestDeliveredTwice(t *testing.T) {
	c, nodes, w := signFixture(t)
	n := nodes[0]
	env := c.envelope(t, n.id, wire.KindCommit, "pool-1", 1, wire.CommitRequest{KeyRef: w.ref, Count: 3})
	a1, a2 := c.deliver(t, n, env), c.deliver(t, n, env)
	if !bytes.Equal(a1.Body, a2.Body) || !bytes.Equal(a1.Signature, a2.Signature) {
		t.Fatal("the same envelope got two different answers")
	}
	for _, k := range c.health(t, n).Keys {
		if k.WalletID == w.ref.WalletID && k.Nonces != 3 {
			t.Fatalf("%d commitments outstanding, want 3", k.Nonces)
		}
	}
}

// TestHandler drives the guardian's HTTP interface.
func TestHandler(t *testing.T) {
	c, nodes, _ := signFixture(t)
	n := nodes[0]
	srv := httptest.NewServer(n.Handler())
	t.Cleanup(srv.Close)

	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var live struct {
		Status   string `json:"status"`
		Enrolled bool   `json:"enrolled"`
	}
	json.NewDecoder(resp.Body).Decode(&live)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || live.Status != "ok" || !live.Enrolled {
		t.Fatalf("healthz: HTTP %d %+v", resp.StatusCode, live)
	}

	post := func(t *testing.T, e *wire.Envelope) (int, []byte) {
		t.Helper()
		raw, _ := json.Marshal(e)
		resp, err := http.Post(srv.URL+"/v1/rpc", "application/json", bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	t.Run("ok/health", func(t *testing.T) {
		env := c.envelope(t, n.id, wire.KindHealth, "h", 1, wire.HealthRequest{})
		status, b := post(t, env)
		ans, err := wire.ParseEnvelope(b)
		if status != http.StatusOK || err != nil {
			t.Fatalf("HTTP %d %s: %v", status, b, err)
		}
		d := env.Digest()
		if err := ans.Verify(n.IdentityKey(), wire.Expect{Kind: wire.KindHealth, From: n.id, To: wire.CoordinatorID, ReplyTo: d[:], Now: c.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		var h wire.Health
		if err := ans.Decode(&h); err != nil || h.GuardianID != n.id || len(h.Keys) != 1 || h.GovernanceHash != c.governance().HashHex() {
			t.Fatalf("health %+v: %v", h, err)
		}
	})
	t.Run("fail/unauthenticated", func(t *testing.T) {
		env := c.envelope(t, nodes[1].id, wire.KindHealth, "h", 1, wire.HealthRequest{})
		status, b := post(t, env)
		var e wire.Error
		if status != http.StatusUnauthorized || json.Unmarshal(b, &e) != nil || e.Code != wire.CodeUnauthenticated {
			t.Fatalf("HTTP %d %s: want 401 unauthenticated", status, b)
		}
		if _, err := wire.ParseEnvelope(b); err == nil {
			t.Fatal("an unauthenticated request got an envelope")
		}
	})
	t.Run("fail/refusal is a signed error envelope", func(t *testing.T) {
		env := c.envelope(t, n.id, wire.KindCommit, "p", 1, wire.CommitRequest{KeyRef: wire.KeyRef{WalletID: "nope", KeyVersion: 1}, Count: 1})
		status, b := post(t, env)
		ans, err := wire.ParseEnvelope(b)
		if status != http.StatusOK || err != nil {
			t.Fatalf("HTTP %d %s: %v", status, b, err)
		}
		if err := ans.Verify(n.IdentityKey(), wire.Expect{Kind: wire.KindError, From: n.id, To: wire.CoordinatorID, Now: c.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		mustRefuse(t, ans, wire.CodeUnknownKey)
	})
}

// TestEnroll covers enrolment: the claim code, the operator's hash check
// and a coordinator that lies about the hash.
func TestEnroll(t *testing.T) {
	c := newCoordinator(t)
	ctx := t.Context()

	t.Run("fail/not enrolled", func(t *testing.T) {
		n := c.initNode(t)
		status, ans, werr := serve(n, &wire.Envelope{Version: 1, Kind: wire.KindHealth, Body: json.RawMessage(`{}`)})
		if status != http.StatusServiceUnavailable || ans != nil || werr.Code != wire.CodeUnauthenticated {
			t.Fatalf("HTTP %d %+v: want 503", status, werr)
		}
	})
	t.Run("fail/unknown code", func(t *testing.T) {
		n := c.initNode(t)
		_, err := n.Enroll(ctx, c.srv.URL, "not-a-code", c.confirmHash)
		if err == nil || !strings.Contains(err.Error(), "invalid_code") {
			t.Fatalf("enrolment with an unknown code: %v", err)
		}
		if ce := (*client.Error)(nil); !errors.As(err, &ce) || ce.Code != "invalid_code" || ce.Status != http.StatusUnauthorized {
			t.Fatalf("the refusal does not carry the coordinator's error: %#v", err)
		}
		if n.ID() != "" {
			t.Fatal("enrolled anyway")
		}
	})
	t.Run("fail/operator does not confirm", func(t *testing.T) {
		n := c.initNode(t)
		refuse := errors.New("operator: hash differs")
		code := c.invite()
		previews, enrolls := c.enrollCalls(previewPath), c.enrollCalls(enrollPath)
		if _, err := n.Enroll(ctx, c.srv.URL, code, func(string, *governance.State) error { return refuse }); !errors.Is(err, refuse) {
			t.Fatalf("enrolment not confirmed: %v", err)
		}
		if n.ID() != "" {
			t.Fatal("enrolled without the operator's confirmation")
		}
		if got := c.enrollCalls(previewPath) - previews; got != 1 {
			t.Fatalf("%d enrolment previews, want 1", got)
		}
		if got := c.enrollCalls(enrollPath) - enrolls; got != 0 {
			t.Fatalf("%d enrolment requests sent after the operator refused the governance hash", got)
		}
		if _, err := n.Enroll(ctx, c.srv.URL, c.invite(), c.confirmHash); err != nil {
			t.Fatalf("enrolling after a refused attempt: %v", err)
		}
		// The refused code was never claimed: another guardian enrols with it.
		if _, err := c.initNode(t).Enroll(ctx, c.srv.URL, code, c.confirmHash); err != nil {
			t.Fatalf("enrolling with the code of a refused attempt: %v", err)
		}
	})
	t.Run("fail/governance changes before the enrolment", func(t *testing.T) {
		c := newCoordinator(t)
		n := c.initNode(t)
		code := c.invite()
		before := c.governance()
		after := &governance.State{Policy: before.Policy, Roster: before.Roster, Anchors: map[string]string{"eth": "2100/18"}}
		if _, err := after.Document(); err != nil {
			t.Fatal(err)
		}
		// The administrators approve a change while the operator reads.
		_, err := n.Enroll(ctx, c.srv.URL, code, func(hash string, st *governance.State) error {
			if err := c.confirmHash(hash, st); err != nil {
				return err
			}
			c.setGovernance(after)
			return nil
		})
		if err == nil || !strings.Contains(err.Error(), "governance_changed") {
			t.Fatalf("enrolment confirmed on a state that changed: %v", err)
		}
		if n.ID() != "" {
			t.Fatal("enrolled under a governance state that is no longer the coordinator's")
		}
		// Nothing was claimed: enrolling again shows and takes the new state.
		var shown string
		if _, err := n.Enroll(ctx, c.srv.URL, code, func(hash string, st *governance.State) error {
			shown = hash
			return c.confirmHash(hash, st)
		}); err != nil {
			t.Fatalf("enrolling again with the same code: %v", err)
		}
		if st, err := n.Status(ctx); err != nil || shown != after.HashHex() || st.GovernanceHash != after.HashHex() {
			t.Fatalf("confirmed %s, holds %+v (%v); want %s", shown, st, err, after.HashHex())
		}
	})

	// liar is a coordinator that answers the preview with preview and the
	// enrolment with enrol, counting the enrolment requests.
	liar := func(t *testing.T, preview, enrol any) (*httptest.Server, *atomic.Int32) {
		var enrolls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			switch r.URL.Path {
			case previewPath:
				json.NewEncoder(w).Encode(preview)
			case enrollPath:
				enrolls.Add(1)
				w.WriteHeader(http.StatusCreated)
				json.NewEncoder(w).Encode(enrol)
			default:
				http.NotFound(w, r)
			}
		}))
		t.Cleanup(srv.Close)
		return srv, &enrolls
	}
	honest := func() (wire.EnrollPreview, wire.EnrollResponse) {
		st := c.governance()
		return wire.EnrollPreview{Name: "g-liar", CoordinatorKey: c.publicKey(), Governance: st.Canonical(), GovernanceHash: st.HashHex()},
			wire.EnrollResponse{GuardianID: "g-liar", Name: "g-liar", CoordinatorKey: c.publicKey(), Governance: st.Canonical(), GovernanceHash: st.HashHex()}
	}
	t.Run("fail/coordinator states another hash", func(t *testing.T) {
		pv, er := honest()
		pv.GovernanceHash = strings.Repeat("00", 32)
		srv, enrolls := liar(t, pv, er)
		n := c.initNode(t)
		confirmed := false
		if _, err := n.Enroll(ctx, srv.URL, "code", func(string, *governance.State) error { confirmed = true; return nil }); err == nil {
			t.Fatal("enrolled with a governance state that does not hash to the stated hash")
		}
		if confirmed || n.ID() != "" {
			t.Fatal("the operator was asked to confirm a state whose hash the coordinator misstated")
		}
		if enrolls.Load() != 0 {
			t.Fatal("enrolment requested after a misstated governance hash")
		}
	})
	for _, tc := range []struct {
		name string
		lie  func(er *wire.EnrollResponse)
	}{
		{"fail/answer pins another coordinator key", func(er *wire.EnrollResponse) {
			other, _, _ := ed25519.GenerateKey(rand.Reader)
			er.CoordinatorKey = other
		}},
		{"fail/answer under another governance state", func(er *wire.EnrollResponse) {
			other := &governance.State{Policy: c.governance().Policy, Roster: c.governance().Roster, Anchors: map[string]string{"eth": "1/18"}}
			er.Governance, er.GovernanceHash = other.Canonical(), other.HashHex()
		}},
		{"fail/answer without a guardian id", func(er *wire.EnrollResponse) { er.GuardianID = "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pv, er := honest()
			tc.lie(&er)
			srv, enrolls := liar(t, pv, er)
			n := c.initNode(t)
			if _, err := n.Enroll(ctx, srv.URL, "code", c.confirmHash); err == nil {
				t.Fatal("enrolled on an answer that differs from what was previewed and confirmed")
			}
			if enrolls.Load() != 1 || n.ID() != "" {
				t.Fatalf("%d enrolment requests; enrolled as %q", enrolls.Load(), n.ID())
			}
			if st, err := n.Status(ctx); err != nil || st.GuardianID != "" || st.CoordinatorKey != "" || st.GovernanceHash != "" {
				t.Fatalf("status after a refused answer: %+v (%v)", st, err)
			}
		})
	}
	t.Run("ok", func(t *testing.T) {
		n := c.newNode(t)
		st, err := n.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.GuardianID != n.id || st.CoordinatorKey != hex.EncodeToString(c.publicKey()) || st.GovernanceHash != c.governance().HashHex() ||
			st.Coordinator != c.srv.URL || st.Applied != 0 {
			t.Fatalf("status after enrolment: %+v", st)
		}
		if _, err := n.Enroll(ctx, c.srv.URL, c.invite(), c.confirmHash); err == nil {
			t.Fatal("enrolled twice")
		}
		n.restart(t)
		if n.ID() != n.id {
			t.Fatalf("id %q after restart, want %q", n.ID(), n.id)
		}
		if h := c.health(t, n); h.GuardianID != n.id || h.GovernanceHash != c.governance().HashHex() {
			t.Fatalf("health after restart: %+v", h)
		}
	})
}
