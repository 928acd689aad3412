package e2e

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// auditLine is the part of an exported audit line the suite reads.
type auditLine struct {
	Seq    int64  `json:"seq"`
	Action string `json:"action"`
	Target string `json:"target"`
	Result string `json:"result"`
	Hash   string `json:"hash"`
}

func readAuditExport(t *testing.T, path string) (lines [][]byte, events []auditLine) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := bytes.Clone(sc.Bytes())
		var e auditLine
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("audit export line %d: %v", len(lines)+1, err)
		}
		lines = append(lines, line)
		events = append(events, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines, events
}

// countEvents counts the events with action, target and result.
func countEvents(events []auditLine, action, target, result string) int {
	n := 0
	for _, e := range events {
		if e.Action == action && e.Target == target && (result == "" || e.Result == result) {
			n++
		}
	}
	return n
}

var intactLine = regexp.MustCompile(`audit log \S+ is intact: (\d+) events, seq 1\.\.(\d+), head ([0-9a-f]{64})`)

// verifyIntact runs `custos audit verify` and expects success.
func verifyIntact(t *testing.T, path string) {
	t.Helper()
	out := mustCLI(t, "audit", "verify", path)
	if m := intactLine.FindStringSubmatch(out); m == nil || m[1] != m[2] {
		t.Errorf("audit verify output:\n%s", out)
	}
}

// verifyBroken runs `custos audit verify` and expects it to fail naming
// the first bad event.
func verifyBroken(t *testing.T, path string, seq int64, args ...string) {
	t.Helper()
	_, errOut := failCLI(t, append(append([]string{"audit", "verify"}, args...), path)...)
	if want := fmt.Sprintf("first bad event seq %d ", seq); !strings.Contains(errOut, "NOT intact") || !strings.Contains(errOut, want) {
		t.Errorf("audit verify refused the export without naming seq %d:\n%s", seq, errOut)
	}
}

// auditColumns are the columns of an audit row other than seq.
const auditColumns = "id, time_s, time_nanos, category, action, actor, target, request_id, result, metadata, prev_hash, hash"

type auditRow []any

func readAuditRow(t *testing.T, db *sql.DB, seq int64) auditRow {
	t.Helper()
	row := make(auditRow, 12)
	ptrs := make([]any, len(row))
	for i := range row {
		ptrs[i] = &row[i]
	}
	if err := db.QueryRow("SELECT "+auditColumns+" FROM audit_events WHERE seq = ?", seq).Scan(ptrs...); err != nil {
		t.Fatalf("reading audit event %d: %v", seq, err)
	}
	return row
}

func writeAuditRow(t *testing.T, db *sql.DB, seq int64, row auditRow) {
	t.Helper()
	set := strings.Split(auditColumns, ", ")
	for i := range set {
		set[i] += " = ?"
	}
	execSQL(t, db, "UPDATE audit_events SET "+strings.Join(set, ", ")+" WHERE seq = ?", append(append([]any{}, row...), seq)...)
}

