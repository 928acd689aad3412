package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/custos-dev/custos/approvals/proof"
	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/client"
	"github.com/custos-dev/custos/coordinator"
)

func writeFile(path string, data []byte) error {
	return os.WriteFile(path, data, 0o600)
}

// walletView is a wallet as the API shows it.
type walletView struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Mode           string   `json:"mode"`
	Curve          string   `json:"curve"`
	DerivationPath string   `json:"derivation_path"`
	PublicKey      string   `json:"public_key"`
	KeyVersion     int      `json:"key_version"`
	Frozen         bool     `json:"frozen"`
	Status         string   `json:"status"`
	Threshold      int      `json:"threshold"`
	Guardians      []string `json:"guardians"`
	Ceremony       *struct {
		ID         string                        `json:"id"`
		State      string                        `json:"state"`
		Round      string                        `json:"round"`
		Transcript string                        `json:"transcript"`
		Blamed     []string                      `json:"blamed"`
		Error      string                        `json:"error"`
		Progress   *coordinator.CeremonyProgress `json:"progress"`
	} `json:"ceremony"`
}

const walletSubcommands = "create|list|show|freeze|unfreeze"

func runWallet(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return usagef("usage: custos wallet %s [flags]", walletSubcommands)
	}
	fs := flag.NewFlagSet("wallet "+args[0], flag.ContinueOnError)
	var c conn
	c.flags(fs)
	switch args[0] {
	case "list":
		if err := parseArgs(fs, args[1:]); err != nil {
			return err
		}
		var list struct {
			Wallets []walletView `json:"wallets"`
		}
		if err := c.call(ctx, http.MethodGet, "/v1/wallets", nil, &list); err != nil {
			return err
		}
		for _, w := range list.Wallets {
			extra := ""
			if w.Frozen {
				extra += " FROZEN"
			}
			if w.Status != "active" {
				extra += " " + strings.ToUpper(w.Status)
			}
			where := w.DerivationPath
			if w.Mode == "frost" {
				where = fmt.Sprintf("%d-of-%d", w.Threshold, len(w.Guardians))
			}
			fmt.Fprintf(out, "%s  %-14s %-5s %-9s %s %s%s\n", w.ID, w.Name, w.Mode, w.Curve, where, w.PublicKey, extra)
		}
		return nil
	case "show":
		asJSON := fs.Bool("json", false, "print the API answer as JSON")
		if err := parseArgs(fs, args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return usagef("usage: custos wallet show [flags] WALLET")
		}
		id, err := resolveWallet(ctx, &c, fs.Arg(0))
		if err != nil {
			return err
		}
		var raw []byte
		if err := c.call(ctx, http.MethodGet, client.Path("wallets", id), nil, &raw); err != nil {
			return err
		}
		if *asJSON {
			_, err := out.Write(append(raw, '\n'))
			return err
		}
		var w walletView
		if err := json.Unmarshal(raw, &w); err != nil {
			return err
		}
		if w.Mode == "frost" {
			// Show the signers by name; the ids stand if the list fails.
			var res struct {
				Guardians []guardianView `json:"guardians"`
			}
			if c.call(ctx, http.MethodGet, "/v1/guardians", nil, &res) == nil {
				for i, id := range w.Guardians {
					for _, g := range res.Guardians {
						if g.ID == id {
							w.Guardians[i] = g.Name + " (" + id + ")"
						}
					}
				}
			}
		}
		return printWallet(out, &w)
	case "create":
		var in coordinator.WalletInput
		var guardians string
		fs.StringVar(&in.Name, "name", "", "wallet name")
		fs.StringVar(&in.Mode, "mode", "hd", "wallet mode: hd or frost")
		fs.StringVar(&in.Curve, "curve", "", "secp256k1 or ed25519 (default: secp256k1 for hd, ed25519 for frost)")
		fs.StringVar(&in.Path, "path", "", "hd: derivation path (default per curve)")
		fs.IntVar(&in.Threshold, "threshold", 0, "frost: guardians needed to sign (t)")
		fs.StringVar(&guardians, "guardians", "", "frost: comma-separated guardian names or ids (n); guardian i+1 in the key is the i-th")
		if err := parseArgs(fs, args[1:]); err != nil {
			return err
		}
		if guardians != "" {
			for _, g := range strings.Split(guardians, ",") {
				in.Guardians = append(in.Guardians, strings.TrimSpace(g))
			}
		}
		if in.Mode == "frost" && (in.Threshold == 0 || len(in.Guardians) == 0) {
			return usagef("usage: custos wallet create --mode frost --name NAME --threshold T --guardians G1,G2,G3 [--curve ed25519|secp256k1]")
		}
		var res struct {
			Request requestView `json:"request"`
		}
		if err := c.call(ctx, http.MethodPost, "/v1/wallets", in, &res); err != nil {
			return err
		}
		fmt.Fprintf(out, "custos: wallet.create request %s is %s\n", res.Request.ID, res.Request.Status)
		if res.Request.Status == "pending" {
			fmt.Fprintf(out, "hint: it needs %d approval(s)%s: custos approve --as NAME %s\n",
				res.Request.Requirement.Approvals, rolesText(res.Request.Requirement.Roles), res.Request.ID)
		}
		if in.Mode == "frost" {
			fmt.Fprintf(out, "hint: once approved, the guardians run the key ceremony; follow it with: custos wallet show %s\n", in.Name)
		}
		return nil
	case "freeze", "unfreeze":
		if err := parseArgs(fs, args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return usagef("usage: custos wallet %s [flags] WALLET", args[0])
		}
		id, err := resolveWallet(ctx, &c, fs.Arg(0))
		if err != nil {
			return err
		}
		var res map[string]any
		if err := c.call(ctx, http.MethodPost, client.Path("wallets", id, args[0]), nil, &res); err != nil {
			return err
		}
		if args[0] == "freeze" {
			fmt.Fprintf(out, "custos: wallet %s is frozen\n", id)
		} else {
			fmt.Fprintf(out, "custos: unfreeze request filed for wallet %s\n", id)
		}
		return printJSON(out, res)
	}
	return unknownSubcommand("wallet", args[0], walletSubcommands)
}

