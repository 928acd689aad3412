package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDevSystem runs the acceptance points that a single `custos dev`
// system can carry. The independent ones share the system concurrently;
// then come the ones that change global state (a frozen wallet, a new
// policy), and last the audit checks, which tamper with the database.
func TestDevSystem(t *testing.T) {
	t.Parallel()
	d := startDev(t)
	var signed, denied syncSet // transactions the walkthroughs got signed, and denied ones
	t.Run("concurrent", func(t *testing.T) {
		t.Run("walkthrough", func(t *testing.T) { t.Parallel(); testWalkthrough(t, d, &signed) })
		t.Run("denials", func(t *testing.T) { t.Parallel(); testDenials(t, d, &denied) })
		t.Run("bad_input", func(t *testing.T) { t.Parallel(); testBadInput(t, d) })
		t.Run("idempotency", func(t *testing.T) { t.Parallel(); testIdempotency(t, d) })
		t.Run("rate_limit", func(t *testing.T) { t.Parallel(); testRateLimit(t, d) })
	})
	t.Run("frozen_wallet", func(t *testing.T) { testFrozenWallet(t, d, &denied) })
	t.Run("allowed_hours", func(t *testing.T) { testAllowedHours(t, d, &denied) })
	t.Run("audit", func(t *testing.T) { testAudit(t, d, &signed, &denied) })
}

var txLine = regexp.MustCompile(`transaction ([0-9a-f-]{36}): ([a-z_]+)`)

// testWalkthrough is acceptance point 1: a EUR 15,000 transfer needs four
// approvals including a treasury manager; the requester and a second vote
// by the same person are refused; the signature verifies.
func testWalkthrough(t *testing.T, d *devSystem, signed *syncSet) {
	for _, tc := range []struct {
		name, wallet, curve, asset, to, amount string
	}{
		{"ok/secp256k1_eur15000_four_approvals_signed", "treasury-eth", "secp256k1", "eth", "0xBeneficiary", "6000000000000000000"},
		// The destination has characters Go escapes in JSON (<, >, &): the
		// signed bytes must be taken from the response as they are.
		{"ok/ed25519_eur15000_four_approvals_signed", "treasury-sol", "ed25519", "sol", "So1<Beneficiary>&Co", "100000000000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			walletID := d.creds.walletID(t, tc.wallet)
			key := d.creds.APIKey
			var txID, reqID string

			if !t.Run("ok/submitted_pending_four_incl_treasury_manager", func(t *testing.T) {
				out := mustCLI(t, "tx", "submit", "--as", "carol", d.credsFlag(), "--wallet", tc.wallet, "--asset", tc.asset,
					"--to", tc.to, "--amount", tc.amount)
				m := txLine.FindStringSubmatch(out)
				if m == nil || m[2] != "pending_approval" {
					t.Fatalf("tx submit did not print a pending transaction:\n%s", out)
				}
				txID = m[1]
				for _, want := range []string{"EUR 15,000.00", "needs 4 approval(s), including 1 treasury_manager"} {
					if !strings.Contains(out, want) {
						t.Errorf("tx submit output lacks %q:\n%s", want, out)
					}
				}
				tx := getTx(t, d.url, key, txID)
				if tx.Status != "pending_approval" || tx.WalletID != walletID || tx.RequestID == "" || tx.Signature != "" {
					t.Fatalf("transaction %+v, want pending_approval on %s with a request and no signature", tx, walletID)
				}
				if q := tx.Decision.Requirement; q.Approvals != 4 || q.Roles["treasury_manager"] != 1 || tx.Decision.EURCents != 1_500_000 {
					t.Fatalf("decision %+v, want 4 approvals incl. 1 treasury_manager at EUR 15,000", tx.Decision)
				}
				reqID = tx.RequestID
			}) {
				return
			}

			if !t.Run("fail/self_approval", func(t *testing.T) {
				_, errOut := failCLI(t, "approve", "--as", "carol", d.credsFlag(), txID)
				if !strings.Contains(errOut, "self_approval") || !strings.Contains(errOut, "cannot approve their own request") {
					t.Errorf("self-approval refusal does not say so:\n%s", errOut)
				}
				if r := getRequest(t, d.url, key, reqID); r.Tally.Approvals != 0 || r.Status != "pending" {
					t.Errorf("after the refused self-approval: %s with %d approvals", r.Status, r.Tally.Approvals)
				}
			}) {
				return
			}

			if !t.Run("ok/three_approvals_still_pending", func(t *testing.T) {
				for i, name := range []string{"alice", "bob", "dave"} {
					out := mustCLI(t, "approve", "--as", name, d.credsFlag(), txID)
					if want := "is pending (" + string(rune('1'+i)) + " approval(s)"; !strings.Contains(out, want) {
						t.Errorf("%s's approval output lacks %q:\n%s", name, want, out)
					}
				}
				r := getRequest(t, d.url, key, reqID)
				if r.Status != "pending" || r.Tally.Approvals != 3 || r.Tally.QuorumMet {
					t.Fatalf("after 3 approvals: %s, %d approvals, quorum %v; want pending with 3", r.Status, r.Tally.Approvals, r.Tally.QuorumMet)
				}
				if tx := getTx(t, d.url, key, txID); tx.Status != "pending_approval" || tx.Signature != "" {
					t.Fatalf("after 3 approvals the transaction is %s (signature %q)", tx.Status, tx.Signature)
				}
			}) {
				return
			}

			if !t.Run("fail/duplicate_vote", func(t *testing.T) {
				_, errOut := failCLI(t, "approve", "--as", "alice", d.credsFlag(), txID)
				if !strings.Contains(errOut, "duplicate_vote") || !strings.Contains(errOut, "counts once") {
					t.Errorf("duplicate vote refusal does not say so:\n%s", errOut)
				}
				if r := getRequest(t, d.url, key, reqID); r.Tally.Approvals != 3 || r.Status != "pending" {
					t.Errorf("after alice's second vote: %s with %d approvals, want pending with 3", r.Status, r.Tally.Approvals)
				}
			}) {
				return
			}

			if !t.Run("ok/treasury_manager_completes_quorum", func(t *testing.T) {
				out := mustCLI(t, "approve", "--as", "tess", d.credsFlag(), txID)
				if !strings.Contains(out, "transaction "+txID+": signed") {
					t.Errorf("tess's approval did not report the signed transaction:\n%s", out)
				}
				if r := getRequest(t, d.url, key, reqID); r.Status != "executed" || r.Tally.Approvals != 4 || !r.Tally.QuorumMet {
					t.Errorf("request %s with %d approvals (quorum %v), want executed with 4", r.Status, r.Tally.Approvals, r.Tally.QuorumMet)
				}
			}) {
				return
			}

			t.Run("ok/signature_verifies_over_intent", func(t *testing.T) {
				tx := getTx(t, d.url, key, txID)
				if tx.Status != "signed" || tx.Signature == "" {
					t.Fatalf("transaction %s, signature %q; want signed", tx.Status, tx.Signature)
				}
				signed.add(txID)
				w, ok := listWallets(t, d.url, key)[walletID]
				if !ok || w.Curve != tc.curve {
					t.Fatalf("wallet %s: %+v, want curve %s", walletID, w, tc.curve)
				}
				// The intent is exactly the signed bytes; check it says what
				// was asked, and that the fingerprint is its hash.
				var in struct {
					Type     string `json:"type"`
					WalletID string `json:"wallet_id"`
					Chain    string `json:"chain"`
					Asset    string `json:"asset"`
					To       string `json:"to"`
					Amount   string `json:"amount"`
				}
				dec := json.NewDecoder(bytes.NewReader(tx.Intent))
				if err := dec.Decode(&in); err != nil {
					t.Fatalf("intent %s: %v", tx.Intent, err)
				}
				if in.Type != "custos.transfer.v1" || in.WalletID != walletID || in.Asset != tc.asset ||
					in.To != strings.ToLower(tc.to) || in.Amount != tc.amount || in.Chain != "message" {
					t.Errorf("intent %s does not describe the submitted transfer", tx.Intent)
				}
				if got := intentFingerprint(tx.Intent); got != tx.Fingerprint {
					t.Errorf("fingerprint %s, SHA-256 of the intent gives %s", tx.Fingerprint, got)
				}
				if err := verifyWalletSignature(tc.curve, w.PublicKey, tx.Signature, tx.Intent); err != nil {
					t.Fatalf("signature %s by %s over %s: %v", tx.Signature, w.PublicKey, tx.Intent, err)
				}
				// And the check is not vacuous: one changed byte fails it.
				bad := bytes.Clone(tx.Intent)
				bad[len(bad)-3] ^= 1
				if err := verifyWalletSignature(tc.curve, w.PublicKey, tx.Signature, bad); err == nil {
					t.Error("the signature also verifies over a modified intent")
				}
			})
		})
	}
}

