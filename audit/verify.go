package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"strconv"
	"sync"
)

// Errors a ChainError wraps, one per kind of break. Callers branch on them
// with errors.Is.
var (
	// ErrHashMismatch: the line parses but its hash is not the hash of its
	// content, so the event (or its hash field) was edited.
	ErrHashMismatch = errors.New("audit: hash mismatch")
	// ErrSeqGap: the sequence number jumps forward, so events are missing
	// (deleted), or moved further down.
	ErrSeqGap = errors.New("audit: sequence gap")
	// ErrSeqOrder: the sequence number repeats or goes back, so an event was
	// duplicated, inserted or moved.
	ErrSeqOrder = errors.New("audit: sequence out of order")
	// ErrPrevHashMismatch: the sequence number is right but prev_hash is not
	// the previous event's hash, so this event or the previous one was
	// replaced by one with a recomputed hash (or a forged event inserted).
	ErrPrevHashMismatch = errors.New("audit: prev_hash mismatch")
	// ErrHeadMismatch: the chain is internally sound but does not end at
	// VerifyOptions.ExpectHead, so the export was truncated, extended or
	// rewritten.
	ErrHeadMismatch = errors.New("audit: chain head mismatch")
)

// ErrInvalidOptions is wrapped by the error VerifyWith returns for
// inconsistent VerifyOptions.
var ErrInvalidOptions = errors.New("audit: invalid verify options")

// ChainError reports the first place where an export stops being a valid
// continuation of the chain.
//
// Line is the 1-based line number. Seq is the sequence number of the event
// expected at that point, the previous event's Seq plus one; every event
// before it verified. For a break found after the last line (ExpectHead),
// Line is the number of lines plus one. Reason says what was found and what
// it means; Err is ErrMalformedLine or one of the ErrHashMismatch family.
//
// An edit is caught at the edited event; a deletion, insertion or move is
// caught at the first line whose event does not follow the one before, which
// for a forged event carrying a correct seq, prev_hash and hash is the line
// after it. A rewrite of the whole tail from some event on, hashes
// recomputed, is a valid chain: only ExpectHead (a head recorded elsewhere,
// such as a signed checkpoint) catches it.
type ChainError struct {
	Seq    int64
	Line   int
	Reason string
	Err    error
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("audit: chain broken at line %d (seq %d): %s", e.Line, e.Seq, e.Reason)
}

// Unwrap returns Err.
func (e *ChainError) Unwrap() error { return e.Err }

// VerifyOptions says where an export should start and end. The zero value
// expects a complete export from the first event and does not check the
// end.
type VerifyOptions struct {
	// FromSeq and FromHash anchor an export that starts after the first
	// event: its first line must be event FromSeq+1 with prev_hash
	// FromHash. Take them from a trusted source: a signed checkpoint, or
	// the Report of an earlier verification (LastSeq and Head), which makes
	// verification incremental. FromSeq 0 means the export starts at event
	// 1, and FromHash must then be nil or 32 zero bytes.
	FromSeq  int64
	FromHash []byte
	// ExpectHead, when not nil, is the hash the last event must have (the
	// hash covers the seq). Without it, deleting events at the end of the
	// export, or replacing a tail with recomputed hashes, goes unnoticed.
	// For an empty export the head is the anchor: FromHash, or 32 zero
	// bytes.
	ExpectHead []byte
}

// Report summarises a verified export.
type Report struct {
	// Count is the number of events (lines).
	Count int64
	// FirstSeq and LastSeq are the first and last events' Seq; for an empty
	// export FirstSeq is 0 and LastSeq is FromSeq.
	FirstSeq, LastSeq int64
	// Head is the last event's hash (for an empty export, the anchor hash).
	// With LastSeq it anchors the verification of a later export.
	Head []byte
}

// Verify checks a complete export, from event 1, read from r. It is
// VerifyWith with zero options; see there.
func Verify(r io.Reader) (*Report, error) {
	return VerifyWith(r, VerifyOptions{})
}

