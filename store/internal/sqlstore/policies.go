package sqlstore

import (
	"context"
	"fmt"
	"strconv"

	"github.com/custos-dev/custos/store"
)

const policyCols = `version, hash, document, created_by, created_at_us`

func scanPolicy(s scanner) (*store.Policy, error) {
	var p store.Policy
	var created int64
	if err := s.Scan(&p.Version, &p.Hash, &p.Document, &p.CreatedBy, &created); err != nil {
		return nil, err
	}
	p.Hash = nilIfEmpty(p.Hash)
	p.Document = nilIfEmpty(p.Document)
	p.CreatedAt = fromUS(created)
	return &p, nil
}

// PutPolicy implements store.Tx: ErrConflict unless p.Version is the current
// version plus one (1 when there is none). Two transactions racing for the
// same version meet on the primary key: one inserts, the other gets
// ErrConflict.
func (t *Tx) PutPolicy(ctx context.Context, p *store.Policy) error {
	op := "put policy version " + strconv.FormatInt(p.Version, 10)
	if err := t.writable(op); err != nil {
		return err
	}
	var current int64
	if err := t.c.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM policies`).Scan(&current); err != nil {
		return t.fail(op, err)
	}
	if p.Version != current+1 {
		return fmt.Errorf("%w: %s: current version is %d", store.ErrConflict, op, current)
	}
	return t.insert(ctx, op,
		`INSERT INTO policies (`+policyCols+`) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
		p.Version, blob(p.Hash), blob(p.Document), p.CreatedBy, us(p.CreatedAt))
}

// CurrentPolicy implements store.Tx: the highest version, ErrNotFound if none.
func (t *Tx) CurrentPolicy(ctx context.Context) (*store.Policy, error) {
	return queryOne(ctx, t, "current policy",
		`SELECT `+policyCols+` FROM policies ORDER BY version DESC LIMIT 1`, scanPolicy)
}

// GetPolicy implements store.Tx.
func (t *Tx) GetPolicy(ctx context.Context, version int64) (*store.Policy, error) {
	return queryOne(ctx, t, "get policy version "+strconv.FormatInt(version, 10),
		`SELECT `+policyCols+` FROM policies WHERE version = $1`, scanPolicy, version)
}
