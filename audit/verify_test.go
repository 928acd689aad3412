package audit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
)

// testConfigs are pipeline shapes every verification in the tests is run
// with; all must give the same result as the default.
var testConfigs = []pipelineConfig{
	{workers: 1, batchLines: 1, batchBytes: 1 << 20},
	{workers: 3, batchLines: 1, batchBytes: 1 << 20},
	{workers: 2, batchLines: 3, batchBytes: 1 << 20},
	{workers: 4, batchLines: 100, batchBytes: 700},
}

// verifyAll runs VerifyWith and the pipeline in every test configuration,
// fails the test if they disagree, and returns VerifyWith's result.
func verifyAll(t *testing.T, export []byte, opts VerifyOptions) (*Report, error) {
	t.Helper()
	rep, err := VerifyWith(bytes.NewReader(export), opts)
	for _, cfg := range testConfigs {
		r2, err2 := verify(bytes.NewReader(export), opts, cfg)
		if fmt.Sprintf("%+v %v", rep, err) != fmt.Sprintf("%+v %v", r2, err2) {
			t.Fatalf("config %+v: got %+v, %v; VerifyWith got %+v, %v", cfg, r2, err2, rep, err)
		}
		var ce, ce2 *ChainError
		if errors.As(err, &ce) != errors.As(err2, &ce2) || (ce != nil && *ce != *ce2) {
			t.Fatalf("config %+v: error %#v, VerifyWith %#v", cfg, err2, err)
		}
	}
	return rep, err
}

func splitLines(export []byte) [][]byte {
	return bytes.SplitAfter(export, []byte("\n"))[:bytes.Count(export, []byte("\n"))]
}

func joinLines(lines ...[]byte) []byte { return bytes.Join(lines, nil) }