// printWallet shows a wallet and, for a FROST wallet, its key ceremony.
func printWallet(out io.Writer, w *walletView) error {
	status := w.Status
	if w.Frozen {
		status += ", frozen"
	}
	fmt.Fprintf(out, "wallet      %s (%s)\nmode        %s, %s\nstatus      %s\n", w.Name, w.ID, w.Mode, w.Curve, status)
	if w.Mode == "frost" {
		fmt.Fprintf(out, "signers     any %d of %d guardians: %s\n", w.Threshold, len(w.Guardians), strings.Join(w.Guardians, ", "))
	} else {
		fmt.Fprintf(out, "path        %s\n", w.DerivationPath)
	}
	if w.PublicKey != "" {
		fmt.Fprintf(out, "public key  %s\n", w.PublicKey)
	} else {
		fmt.Fprintf(out, "public key  (none until the key ceremony completes)\n")
	}
	cer := w.Ceremony
	if cer == nil {
		return nil
	}
	if cer.Round == "" || cer.Round == "done" {
		fmt.Fprintf(out, "ceremony    %s: %s\n", cer.ID, cer.State)
	} else {
		fmt.Fprintf(out, "ceremony    %s: %s, at %s\n", cer.ID, cer.State, cer.Round)
	}
	if cer.Progress != nil {
		for _, st := range cer.Progress.Steps {
			took := "running"
			if st.DurationMS > 0 {
				took = fmt.Sprintf("%.1f ms", st.DurationMS)
			}
			fmt.Fprintf(out, "  %-10s %s\n", st.Round, took)
		}
	}
	if cer.Transcript != "" {
		fmt.Fprintf(out, "transcript  %s\n", cer.Transcript)
	}
	if cer.Error != "" {
		fmt.Fprintf(out, "error       %s\n", cer.Error)
	}
	if len(cer.Blamed) > 0 {
		fmt.Fprintf(out, "blamed      %s\n", strings.Join(cer.Blamed, ", "))
	}
	return nil
}

