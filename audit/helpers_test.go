package audit

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

var testEpoch = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

// sampleStrings mixes plain ASCII with everything the canonical encoding
// escapes or passes through raw.
var sampleStrings = []string{
	"", "system", "user:7c1e", "transaction.submit", "a<b>&c", `quote " and \ backslash`,
	"line\nbreak\ttab\r", "ctl\x00\x01\x1f\x7f", "\b\f", "héllo wörld €", "日本語",
	"emoji 🔐", "sep\u2028\u2029", "\ufffd real replacement char", "/slash/", "apikey:9f",
}

// makeChain returns n sealed, linked events with varied content, the same
// for the same seed.
func makeChain(n int, seed uint64) []*Event {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	pick := func() string { return sampleStrings[rng.IntN(len(sampleStrings))] }
	events := make([]*Event, 0, n)
	var prevSeq int64
	var prevHash []byte
	for i := range n {
		e := &Event{
			ID:        fmt.Sprintf("evt-%d-%s", i, pick()),
			Time:      testEpoch.Add(time.Duration(i)*time.Second + time.Duration(rng.IntN(3))*time.Duration(rng.Int64N(1e9))),
			Category:  []string{CategoryAuth, CategoryWallet, CategoryTransaction, CategoryPolicy, CategoryAdmin}[rng.IntN(5)],
			Action:    pick(),
			Actor:     pick(),
			Target:    pick(),
			RequestID: pick(),
			Result:    []string{ResultSuccess, ResultFailure, ResultDenied}[rng.IntN(3)],
		}
		if m := rng.IntN(4); m > 0 {
			e.Metadata = map[string]string{}
			for range m {
				e.Metadata[pick()] = pick()
			}
		}
		e.Seal(prevSeq, prevHash)
		prevSeq, prevHash = e.Seq, e.Hash
		events = append(events, e)
	}
	return events
}

func exportBytes(t testing.TB, events []*Event) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Export(&buf, events); err != nil {
		t.Fatalf("Export: %v", err)
	}
	return buf.Bytes()
}

func mustLine(t testing.TB, e *Event) []byte {
	t.Helper()
	b, err := MarshalLine(e)
	if err != nil {
		t.Fatalf("MarshalLine(seq %d): %v", e.Seq, err)
	}
	return b
}

func cloneEvent(e *Event) *Event {
	c := *e
	c.Metadata = maps.Clone(e.Metadata)
	c.PrevHash = bytes.Clone(e.PrevHash)
	c.Hash = bytes.Clone(e.Hash)
	return &c
}

// sameEvent reports whether a and b have the same meaning: equal fields,
// times equal as instants, nil and empty metadata alike.
func sameEvent(a, b *Event) bool {
	return a.Seq == b.Seq && a.ID == b.ID && a.Time.Equal(b.Time) &&
		a.Category == b.Category && a.Action == b.Action && a.Actor == b.Actor &&
		a.Target == b.Target && a.RequestID == b.RequestID && a.Result == b.Result &&
		maps.Equal(a.Metadata, b.Metadata) &&
		bytes.Equal(a.PrevHash, b.PrevHash) && bytes.Equal(a.Hash, b.Hash)
}

// refLine is the export line as encoding/json sees it: an independent
// decoder for differential checks.
type refLine struct {
	Seq       int64             `json:"seq"`
	ID        string            `json:"id"`
	Time      string            `json:"time"`
	Category  string            `json:"category"`
	Action    string            `json:"action"`
	Actor     string            `json:"actor"`
	Target    string            `json:"target"`
	RequestID string            `json:"request_id"`
	Result    string            `json:"result"`
	Metadata  map[string]string `json:"metadata"`
	PrevHash  string            `json:"prev_hash"`
	Hash      string            `json:"hash"`
}

// refParse decodes line with encoding/json.
func refParse(line []byte) (*Event, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var r refLine
	if err := dec.Decode(&r); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data")
	}
	t, err := time.Parse(time.RFC3339Nano, r.Time)
	if err != nil {
		return nil, err
	}
	prev, err := hex.DecodeString(r.PrevHash)
	if err != nil {
		return nil, err
	}
	h, err := hex.DecodeString(r.Hash)
	if err != nil {
		return nil, err
	}
	return &Event{Seq: r.Seq, ID: r.ID, Time: t, Category: r.Category, Action: r.Action,
		Actor: r.Actor, Target: r.Target, RequestID: r.RequestID, Result: r.Result,
		Metadata: r.Metadata, PrevHash: prev, Hash: h}, nil
}

// refVerify is a slow, independent verifier: encoding/json to decode,
// the original chain-rule code to hash. It returns the decoded events.
func refVerify(export []byte, expectHead []byte) ([]*Event, error) {
	text := string(export)
	if text == "" {
		if expectHead != nil && !bytes.Equal(expectHead, make([]byte, HashSize)) {
			return nil, fmt.Errorf("head")
		}
		return nil, nil
	}
	text = strings.TrimSuffix(text, "\n")
	var events []*Event
	prev := make([]byte, HashSize)
	for i, l := range strings.Split(text, "\n") {
		l = strings.TrimSuffix(l, "\r")
		e, err := refParse([]byte(l))
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", i+1, err)
		}
		if e.Seq != int64(i+1) || !bytes.Equal(e.PrevHash, prev) || !bytes.Equal(refComputeHash(e), e.Hash) {
			return nil, fmt.Errorf("line %d: chain broken", i+1)
		}
		prev = e.Hash
		events = append(events, e)
	}
	if expectHead != nil && !bytes.Equal(prev, expectHead) {
		return nil, fmt.Errorf("head")
	}
	return events, nil
}
