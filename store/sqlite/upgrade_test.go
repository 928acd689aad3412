package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/custos-dev/custos/store"
	"github.com/custos-dev/custos/store/internal/sqlstore"
	"github.com/custos-dev/custos/store/storetest"
)

func TestUpgradeKeepsWalletsActive(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old := func(f func(sqlstore.Conn) error) error {
		db, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)")
		if err != nil {
			return err
		}
		defer db.Close()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err := f(conn{tx: tx}); err != nil {
			tx.Rollback()
			return err
		}
		return tx.Commit()
	}
	storetest.UpgradeKeepsWalletsActive(t, migrationFiles, old,
		`INSERT INTO wallets (id, name, mode, curve, derivation_path, public_key, sealed_seed, key_version, frozen, created_at_us)
		VALUES ('w1', 'old', 'hd', 'secp256k1', 'm/0', x'02', x'aa', 1, 0, 0)`,
		func() (store.Store, error) { return Open(ctx, path) })
}