// VerifyWith checks an export read from r against the chain rule and opts.
// For each line, in order, it checks that the line is well formed
// (ParseLine's grammar), that its hash is the hash of its content
// (ComputeHash), that its seq is one more than the previous (FromSeq+1 for
// the first) and that its prev_hash is the previous event's hash (FromHash,
// or 32 zero bytes, for the first). At the end it compares the head with
// opts.ExpectHead, when set.
//
// Lines end in "\n" or "\r\n" (so an export that passed through a tool
// converting line endings still verifies: the terminator is not part of any
// hash); the last line may lack its terminator. A blank line, including a
// trailing empty line, is malformed.
//
// It reads r as a stream, in the calling goroutine, and stops reading soon
// after the first bad line (it reads at most a few batches of lines ahead).
// Parsing and hashing run on up to GOMAXPROCS goroutines (at most 8) over
// batches of lines while the chain links are checked in order, so the
// result is the same as checking line by line. Memory is bounded by a few
// batches and the longest line (MaxLineSize): tens of MiB at most, whatever
// the size of the export. It returns once all its goroutines have stopped.
//
// A failed check returns a *ChainError naming the first bad line; an error
// reading r is returned wrapped, not as a ChainError, unless a bad line
// comes before it.
func VerifyWith(r io.Reader, opts VerifyOptions) (*Report, error) {
	return verify(r, opts, pipelineConfig{
		workers:    min(runtime.GOMAXPROCS(0), maxWorkers),
		batchLines: 1024,
		batchBytes: 512 << 10,
	})
}

// maxWorkers caps the parsing and hashing goroutines, and with them the
// memory in flight: beyond a few, reading the input is the bottleneck.
const maxWorkers = 8

// pipelineConfig sizes the verification pipeline; tests shrink it to
// exercise batch boundaries.
type pipelineConfig struct {
	workers    int
	batchLines int // a batch ends after this many lines
	batchBytes int // or once it holds this many bytes
}

// batch is a run of consecutive lines, owned in turn by the reader, a
// worker and the collector.
type batch struct {
	data    []byte // the lines, terminators included, back to back
	ends    []int  // ends[i] is the end of line i in data
	results []lineResult
	readErr error         // a read error after the last line
	done    chan struct{} // closed when results are ready
}

// lineResult is the order-independent part of checking a line: parsing
// and hashing.
type lineResult struct {
	info lineInfo
	err  error // why the line is malformed
	sum  [HashSize]byte
}

// lineChecker parses and hashes lines; each worker has its own.
type lineChecker struct {
	scan lineScanner
	buf  []byte // domain || canonical encoding
}

func (c *lineChecker) check(line []byte, res *lineResult) {
	*res = lineResult{}
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
	}
	if len(line) > MaxLineSize {
		res.err = errString("longer than " + strconv.Itoa(MaxLineSize) + " bytes")
		return
	}
	info, err := c.scan.scan(line, nil)
	if err != nil {
		res.err = err
		return
	}
	res.info = info
	// line[:info.body] followed by '}' is the canonical encoding.
	c.buf = append(append(append(c.buf[:0], domain...), line[:info.body]...), '}')
	res.sum = sha256.Sum256(c.buf)
}

func verify(r io.Reader, opts VerifyOptions, cfg pipelineConfig) (*Report, error) {
	v, err := newVerifier(opts)
	if err != nil {
		return nil, err
	}
	cfg.workers = max(cfg.workers, 1)
	nbatch := 2*cfg.workers + 2
	var (
		free  = make(chan *batch, nbatch)
		work  = make(chan *batch, nbatch)
		order = make(chan *batch, nbatch)
		stop  = make(chan struct{}) // closed by the collector when it is done
		wg    sync.WaitGroup
	)
	for range nbatch {
		free <- &batch{}
	}
	for range cfg.workers {
		wg.Go(func() {
			var c lineChecker
			for b := range work {
				start := 0
				for i, end := range b.ends {
					c.check(b.data[start:end], &b.results[i])
					start = end
				}
				close(b.done)
			}
		})
	}
	var (
		report *Report
		result error
	)
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		defer close(stop)
		for b := range order {
			<-b.done
			for i := range b.ends {
				if err := v.link(&b.results[i]); err != nil {
					result = err
					return
				}
			}
			if b.readErr != nil {
				result = b.readErr
				return
			}
			free <- b
		}
		report, result = v.finish()
	}()

	readBatches(r, cfg, free, work, order, stop)
	close(work)
	close(order)
	<-collected
	wg.Wait()
	if result != nil {
		return nil, result
	}
	return report, nil
}