// submit posts a transfer with the API key and returns the answer.
func submit(t *testing.T, d *devSystem, walletID, asset, to, amount string, header map[string]string) *apiResponse {
	t.Helper()
	return doHTTP(t, d.url, request{Method: http.MethodPost, Path: "/v1/transactions", Token: d.creds.APIKey, Header: header,
		Body: map[string]string{"wallet_id": walletID, "chain": "message", "asset": asset, "to": to, "amount": amount}})
}

// submitDenied submits a transfer that must be denied for reason and checks
// that it was recorded as denied, with no request and no signature.
func submitDenied(t *testing.T, d *devSystem, walletID, asset, amount, reason string) *txView {
	t.Helper()
	r := submit(t, d, walletID, asset, "0xdenied", amount, nil)
	expectStatus(t, r, http.StatusCreated)
	var tx txView
	r.decode(t, &tx)
	checkDenied(t, &tx, reason)
	// Read back: still denied, never signed.
	checkDenied(t, getTx(t, d.url, d.creds.APIKey, tx.ID), reason)
	return &tx
}

func checkDenied(t *testing.T, tx *txView, reason string) {
	t.Helper()
	if tx.Status != "denied" || tx.Decision == nil || tx.Decision.Outcome != "deny" {
		t.Fatalf("transaction %s is %s (decision %+v), want denied", tx.ID, tx.Status, tx.Decision)
	}
	if !slices.Contains(tx.reasonCodes(), reason) {
		t.Errorf("denial reasons %v do not include %s", tx.reasonCodes(), reason)
	}
	for _, r := range tx.Decision.Reasons {
		if r.Message == "" {
			t.Errorf("reason %s has no message", r.Code)
		}
	}
	if tx.RequestID != "" {
		t.Errorf("denied transaction has approval request %s", tx.RequestID)
	}
	if tx.Signature != "" {
		t.Errorf("denied transaction has a signature %s", tx.Signature)
	}
}