func TestVerify(t *testing.T) {
	const n = 10
	events := makeChain(n, 42)
	export := exportBytes(t, events)
	lines := splitLines(export) // each with its "\n"
	head := events[n-1].Hash
	hashOf := func(seq int) []byte { return events[seq-1].Hash }

	// without returns the lines with the given seqs left out.
	without := func(seqs ...int) []byte {
		var out [][]byte
		for i, l := range lines {
			skip := false
			for _, s := range seqs {
				skip = skip || i+1 == s
			}
			if !skip {
				out = append(out, l)
			}
		}
		return joinLines(out...)
	}
	// replaced returns the export with the line of seq replaced by line.
	replaced := func(seq int, line []byte) []byte {
		out := append([][]byte(nil), lines...)
		out[seq-1] = line
		return joinLines(out...)
	}
	// edited re-marshals event seq after f changed it, keeping its hash.
	edited := func(seq int, f func(e *Event)) []byte {
		e := cloneEvent(events[seq-1])
		f(e)
		line := append(mustLine(t, e), '\n')
		if bytes.Equal(line, lines[seq-1]) {
			t.Fatalf("test setup: editing event %d changed nothing", seq)
		}
		return replaced(seq, line)
	}
	// forged returns a line for a new event with a correct self-hash.
	forged := func(seq int64, prevHash []byte) []byte {
		e := &Event{ID: "forged", Time: testEpoch, Category: CategoryTransaction, Action: "transaction.submit",
			Actor: "user:mallory", Result: ResultSuccess}
		e.Seal(seq-1, prevHash)
		return append(mustLine(t, e), '\n')
	}
	insertAfter := func(seq int, line []byte) []byte {
		return joinLines(joinLines(lines[:seq]...), line, joinLines(lines[seq:]...))
	}
	// rewritten edits event seq and re-seals it and every later event.
	rewritten := func(seq int) []byte {
		var out [][]byte
		for _, l := range lines[:seq-1] {
			out = append(out, l)
		}
		prevSeq, prevHash := int64(seq-1), events[seq-2].Hash
		for _, e := range events[seq-1:] {
			e = cloneEvent(e)
			if e.Seq == int64(seq) {
				e.Result = ResultDenied + "-rewritten"
			}
			e.Seal(prevSeq, prevHash)
			prevSeq, prevHash = e.Seq, e.Hash
			out = append(out, append(mustLine(t, e), '\n'))
		}
		return joinLines(out...)
	}
	withMeta := 0 // an event with metadata
	for _, e := range events {
		if len(e.Metadata) > 0 && withMeta == 0 {
			withMeta = int(e.Seq)
		}
	}
	if withMeta == 0 {
		t.Fatal("test setup: no event with metadata")
	}
	crlf := bytes.ReplaceAll(export, []byte("\n"), []byte("\r\n"))
	ones := bytes.Repeat([]byte{1}, HashSize)

	type want struct {
		kind       error // nil: ok
		seq        int64
		line       int
		count      int64
		first, lst int64
		head       []byte
	}
	okFull := want{count: n, first: 1, lst: n, head: head}
	cases := []struct {
		name   string
		export []byte
		opts   VerifyOptions
		want   want
	}{
		{"ok/complete", export, VerifyOptions{}, okFull},
		{"ok/complete-with-head", export, VerifyOptions{ExpectHead: head}, okFull},
		{"ok/zero-from-hash", export, VerifyOptions{FromHash: make([]byte, HashSize)}, okFull},
		{"ok/crlf", crlf, VerifyOptions{ExpectHead: head}, okFull},
		{"ok/mixed-line-endings", replaced(4, bytes.ReplaceAll(lines[3], []byte("\n"), []byte("\r\n"))), VerifyOptions{}, okFull},
		{"ok/no-final-newline", export[:len(export)-1], VerifyOptions{ExpectHead: head}, okFull},
		{"ok/empty", nil, VerifyOptions{}, want{head: make([]byte, HashSize)}},
		{"ok/empty-with-genesis-head", nil, VerifyOptions{ExpectHead: make([]byte, HashSize)}, want{head: make([]byte, HashSize)}},
		{"ok/one-event", lines[0], VerifyOptions{ExpectHead: hashOf(1)}, want{count: 1, first: 1, lst: 1, head: hashOf(1)}},
		{"ok/anchored", joinLines(lines[3:]...), VerifyOptions{FromSeq: 3, FromHash: hashOf(3), ExpectHead: head},
			want{count: 7, first: 4, lst: n, head: head}},
		{"ok/anchored-window", joinLines(lines[3:6]...), VerifyOptions{FromSeq: 3, FromHash: hashOf(3), ExpectHead: hashOf(6)},
			want{count: 3, first: 4, lst: 6, head: hashOf(6)}},
		{"ok/anchored-empty", nil, VerifyOptions{FromSeq: n, FromHash: head, ExpectHead: head},
			want{lst: n, head: head}},
		// Without an expected head the end of the chain is not protected:
		// this documents the limitation ExpectHead exists for.
		{"ok/tail-deleted-undetected-without-head", without(n), VerifyOptions{},
			want{count: n - 1, first: 1, lst: n - 1, head: hashOf(n - 1)}},

		{"fail/edited-id", edited(5, func(e *Event) { e.ID += "x" }), VerifyOptions{}, want{kind: ErrHashMismatch, seq: 5, line: 5}},
		{"fail/edited-time", edited(5, func(e *Event) { e.Time = e.Time.Add(1) }), VerifyOptions{}, want{kind: ErrHashMismatch, seq: 5, line: 5}},
		{"fail/edited-category", edited(5, func(e *Event) { e.Category = CategoryAdmin + "s" }), VerifyOptions{}, want{kind: ErrHashMismatch, seq: 5, line: 5}},
		{"fail/edited-action", edited(5, func(e *Event) { e.Action = "transaction.cancel" }), VerifyOptions{}, want{kind: ErrHashMismatch, seq: 5, line: 5}},
		{"fail/edited-actor", edited(5, func(e *Event) { e.Actor = "user:someone-else" }), VerifyOptions{}, want{kind: ErrHashMismatch, seq: 5, line: 5}},
		{"fail/edited-target", edited(5, func(e *Event) { e.Target = "wallet:other" }), VerifyOptions{}, want{kind: ErrHashMismatch, seq: 5, line: 5}},
		{"fail/edited-request-id", edited(5, func(e *Event) { e.RequestID = "" }), VerifyOptions{}, want{kind: ErrHashMismatch, seq: 5, line: 5}},
		{"fail/edited-result", edited(5, func(e *Event) { e.Result = "successful" }), VerifyOptions{}, want{kind: ErrHashMismatch, seq: 5, line: 5}},
		{"fail/edited-metadata-value", edited(5, func(e *Event) { e.Metadata = map[string]string{"amount": "1"} }), VerifyOptions{}, want{kind: ErrHashMismatch, seq: 5, line: 5}},
		{"fail/edited-metadata-added", edited(5, func(e *Event) { e.Metadata = map[string]string{"approved_by": "user:x"} }), VerifyOptions{}, want{kind: ErrHashMismatch, seq: 5, line: 5}},
		{"fail/edited-metadata-removed", edited(withMeta, func(e *Event) { e.Metadata = nil }), VerifyOptions{}, want{kind: ErrHashMismatch, seq: int64(withMeta), line: withMeta}},
		{"fail/edited-seq", edited(5, func(e *Event) { e.Seq = 50 }), VerifyOptions{}, want{kind: ErrHashMismatch, seq: 5, line: 5}},
		{"fail/edited-prev-hash", edited(5, func(e *Event) { e.PrevHash = ones }), VerifyOptions{}, want{kind: ErrHashMismatch, seq: 5, line: 5}},
		{"fail/edited-hash", edited(5, func(e *Event) { e.Hash = ones }), VerifyOptions{}, want{kind: ErrHashMismatch, seq: 5, line: 5}},
		{"fail/edited-first", edited(1, func(e *Event) { e.Action = "x" }), VerifyOptions{}, want{kind: ErrHashMismatch, seq: 1, line: 1}},
		{"fail/edited-last", edited(n, func(e *Event) { e.Action = "x" }), VerifyOptions{}, want{kind: ErrHashMismatch, seq: n, line: n}},
		{"fail/edited-and-rehashed", replaced(5, forged(5, hashOf(4))), VerifyOptions{}, want{kind: ErrPrevHashMismatch, seq: 6, line: 6}},
		{"fail/rewritten-tail-with-head", rewritten(8), VerifyOptions{ExpectHead: head}, want{kind: ErrHeadMismatch, seq: n + 1, line: n + 1}},
		{"fail/deleted-first", without(1), VerifyOptions{}, want{kind: ErrSeqGap, seq: 1, line: 1}},
		{"fail/deleted-middle", without(5), VerifyOptions{}, want{kind: ErrSeqGap, seq: 5, line: 5}},
		{"fail/deleted-range", without(5, 6, 7), VerifyOptions{}, want{kind: ErrSeqGap, seq: 5, line: 5}},
		{"fail/deleted-last", without(n), VerifyOptions{ExpectHead: head}, want{kind: ErrHeadMismatch, seq: n, line: n}},
		{"fail/deleted-all", nil, VerifyOptions{ExpectHead: head}, want{kind: ErrHeadMismatch, seq: 1, line: 1}},
		{"fail/inserted-forged", insertAfter(4, forged(5, hashOf(4))), VerifyOptions{}, want{kind: ErrSeqOrder, seq: 6, line: 6}},
		{"fail/inserted-forged-unlinked", insertAfter(4, forged(5, ones)), VerifyOptions{}, want{kind: ErrPrevHashMismatch, seq: 5, line: 5}},
		{"fail/inserted-forged-before-first", joinLines(forged(1, nil), export), VerifyOptions{}, want{kind: ErrSeqOrder, seq: 2, line: 2}},
		{"fail/appended-forged", joinLines(export, forged(n+1, head)), VerifyOptions{ExpectHead: head}, want{kind: ErrHeadMismatch, seq: n + 1, line: n + 1}},
		{"fail/genesis-prev-hash-not-zero", replaced(1, forged(1, ones)), VerifyOptions{}, want{kind: ErrPrevHashMismatch, seq: 1, line: 1}},
		{"fail/swapped", replaced(6, lines[4])[:0], VerifyOptions{}, want{}}, // replaced below
		{"fail/duplicated-line", insertAfter(5, lines[4]), VerifyOptions{}, want{kind: ErrSeqOrder, seq: 6, line: 6}},
		{"fail/duplicated-last-line", joinLines(export, lines[n-1]), VerifyOptions{}, want{kind: ErrSeqOrder, seq: n + 1, line: n + 1}},
		{"fail/moved-earlier", insertAfter(2, lines[7])[:0], VerifyOptions{}, want{}}, // replaced below
		{"fail/truncated-last-line", export[:len(export)-len(lines[n-1])/2], VerifyOptions{}, want{kind: ErrMalformedLine, seq: n, line: n}},
		{"fail/truncated-middle-line", replaced(5, append(lines[4][:len(lines[4])/2:len(lines[4])/2], '\n')), VerifyOptions{}, want{kind: ErrMalformedLine, seq: 5, line: 5}},
		{"fail/blank-line", insertAfter(4, []byte("\n")), VerifyOptions{}, want{kind: ErrMalformedLine, seq: 5, line: 5}},
		{"fail/blank-crlf-line", insertAfter(4, []byte("\r\n")), VerifyOptions{}, want{kind: ErrMalformedLine, seq: 5, line: 5}},
		{"fail/trailing-blank-line", joinLines(export, []byte("\n")), VerifyOptions{}, want{kind: ErrMalformedLine, seq: n + 1, line: n + 1}},
		{"fail/whitespace-line", insertAfter(4, []byte(" \t\n")), VerifyOptions{}, want{kind: ErrMalformedLine, seq: 5, line: 5}},
		{"fail/garbage-first", joinLines([]byte("hello world\n"), export), VerifyOptions{}, want{kind: ErrMalformedLine, seq: 1, line: 1}},
		{"fail/garbage-binary", []byte{0, 1, 2, 0xff, '\n'}, VerifyOptions{}, want{kind: ErrMalformedLine, seq: 1, line: 1}},
		{"fail/garbage-appended", joinLines(export, []byte("}")), VerifyOptions{}, want{kind: ErrMalformedLine, seq: n + 1, line: n + 1}},
		{"fail/bom", joinLines([]byte("\ufeff"), export), VerifyOptions{}, want{kind: ErrMalformedLine, seq: 1, line: 1}},
		{"fail/lone-cr-line-ending", replaced(5, append(bytes.Clone(bytes.TrimSuffix(lines[4], []byte("\n"))), '\r')), VerifyOptions{}, want{kind: ErrMalformedLine, seq: 5, line: 5}},
		{"fail/cr-only-line-endings", bytes.ReplaceAll(export, []byte("\n"), []byte("\r")), VerifyOptions{}, want{kind: ErrMalformedLine, seq: 1, line: 1}},
		{"fail/cr-at-eof", joinLines(export[:len(export)-1], []byte("\r")), VerifyOptions{}, want{kind: ErrMalformedLine, seq: n, line: n}},
		{"fail/reformatted-json", replaced(3, append(bytes.ReplaceAll(bytes.TrimSuffix(lines[2], []byte("\n")), []byte(`":`), []byte(`": `)), '\n')), VerifyOptions{}, want{kind: ErrMalformedLine, seq: 3, line: 3}},
		{"fail/unknown-field", replaced(3, bytes.Replace(lines[2], []byte(`,"hash":`), []byte(`,"note":"x","hash":`), 1)), VerifyOptions{}, want{kind: ErrMalformedLine, seq: 3, line: 3}},
		{"fail/uppercase-hash", replaced(3, bytes.Replace(lines[2], []byte(`"hash":"`+hexString(hashOf(3))), []byte(`"hash":"`+strings.ToUpper(hexString(hashOf(3)))), 1)), VerifyOptions{}, want{kind: ErrMalformedLine, seq: 3, line: 3}},
		{"fail/line-too-long", insertAfter(2, append(bytes.Repeat([]byte("x"), MaxLineSize+1), '\n')), VerifyOptions{}, want{kind: ErrMalformedLine, seq: 3, line: 3}},
		{"fail/line-too-long-unterminated", joinLines(export, bytes.Repeat([]byte("{"), 3*MaxLineSize)), VerifyOptions{}, want{kind: ErrMalformedLine, seq: n + 1, line: n + 1}},
		{"fail/partial-without-anchor", joinLines(lines[3:]...), VerifyOptions{}, want{kind: ErrSeqGap, seq: 1, line: 1}},
		{"fail/anchor-hash-wrong", joinLines(lines[3:]...), VerifyOptions{FromSeq: 3, FromHash: hashOf(2)}, want{kind: ErrPrevHashMismatch, seq: 4, line: 1}},
		{"fail/anchor-before-start", joinLines(lines[3:]...), VerifyOptions{FromSeq: 2, FromHash: hashOf(2)}, want{kind: ErrSeqGap, seq: 3, line: 1}},
		{"fail/anchor-after-start", joinLines(lines[3:]...), VerifyOptions{FromSeq: 5, FromHash: hashOf(5)}, want{kind: ErrSeqOrder, seq: 6, line: 1}},
		{"fail/anchored-empty-expected-more", nil, VerifyOptions{FromSeq: 5, FromHash: hashOf(5), ExpectHead: head}, want{kind: ErrHeadMismatch, seq: 6, line: 1}},
		{"fail/anchor-is-head-but-more-lines", joinLines(lines[5:]...), VerifyOptions{FromSeq: 5, FromHash: hashOf(5), ExpectHead: hashOf(5)}, want{kind: ErrHeadMismatch, seq: 6, line: 1}},
		{"fail/head-wrong", export, VerifyOptions{ExpectHead: ones}, want{kind: ErrHeadMismatch, seq: n + 1, line: n + 1}},
		{"fail/head-is-earlier-event", export, VerifyOptions{ExpectHead: hashOf(7)}, want{kind: ErrHeadMismatch, seq: 8, line: 8}},
		{"fail/head-is-genesis", export, VerifyOptions{ExpectHead: make([]byte, HashSize)}, want{kind: ErrHeadMismatch, seq: 1, line: 1}},
	}
	// Cases that need lines moved around.
	swapped := append([][]byte(nil), lines...)
	swapped[4], swapped[5] = swapped[5], swapped[4]
	moved := append(append(append([][]byte(nil), lines[:2]...), lines[7]), append(append([][]byte(nil), lines[2:7]...), lines[8:]...)...)
	for i := range cases {
		switch cases[i].name {
		case "fail/swapped":
			cases[i].export = joinLines(swapped...)
			cases[i].want = want{kind: ErrSeqGap, seq: 5, line: 5}
		case "fail/moved-earlier":
			cases[i].export = joinLines(moved...)
			cases[i].want = want{kind: ErrSeqGap, seq: 3, line: 3}
		}
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := verifyAll(t, tc.export, tc.opts)
			if tc.want.kind == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				got := want{count: rep.Count, first: rep.FirstSeq, lst: rep.LastSeq, head: rep.Head}
				if fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Fatalf("report %+v, want %+v", got, tc.want)
				}
				return
			}
			var ce *ChainError
			if !errors.As(err, &ce) {
				t.Fatalf("Verify = %+v, %v; want a *ChainError", rep, err)
			}
			if rep != nil {
				t.Errorf("report %+v returned with an error", rep)
			}
			if !errors.Is(err, tc.want.kind) || ce.Seq != tc.want.seq || ce.Line != tc.want.line {
				t.Fatalf("got %v (Err %v, seq %d, line %d); want Err %v, seq %d, line %d",
					err, ce.Err, ce.Seq, ce.Line, tc.want.kind, tc.want.seq, tc.want.line)
			}
			if ce.Reason == "" || !strings.HasPrefix(err.Error(), "audit: ") {
				t.Errorf("error %q: empty reason or missing package prefix", err)
			}
			t.Log(err)
		})
	}
}

