package seen

import "testing"

func TestSet(t *testing.T) {
	s := New(2)
	a, b, c := [32]byte{1}, [32]byte{2}, [32]byte{3}
	if s.Has(a) {
		t.Fatal("an empty set has a key")
	}
	s.Add(a)
	s.Add(b)
	if !s.Has(a) || !s.Has(b) || s.Has(c) || s.Len() != 2 {
		t.Fatalf("after two adds: a %v b %v c %v len %d", s.Has(a), s.Has(b), s.Has(c), s.Len())
	}
	s.Add(c) // full: starts again empty
	if s.Has(a) || s.Has(b) || !s.Has(c) || s.Len() != 1 {
		t.Fatalf("over the bound: a %v b %v c %v len %d", s.Has(a), s.Has(b), s.Has(c), s.Len())
	}
	s.Clear()
	if s.Len() != 0 || s.Has(c) {
		t.Fatal("Clear left keys")
	}
}
