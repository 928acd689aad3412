package audit

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestMarshalLine(t *testing.T) {
	e := makeChain(3, 11)[2]
	line := mustLine(t, e)
	canonical := e.AppendCanonical(nil)
	wantPrefix := canonical[:len(canonical)-1]
	if !bytes.HasPrefix(line, wantPrefix) {
		t.Fatalf("line does not start with the canonical encoding:\n%s\n%s", line, canonical)
	}
	if got, want := string(line[len(wantPrefix):]), `,"hash":"`+hexString(e.Hash)+`"}`; got != want {
		t.Fatalf("line ends in %s, want %s", got, want)
	}
	if bytes.ContainsAny(line, "\r\n") {
		t.Fatalf("line contains a line break: %q", line)
	}
	// The field order is the documented one.
	fields := []string{"seq", "id", "time", "category", "action", "actor", "target", "request_id", "result", "metadata", "prev_hash", "hash"}
	last := -1
	for _, f := range fields {
		i := bytes.Index(line, []byte(`"`+f+`":`))
		if i <= last {
			t.Fatalf("field %q at %d, not after %d", f, i, last)
		}
		last = i
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	var s strings.Builder
	for _, c := range b {
		s.WriteByte(digits[c>>4])
		s.WriteByte(digits[c&0xf])
	}
	return s.String()
}

func TestMarshalLineRefuses(t *testing.T) {
	good := makeChain(1, 2)[0]
	with := func(f func(e *Event)) *Event {
		e := cloneEvent(good)
		f(e)
		return e
	}
	cases := []struct {
		name string
		e    *Event
	}{
		{"fail/nil-event", nil},
		{"fail/seq-zero", with(func(e *Event) { e.Seq = 0 })},
		{"fail/seq-negative", with(func(e *Event) { e.Seq = -1 })},
		{"fail/nil-prev-hash", with(func(e *Event) { e.PrevHash = nil })},
		{"fail/short-prev-hash", with(func(e *Event) { e.PrevHash = e.PrevHash[:31] })},
		{"fail/nil-hash", with(func(e *Event) { e.Hash = nil })},
		{"fail/long-hash", with(func(e *Event) { e.Hash = append(e.Hash, 0) })},
		{"fail/invalid-utf8-id", with(func(e *Event) { e.ID = "\xff" })},
		{"fail/invalid-utf8-category", with(func(e *Event) { e.Category = "a\xc3" })},
		{"fail/invalid-utf8-action", with(func(e *Event) { e.Action = "\xed\xa0\x80" })},
		{"fail/invalid-utf8-actor", with(func(e *Event) { e.Actor = "\x80" })},
		{"fail/invalid-utf8-target", with(func(e *Event) { e.Target = "\xc0\xaf" })},
		{"fail/invalid-utf8-request-id", with(func(e *Event) { e.RequestID = "\xfe" })},
		{"fail/invalid-utf8-result", with(func(e *Event) { e.Result = "\xf5" })},
		{"fail/invalid-utf8-metadata-key", with(func(e *Event) { e.Metadata = map[string]string{"\xff": "v"} })},
		{"fail/invalid-utf8-metadata-value", with(func(e *Event) { e.Metadata = map[string]string{"k": "\xff"} })},
		{"fail/year-10000", with(func(e *Event) { e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) })},
		{"fail/year-negative", with(func(e *Event) { e.Time = time.Date(-1, 12, 31, 23, 0, 0, 0, time.UTC) })},
		{"fail/year-negative-after-utc", with(func(e *Event) {
			e.Time = time.Date(0, 1, 1, 0, 30, 0, 0, time.FixedZone("plus1", 3600))
		})},
		{"fail/too-long", with(func(e *Event) { e.Metadata = map[string]string{"big": strings.Repeat("x", MaxLineSize)} })},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := MarshalLine(tc.e)
			if !errors.Is(err, ErrNotExportable) {
				t.Fatalf("MarshalLine = %q, %v; want ErrNotExportable", b, err)
			}
			var buf bytes.Buffer
			if err := NewExporter(&buf).Write(tc.e); !errors.Is(err, ErrNotExportable) || buf.Len() != 0 {
				t.Fatalf("Exporter.Write = %v and wrote %q; want ErrNotExportable and nothing", err, buf.Bytes())
			}
		})
	}
	t.Run("ok/just-under-max", func(t *testing.T) {
		e := with(func(e *Event) { e.Metadata = nil })
		n := len(mustLine(t, e))
		e.Metadata = map[string]string{"": strings.Repeat("x", MaxLineSize-n-len(`"":""`))}
		if b := mustLine(t, e); len(b) != MaxLineSize {
			t.Fatalf("line is %d bytes, want %d", len(b), MaxLineSize)
		}
	})
}

