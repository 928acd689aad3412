package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/custos-dev/custos/client"
	"github.com/custos-dev/custos/guardian/wire"
)

// guardianView is a guardian as GET /v1/guardians shows it.
type guardianView struct {
	ID               string           `json:"id"`
	Name             string           `json:"name"`
	Status           string           `json:"status"`
	StatusReason     string           `json:"status_reason"`
	Endpoint         string           `json:"endpoint"`
	IdentityKey      string           `json:"identity_key"`
	EnrolledAt       time.Time        `json:"enrolled_at"`
	LastSeenAt       *time.Time       `json:"last_seen_at"`
	Version          string           `json:"version"`
	GovernanceHash   string           `json:"governance_hash"`
	GovernanceInSync bool             `json:"governance_in_sync"`
	Keys             []wire.KeyStatus `json:"keys"`
}

// The subcommands of `custos guardian`: an operator's, for a guardian
// node (runGuardian), and an administrator's, at the coordinator.
const (
	guardianOperatorSubcommands = "init|enroll|run|status|audit"
	guardianAdminSubcommands    = "invite|list|show|reinstate"
	guardianSubcommands         = guardianOperatorSubcommands + " (operator) or " + guardianAdminSubcommands + " (administrator)"
)

// runGuardianAdmin is the coordinator side of `custos guardian`: invite a
// guardian, list the enrolled ones, show one, reinstate one. runGuardian
// (the operator's commands) falls back to it.
func runGuardianAdmin(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return usagef("usage: custos guardian %s [flags]", guardianSubcommands)
	}
	fs := flag.NewFlagSet("guardian "+args[0], flag.ContinueOnError)
	var c conn
	c.flags(fs)
	asJSON := fs.Bool("json", false, "print the API answer as JSON")
	switch args[0] {
	case "invite":
		name := fs.String("name", "", "name the guardian gets when it enrols")
		if err := parseArgs(fs, args[1:]); err != nil {
			return err
		}
		if *name == "" {
			return usagef("usage: custos guardian invite --name NAME [--as ADMIN]")
		}
		var res struct {
			ID        string    `json:"id"`
			Name      string    `json:"name"`
			Code      string    `json:"code"`
			ExpiresAt time.Time `json:"expires_at"`
		}
		if err := c.call(ctx, http.MethodPost, "/v1/guardians/invitations", map[string]string{"name": *name}, &res); err != nil {
			return err
		}
		if *asJSON {
			return printJSON(out, res)
		}
		api, _ := c.baseURL() // the call above found it
		fmt.Fprintf(out, "custos: invitation for guardian %q (expires %s)\nclaim code (shown once): %s\nhint: the guardian's operator runs: custos guardian enroll --coordinator %s --code %s\n",
			res.Name, res.ExpiresAt.Local().Format(time.RFC3339), res.Code, api, res.Code)
		return nil
	case "list":
		if err := parseArgs(fs, args[1:]); err != nil {
			return err
		}
		var res struct {
			GovernanceHash string         `json:"governance_hash"`
			Guardians      []guardianView `json:"guardians"`
		}
		if err := c.call(ctx, http.MethodGet, "/v1/guardians", nil, &res); err != nil {
			return err
		}
		if *asJSON {
			return printJSON(out, res)
		}
		fmt.Fprintf(out, "governance state %s\n", res.GovernanceHash)
		if len(res.Guardians) == 0 {
			fmt.Fprintln(out, "no guardians enrolled\nhint: custos guardian invite --as ADMIN --name NAME")
			return nil
		}
		fmt.Fprintf(out, "%-36s  %-12s %-11s %-30s %-9s %s\n", "ID", "NAME", "STATUS", "ENDPOINT", "LAST SEEN", "GOVERNANCE")
		for _, g := range res.Guardians {
			fmt.Fprintf(out, "%-36s  %-12s %-11s %-30s %-9s %s\n", g.ID, g.Name, g.Status, g.Endpoint, ago(g.LastSeenAt), governanceText(g))
		}
		return nil
	case "reinstate":
		reason := fs.String("reason", "", "why the guardian may sign again (what its operator fixed)")
		if err := parseArgs(fs, args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 || *reason == "" {
			return usagef("usage: custos guardian reinstate --as ADMIN --reason TEXT GUARDIAN")
		}
		var g guardianView
		if err := c.call(ctx, http.MethodPost, client.Path("guardians", fs.Arg(0), "reinstate"), map[string]string{"reason": *reason}, &g); err != nil {
			return err
		}
		if *asJSON {
			return printJSON(out, g)
		}
		fmt.Fprintf(out, "custos: guardian %s (%s) is %s again\n", g.Name, g.ID, g.Status)
		return nil
	case "show":
		if err := parseArgs(fs, args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return usagef("usage: custos guardian show [flags] GUARDIAN_ID")
		}
		var g guardianView
		if err := c.call(ctx, http.MethodGet, client.Path("guardians", fs.Arg(0)), nil, &g); err != nil {
			return err
		}
		if *asJSON {
			return printJSON(out, g)
		}
		fmt.Fprintf(out, "guardian      %s (%s)\nstatus        %s %s\nendpoint      %s\nidentity key  %s\nenrolled      %s\nlast seen     %s\nversion       %s\ngovernance    %s\nkeys:\n",
			g.Name, g.ID, g.Status, g.StatusReason, g.Endpoint, g.IdentityKey, g.EnrolledAt.Local().Format(time.RFC3339),
			ago(g.LastSeenAt), g.Version, governanceText(g))
		for _, k := range g.Keys {
			fmt.Fprintf(out, "  wallet %s v%d  participant %d  %s  %d commitments out\n", k.WalletID, k.KeyVersion, k.Index, k.Status, k.Nonces)
		}
		return nil
	}
	return unknownSubcommand("guardian", args[0], guardianSubcommands)
}

func governanceText(g guardianView) string {
	switch {
	case g.GovernanceHash == "":
		return "unknown"
	case g.GovernanceInSync:
		return "ok " + shortHex(g.GovernanceHash)
	}
	return "MISMATCH " + shortHex(g.GovernanceHash)
}

func shortHex(h string) string { return h[:min(len(h), 16)] }

// ago is a short "how long ago" for a time, or "never".
func ago(t *time.Time) string {
	if t == nil {
		return "never"
	}
	d := time.Since(*t).Round(time.Second)
	if d < 0 {
		d = 0
	}
	return d.String() + " ago"
}
