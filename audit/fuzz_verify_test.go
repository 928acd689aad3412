package audit

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzVerify feeds arbitrary bytes to Verify. It must not panic; every
// pipeline shape must give the same answer; anything it accepts must be a
// sound chain according to an independent verifier (encoding/json and the
// original chain-rule code); and a sound chain of canonical lines must be
// accepted.
func FuzzVerify(f *testing.F) {
	for _, n := range []int{0, 1, 3, 6} {
		export := exportBytes(f, makeChain(n, uint64(n)))
		f.Add(export)
		if n > 1 {
			lines := splitLines(export)
			f.Add(joinLines(lines[1:]...))                            // first deleted
			f.Add(joinLines(append([][]byte{lines[1]}, lines...)...)) // duplicate
			f.Add(bytes.ReplaceAll(export, []byte("\n"), []byte("\r\n")))
		}
	}
	f.Add([]byte("\n"))
	f.Add([]byte("{\"seq\":1}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := verifyAll(t, data, VerifyOptions{})
		ref, refErr := refVerify(data, nil)
		if err != nil {
			var ce *ChainError
			if !errors.As(err, &ce) {
				t.Fatalf("Verify: %v is not a ChainError", err)
			}
			if ce.Line < 1 || ce.Line > bytes.Count(data, []byte("\n"))+1 || ce.Seq != int64(ce.Line) {
				t.Fatalf("ChainError line %d seq %d out of range", ce.Line, ce.Seq)
			}
			if refErr == nil && canonicalLines(ref, data) {
				t.Fatalf("Verify rejected a sound canonical chain: %v", err)
			}
			return
		}
		if refErr != nil {
			t.Fatalf("Verify accepted %q, the reference verifier did not: %v", data, refErr)
		}
		if rep.Count != int64(len(ref)) {
			t.Fatalf("Count %d, reference %d", rep.Count, len(ref))
		}
		if len(ref) > 0 && !bytes.Equal(rep.Head, ref[len(ref)-1].Hash) {
			t.Fatalf("Head %x, reference %x", rep.Head, ref[len(ref)-1].Hash)
		}
	})
}

// canonicalLines reports whether data is exactly events' lines, each ended
// by "\n" or "\r\n" (the last one may be unterminated).
func canonicalLines(events []*Event, data []byte) bool {
	var want []byte
	for _, e := range events {
		b, err := MarshalLine(e)
		if err != nil {
			return false
		}
		want = append(append(want, b...), '\n')
	}
	got := bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	if len(got) > 0 && got[len(got)-1] != '\n' {
		got = append(got, '\n')
	}
	return bytes.Equal(got, want)
}

// FuzzVerifyMutation makes one single-byte change (replace, insert or
// delete) to a valid export and verifies it against the true head. The
// change must be caught at exactly the line it touched (Line and Seq both
// equal to it: everything before verified), unless it does not change the
// meaning, in which case the export must still decode, with an independent
// decoder, to exactly the original events. The only such changes are
// line-terminator ones: a "\r" inserted before a "\n", or the final "\n"
// deleted.
func FuzzVerifyMutation(f *testing.F) {
	f.Add(uint8(5), uint32(0), byte('x'), uint8(0))
	f.Add(uint8(5), uint32(100), byte('a'), uint8(0))
	f.Add(uint8(3), uint32(420), byte('\n'), uint8(1))
	f.Add(uint8(3), uint32(421), byte('\r'), uint8(1))
	f.Add(uint8(2), uint32(99999), byte(0), uint8(2))
	f.Add(uint8(4), uint32(7), byte('2'), uint8(0))
	f.Fuzz(func(t *testing.T, n uint8, pos uint32, c byte, op uint8) {
		events := makeChain(int(n%6)+1, uint64(n))
		export := exportBytes(t, events)
		head := events[len(events)-1].Hash
		var mutated []byte
		var at int
		switch op % 3 {
		case 0: // replace
			at = int(pos % uint32(len(export)))
			mutated = bytes.Clone(export)
			mutated[at] = c
		case 1: // insert before at
			at = int(pos % uint32(len(export)+1))
			mutated = append(append(bytes.Clone(export[:at]), c), export[at:]...)
		default: // delete
			at = int(pos % uint32(len(export)))
			mutated = append(bytes.Clone(export[:at]), export[at+1:]...)
		}
		line := firstChangedLine(export, mutated)

		_, err := verifyAll(t, mutated, VerifyOptions{ExpectHead: head})
		if err == nil {
			got, rerr := refVerify(mutated, head)
			if rerr != nil || len(got) != len(events) {
				t.Fatalf("Verify accepted a mutation the reference rejects (%v): %q", rerr, mutated)
			}
			for i := range got {
				if !sameEvent(got[i], events[i]) {
					t.Fatalf("Verify accepted a changed event %d:\n%+v\n%+v", i+1, got[i], events[i])
				}
			}
			if !canonicalLines(events, mutated) {
				t.Fatalf("Verify accepted a mutation that is not a line-ending change: %q", mutated)
			}
			return
		}
		var ce *ChainError
		if !errors.As(err, &ce) {
			t.Fatalf("Verify: %v is not a ChainError", err)
		}
		if ce.Line != line || ce.Seq != int64(line) {
			t.Fatalf("mutation %d at byte %d (line %d): error at line %d seq %d: %v", op%3, at, line, ce.Line, ce.Seq, err)
		}
	})
}

// firstChangedLine returns the 1-based number of the first line whose
// content (terminator excluded) differs between a and b, counting a missing
// line as different.
func firstChangedLine(a, b []byte) int {
	la, lb := contentLines(a), contentLines(b)
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}

// contentLines splits data as the verifier does: lines end in "\n" or
// "\r\n", and a final unterminated piece is a line if it is not empty.
func contentLines(data []byte) []string {
	var lines []string
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			lines = append(lines, string(data))
			break
		}
		l := data[:i]
		if len(l) > 0 && l[len(l)-1] == '\r' {
			l = l[:len(l)-1]
		}
		lines = append(lines, string(l))
		data = data[i+1:]
	}
	return lines
}
