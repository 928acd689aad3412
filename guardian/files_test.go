package guardian_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/custos-dev/custos/guardian"
)

// TestStateFilesArePrivate: the state database and its journal files are
// readable by the operator only.
func TestStateFilesArePrivate(t *testing.T) {
	dir := t.TempDir()
	if _, err := guardian.Init(dir, guardian.InitOptions{Listen: "127.0.0.1:0"}); err != nil {
		t.Fatal(err)
	}
	n, err := guardian.Open(dir, guardian.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	files, _ := filepath.Glob(filepath.Join(dir, guardian.StateFile+"*"))
	if len(files) == 0 {
		t.Fatal("no state file")
	}
	for _, p := range append(files, filepath.Join(dir, guardian.IdentityFile), filepath.Join(dir, guardian.EncryptionFile), filepath.Join(dir, guardian.ConfigFile)) {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
	}
}
