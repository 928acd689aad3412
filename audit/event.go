// Package audit defines Custos's hash-chained audit log: the event record,
// its canonical encoding, the chain rule, the JSON-lines export and an
// offline verifier.
//
// Chain rule: event n carries PrevHash = Hash of event n-1 (32 zero bytes for
// the first event) and Hash = SHA-256(domain || canonical encoding of the
// event without its Hash). Sequence numbers start at 1 and increase by one.
// An edited, deleted, inserted or reordered event breaks the rule at the
// first event affected, and the verifier names that event.
//
// Export: one event per line (MarshalLine, Exporter, Export), each line the
// event's canonical encoding with a final "hash" member. The export writes
// events as they are stored, tampered or not; it refuses only events it
// cannot represent faithfully (ErrNotExportable: strings that are not valid
// UTF-8, years outside 0000-9999, malformed hashes, lines over MaxLineSize).
//
// Verification (Verify, VerifyWith) is strict: it accepts a line only if it
// is byte for byte the canonical line of the event it denotes (ParseLine's
// grammar), so no two distinct lines verify as the same event and any
// reader, encoding/json included, sees the same event the verifier checked.
// It reports the first line where the export stops being a valid
// continuation of the chain as a *ChainError. What it cannot see: the chain
// hash is unkeyed, so whoever can write the log can rewrite a whole tail
// with fresh hashes, and can delete events at the end. Both are caught only
// against a head recorded elsewhere (VerifyOptions.ExpectHead, for example a
// signed checkpoint).
package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// Categories.
const (
	CategoryAuth        = "authentication"
	CategoryWallet      = "wallet"
	CategoryTransaction = "transaction"
	CategoryPolicy      = "policy"
	CategoryAdmin       = "administration"
)

// Results.
const (
	ResultSuccess = "success"
	ResultFailure = "failure"
	ResultDenied  = "denied"
)

// HashSize is the size of PrevHash and Hash.
const HashSize = sha256.Size

const domain = "custos/audit/v1\n"

// Event is one audit record.
type Event struct {
	Seq       int64
	ID        string
	Time      time.Time
	Category  string
	Action    string // e.g. "transaction.submit", "auth.login"
	Actor     string // "user:<id>", "apikey:<id>", "system"
	Target    string // e.g. "transaction:<id>"
	RequestID string // HTTP request id, when there is one
	Result    string
	Metadata  map[string]string
	PrevHash  []byte
	Hash      []byte
}

// AppendCanonical appends the canonical encoding of e, without Hash, to b.
// It is a JSON object with a fixed key order, UTC times in RFC 3339 with
// nanoseconds, metadata keys sorted, and hashes in lower-case hex.
//
// Strings are escaped exactly as encoding/json's Marshal escapes them (HTML
// characters, U+2028 and U+2029 included; a byte that is not valid UTF-8
// becomes \ufffd). The escaping is implemented here so the chain rule does
// not depend on the Go release; the tests pin it to encoding/json and to the
// original implementation.
func (e *Event) AppendCanonical(b []byte) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, e.Seq, 10)
	b = appendField(b, "id", e.ID)
	// A formatted UTC time consists of digits, '-', 'T', ':', '.' and 'Z',
	// none of which needs escaping.
	b = append(b, `,"time":"`...)
	b = e.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	b = appendField(b, "category", e.Category)
	b = appendField(b, "action", e.Action)
	b = appendField(b, "actor", e.Actor)
	b = appendField(b, "target", e.Target)
	b = appendField(b, "request_id", e.RequestID)
	b = appendField(b, "result", e.Result)
	b = append(b, `,"metadata":{`...)
	var stack [16]string
	keys := stack[:0]
	for k := range e.Metadata {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, e.Metadata[k])
	}
	b = append(b, '}')
	b = append(b, `,"prev_hash":"`...)
	b = hex.AppendEncode(b, e.PrevHash)
	return append(b, '"', '}')
}

// ComputeHash returns the chain hash of e (ignoring e.Hash).
func (e *Event) ComputeHash() []byte {
	var buf [1024]byte
	b := append(buf[:0], domain...)
	sum := sha256.Sum256(e.AppendCanonical(b))
	return sum[:]
}

// Seal links e after an event with sequence number prevSeq and hash
// prevHash (prevSeq 0 and nil prevHash for the first event) and sets Hash.
func (e *Event) Seal(prevSeq int64, prevHash []byte) {
	e.Seq = prevSeq + 1
	if prevHash == nil {
		prevHash = make([]byte, HashSize)
	}
	e.PrevHash = append([]byte(nil), prevHash...)
	e.Hash = e.ComputeHash()
}

func appendField(b []byte, key, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendString(b, value)
}

// plain[c] reports whether the ASCII byte c is written as itself inside a
// JSON string: everything from 0x20 to 0x7f except '"', '\\', '<', '>' and
// '&', as in encoding/json's htmlSafeSet.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = true
	}
	for _, c := range []byte{'"', '\\', '<', '>', '&'} {
		t[c] = false
	}
	return t
}()

const lowerHex = "0123456789abcdef"

// appendString appends s as a JSON string, escaped byte for byte as
// encoding/json.Marshal escapes it.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if plain[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default: // other control characters, '<', '>', '&'
				b = append(b, '\\', 'u', '0', '0', lowerHex[c>>4], lowerHex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', lowerHex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
