package audit

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseLine(t *testing.T) {
	base := &Event{Seq: 7, ID: "id", Time: testEpoch, Category: CategoryWallet, Action: "wallet.create",
		Actor: "user:1", Target: "wallet:2", RequestID: "req", Result: ResultSuccess,
		Metadata: map[string]string{"a": "1", "b": "2"},
		PrevHash: bytes.Repeat([]byte{0xab}, HashSize), Hash: bytes.Repeat([]byte{0xcd}, HashSize)}
	with := func(f func(e *Event)) *Event {
		e := cloneEvent(base)
		f(e)
		return e
	}
	okCases := map[string]*Event{
		"ok/basic":       base,
		"ok/no-metadata": with(func(e *Event) { e.Metadata = nil }),
		"ok/empty-strings": with(func(e *Event) {
			e.ID, e.Category, e.Action, e.Actor, e.Target, e.RequestID, e.Result = "", "", "", "", "", "", ""
		}),
		"ok/escapes":        with(func(e *Event) { e.Action = "<&>\"\\\n\r\t\b\f\x00\x1f\x7f/" }),
		"ok/unicode":        with(func(e *Event) { e.Actor = "é€日本🔐\ufffd\u2028\u2029" }),
		"ok/escaped-keys":   with(func(e *Event) { e.Metadata = map[string]string{"<": "1", "=": "2", "\n": "3", "é": "4", "a\"": "5"} }),
		"ok/nanoseconds":    with(func(e *Event) { e.Time = testEpoch.Add(123456789) }),
		"ok/one-nanosecond": with(func(e *Event) { e.Time = testEpoch.Add(1) }),
		"ok/milliseconds":   with(func(e *Event) { e.Time = testEpoch.Add(120 * time.Millisecond) }),
		"ok/leap-day":       with(func(e *Event) { e.Time = time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC) }),
		"ok/year-0":         with(func(e *Event) { e.Time = time.Date(0, 2, 29, 0, 0, 0, 0, time.UTC) }),
		"ok/year-9999":      with(func(e *Event) { e.Time = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC) }),
		"ok/zone-converted": with(func(e *Event) { e.Time = testEpoch.In(time.FixedZone("east", 5*3600)) }),
		"ok/max-seq":        with(func(e *Event) { e.Seq = 1<<63 - 1 }),
		"ok/zero-hashes":    with(func(e *Event) { e.PrevHash, e.Hash = make([]byte, HashSize), make([]byte, HashSize) }),
	}
	for name, e := range okCases {
		t.Run(name, func(t *testing.T) {
			line := mustLine(t, e)
			got, err := ParseLine(line)
			if err != nil {
				t.Fatalf("ParseLine(%s): %v", line, err)
			}
			if !sameEvent(got, e) {
				t.Fatalf("ParseLine = %+v, want %+v", got, e)
			}
			if got.Time.Location() != time.UTC {
				t.Errorf("time location %v, want UTC", got.Time.Location())
			}
			if len(e.Metadata) == 0 && got.Metadata != nil {
				t.Errorf("empty metadata parsed as %#v, want nil", got.Metadata)
			}
			if again := mustLine(t, got); !bytes.Equal(again, line) {
				t.Fatalf("MarshalLine(ParseLine(line)) =\n%s\nwant\n%s", again, line)
			}
			ref, err := refParse(line)
			if err != nil || !sameEvent(ref, e) {
				t.Fatalf("encoding/json reads the line as %+v, %v", ref, err)
			}
		})
	}

	line := string(mustLine(t, base))
	hashA, hashC := strings.Repeat("ab", HashSize), strings.Repeat("cd", HashSize)
	replace := func(old, new string) string {
		if !strings.Contains(line, old) {
			t.Fatalf("test setup: %q not in %s", old, line)
		}
		return strings.Replace(line, old, new, 1)
	}
	failCases := []struct {
		name string
		line string
	}{
		{"fail/empty", ""},
		{"fail/json-null", "null"},
		{"fail/empty-object", "{}"},
		{"fail/bom", "\ufeff" + line},
		{"fail/leading-space", " " + line},
		{"fail/trailing-space", line + " "},
		{"fail/trailing-newline", line + "\n"},
		{"fail/trailing-crlf", line + "\r\n"},
		{"fail/two-objects", line + line},
		{"fail/truncated", line[:len(line)/2]},
		{"fail/truncated-before-brace", line[:len(line)-1]},
		{"fail/space-after-colon", replace(`"id":`, `"id": `)},
		{"fail/space-after-comma", replace(`,"time"`, `, "time"`)},
		{"fail/fields-reordered", replace(`"id":"id","time":"2026-03-01T09:30:00Z"`, `"time":"2026-03-01T09:30:00Z","id":"id"`)},
		{"fail/missing-field", replace(`,"request_id":"req"`, ``)},
		{"fail/missing-hash", replace(`,"hash":"`+hashC+`"`, ``)},
		{"fail/unknown-field", replace(`,"hash":`, `,"extra":"x","hash":`)},
		{"fail/unknown-field-at-end", replace(`"}`, `","x":1}`)},
		{"fail/duplicate-field", replace(`,"time"`, `,"id":"id","time"`)},
		{"fail/field-name-case", replace(`"actor"`, `"Actor"`)},
		{"fail/seq-zero", replace(`"seq":7`, `"seq":0`)},
		{"fail/seq-negative", replace(`"seq":7`, `"seq":-7`)},
		{"fail/seq-leading-zero", replace(`"seq":7`, `"seq":07`)},
		{"fail/seq-plus", replace(`"seq":7`, `"seq":+7`)},
		{"fail/seq-fraction", replace(`"seq":7`, `"seq":7.0`)},
		{"fail/seq-exponent", replace(`"seq":7`, `"seq":7e0`)},
		{"fail/seq-string", replace(`"seq":7`, `"seq":"7"`)},
		{"fail/seq-overflow", replace(`"seq":7`, `"seq":9223372036854775808`)},
		{"fail/seq-too-many-digits", replace(`"seq":7`, `"seq":10000000000000000000000`)},
		{"fail/time-lowercase-z", replace(`00Z"`, `00z"`)},
		{"fail/time-offset", replace(`00Z"`, `00+00:00"`)},
		{"fail/time-no-zone", replace(`00Z"`, `00"`)},
		{"fail/time-lowercase-t", replace(`01T09`, `01t09`)},
		{"fail/time-space", replace(`01T09`, `01 09`)},
		{"fail/time-trailing-zero", replace(`00Z"`, `00.50Z"`)},
		{"fail/time-zero-fraction", replace(`00Z"`, `00.0Z"`)},
		{"fail/time-empty-fraction", replace(`00Z"`, `00.Z"`)},
		{"fail/time-ten-digit-fraction", replace(`00Z"`, `00.1234567891Z"`)},
		{"fail/time-month-13", replace(`2026-03`, `2026-13`)},
		{"fail/time-month-0", replace(`2026-03`, `2026-00`)},
		{"fail/time-day-0", replace(`03-01T`, `03-00T`)},
		{"fail/time-feb-30", replace(`03-01T`, `02-30T`)},
		{"fail/time-feb-29-non-leap", replace(`2026-03-01T`, `2100-02-29T`)},
		{"fail/time-apr-31", replace(`03-01T`, `04-31T`)},
		{"fail/time-hour-24", replace(`T09:`, `T24:`)},
		{"fail/time-minute-60", replace(`:30:`, `:60:`)},
		{"fail/time-second-60", replace(`30:00Z`, `30:60Z`)},
		{"fail/time-five-digit-year", replace(`2026-`, `12026-`)},
		{"fail/time-negative-year", replace(`"2026-`, `"-2026-`)},
		{"fail/time-date-only", replace(`2026-03-01T09:30:00Z`, `2026-03-01`)},
		{"fail/time-escaped", replace(`T09`, `\u005409`)},
		{"fail/time-number", replace(`"2026-03-01T09:30:00Z"`, `1772357400`)},
		{"fail/string-null", replace(`"actor":"user:1"`, `"actor":null`)},
		{"fail/string-number", replace(`"actor":"user:1"`, `"actor":1`)},
		{"fail/string-single-quotes", replace(`"actor":"user:1"`, `"actor":'user:1'`)},
		{"fail/string-unterminated", replace(`"actor":"user:1"`, `"actor":"user:1`)},
		{"fail/raw-newline", replace(`user:1`, "user\n1")},
		{"fail/raw-tab", replace(`user:1`, "user\t1")},
		{"fail/raw-lt", replace(`user:1`, `user<1`)},
		{"fail/raw-ampersand", replace(`user:1`, `user&1`)},
		{"fail/raw-u2028", replace(`user:1`, "user\u20281")},
		{"fail/invalid-utf8", replace(`user:1`, "user\xff1")},
		{"fail/overlong-utf8", replace(`user:1`, "user\xc0\xaf1")},
		{"fail/escaped-slash", replace(`user:1`, `user\/1`)},
		{"fail/escaped-letter", replace(`user:1`, `\u0075ser:1`)},
		{"fail/uppercase-unicode-escape", replace(`user:1`, `user\u003C1`)},
		{"fail/escaped-utf8", replace(`user:1`, `user\u00e91`)},
		{"fail/escaped-emoji-surrogates", replace(`user:1`, `user\ud83d\udd101`)},
		{"fail/lone-surrogate", replace(`user:1`, `user\ud800`)},
		{"fail/replacement-escape", replace(`user:1`, `user\ufffd`)},
		{"fail/long-newline-escape", replace(`user:1`, `user\u000a`)},
		{"fail/invalid-escape", replace(`user:1`, `user\x1`)},
		{"fail/truncated-unicode-escape", replace(`user:1"`, `user\u12"`)},
		{"fail/backslash-at-end", replace(`"user:1"`, `"user:1\"`)},
		{"fail/metadata-null", replace(`{"a":"1","b":"2"}`, `null`)},
		{"fail/metadata-array", replace(`{"a":"1","b":"2"}`, `["a","1"]`)},
		{"fail/metadata-unsorted", replace(`{"a":"1","b":"2"}`, `{"b":"2","a":"1"}`)},
		{"fail/metadata-duplicate-key", replace(`{"a":"1","b":"2"}`, `{"a":"1","a":"2"}`)},
		{"fail/metadata-trailing-comma", replace(`{"a":"1","b":"2"}`, `{"a":"1","b":"2",}`)},
		{"fail/metadata-number-value", replace(`{"a":"1","b":"2"}`, `{"a":1,"b":"2"}`)},
		{"fail/metadata-nested", replace(`{"a":"1","b":"2"}`, `{"a":{},"b":"2"}`)},
		{"fail/metadata-missing-colon", replace(`{"a":"1","b":"2"}`, `{"a""1","b":"2"}`)},
		{"fail/metadata-unterminated", replace(`{"a":"1","b":"2"},"prev_hash"`, `{"a":"1","b":"2","prev_hash"`)},
		{"fail/metadata-key-not-string", replace(`{"a":"1","b":"2"}`, `{a:"1","b":"2"}`)},
		{"fail/hash-uppercase", replace(hashC, strings.ToUpper(hashC))},
		{"fail/hash-short", replace(hashC, hashC[2:])},
		{"fail/hash-long", replace(hashC, hashC+"cd")},
		{"fail/hash-not-hex", replace(hashC, "zz"+hashC[2:])},
		{"fail/hash-empty", replace(`"`+hashC+`"`, `""`)},
		{"fail/hash-null", replace(`"`+hashC+`"`, `null`)},
		{"fail/hash-base64", replace(`"`+hashC+`"`, `"zc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc0="`)},
		{"fail/prev-hash-uppercase", replace(hashA, strings.ToUpper(hashA))},
		{"fail/prev-hash-short", replace(hashA, hashA[:62])},
	}
	for _, tc := range failCases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := ParseLine([]byte(tc.line))
			if !errors.Is(err, ErrMalformedLine) {
				t.Fatalf("ParseLine(%q) = %+v, %v; want ErrMalformedLine", tc.line, e, err)
			}
			var se *syntaxError
			if !errors.As(err, &se) || se.off < 0 || se.off > len(tc.line) {
				t.Fatalf("error %v does not carry a byte offset within the line", err)
			}
			if !strings.HasPrefix(err.Error(), "audit: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestParseCanonicalTime(t *testing.T) {
	for _, s := range []string{
		"0000-01-01T00:00:00Z", "2024-02-29T12:00:00.5Z", "1999-12-31T23:59:59.999999999Z", "2026-03-01T09:30:00.000000001Z",
	} {
		got, ok := parseCanonicalTime([]byte(s))
		if !ok || got.Format(time.RFC3339Nano) != s || got.Location() != time.UTC {
			t.Errorf("parseCanonicalTime(%q) = %v, %v", s, got, ok)
		}
	}
}

