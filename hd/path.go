package hd

import (
	"fmt"
	"strconv"
	"strings"
)

// Hardened is the first hardened child index (2^31). Index Hardened+i is
// written i' (or ih, iH) in a path.
const Hardened uint32 = 0x80000000

// MaxDepth is the largest depth an extended key can have (the serialized
// depth is one byte).
const MaxDepth = 255

// ParsePath parses an absolute BIP32 derivation path such as
// "m/44'/60'/0'/0/0" into child indexes (hardened ones with Hardened added).
// "m" alone is the empty path. A hardened component is marked by a
// trailing ', h or H. Each component is a decimal number 0..2^31-1 without
// sign, spaces or leading zeros ("0" itself is fine); at most 255 components
// are accepted. Everything else (empty components, "m/", trailing "/",
// overflowing numbers, other markers) is rejected with ErrInvalidPath.
// For every accepted path, FormatPath returns it with ' as the hardened
// marker.
func ParsePath(path string) ([]uint32, error) {
	if path == "m" {
		return []uint32{}, nil
	}
	rest, ok := strings.CutPrefix(path, "m/")
	if !ok {
		return nil, fmt.Errorf("%w: must start with \"m/\" or be \"m\"", ErrInvalidPath)
	}
	return parseComponents(rest)
}

// parseComponents parses "a/b'/c" (at least one component).
func parseComponents(s string) ([]uint32, error) {
	if len(s) > 255*12 { // longest component is "2147483647'/"
		return nil, fmt.Errorf("%w: deeper than %d", ErrInvalidPath, MaxDepth)
	}
	parts := strings.Split(s, "/")
	if len(parts) > MaxDepth {
		return nil, fmt.Errorf("%w: %d components, deeper than %d", ErrInvalidPath, len(parts), MaxDepth)
	}
	out := make([]uint32, len(parts))
	for i, p := range parts {
		idx, err := parseComponent(p)
		if err != nil {
			return nil, fmt.Errorf("%w: component %d: %s", ErrInvalidPath, i+1, err)
		}
		out[i] = idx
	}
	return out, nil
}

type pathError string

func (e pathError) Error() string { return string(e) }

func parseComponent(p string) (uint32, error) {
	var offset uint32
	if n := len(p); n > 0 && (p[n-1] == '\'' || p[n-1] == 'h' || p[n-1] == 'H') {
		offset = Hardened
		p = p[:n-1]
	}
	if p == "" {
		return 0, pathError("empty")
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return 0, pathError("not a decimal number")
		}
	}
	if len(p) > 1 && p[0] == '0' {
		return 0, pathError("leading zero")
	}
	v, err := strconv.ParseUint(p, 10, 32)
	if err != nil || v >= uint64(Hardened) {
		return 0, pathError("index out of range 0..2147483647")
	}
	return uint32(v) + offset, nil
}

// FormatPath formats child indexes as an absolute path, "m" followed by
// "/i" or "/i'" per index.
func FormatPath(indexes []uint32) string {
	var sb strings.Builder
	sb.WriteByte('m')
	for _, idx := range indexes {
		sb.WriteByte('/')
		sb.WriteString(strconv.FormatUint(uint64(idx&^Hardened), 10))
		if idx >= Hardened {
			sb.WriteByte('\'')
		}
	}
	return sb.String()
}