// readBatches reads r into batches and hands each to the workers and, in
// order, to the collector, until the end of r, a read error, an overlong
// line, or stop.
func readBatches(r io.Reader, cfg pipelineConfig, free, work, order chan *batch, stop chan struct{}) {
	br := bufio.NewReaderSize(r, 256<<10)
	var long []byte // a line that did not fit in br's buffer
	for eof := false; !eof; {
		var b *batch
		select {
		case b = <-free:
		case <-stop:
			return
		}
		b.data, b.ends, b.readErr = b.data[:0], b.ends[:0], nil
		b.done = make(chan struct{})
		for len(b.ends) < cfg.batchLines && len(b.data) < cfg.batchBytes {
			line, err := br.ReadSlice('\n')
			if errors.Is(err, bufio.ErrBufferFull) {
				long = append(long[:0], line...)
				for errors.Is(err, bufio.ErrBufferFull) && len(long) <= MaxLineSize+2 {
					line, err = br.ReadSlice('\n')
					long = append(long, line...)
				}
				line = long
				if errors.Is(err, bufio.ErrBufferFull) {
					// Overlong: the collector reports it, and nothing
					// after it matters.
					err = io.EOF
				}
			}
			if err != nil && !errors.Is(err, io.EOF) {
				b.readErr = fmt.Errorf("audit: verify: read export: %w", err)
				eof = true
				break
			}
			if len(line) > 0 {
				b.data = append(b.data, line...)
				b.ends = append(b.ends, len(b.data))
			}
			if err != nil {
				eof = true
				break
			}
		}
		if cap(b.results) < len(b.ends) {
			b.results = make([]lineResult, len(b.ends), cfg.batchLines)
		}
		b.results = b.results[:len(b.ends)]
		select {
		case order <- b:
		case <-stop:
			return
		}
		work <- b // workers always drain work
	}
}

// verifier holds the ordered state of one verification.
type verifier struct {
	opts     VerifyOptions
	lineNo   int
	count    int64
	firstSeq int64
	lastSeq  int64
	head     [HashSize]byte
	// headSeen is set once the head (anchor or event) equals ExpectHead.
	headSeen bool
}

func newVerifier(opts VerifyOptions) (*verifier, error) {
	v := &verifier{opts: opts, lastSeq: opts.FromSeq}
	switch {
	case opts.FromSeq < 0 || opts.FromSeq == math.MaxInt64:
		return nil, fmt.Errorf("%w: FromSeq %d is out of range", ErrInvalidOptions, opts.FromSeq)
	case opts.FromSeq == 0 && opts.FromHash != nil && !bytes.Equal(opts.FromHash, make([]byte, HashSize)):
		return nil, fmt.Errorf("%w: FromHash must be nil or zero when FromSeq is 0", ErrInvalidOptions)
	case opts.FromSeq > 0 && len(opts.FromHash) != HashSize:
		return nil, fmt.Errorf("%w: FromHash must be %d bytes when FromSeq is set", ErrInvalidOptions, HashSize)
	case opts.ExpectHead != nil && len(opts.ExpectHead) != HashSize:
		return nil, fmt.Errorf("%w: ExpectHead must be %d bytes", ErrInvalidOptions, HashSize)
	}
	copy(v.head[:], opts.FromHash) // zero for FromSeq 0
	if opts.ExpectHead != nil && bytes.Equal(opts.ExpectHead, v.head[:]) {
		v.headSeen = true
	}
	return v, nil
}

func (v *verifier) fail(kind error, reason string) error {
	seq := v.lastSeq
	if seq < math.MaxInt64 {
		seq++
	}
	return &ChainError{Seq: seq, Line: v.lineNo, Reason: reason, Err: kind}
}

// prevName names the event the current line should follow.
func (v *verifier) prevName() string {
	switch {
	case v.count > 0:
		return "event " + formatSeq(v.lastSeq)
	case v.opts.FromSeq > 0:
		return "the anchor (event " + formatSeq(v.lastSeq) + ")"
	}
	return "the start of the chain"
}

