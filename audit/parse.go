package audit

import (
	"bytes"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// ParseLine decodes one line of an export (without its line terminator).
//
// It accepts exactly the bytes MarshalLine produces and nothing else: the
// fields in canonical order, no whitespace, no unknown or missing fields, seq
// a positive decimal without leading zeros, time in RFC 3339 UTC as the
// canonical encoding writes it (trailing fractional zeros removed, "Z"),
// strings escaped as encoding/json escapes them, metadata keys sorted and
// distinct, hashes 32 bytes in lower-case hex. So for every line it accepts,
// MarshalLine of the result reproduces the line byte for byte, and the
// line's hash field can be checked with ComputeHash. ParseLine does not
// check the hash; Verify does.
//
// An empty metadata object yields a nil Metadata map. Errors wrap
// ErrMalformedLine.
func ParseLine(line []byte) (*Event, error) {
	e := new(Event)
	var s lineScanner
	if _, err := s.scan(line, e); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedLine, err)
	}
	return e, nil
}

// lineInfo is what Verify needs from a line.
type lineInfo struct {
	seq      int64
	prevHash [HashSize]byte
	hash     [HashSize]byte
	// body is the length of the line up to the `,"hash":` member, so that
	// line[:body] followed by '}' is the event's canonical encoding.
	body int
}

// syntaxError is a malformed-line detail: the byte offset and what was
// wrong there.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("byte %d: %s", e.off, e.msg)
}

// lineScanner checks a line against the export grammar. It keeps scratch
// buffers between lines so that Verify does not allocate per event.
type lineScanner struct {
	line []byte
	pos  int
	// keys holds the decoded previous and current metadata keys when they
	// contain escapes; enc holds a re-encoding for the canonical check.
	keys [2][]byte
	val  []byte
	enc  []byte
}

func (s *lineScanner) fail(msg string) error {
	return &syntaxError{off: s.pos, msg: msg}
}

// scan checks line and, when e is not nil, fills in e.
func (s *lineScanner) scan(line []byte, e *Event) (lineInfo, error) {
	var info lineInfo
	s.line, s.pos = line, 0
	if len(line) == 0 {
		return info, s.fail("blank line")
	}
	if !s.literal(`{"seq":`) {
		return info, s.fail(`expected {"seq":`)
	}
	seq, err := s.seq()
	if err != nil {
		return info, err
	}
	info.seq = seq
	if e != nil {
		e.Seq = seq
	}
	fields := [...]struct {
		lit string
		dst func(*Event) *string
	}{
		{`,"id":`, func(e *Event) *string { return &e.ID }},
		{`,"time":`, nil},
		{`,"category":`, func(e *Event) *string { return &e.Category }},
		{`,"action":`, func(e *Event) *string { return &e.Action }},
		{`,"actor":`, func(e *Event) *string { return &e.Actor }},
		{`,"target":`, func(e *Event) *string { return &e.Target }},
		{`,"request_id":`, func(e *Event) *string { return &e.RequestID }},
		{`,"result":`, func(e *Event) *string { return &e.Result }},
	}
	for _, f := range fields {
		if !s.literal(f.lit) {
			return info, s.fail("expected field " + f.lit[1:len(f.lit)-1])
		}
		if f.dst == nil {
			if err := s.time(e); err != nil {
				return info, err
			}
			continue
		}
		v, err := s.str(&s.val)
		if err != nil {
			return info, err
		}
		if e != nil {
			*f.dst(e) = string(v)
		}
	}
	if !s.literal(`,"metadata":{`) {
		return info, s.fail(`expected field "metadata" with an object`)
	}
	if err := s.metadata(e); err != nil {
		return info, err
	}
	if !s.literal(`,"prev_hash":`) {
		return info, s.fail(`expected field "prev_hash"`)
	}
	if err := s.hash(&info.prevHash); err != nil {
		return info, err
	}
	info.body = s.pos
	if !s.literal(`,"hash":`) {
		return info, s.fail(`expected field "hash"`)
	}
	if err := s.hash(&info.hash); err != nil {
		return info, err
	}
	if !s.literal(`}`) {
		return info, s.fail(`expected } after "hash"`)
	}
	if s.pos != len(line) {
		return info, s.fail("unexpected data after the event object")
	}
	if e != nil {
		e.PrevHash = append([]byte(nil), info.prevHash[:]...)
		e.Hash = append([]byte(nil), info.hash[:]...)
	}
	return info, nil
}

