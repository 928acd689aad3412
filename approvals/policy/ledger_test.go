package policy

import (
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

func TestMemoryLedgerMatchesNaiveSum(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for round := range 100 {
		rng := rand.New(rand.NewPCG(uint64(round), 7))
		n := rng.IntN(200)
		var l MemoryLedger // the zero value works
		type e struct {
			at    time.Time
			cents int64
		}
		var all []e
		at := base
		for range n {
			if rng.IntN(4) > 0 { // a quarter of the entries share a time
				at = at.Add(time.Duration(rng.Int64N(int64(2 * time.Hour))))
			}
			c := rng.Int64N(1_000_000_00)
			if err := l.Add(at, c); err != nil {
				t.Fatal(err)
			}
			all = append(all, e{at, c})
		}
		if l.Len() != n {
			t.Fatalf("Len = %d, want %d", l.Len(), n)
		}
		span := at.Sub(base) + 2*time.Hour
		queries := []time.Time{base.Add(-time.Hour), base, at, at.Add(time.Nanosecond)}
		for _, x := range all {
			queries = append(queries, x.at, x.at.Add(-time.Nanosecond), x.at.Add(time.Nanosecond))
		}
		for range 50 {
			queries = append(queries, base.Add(time.Duration(rng.Int64N(int64(span)))))
		}
		for _, q := range queries {
			var wantC, wantN int64
			for _, x := range all {
				if !x.at.Before(q) {
					wantC += x.cents
					wantN++
				}
			}
			gotC, gotN, err := l.Since(q)
			if err != nil || gotC != wantC || gotN != wantN {
				t.Fatalf("round %d: Since(%s) = %d, %d, %v; want %d, %d", round, q, gotC, gotN, err, wantC, wantN)
			}
		}
		last, ok, err := l.Last()
		if err != nil || ok != (n > 0) || (n > 0 && !last.Equal(all[n-1].at)) {
			t.Fatalf("Last = %s, %v, %v", last, ok, err)
		}
	}
}

func TestMemoryLedgerAdd(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		at   time.Time
		c    int64
		want error
	}{
		{"ok/same time", t0, 5, nil},
		{"ok/later", t0.Add(time.Second), 0, nil},
		{"fail/earlier", t0.Add(-time.Nanosecond), 5, ErrLedgerOrder},
		{"fail/negative", t0, -1, ErrLedgerAmount},
		{"fail/overflow", t0, math.MaxInt64, ErrLedgerAmount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewMemoryLedger(2)
			if err := l.Add(t0, 10); err != nil {
				t.Fatal(err)
			}
			if err := l.Add(tt.at, tt.c); !errors.Is(err, tt.want) {
				t.Fatalf("Add = %v, want %v", err, tt.want)
			}
			wantLen := 2
			if tt.want != nil {
				wantLen = 1
			}
			if l.Len() != wantLen {
				t.Fatalf("Len = %d after Add", l.Len())
			}
		})
	}
	t.Run("ok/empty", func(t *testing.T) {
		l := NewMemoryLedger(0)
		c, n, err := l.Since(t0)
		_, ok, err2 := l.Last()
		if c != 0 || n != 0 || err != nil || ok || err2 != nil {
			t.Fatal("empty ledger is not empty")
		}
	})
}

func TestMemoryLedgerConcurrent(t *testing.T) {
	l := NewMemoryLedger(0)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 1000 {
			if err := l.Add(t0.Add(time.Duration(i)*time.Second), 1); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				c, n, err := l.Since(t0)
				if err != nil || c != n {
					t.Errorf("Since = %d, %d, %v", c, n, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if c, n, _ := l.Since(t0); c != 1000 || n != 1000 {
		t.Fatalf("Since = %d, %d", c, n)
	}
}
