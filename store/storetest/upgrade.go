package storetest

import (
	"context"
	"io/fs"
	"testing"
	"time"

	"github.com/custos-dev/custos/store"
	"github.com/custos-dev/custos/store/internal/sqlstore"
)

// UpgradeKeepsWalletsActive checks that a wallet written by a binary that
// knew only migrations 1 and 2 reads back as an active wallet without
// guardians once open has applied the newer migrations. migrations holds
// the engine's migrations directory; old runs f in one transaction on the
// engine's fresh database and commits it; insert writes wallet w1 in the
// engine's SQL.
func UpgradeKeepsWalletsActive(t *testing.T, migrations fs.FS, old func(f func(sqlstore.Conn) error) error, insert string, open func() (store.Store, error)) {
	t.Helper()
	ctx := context.Background()
	ms, err := sqlstore.LoadMigrations(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 3 {
		t.Fatalf("%d migrations embedded, want at least 3", len(ms))
	}
	if err := old(func(c sqlstore.Conn) error {
		if _, err := sqlstore.Migrate(ctx, c, ms[:2], time.Now()); err != nil {
			return err
		}
		_, err := c.Exec(ctx, insert)
		return err
	}); err != nil {
		t.Fatal(err)
	}

	s, err := open()
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
