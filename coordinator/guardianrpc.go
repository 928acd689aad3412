package coordinator

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/custos-dev/custos/frost"
	"github.com/custos-dev/custos/governance"
	"github.com/custos-dev/custos/guardian/wire"
	"github.com/custos-dev/custos/store"
)

// GuardianTransport carries one signed request envelope to a guardian and
// brings back its answer envelope. It only moves messages: the coordinator
// signs every request and checks every answer (signature, sender,
// recipient, kind, session, round, the digest it answers, freshness)
// itself, whatever the transport. Production uses HTTPTransport; tests run
// in-process guardians behind the same interface.
type GuardianTransport interface {
	RoundTrip(ctx context.Context, g *store.Guardian, req *wire.Envelope) (*wire.Envelope, error)
}

// Errors of guardian calls. Callers branch on them with errors.Is; a
// refusal is a *GuardianRefusal.
var (
	// ErrGuardianUnreachable: no answer (network failure, timeout, an HTTP
	// error, or the guardian could not authenticate the request).
	ErrGuardianUnreachable = errors.New("coordinator: guardian unreachable")
	// ErrGuardianAnswer: the guardian answered with an envelope that does
	// not verify with its pinned key, answers another request, or whose
	// body does not decode.
	ErrGuardianAnswer = errors.New("coordinator: invalid answer from guardian")
)

// GuardianRefusal is a guardian's typed refusal: a signed KindError answer.
type GuardianRefusal struct {
	Guardian string // guardian id
	Code     string // wire or governance refusal code
	Message  string // the guardian's explanation
	// Culprits are the participant indexes a key-ceremony refusal names as
	// misbehaving (at most frost.MaxSigners).
	Culprits []uint16
}

func (e *GuardianRefusal) Error() string {
	return fmt.Sprintf("guardian %s refused (%s): %s", e.Guardian, e.Code, e.Message)
}

// certificateRefusal reports whether a refusal code says the request
// itself is not authorised (the approvals, the policy, the message), as
// opposed to a problem with this guardian or this session.
func certificateRefusal(code string) bool {
	switch code {
	case governance.CodeMalformed, governance.CodePolicyMismatch, governance.CodeExpired, governance.CodeQuorum,
		governance.CodeNotRostered, governance.CodeBadSignature, governance.CodeSelfApproval, governance.CodeSubjectApproved,
		governance.CodeWrongAction, governance.CodeIntentMismatch, governance.CodeStaleState, governance.CodeInvalidValuation,
		wire.CodeCertificateUsed, wire.CodeMessageMismatch:
		return true
	}
	return false
}

// governanceRefusal reports whether a certificate refusal depends on the
// governance state the guardian holds (the policy, the roster and its
// roles): from a guardian behind the coordinator it says nothing about the
// request until the guardian is brought up to date.
func governanceRefusal(code string) bool {
	switch code {
	case governance.CodePolicyMismatch, governance.CodeNotRostered, governance.CodeStaleState, governance.CodeQuorum:
		return true
	}
	return false
}

// commitmentRefusal reports whether a refusal code says the commitments
// the coordinator used are no longer good (spent, reserved, forgotten by a
// restart, or the round-1 statements of a session disagree): the request
// can be tried again with fresh ones.
func commitmentRefusal(code string) bool {
	switch code {
	case wire.CodeUnknownNonce, wire.CodeNonceReserved, wire.CodeCommitmentList, wire.CodeNotPrepared, wire.CodeInconsistent:
		return true
	}
	return false
}

// HTTPTransport posts envelopes as JSON to <endpoint>/v1/rpc over one
// shared http.Client whose connections stay open between calls.
type HTTPTransport struct {
	client *http.Client
}

var _ GuardianTransport = (*HTTPTransport)(nil)