// The sentinels are distinct, so errors.Is tells the kinds apart.
func TestChainErrorKinds(t *testing.T) {
	kinds := []error{ErrMalformedLine, ErrHashMismatch, ErrSeqGap, ErrSeqOrder, ErrPrevHashMismatch, ErrHeadMismatch}
	for i, a := range kinds {
		ce := &ChainError{Seq: 1, Line: 1, Reason: "r", Err: a}
		for j, b := range kinds {
			if errors.Is(ce, b) != (i == j) {
				t.Errorf("errors.Is(ChainError{%v}, %v) = %v", a, b, !(i == j))
			}
		}
	}
}

func TestVerifyInvalidOptions(t *testing.T) {
	h := make([]byte, HashSize)
	h[0] = 1
	cases := []struct {
		name string
		opts VerifyOptions
	}{
		{"fail/negative-from-seq", VerifyOptions{FromSeq: -1, FromHash: h}},
		{"fail/max-from-seq", VerifyOptions{FromSeq: 1<<63 - 1, FromHash: h}},
		{"fail/from-hash-without-seq", VerifyOptions{FromHash: h}},
		{"fail/from-seq-without-hash", VerifyOptions{FromSeq: 3}},
		{"fail/short-from-hash", VerifyOptions{FromSeq: 3, FromHash: h[:31]}},
		{"fail/short-expect-head", VerifyOptions{ExpectHead: h[:31]}},
		{"fail/empty-expect-head", VerifyOptions{ExpectHead: []byte{}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := VerifyWith(strings.NewReader(""), tc.opts)
			var ce *ChainError
			if !errors.Is(err, ErrInvalidOptions) || errors.As(err, &ce) {
				t.Fatalf("VerifyWith = %v, want ErrInvalidOptions", err)
			}
		})
	}
}

