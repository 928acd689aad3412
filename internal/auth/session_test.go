package auth

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
)

var sessionRE = regexp.MustCompile(`^css_[A-Za-z0-9_-]{43}$`)

// TestSessionTokenVector pins the format and hash; expected values computed
// independently with Python (hashlib, base64).
func TestSessionTokenVector(t *testing.T) {
	tok, hash, err := NewSessionToken(bytes.NewReader(counterBytes(100, 32)))
	if err != nil {
		t.Fatal(err)
	}
	const wantTok = "css_ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1-f4CBgoM"
	const wantHash = "3487add8eab43ad35d3de372f44454dde8ede13f1174f79139d05382971c0d83"
	if tok != wantTok || hex.EncodeToString(hash) != wantHash {
		t.Fatalf("got %s %x", tok, hash)
	}
}

func TestSessionToken(t *testing.T) {
	r := testRand(1)
	seen := map[string]bool{}
	for range 50 {
		tok, hash, err := NewSessionToken(r)
		if err != nil {
			t.Fatal(err)
		}
		if !sessionRE.MatchString(tok) || len(tok) != SessionTokenLength || seen[tok] {
			t.Fatalf("bad or repeated token %q", tok)
		}
		seen[tok] = true
		h2, err := HashSessionToken(tok)
		if err != nil || !bytes.Equal(h2, hash) || len(hash) != SecretHashSize {
			t.Fatalf("HashSessionToken = %x, %v", h2, err)
		}
	}
	for _, r := range []io.Reader{nil, errReader{}, bytes.NewReader(make([]byte, 31))} {
		tok, hash, err := NewSessionToken(r)
		if err == nil || tok != "" || hash != nil {
			t.Fatalf("NewSessionToken(%T) = %q, %v", r, tok, err)
		}
	}
}

func TestHashSessionTokenMalformed(t *testing.T) {
	good, _, err := NewSessionToken(testRand(2))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, tok string }{
		{"fail/empty", ""},
		{"fail/tag-only", "css_"},
		{"fail/upper-tag", "CSS_" + good[4:]},
		{"fail/api-key-tag", "cst_" + good[4:]},
		{"fail/short", good[:len(good)-1]},
		{"fail/long", good + "A"},
		{"fail/padded", good[:len(good)-1] + "="},
		{"fail/std-alphabet", good[:10] + "+" + good[11:]},
		{"fail/newline-inside", good[:10] + "\n" + good[11:]},
		{"fail/trailing-newline", good + "\n"},
		{"fail/non-canonical-tail", good[:len(good)-1] + nonCanonical(good[len(good)-1])},
		{"fail/api-key", "cst_abcdefghijkl_" + good[4:]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := HashSessionToken(tc.tok)
			if !errors.Is(err, ErrMalformedToken) || h != nil {
				t.Fatalf("HashSessionToken = %x, %v; want ErrMalformedToken", h, err)
			}
			if len(tc.tok) > 8 && strings.Contains(err.Error(), tc.tok[4:]) {
				t.Fatal("error quotes the token")
			}
		})
	}
}

// TestHashDomains: the same 32 random bytes used as an API key secret and
// as a session token give different hashes.
func TestHashDomains(t *testing.T) {
	raw := counterBytes(7, 44)
	_, _, apiHash, err := NewAPIKey(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	_, sessHash, err := NewSessionToken(bytes.NewReader(raw[APIKeyPrefixLength:]))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(apiHash, sessHash) {
		t.Fatal("API key and session token hashes share a domain")
	}
}