// testAudit is acceptance point 5: the audit export verifies, and an
// edited, deleted or reordered event in the database (or in the export)
// makes `custos audit verify` fail naming the first bad event.
func testAudit(t *testing.T, d *devSystem, signed, denied *syncSet) {
	dir := t.TempDir()
	first := filepath.Join(dir, "audit.jsonl")
	t.Run("ok/export_verifies", func(t *testing.T) {
		out := mustCLI(t, "audit", "export", "--as", "aude", d.credsFlag(), "--out", first)
		if !strings.Contains(out, "audit log written to "+first) {
			t.Errorf("audit export output:\n%s", out)
		}
		verifyIntact(t, first)
	})
	t.Run("ok/one_signature_per_signed_transaction", func(t *testing.T) {
		_, events := readAuditExport(t, first)
		ids := signed.list()
		if len(ids) != 2 {
			t.Fatalf("%d walkthrough transactions signed, want 2", len(ids))
		}
		for _, id := range ids {
			target := "transaction:" + id
			if n := countEvents(events, "transaction.signing", target, "success"); n != 1 {
				t.Errorf("%d transaction.signing events for %s, want 1", n, id)
			}
			if n := countEvents(events, "transaction.sign", target, ""); n != 1 || countEvents(events, "transaction.sign", target, "success") != 1 {
				t.Errorf("%d transaction.sign events for %s, want 1 success", n, id)
			}
		}
	})

	t.Run("ok/denied_transactions_never_signed", func(t *testing.T) {
		_, events := readAuditExport(t, first)
		ids := denied.list()
		if len(ids) != 5 {
			t.Errorf("%d denied transactions recorded by the denial tests, want 5", len(ids))
		}
		for _, id := range ids {
			target := "transaction:" + id
			if n := countEvents(events, "transaction.submit", target, "denied"); n != 1 {
				t.Errorf("%d denied transaction.submit events for %s, want 1", n, id)
			}
			for _, action := range []string{"transaction.signing", "transaction.sign"} {
				if n := countEvents(events, action, target, ""); n != 0 {
					t.Errorf("%d %s events for denied transaction %s", n, action, id)
				}
			}
		}
	})

	// Later exports use one auditor session through --token-file.
	aude := login(t, d.url, "aude", d.creds.password(t, "aude"))
	tokenFile := filepath.Join(dir, "aude.token")
	if err := os.WriteFile(tokenFile, []byte(aude+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n := 0
	export := func(t *testing.T) string {
		t.Helper()
		n++
		path := filepath.Join(dir, "export-"+strconv.Itoa(n)+".jsonl")
		mustCLI(t, "audit", "export", "--api", d.url, "--token-file", tokenFile, "--out", path)
		return path
	}
	db := openSQLite(t, d)
	const k = 5 // an event from the seeding, well before the end of the chain

	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T) (restore func(t *testing.T))
		badSeq int64
	}{
		{name: "fail/edited_actor", badSeq: k, tamper: func(t *testing.T) func(t *testing.T) {
			orig := readAuditRow(t, db, k)
			execSQL(t, db, "UPDATE audit_events SET actor = 'user:mallory' WHERE seq = ?", k)
			return func(t *testing.T) { writeAuditRow(t, db, k, orig) }
		}},
		{name: "fail/deleted_event", badSeq: k, tamper: func(t *testing.T) func(t *testing.T) {
			orig := readAuditRow(t, db, k)
			execSQL(t, db, "DELETE FROM audit_events WHERE seq = ?", k)
			return func(t *testing.T) {
				execSQL(t, db, "INSERT INTO audit_events (seq, "+auditColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
					append([]any{int64(k)}, orig...)...)
			}
		}},
		{name: "fail/swapped_events", badSeq: k, tamper: func(t *testing.T) func(t *testing.T) {
			a, b := readAuditRow(t, db, k), readAuditRow(t, db, k+1)
			writeAuditRow(t, db, k, b)
			writeAuditRow(t, db, k+1, a)
			return func(t *testing.T) {
				writeAuditRow(t, db, k, a)
				writeAuditRow(t, db, k+1, b)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			restore := tc.tamper(t)
			restored := false
			defer func() {
				if !restored {
					restore(t)
				}
			}()
			verifyBroken(t, export(t), tc.badSeq)
			restore(t)
			restored = true
			verifyIntact(t, export(t))
		})
	}

	// Tampering with an exported file: reorder, duplicate, truncate.
	intact := export(t)
	lines, events := readAuditExport(t, intact)
	write := func(t *testing.T, name string, lines [][]byte) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, append(bytes.Join(lines, []byte("\n")), '\n'), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	t.Run("fail/reordered_lines", func(t *testing.T) {
		l := slices.Clone(lines)
		l[k-1], l[k] = l[k], l[k-1]
		verifyBroken(t, write(t, "reordered.jsonl", l), k)
	})
	t.Run("fail/duplicated_line", func(t *testing.T) {
		l := append(slices.Clone(lines[:k]), lines[k-1:]...)
		verifyBroken(t, write(t, "duplicated.jsonl", l), k+1)
	})
	t.Run("fail/truncated_against_head", func(t *testing.T) {
		head := events[len(events)-1].Hash
		verifyBroken(t, write(t, "truncated.jsonl", lines[:len(lines)-1]), events[len(events)-1].Seq, "--head", head)
	})
}
