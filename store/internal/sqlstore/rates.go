package sqlstore

import (
	"context"
	"strconv"

	"github.com/custos-dev/custos/store"
)

const rateCols = `asset, eur_per_unit, decimals, updated_at_us`

func scanRate(s scanner) (*store.Rate, error) {
	var r store.Rate
	var updated int64
	if err := s.Scan(&r.Asset, &r.EURPerUnit, &r.Decimals, &updated); err != nil {
		return nil, err
	}
	r.UpdatedAt = fromUS(updated)
	return &r, nil
}

// PutRate implements store.Tx: insert or replace.
func (t *Tx) PutRate(ctx context.Context, r *store.Rate) error {
	op := "put rate " + strconv.Quote(r.Asset)
	if err := t.writable(op); err != nil {
		return err
	}
	_, err := t.c.Exec(ctx, `INSERT INTO rates (`+rateCols+`) VALUES ($1, $2, $3, $4)
		ON CONFLICT (asset) DO UPDATE SET eur_per_unit = excluded.eur_per_unit,
			decimals = excluded.decimals, updated_at_us = excluded.updated_at_us`,
		r.Asset, r.EURPerUnit, r.Decimals, us(r.UpdatedAt))
	return t.fail(op, err)
}

// GetRate implements store.Tx.
func (t *Tx) GetRate(ctx context.Context, asset string) (*store.Rate, error) {
	return queryOne(ctx, t, "get rate "+strconv.Quote(asset),
		`SELECT `+rateCols+` FROM rates WHERE asset = $1`, scanRate, asset)
}

// ListRates implements store.Tx: ordered by asset.
func (t *Tx) ListRates(ctx context.Context) ([]*store.Rate, error) {
	return queryList(ctx, t, "list rates", `SELECT `+rateCols+` FROM rates ORDER BY asset`, scanRate)
}
