package guardian

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custos-dev/custos/approvals/intent"
	"github.com/custos-dev/custos/approvals/policy"
	"github.com/custos-dev/custos/dkg"
	"github.com/custos-dev/custos/frost"
	"github.com/custos-dev/custos/governance"
	"github.com/custos-dev/custos/guardian/wire"
)

// ceremony is this guardian's side of a key ceremony. It lives in memory
// only: a restart aborts it (the coordinator starts a new session).
type ceremony struct {
	session      string
	ref          wire.KeyRef
	index        uint16
	participants []wire.Participant
	p            *dkg.Participant
	transcript   [32]byte
	shares       []dkg.Round2 // our encrypted round-2 output, released after the echo check
	step         string       // round1, confirmed, shared, finalized
}

func (c *ceremony) zero() {
	if c.p != nil {
		c.p.Zero()
	}
}

// misbehaviour turns a dkg failure into a refusal that names the
// participants dkg.Culprits finds in err, in the message and (those that
// are participants) in Culprits; a failure that names nobody is a plain
// ceremony error.
func misbehaviour(err error, parts []wire.Participant) error {
	named := dkg.Culprits(err)
	if len(named) == 0 {
		return refuse(wire.CodeCeremony, "%v", err)
	}
	var culprits []uint16
	var names []string
	for _, i := range named {
		id := "?"
		if int(i) >= 1 && int(i) <= len(parts) {
			id = parts[i-1].GuardianID
			culprits = append(culprits, i)
		}
		names = append(names, fmt.Sprintf("participant %d (%s)", i, id))
	}
	return accuse(wire.CodeMisbehaviour, culprits, "%s: %v", strings.Join(names, ", "), err)
}

func (n *Node) ceremonyFor(session, step string) (*ceremony, error) {
	c := n.ceremonies[session]
	if c == nil {
		return nil, refuse(wire.CodeCeremony, "no ceremony %s here (a restart aborts ceremonies)", session)
	}
	if c.step != step {
		return nil, refuse(wire.CodeCeremony, "ceremony %s is at step %s, not %s", session, c.step, step)
	}
	return c, nil
}

// dkgStart is round 1: check the ceremony's parameters and the wallet.create
// approval, then commit to a random polynomial.
func (n *Node) dkgStart(ctx context.Context, env *wire.Envelope) (any, error) {
	var r wire.DKGStart
	if err := env.Decode(&r); err != nil {
		return nil, err
	}
	sid, err := hex.DecodeString(env.Session)
	if err != nil || len(sid) != 32 {
		return nil, refuse(wire.CodeMalformed, "a ceremony session id is 32 bytes of hex")
	}
	if !validKeyRef(r.KeyRef) {
		return nil, refuse(wire.CodeMalformed, "a wallet id is 1 to 64 letters, digits, '.', '_' or '-' (not first), and a key version at least 1")
	}
	suite, err := frost.ParseSuite(r.Curve)
	if err != nil {
		return nil, refuse(wire.CodeMalformed, "%v", err)
	}
	nn := len(r.Participants)
	if nn < 2 || nn > frost.MaxSigners || r.Threshold < 2 || int(r.Threshold) > nn {
		return nil, refuse(wire.CodeMalformed, "threshold %d of %d participants", r.Threshold, nn)
	}
	n.mu.Lock()
	me := n.id
	n.mu.Unlock()
	var index uint16
	ids, keys := map[string]bool{}, map[string]bool{}
	for i, p := range r.Participants {
		if p.Index != uint16(i+1) || ids[p.GuardianID] || keys[string(p.IdentityKey)] || len(p.IdentityKey) != 32 || len(p.EncryptionKey) != 32 {
			return nil, refuse(wire.CodeMalformed, "participant %d is malformed or repeated", i+1)
		}
		ids[p.GuardianID], keys[string(p.IdentityKey)] = true, true
		if p.GuardianID == me {
			if !bytes.Equal(p.IdentityKey, n.IdentityKey()) || !bytes.Equal(p.EncryptionKey, n.EncryptionKey()) {
				return nil, refuse(wire.CodeMalformed, "the ceremony lists this guardian with other keys")
			}
			index = p.Index
		}
	}
	if index == 0 {
		return nil, refuse(wire.CodeMalformed, "this guardian is not a participant")
	}
	g, err := n.governance()
	if err != nil {
		return nil, err
	}
	st := g.st
	doc, err := st.Document()
	if err != nil {
		return nil, err
	}
	req, err := policy.RequirementFor(doc, "wallet.create", 0)
	if err != nil {
		return nil, refuse(governance.CodeWrongAction, "this guardian's policy has no rule for wallet.create")
	}
	switch c := r.Certificate; {
	case c == nil && req.Approvals > 0:
		return nil, refuse(governance.CodeMalformed, "creating a wallet needs an approved wallet.create request")
	case c != nil:
		if c.Action != "wallet.create" {
			return nil, refuse(governance.CodeWrongAction, "the certificate approves %q", c.Action)
		}
		if err := checkWalletIntent(c.Intent, &r); err != nil {
			return nil, err
		}
		if err := st.Check(c, 0, n.now()); err != nil {
			return nil, err
		}
	}
	ref := r.KeyRef
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.keys[ref]; ok {
		return nil, refuse(wire.CodeCeremony, "this guardian holds a share of wallet %s key version %d already", ref.WalletID, ref.KeyVersion)
	}
	if old := n.ceremonies[env.Session]; old != nil {
		return nil, refuse(wire.CodeCeremony, "ceremony %s was started already", env.Session)
	}
	for _, c := range n.ceremonies {
		if c.ref == ref {
			c.zero()
			delete(n.ceremonies, c.session) // a restarted ceremony for the same key replaces the old one
		}
	}
	var s dkg.Session
	copy(s.ID[:], sid)
	s.Suite, s.Threshold, s.N = suite, r.Threshold, uint16(nn)
	p, err := dkg.NewParticipant(s, index, n.enc)
	if err != nil {
		return nil, refuse(wire.CodeCeremony, "%v", err)
	}
	r1, err := p.Round1()
	if err != nil {
		p.Zero()
		return nil, err
	}
	own, err := r1.Marshal()
	if err != nil {
		p.Zero()
		return nil, err
	}
	n.ceremonies[env.Session] = &ceremony{session: env.Session, ref: ref, index: index, participants: r.Participants, p: p, step: "round1"}
	return wire.DKGRound1{Package: own}, nil
}

