package guardian

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"slices"
	"strconv"
	"time"

	"github.com/custos-dev/custos/approvals/intent"
	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/frost"
	"github.com/custos-dev/custos/governance"
	"github.com/custos-dev/custos/guardian/wire"
)

// Limits on commitments a key holds at once.
const (
	maxCommitBatch = 64
	maxOutstanding = 4096
	spentRetention = 10 * time.Minute
)

func (n *Node) keyFor(ref wire.KeyRef) (*key, error) {
	k := n.keys[ref]
	if k == nil {
		return nil, refuse(wire.CodeUnknownKey, "this guardian holds no share of wallet %s key version %d", ref.WalletID, ref.KeyVersion)
	}
	return k, nil
}

// commit hands out fresh commitments. Their nonces stay in memory only.
func (n *Node) commit(env *wire.Envelope) (any, error) {
	var r wire.CommitRequest
	if err := env.Decode(&r); err != nil {
		return nil, err
	}
	if r.Count < 1 || r.Count > maxCommitBatch {
		return nil, refuse(wire.CodeMalformed, "count must be 1..%d", maxCommitBatch)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	k, err := n.keyFor(r.KeyRef)
	if err != nil {
		return nil, err
	}
	if over := len(k.issued) + r.Count - maxOutstanding; over > 0 {
		// A coordinator that restarted lost the commitments it held; they
		// would stay issued here for ever, as would those reserved for
		// transfers never approved. Forget the oldest (evictOldest): a
		// coordinator still holding one is refused (unknown_commitment)
		// and fetches fresh ones.
		if n := evictOldest(k, over); n < over {
			return nil, refuse(wire.CodeMalformed, "%d commitments are in signing sessions already", len(k.issued))
		}
		n.log.Warn("forgot the oldest unused commitments", "wallet", r.WalletID, "key_version", r.KeyVersion, "count", over)
	}
	out := wire.CommitResponse{}
	now := n.now()
	for range r.Count {
		c, err := k.signer.Commit()
		if err != nil {
			return nil, err
		}
		k.issued[c.ID] = &issued{c: c, at: now}
		out.Commitments = append(out.Commitments, c)
	}
	return out, nil
}

// evictOldest forgets up to count of k's issued commitments, oldest
// first: first those no signing session reserved, then those reserved by a
// round 1 whose round 2 is not running (a transfer prepared ahead of an
// approval that never came, or a session its coordinator gave up). It
// returns how many it forgot. A forgotten nonce is never used: a round 2
// for it is refused (unknown_commitment) and the coordinator starts again
// with fresh commitments. The caller holds n.mu.
func evictOldest(k *key, count int) int {
	type cand struct {
		id       uint64
		reserved bool
		at       time.Time
	}
	var cs []cand
	for id, is := range k.issued {
		if !is.signing {
			cs = append(cs, cand{id, is.session != "", is.at})
		}
	}
	slices.SortFunc(cs, func(a, b cand) int {
		if a.reserved != b.reserved {
			if a.reserved {
				return 1
			}
			return -1
		}
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	n := min(count, len(cs))
	for _, c := range cs[:n] {
		delete(k.issued, c.id)
		k.signer.Discard(c.id)
	}
	return n
}

// ownCommitment finds this guardian's commitment in list. It does not
// validate the list: round 1 does that (validateList) and round 2 only
// goes on for the very request round 1 checked.
func ownCommitment(k *key, list []frost.Commitment) (frost.Commitment, error) {
	i := slices.IndexFunc(list, func(c frost.Commitment) bool { return c.Signer == k.index })
	if i < 0 {
		return frost.Commitment{}, refuse(wire.CodeCommitmentList, "the list holds no commitment of participant %d", k.index)
	}
	return list[i], nil
}

// validateList checks a commitment list against the key's group: shape,
// order and every element (identity, encoding, subgroup).
func validateList(g *frost.GroupKey, list []frost.Commitment) error {
	if err := frost.ValidateCommitmentList(g, list); err != nil {
		return refuse(wire.CodeCommitmentList, "%v", err)
	}
	return nil
}

func sameCommitment(a, b frost.Commitment) bool {
	return a.Signer == b.Signer && a.ID == b.ID && bytes.Equal(a.Hiding, b.Hiding) && bytes.Equal(a.Binding, b.Binding)
}

// prepare is signing round 1: check everything about the request and
// reserve this guardian's commitment for the session.
func (n *Node) prepare(ctx context.Context, env *wire.Envelope) (any, error) {
	var r wire.SignRequest
	if err := env.Decode(&r); err != nil {
		return nil, err
	}
	if env.Session == "" {
		return nil, refuse(wire.CodeMalformed, "no session")
	}
	digest, err := wire.RequestDigest(&r)
	if err != nil {
		return nil, refuse(wire.CodeMalformed, "%v", err)
	}
	n.mu.Lock()
	k, err := n.keyFor(r.KeyRef)
	if err != nil {
		n.mu.Unlock()
		return nil, err
	}
	status, ceremony, group := k.status, k.ceremony, k.group
	n.mu.Unlock()

	// The message: a transfer whose certificate this guardian verifies
	// itself, or the test signature of a key that is not active yet.
	switch {
	case r.Ceremony != "":
		if status != "pending" || r.Ceremony != ceremony || r.Certificate != nil ||
			!bytes.Equal(r.Message, wire.TestMessage(ceremony, &group)) {
			return nil, refuse(wire.CodeMessageMismatch, "a test signature is only for a pending key's own ceremony message")
		}
	case status != "active":
		return nil, refuse(wire.CodeKeyNotActive, "wallet %s key version %d is %s", r.WalletID, r.KeyVersion, status)
	case r.Certificate == nil:
		// Prepared ahead of approval: the share needs the certificate in
		// round 2. The message must be a transfer from this wallet.
		if err := checkIntent(&r); err != nil {
			return nil, err
		}
	default:
		if err := n.checkTransfer(ctx, &r, true); err != nil {
			return nil, err
		}
	}

	if err := validateList(&group, r.Commitments); err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	own, err := ownCommitment(k, r.Commitments)
	if err != nil {
		return nil, err
	}
	is := k.issued[own.ID]
	switch {
	case is == nil:
		return nil, refuse(wire.CodeUnknownNonce, "commitment %d is spent or was issued before a restart", own.ID)
	case !sameCommitment(is.c, own):
		return nil, refuse(wire.CodeCommitmentList, "the list alters this guardian's commitment %d", own.ID)
	case is.session != "" && is.session != env.Session:
		return nil, refuse(wire.CodeNonceReserved, "commitment %d is reserved for another signing session", own.ID)
	case is.session == env.Session && is.digest != digest:
		return nil, refuse(wire.CodeInconsistent, "session %s was prepared for another request", env.Session)
	}
	is.session, is.digest, is.at = env.Session, digest, n.now()
	return wire.Prepared{Guardian: k.index, Request: digest}, nil
}

// checkIntent checks that a request's message is a transfer intent from
// the request's wallet.
func checkIntent(r *wire.SignRequest) error {
	t, err := intent.ParseTransfer(r.Message)
	if err != nil {
		return refuse(wire.CodeMessageMismatch, "the message is not a transfer intent: %v", err)
	}
	if t.WalletID != r.WalletID {
		return refuse(governance.CodeIntentMismatch, "the intent is for wallet %s, the request for %s", t.WalletID, r.WalletID)
	}
	return nil
}

// checkTransfer verifies a transfer's certificate against this guardian's
// own governance state and that the message is exactly the approved intent;
// with checkUse, also that the certificate was not used for another
// message (round 2 checks that in the transaction that records the use).
func (n *Node) checkTransfer(ctx context.Context, r *wire.SignRequest, checkUse bool) error {
	c := r.Certificate
	if c == nil {
		return refuse(governance.CodeMalformed, "a signature needs an approval certificate")
	}
	if c.Action != "transfer" {
		return refuse(governance.CodeWrongAction, "the certificate approves %q, not a transfer", c.Action)
	}
	t, err := intent.ParseTransfer(c.Intent)
	if err != nil {
		return refuse(governance.CodeIntentMismatch, "the certificate's intent is not a transfer: %v", err)
	}
	if t.WalletID != r.WalletID {
		return refuse(governance.CodeIntentMismatch, "the intent is for wallet %s, the request for %s", t.WalletID, r.WalletID)
	}
	if !bytes.Equal(r.Message, c.Intent) {
		return refuse(wire.CodeMessageMismatch, "the message to sign is not the approved intent")
	}
	g, err := n.governance()
	if err != nil {
		return err
	}
	st := g.st
	eur, err := st.TransferValue(t, r.Valuation)
	if err != nil {
		return err
	}
	if err := st.Check(c, eur, n.now()); err != nil {
		return err
	}
	if !checkUse {
		return nil
	}
	_, err = certificateUse(ctx, n.db.sql, c.RequestID, sha256.Sum256(r.Message))
	return err
}

// sign is signing round 2: given every participant's signed round-1
// statement over the same request, record the certificate's use durably,
// then release the share (the nonce is consumed in memory).
func (n *Node) sign(ctx context.Context, env *wire.Envelope) (any, error) {
	var r wire.ShareRequest
	if err := env.Decode(&r); err != nil {
		return nil, err
	}
	digest, err := wire.RequestDigest(&r.Request)
	if err != nil {
		return nil, refuse(wire.CodeMalformed, "%v", err)
	}
	if r.Request.Ceremony != "" && r.Request.Certificate != nil {
		// A test signature carries no certificate: one here would be
		// recorded as used for the test message.
		return nil, refuse(wire.CodeMessageMismatch, "a key's test signature carries no certificate")
	}
	// Round 1 may be long past: the certificate must still hold, on this
	// guardian's clock and under the governance state it holds now.
	if r.Request.Ceremony == "" {
		// The certificate's use is checked (and recorded) in the store
		// transaction below.
		if err := n.checkTransfer(ctx, &r.Request, false); err != nil {
			return nil, err
		}
	}
	n.mu.Lock()
	k, err := n.keyFor(r.Request.KeyRef)
	if err != nil {
		n.mu.Unlock()
		return nil, err
	}
	own, err := ownCommitment(k, r.Request.Commitments)
	if err != nil {
		n.mu.Unlock()
		return nil, err
	}
	is := k.issued[own.ID]
	if is == nil {
		// Spent: an identical retry of round 2 gets the same share back.
		sp := k.spent[own.ID]
		n.mu.Unlock()
		if sp != nil && sp.session == env.Session && sp.digest == digest && sameCommitment(sp.c, own) {
			return wire.ShareResponse{Guardian: k.index, Share: sp.share}, nil
		}
		return nil, refuse(wire.CodeUnknownNonce, "commitment %d is spent or was issued before a restart", own.ID)
	}
	if is.session != env.Session || is.digest != digest || !sameCommitment(is.c, own) {
		n.mu.Unlock()
		return nil, refuse(wire.CodeNotPrepared, "round 1 of session %s did not check this request", env.Session)
	}
	if is.signing {
		n.mu.Unlock()
		return nil, refuse(wire.CodeNonceReserved, "round 2 of session %s is already running", env.Session)
	}
	if err := checkPrepared(k, env.Session, digest, r.Request.Commitments, r.Prepared); err != nil {
		// The coordinator showed the participants different requests:
		// this nonce is never used.
		delete(k.issued, own.ID)
		k.signer.Discard(own.ID)
		n.mu.Unlock()
		return nil, err
	}
	is.signing = true
	index := k.index
	n.mu.Unlock()

	// The share is computed while its release is recorded (the write
	// waits on the disk), and held back until the record is durable. From
	// here the nonce is spent, whatever the record's fate.
	type result struct {
		share []byte
		err   error
	}
	computed := make(chan result, 1)
	go func() {
		share, err := k.signer.Sign(r.Request.Message, r.Request.Commitments)
		computed <- result{share, err}
	}()

	// Durable record of the certificate's use before any share leaves:
	// sign.authorize says the share of this session may be released, not
	// that it was (a crash right after it leaves no share anywhere).
	meta := map[string]string{"wallet": r.Request.WalletID, "key_version": strconv.Itoa(r.Request.KeyVersion),
		"commitment": strconv.FormatUint(own.ID, 10)}
	target := "ceremony:" + r.Request.Ceremony
	err = n.db.tx(ctx, func(tx *sql.Tx) error {
		if c := r.Request.Certificate; c != nil {
			target = "request:" + c.RequestID
			if err := useCertificate(ctx, tx, c.RequestID, r.Request.Message, r.Request.WalletID, r.Request.KeyVersion, env.Session, n.now()); err != nil {
				return err
			}
		}
		meta["session"] = env.Session
		return appendEvent(ctx, tx, n.eventOf("sign.authorize", target, "success", meta))
	})
	res := <-computed
	drop := func() {
		n.mu.Lock()
		delete(k.issued, own.ID)
		n.mu.Unlock()
	}
	if err != nil {
		// Not recorded: the share is dropped, and its nonce with it.
		drop()
		return nil, err
	}
	if n.fault == "stall-before-share" {
		n.log.Warn("fault injection: stalling before releasing a share", "session", env.Session)
		<-ctx.Done()
		select {} // never answer; the test kills the process
	}
	if res.err != nil {
		drop()
		return nil, refuse(wire.CodeCommitmentList, "%v", res.err)
	}
	share := res.share
	n.mu.Lock()
	delete(k.issued, own.ID)
	if n.fault == "corrupt-share" {
		share = slices.Clone(share)
		share[len(share)/2] ^= 0x01
	}
	now := n.now()
	is.share, is.signing, is.at = share, false, now
	k.spent[own.ID] = is
	if now.Sub(k.spentSwept) > spentRetention/10 {
		// At most every minute: the map holds the last ten minutes of
		// signatures, too many to walk on each one.
		k.spentSwept = now
		for id, sp := range k.spent {
			if now.Sub(sp.at) > spentRetention {
				delete(k.spent, id)
			}
		}
	}
	n.mu.Unlock()
	return wire.ShareResponse{Guardian: index, Share: share}, nil
}

// checkPrepared verifies that every participant in the list answered
// round 1 of this session for exactly this request.
func checkPrepared(k *key, session string, digest [32]byte, list []frost.Commitment, prepared []wire.Envelope) error {
	if len(prepared) != len(list) {
		return refuse(wire.CodeInconsistent, "%d round-1 statements for %d participants", len(prepared), len(list))
	}
	seen := map[uint16]bool{}
	for i := range prepared {
		p := &prepared[i]
		pi := slices.IndexFunc(k.participants, func(x wire.Participant) bool { return x.GuardianID == p.From })
		if pi < 0 {
			return refuse(wire.CodeInconsistent, "a round-1 statement from %q, not a participant", p.From)
		}
		part := k.participants[pi]
		if part.Index == k.index {
			// This guardian's own statement: what it says is checked
			// below, and that this guardian reserved its commitment for
			// this very request by the caller. Its signature proves
			// nothing to the guardian that made it.
			if p.Kind != wire.KindPrepare || p.Session != session {
				return refuse(wire.CodeInconsistent, "round-1 statement of participant %d: another kind or session", part.Index)
			}
		} else if err := p.Verify(part.IdentityKey, wire.Expect{Kind: wire.KindPrepare, Session: session, From: part.GuardianID, To: wire.CoordinatorID}); err != nil {
			return refuse(wire.CodeInconsistent, "round-1 statement of participant %d: %v", part.Index, err)
		}
		var body wire.Prepared
		if err := p.Decode(&body); err != nil {
			return refuse(wire.CodeInconsistent, "round-1 statement of participant %d: %v", part.Index, err)
		}
		if body.Guardian != part.Index || seen[part.Index] || !slices.ContainsFunc(list, func(c frost.Commitment) bool { return c.Signer == part.Index }) {
			return refuse(wire.CodeInconsistent, "round-1 statement of participant %d does not match the list", part.Index)
		}
		if body.Request != digest {
			return refuse(wire.CodeInconsistent, "participant %d was shown another request in session %s", part.Index, session)
		}
		seen[part.Index] = true
	}
	return nil
}

func (n *Node) eventOf(action, target, result string, meta map[string]string) *auditEvent {
	return &auditEvent{Time: n.now().UTC(), Category: categoryOf(action), Action: action, Actor: "coordinator",
		Target: target, Result: result, Metadata: meta}
}

type auditEvent = audit.Event
