package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/custos-dev/custos/client"
	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/internal/keyfile"
)

const userSubcommands = "list|create|role|password|register-key|reset-mfa"

func runUser(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return usagef("usage: custos user %s [flags]", userSubcommands)
	}
	fs := flag.NewFlagSet("user "+args[0], flag.ContinueOnError)
	var c conn
	c.flags(fs)
	switch args[0] {
	case "list":
		if err := parseArgs(fs, args[1:]); err != nil {
			return err
		}
		var res struct {
			Users []struct {
				ID, Name, Role string
				ApprovalKey    string `json:"approval_key"`
			} `json:"users"`
		}
		if err := c.call(ctx, http.MethodGet, "/v1/users", nil, &res); err != nil {
			return err
		}
		for _, u := range res.Users {
			key := "no approval key"
			if u.ApprovalKey != "" {
				key = "approval key " + u.ApprovalKey
			}
			fmt.Fprintf(out, "%s  %-10s %-16s %s\n", u.ID, u.Name, u.Role, key)
		}
		return nil
	case "create":
		name := fs.String("name", "", "login name")
		pwFile := fs.String("password-file", "", "file holding the initial password")
		if err := parseArgs(fs, args[1:]); err != nil {
			return err
		}
		if *name == "" || *pwFile == "" {
			return usagef("user create: --name and --password-file are required")
		}
		pw, err := os.ReadFile(*pwFile)
		if err != nil {
			return err
		}
		var res map[string]any
		if err := c.call(ctx, http.MethodPost, "/v1/users", map[string]string{"name": *name, "password": string(trimSpace(pw))}, &res); err != nil {
			return err
		}
		fmt.Fprintf(out, "custos: user %s created as a viewer (id %v)\nhint: custos user role --role approver %v\n", *name, res["id"], res["id"])
		return nil
	case "role":
		role := fs.String("role", "", "new role")
		if err := parseArgs(fs, args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 || *role == "" {
			return usagef("usage: custos user role --role ROLE USER_ID")
		}
		var res struct {
			Request requestView `json:"request"`
		}
		if err := c.call(ctx, http.MethodPost, client.Path("users", fs.Arg(0), "role"), map[string]string{"role": *role}, &res); err != nil {
			return err
		}
		fmt.Fprintf(out, "custos: user.role.assign request %s is %s\n", res.Request.ID, res.Request.Status)
		return nil
	case "reset-mfa":
		if err := parseArgs(fs, args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return usagef("usage: custos user reset-mfa USER_ID")
		}
		if err := c.call(ctx, http.MethodPost, client.Path("users", fs.Arg(0), "mfa", "reset"), map[string]string{}, nil); err != nil {
			return err
		}
		fmt.Fprintf(out, "custos: the authenticator app of user %s is removed and their sessions ended; they enrol a new one at their next sign-in\n", fs.Arg(0))
		return nil
	case "password":
		newFile := fs.String("new-password-file", "", "file holding the new password")
		if err := parseArgs(fs, args[1:]); err != nil {
			return err
		}
		if *newFile == "" || c.as == "" {
			return usagef("usage: custos user password --as NAME --new-password-file FILE")
		}
		np, err := os.ReadFile(*newFile)
		if err != nil {
			return err
		}
		u, err := c.user(c.as)
		if err != nil {
			return err
		}
		if err := c.call(ctx, http.MethodPut, "/v1/me/password", map[string]string{
			"current_password": u.Password, "new_password": string(trimSpace(np))}, nil); err != nil {
			return err
		}
		fmt.Fprintf(out, "custos: password changed for %s\nhint: the credentials file still holds the old one; update it if you use --as\n", c.as)
		return nil
	case "register-key":
		keyFile := fs.String("key", "", "approval key file (from custos keygen)")
		if err := parseArgs(fs, args[1:]); err != nil {
			return err
		}
		if *keyFile == "" || c.as == "" {
			return usagef("usage: custos user register-key --as NAME --key FILE")
		}
		key, err := keyfile.ReadEd25519(*keyFile)
		if err != nil {
			return err
		}
		defer clear(key)
		var me struct {
			UserID string `json:"user_id"`
		}
		if err := c.call(ctx, http.MethodGet, "/v1/me", nil, &me); err != nil {
			return err
		}
		pub := key.Public().(ed25519.PublicKey)
		sig := ed25519.Sign(key, coordinator.KeyRegistrationMessage(me.UserID, pub))
		if err := c.call(ctx, http.MethodPut, "/v1/me/approval-key", map[string]string{
			"public_key": hex.EncodeToString(pub), "signature": base64.StdEncoding.EncodeToString(sig)}, nil); err != nil {
			return err
		}
		fmt.Fprintf(out, "custos: approval key %x registered for %s\n", []byte(pub), c.as)
		return nil
	}
	return unknownSubcommand("user", args[0], userSubcommands)
}
