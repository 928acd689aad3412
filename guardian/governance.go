package guardian

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/custos-dev/custos/client"
	"github.com/custos-dev/custos/governance"
	"github.com/custos-dev/custos/guardian/wire"
)

// applyGovernance applies approved governance requests in order; each
// certificate must meet the quorum of the state it changes.
func (n *Node) applyGovernance(ctx context.Context, env *wire.Envelope) (any, error) {
	var r wire.GovernanceUpdate
	if err := env.Decode(&r); err != nil {
		return nil, err
	}
	// Read, check and write as one step: two updates applied at once
	// must not both build on the same state (one would be lost, yet
	// recorded as applied).
	n.govMu.Lock()
	defer n.govMu.Unlock()
	for _, c := range r.Certificates {
		if c == nil {
			return nil, refuse(wire.CodeMalformed, "empty certificate")
		}
		done, err := n.db.governanceApplied(ctx, c.RequestID)
		if err != nil {
			return nil, err
		}
		if done {
			continue
		}
		g, err := n.governance()
		if err != nil {
			return nil, err
		}
		next, err := g.st.Apply(c, n.now())
		if err != nil {
			return nil, err
		}
		id := c.RequestID
		if err := n.db.tx(ctx, func(tx *sql.Tx) error {
			if err := putGovernance(ctx, tx, next, &id, n.now()); err != nil {
				return err
			}
			return appendEvent(ctx, tx, n.eventOf("governance.apply", "request:"+id, "success",
				map[string]string{"action": c.Action, "hash": next.HashHex()}))
		}); err != nil {
			return nil, err
		}
		n.setGovernance(next, g.applied+1)
	}
	g, err := n.governance()
	if err != nil {
		return nil, err
	}
	return wire.GovernanceState{Hash: g.hash, Applied: g.applied}, nil
}

// Enroll claims an invitation at the coordinator, in two steps so that
// nothing is claimed before the operator accepts the governance state.
// First it asks the coordinator what code would enrol (the preview, which
// claims nothing), checks that the governance state offered hashes to the
// stated hash, and has confirm accept that hash (the operator compares it
// with the one the coordinator's administrators see). If confirm refuses,
// Enroll returns its error and sends nothing more: the code stays unused.
// Otherwise it registers this node's keys and endpoint with the confirmed
// hash (the coordinator refuses, claiming nothing, if its state changed in
// the meantime), checks that the answer pins the previewed coordinator key
// under the confirmed state, and stores the enrolment.
func (n *Node) Enroll(ctx context.Context, coordinatorURL, code string, confirm func(hash string, st *governance.State) error) (*wire.EnrollResponse, error) {
	if n.ID() != "" {
		return nil, fmt.Errorf("guardian: enrolled already as %s", n.ID())
	}
	var pv wire.EnrollPreview
	if err := postEnrolment(ctx, coordinatorURL, "/v1/guardians/enroll/preview", "enrolment preview", &wire.EnrollPreviewRequest{Code: code}, &pv); err != nil {
		return nil, err
	}
	if len(pv.CoordinatorKey) != ed25519.PublicKeySize {
		return nil, errors.New("guardian: the enrolment preview lacks the coordinator key")
	}
	st, err := governance.Parse(pv.Governance)
	if err != nil {
		return nil, err
	}
	hash := st.HashHex()
	if hash != pv.GovernanceHash {
		return nil, fmt.Errorf("guardian: the governance state hashes to %s, the coordinator says %s", hash, pv.GovernanceHash)
	}
	if err := confirm(hash, st); err != nil {
		return nil, err
	}
	req := &wire.EnrollRequest{Code: code, IdentityKey: n.IdentityKey(), EncryptionKey: n.EncryptionKey(), Endpoint: n.cfg.Endpoint,
		GovernanceHash: hash}
	req.Signature = ed25519.Sign(n.identity, wire.EnrollMessage(req))
	var er wire.EnrollResponse
	if err := postEnrolment(ctx, coordinatorURL, "/v1/guardians/enroll", "enrolment", req, &er); err != nil {
		return nil, err
	}
	if er.GuardianID == "" || len(er.CoordinatorKey) != ed25519.PublicKeySize {
		return nil, errors.New("guardian: the enrolment answer lacks a guardian id or coordinator key")
	}
	if !ed25519.PublicKey(er.CoordinatorKey).Equal(ed25519.PublicKey(pv.CoordinatorKey)) {
		return nil, fmt.Errorf("guardian: the enrolment answer names coordinator key %x, the preview %x; not enrolled", er.CoordinatorKey, pv.CoordinatorKey)
	}
	if er.GovernanceHash != hash {
		return nil, fmt.Errorf("guardian: the coordinator enrolled this guardian under governance state %s, not the confirmed %s; not enrolled", er.GovernanceHash, hash)
	}
	err = n.db.tx(ctx, func(tx *sql.Tx) error {
		for k, v := range map[string]string{"guardian_id": er.GuardianID, "name": er.Name, "coordinator_url": coordinatorURL,
			"coordinator_key": hex.EncodeToString(er.CoordinatorKey), "enrolled_at": n.now().UTC().Format(time.RFC3339)} {
			if err := n.db.setMeta(ctx, tx, k, v); err != nil {
				return err
			}
		}
		if err := putGovernance(ctx, tx, st, nil, n.now()); err != nil {
			return err
		}
		return appendEvent(ctx, tx, n.eventOf("guardian.enroll", "guardian:"+er.GuardianID, "success",
			map[string]string{"coordinator": coordinatorURL, "coordinator_key": hex.EncodeToString(er.CoordinatorKey), "governance_hash": hash}))
	})
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	n.id, n.coordKey = er.GuardianID, ed25519.PublicKey(er.CoordinatorKey)
	n.setGovernance(st, 0)
	n.mu.Unlock()
	return &er, nil
}

// postEnrolment POSTs body to path at the coordinator and decodes its
// answer into out; what names the step in errors. A refusal keeps the
// coordinator's *client.Error (errors.As finds it) under a message naming
// the step.
func postEnrolment(ctx context.Context, base, path, what string, body, out any) error {
	_, _, err := client.New(base, "").Do(ctx, http.MethodPost, path, body, out)
	var ce *client.Error
	switch {
	case errors.As(err, &ce):
		return &enrolmentRefusal{what: what, err: ce}
	case err != nil:
		return fmt.Errorf("guardian: %s: %w", what, err)
	}
	return nil
}

// enrolmentRefusal is the coordinator's refusal of an enrolment step.
type enrolmentRefusal struct {
	what string
	err  *client.Error
}

func (e *enrolmentRefusal) Error() string {
	return fmt.Sprintf("guardian: the coordinator refused the %s (HTTP %d): %s %s", e.what, e.err.Status, e.err.Code, e.err.Message)
}

func (e *enrolmentRefusal) Unwrap() error { return e.err }