// dkgConfirm checks the round-1 set and answers the transcript hash. The
// encrypted shares are computed now and held back until every participant
// confirmed the same transcript.
func (n *Node) dkgConfirm(env *wire.Envelope) (any, error) {
	var r wire.DKGConfirm
	if err := env.Decode(&r); err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	c, err := n.ceremonyFor(env.Session, "round1")
	if err != nil {
		return nil, err
	}
	if len(r.Packages) != len(c.participants) {
		return nil, n.failCeremony(c, refuse(wire.CodeCeremony, "%d round-1 packages for %d participants", len(r.Packages), len(c.participants)))
	}
	all := make([]dkg.Round1, 0, len(r.Packages))
	for i, b := range r.Packages {
		p, err := dkg.UnmarshalRound1(b)
		if err != nil {
			// Packages come in participant order: package i+1 is participant i+1's.
			return nil, n.failCeremony(c, accuse(wire.CodeMisbehaviour, []uint16{uint16(i + 1)},
				"round-1 package of participant %d (%s) does not decode: %v", i+1, c.participants[i].GuardianID, err))
		}
		all = append(all, *p)
	}
	recipients := map[uint16][]byte{}
	for _, p := range c.participants {
		if p.Index != c.index {
			recipients[p.Index] = p.EncryptionKey
		}
	}
	tr, out, err := c.p.Round2(all, recipients)
	if errors.Is(err, dkg.ErrTampered) { // the relay's doing, no participant's
		return nil, n.failCeremony(c, refuse(wire.CodeCeremony, "the relayed set alters this guardian's round-1 package"))
	}
	if err != nil {
		return nil, n.failCeremony(c, misbehaviour(err, c.participants))
	}
	c.transcript, c.shares, c.step = tr, out, "confirmed"
	return wire.DKGTranscript{Index: c.index, Transcript: tr}, nil
}

