package audit

import (
	"bytes"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"
)

var bench1M = sync.OnceValues(func() ([]byte, []byte) {
	// Realistic events: UUID-sized ids, a few metadata entries.
	const n = 1_000_000
	var buf bytes.Buffer
	buf.Grow(n * 520)
	x := NewExporter(&buf)
	var prevSeq int64
	var prevHash []byte
	e := &Event{Category: CategoryTransaction, Result: ResultSuccess}
	for i := range n {
		id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i*7919)
		e.ID = id
		e.Time = testEpoch.Add(time.Duration(i) * 1234567 * time.Microsecond)
		e.Action = "transaction.approve"
		e.Actor = "user:" + id
		e.Target = "transaction:" + id
		e.RequestID = "req-" + strconv.Itoa(i)
		e.Metadata = map[string]string{"ip": "203.0.113.7", "amount": strconv.Itoa(i * 1000), "asset": "ETH"}
		e.Seal(prevSeq, prevHash)
		prevSeq, prevHash = e.Seq, e.Hash
		if err := x.Write(e); err != nil {
			panic(err)
		}
	}
	return buf.Bytes(), prevHash
})

// BenchmarkVerify1M verifies an export of 1,000,000 events held in memory.
func BenchmarkVerify1M(b *testing.B) {
	export, head := bench1M()
	b.SetBytes(int64(len(export)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPUTime()
	for b.Loop() {
		r, err := VerifyWith(bytes.NewReader(export), VerifyOptions{ExpectHead: head})
		if err != nil {
			b.Fatal(err)
		}
		if r.Count != 1_000_000 {
			b.Fatalf("count %d", r.Count)
		}
	}
	b.StopTimer()
	cpu := (processCPUTime() - cpu0).Seconds() / float64(b.N)
	perOp := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(perOp*1e9/1e6, "ns/event")
	b.ReportMetric(perOp, "s/1M")
	b.ReportMetric(cpu, "cpu-s/1M")
	b.ReportMetric(float64(len(export))/1e6, "MB-export")
}

func BenchmarkParseLine(b *testing.B) {
	line := mustLine(b, makeChain(5, 9)[4])
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseLine(line); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalLine(b *testing.B) {
	e := makeChain(5, 9)[4]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MarshalLine(e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkComputeHash(b *testing.B) {
	e := makeChain(5, 9)[4]
	b.ReportAllocs()
	for b.Loop() {
		e.ComputeHash()
	}
}
