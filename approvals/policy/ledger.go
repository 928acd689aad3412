package policy

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"
)

// Ledger is one wallet's record of counted transfers (the ones that count
// against its limits; which ones count is the caller's choice, typically
// allowed and pending ones). Evaluate queries it at most five times per
// transfer. Any error makes the decision an error, never an allow.
type Ledger interface {
	// Since returns the EUR cents and number of counted transfers at or after t.
	Since(t time.Time) (eurCents, count int64, err error)
	// Last returns the time of the most recent counted transfer; ok false if none.
	Last() (at time.Time, ok bool, err error)
}

var _ Ledger = (*MemoryLedger)(nil)

// Errors of MemoryLedger.Add.
var (
	ErrLedgerOrder  = errors.New("policy: ledger entry earlier than the last one")
	ErrLedgerAmount = errors.New("policy: ledger entry amount negative or total overflows")
)

// MemoryLedger is an in-memory, append-only Ledger with times that never
// decrease. It keeps prefix sums, so Since is a binary search (O(log n)) and
// Add is O(1) amortised. It is safe for concurrent use. The zero value is an
// empty ledger.
type MemoryLedger struct {
	mu    sync.RWMutex
	times []time.Time
	cum   []int64 // cum[i] = sum of cents of entries 0..i
}

// NewMemoryLedger returns an empty ledger with room for n entries.
func NewMemoryLedger(n int) *MemoryLedger {
	return &MemoryLedger{times: make([]time.Time, 0, n), cum: make([]int64, 0, n)}
}

// Add appends a transfer of eurCents at time at. It fails with
// ErrLedgerOrder when at is before the last entry, and ErrLedgerAmount when
// eurCents is negative or the total would overflow int64.
func (l *MemoryLedger) Add(at time.Time, eurCents int64) error {
	at = at.Round(0) // wall clock only
	l.mu.Lock()
	defer l.mu.Unlock()
	var total int64
	if n := len(l.times); n > 0 {
		if at.Before(l.times[n-1]) {
			return fmt.Errorf("%w: %s before %s", ErrLedgerOrder, at.UTC().Format(time.RFC3339Nano), l.times[n-1].UTC().Format(time.RFC3339Nano))
		}
		total = l.cum[n-1]
	}
	if eurCents < 0 || eurCents > math.MaxInt64-total {
		return ErrLedgerAmount
	}
	l.times = append(l.times, at)
	l.cum = append(l.cum, total+eurCents)
	return nil
}

// Len returns the number of entries.
func (l *MemoryLedger) Len() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.times)
}

// Since implements Ledger.
func (l *MemoryLedger) Since(t time.Time) (eurCents, count int64, err error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	n := len(l.times)
	if n == 0 {
		return 0, 0, nil
	}
	i := sort.Search(n, func(i int) bool { return !l.times[i].Before(t) })
	if i == n {
		return 0, 0, nil
	}
	var before int64
	if i > 0 {
		before = l.cum[i-1]
	}
	return l.cum[n-1] - before, int64(n - i), nil
}

// Last implements Ledger.
func (l *MemoryLedger) Last() (at time.Time, ok bool, err error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if len(l.times) == 0 {
		return time.Time{}, false, nil
	}
	return l.times[len(l.times)-1], true, nil
}