const apikeySubcommands = "create|list|revoke"

func runAPIKey(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return usagef("usage: custos apikey %s [flags]", apikeySubcommands)
	}
	fs := flag.NewFlagSet("apikey "+args[0], flag.ContinueOnError)
	var c conn
	c.flags(fs)
	switch args[0] {
	case "create":
		name := fs.String("name", "", "key name")
		scopes := fs.String("scopes", "transactions:write,transactions:read", "comma-separated scopes")
		ttl := fs.Duration("ttl", 0, "expire after this long (0: never)")
		if err := parseArgs(fs, args[1:]); err != nil {
			return err
		}
		in := coordinator.APIKeyInput{Name: *name, Scopes: strings.Split(*scopes, ",")}
		if *ttl > 0 {
			exp := time.Now().Add(*ttl).UTC()
			in.ExpiresAt = &exp
		}
		var res struct {
			APIKey  string      `json:"api_key"`
			Request requestView `json:"request"`
		}
		if err := c.call(ctx, http.MethodPost, "/v1/apikeys", in, &res); err != nil {
			return err
		}
		fmt.Fprintf(out, "api key (shown once): %s\napikey.create request %s is %s\n", res.APIKey, res.Request.ID, res.Request.Status)
		return nil
	case "list":
		if err := parseArgs(fs, args[1:]); err != nil {
			return err
		}
		var res map[string]any
		if err := c.call(ctx, http.MethodGet, "/v1/apikeys", nil, &res); err != nil {
			return err
		}
		return printJSON(out, res)
	case "revoke":
		if err := parseArgs(fs, args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return usagef("usage: custos apikey revoke [flags] API_KEY_ID")
		}
		if err := c.call(ctx, http.MethodDelete, client.Path("apikeys", fs.Arg(0)), nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(out, "custos: API key %s revoked\n", fs.Arg(0))
		return nil
	}
	return unknownSubcommand("apikey", args[0], apikeySubcommands)
}

const rateSubcommands = "set|list"

func runRate(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return usagef("usage: custos rate %s [flags]", rateSubcommands)
	}
	fs := flag.NewFlagSet("rate "+args[0], flag.ContinueOnError)
	var c conn
	c.flags(fs)
	switch args[0] {
	case "list":
		if err := parseArgs(fs, args[1:]); err != nil {
			return err
		}
		var res map[string]any
		if err := c.call(ctx, http.MethodGet, "/v1/rates", nil, &res); err != nil {
			return err
		}
		return printJSON(out, res)
	case "set":
		asset := fs.String("asset", "", "asset")
		price := fs.String("eur", "", "EUR per whole unit, decimal")
		decimals := fs.Int("decimals", -1, "base-unit decimals of the asset")
		if err := parseArgs(fs, args[1:]); err != nil {
			return err
		}
		if *asset == "" || *price == "" || *decimals < 0 {
			return usagef("rate set: --asset, --eur and --decimals are required")
		}
		var res struct {
			Asset      string       `json:"asset"`
			EURPerUnit string       `json:"eur_per_unit"`
			Request    *requestView `json:"request"`
		}
		if err := c.call(ctx, http.MethodPut, client.Path("rates", *asset),
			map[string]any{"eur_per_unit": *price, "decimals": *decimals}, &res); err != nil {
			return err
		}
		if r := res.Request; r != nil {
			fmt.Fprintf(out, "custos: rate.set request %s is %s: a new asset, new decimals or a move beyond %d%% of the approved rate needs %d approval(s)%s\nhint: custos approve --as NAME %s\n",
				r.ID, r.Status, coordinator.RateBandPercent, r.Requirement.Approvals, rolesText(r.Requirement.Roles), r.ID)
			return nil
		}
		fmt.Fprintf(out, "custos: rate for %s set to EUR %s\n", res.Asset, res.EURPerUnit)
		return nil
	}
	return unknownSubcommand("rate", args[0], rateSubcommands)
}

