package postgres

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/custos-dev/custos/store"
	"github.com/custos-dev/custos/store/internal/sqlstore"
	"github.com/custos-dev/custos/store/postgres/pgtest"
	"github.com/custos-dev/custos/store/storetest"
)

func TestUpgradeKeepsWalletsActive(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t, os.Getenv(pgtest.EnvDSN))
	old := func(f func(sqlstore.Conn) error) error {
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error { return f(conn{tx}) })
	}
	storetest.UpgradeKeepsWalletsActive(t, migrationFiles, old,
		`INSERT INTO wallets (id, name, mode, curve, derivation_path, public_key, sealed_seed, key_version, frozen, created_at_us)
		VALUES ('w1', 'old', 'hd', 'secp256k1', 'm/0', '\x02', '\xaa', 1, false, 0)`,
		func() (store.Store, error) { return Open(ctx, dsn) })
}