// dkgShares releases the encrypted shares once every participant's signed
// transcript matches this guardian's.
func (n *Node) dkgShares(env *wire.Envelope) (any, error) {
	var r wire.DKGShares
	if err := env.Decode(&r); err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	c, err := n.ceremonyFor(env.Session, "confirmed")
	if err != nil {
		return nil, err
	}
	if err := checkStatements(c, r.Confirmations, wire.KindDKGConfirm, func(p wire.Participant, e *wire.Envelope) error {
		var t wire.DKGTranscript
		if err := e.Decode(&t); err != nil || t.Index != p.Index {
			return fmt.Errorf("malformed confirmation")
		}
		if t.Transcript != c.transcript {
			return fmt.Errorf("saw another round-1 set")
		}
		return nil
	}); err != nil {
		return nil, n.failCeremony(c, err)
	}
	out := wire.DKGSharesResponse{}
	for i := range c.shares {
		b, err := c.shares[i].Marshal()
		if err != nil {
			return nil, err
		}
		out.Shares = append(out.Shares, b)
	}
	c.shares, c.step = nil, "shared"
	return out, nil
}

// checkStatements verifies one signed answer of kind per participant.
func checkStatements(c *ceremony, envs []wire.Envelope, kind string, check func(wire.Participant, *wire.Envelope) error) error {
	if len(envs) != len(c.participants) {
		return refuse(wire.CodeInconsistent, "%d statements for %d participants", len(envs), len(c.participants))
	}
	seen := map[string]bool{}
	for i := range envs {
		e := &envs[i]
		pi := slices.IndexFunc(c.participants, func(p wire.Participant) bool { return p.GuardianID == e.From })
		if pi < 0 || seen[e.From] {
			return refuse(wire.CodeInconsistent, "a statement from %q, not a participant or repeated", e.From)
		}
		seen[e.From] = true
		p := c.participants[pi]
		if err := e.Verify(p.IdentityKey, wire.Expect{Kind: kind, Session: c.session, From: p.GuardianID, To: wire.CoordinatorID}); err != nil {
			return accuse(wire.CodeMisbehaviour, []uint16{p.Index}, "participant %d (%s): %v", p.Index, p.GuardianID, err)
		}
		if err := check(p, e); err != nil {
			return accuse(wire.CodeInconsistent, []uint16{p.Index}, "participant %d (%s) %v", p.Index, p.GuardianID, err)
		}
	}
	return nil
}

