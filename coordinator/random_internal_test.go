package coordinator

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

// TestRandomHex: the ceremony ids and intent nonces take every byte they
// need from the random source, also from one that returns a byte per Read,
// and a failing source stops the operation.
func TestRandomHex(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		f    func(s *Service) string
	}{
		{"ok/ceremony id", 32, (*Service).newCeremonyID},
		{"ok/nonce", 16, (*Service).nonce},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Service{rand: iotest.OneByteReader(bytes.NewReader(bytes.Repeat([]byte{0xa5}, 64)))}
			if got, want := tc.f(s), strings.Repeat("a5", tc.n); got != want {
				t.Fatalf("%s from a source read a byte at a time, want %s", got, want)
			}
		})
	}
	t.Run("fail/source fails", func(t *testing.T) {
		s := &Service{rand: iotest.ErrReader(errors.New("entropy exhausted"))}
		defer func() {
			if recover() == nil {
				t.Fatal("no panic with a failing random source")
			}
		}()
		s.newCeremonyID()
	})
	t.Run("fail/source too short", func(t *testing.T) {
		s := &Service{rand: bytes.NewReader(make([]byte, 31))}
		defer func() {
			if recover() == nil {
				t.Fatal("no panic with a random source shorter than an id")
			}
		}()
		s.newCeremonyID()
	})
}
