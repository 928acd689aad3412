package auth

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParseAPIKey: ParseAPIKey never panics; what it accepts is exactly the
// canonical format, and re-encoding the decoded secret gives the input back
// with the same prefix and hash.
func FuzzParseAPIKey(f *testing.F) {
	for i := range 4 {
		key, _, _, err := NewAPIKey(testRand(byte(i)))
		if err != nil {
			f.Fatal(err)
		}
		s := key.Reveal()
		f.Add(s)
		f.Add(s[:len(s)-1])
		f.Add(s + "\n")
		f.Add(strings.ToUpper(s))
		f.Add(s[:17] + "+" + s[18:])
	}
	f.Add("")
	f.Add("cst_")
	f.Add("cst_abcdefghijkl_")
	f.Add("cst_abcdefghijkl_DA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKis")
	f.Add("cst_abcdefghijkl_DA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKis=")
	f.Add("css_ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1-f4CBgoM")

	f.Fuzz(func(t *testing.T, s string) {
		prefix, hash, err := ParseAPIKey(s)
		if err != nil {
			if prefix != "" || hash != nil {
				t.Fatal("output returned with an error")
			}
			return
		}
		if !apiKeyRE.MatchString(s) || prefix != s[4:16] || len(hash) != SecretHashSize {
			t.Fatalf("accepted non-canonical key %q", s)
		}
		secret, err := b64url().DecodeString(s[17:])
		if err != nil || len(secret) != APIKeySecretSize {
			t.Fatalf("accepted secret that does not decode: %v", err)
		}
		if b64url().EncodeToString(secret) != s[17:] {
			t.Fatal("secret does not re-encode to the input")
		}
		// Round trip: the same bytes fed to NewAPIKey give the same key.
		raw := make([]byte, 0, APIKeyPrefixLength+APIKeySecretSize)
		for i := range APIKeyPrefixLength {
			raw = append(raw, byte(strings.IndexByte(base32Lower, prefix[i])))
		}
		raw = append(raw, secret...)
		key, p2, h2, err := NewAPIKey(bytes.NewReader(raw))
		if err != nil || key.Reveal() != s || p2 != prefix || !bytes.Equal(h2, hash) {
			t.Fatalf("NewAPIKey round trip: %v", err)
		}
	})
}

// FuzzVerifyPasswordParse: parsing a PHC string never panics; what it accepts
// is within bounds and re-encodes to exactly the input; VerifyPassword on an
// accepted, cheap string does not panic either.
func FuzzVerifyPasswordParse(f *testing.F) {
	phc, err := hashPassword("fuzzing seed password", testRand(1), testParams)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(phc, "fuzzing seed password")
	f.Add(dummyPHC, "x")
	f.Add("$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", "password")
	f.Add("$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", "password")
	f.Add("$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4\n", "password")
	f.Add("$argon2i$v=19$m=256,t=2,p=2$c29tZXNhbHQ$T/XOJ2mh1/TIpJHfCdQan76Q5esCFVoT5MAeIM1Oq2E", "password")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "")
	f.Add("$argon2id$v=19$m=,t=,p=$$", "")
	f.Add("$$$$$", "")
	f.Add("", "")

	f.Fuzz(func(t *testing.T, phc, password string) {
		p, salt, key, err := parsePHC(phc)
		if err != nil {
			if ok, verr := VerifyPassword(phc, password); ok || verr == nil {
				t.Fatal("VerifyPassword accepted what parsePHC refused")
			}
			return
		}
		if p.memoryKiB > MaxPasswordMemoryKiB || p.time > MaxPasswordTime || p.threads > MaxPasswordThreads ||
			p.time < 1 || p.threads < 1 || p.memoryKiB < 8*uint32(p.threads) {
			t.Fatalf("accepted out-of-bounds parameters %+v", p)
		}
		if got := encodePHC(p, salt, key); got != phc {
			t.Fatalf("re-encoding %q gives %q", phc, got)
		}
		if uint64(p.memoryKiB)*uint64(p.time) <= 4096 {
			if _, err := VerifyPassword(phc, password); err != nil {
				t.Fatalf("VerifyPassword refused a parsed hash: %v", err)
			}
		}
	})
}

// FuzzHashSessionToken: never panics; accepts only canonical tokens.
func FuzzHashSessionToken(f *testing.F) {
	tok, _, err := NewSessionToken(testRand(1))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	f.Add(tok + "\n")
	f.Add(tok[:len(tok)-1] + "=")
	f.Add("css_")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := HashSessionToken(s)
		if err != nil {
			if h != nil {
				t.Fatal("hash returned with an error")
			}
			return
		}
		raw, derr := b64url().DecodeString(s[4:])
		if !sessionRE.MatchString(s) || derr != nil || b64url().EncodeToString(raw) != s[4:] {
			t.Fatalf("accepted non-canonical token %q", s)
		}
		tok2, h2, err := NewSessionToken(bytes.NewReader(raw))
		if err != nil || tok2 != s || !bytes.Equal(h2, h) {
			t.Fatal("NewSessionToken round trip failed")
		}
	})
}
