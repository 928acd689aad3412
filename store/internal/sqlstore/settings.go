package sqlstore

import (
	"context"
	"strconv"
)

// GetSetting implements store.Tx; ErrNotFound if unset.
func (t *Tx) GetSetting(ctx context.Context, key string) (string, error) {
	var v string
	if err := t.c.QueryRow(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v); err != nil {
		return "", t.fail("get setting "+strconv.Quote(key), err)
	}
	return v, nil
}

// PutSetting implements store.Tx: insert or replace.
func (t *Tx) PutSetting(ctx context.Context, key, value string) error {
	op := "put setting " + strconv.Quote(key)
	if err := t.writable(op); err != nil {
		return err
	}
	_, err := t.c.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return t.fail(op, err)
}
