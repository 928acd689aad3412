package coordinator

import (
	"context"
	"time"

	"github.com/custos-dev/custos/store"
)

// Read-only views for the web UI's browsing pages: what the store listings
// and the guardian records alone do not tell.

// AuditHead returns the sequence number and hash of the newest audit
// event (0 and 32 zero bytes for an empty log), so that the log can be
// listed newest first.
func (s *Service) AuditHead(ctx context.Context, p *Principal) (int64, []byte, error) {
	if err := p.require(PermAuditRead); err != nil {
		return 0, nil, err
	}
	return s.auditHead(ctx)
}

// auditHead is the sequence number and hash of the newest audit event.
func (s *Service) auditHead(ctx context.Context) (int64, []byte, error) {
	type head struct {
		seq  int64
		hash []byte
	}
	h, err := read(ctx, s, "audit head", nil, func(ctx context.Context, tx store.Tx) (head, error) {
		seq, hash, err := tx.AuditHead(ctx)
		return head{seq, hash}, err
	})
	return h.seq, h.hash, err
}

// GuardianLiveness is what this coordinator process has seen of a
// guardian's reachability. Replicas each see their own calls, so two
// replicas may answer differently; the stored LastSeenAt of the guardian
// is the latest answer any of them recorded.
type GuardianLiveness struct {
	// LastAnswer is this process's last successful call to the guardian,
	// LastFailure its last failed one (zero: none since it started).
	LastAnswer, LastFailure time.Time
	// Stale: the guardian has not answered (this process, or any replica
	// by its LastSeenAt) within the time after which it no longer counts
	// as responsive when signers are picked (Config.GuardianStale).
	Stale bool
}

// GuardianLiveness returns the liveness of every enrolled guardian, by id.
func (s *Service) GuardianLiveness(ctx context.Context, p *Principal) (map[string]GuardianLiveness, error) {
	if err := p.require(PermWalletsRead); err != nil {
		return nil, err
	}
	gs, err := s.allGuardians(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make(map[string]GuardianLiveness, len(gs))
	s.guardians.mu.Lock()
	defer s.guardians.mu.Unlock()
	for _, g := range gs {
		var l GuardianLiveness
		if live := s.guardians.live[g.ID]; live != nil {
			l.LastAnswer, l.LastFailure = live.ok, live.fail
		}
		seen := l.LastAnswer
		if g.LastSeenAt != nil && g.LastSeenAt.After(seen) {
			seen = *g.LastSeenAt
		}
		l.Stale = seen.IsZero() || now.Sub(seen) >= s.stale
		out[g.ID] = l
	}
	return out, nil
}