func TestVerifyReadError(t *testing.T) {
	events := makeChain(5, 1)
	export := exportBytes(t, events)
	errRead := errors.New("connection reset")
	t.Run("fail/read-error", func(t *testing.T) {
		for _, cfg := range append(testConfigs, pipelineConfig{workers: 2, batchLines: 2048, batchBytes: 1 << 20}) {
			_, err := verify(io.MultiReader(bytes.NewReader(export), iotest.ErrReader(errRead)), VerifyOptions{}, cfg)
			var ce *ChainError
			if !errors.Is(err, errRead) || errors.As(err, &ce) {
				t.Fatalf("config %+v: Verify = %v, want the read error", cfg, err)
			}
		}
	})
	t.Run("fail/bad-line-before-read-error", func(t *testing.T) {
		bad := bytes.Replace(export, []byte(`"seq":3`), []byte(`"seq":9`), 1)
		for _, cfg := range testConfigs {
			_, err := verify(io.MultiReader(bytes.NewReader(bad), iotest.ErrReader(errRead)), VerifyOptions{}, cfg)
			var ce *ChainError
			if !errors.As(err, &ce) || ce.Line != 3 {
				t.Fatalf("config %+v: Verify = %v, want a ChainError at line 3", cfg, err)
			}
		}
	})
	t.Run("ok/one-byte-reads", func(t *testing.T) {
		rep, err := Verify(iotest.OneByteReader(bytes.NewReader(export)))
		if err != nil || rep.Count != 5 {
			t.Fatalf("Verify = %+v, %v", rep, err)
		}
	})
}