// link takes the next line's parse-and-hash result, in order, and checks
// it against the chain so far.
func (v *verifier) link(res *lineResult) error {
	v.lineNo++
	if res.err != nil {
		return v.fail(ErrMalformedLine, "malformed line: "+res.err.Error())
	}
	info := &res.info
	if v.headSeen {
		return v.fail(ErrHeadMismatch, fmt.Sprintf(
			"extended: the expected head is %s, but the export continues after it", v.prevName()))
	}

	// The content must hash to the hash field: otherwise it was edited.
	if res.sum != info.hash {
		return v.fail(ErrHashMismatch, fmt.Sprintf(
			"edited: the content of event %d does not match its hash %s (the content hashes to %s)",
			info.seq, hex.EncodeToString(info.hash[:]), hex.EncodeToString(res.sum[:])))
	}

	// It is a self-consistent event: does it follow the previous one?
	if v.lastSeq == math.MaxInt64 {
		return v.fail(ErrSeqOrder, fmt.Sprintf("reordered or inserted: event %d follows event %d, the largest possible", info.seq, v.lastSeq))
	}
	want := v.lastSeq + 1
	switch {
	case info.seq > want && v.count == 0 && v.opts.FromSeq == 0:
		return v.fail(ErrSeqGap, fmt.Sprintf(
			"deleted: the export starts at event %d, not 1 (to verify a partial export, anchor it with VerifyOptions.FromSeq and FromHash)",
			info.seq))
	case info.seq > want:
		missing := "event " + formatSeq(want) + " is"
		if info.seq-want > 1 {
			missing = "events " + formatSeq(want) + " to " + formatSeq(info.seq-1) + " are"
		}
		return v.fail(ErrSeqGap, fmt.Sprintf(
			"deleted: event %d follows %s; %s missing (deleted, or moved further down)",
			info.seq, v.prevName(), missing))
	case info.seq < want && v.count == 0:
		return v.fail(ErrSeqOrder, fmt.Sprintf(
			"inserted or reordered: the export starts at event %d, but the anchor is event %d so it should start at %d",
			info.seq, v.lastSeq, want))
	case info.seq == v.lastSeq:
		return v.fail(ErrSeqOrder, fmt.Sprintf(
			"duplicated or inserted: a second event %d follows event %d (a copy, or a forged event before this one)",
			info.seq, v.lastSeq))
	case info.seq < want:
		return v.fail(ErrSeqOrder, fmt.Sprintf(
			"reordered or inserted: event %d follows %s, where event %d belongs",
			info.seq, v.prevName(), want))
	}
	if info.prevHash != v.head {
		cause := "this event is not the one that was chained here, or the previous one was edited and its hash recomputed"
		if v.count == 0 && v.opts.FromSeq > 0 {
			cause = "this event is not the one that was chained here, or the anchor is wrong"
		}
		return v.fail(ErrPrevHashMismatch, fmt.Sprintf(
			"inserted or replaced: event %d's prev_hash %s is not the hash %s of %s; %s",
			info.seq, hex.EncodeToString(info.prevHash[:]), hex.EncodeToString(v.head[:]), v.prevName(), cause))
	}

	if v.count == 0 {
		v.firstSeq = info.seq
	}
	v.count++
	v.lastSeq = info.seq
	v.head = info.hash
	if v.opts.ExpectHead != nil && bytes.Equal(v.opts.ExpectHead, info.hash[:]) {
		v.headSeen = true
	}
	return nil
}

func (v *verifier) finish() (*Report, error) {
	if v.opts.ExpectHead != nil && !v.headSeen {
		v.lineNo++
		what, deleted := "the export is empty", "all events were deleted"
		if v.count > 0 || v.opts.FromSeq > 0 {
			deleted = "events after event " + formatSeq(v.lastSeq) + " were deleted"
		}
		if v.count > 0 {
			what = fmt.Sprintf("the export ends at event %d with hash %x", v.lastSeq, v.head[:])
		}
		return nil, v.fail(ErrHeadMismatch, fmt.Sprintf(
			"truncated or rewritten: %s, not at the expected head %s; %s, or the chain was rewritten",
			what, hex.EncodeToString(v.opts.ExpectHead), deleted))
	}
	return &Report{
		Count:    v.count,
		FirstSeq: v.firstSeq,
		LastSeq:  v.lastSeq,
		Head:     append([]byte(nil), v.head[:]...),
	}, nil
}
