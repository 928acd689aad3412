package audit_test

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/custos-dev/custos/audit"
)

// Build a chain, export it as JSON lines, verify the export, then show what
// an edit and a deletion look like to the verifier.
func Example() {
	// A store appends events by sealing each onto the chain head.
	t0 := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	var chain []*audit.Event
	var headSeq int64
	var headHash []byte // nil before the first event
	for i, action := range []string{"auth.login", "transaction.submit", "transaction.approve", "transaction.sign"} {
		e := &audit.Event{
			ID:       fmt.Sprintf("evt-%d", i+1),
			Time:     t0.Add(time.Duration(i) * time.Minute),
			Category: audit.CategoryTransaction,
			Action:   action,
			Actor:    "user:alice",
			Target:   "transaction:42",
			Result:   audit.ResultSuccess,
			Metadata: map[string]string{"ip": "203.0.113.7"},
		}
		if err := e.Validate(); err != nil {
			panic(err)
		}
		e.Seal(headSeq, headHash)
		headSeq, headHash = e.Seq, e.Hash
		chain = append(chain, e)
	}

	// Export: one JSON object per line.
	var export bytes.Buffer
	if err := audit.Export(&export, chain); err != nil {
		panic(err)
	}

	// Verify offline, against a head obtained out of band (for example a
	// signed checkpoint), so that a truncated tail is caught too.
	report, err := audit.VerifyWith(bytes.NewReader(export.Bytes()), audit.VerifyOptions{ExpectHead: headHash})
	if err != nil {
		panic(err)
	}
	fmt.Printf("verified %d events, seq %d to %d\n", report.Count, report.FirstSeq, report.LastSeq)

	// Someone rewrites who approved the transaction.
	edited := bytes.Replace(export.Bytes(), []byte(`"action":"transaction.approve","actor":"user:alice"`),
		[]byte(`"action":"transaction.approve","actor":"user:bob"`), 1)
	_, err = audit.Verify(bytes.NewReader(edited))
	var ce *audit.ChainError
	if errors.As(err, &ce) {
		fmt.Printf("edited: line %d, seq %d, hash mismatch: %v\n", ce.Line, ce.Seq, errors.Is(err, audit.ErrHashMismatch))
	}

	// Someone deletes the last event; only the expected head reveals it.
	lines := bytes.SplitAfter(export.Bytes(), []byte("\n"))
	truncated := bytes.Join(lines[:3], nil)
	_, err = audit.VerifyWith(bytes.NewReader(truncated), audit.VerifyOptions{ExpectHead: headHash})
	if errors.As(err, &ce) {
		fmt.Printf("truncated: line %d, seq %d, head mismatch: %v\n", ce.Line, ce.Seq, errors.Is(err, audit.ErrHeadMismatch))
	}

	// Output:
	// verified 4 events, seq 1 to 4
	// edited: line 3, seq 3, hash mismatch: true
	// truncated: line 4, seq 4, head mismatch: true
}

// Each line is the event's canonical encoding with its hash appended.
func ExampleMarshalLine() {
	e := &audit.Event{
		ID:       "evt-1",
		Time:     time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC),
		Category: audit.CategoryAuth,
		Action:   "auth.login",
		Actor:    "user:alice",
		Result:   audit.ResultSuccess,
	}
	e.Seal(0, nil)
	line, err := audit.MarshalLine(e)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(line))
	back, err := audit.ParseLine(line)
	if err != nil {
		panic(err)
	}
	fmt.Println(back.Action, bytes.Equal(back.ComputeHash(), back.Hash))
	// Output:
	// {"seq":1,"id":"evt-1","time":"2026-03-01T09:30:00Z","category":"authentication","action":"auth.login","actor":"user:alice","target":"","request_id":"","result":"success","metadata":{},"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","hash":"24e49b23860e2304c100cd953b043e1cace99bb264520cb09323c733b3010c38"}
	// auth.login true
}
