package sqlstore

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadMigrations(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files fstest.MapFS
		want  string // error substring; "" for success
		n     int
	}{
		{"ok", fstest.MapFS{
			"m/0002_more.sql":  {Data: []byte("B")},
			"m/0001_init.sql":  {Data: []byte("A")},
			"m/README.md":      {Data: []byte("ignored")},
			"m/0003_third.sql": {Data: []byte("C")},
		}, "", 3},
		{"ok/empty", fstest.MapFS{"m/README.md": {Data: []byte("x")}}, "", 0},
		{"fail/gap", fstest.MapFS{"m/0001_a.sql": {}, "m/0003_c.sql": {}}, "expected version 2", 0},
		{"fail/duplicate", fstest.MapFS{"m/0001_a.sql": {}, "m/1_b.sql": {}}, "expected version 2", 0},
		{"fail/no_number", fstest.MapFS{"m/init.sql": {}}, "NNNN_description.sql", 0},
		{"fail/zero", fstest.MapFS{"m/0000_a.sql": {}}, "NNNN_description.sql", 0},
		{"fail/missing_dir", fstest.MapFS{}, "read migrations", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := LoadMigrations(tc.files, "m")
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("LoadMigrations: %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) != tc.n {
				t.Fatalf("%d migrations, want %d", len(ms), tc.n)
			}
			for i, m := range ms {
				if m.Version != int64(i+1) || m.SQL != string(rune('A'+i)) || len(m.Checksum) != 64 {
					t.Fatalf("migration %d: %+v", i, m)
				}
			}
		})
	}
}