// NewHTTPTransport returns a transport with warm keep-alive connections
// (up to 64 idle per guardian). Deadlines come from the caller's context.
func NewHTTPTransport() *HTTPTransport {
	tr := &http.Transport{
		Proxy:                 nil, // guardians are called directly
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       2 * time.Minute,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &HTTPTransport{client: &http.Client{Transport: tr}}
}

// maxAnswer bounds an answer read from a guardian.
const maxAnswer = wire.MaxBody + 64<<10

// RoundTrip implements GuardianTransport. It never puts a body in an error.
func (t *HTTPTransport) RoundTrip(ctx context.Context, g *store.Guardian, req *wire.Envelope) (*wire.Envelope, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(g.Endpoint, "/")+"/v1/rpc", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := t.client.Do(hreq)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxAnswer {
		return nil, fmt.Errorf("answer larger than %d bytes", maxAnswer)
	}
	if resp.StatusCode != http.StatusOK {
		var we wire.Error
		_ = json.Unmarshal(data, &we)
		return nil, fmt.Errorf("HTTP %d %s", resp.StatusCode, clean(we.Code, 64))
	}
	return wire.ParseEnvelope(data)
}

// guardianClient signs requests with the coordinator's guardian identity
// key and checks answers against each guardian's pinned key.
type guardianClient struct {
	key     ed25519.PrivateKey
	tr      GuardianTransport
	timeout time.Duration
	now     func() time.Time
}

// call sends body to g as kind in session and round, checks the answer
// and decodes its body strictly into out (if not nil). It returns the
// answer envelope (signed statements are relayed to other guardians).
func (c *guardianClient) call(ctx context.Context, g *store.Guardian, kind, session string, round int, body, out any) (*wire.Envelope, error) {
	req, err := c.envelope(g, kind, session, round, body)
	if err != nil {
		return nil, err
	}
	return c.exchange(ctx, g, req, out)
}

// envelope builds and signs a request to g.
func (c *guardianClient) envelope(g *store.Guardian, kind, session string, round int, body any) (*wire.Envelope, error) {
	if c.key == nil {
		return nil, errNoGuardianKey
	}
	return wire.New(c.key, kind, session, round, wire.CoordinatorID, g.ID, nil, body, c.now())
}

var errNoGuardianKey = errors.New("coordinator: no guardian identity key configured")

// exchange sends a built request and checks the answer. Sending the same
// envelope again is safe: a guardian answers a request it has seen with
// the answer it gave.
func (c *guardianClient) exchange(ctx context.Context, g *store.Guardian, req *wire.Envelope, out any) (*wire.Envelope, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ans, err := c.tr.RoundTrip(ctx, g, req)
	if err != nil {
		return nil, fmt.Errorf("%w: %s (%s): %v", ErrGuardianUnreachable, g.Name, g.ID, err)
	}
	d := req.Digest()
	want := wire.Expect{From: g.ID, To: wire.CoordinatorID, Session: req.Session, Round: req.Round, ReplyTo: d[:], Now: c.now()}
	if err := ans.Verify(g.IdentityKey, want); err != nil {
		return nil, fmt.Errorf("%w: %s (%s): %v", ErrGuardianAnswer, g.Name, g.ID, err)
	}
	switch ans.Kind {
	case wire.KindError:
		var we wire.Error
		if err := ans.Decode(&we); err != nil {
			return nil, fmt.Errorf("%w: %s (%s): %v", ErrGuardianAnswer, g.Name, g.ID, err)
		}
		return nil, &GuardianRefusal{Guardian: g.ID, Code: clean(we.Code, 64), Message: clean(we.Message, 512),
			Culprits: we.Culprits[:min(len(we.Culprits), frost.MaxSigners)]}
	case req.Kind:
	default:
		return nil, fmt.Errorf("%w: %s (%s): answered %q to %q", ErrGuardianAnswer, g.Name, g.ID, clean(ans.Kind, 64), req.Kind)
	}
	if out != nil {
		if err := ans.Decode(out); err != nil {
			return nil, fmt.Errorf("%w: %s (%s): %v", ErrGuardianAnswer, g.Name, g.ID, err)
		}
	}
	return ans, nil
}
