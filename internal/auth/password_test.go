package auth

import (
	"bufio"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"testing"
)

// testParams is a cheap argon2id set so most tests run in microseconds; the
// production set is exercised by TestHashPasswordProduction and
// TestDummyVerify.
var testParams = passwordParams{time: 1, memoryKiB: 64, threads: 1, saltLen: 16, keyLen: 32}

func testRand(seed byte) io.Reader {
	var s [32]byte
	s[0] = seed
	return rand.NewChaCha8(s)
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("entropy exhausted") }

var phcRE = regexp.MustCompile(`^\$argon2id\$v=19\$m=[1-9][0-9]*,t=[1-9][0-9]*,p=[1-9][0-9]*\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestCheckPasswordPolicy(t *testing.T) {
	tests := []struct {
		name     string
		password string
		ok       bool
	}{
		{"ok/12-ascii", "abcdefghijkl", true},
		{"ok/1024", strings.Repeat("a", MaxPasswordLength), true},
		{"ok/cyrillic-12", "пароль-парол", true},
		{"ok/emoji-12", strings.Repeat("🔐", 12), true},
		{"ok/spaces-count", "correct horse", true},
		{"ok/ligatures-expand-to-12", strings.Repeat("ﬁ", 6), true}, // NFKC: "fi" x 6
		{"fail/empty", "", false},
		{"fail/11", "abcdefghijk", false},
		{"fail/1025", strings.Repeat("a", MaxPasswordLength+1), false},
		{"fail/11-unicode", "пароль-паро", false},
		{"fail/decomposed-shrinks-to-6", strings.Repeat("e\u0301", 6), false}, // 12 code points, NFKC 6
		{"fail/invalid-utf8", "abcdefghijk\xff", false},
		{"fail/huge-bytes", strings.Repeat("€", 6000), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckPasswordPolicy(tc.password)
			if tc.ok != (err == nil) {
				t.Fatalf("CheckPasswordPolicy = %v", err)
			}
			if err != nil && !errors.Is(err, ErrPasswordPolicy) {
				t.Fatalf("err = %v, want ErrPasswordPolicy", err)
			}
			if err != nil && len(tc.password) > 3 && strings.Contains(err.Error(), tc.password) {
				t.Fatal("error quotes the password")
			}
		})
	}
}

func TestHashVerifyPassword(t *testing.T) {
	const pw = "correct horse battery staple"
	phc, err := hashPassword(pw, testRand(1), testParams)
	if err != nil {
		t.Fatal(err)
	}
	if !phcRE.MatchString(phc) || !strings.HasPrefix(phc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q is not the expected PHC form", phc)
	}
	uni, err := hashPassword("Grüße, Zoë! 日本語のパスワード 🔐", testRand(2), testParams)
	if err != nil {
		t.Fatal(err)
	}
	nfc, err := hashPassword("caf\u00e9 au lait!!", testRand(3), testParams) // precomposed é
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		phc      string
		password string
		want     bool
	}{
		{"ok", phc, pw, true},
		{"ok/unicode", uni, "Grüße, Zoë! 日本語のパスワード 🔐", true},
		{"ok/nfd-input-matches-nfc-hash", nfc, "cafe\u0301 au lait!!", true},
		{"ok/fullwidth-is-nfkc-equal", nfc, "caf\u00e9 au lait\uff01\uff01", true},
		{"fail/wrong", phc, "correct horse battery stapler", false},
		{"fail/case", phc, "Correct horse battery staple", false},
		{"fail/trailing-space", phc, pw + " ", false},
		{"fail/trailing-newline", phc, pw + "\n", false},
		{"fail/prefix", phc, pw[:len(pw)-1], false},
		{"fail/empty", phc, "", false},
		{"fail/nul-appended", phc, pw + "\x00", false},
		{"fail/unicode-lookalike", uni, "Grüße, Zoe! 日本語のパスワード 🔐", false},
		{"fail/too-long-input", phc, strings.Repeat("a", maxVerifyInput+1), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := VerifyPassword(tc.phc, tc.password)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("VerifyPassword = %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("fresh-salt", func(t *testing.T) {
		again, err := hashPassword(pw, testRand(9), testParams)
		if err != nil {
			t.Fatal(err)
		}
		if again == phc {
			t.Fatal("same hash for two salts")
		}
	})
}

func TestHashPasswordRefusals(t *testing.T) {
	tests := []struct {
		name     string
		password string
		rand     io.Reader
		want     error
	}{
		{"fail/short", "short", testRand(1), ErrPasswordPolicy},
		{"fail/long", strings.Repeat("x", 1025), testRand(1), ErrPasswordPolicy},
		{"fail/invalid-utf8", "\xff\xfe" + strings.Repeat("x", 12), testRand(1), ErrPasswordPolicy},
		{"fail/nil-rand", "long enough password", nil, nil},
		{"fail/rand-error", "long enough password", errReader{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			phc, err := HashPassword(tc.password, tc.rand)
			if err == nil || phc != "" {
				t.Fatalf("HashPassword = %q, %v", phc, err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestHashPasswordProduction runs the production parameters once.
func TestHashPasswordProduction(t *testing.T) {
	const pw = "production cost password"
	phc, err := HashPassword(pw, testRand(4))
	if err != nil {
		t.Fatal(err)
	}
	if !phcRE.MatchString(phc) || !strings.HasPrefix(phc, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Fatalf("hash %q does not carry the production parameters", phc)
	}
	if NeedsRehash(phc) {
		t.Fatal("NeedsRehash true for a production hash")
	}
	ok, err := VerifyPassword(phc, pw)
	if err != nil || !ok {
		t.Fatalf("VerifyPassword = %v, %v", ok, err)
	}
}

func TestReferenceVectors(t *testing.T) {
	f, err := os.Open("testdata/argon2id-reference.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		pw, phc, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		n++
		t.Run(phc, func(t *testing.T) {
			ok, err := VerifyPassword(phc, pw)
			if err != nil || !ok {
				t.Fatalf("VerifyPassword(%q) = %v, %v", pw, ok, err)
			}
			p, salt, key, err := parsePHC(phc)
			if err != nil {
				t.Fatal(err)
			}
			if p.memoryKiB <= 1024 { // the wrong password only where it is cheap
				ok, err = VerifyPassword(phc, pw+"x")
				if err != nil || ok {
					t.Fatalf("wrong password: %v, %v", ok, err)
				}
			}
			if encodePHC(p, salt, key) != phc {
				t.Fatal("re-encoding differs")
			}
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 3 {
		t.Fatalf("only %d vectors", n)
	}
}

func TestVerifyPasswordMalformed(t *testing.T) {
	const salt = "c29tZXNhbHQ"                                 // "somesalt"
	const hash = "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4" // valid for "password", m=256,t=2,p=1
	const good = "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + hash
	if ok, err := VerifyPassword(good, "password"); err != nil || !ok {
		t.Fatalf("base vector: %v, %v", ok, err)
	}
	tests := []struct{ name, phc string }{
		{"fail/empty", ""},
		{"fail/garbage", "not a hash"},
		{"fail/bcrypt", "$2b$12$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ012"},
		{"fail/argon2i", "$argon2i$v=19$m=256,t=2,p=1$" + salt + "$" + hash},
		{"fail/argon2d", "$argon2d$v=19$m=256,t=2,p=1$" + salt + "$" + hash},
		{"fail/upper-case-algorithm", "$ARGON2ID$v=19$m=256,t=2,p=1$" + salt + "$" + hash},
		{"fail/version-16", "$argon2id$v=16$m=256,t=2,p=1$" + salt + "$" + hash},
		{"fail/version-missing", "$argon2id$m=256,t=2,p=1$" + salt + "$" + hash},
		{"fail/memory-4GiB", "$argon2id$v=19$m=4194304,t=2,p=1$" + salt + "$" + hash},
		{"fail/memory-just-over-cap", "$argon2id$v=19$m=262145,t=2,p=1$" + salt + "$" + hash},
		{"fail/memory-overflow", "$argon2id$v=19$m=99999999999,t=2,p=1$" + salt + "$" + hash},
		{"fail/memory-zero", "$argon2id$v=19$m=0,t=2,p=1$" + salt + "$" + hash},
		{"fail/memory-below-8-per-lane", "$argon2id$v=19$m=15,t=2,p=2$" + salt + "$" + hash},
		{"fail/time-zero", "$argon2id$v=19$m=256,t=0,p=1$" + salt + "$" + hash},
		{"fail/time-11", "$argon2id$v=19$m=256,t=11,p=1$" + salt + "$" + hash},
		{"fail/time-huge", "$argon2id$v=19$m=256,t=4294967295,p=1$" + salt + "$" + hash},
		{"fail/threads-zero", "$argon2id$v=19$m=256,t=2,p=0$" + salt + "$" + hash},
		{"fail/threads-17", "$argon2id$v=19$m=256,t=2,p=17$" + salt + "$" + hash},
		{"fail/threads-256-wraps-uint8", "$argon2id$v=19$m=4096,t=2,p=256$" + salt + "$" + hash},
		{"fail/params-reordered", "$argon2id$v=19$t=2,m=256,p=1$" + salt + "$" + hash},
		{"fail/params-missing", "$argon2id$v=19$m=256,t=2$" + salt + "$" + hash},
		{"fail/params-extra", "$argon2id$v=19$m=256,t=2,p=1,k=1$" + salt + "$" + hash},
		{"fail/params-leading-zero", "$argon2id$v=19$m=0256,t=2,p=1$" + salt + "$" + hash},
		{"fail/params-plus", "$argon2id$v=19$m=+256,t=2,p=1$" + salt + "$" + hash},
		{"fail/params-minus", "$argon2id$v=19$m=256,t=-2,p=1$" + salt + "$" + hash},
		{"fail/params-space", "$argon2id$v=19$m=256, t=2,p=1$" + salt + "$" + hash},
		{"fail/params-hex", "$argon2id$v=19$m=0x100,t=2,p=1$" + salt + "$" + hash},
		{"fail/params-underscore", "$argon2id$v=19$m=2_56,t=2,p=1$" + salt + "$" + hash},
		{"fail/salt-padded", "$argon2id$v=19$m=256,t=2,p=1$" + salt + "=$" + hash},
		{"fail/salt-urlsafe", "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + strings.ReplaceAll(hash, "/", "_")},
		{"fail/salt-non-canonical", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHR$" + hash},
		{"fail/salt-too-short", "$argon2id$v=19$m=256,t=2,p=1$c29tZXM$" + hash},
		{"fail/salt-empty", "$argon2id$v=19$m=256,t=2,p=1$$" + hash},
		{"fail/hash-too-short", "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + hash[:20]},
		{"fail/hash-empty", "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$"},
		{"fail/hash-missing", "$argon2id$v=19$m=256,t=2,p=1$" + salt},
		{"fail/trailing-dollar", good + "$"},
		{"fail/leading-space", " " + good},
		{"fail/trailing-newline", good + "\n"},
		{"fail/no-leading-dollar", good[1:]},
		{"fail/too-long", "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + strings.Repeat("A", 300)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := VerifyPassword(tc.phc, "password")
			if ok || !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("VerifyPassword = %v, %v; want false, ErrMalformedHash", ok, err)
			}
			if !NeedsRehash(tc.phc) {
				t.Fatal("NeedsRehash false for a malformed hash")
			}
		})
	}
	t.Run("fail/every-truncation", func(t *testing.T) {
		for n := range len(good) {
			ok, err := VerifyPassword(good[:n], "password")
			if ok {
				t.Fatalf("truncated to %d: accepted", n)
			}
			// Cutting inside the hash can leave a shorter, still valid
			// base64 hash of >= 16 bytes; that must then be a mismatch.
			if err == nil && n < len(good)-(len(hash)-22) {
				t.Fatalf("truncated to %d: no error", n)
			}
		}
	})
}

func TestDummyVerify(t *testing.T) {
	p, _, _, err := parsePHC(dummyPHC)
	if err != nil {
		t.Fatal(err)
	}
	if p != defaultPasswordParams() {
		t.Fatalf("dummy hash parameters %+v differ from production %+v: unknown users would be faster", p, defaultPasswordParams())
	}
	if NeedsRehash(dummyPHC) {
		t.Fatal("dummy hash is not in production form")
	}
	// What DummyVerify runs, at production cost (ExampleDummyVerify calls
	// DummyVerify itself).
	ok, err := VerifyPassword(dummyPHC, "any password at all")
	if ok || err != nil {
		t.Fatalf("dummy hash matched: %v, %v", ok, err)
	}
}

func TestNeedsRehash(t *testing.T) {
	cheap, err := hashPassword("long enough password", testRand(1), testParams)
	if err != nil {
		t.Fatal(err)
	}
	if !NeedsRehash(cheap) {
		t.Fatal("NeedsRehash false for weaker parameters")
	}
	if !NeedsRehash("$argon2id$v=19$m=65536,t=3,p=2$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4") {
		t.Fatal("NeedsRehash false for an 8-byte salt")
	}
}