// endless yields the same line forever.
type endless struct {
	line []byte
	off  int
	n    int // bytes read
}

func (r *endless) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.line[r.off:])
		n += c
		r.off = (r.off + c) % len(r.line)
	}
	r.n += n
	return n, nil
}

// Verify stops reading soon after the first bad line, even if the input
// never ends.
func TestVerifyStopsAtFirstError(t *testing.T) {
	first := makeChain(1, 1)[0]
	line := append(mustLine(t, first), '\n')
	r := &endless{line: line}
	_, err := Verify(r)
	var ce *ChainError
	if !errors.As(err, &ce) || ce.Line != 2 || !errors.Is(err, ErrSeqOrder) {
		t.Fatalf("Verify(endless duplicates) = %v, want ErrSeqOrder at line 2", err)
	}
	if r.n > 64<<20 {
		t.Errorf("read %d bytes after the first error", r.n)
	}
}

func TestVerifyLongLines(t *testing.T) {
	// Lines longer than the read buffer but within MaxLineSize.
	var events []*Event
	var prevSeq int64
	var prevHash []byte
	for i, size := range []int{10, 300 << 10, 5, MaxLineSize - 1000, 600 << 10} {
		e := &Event{ID: fmt.Sprint(i), Time: testEpoch, Metadata: map[string]string{"blob": strings.Repeat("ab", size/2)}}
		e.Seal(prevSeq, prevHash)
		prevSeq, prevHash = e.Seq, e.Hash
		events = append(events, e)
	}
	export := exportBytes(t, events)
	rep, err := verifyAll(t, export, VerifyOptions{ExpectHead: prevHash})
	if err != nil || rep.Count != int64(len(events)) {
		t.Fatalf("Verify = %+v, %v", rep, err)
	}
	// Edit a byte deep inside the longest line.
	i := bytes.Index(export, []byte(`"seq":4`)) + 500<<10
	export[i] ^= 'a' ^ 'b'
	_, err = verifyAll(t, export, VerifyOptions{ExpectHead: prevHash})
	var ce *ChainError
	if !errors.As(err, &ce) || ce.Line != 4 || !errors.Is(err, ErrHashMismatch) {
		t.Fatalf("Verify(edited long line) = %v, want ErrHashMismatch at line 4", err)
	}
}

