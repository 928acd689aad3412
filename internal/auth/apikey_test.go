package auth

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"
)

var apiKeyRE = regexp.MustCompile(`^cst_[a-z2-7]{12}_[A-Za-z0-9_-]{43}$`)

// counterBytes returns n bytes 0, 1, 2, ...
func counterBytes(start, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(start + i)
	}
	return b
}

// TestAPIKeyVector pins the format and hash; expected values computed
// independently with Python (hashlib, base64).
func TestAPIKeyVector(t *testing.T) {
	key, prefix, hash, err := NewAPIKey(bytes.NewReader(counterBytes(0, 44)))
	if err != nil {
		t.Fatal(err)
	}
	const wantKey = "cst_abcdefghijkl_DA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKis"
	const wantHash = "db4dcff65527d8a1ee9cd9de82f75d0cf379144ba11b5cb1edc0b1546a625ab2"
	if key.Reveal() != wantKey || prefix != "abcdefghijkl" || hex.EncodeToString(hash) != wantHash {
		t.Fatalf("got %s %s %x", key.Reveal(), prefix, hash)
	}
	p2, h2, err := ParseAPIKey(wantKey)
	if err != nil || p2 != prefix || !bytes.Equal(h2, hash) {
		t.Fatalf("ParseAPIKey = %s %x %v", p2, h2, err)
	}
}

func TestNewAPIKey(t *testing.T) {
	r := testRand(1)
	seen := map[string]bool{}
	for range 50 {
		key, prefix, hash, err := NewAPIKey(r)
		if err != nil {
			t.Fatal(err)
		}
		s := key.Reveal()
		if !apiKeyRE.MatchString(s) || len(s) != APIKeyLength {
			t.Fatalf("key %q does not match the format", s)
		}
		if s[4:16] != prefix || len(hash) != SecretHashSize {
			t.Fatal("prefix or hash inconsistent with key")
		}
		if seen[prefix] || seen[s] {
			t.Fatal("repeated prefix or key")
		}
		seen[prefix], seen[s] = true, true
		p2, h2, err := ParseAPIKey(s)
		if err != nil {
			t.Fatal(err)
		}
		if p2 != prefix || !VerifyAPIKeySecret(hash, h2) {
			t.Fatal("parsed key does not verify against its stored hash")
		}
	}
	for _, r := range []io.Reader{nil, errReader{}, bytes.NewReader(make([]byte, 43))} {
		key, prefix, hash, err := NewAPIKey(r)
		if err == nil || key.Reveal() != "" || prefix != "" || hash != nil {
			t.Fatalf("NewAPIKey(%T) = %v", r, err)
		}
	}
}

func TestParseAPIKey(t *testing.T) {
	key, prefix, _, err := NewAPIKey(testRand(2))
	if err != nil {
		t.Fatal(err)
	}
	good := key.Reveal()
	secret := good[17:]
	secretWithUnderscore := b64url().EncodeToString(append([]byte{0xff, 0xff, 0xff, 0xfb, 0xef, 0xbe}, counterBytes(0, 26)...))
	if !strings.HasPrefix(secretWithUnderscore, "____----") {
		t.Fatalf("test secret %q", secretWithUnderscore)
	}
	tests := []struct {
		name string
		s    string
		ok   bool
	}{
		{"ok", good, true},
		{"ok/secret-with-underscore-and-dash", "cst_" + prefix + "_" + secretWithUnderscore, true},
		{"ok/all-a-prefix", "cst_aaaaaaaaaaaa_" + secret, true},
		{"ok/digits-prefix", "cst_234567234567_" + secret, true},
		{"fail/empty", "", false},
		{"fail/tag-only", "cst_", false},
		{"fail/no-tag", prefix + "_" + secret + "abcd", false},
		{"fail/upper-tag", "CST_" + good[4:], false},
		{"fail/other-tag", "css_" + good[4:], false},
		{"fail/dash-tag", "cst-" + good[4:], false},
		{"fail/upper-prefix", "cst_" + strings.ToUpper(prefix) + good[16:], false},
		{"fail/prefix-digit-0", "cst_0" + good[5:], false},
		{"fail/prefix-digit-1", "cst_1" + good[5:], false},
		{"fail/prefix-digit-8", "cst_8" + good[5:], false},
		{"fail/prefix-underscore", "cst__" + good[5:], false},
		{"fail/prefix-11", "cst_" + prefix[:11] + "_" + secret + "A", false},
		{"fail/prefix-13", "cst_" + prefix + "a_" + secret[:42], false},
		{"fail/separator-dash", "cst_" + prefix + "-" + secret, false},
		{"fail/separator-missing", "cst_" + prefix + secret + "A", false},
		{"fail/secret-42", good[:len(good)-1], false},
		{"fail/secret-44", good + "A", false},
		{"fail/secret-padded", good[:len(good)-1] + "=", false},
		{"fail/secret-std-plus", good[:17] + "+" + good[18:], false},
		{"fail/secret-std-slash", good[:17] + "/" + good[18:], false},
		{"fail/secret-non-canonical-tail", good[:len(good)-1] + nonCanonical(good[len(good)-1]), false},
		{"fail/secret-newline", good[:30] + "\n" + good[31:], false},
		{"fail/secret-cr", good[:30] + "\r" + good[31:], false},
		{"fail/secret-space", good[:30] + " " + good[31:], false},
		{"fail/secret-nul", good[:30] + "\x00" + good[31:], false},
		{"fail/leading-space", " " + good[:len(good)-1], false},
		{"fail/trailing-newline", good + "\n", false},
		{"fail/bearer", "Bearer " + good, false},
		{"fail/unicode-lookalike", strings.Replace(good, "_", "＿", 1), false},
		{"fail/session-token", "css_" + secret, false},
		{"fail/double", good + good, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, h, err := ParseAPIKey(tc.s)
			if tc.ok {
				if err != nil || len(p) != APIKeyPrefixLength || len(h) != SecretHashSize {
					t.Fatalf("ParseAPIKey = %q, %x, %v", p, h, err)
				}
				return
			}
			if !errors.Is(err, ErrMalformedKey) || p != "" || h != nil {
				t.Fatalf("ParseAPIKey = %q, %x, %v; want ErrMalformedKey", p, h, err)
			}
			if len(tc.s) > 20 && strings.Contains(err.Error(), tc.s[17:]) {
				t.Fatal("error quotes the key")
			}
		})
	}
}

