package postgres

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/custos-dev/custos/store"
	"github.com/custos-dev/custos/store/internal/sqlstore"
	"github.com/custos-dev/custos/store/postgres/pgtest"
)

// TestUpgradeKeepsWalletsActive: wallets written by a binary that knew
// only migrations 1 and 2 read back as active wallets without guardians
// once Open has applied the newer migrations.
func TestUpgradeKeepsWalletsActive(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t, os.Getenv(pgtest.EnvDSN))
	ms, err := sqlstore.LoadMigrations(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 3 {
		t.Fatalf("%d migrations embedded, want at least 3", len(ms))
	}
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqlstore.Migrate(ctx, conn{tx}, ms[:2], time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO wallets (id, name, mode, curve, derivation_path, public_key, sealed_seed, key_version, frozen, created_at_us)
		VALUES ('w1', 'old', 'hd', 'secp256k1', 'm/0', '\x02', '\xaa', 1, false, 0)`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if err := s.ReadTx(ctx, func(ctx context.Context, tx store.Tx) error {
		w, err := tx.GetWallet(ctx, "w1")
		if err != nil {
			return err
		}
		if w.Status != store.WalletActive || w.Threshold != 0 || w.Guardians != nil || w.GroupKey != nil {
			t.Fatalf("old wallet after upgrade: status %q, threshold %d, guardians %v, group key %x; want active, 0, nil, nil",
				w.Status, w.Threshold, w.Guardians, w.GroupKey)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
