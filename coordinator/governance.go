package coordinator

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/governance"
	"github.com/custos-dev/custos/guardian/wire"
	"github.com/custos-dev/custos/store"
)

// The governance state is what guardians hold so that they need not trust
// the coordinator (package governance): the policy in force, the roster of
// approving users with their approval keys, and the approved EUR rate
// anchors. The coordinator builds the same state from its store; each
// guardian pins it at enrolment and then applies, on its own, every
// approved governance request (policy.change, user.role.assign, rate.set)
// in the order they were executed.
//
// So that a guardian that fell behind can be brought up to date, every
// executed governance request is appended to a log (in the settings
// table): its certificate as it was when the request ran, and the hash of
// the state it led to. Rebuilding old certificates later would not do: the
// roster they were approved under may have changed since.

// governanceState builds the governance state from the store.
func (s *Service) governanceState(ctx context.Context, tx store.Tx) (*governance.State, error) {
	pol, _, err := s.activePolicy(ctx, tx)
	if err != nil {
		return nil, err
	}
	roster, err := s.roster(ctx, tx)
	if err != nil {
		return nil, err
	}
	st := &governance.State{Policy: pol.Document, Roster: []governance.Member{}, Anchors: map[string]string{}}
	for _, a := range roster {
		if !slices.Contains(approvals.ApprovingRoles(), a.Role) {
			continue
		}
		m := governance.Member{ID: a.ID, Name: a.Name, Role: a.Role, Passkeys: a.Passkeys}
		if len(a.Key) == ed25519.PublicKeySize {
			m.Key = a.Key
		}
		if m.Key != nil || len(m.Passkeys) > 0 {
			st.Roster = append(st.Roster, m)
		}
	}
	slices.SortFunc(st.Roster, func(a, b governance.Member) int { return strings.Compare(a.ID, b.ID) })
	rates, err := tx.ListRates(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range rates {
		a, err := tx.GetSetting(ctx, rateAnchorKey(r.Asset))
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		st.Anchors[r.Asset] = a
	}
	return st, nil
}

// Settings keys of the governance log.
const (
	settingGovSeq    = "governance_log_seq"
	settingGovPrefix = "governance_log:"
)

// governanceEntry is one executed governance request.
type governanceEntry struct {
	Seq         int64                  `json:"seq"`
	RequestID   string                 `json:"request_id"`
	Action      string                 `json:"action"`
	ExecutedAt  time.Time              `json:"executed_at"`
	Certificate *approvals.Certificate `json:"certificate"`
	Hash        string                 `json:"hash"` // hash of the state after it
}

// governanceLog caches entries (they never change once written).
type governanceLog struct {
	mu      sync.Mutex
	entries map[int64]*governanceEntry
}

// logGovernance appends an executed governance request to the log, in the
// transaction that executed it, after its change. The transaction has
// appended an audit event already and so holds the audit chain head: log
// appends are serialised by it, on PostgreSQL too.
func (s *Service) logGovernance(ctx context.Context, tx store.Tx, r *store.Request, cert *approvals.Certificate) error {
	st, err := s.governanceState(ctx, tx)
	if err != nil {
		return err
	}
	seq := int64(0)
	switch v, err := tx.GetSetting(ctx, settingGovSeq); {
	case err == nil:
		if seq, err = strconv.ParseInt(v, 10, 64); err != nil {
			return fmt.Errorf("governance log sequence %q: %w", v, err)
		}
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	seq++
	e := &governanceEntry{Seq: seq, RequestID: r.ID, Action: r.Action, ExecutedAt: s.now().UTC(), Certificate: cert, Hash: st.HashHex()}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := tx.PutSetting(ctx, settingGovPrefix+strconv.FormatInt(seq, 10), string(b)); err != nil {
		return err
	}
	return tx.PutSetting(ctx, settingGovSeq, strconv.FormatInt(seq, 10))
}

// governanceEntries reads the whole log, oldest first.
func (s *Service) governanceEntries(ctx context.Context) ([]*governanceEntry, error) {
	var out []*governanceEntry
	err := s.store.ReadTx(ctx, func(ctx context.Context, tx store.Tx) error {
		out = out[:0]
		v, err := tx.GetSetting(ctx, settingGovSeq)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("governance log sequence %q: %w", v, err)
		}
		for seq := int64(1); seq <= n; seq++ {
			s.govLog.mu.Lock()
			e := s.govLog.entries[seq]
			s.govLog.mu.Unlock()
			if e == nil {
				raw, err := tx.GetSetting(ctx, settingGovPrefix+strconv.FormatInt(seq, 10))
				if err != nil {
					return fmt.Errorf("governance log entry %d: %w", seq, err)
				}
				e = &governanceEntry{}
				if err := json.Unmarshal([]byte(raw), e); err != nil {
					return fmt.Errorf("governance log entry %d: %w", seq, err)
				}
				s.govLog.mu.Lock()
				if s.govLog.entries == nil {
					s.govLog.entries = map[int64]*governanceEntry{}
				}
				s.govLog.entries[seq] = e
				s.govLog.mu.Unlock()
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// governanceCatchUp returns the certificates that bring a guardian from
// the state it reports (hash) to the current one, oldest first: every
// entry after the last one that led to its state; if no entry did (the
// guardian enrolled on a state no governance request produced), every
// entry executed after its enrolment. The guardian skips what it applied.
func governanceCatchUp(log []*governanceEntry, hash string, enrolled time.Time) []*approvals.Certificate {
	from := -1
	for i := len(log) - 1; i >= 0; i-- {
		if log[i].Hash == hash {
			from = i + 1
			break
		}
	}
	var out []*approvals.Certificate
	for i, e := range log {
		if (from >= 0 && i >= from) || (from < 0 && !e.ExecutedAt.Before(enrolled)) {
			out = append(out, e.Certificate)
		}
	}
	return out
}

// maxGovernanceBatch bounds the certificates sent in one message.
const maxGovernanceBatch = 64

// governanceLoader loads the governance log for one pass over guardians: at
// most once, on first use, shared by every guardian the pass updates.
type governanceLoader func() ([]*governanceEntry, error)

// governanceLogOnce returns a loader of the governance log that reads it
// at most once.
func (s *Service) governanceLogOnce(ctx context.Context) governanceLoader {
	return sync.OnceValues(func() ([]*governanceEntry, error) { return s.governanceEntries(ctx) })
}

// governancePass is the coordinator's governance state for one signing
// call: its hash and its log, each read at most once, on first use.
type governancePass struct {
	current func() (string, error)
	log     governanceLoader
}

func (s *Service) newGovernancePass(ctx context.Context) *governancePass {
	return &governancePass{
		current: sync.OnceValues(func() (string, error) { return s.currentGovernanceHash(ctx) }),
		log:     s.governanceLogOnce(ctx),
	}
}

// syncGovernance brings guardian g, which reports state hash reported, up
// to the coordinator's state current, with the certificates of log (read
// only if g is behind). It returns the hash g holds after.
func (s *Service) syncGovernance(ctx context.Context, g *store.Guardian, log governanceLoader, reported, current string) (string, error) {
	if reported == current {
		return reported, nil
	}
	entries, err := log()
	if err != nil {
		return reported, err
	}
	certs := governanceCatchUp(entries, reported, g.EnrolledAt)
	if len(certs) == 0 {
		return reported, fmt.Errorf("guardian %s holds governance state %s, the coordinator %s, and no approved governance request leads from one to the other",
			g.Name, shortHash(reported), shortHash(current))
	}
	hash := reported
	for len(certs) > 0 {
		batch := certs[:min(len(certs), maxGovernanceBatch)]
		certs = certs[len(batch):]
		var ans wire.GovernanceState
		if _, err := s.rpc.call(ctx, g, wire.KindGovernance, s.newID(), 1, wire.GovernanceUpdate{Certificates: batch}, &ans); err != nil {
			return hash, err
		}
		hash = ans.Hash
	}
	s.log.InfoContext(ctx, "guardian governance state updated", "guardian", g.ID, "hash", hash, "in_sync", hash == current)
	return hash, nil
}

func shortHash(h string) string {
	if h == "" {
		return "(none)"
	}
	return h[:min(len(h), 16)]
}

// currentGovernanceHash is the hash of the state built from the store now.
func (s *Service) currentGovernanceHash(ctx context.Context) (string, error) {
	st, err := read(ctx, s, "governance state", nil, s.governanceState)
	if err != nil {
		return "", err
	}
	return st.HashHex(), nil
}

// pushGovernance sends the latest approved governance changes to every
// guardian that reported another state (best effort: the periodic health
// check repairs what this misses).
func (s *Service) pushGovernance(ctx context.Context) {
	current, err := s.currentGovernanceHash(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "governance push: state unavailable", "err", err)
		return
	}
	gs, err := s.pollableGuardians(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "governance push: listing guardians failed", "err", err)
		return
	}
	log := s.governanceLogOnce(ctx)
	var wg sync.WaitGroup
	for _, g := range gs {
		wg.Go(func() {
			h, err := s.syncGovernance(ctx, g, log, healthOf(g).GovernanceHash, current)
			if err != nil {
				s.log.WarnContext(ctx, "governance push failed", "guardian", g.ID, "err", err)
				return
			}
			s.noteGovernance(ctx, g.ID, h)
		})
	}
	wg.Wait()
}

// healthOf decodes a guardian's last stored health report (zero if none).
func healthOf(g *store.Guardian) wire.Health {
	var h wire.Health
	if len(g.Health) > 0 {
		_ = json.Unmarshal(g.Health, &h)
	}
	return h
}
