package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/custos-dev/custos/store"
	"github.com/custos-dev/custos/store/internal/sqlstore"
)

// TestUpgradeKeepsWalletsActive: wallets written by a binary that knew
// only migrations 1 and 2 read back as active wallets without guardians
// once Open has applied the newer migrations.
func TestUpgradeKeepsWalletsActive(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	ms, err := sqlstore.LoadMigrations(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 3 {
		t.Fatalf("%d migrations embedded, want at least 3", len(ms))
	}
	db, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqlstore.Migrate(ctx, conn{tx: tx}, ms[:2], time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`INSERT INTO wallets (id, name, mode, curve, derivation_path, public_key, sealed_seed, key_version, frozen, created_at_us)
		VALUES ('w1', 'old', 'hd', 'secp256k1', 'm/0', x'02', x'aa', 1, 0, 0)`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := Open(ctx, path)
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