// nonCanonical returns a base64url character that differs from c only in
// the two low bits that the last character of 43 carries as padding.
func nonCanonical(c byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, c)
	return string(alphabet[i^1])
}

func TestVerifyAPIKeySecret(t *testing.T) {
	key, prefix, stored, err := NewAPIKey(testRand(3))
	if err != nil {
		t.Fatal(err)
	}
	// Same prefix, different secret: parses, must not verify.
	other, _, _, err := NewAPIKey(testRand(4))
	if err != nil {
		t.Fatal(err)
	}
	forged := "cst_" + prefix + other.Reveal()[16:]
	fp, fh, err := ParseAPIKey(forged)
	if err != nil || fp != prefix {
		t.Fatalf("forged key did not parse: %v", err)
	}
	_, good, err := ParseAPIKey(key.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(good)
	flipped[len(flipped)-1] ^= 1
	tests := []struct {
		name              string
		stored, presented []byte
		want              bool
	}{
		{"ok", stored, good, true},
		{"fail/wrong-secret-same-prefix", stored, fh, false},
		{"fail/one-bit", stored, flipped, false},
		{"fail/both-nil", nil, nil, false},
		{"fail/both-empty", []byte{}, []byte{}, false},
		{"fail/stored-nil", nil, good, false},
		{"fail/presented-nil", stored, nil, false},
		{"fail/both-short-equal", stored[:16], good[:16], false},
		{"fail/presented-longer", stored, append(bytes.Clone(good), 0), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := VerifyAPIKeySecret(tc.stored, tc.presented); got != tc.want {
				t.Fatalf("VerifyAPIKeySecret = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAPIKeySecretRedaction(t *testing.T) {
	key, prefix, _, err := NewAPIKey(testRand(5))
	if err != nil {
		t.Fatal(err)
	}
	full := key.Reveal()
	secret := full[17:]
	type holder struct {
		K   APIKeySecret
		P   *APIKeySecret
		k   APIKeySecret
		ptr *APIKeySecret
	}
	h := holder{K: key, P: &key, k: key, ptr: &key}
	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "% x"} {
		outputs = append(outputs, fmt.Sprintf(verb, key), fmt.Sprintf(verb, &key), fmt.Sprintf(verb, h), fmt.Sprintf(verb, &h))
	}
	outputs = append(outputs, fmt.Sprint(key), key.String(), key.GoString())
	for _, v := range []any{key, &key, h, map[string]any{"key": key}} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, string(b))
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("created", "key", key, "h", h)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("created", "key", key, "h", h)
	outputs = append(outputs, buf.String())
	secretHex := hex.EncodeToString([]byte(secret))
	for _, out := range outputs {
		if strings.Contains(out, secret[:12]) || strings.Contains(out, secretHex[:16]) || strings.Contains(strings.ToLower(out), secretHex[:16]) {
			t.Fatalf("output %q reveals the secret", out)
		}
	}
	if !strings.Contains(key.String(), prefix) || !strings.Contains(buf.String(), "REDACTED") {
		t.Fatal("redacted form should keep the prefix and say REDACTED")
	}
}

func TestAPIKeySecretZero(t *testing.T) {
	key, _, _, err := NewAPIKey(testRand(6))
	if err != nil {
		t.Fatal(err)
	}
	cp := key
	box := key.box()
	key.Zero()
	if key.Reveal() != "" || cp.Reveal() != "" {
		t.Fatal("Reveal after Zero returned the key")
	}
	if !bytes.Equal(box.b, make([]byte, len(box.b))) {
		t.Fatal("Zero left bytes behind")
	}
	var zero APIKeySecret
	zero.Zero() // no panic
	if zero.Reveal() != "" || zero.String() != "auth.APIKeySecret(empty)" {
		t.Fatal("zero value misbehaves")
	}
}
