package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/custos-dev/custos/client"
	"github.com/custos-dev/custos/internal/keyfile"
)

const webhookSubcommands = "create|list|enable|disable|delete"

func runWebhook(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return usagef("usage: custos webhook %s [flags]", webhookSubcommands)
	}
	fs := flag.NewFlagSet("webhook "+args[0], flag.ContinueOnError)
	var c conn
	c.flags(fs)
	switch args[0] {
	case "create":
		url := fs.String("url", "", "https URL the events are POSTed to")
		events := fs.String("events", "transaction.*,request.*", "comma-separated event types: transaction.*, request.*, wallet.*, policy.*, guardian.*, emergency_stop.*")
		secretFile := fs.String("secret-file", "", "write the signing secret to this new file (mode 0600) instead of printing it")
		if err := parseArgs(fs, args[1:]); err != nil {
			return err
		}
		if *url == "" || fs.NArg() != 0 {
			return usagef("usage: custos webhook create --url URL [--events TYPES] [--secret-file FILE]")
		}
		cl, err := c.apiClient(ctx)
		if err != nil {
			return err
		}
		w, secret, err := cl.CreateWebhook(ctx, *url, strings.Split(*events, ","))
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "custos: webhook %s created: %s receives %s\n", w.ID, w.URL, strings.Join(w.Events, ", "))
		if *secretFile != "" {
			if err := keyfile.Create(*secretFile, []byte(secret+"\n")); err != nil {
				return fmt.Errorf("the webhook was created, but its signing secret could not be written (delete the webhook and create it again): %w", err)
			}
			fmt.Fprintf(out, "custos: signing secret written to %s\n", *secretFile)
		} else {
			fmt.Fprintf(out, "signing secret (shown once): %s\n", secret)
		}
		fmt.Fprintf(out, "hint: check the Custos-Signature header of each delivery with this secret (README: Webhooks)\n")
		return nil
	case "list":
		asJSON := fs.Bool("json", false, "print the API answer as JSON")
		if err := parseArgs(fs, args[1:]); err != nil {
			return err
		}
		cl, err := c.apiClient(ctx)
		if err != nil {
			return err
		}
		ws, err := cl.ListWebhooks(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(out, map[string]any{"webhooks": ws})
		}
		for _, w := range ws {
			printWebhook(out, &w)
		}
		return nil
	case "enable", "disable", "delete":
		if err := parseArgs(fs, args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return usagef("usage: custos webhook %s [flags] WEBHOOK_ID", args[0])
		}
		cl, err := c.apiClient(ctx)
		if err != nil {
			return err
		}
		if args[0] == "delete" {
			err = cl.DeleteWebhook(ctx, fs.Arg(0))
		} else {
			err = cl.SetWebhookEnabled(ctx, fs.Arg(0), args[0] == "enable")
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "custos: webhook %s %sd\n", fs.Arg(0), args[0])
		return nil
	}
	return unknownSubcommand("webhook", args[0], webhookSubcommands)
}

// printWebhook shows one webhook and how its deliveries go.
func printWebhook(out io.Writer, w *client.Webhook) {
	status := "enabled"
	switch {
	case !w.Enabled:
		status = "disabled"
	case w.Failing:
		status = "FAILING"
	}
	last := "never"
	if w.LastDeliveryAt != nil {
		last = w.LastDeliveryAt.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(out, "%s  %-8s %s  [%s]  last delivery %s, %d event(s) behind\n", w.ID, status, w.URL, strings.Join(w.Events, " "), last, w.Lag)
	if w.Failures > 0 {
		retry := ""
		if w.NextAttemptAt != nil {
			retry = ", next try " + w.NextAttemptAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(out, "  %d failure(s) in a row%s: %s\n", w.Failures, retry, w.LastError)
	}
}

// apiClient returns the command's authenticated API client, logging in once.
func (c *conn) apiClient(ctx context.Context) (*client.Client, error) {
	if c.cl == nil {
		cl, err := c.client(ctx)
		if err != nil {
			return nil, err
		}
		c.cl = cl
	}
	return c.cl, nil
}
