package e2e

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custos-dev/custos/internal/seal"
)

// TestBootstrap: a production installation gets its first staff from a
// file, once, on an empty store, and only with enough people to meet the
// default policy's quorums.
func TestBootstrap(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	kek := filepath.Join(dir, "kek.hex")
	if err := seal.GenerateKEKFile(kek, rand.Reader); err != nil {
		t.Fatal(err)
	}
	decision := filepath.Join(dir, "decision.pem")
	mustCLI(t, "keygen", "--out", decision)
	type user struct {
		Name         string `json:"name"`
		Role         string `json:"role"`
		PasswordFile string `json:"password_file"`
		ApprovalKey  string `json:"approval_key,omitempty"`
	}
	var users []user
	for i, role := range []string{"admin", "treasury_manager", "treasury_manager", "approver", "approver"} {
		name := fmt.Sprintf("u%d", i)
		pw := filepath.Join(dir, name+".pw")
		if err := os.WriteFile(pw, []byte("initial password "+name+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		u := user{Name: name, Role: role, PasswordFile: pw}
		if role != "admin" {
			pub, _, _ := ed25519.GenerateKey(rand.Reader)
			u.ApprovalKey = fmt.Sprintf("%x", []byte(pub))
		}
		users = append(users, u)
	}
	write := func(us []user) string {
		b, _ := json.Marshal(map[string]any{"users": us})
		p := filepath.Join(dir, fmt.Sprintf("staff-%d.json", len(us)))
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	args := func(staff string) []string {
		return []string{"bootstrap", "--sqlite", filepath.Join(dir, "custos.db"), "--kek-file", kek, "--decision-key-file", decision, "--staff", staff}
	}
	if out, errOut, code := runCLI(t, args(write(users[:3]))...); code == 0 || !strings.Contains(errOut, "two treasury managers") {
		t.Fatalf("bootstrap with too few people: exit %d\n%s%s", code, out, errOut)
	}
	out := mustCLI(t, args(write(users))...)
	if !strings.Contains(out, "created u1 (treasury_manager)") || !strings.Contains(out, "bootstrap done") {
		t.Fatalf("bootstrap: %s", out)
	}
	if _, errOut, code := runCLI(t, args(write(users))...); code == 0 || !strings.Contains(errOut, "runs once") {
		t.Fatalf("second bootstrap: exit %d %s", code, errOut)
	}
}