// dkgFinalize checks the shares addressed to this guardian, derives its key
// share, seals it to disk and answers the signed completion statement.
func (n *Node) dkgFinalize(ctx context.Context, env *wire.Envelope) (any, error) {
	var r wire.DKGFinalize
	if err := env.Decode(&r); err != nil {
		return nil, err
	}
	n.mu.Lock()
	c, err := n.ceremonyFor(env.Session, "shared")
	if err != nil {
		n.mu.Unlock()
		return nil, err
	}
	var in []dkg.Round2
	for i, b := range r.Shares {
		m, err := dkg.UnmarshalRound2(b)
		if err != nil {
			n.mu.Unlock()
			return nil, n.failCeremony(c, refuse(wire.CodeMisbehaviour, "round-2 message %d does not decode: %v", i+1, err))
		}
		in = append(in, *m)
	}
	ks, err := c.p.Finalize(c.transcript, in)
	if err != nil {
		n.mu.Unlock()
		return nil, n.failCeremony(c, misbehaviour(err, c.participants))
	}
	defer ks.Zero()
	c.step = "finalized"
	n.mu.Unlock()

	if err := n.storeShare(c.ref, ks); err != nil {
		return nil, err
	}
	signer, err := frost.NewSigner(ks)
	if err != nil {
		return nil, err
	}
	g, _ := json.Marshal(ks.Group)
	parts, _ := json.Marshal(c.participants)
	err = n.db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO keys (wallet_id, key_version, idx, status, ceremony, group_key, participants, created_us)
			VALUES (?, ?, ?, 'pending', ?, ?, ?, ?)`, c.ref.WalletID, c.ref.KeyVersion, c.index, c.session, g, parts, n.now().UnixMicro()); err != nil {
			return err
		}
		return appendEvent(ctx, tx, n.eventOf("dkg.finalize", "wallet:"+c.ref.WalletID, "success",
			map[string]string{"session": c.session, "group_key": hex.EncodeToString(ks.Group.VerificationKey), "index": strconv.Itoa(int(c.index))}))
	})
	if err != nil {
		signer.Close()
		return nil, err
	}
	n.mu.Lock()
	n.keys[c.ref] = &key{ref: c.ref, index: c.index, status: "pending", ceremony: c.session, group: ks.Group,
		participants: c.participants, signer: signer, issued: map[uint64]*issued{}, spent: map[uint64]*issued{}}
	n.mu.Unlock()
	return wire.DKGCompletion{Index: c.index, Transcript: c.transcript, GroupKey: ks.Group}, nil
}

// dkgActivate activates a pending key once every participant signed the
// same key and transcript and t of them produced a valid test signature.
func (n *Node) dkgActivate(ctx context.Context, env *wire.Envelope) (any, error) {
	var r wire.DKGActivate
	if err := env.Decode(&r); err != nil {
		return nil, err
	}
	n.mu.Lock()
	c, err := n.ceremonyFor(env.Session, "finalized")
	if err != nil {
		n.mu.Unlock()
		return nil, err
	}
	k := n.keys[c.ref]
	n.mu.Unlock()
	if k == nil || k.ceremony != c.session {
		return nil, refuse(wire.CodeCeremony, "no pending key for ceremony %s", c.session)
	}
	mine, _ := json.Marshal(k.group)
	if err := checkStatements(c, r.Completions, wire.KindDKGFinalize, func(p wire.Participant, e *wire.Envelope) error {
		var d wire.DKGCompletion
		if err := e.Decode(&d); err != nil || d.Index != p.Index {
			return fmt.Errorf("malformed completion statement")
		}
		theirs, _ := json.Marshal(d.GroupKey)
		if d.Transcript != c.transcript || !bytes.Equal(theirs, mine) {
			return fmt.Errorf("computed another key")
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := frost.Verify(k.group.Suite, k.group.VerificationKey, wire.TestMessage(c.session, &k.group), r.TestSignature); err != nil {
		return nil, refuse(wire.CodeCeremony, "the test signature does not verify: %v", err)
	}
	err = n.db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE keys SET status = 'active', activated_us = ? WHERE wallet_id = ? AND key_version = ? AND status = 'pending'`,
			n.now().UnixMicro(), c.ref.WalletID, c.ref.KeyVersion)
		if err != nil {
			return err
		}
		if m, _ := res.RowsAffected(); m != 1 {
			return errors.New("the key is not pending")
		}
		return appendEvent(ctx, tx, n.eventOf("dkg.activate", "wallet:"+c.ref.WalletID, "success",
			map[string]string{"session": c.session, "group_key": hex.EncodeToString(k.group.VerificationKey)}))
	})
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	k.status = "active"
	c.zero()
	delete(n.ceremonies, c.session)
	n.mu.Unlock()
	return wire.DKGActivated{Status: "active"}, nil
}

// abortActiveWindow is how long after its activation a key can still be
// removed by an abort of the ceremony that made it. The coordinator aborts
// a ceremony whose key some guardians activated when the ceremony fails
// after all (a guardian refused activation, or the coordinator could not
// record the wallet active): at once, or, when the coordinator running it
// stopped, at the sweep that finds it abandoned a few minutes later.
const abortActiveWindow = 15 * time.Minute

// dkgAbort forgets a ceremony and removes the key it produced, pending or
// active: the coordinator aborts only a ceremony whose wallet it never
// made active, so an active key left here would be a share of a wallet
// that does not exist. The guardian does not take that on trust for an
// active key: it refuses to remove one that has signed for an approval
// certificate (its wallet is in use) or was activated more than
// abortActiveWindow ago, so a coordinator that was broken into cannot
// destroy the key of a wallet in use. Only a key whose record carries
// this session is touched; an abort of any other session removes nothing.
func (n *Node) dkgAbort(ctx context.Context, env *wire.Envelope) (any, error) {
	var r wire.DKGAbort
	if err := env.Decode(&r); err != nil {
		return nil, err
	}
	n.mu.Lock()
	if c := n.ceremonies[env.Session]; c != nil {
		c.zero()
		delete(n.ceremonies, env.Session)
	}
	var k *key
	for _, x := range n.keys {
		if env.Session != "" && x.ceremony == env.Session {
			k = x
			break
		}
	}
	n.mu.Unlock()
	if k == nil {
		n.event(ctx, "dkg.abort", "session:"+env.Session, "success", map[string]string{"reason": r.Reason})
		return r, nil
	}
	if err := n.removeKey(ctx, k, env.Session, r.Reason); err != nil {
		return nil, err
	}
	return r, nil
}