// literal consumes lit if the line continues with it.
func (s *lineScanner) literal(lit string) bool {
	if !bytes.HasPrefix(s.line[s.pos:], []byte(lit)) {
		return false
	}
	s.pos += len(lit)
	return true
}

// seq scans a positive decimal int64 without sign or leading zeros.
func (s *lineScanner) seq() (int64, error) {
	start := s.pos
	for s.pos < len(s.line) && s.line[s.pos] >= '0' && s.line[s.pos] <= '9' {
		s.pos++
	}
	digits := s.line[start:s.pos]
	switch {
	case len(digits) == 0:
		s.pos = start
		return 0, s.fail("seq: expected a positive integer")
	case digits[0] == '0':
		s.pos = start
		return 0, s.fail("seq: expected a positive integer without leading zeros")
	case len(digits) > 19:
		s.pos = start
		return 0, s.fail("seq: out of range")
	}
	var n uint64
	for _, c := range digits {
		n = n*10 + uint64(c-'0')
	}
	if n > 1<<63-1 {
		s.pos = start
		return 0, s.fail("seq: out of range")
	}
	return int64(n), nil
}

// str scans a JSON string in canonical form and returns its decoded value,
// which aliases the line when the string has no escapes and is otherwise
// decoded into *buf.
func (s *lineScanner) str(buf *[]byte) ([]byte, error) {
	line := s.line
	if s.pos >= len(line) || line[s.pos] != '"' {
		return nil, s.fail("expected a string")
	}
	start := s.pos + 1
	i := start
	for i < len(line) && plain[line[i]] {
		i++
	}
	if i < len(line) && line[i] == '"' {
		s.pos = i + 1
		return line[start:i], nil
	}
	// Escapes or non-ASCII bytes: find the closing quote, decode, and
	// require that re-encoding gives back exactly the same bytes.
	for ; i < len(line) && line[i] != '"'; i++ {
		if line[i] == '\\' {
			i++
		}
	}
	if i >= len(line) {
		return nil, s.fail("unterminated string")
	}
	raw := line[s.pos : i+1]
	dec, err := decodeString(raw[1:len(raw)-1], (*buf)[:0])
	*buf = dec
	if err != nil {
		return nil, s.fail(err.Error())
	}
	s.enc = appendString(s.enc[:0], string(dec))
	if !bytes.Equal(s.enc, raw) {
		return nil, s.fail("string is not in canonical form (invalid UTF-8, a raw control or HTML character, or a non-canonical escape)")
	}
	s.pos = i + 1
	return dec, nil
}

// decodeString decodes the contents of a JSON string (between the quotes)
// into b. Raw bytes are copied as they are; the caller's canonical check
// rejects what encoding/json would have escaped.
func decodeString(raw, b []byte) ([]byte, error) {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			b = append(b, c)
			continue
		}
		i++
		if i >= len(raw) {
			return b, errString("truncated escape")
		}
		switch raw[i] {
		case '"', '\\', '/':
			b = append(b, raw[i])
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := hex4(raw[i+1:])
			if !ok {
				return b, errString(`invalid \u escape`)
			}
			i += 4
			if utf16IsHigh(r) {
				if r2, ok := hex4(raw[min(i+3, len(raw)):]); ok && i+2 < len(raw) &&
					raw[i+1] == '\\' && raw[i+2] == 'u' && utf16IsLow(r2) {
					r = 0x10000 + (r-0xd800)<<10 + (r2 - 0xdc00)
					i += 6
				}
			}
			// A lone surrogate becomes U+FFFD, which then fails the
			// canonical check.
			b = utf8.AppendRune(b, r)
		default:
			return b, errString("invalid escape")
		}
	}
	return b, nil
}

type errString string

func (e errString) Error() string { return string(e) }

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

func utf16IsHigh(r rune) bool { return r >= 0xd800 && r < 0xdc00 }
func utf16IsLow(r rune) bool  { return r >= 0xdc00 && r < 0xe000 }