// FuzzParseLine checks that ParseLine accepts exactly the canonical lines:
// whatever it accepts re-marshals to the same bytes and reads the same with
// encoding/json, and whatever encoding/json reads into an event whose
// canonical line is the input, ParseLine accepts.
func FuzzParseLine(f *testing.F) {
	for _, e := range makeChain(12, 5) {
		f.Add(mustLine(f, e))
	}
	for _, e := range goldenEvents()[:2] {
		f.Add(mustLine(f, e))
	}
	f.Add([]byte(`{"seq":1,"id":"","time":"0000-01-01T00:00:00Z","category":"","action":"","actor":"","target":"","request_id":"","result":"","metadata":{},"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","hash":"0000000000000000000000000000000000000000000000000000000000000000"}`))
	f.Add([]byte(`{"seq":1}`))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := ParseLine(line)
		if err != nil {
			if !errors.Is(err, ErrMalformedLine) {
				t.Fatalf("error %v does not wrap ErrMalformedLine", err)
			}
			// Completeness: a line encoding/json reads as an event whose
			// canonical line it is must be accepted.
			if ref, rerr := refParse(line); rerr == nil {
				if again, merr := MarshalLine(ref); merr == nil && bytes.Equal(again, line) {
					t.Fatalf("ParseLine rejected a canonical line: %v\n%s", err, line)
				}
			}
			return
		}
		again, err := MarshalLine(e)
		if err != nil {
			t.Fatalf("MarshalLine(ParseLine(%q)): %v", line, err)
		}
		if !bytes.Equal(again, line) {
			t.Fatalf("round trip changed the line:\n got %s\nwant %s", again, line)
		}
		e2, err := ParseLine(again)
		if err != nil || !sameEvent(e, e2) {
			t.Fatalf("parse -> marshal -> parse: %+v, %v; want %+v", e2, err, e)
		}
		ref, err := refParse(line)
		if err != nil || !sameEvent(ref, e) {
			t.Fatalf("encoding/json reads %q as %+v, %v; ParseLine as %+v", line, ref, err, e)
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("parsed event fails Validate: %v", err)
		}
	})
}

// FuzzCanonicalTime checks parseCanonicalTime against the time package:
// it accepts s exactly when time.Parse accepts s and formats it back to s.
func FuzzCanonicalTime(f *testing.F) {
	for _, s := range []string{
		"2026-03-01T09:30:00Z", "2026-03-01T09:30:00.5Z", "2026-03-01T09:30:00.50Z", "2024-02-29T00:00:00Z",
		"2023-02-29T00:00:00Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z", "2026-03-01T24:00:00Z",
		"2026-03-01T09:30:60Z", "2026-03-01T09:30:00+00:00", "2026-03-01T09:30:00.Z", "2026-13-01T09:30:00Z",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseCanonicalTime([]byte(s))
		want, err := time.Parse(time.RFC3339Nano, s)
		wantOK := err == nil && want.UTC().Format(time.RFC3339Nano) == s
		if ok != wantOK {
			t.Fatalf("parseCanonicalTime(%q) ok = %v, want %v (time.Parse: %v, %v)", s, ok, wantOK, want, err)
		}
		if ok && !got.Equal(want) {
			t.Fatalf("parseCanonicalTime(%q) = %v, want %v", s, got, want)
		}
	})
}
