package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/custos-dev/custos/approvals/policy"
	"github.com/custos-dev/custos/internal/keyfile"
	"github.com/custos-dev/custos/store"
)

// staffFile is the initial staff of a new installation.
type staffFile struct {
	Users []struct {
		Name         string `json:"name"`
		Role         string `json:"role"`
		PasswordFile string `json:"password_file"`
		ApprovalKey  string `json:"approval_key,omitempty"` // hex Ed25519 public key, for approving roles
	} `json:"users"`
}

// runBootstrap seeds an empty store with its first staff and the default
// policy. Nobody can approve anything before there are approvers, so this
// is the one step that runs without approvals; it refuses a store that has
// users already, and every user it creates is in the audit log.
func runBootstrap(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bootstrap", flag.ContinueOnError)
	var cfg serverConfig
	cfg.flags(fs)
	staffPath := fs.String("staff", "", `JSON file: {"users": [{"name", "role", "password_file", "approval_key"}]}`)
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if *staffPath == "" || cfg.decisionKeyFile == "" || (cfg.kekFile == "" && cfg.kekPassphraseFile == "") {
		return usagef("bootstrap: --staff, --decision-key-file and one of --kek-file or --kek-passphrase-file are required (and the store flags of 'custos coordinator')")
	}
	data, err := os.ReadFile(*staffPath)
	if err != nil {
		return err
	}
	var sf staffFile
	if err := json.Unmarshal(data, &sf); err != nil {
		return fmt.Errorf("%s: %v", *staffPath, err)
	}
	roles := map[string]int{}
	for _, u := range sf.Users {
		roles[u.Role]++
	}
	if roles[store.RoleAdmin] < 1 || roles[store.RoleTreasuryManager] < 2 || roles[store.RoleTreasuryManager]+roles[store.RoleApprover] < 4 {
		return errors.New("bootstrap: the first staff needs an admin, two treasury managers and at least four approving people in all, so that the default policy's quorums can be met (a person never approves their own request)")
	}
	svc, st, err := buildService(ctx, &cfg, newLogger(cfg.logLevel))
	if err != nil {
		return err
	}
	defer st.Close()
	var existing int
	err = st.ReadTx(ctx, func(ctx context.Context, tx store.Tx) error {
		us, err := tx.ListUsers(ctx)
		existing = len(us)
		return err
	})
	if err != nil {
		return err
	}
	if existing > 0 {
		return fmt.Errorf("bootstrap: the store has %d users already; bootstrap runs once, on an empty store", existing)
	}
	if _, err := svc.InitPolicy(ctx, policy.Default()); err != nil {
		return err
	}
	for _, u := range sf.Users {
		pw, err := keyfile.Read(filepath.Clean(u.PasswordFile))
		if err != nil {
			return fmt.Errorf("user %s: %w", u.Name, err)
		}
		var key ed25519.PublicKey
		if u.ApprovalKey != "" {
			if key, err = hex.DecodeString(u.ApprovalKey); err != nil {
				return fmt.Errorf("user %s: approval_key is not hex", u.Name)
			}
		}
		if _, err := svc.BootstrapUser(ctx, u.Name, u.Role, string(trimSpace(pw)), key); err != nil {
			clear(pw)
			return fmt.Errorf("user %s: %w", u.Name, err)
		}
		clear(pw)
		fmt.Fprintf(out, "custos: created %s (%s)\n", u.Name, u.Role)
	}
	fmt.Fprintln(out, "custos: bootstrap done; start the coordinator, then ask every user to change their password (custos user password)")
	return nil
}
