package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/custos-dev/custos/approvals/proof"
	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/coordinator/httpapi"
	"github.com/custos-dev/custos/internal/seal"
	"github.com/custos-dev/custos/store"
	"github.com/custos-dev/custos/store/sqlite"
)

// TestWebhookCommands drives `custos webhook` against a coordinator's API
// with an administrator's session token.
func TestWebhookCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "custos.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	kek, _ := seal.NewKEK(make([]byte, 32))
	signer, _ := proof.NewSigner(ed25519.NewKeyFromSeed(make([]byte, 32)))
	svc, err := coordinator.New(coordinator.Config{Store: st, KEK: kek, DecisionKey: signer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	if _, err := svc.BootstrapUser(ctx, "ada", store.RoleAdmin, "correct horse battery staple", nil); err != nil {
		t.Fatal(err)
	}
	tok, _, _, err := svc.Login(ctx, "ada", "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.New(httpapi.Config{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := runWebhook(ctx, append(args, "--api", srv.URL, "--token-file", tokenFile), &out)
		return out.String(), err
	}

	out, err := run("create", "--url", "https://hooks.example.com/custos", "--events", "transaction.*,wallet.*")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`webhook (\S+) created: https://hooks.example.com/custos receives transaction.\*, wallet.\*\nsigning secret \(shown once\): (cwh_\S{43})\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("create printed:\n%s", out)
	}
	id, secret := m[1], m[2]
	secretFile := filepath.Join(dir, "secret")
	if out, err = run("create", "--url", "https://ops.example.com/x", "--events", "guardian.*", "--secret-file", secretFile); err != nil ||
		strings.Contains(out, "cwh_") {
		t.Fatalf("create --secret-file: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(secretFile); err != nil || !strings.HasPrefix(string(b), "cwh_") {
		t.Fatalf("secret file: %q, %v", b, err)
	}
	if _, err := run("create", "--url", "http://hooks.example.com/custos"); err == nil || !strings.Contains(err.Error(), "https") {
		t.Fatalf("create with an http URL: %v", err)
	}

	for _, step := range []struct {
		args []string
		want string
	}{
		{[]string{"disable", id}, "custos: webhook " + id + " disabled\n"},
		{[]string{"list"}, id + "  disabled https://hooks.example.com/custos  [transaction.* wallet.*]  last delivery never"},
		{[]string{"enable", id}, "custos: webhook " + id + " enabled\n"},
		{[]string{"list", "--json"}, `"url": "https://hooks.example.com/custos"`},
		{[]string{"delete", id}, "custos: webhook " + id + " deleted\n"},
	} {
		out, err := run(step.args...)
		if err != nil || !strings.Contains(out, step.want) || strings.Contains(out, secret) {
			t.Fatalf("webhook %s: %v\n%s\nwant %q", strings.Join(step.args, " "), err, out, step.want)
		}
	}
	if _, err := run("delete", id); err == nil || !strings.Contains(err.Error(), "unknown_webhook") {
		t.Fatalf("deleting twice: %v", err)
	}
	if _, err := run("frobnicate"); err == nil {
		t.Fatal("an unknown subcommand succeeded")
	}
}
