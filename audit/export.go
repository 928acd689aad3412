package audit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// MaxLineSize is the largest export line, terminator excluded, that
// MarshalLine produces and Verify reads. An event whose line would be longer
// cannot be exported; stores should refuse such events on append.
const MaxLineSize = 1 << 20

// ErrNotExportable is returned (wrapped) by Validate, MarshalLine, Exporter
// and Export for an event the export format cannot represent faithfully.
var ErrNotExportable = errors.New("audit: event cannot be exported")

// ErrMalformedLine is wrapped by ParseLine's errors and is the Err of a
// ChainError for a line that is not a well-formed export line.
var ErrMalformedLine = errors.New("audit: malformed line")

// Validate reports whether e's content can be exported and read back
// exactly: every string (metadata keys and values included) is valid UTF-8
// and Time, in UTC, falls in the years 0000 to 9999 that RFC 3339 can write.
// It does not look at Seq, PrevHash or Hash. Seal does not call it; a store
// should, before it seals an event, because the canonical encoding replaces
// invalid UTF-8 with U+FFFD (so such an event could not be told apart from
// its cleaned-up twin) and an event that cannot be exported blocks every
// export that includes it.
func (e *Event) Validate() error {
	for _, f := range [...]struct{ name, v string }{
		{"id", e.ID}, {"category", e.Category}, {"action", e.Action}, {"actor", e.Actor},
		{"target", e.Target}, {"request_id", e.RequestID}, {"result", e.Result},
	} {
		if !utf8.ValidString(f.v) {
			return fmt.Errorf("%w: seq %d: %s is not valid UTF-8", ErrNotExportable, e.Seq, f.name)
		}
	}
	for k, v := range e.Metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("%w: seq %d: a metadata key or value is not valid UTF-8", ErrNotExportable, e.Seq)
		}
	}
	if y := e.Time.UTC().Year(); y < 0 || y > 9999 {
		return fmt.Errorf("%w: seq %d: time year %d is outside 0000-9999", ErrNotExportable, e.Seq, y)
	}
	return nil
}

// MarshalLine returns the export line of e, without a line terminator: the
// canonical encoding of e with a last member "hash" holding e.Hash in
// lower-case hex, so the fields are, in order, seq, id, time, category,
// action, actor, target, request_id, result, metadata, prev_hash, hash.
//
// It exports e as it is and does not check e.Hash against the content, so
// that a tampered store exports as tampered. It refuses (ErrNotExportable)
// an event that fails Validate, a Seq below 1, a PrevHash or Hash that is not
// HashSize bytes, and a line longer than MaxLineSize.
func MarshalLine(e *Event) ([]byte, error) {
	return appendLine(nil, e)
}

func appendLine(b []byte, e *Event) ([]byte, error) {
	switch {
	case e == nil:
		return b, fmt.Errorf("%w: nil event", ErrNotExportable)
	case e.Seq < 1:
		return b, fmt.Errorf("%w: seq %d is not positive", ErrNotExportable, e.Seq)
	case len(e.PrevHash) != HashSize:
		return b, fmt.Errorf("%w: seq %d: prev_hash is %d bytes, want %d", ErrNotExportable, e.Seq, len(e.PrevHash), HashSize)
	case len(e.Hash) != HashSize:
		return b, fmt.Errorf("%w: seq %d: hash is %d bytes, want %d", ErrNotExportable, e.Seq, len(e.Hash), HashSize)
	}
	if err := e.Validate(); err != nil {
		return b, err
	}
	start := len(b)
	b = e.AppendCanonical(b)
	b = append(b[:len(b)-1], `,"hash":"`...) // drop the closing '}'
	for _, c := range e.Hash {
		b = append(b, lowerHex[c>>4], lowerHex[c&0xf])
	}
	b = append(b, '"', '}')
	if n := len(b) - start; n > MaxLineSize {
		return b[:start], fmt.Errorf("%w: seq %d: line is %d bytes, more than MaxLineSize", ErrNotExportable, e.Seq, n)
	}
	return b, nil
}

// Exporter writes an export, one event per Write. It is the streaming form
// of Export. It writes events as they are, without checking the chain.
// An Exporter is not safe for concurrent use.
type Exporter struct {
	w   io.Writer
	buf []byte
	err error
}

// NewExporter returns an Exporter writing to w. Each Write issues exactly
// one w.Write of one whole line ending in "\n"; wrap w in a bufio.Writer
// (and flush it) when writing many events to a file or a socket.
func NewExporter(w io.Writer) *Exporter {
	return &Exporter{w: w}
}

// Write writes e's line (MarshalLine) and "\n". An event that cannot be
// exported is an error and writes nothing; the Exporter stays usable. After
// an error from the underlying writer, which may have written part of a
// line, every later Write returns that error.
func (x *Exporter) Write(e *Event) error {
	if x.err != nil {
		return x.err
	}
	b, err := appendLine(x.buf[:0], e)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	x.buf = b
	if _, err := x.w.Write(b); err != nil {
		x.err = fmt.Errorf("audit: export: %w", err)
		return x.err
	}
	return nil
}

// Export writes events to w as an export: each event's MarshalLine followed
// by "\n". It stops at the first event that cannot be exported and returns
// that error; lines already written stay written.
func Export(w io.Writer, events []*Event) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	x := NewExporter(bw)
	for _, e := range events {
		if err := x.Write(e); err != nil {
			// Flush what was written so far so the output ends on a
			// whole line, then report the first error.
			if ferr := bw.Flush(); ferr != nil && x.err == nil {
				return fmt.Errorf("audit: export: %w", ferr)
			}
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("audit: export: %w", err)
	}
	return nil
}
