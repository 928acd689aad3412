package guardian_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/guardian/wire"
)

// export returns n's own event log as JSON lines.
func export(t *testing.T, n *node) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := n.ExportEvents(t.Context(), func(line []byte) error {
		buf.Write(line)
		buf.WriteByte('\n')
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestLocalAudit: a guardian's own hash chain verifies with audit.Verify
// and records what it did and what it refused.
func TestLocalAudit(t *testing.T) {
	c, nodes, w := signFixture(t)
	n := nodes[0]
	c.signTransfer(t, w, nodes[:2])
	// A refused certificate, a refused commitment list, an unauthenticated
	// envelope and an approved governance request.
	msg, cert := c.transferCert(t, w.ref.WalletID, amountMid, "u-bob")
	s := c.newSigning(t, w, nodes[:2], wire.SignRequest{Message: msg, Certificate: cert})
	mustRefuse(t, s.prepareOne(t, n, s.req), "quorum_not_met")
	c.refused(t, n, wire.KindCommit, "pool", 1, wire.CommitRequest{KeyRef: wire.KeyRef{WalletID: "w-none", KeyVersion: 1}, Count: 1}, wire.CodeUnknownKey)
	stale := c.envelope(t, nodes[1].id, wire.KindHealth, "h", 1, wire.HealthRequest{})
	if status, _, _ := serve(n, stale); status != http.StatusUnauthorized {
		t.Fatalf("misrouted envelope: HTTP %d", status)
	}
	c.applyEverywhere(t, nodes, c.governanceCert(t, "rate.set", map[string]any{"asset": "eth", "eur_per_unit": "2100", "decimals": 18}, "u-alice", "u-bob"), 1)
	n.restart(t) // the chain continues across restarts
	c.signTransfer(t, w, nodes[:2])

	raw := export(t, n)
	rep, err := audit.Verify(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("the guardian's export does not verify: %v", err)
	}
	lines := bytes.Split(bytes.TrimSuffix(raw, []byte("\n")), []byte("\n"))
	if rep.Count != int64(len(lines)) || rep.FirstSeq != 1 {
		t.Fatalf("report %+v for %d lines", rep, len(lines))
	}
	type key struct{ action, result, code string }
	seen := map[key]int{}
	for _, l := range lines {
		e, err := audit.ParseLine(l)
		if err != nil {
			t.Fatal(err)
		}
		seen[key{e.Action, e.Result, e.Metadata["code"]}]++
	}
	for _, want := range []struct {
		k     key
		count int
	}{
		{key{"guardian.init", audit.ResultSuccess, ""}, 1},
		{key{"guardian.enroll", audit.ResultSuccess, ""}, 1},
		{key{"dkg.finalize", audit.ResultSuccess, ""}, 1},
		{key{"dkg.activate", audit.ResultSuccess, ""}, 1},
		{key{"sign.authorize", audit.ResultSuccess, ""}, 3}, // the test signature and two transfers
		{key{wire.KindPrepare, audit.ResultDenied, "quorum_not_met"}, 1},
		{key{wire.KindCommit, audit.ResultDenied, wire.CodeUnknownKey}, 1},
		{key{"rpc.reject", audit.ResultDenied, ""}, 1},
		{key{"governance.apply", audit.ResultSuccess, ""}, 1},
	} {
		if got := seen[want.k]; got != want.count {
			t.Errorf("%d events %+v, want %d", got, want.k, want.count)
		}
	}

	// The check is not vacuous: a removed or edited event is detected.
	for name, tampered := range map[string][]byte{
		"removed":   bytes.Join(append(append([][]byte{}, lines[:3]...), lines[4:]...), []byte("\n")),
		"reordered": bytes.Join(append([][]byte{lines[1], lines[0]}, lines[2:]...), []byte("\n")),
		"edited":    bytes.Replace(raw, []byte(`"denied"`), []byte(`"success"`), 1),
	} {
		if _, err := audit.Verify(bytes.NewReader(tampered)); err == nil {
			t.Errorf("an export with an event %s verifies", name)
		}
	}
}
