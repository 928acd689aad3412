package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/approvals/intent"
	"github.com/custos-dev/custos/client"
	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/internal/keyfile"
)

type txView struct {
	ID            string          `json:"id"`
	Status        string          `json:"status"`
	WalletID      string          `json:"wallet_id"`
	Chain         string          `json:"chain"`
	Asset         string          `json:"asset"`
	To            string          `json:"to"`
	Amount        string          `json:"amount"`
	Fingerprint   string          `json:"fingerprint"`
	Intent        json.RawMessage `json:"intent"`
	RequestID     string          `json:"request_id"`
	Signature     string          `json:"signature"`
	FailureReason string          `json:"failure_reason"`
	Decision      *struct {
		Outcome  string `json:"outcome"`
		EURValue string `json:"eur_value"`
		Reasons  []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"reasons"`
		Requirement approvals.Quorum `json:"requirement"`
	} `json:"decision"`
}

func printTx(out io.Writer, t *txView) {
	fmt.Fprintf(out, "transaction %s: %s\n", t.ID, t.Status)
	fmt.Fprintf(out, "  %s %s on %s to %s from wallet %s\n", t.Amount, t.Asset, t.Chain, t.To, t.WalletID)
	fmt.Fprintf(out, "  fingerprint %s\n  fingerprint words: %s\n", t.Fingerprint, fingerprintWords(t.Fingerprint))
	if d := t.Decision; d != nil {
		fmt.Fprintf(out, "  decision: %s (EUR %s)\n", d.Outcome, d.EURValue)
		for _, r := range d.Reasons {
			fmt.Fprintf(out, "    - %s: %s\n", r.Code, r.Message)
		}
		if d.Outcome == "approval_required" {
			fmt.Fprintf(out, "  needs %d approval(s)%s\n", d.Requirement.Approvals, rolesText(d.Requirement.Roles))
		}
	}
	if t.RequestID != "" {
		fmt.Fprintf(out, "  approval request %s\n", t.RequestID)
	}
	if t.FailureReason != "" {
		fmt.Fprintf(out, "  reason: %s\n", t.FailureReason)
	}
	if t.Signature != "" {
		fmt.Fprintf(out, "  signature %s (verified against the wallet's public key before it was stored)\n", t.Signature)
	}
}

// fingerprintWords returns the words of a fingerprint given in hex (see
// intent.Words), computed here from the hex shown next to them rather than
// taken from the coordinator's answer.
func fingerprintWords(fp string) string {
	b, err := hex.DecodeString(fp)
	if w := intent.WordString(b); err == nil && w != "" {
		return w
	}
	return "(none: not a valid fingerprint)"
}

func rolesText(roles map[string]int) string {
	var parts []string
	for r, n := range roles {
		parts = append(parts, fmt.Sprintf("%d %s", n, r))
	}
	if len(parts) == 0 {
		return ""
	}
	return ", including " + strings.Join(parts, ", ")
}

func printJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// resolveWallet accepts a wallet id or name.
func resolveWallet(ctx context.Context, c *conn, ref string) (string, error) {
	var list struct {
		Wallets []struct{ ID, Name string } `json:"wallets"`
	}
	if err := c.call(ctx, http.MethodGet, "/v1/wallets", nil, &list); err != nil {
		var ce *client.Error
		if errors.As(err, &ce) && ce.Status == http.StatusForbidden {
			return ref, nil // cannot list: use as given
		}
		return "", err
	}
	for _, w := range list.Wallets {
		if w.ID == ref || w.Name == ref {
			return w.ID, nil
		}
	}
	return ref, nil // let the server answer "unknown wallet"
}

const txSubcommands = "submit|show|list|amend"

func runTx(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return usagef("usage: custos tx %s [flags]", txSubcommands)
	}
	switch args[0] {
	case "submit":
		return txSubmit(ctx, args[1:], out)
	case "show":
		return txShow(ctx, args[1:], out)
	case "list":
		return txList(ctx, args[1:], out)
	case "amend":
		return txAmend(ctx, args[1:], out)
	}
	return unknownSubcommand("tx", args[0], txSubcommands)
}

func txSubmit(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("tx submit", flag.ContinueOnError)
	var c conn
	c.flags(fs)
	var in coordinator.TransferInput
	wallet := fs.String("wallet", "", "wallet id or name")
	fs.StringVar(&in.Chain, "chain", "message", "chain")
	fs.StringVar(&in.Asset, "asset", "", "asset, e.g. eth")
	fs.StringVar(&in.To, "to", "", "destination address")
	fs.StringVar(&in.Amount, "amount", "", "amount in integer base units (e.g. wei)")
	fs.StringVar(&in.Memo, "memo", "", "memo")
	idem := fs.String("idempotency-key", "", "Idempotency-Key header")
	asJSON := fs.Bool("json", false, "print the API's JSON answer")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if *wallet == "" || in.Asset == "" || in.To == "" || in.Amount == "" {
		return usagef("tx submit: --wallet, --asset, --to and --amount are required")
	}
	var err error
	if in.WalletID, err = resolveWallet(ctx, &c, *wallet); err != nil {
		return err
	}
	var raw []byte
	var hdr []string
	if *idem != "" {
		hdr = []string{"Idempotency-Key", *idem}
	}
	if err := c.call(ctx, http.MethodPost, "/v1/transactions", in, &raw, hdr...); err != nil {
		return err
	}
	return showTx(out, raw, *asJSON)
}

func showTx(out io.Writer, raw []byte, asJSON bool) error {
	if asJSON {
		_, err := out.Write(append(raw, '\n'))
		return err
	}
	var t txView
	if err := json.Unmarshal(raw, &t); err != nil {
		return err
	}
	printTx(out, &t)
	if t.Status == "pending_approval" {
		fmt.Fprintf(out, "hint: approvers run: custos approve --as NAME %s\n", t.ID)
	}
	return nil
}

func txShow(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("tx show", flag.ContinueOnError)
	var c conn
	c.flags(fs)
	asJSON := fs.Bool("json", false, "print the API's JSON answer")
	proofOut := fs.String("proof-out", "", "also write the decision proof to this file")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("usage: custos tx show [flags] TRANSACTION_ID")
	}
	var raw []byte
	if err := c.call(ctx, http.MethodGet, client.Path("transactions", fs.Arg(0)), nil, &raw); err != nil {
		return err
	}
	if *proofOut != "" {
		var p []byte
		if err := c.call(ctx, http.MethodGet, client.Path("transactions", fs.Arg(0), "proof"), nil, &p); err != nil {
			return err
		}
		if err := writeFile(*proofOut, p); err != nil {
			return err
		}
		fmt.Fprintf(out, "custos: decision proof written to %s\n", *proofOut)
	}
	return showTx(out, raw, *asJSON)
}

// txAmend changes a transfer that is still awaiting approval; approvals
// given so far are void.
func txAmend(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("tx amend", flag.ContinueOnError)
	var c conn
	c.flags(fs)
	to := fs.String("to", "", "new destination")
	amount := fs.String("amount", "", "new amount in integer base units")
	memo := fs.String("memo", "", "new memo")
	asJSON := fs.Bool("json", false, "print the API's JSON answer")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("usage: custos tx amend [--to ADDR] [--amount N] [--memo TEXT] TRANSACTION_ID")
	}
	body := map[string]string{}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "to":
			body["to"] = *to
		case "amount":
			body["amount"] = *amount
		case "memo":
			body["memo"] = *memo
		}
	})
	var raw []byte
	if err := c.call(ctx, http.MethodPatch, client.Path("transactions", fs.Arg(0)), body, &raw); err != nil {
		return err
	}
	fmt.Fprintln(out, "custos: transfer amended; approvals given before are void")
	return showTx(out, raw, *asJSON)
}

func txList(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("tx list", flag.ContinueOnError)
	var c conn
	c.flags(fs)
	status := fs.String("status", "", "only this status")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	var list struct {
		Transactions []txView `json:"transactions"`
	}
	path := "/v1/transactions"
	if *status != "" {
		path += "?status=" + *status
	}
	if err := c.call(ctx, http.MethodGet, path, nil, &list); err != nil {
		return err
	}
	for _, t := range list.Transactions {
		fmt.Fprintf(out, "%s  %-16s %s %s -> %s\n", t.ID, t.Status, t.Amount, t.Asset, t.To)
	}
	return nil
}

type requestView struct {
	client.ApprovalRequest
	Action        string           `json:"action"`
	Intent        json.RawMessage  `json:"intent"`
	PolicyVersion int64            `json:"policy_version"`
	EURCents      int64            `json:"eur_cents"`
	Requirement   approvals.Quorum `json:"requirement"`
	Tally         approvals.Tally  `json:"tally"`
}

func runApprove(ctx context.Context, args []string, out io.Writer) error {
	return vote(ctx, "approve", args, out)
}

func runReject(ctx context.Context, args []string, out io.Writer) error {
	return vote(ctx, "reject", args, out)
}

// vote fetches a request, checks locally that its intent hashes to the
// fingerprint it asks us to sign, shows what is being approved, and signs.
func vote(ctx context.Context, decision string, args []string, out io.Writer) error {
	fs := flag.NewFlagSet(decision, flag.ContinueOnError)
	var c conn
	c.flags(fs)
	keyFile := fs.String("key", "", "approval key file (default: the user's approval_key_file in the credentials)")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || c.as == "" {
		return usagef("usage: custos %s --as NAME [--key FILE] REQUEST_OR_TRANSACTION_ID", decision)
	}
	if *keyFile == "" {
		u, err := c.user(c.as)
		if err != nil {
			return err
		}
		if u.ApprovalKeyFile == "" {
			return fmt.Errorf("user %s has no approval key file; pass --key", c.as)
		}
		*keyFile = u.ApprovalKeyFile
	}
	key, err := keyfile.ReadEd25519(*keyFile)
	if err != nil {
		return err
	}
	defer clear(key)
	id, txID := fs.Arg(0), ""
	var r requestView
	if err := c.call(ctx, http.MethodGet, client.Path("requests", id), nil, &r); err != nil {
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != http.StatusNotFound {
			return err
		}
		var t txView
		if err2 := c.call(ctx, http.MethodGet, client.Path("transactions", id), nil, &t); err2 != nil || t.RequestID == "" {
			return err
		}
		if err := c.call(ctx, http.MethodGet, client.Path("requests", t.RequestID), nil, &r); err != nil {
			return err
		}
		txID = t.ID
	}
	fp := intent.Fingerprint(r.Intent)
	if hex.EncodeToString(fp[:]) != r.Fingerprint {
		return fmt.Errorf("request %s: the intent shown does not hash to the fingerprint to sign; refusing to sign", r.ID)
	}
	b, err := r.Binding()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "signing %s for request %s (%s), EUR %d.%02d, policy v%d %.16s\n", decision, r.ID, r.Action,
		r.EURCents/100, r.EURCents%100, r.PolicyVersion, r.PolicyHash)
	if tr, err := intent.ParseTransfer(r.Intent); err == nil {
		fmt.Fprintf(out, "  transfer %s %s on %s to %s from wallet %s\n", tr.Amount, tr.Asset, tr.Chain, tr.To, tr.WalletID)
	} else {
		fmt.Fprintf(out, "  intent %s\n", r.Intent)
	}
	sig := ed25519.Sign(key, approvals.Message(b, decision))
	var after requestView
	if err := c.call(ctx, http.MethodPost, client.Path("requests", r.ID, "votes"),
		map[string]string{"decision": decision, "signature": base64.StdEncoding.EncodeToString(sig)}, &after); err != nil {
		return err
	}
	fmt.Fprintf(out, "custos: %s recorded; request %s is %s (%d approval(s), %d rejection(s))\n", decision, after.ID, after.Status,
		after.Tally.Approvals, after.Tally.Rejections)
	for _, m := range after.Tally.Missing {
		fmt.Fprintf(out, "  still needs %s\n", m)
	}
	if txID != "" && after.Status != "pending" {
		var t txView
		if err := c.call(ctx, http.MethodGet, client.Path("transactions", txID), nil, &t); err == nil {
			printTx(out, &t)
		}
	}
	return nil
}

func runRequests(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("requests", flag.ContinueOnError)
	var c conn
	c.flags(fs)
	status := fs.String("status", "pending", "only this status (empty: all)")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	var list struct {
		Requests []requestView `json:"requests"`
	}
	path := "/v1/requests"
	if *status != "" {
		path += "?status=" + *status
	}
	if err := c.call(ctx, http.MethodGet, path, nil, &list); err != nil {
		return err
	}
	for _, r := range list.Requests {
		fmt.Fprintf(out, "%s  %-14s %-9s EUR %d.%02d  needs %d%s\n", r.ID, r.Action, r.Status, r.EURCents/100, r.EURCents%100,
			r.Requirement.Approvals, rolesText(r.Requirement.Roles))
	}
	return nil
}
