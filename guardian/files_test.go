package guardian_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
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

// TestInspect: Inspect reads a guardian's status and event log without
// its key-encryption key, and reports what the opened node reports.
func TestInspect(t *testing.T) {
	c, nodes, _ := signFixture(t)
	n := nodes[0]
	want, err := n.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	events := export(t, n)
	if err := n.Node.Close(); err != nil {
		t.Fatal(err)
	}
	kek := filepath.Join(n.dir, guardian.KEKFile)
	saved, err := os.ReadFile(kek)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(kek); err != nil {
		t.Fatal(err)
	}
	d, err := guardian.Inspect(n.dir)
	if err != nil {
		t.Fatalf("inspecting a guardian without its KEK: %v", err)
	}
	got, err := d.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("inspected status %+v, the node's %+v", got, want)
	}
	var buf bytes.Buffer
	if err := d.ExportEvents(t.Context(), func(line []byte) error { buf.Write(line); buf.WriteByte('\n'); return nil }); err != nil || !bytes.Equal(buf.Bytes(), events) {
		t.Fatalf("inspected event log differs from the node's (%v)", err)
	}
	d.Close()
	// The node itself needs the KEK.
	if g, err := guardian.Open(n.dir, guardian.Options{Now: c.clock.Now}); err == nil {
		g.Close()
		t.Fatal("opened a guardian without its KEK")
	}
	if err := os.WriteFile(kek, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	if n.Node, err = guardian.Open(n.dir, guardian.Options{Now: c.clock.Now}); err != nil {
		t.Fatal(err)
	}
}