// time scans the time string. The canonical form is what
// Time.UTC().AppendFormat(time.RFC3339Nano) writes for a year in 0000-9999:
// "YYYY-MM-DDTHH:MM:SS", then optionally '.' and 1 to 9 digits not ending in
// 0, then 'Z'.
func (s *lineScanner) time(e *Event) error {
	start := s.pos
	v, err := s.str(&s.val)
	if err != nil {
		return err
	}
	t, ok := parseCanonicalTime(v)
	if !ok {
		s.pos = start
		return s.fail("time: not an RFC 3339 UTC time in canonical form")
	}
	if e != nil {
		e.Time = t
	}
	return nil
}

// parseCanonicalTime parses v if it is a canonical time.
func parseCanonicalTime(v []byte) (time.Time, bool) {
	const layout = "dddd-dd-ddTdd:dd:dd"
	if len(v) < len(layout)+1 || v[len(v)-1] != 'Z' {
		return time.Time{}, false
	}
	for i := range len(layout) {
		if layout[i] == 'd' {
			if v[i] < '0' || v[i] > '9' {
				return time.Time{}, false
			}
		} else if v[i] != layout[i] {
			return time.Time{}, false
		}
	}
	num := func(i, n int) int {
		x := 0
		for _, c := range v[i : i+n] {
			x = x*10 + int(c-'0')
		}
		return x
	}
	year, month, day := num(0, 4), num(5, 2), num(8, 2)
	hour, minute, sec := num(11, 2), num(14, 2), num(17, 2)
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	if frac := v[len(layout) : len(v)-1]; len(frac) > 0 {
		digits := frac[1:]
		if frac[0] != '.' || len(digits) < 1 || len(digits) > 9 || digits[len(digits)-1] == '0' {
			return time.Time{}, false
		}
		for _, c := range digits {
			if c < '0' || c > '9' {
				return time.Time{}, false
			}
			nsec = nsec*10 + int(c-'0')
		}
		for range 9 - len(digits) {
			nsec *= 10
		}
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// metadata scans the members of the metadata object after its '{' and the
// closing '}'. Keys must be strictly increasing in byte order, which is the
// order sort.Strings gives and rules out duplicates.
func (s *lineScanner) metadata(e *Event) error {
	if s.pos < len(s.line) && s.line[s.pos] == '}' {
		s.pos++
		return nil
	}
	var prev []byte
	for n := 0; ; n++ {
		keyStart := s.pos
		key, err := s.str(&s.keys[n&1])
		if err != nil {
			return err
		}
		if n > 0 && bytes.Compare(prev, key) >= 0 {
			s.pos = keyStart
			if bytes.Equal(prev, key) {
				return s.fail("metadata: duplicate key")
			}
			return s.fail("metadata: keys not in sorted order")
		}
		prev = key
		if !s.literal(":") {
			return s.fail("metadata: expected ':'")
		}
		val, err := s.str(&s.val)
		if err != nil {
			return err
		}
		if e != nil {
			if e.Metadata == nil {
				e.Metadata = make(map[string]string)
			}
			e.Metadata[string(key)] = string(val)
		}
		if s.pos < len(s.line) && s.line[s.pos] == '}' {
			s.pos++
			return nil
		}
		if !s.literal(",") {
			return s.fail("metadata: expected ',' or '}'")
		}
	}
}

// hash scans a string of exactly 64 lower-case hex digits into h.
func (s *lineScanner) hash(h *[HashSize]byte) error {
	const n = 2*HashSize + 2
	v := s.line[s.pos:]
	if len(v) < n || v[0] != '"' || v[n-1] != '"' {
		return s.fail("hash: expected a string of 64 lower-case hex digits")
	}
	v = v[1 : n-1]
	var bad byte
	for i := range h {
		hi, lo := hexVal[v[2*i]], hexVal[v[2*i+1]]
		bad |= hi | lo
		h[i] = hi<<4 | lo
	}
	if bad&0x80 != 0 {
		return s.fail("hash: expected a string of 64 lower-case hex digits")
	}
	s.pos += n
	return nil
}

// hexVal maps a lower-case hex digit to its value and every other byte to
// 0xff.
var hexVal = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i, c := range []byte(lowerHex) {
		t[c] = byte(i)
	}
	return t
}()

// formatSeq is strconv.FormatInt in base 10, for messages.
func formatSeq(n int64) string { return strconv.FormatInt(n, 10) }