// removeKey deletes k, made by ceremony session, on an abort of that
// ceremony: its record and the audit event in one transaction, then the
// signer and the sealed share.
func (n *Node) removeKey(ctx context.Context, k *key, session, reason string) error {
	ref := k.ref
	err := n.db.tx(ctx, func(tx *sql.Tx) error {
		var status string
		var activated sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT status, activated_us FROM keys WHERE wallet_id = ? AND key_version = ? AND ceremony = ?`,
			ref.WalletID, ref.KeyVersion, session).Scan(&status, &activated)
		if errors.Is(err, sql.ErrNoRows) {
			status = "none" // no record: forget it in memory too
		} else if err != nil {
			return err
		}
		if status == "active" {
			if !activated.Valid || n.now().Sub(time.UnixMicro(activated.Int64)) > abortActiveWindow {
				return refuse(wire.CodeCeremony, "wallet %s key version %d was activated more than %s ago; this guardian keeps it",
					ref.WalletID, ref.KeyVersion, abortActiveWindow)
			}
			var uses int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM certificate_uses WHERE wallet_id = ? AND key_version = ?`,
				ref.WalletID, ref.KeyVersion).Scan(&uses); err != nil {
				return err
			}
			if uses > 0 {
				return refuse(wire.CodeCeremony, "wallet %s key version %d has signed for approved requests; this guardian keeps it",
					ref.WalletID, ref.KeyVersion)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM keys WHERE wallet_id = ? AND key_version = ? AND ceremony = ?`,
			ref.WalletID, ref.KeyVersion, session); err != nil {
			return err
		}
		return appendEvent(ctx, tx, n.eventOf("dkg.abort", "wallet:"+ref.WalletID, "success", map[string]string{
			"session": session, "reason": reason, "key_version": strconv.Itoa(ref.KeyVersion), "index": strconv.Itoa(int(k.index)),
			"removed_key": status, "group_key": hex.EncodeToString(k.group.VerificationKey)}))
	})
	if err != nil {
		return err
	}
	n.mu.Lock()
	if n.keys[ref] == k {
		delete(n.keys, ref)
	}
	n.mu.Unlock()
	k.signer.Close()
	if err := os.Remove(n.sharePath(ref)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		n.log.ErrorContext(ctx, "removing the share of an aborted ceremony", "wallet", ref.WalletID, "key_version", ref.KeyVersion, "err", err)
	}
	return nil
}

// failCeremony ends c after an error; the caller holds n.mu.
func (n *Node) failCeremony(c *ceremony, err error) error {
	c.zero()
	delete(n.ceremonies, c.session)
	return err
}

// validKeyRef reports whether ref can name a key: its wallet id becomes
// part of the share's file name, so it must not be able to leave the
// shares directory.
func validKeyRef(ref wire.KeyRef) bool {
	id := ref.WalletID
	if ref.KeyVersion < 1 || id == "" || len(id) > 64 || id[0] == '.' || id[0] == '-' {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// checkWalletIntent checks that an approved wallet.create intent asks for
// the key this ceremony makes: a frost wallet with this threshold and
// these guardians (by id or by name is the coordinator's choice; ids are
// checked when the intent lists them).
func checkWalletIntent(raw []byte, r *wire.DKGStart) error {
	a, err := intent.ParseAction(raw, "wallet.create")
	if err != nil {
		return refuse(governance.CodeIntentMismatch, "the intent is not a wallet.create")
	}
	var p struct {
		Mode      string   `json:"mode"`
		Threshold int      `json:"threshold"`
		Curve     string   `json:"curve"`
		Guardians []string `json:"guardians"`
	}
	if err := json.Unmarshal(a.Params, &p); err != nil {
		return refuse(governance.CodeIntentMismatch, "the wallet.create intent does not decode")
	}
	if p.Mode != "frost" || p.Threshold != int(r.Threshold) || (p.Curve != "" && p.Curve != r.Curve) || len(p.Guardians) != len(r.Participants) {
		return refuse(governance.CodeIntentMismatch, "the approved wallet.create is not for a %d-of-%d %s frost key", r.Threshold, len(r.Participants), r.Curve)
	}
	return nil
}
