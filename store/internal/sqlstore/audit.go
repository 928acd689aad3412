package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/store"
)

// The chain head (last seq and hash) lives in the one-row table audit_head,
// created by the first migration at seq 0 with 32 zero bytes. AppendAudit
// reads it (locking it on PostgreSQL), seals the event, inserts it and moves
// the head, all in the caller's transaction: concurrent appenders queue on
// the head row and the chain has no gaps or forks.

const auditCols = `seq, id, time_s, time_nanos, category, action, actor, target, request_id, result, metadata, prev_hash, hash`

func scanAudit(s scanner) (*audit.Event, error) {
	var e audit.Event
	var sec, nanos int64
	var meta string
	if err := s.Scan(&e.Seq, &e.ID, &sec, &nanos, &e.Category, &e.Action, &e.Actor, &e.Target, &e.RequestID,
		&e.Result, &meta, &e.PrevHash, &e.Hash); err != nil {
		return nil, err
	}
	e.Time = time.Unix(sec, nanos).UTC()
	if meta != "{}" {
		if err := json.Unmarshal([]byte(meta), &e.Metadata); err != nil {
			return nil, fmt.Errorf("decode metadata of audit event %d: %w", e.Seq, err)
		}
		if len(e.Metadata) == 0 {
			e.Metadata = nil
		}
	}
	return &e, nil
}

// AppendAudit implements store.Tx: it seals e after the chain head (setting
// e.Seq, e.PrevHash and e.Hash) and stores it. e.Time is stored with its
// nanoseconds, so the event read back hashes the same.
func (t *Tx) AppendAudit(ctx context.Context, e *audit.Event) error {
	const op = "append audit event"
	if err := t.writable(op); err != nil {
		return err
	}
	if err := e.Validate(); err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	meta := []byte("{}")
	if len(e.Metadata) > 0 {
		var err error
		if meta, err = json.Marshal(e.Metadata); err != nil {
			return t.fail(op, err)
		}
	}
	var headSeq int64
	var headHash []byte
	if err := t.c.QueryRow(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`+t.forUpdate()).Scan(&headSeq, &headHash); err != nil {
		return t.fail(op+": read chain head", err)
	}
	if len(headHash) != audit.HashSize {
		return fmt.Errorf("store: %s: chain head at seq %d has a %d-byte hash", op, headSeq, len(headHash))
	}
	e.Seal(headSeq, headHash)
	if _, err := t.c.Exec(ctx, `INSERT INTO audit_events (`+auditCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		e.Seq, e.ID, e.Time.Unix(), int64(e.Time.Nanosecond()), e.Category, e.Action, e.Actor, e.Target, e.RequestID,
		e.Result, string(meta), e.PrevHash, e.Hash); err != nil {
		return t.fail(op+" "+strconv.FormatInt(e.Seq, 10), err)
	}
	n, err := t.c.Exec(ctx, `UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1 AND seq = $3`, e.Seq, e.Hash, headSeq)
	if err != nil {
		return t.fail(op+": move chain head", err)
	}
	if n != 1 {
		return fmt.Errorf("%w: %s: chain head moved under us", store.ErrConflict, op)
	}
	return nil
}

// ListAudit implements store.Tx: events with Seq > afterSeq in order, at
// most limit (limit <= 0 means all).
func (t *Tx) ListAudit(ctx context.Context, afterSeq int64, limit int) ([]*audit.Event, error) {
	return queryList(ctx, t, "list audit events",
		`SELECT `+auditCols+` FROM audit_events WHERE seq > $1 ORDER BY seq`+limitClause(limit), scanAudit, afterSeq)
}

// AuditHead implements store.Tx.
func (t *Tx) AuditHead(ctx context.Context) (int64, []byte, error) {
	var seq int64
	var hash []byte
	if err := t.c.QueryRow(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &hash); err != nil {
		return 0, nil, t.fail("read audit head", err)
	}
	return seq, hash, nil
}