// A report anchors the verification of the next export: verifying in two
// halves is the same as verifying the whole.
func TestVerifyIncremental(t *testing.T) {
	events := makeChain(30, 3)
	first, err := verifyAll(t, exportBytes(t, events[:12]), VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	second, err := verifyAll(t, exportBytes(t, events[12:]),
		VerifyOptions{FromSeq: first.LastSeq, FromHash: first.Head, ExpectHead: events[29].Hash})
	if err != nil || second.FirstSeq != 13 || second.LastSeq != 30 || second.Count != 18 {
		t.Fatalf("second half: %+v, %v", second, err)
	}
}

func TestVerifyConcurrent(t *testing.T) {
	events := makeChain(200, 6)
	export := exportBytes(t, events)
	bad := bytes.Replace(export, []byte(`"seq":150,`), []byte(`"seq":151,`), 1)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if i%2 == 0 {
				if _, err := Verify(bytes.NewReader(export)); err != nil {
					t.Error(err)
				}
				return
			}
			var ce *ChainError
			if _, err := Verify(bytes.NewReader(bad)); !errors.As(err, &ce) || ce.Line != 150 {
				t.Errorf("Verify(bad) = %v", err)
			}
		})
	}
	wg.Wait()
}

// Reasons name what happened in words an auditor can act on.
func TestChainErrorReasons(t *testing.T) {
	events := makeChain(6, 2)
	export := exportBytes(t, events)
	lines := splitLines(export)
	cases := []struct {
		name   string
		export []byte
		opts   VerifyOptions
		word   string
	}{
		{"fail/edited", bytes.Replace(export, []byte(`"seq":3,"id":"evt-`), []byte(`"seq":3,"id":"EVT-`), 1), VerifyOptions{}, "edited"},
		{"fail/deleted", joinLines(append(append([][]byte(nil), lines[:2]...), lines[3:]...)...), VerifyOptions{}, "deleted"},
		{"fail/duplicated", joinLines(append(append([][]byte(nil), lines[:3]...), lines[2:]...)...), VerifyOptions{}, "duplicated"},
		{"fail/reordered", joinLines(lines[0], lines[1], lines[3], lines[2]), VerifyOptions{}, "deleted, or moved"},
		{"fail/malformed", []byte("x\n"), VerifyOptions{}, "malformed"},
		{"fail/truncated", joinLines(lines[:4]...), VerifyOptions{ExpectHead: events[5].Hash}, "truncated"},
		{"fail/extended", export, VerifyOptions{ExpectHead: events[3].Hash}, "extended"},
		{"fail/partial", joinLines(lines[2:]...), VerifyOptions{}, "FromSeq"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := VerifyWith(bytes.NewReader(tc.export), tc.opts)
			var ce *ChainError
			if !errors.As(err, &ce) || !strings.Contains(ce.Reason, tc.word) {
				t.Fatalf("Verify = %v, want a reason mentioning %q", err, tc.word)
			}
		})
	}
}