func runEmergencyStop(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("emergency-stop", flag.ContinueOnError)
	var c conn
	c.flags(fs)
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || (fs.Arg(0) != "on" && fs.Arg(0) != "off") {
		return usagef("usage: custos emergency-stop [flags] on|off")
	}
	if err := c.call(ctx, http.MethodPut, "/v1/emergency-stop", map[string]bool{"on": fs.Arg(0) == "on"}, nil); err != nil {
		return err
	}
	fmt.Fprintf(out, "custos: emergency stop is %s\n", fs.Arg(0))
	return nil
}

const auditSubcommands = "export|verify"

func runAudit(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return usagef("usage: custos audit %s [flags]", auditSubcommands)
	}
	fs := flag.NewFlagSet("audit "+args[0], flag.ContinueOnError)
	switch args[0] {
	case "export":
		var c conn
		c.flags(fs)
		path := fs.String("out", "", "file to write; a signed checkpoint is written next to it as FILE.checkpoint.json")
		if err := parseArgs(fs, args[1:]); err != nil {
			return err
		}
		if *path == "" {
			return usagef("audit export: --out is required")
		}
		// The checkpoint first: the export that follows must contain the
		// event it names, unchanged.
		var cp []byte
		if err := c.call(ctx, http.MethodGet, "/v1/audit/checkpoint", nil, &cp); err != nil {
			return err
		}
		var raw []byte
		if err := c.call(ctx, http.MethodGet, "/v1/audit/export", nil, &raw); err != nil {
			return err
		}
		if err := writeFile(*path, raw); err != nil {
			return err
		}
		if err := writeFile(*path+".checkpoint.json", cp); err != nil {
			return err
		}
		fmt.Fprintf(out, "custos: audit log written to %s, signed checkpoint to %s.checkpoint.json\n", *path, *path)
		return nil
	case "verify":
		head := fs.String("head", "", "expected hash (hex) of the last event, from a trusted record")
		checkpoint := fs.String("checkpoint", "", "signed checkpoint (from audit export) the log must contain")
		keysFile := fs.String("keys", "", "trusted key set for --checkpoint (the JSON served at GET /v1/keys)")
		api := fs.String("api", "", "fetch the key set for --checkpoint from this coordinator instead")
		if err := parseArgs(fs, args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return usagef("usage: custos audit verify [--head HEX] [--checkpoint FILE (--keys FILE | --api URL)] FILE")
		}
		opts := audit.VerifyOptions{}
		if *head != "" {
			h, err := hexDecode32(*head)
			if err != nil {
				return usagef("--head: %v", err)
			}
			opts.ExpectHead = h
		}
		var cp *coordinator.Checkpoint
		if *checkpoint != "" {
			var err error
			if cp, err = loadCheckpoint(ctx, *checkpoint, *keysFile, *api); err != nil {
				return err
			}
		}
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		rep, err := audit.VerifyWith(bufio.NewReaderSize(f, 1<<20), opts)
		if err != nil {
			var ce *audit.ChainError
			if errors.As(err, &ce) {
				return fmt.Errorf("audit log %s is NOT intact: first bad event seq %d (line %d): %s", fs.Arg(0), ce.Seq, ce.Line, ce.Reason)
			}
			return err
		}
		if cp != nil {
			if err := checkCheckpoint(fs.Arg(0), rep, cp); err != nil {
				return fmt.Errorf("audit log %s is NOT intact: %w", fs.Arg(0), err)
			}
		}
		fmt.Fprintf(out, "custos: audit log %s is intact: %d events, seq %d..%d, head %x\n", fs.Arg(0), rep.Count, rep.FirstSeq, rep.LastSeq, rep.Head)
		if cp != nil {
			fmt.Fprintf(out, "custos: it contains the signed checkpoint at seq %d unchanged\n", cp.Seq)
		}
		return nil
	}
	return unknownSubcommand("audit", args[0], auditSubcommands)
}