func TestValidate(t *testing.T) {
	for _, e := range append(makeChain(20, 4), &Event{}, &Event{Time: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)}) {
		if err := e.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", e, err)
		}
	}
	if err := (&Event{Actor: "\xff"}).Validate(); !errors.Is(err, ErrNotExportable) {
		t.Errorf("Validate(invalid UTF-8) = %v, want ErrNotExportable", err)
	}
}

// failWriter fails after n successful writes, writing half of the failing
// buffer.
type failWriter struct {
	buf bytes.Buffer
	n   int
}

var errDiskFull = errors.New("disk full")

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		w.buf.Write(p[:len(p)/2])
		return len(p) / 2, errDiskFull
	}
	w.n--
	return w.buf.Write(p)
}

func TestExporter(t *testing.T) {
	events := makeChain(5, 8)
	t.Run("ok/lines", func(t *testing.T) {
		var buf bytes.Buffer
		x := NewExporter(&buf)
		var want []byte
		for _, e := range events {
			if err := x.Write(e); err != nil {
				t.Fatal(err)
			}
			want = append(append(want, mustLine(t, e)...), '\n')
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("export =\n%s\nwant\n%s", buf.Bytes(), want)
		}
		if !bytes.Equal(exportBytes(t, events), want) {
			t.Fatal("Export and Exporter disagree")
		}
	})
	t.Run("ok/skips-unexportable-and-continues", func(t *testing.T) {
		var buf bytes.Buffer
		x := NewExporter(&buf)
		if err := x.Write(&Event{Seq: 1}); !errors.Is(err, ErrNotExportable) {
			t.Fatalf("Write(bad) = %v", err)
		}
		if err := x.Write(events[0]); err != nil {
			t.Fatalf("Write after a refused event: %v", err)
		}
	})
	t.Run("ok/exports-tampered-chain-as-is", func(t *testing.T) {
		tampered := cloneEvent(events[1])
		tampered.Action = "edited"
		export := exportBytes(t, []*Event{events[0], tampered})
		if _, err := Verify(bytes.NewReader(export)); !errors.Is(err, ErrHashMismatch) {
			t.Fatalf("Verify(tampered export) = %v, want ErrHashMismatch", err)
		}
	})
	t.Run("fail/writer-error-is-sticky", func(t *testing.T) {
		w := &failWriter{n: 2}
		x := NewExporter(w)
		for i, e := range events[:2] {
			if err := x.Write(e); err != nil {
				t.Fatalf("Write %d: %v", i, err)
			}
		}
		if err := x.Write(events[2]); !errors.Is(err, errDiskFull) {
			t.Fatalf("Write = %v, want errDiskFull", err)
		}
		w.n = 10
		if err := x.Write(events[3]); !errors.Is(err, errDiskFull) {
			t.Fatalf("Write after failure = %v, want the same error", err)
		}
	})
	t.Run("fail/export-stops-at-unexportable", func(t *testing.T) {
		var buf bytes.Buffer
		bad := cloneEvent(events[2])
		bad.Hash = nil
		err := Export(&buf, []*Event{events[0], events[1], bad, events[3]})
		if !errors.Is(err, ErrNotExportable) {
			t.Fatalf("Export = %v, want ErrNotExportable", err)
		}
		if want := exportBytes(t, events[:2]); !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("Export wrote %q, want the first two lines", buf.Bytes())
		}
	})
	t.Run("fail/export-writer-error", func(t *testing.T) {
		if err := Export(&failWriter{}, events); !errors.Is(err, errDiskFull) {
			t.Fatalf("Export = %v, want errDiskFull", err)
		}
	})
}
