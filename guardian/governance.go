package guardian

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/custos-dev/custos/governance"
	"github.com/custos-dev/custos/guardian/wire"
)

// applyGovernance applies approved governance requests in order; each
// certificate must meet the quorum of the state it changes.
func (n *Node) applyGovernance(ctx context.Context, env *wire.Envelope) (any, error) {
	var r wire.GovernanceUpdate
	if err := env.Decode(&r); err != nil {
		return nil, refuse(wire.CodeMalformed, "%v", err)
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

// Enroll claims an invitation at the coordinator: it registers this node's
// keys and endpoint, pins the coordinator's key, and takes the governance
// state after confirm accepts its hash (the operator compares it with the
// one the coordinator's administrators see).
func (n *Node) Enroll(ctx context.Context, coordinatorURL, code string, confirm func(hash string, st *governance.State) error) (*wire.EnrollResponse, error) {
	if n.ID() != "" {
		return nil, fmt.Errorf("guardian: enrolled already as %s", n.ID())
	}
	req := &wire.EnrollRequest{Code: code, IdentityKey: n.IdentityKey(), EncryptionKey: n.EncryptionKey(), Endpoint: n.cfg.Endpoint}
	req.Signature = ed25519.Sign(n.identity, wire.EnrollMessage(req))
	body, _ := json.Marshal(req)
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(coordinatorURL, "/")+"/v1/guardians/enroll", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("guardian: contacting the coordinator: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		var e struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		json.Unmarshal(raw, &e)
		return nil, fmt.Errorf("guardian: the coordinator refused the enrolment (HTTP %d): %s %s", resp.StatusCode, e.Error.Code, e.Error.Message)
	}
	var er wire.EnrollResponse
	if err := json.Unmarshal(raw, &er); err != nil {
		return nil, fmt.Errorf("guardian: enrolment answer: %w", err)
	}
	if er.GuardianID == "" || len(er.CoordinatorKey) != ed25519.PublicKeySize {
		return nil, errors.New("guardian: the enrolment answer lacks a guardian id or coordinator key")
	}
	st, err := governance.Parse(er.Governance)
	if err != nil {
		return nil, err
	}
	if st.HashHex() != er.GovernanceHash {
		return nil, fmt.Errorf("guardian: the governance state hashes to %s, the coordinator says %s", st.HashHex(), er.GovernanceHash)
	}
	if err := confirm(st.HashHex(), st); err != nil {
		return nil, err
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
			map[string]string{"coordinator": coordinatorURL, "coordinator_key": hex.EncodeToString(er.CoordinatorKey), "governance_hash": st.HashHex()}))
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
