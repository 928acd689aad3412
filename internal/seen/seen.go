// Package seen is a bounded set of 32-byte keys, safe for concurrent use:
// the memory of pure checks that passed (a signature that verified, an
// element that decoded), so that the same input is not checked in full
// again. Only what passed is added; when the set is full it starts again
// empty, so an adversary filling it only brings back the full cost.
package seen

import "sync"

// Set is a bounded set of 32-byte keys. The zero value is not usable; use
// New.
type Set struct {
	mu  sync.Mutex
	max int
	m   map[[32]byte]struct{}
}

// New returns an empty set that holds at most max keys.
func New(max int) *Set { return &Set{max: max, m: make(map[[32]byte]struct{})} }

// Has reports whether k is in the set.
func (s *Set) Has(k [32]byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[k]
	return ok
}

// Add puts k in the set, emptying it first when it is full.
func (s *Set) Add(k [32]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= s.max {
		clear(s.m)
	}
	s.m[k] = struct{}{}
}

// Len is the number of keys in the set.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// Clear empties the set.
func (s *Set) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.m)
}
