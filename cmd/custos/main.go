// Command custos is the Custos custody coordinator: the coordinator
// server, a one-command development system, and the operator CLI.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"sort"
	"syscall"
	_ "time/tzdata"

	"github.com/custos-dev/custos/client"
)

type command struct {
	summary string
	run     func(ctx context.Context, args []string, out io.Writer) error
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"coordinator":    {"run the coordinator server", runCoordinatorCmd},
		"dev":            {"run a complete local system on ./data with demo users, keys and wallets", runDev},
		"tx":             {"submit, amend, show or list transfers (tx " + txSubcommands + ")", runTx},
		"approve":        {"approve a request (or a transaction's request) with your approval key", runApprove},
		"reject":         {"reject a request with your approval key", runReject},
		"requests":       {"list approval requests (requests [--status pending])", runRequests},
		"wallet":         {"create, list, show, freeze or unfreeze wallets (wallet " + walletSubcommands + ")", runWallet},
		"apikey":         {"create, list or revoke API keys (apikey create|list|revoke)", runAPIKey},
		"webhook":        {"create, list, enable, disable or delete webhooks (webhook " + webhookSubcommands + ")", runWebhook},
		"rate":           {"set or list EUR rates (rate set|list)", runRate},
		"audit":          {"export or verify the audit log (audit export|verify)", runAudit},
		"proof":          {"verify a decision proof offline (proof verify FILE)", runProof},
		"keygen":         {"create an Ed25519 approval key file", runKeygen},
		"emergency-stop": {"turn the global emergency stop on or off", runEmergencyStop},
		"user":           {"list or create staff, request role changes, register your approval key", runUser},
		"bootstrap":      {"create the first staff of a new installation (once, on an empty store)", runBootstrap},
		"guardian":       {"run a guardian node (guardian " + guardianOperatorSubcommands + ") or administer guardians (guardian " + guardianAdminSubcommands + ")", runGuardian},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: custos <command> [flags] [args]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-15s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nrun 'custos <command> -h' for a command's flags")
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage(os.Stderr)
		os.Exit(2)
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "custos: unknown command %q\n", os.Args[1])
		usage(os.Stderr)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := startProfile()
	err := cmd.run(ctx, os.Args[2:], os.Stdout)
	stopProfile()
	stop()
	if err == nil {
		return
	}
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "custos: %v\n", err)
	var ce *client.Error
	if errors.As(err, &ce) && ce.Code != "" {
		if h := hints[ce.Code]; h != "" {
			fmt.Fprintf(os.Stderr, "hint: %s\n", h)
		}
	}
	var ue usageError
	if errors.As(err, &ue) {
		os.Exit(2)
	}
	os.Exit(1)
}

// startProfile writes a CPU profile of this process to
// $CUSTOS_CPU_PROFILE.<pid> when that variable is set: a diagnostic for
// operators and for the load generator, off by default.
func startProfile() (stop func()) {
	path := os.Getenv("CUSTOS_CPU_PROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(fmt.Sprintf("%s.%d", path, os.Getpid()))
	if err != nil {
		fmt.Fprintf(os.Stderr, "custos: CPU profile: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		fmt.Fprintf(os.Stderr, "custos: CPU profile: %v\n", err)
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// unknownSubcommand answers a command's unknown subcommand: -h, --help
// and help print the subcommands; anything else is a usage error.
func unknownSubcommand(cmd, arg, subs string) error {
	if arg == "-h" || arg == "--help" || arg == "help" {
		fmt.Fprintf(os.Stderr, "usage: custos %s %s [flags]\nrun 'custos %s SUBCOMMAND -h' for a subcommand's flags\n", cmd, subs, cmd)
		return flag.ErrHelp
	}
	return usagef("%s: unknown subcommand %q\nusage: custos %s %s [flags]", cmd, arg, cmd, subs)
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

var hints = map[string]string{
	"self_approval":      "the person who requested a transfer cannot approve it; ask another approver",
	"duplicate_vote":     "each person counts once; ask another approver",
	"bad_signature":      "sign with your own approval key file (--key), for this request as it is now",
	"unauthenticated":    "check --credentials/--as, or log in again",
	"rate_limited":       "wait for the Retry-After interval and try again",
	"policy_changed":     "the policy changed: the request was re-bound and earlier approvals are void; approve again",
	"invalid_claim_code": "ask the coordinator's administrators for a new code: custos guardian invite --as ADMIN --name NAME",
	"wallet_not_active":  "a frost wallet signs only once its key ceremony completed: custos wallet show WALLET",
	"guardians_disabled": "start the coordinator with --guardian-key-file (custos dev creates one)",
}

// parseArgs parses flags wherever they appear among the positional
// arguments, so `custos tx show ID --json` works like `custos tx show --json ID`.
func parseArgs(fs *flag.FlagSet, args []string) error {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
	return fs.Parse(append([]string{"--"}, positional...))
}