func loadKeys(ctx context.Context, keysFile, api string) (map[string]ed25519.PublicKey, error) {
	if (keysFile == "") == (api == "") {
		return nil, usagef("give exactly one of --keys FILE or --api URL")
	}
	var data []byte
	var err error
	if keysFile != "" {
		data, err = os.ReadFile(keysFile)
	} else {
		_, _, err = client.New(api, "").Do(ctx, http.MethodGet, "/v1/keys", nil, &data)
	}
	if err != nil {
		return nil, err
	}
	return proof.ParseKeys(data)
}

func loadCheckpoint(ctx context.Context, path, keysFile, api string) (*coordinator.Checkpoint, error) {
	keys, err := loadKeys(ctx, keysFile, api)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p, err := proof.Parse(data)
	if err != nil {
		return nil, err
	}
	stmt, err := proof.Verify(p, keys)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s is NOT valid: %w", path, err)
	}
	return coordinator.ParseCheckpoint(stmt)
}

// checkCheckpoint checks that the verified log holds the checkpoint's event
// with the checkpoint's hash.
func checkCheckpoint(path string, rep *audit.Report, cp *coordinator.Checkpoint) error {
	if cp.Seq > rep.LastSeq {
		return fmt.Errorf("it ends at seq %d but the signed checkpoint names seq %d: events were removed from the end", rep.LastSeq, cp.Seq)
	}
	if cp.Seq == 0 {
		return nil
	}
	want, err := hexDecode32(cp.Head)
	if err != nil {
		return fmt.Errorf("checkpoint head: %v", err)
	}
	if cp.Seq == rep.LastSeq {
		if !bytes.Equal(rep.Head, want) {
			return fmt.Errorf("event %d differs from the signed checkpoint", cp.Seq)
		}
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), audit.MaxLineSize+2)
	for sc.Scan() {
		e, err := audit.ParseLine(bytes.TrimSuffix(sc.Bytes(), []byte("\r")))
		if err != nil {
			return err
		}
		if e.Seq == cp.Seq {
			if !bytes.Equal(e.Hash, want) {
				return fmt.Errorf("event %d differs from the signed checkpoint", cp.Seq)
			}
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return fmt.Errorf("event %d of the signed checkpoint is missing", cp.Seq)
}

func runProof(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return usagef("usage: custos proof verify (--keys FILE | --api URL) FILE")
	}
	fs := flag.NewFlagSet("proof verify", flag.ContinueOnError)
	keysFile := fs.String("keys", "", "trusted key set (the JSON served at GET /v1/keys)")
	api := fs.String("api", "", "fetch the key set from this coordinator instead")
	if err := parseArgs(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("usage: custos proof verify (--keys FILE | --api URL) FILE")
	}
	keys, err := loadKeys(ctx, *keysFile, *api)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	p, err := proof.Parse(data)
	if err != nil {
		return fmt.Errorf("proof %s is NOT valid: %w", fs.Arg(0), err)
	}
	stmt, err := proof.Verify(p, keys)
	if err != nil {
		return fmt.Errorf("proof %s is NOT valid: %w", fs.Arg(0), err)
	}
	st, err := coordinator.ParseStatement(stmt)
	if err != nil {
		return fmt.Errorf("proof %s: %w", fs.Arg(0), err)
	}
	if err := st.CheckFingerprint(); err != nil {
		return fmt.Errorf("proof %s is NOT valid: %w", fs.Arg(0), err)
	}
	fmt.Fprintf(out, "custos: proof %s is valid (key %s)\n  transaction %s: %s at %s, EUR %d.%02d, policy v%d %s\n  fingerprint %s\n  fingerprint words: %s\n",
		fs.Arg(0), p.KeyID, st.TransactionID, st.Outcome, st.Stage, st.EURCents/100, st.EURCents%100, st.PolicyVersion, st.PolicyHash, st.Fingerprint,
		fingerprintWords(st.Fingerprint))
	for _, r := range st.Reasons {
		fmt.Fprintf(out, "  - %s: %s\n", r.Code, r.Message)
	}
	return nil
}

func hexDecode32(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return nil, errors.New("want 64 hex characters")
	}
	return b, nil
}
