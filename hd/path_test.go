package hd

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	h := Hardened
	tests := []struct {
		name string
		in   string
		want []uint32
	}{
		{"ok/master", "m", []uint32{}},
		{"ok/bip44_eth", "m/44'/60'/0'/0/0", []uint32{h + 44, h + 60, h, 0, 0}},
		{"ok/h_suffix", "m/44h/60h/0h/0/0", []uint32{h + 44, h + 60, h, 0, 0}},
		{"ok/H_suffix", "m/0H/1", []uint32{h, 1}},
		{"ok/max_normal", "m/2147483647", []uint32{h - 1}},
		{"ok/max_hardened", "m/2147483647'", []uint32{^uint32(0)}},
		{"ok/depth_255", "m" + strings.Repeat("/1", 255), slices.Repeat([]uint32{1}, 255)},
		{"fail/empty", "", nil},
		{"fail/no_m", "44'/60'", nil},
		{"fail/capital_M", "M/0", nil},
		{"fail/m_slash", "m/", nil},
		{"fail/trailing_slash", "m/0/", nil},
		{"fail/double_slash", "m//0", nil},
		{"fail/leading_slash", "/m/0", nil},
		{"fail/overflow_2^31", "m/2147483648", nil},
		{"fail/overflow_hardened", "m/2147483648'", nil},
		{"fail/overflow_2^32", "m/4294967296", nil},
		{"fail/overflow_huge", "m/99999999999999999999999", nil},
		{"fail/negative", "m/-1", nil},
		{"fail/plus", "m/+1", nil},
		{"fail/leading_zero", "m/01", nil},
		{"fail/hex", "m/0x10", nil},
		{"fail/space", "m/ 1", nil},
		{"fail/trailing_space", "m/1 ", nil},
		{"fail/double_marker", "m/1''", nil},
		{"fail/marker_only", "m/'", nil},
		{"fail/other_marker", "m/1p", nil},
		{"fail/unicode_digit", "m/１", nil},
		{"fail/depth_256", "m" + strings.Repeat("/1", 256), nil},
		{"fail/backslash", `m\0`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePath(tt.in)
			if tt.want == nil {
				if !errors.Is(err, ErrInvalidPath) || got != nil {
					t.Fatalf("got %v, %v; want ErrInvalidPath", got, err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
			canon := strings.NewReplacer("h", "'", "H", "'").Replace(tt.in)
			if f := FormatPath(got); f != canon {
				t.Fatalf("FormatPath = %q, want %q", f, canon)
			}
		})
	}
}
