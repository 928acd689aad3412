package audit

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"
)

// goldenEvents returns three linked events sealed with the current code.
// Their canonical encodings and hashes were recorded with the original
// (encoding/json based) implementation, before it was optimised.
func goldenEvents() []*Event {
	t0 := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	e1 := &Event{ID: "a", Time: t0, Category: CategoryAuth, Action: "auth.login", Actor: "user:1", Result: ResultSuccess}
	e1.Seal(0, nil)
	e2 := &Event{ID: "b", Time: t0.Add(1500 * time.Millisecond).In(time.FixedZone("x", 3600)), Category: CategoryTransaction,
		Action: "transaction.submit", Actor: "apikey:<&>", Target: "transaction:\"q\"\n", RequestID: "r\u2028é\x01",
		Result: ResultDenied, Metadata: map[string]string{"z": "1", "a": "x\\y", "é": "🔐"}}
	e2.Seal(e1.Seq, e1.Hash)
	e3 := &Event{ID: "c\xff", Time: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), Metadata: map[string]string{}}
	e3.Seal(e2.Seq, e2.Hash)
	return []*Event{e1, e2, e3}
}

func TestChainRuleGoldenVectors(t *testing.T) {
	want := []struct{ canonical, hash string }{
		{`{"seq":1,"id":"a","time":"2026-03-01T09:30:00Z","category":"authentication","action":"auth.login","actor":"user:1","target":"","request_id":"","result":"success","metadata":{},"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000"}`,
			"4a3943957763b7df4cb797c771853c07a8d03b80ece3aba1fa12ab7c7baae858"},
		{`{"seq":2,"id":"b","time":"2026-03-01T09:30:01.5Z","category":"transaction","action":"transaction.submit","actor":"apikey:\u003c\u0026\u003e","target":"transaction:\"q\"\n","request_id":"r\u2028é\u0001","result":"denied","metadata":{"a":"x\\y","z":"1","é":"🔐"},"prev_hash":"4a3943957763b7df4cb797c771853c07a8d03b80ece3aba1fa12ab7c7baae858"}`,
			"fe1a9baa05c8fa1cfe7ecedae6cd6611125bfd971728caadc72a5ec22910def7"},
		{`{"seq":3,"id":"c\ufffd","time":"0001-01-01T00:00:00.000000001Z","category":"","action":"","actor":"","target":"","request_id":"","result":"","metadata":{},"prev_hash":"fe1a9baa05c8fa1cfe7ecedae6cd6611125bfd971728caadc72a5ec22910def7"}`,
			"a0273665bc6115bb14e01109700f0c76ba2a629d8e8d12bbe79a014809bcd52d"},
	}
	for i, e := range goldenEvents() {
		if got := string(e.AppendCanonical(nil)); got != want[i].canonical {
			t.Errorf("event %d canonical:\n got %s\nwant %s", i+1, got, want[i].canonical)
		}
		if got := hex.EncodeToString(e.Hash); got != want[i].hash {
			t.Errorf("event %d hash = %s, want %s", i+1, got, want[i].hash)
		}
	}
}

func TestAppendCanonicalMatchesReference(t *testing.T) {
	events := append(makeChain(300, 1), goldenEvents()...)
	// Events the generator does not make: odd times, short hashes, many
	// metadata keys (more than the stack array), invalid UTF-8.
	many := map[string]string{}
	for _, s := range sampleStrings {
		many[s] = s
		many[s+"\xc3"] = "\xe2\x28\xa1" + s
	}
	events = append(events,
		&Event{Seq: -5, Time: time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC), PrevHash: []byte{1, 2}},
		&Event{Seq: 1 << 62, Time: time.Date(-3, 1, 1, 0, 0, 0, 0, time.FixedZone("y", -7200)), Metadata: many},
		&Event{Time: time.Unix(1, 0).In(time.Local)},
	)
	for _, e := range events {
		if got, want := e.AppendCanonical([]byte("prefix")), refAppendCanonical(e, []byte("prefix")); !bytes.Equal(got, want) {
			t.Fatalf("seq %d: canonical\n got %s\nwant %s", e.Seq, got, want)
		}
		if got, want := e.ComputeHash(), refComputeHash(e); !bytes.Equal(got, want) {
			t.Fatalf("seq %d: ComputeHash %x, want %x", e.Seq, got, want)
		}
	}
}

func TestSeal(t *testing.T) {
	e := &Event{Action: "x", Time: testEpoch}
	e.Seal(0, nil)
	if e.Seq != 1 || !bytes.Equal(e.PrevHash, make([]byte, HashSize)) || !bytes.Equal(e.Hash, refComputeHash(e)) {
		t.Fatalf("Seal(0, nil) = seq %d prev %x hash %x", e.Seq, e.PrevHash, e.Hash)
	}
	prev := bytes.Repeat([]byte{7}, HashSize)
	f := &Event{Action: "y", Time: testEpoch}
	f.Seal(41, prev)
	prev[0] = 0 // Seal must have copied it
	if f.Seq != 42 || f.PrevHash[0] != 7 || !bytes.Equal(f.Hash, refComputeHash(f)) {
		t.Fatalf("Seal(41, prev) = seq %d prev %x hash %x", f.Seq, f.PrevHash, f.Hash)
	}
}

func TestComputeHashAllocs(t *testing.T) {
	e := makeChain(1, 3)[0]
	e.Metadata = map[string]string{"k": "v", "ip": "10.0.0.1"}
	// One allocation: the returned slice.
	if n := testing.AllocsPerRun(100, func() { e.ComputeHash() }); n > 1 {
		t.Errorf("ComputeHash allocates %v times, want at most 1", n)
	}
}

// FuzzAppendString pins appendString to encoding/json's escaping.
func FuzzAppendString(f *testing.F) {
	for _, s := range sampleStrings {
		f.Add(s)
	}
	f.Add("\xff\xfe invalid \xc3 utf8 \xed\xa0\x80 surrogate")
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
	})
}

// FuzzAppendCanonical compares the optimised encoding with the original
// one on arbitrary events.
func FuzzAppendCanonical(f *testing.F) {
	f.Add(int64(1), "id", int64(0), "act", "k", "v", "k2", "v2", []byte{1})
	f.Add(int64(-9), "\xff<", int64(-62135596800), "\u2028", "é", "\x00", "", "\"", []byte{})
	f.Fuzz(func(t *testing.T, seq int64, s1 string, unix int64, s2, k1, v1, k2, v2 string, prev []byte) {
		e := &Event{Seq: seq, ID: s1, Time: time.Unix(unix, seq%1e9), Category: s2, Action: s1 + s2,
			Actor: k1, Target: v1, RequestID: k2, Result: v2,
			Metadata: map[string]string{k1: v1, k2: v2}, PrevHash: prev}
		if got, want := e.AppendCanonical(nil), refAppendCanonical(e, nil); !bytes.Equal(got, want) {
			t.Fatalf("canonical\n got %s\nwant %s", got, want)
		}
		if got, want := e.ComputeHash(), refComputeHash(e); !bytes.Equal(got, want) {
			t.Fatalf("hash %x, want %x", got, want)
		}
	})
}
