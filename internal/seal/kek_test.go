package seal

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

func writeFile(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // umask-proof
		t.Fatal(err)
	}
	return p
}

func TestLoadKEKFile(t *testing.T) {
	want, err := hex.DecodeString(testKeyHex)
	if err != nil {
		t.Fatal(err)
	}
	wantID := mustKEK(t, want).ID()
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		want    error // nil: success
	}{
		{"ok/newline", testKeyHex + "\n", 0o600, nil},
		{"ok/no-newline", testKeyHex, 0o600, nil},
		{"ok/crlf", testKeyHex + "\r\n", 0o600, nil},
		{"ok/upper-case", strings.ToUpper(testKeyHex) + "\n", 0o600, nil},
		{"ok/owner-read-only", testKeyHex, 0o400, nil},
		{"fail/group-readable", testKeyHex, 0o640, ErrInsecurePermissions},
		{"fail/other-readable", testKeyHex, 0o604, ErrInsecurePermissions},
		{"fail/group-writable", testKeyHex, 0o620, ErrInsecurePermissions},
		{"fail/world", testKeyHex, 0o666, ErrInsecurePermissions},
		{"fail/empty", "", 0o600, ErrInvalidKEK},
		{"fail/short", testKeyHex[:62], 0o600, ErrInvalidKEK},
		{"fail/long", testKeyHex + "00", 0o600, ErrInvalidKEK},
		{"fail/two-newlines", testKeyHex + "\n\n", 0o600, ErrInvalidKEK},
		{"fail/leading-space", " " + testKeyHex[1:], 0o600, ErrInvalidKEK},
		{"fail/not-hex", "zz" + testKeyHex[2:], 0o600, ErrInvalidKEK},
		{"fail/raw-bytes", string(want), 0o600, ErrInvalidKEK},
		{"fail/huge", strings.Repeat("0", maxSecretFile+10), 0o600, nil},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, dir, fmt.Sprintf("kek-%d", i), tc.content, tc.mode)
			k, err := LoadKEKFile(p)
			if strings.HasPrefix(tc.name, "ok") {
				if err != nil {
					t.Fatal(err)
				}
				if k.ID() != wantID || !bytes.Equal(k.key().k[:], want) {
					t.Fatal("loaded the wrong key")
				}
				return
			}
			if err == nil || k != nil {
				t.Fatal("LoadKEKFile accepted the file")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name the file", err)
			}
			if strings.Contains(err.Error(), testKeyHex[4:20]) || strings.Contains(err.Error(), "zz") {
				t.Errorf("error %q quotes the file", err)
			}
			if errors.Is(err, ErrInsecurePermissions) && !strings.Contains(err.Error(), "chmod 600 "+p) {
				t.Errorf("error %q does not give the fix", err)
			}
		})
	}
	t.Run("fail/missing", func(t *testing.T) {
		_, err := LoadKEKFile(filepath.Join(dir, "nope"))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("fail/directory", func(t *testing.T) {
		if _, err := LoadKEKFile(dir); err == nil {
			t.Fatal("accepted a directory")
		}
	})
}

func mustKEK(t *testing.T, key []byte) *KEK {
	t.Helper()
	k, err := NewKEK(key)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestGenerateKEKFile(t *testing.T) {
	t.Run("ok", func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "kek")
		if err := GenerateKEKFile(p, testRand(5)); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Fatalf("mode = %o, want 600", st.Mode().Perm())
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) != 65 || raw[64] != '\n' {
			t.Fatalf("file is %q, want 64 hex characters and a newline", raw)
		}
		want := make([]byte, KeySize)
		if _, err := testRand(5).Read(want); err != nil {
			t.Fatal(err)
		}
		if string(raw[:64]) != hex.EncodeToString(want) {
			t.Fatal("file does not hold the random bytes")
		}
		k, err := LoadKEKFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if k.ID() != mustKEK(t, want).ID() {
			t.Fatal("loaded key differs")
		}
		assertOnlyFiles(t, dir, "kek")
	})
	t.Run("fail/exists", func(t *testing.T) {
		dir := t.TempDir()
		p := writeFile(t, dir, "kek", "precious\n", 0o600)
		err := GenerateKEKFile(p, testRand(6))
		if !errors.Is(err, fs.ErrExist) {
			t.Fatalf("err = %v, want fs.ErrExist", err)
		}
		if raw, _ := os.ReadFile(p); string(raw) != "precious\n" {
			t.Fatal("existing file was changed")
		}
		assertOnlyFiles(t, dir, "kek")
	})
	t.Run("fail/exists-as-dangling-symlink", func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "kek")
		if err := os.Symlink(filepath.Join(dir, "target"), p); err != nil {
			t.Skip(err)
		}
		if err := GenerateKEKFile(p, testRand(6)); !errors.Is(err, fs.ErrExist) {
			t.Fatalf("err = %v, want fs.ErrExist", err)
		}
		assertOnlyFiles(t, dir, "kek")
	})
	t.Run("fail/rand-error", func(t *testing.T) {
		dir := t.TempDir()
		if err := GenerateKEKFile(filepath.Join(dir, "kek"), errReader{}); err == nil {
			t.Fatal("succeeded without randomness")
		}
		assertOnlyFiles(t, dir)
	})
	t.Run("fail/nil-rand", func(t *testing.T) {
		dir := t.TempDir()
		if err := GenerateKEKFile(filepath.Join(dir, "kek"), nil); err == nil {
			t.Fatal("succeeded with nil rand")
		}
		assertOnlyFiles(t, dir)
	})
	t.Run("fail/no-directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := GenerateKEKFile(filepath.Join(dir, "missing", "kek"), testRand(1)); err == nil {
			t.Fatal("succeeded in a missing directory")
		}
	})
}

func assertOnlyFiles(t *testing.T, dir string, want ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("directory holds %q, want %q", got, want)
	}
}

// cheapParams is the cheapest set Validate accepts (OWASP's 7 MiB x 5).
var cheapParams = Argon2Params{Time: 5, MemoryKiB: 7 * 1024, Threads: 1}

func TestDeriveKEKFromPassphraseFile(t *testing.T) {
	dir := t.TempDir()
	salt := bytes.Repeat([]byte{0x5a}, SaltSize)
	const pass = "correct horse battery"
	base, err := DeriveKEKFromPassphraseFile(writeFile(t, dir, "base", pass, 0o600), salt, cheapParams)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		salt    []byte
		params  Argon2Params
		same    bool  // for ok: same KEK as base
		want    error // for fail
	}{
		{name: "ok/newline-trimmed", content: pass + "\n", mode: 0o600, salt: salt, params: cheapParams, same: true},
		{name: "ok/crlf-trimmed", content: pass + "\r\n", mode: 0o600, salt: salt, params: cheapParams, same: true},
		{name: "ok/other-salt", content: pass, mode: 0o600, salt: bytes.Repeat([]byte{1}, SaltSize), params: cheapParams},
		{name: "ok/other-params", content: pass, mode: 0o600, salt: salt, params: Argon2Params{Time: 1, MemoryKiB: 46 * 1024, Threads: 2}},
		{name: "ok/other-passphrase", content: pass + "!", mode: 0o600, salt: salt, params: cheapParams},
		{name: "ok/twelve-unicode-characters", content: "äöüßéèêëïîôû", mode: 0o600, salt: salt, params: cheapParams},
		{name: "fail/empty", content: "", mode: 0o600, salt: salt, params: cheapParams, want: ErrWeakPassphrase},
		{name: "fail/newline-only", content: "\n", mode: 0o600, salt: salt, params: cheapParams, want: ErrWeakPassphrase},
		{name: "fail/eleven-characters", content: "abcdefghijk\n", mode: 0o600, salt: salt, params: cheapParams, want: ErrWeakPassphrase},
		{name: "fail/eleven-unicode-characters", content: "äöüßéèêëïîô", mode: 0o600, salt: salt, params: cheapParams, want: ErrWeakPassphrase},
		{name: "fail/group-readable", content: pass, mode: 0o640, salt: salt, params: cheapParams, want: ErrInsecurePermissions},
		{name: "fail/other-readable", content: pass, mode: 0o644, salt: salt, params: cheapParams, want: ErrInsecurePermissions},
		{name: "fail/short-salt", content: pass, mode: 0o600, salt: salt[:SaltSize-1], params: cheapParams, want: ErrInvalidParams},
		{name: "fail/nil-salt", content: pass, mode: 0o600, params: cheapParams, want: ErrInvalidParams},
		{name: "fail/weak-params", content: pass, mode: 0o600, salt: salt, params: Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}, want: ErrInvalidParams},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, dir, fmt.Sprintf("pass-%d", i), tc.content, tc.mode)
			k, err := DeriveKEKFromPassphraseFile(p, tc.salt, tc.params)
			if tc.want != nil || strings.HasPrefix(tc.name, "fail") {
				if !errors.Is(err, tc.want) || k != nil {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
				if strings.Contains(err.Error(), "abcdefghijk") || strings.Contains(err.Error(), pass) {
					t.Fatalf("error %q quotes the passphrase", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (k.ID() == base.ID()) != tc.same {
				t.Fatalf("same KEK as base = %v, want %v", k.ID() == base.ID(), tc.same)
			}
		})
	}
}

// TestDeriveKEKDefaultParams runs the production parameters once.
func TestDeriveKEKDefaultParams(t *testing.T) {
	p := DefaultArgon2Params()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, t.TempDir(), "pass", "a long enough passphrase\n", 0o600)
	k, err := DeriveKEKFromPassphraseFile(path, make([]byte, SaltSize), p)
	if err != nil {
		t.Fatal(err)
	}
	ad := AssociatedData("wallet-seed", "w", "1")
	sealed, err := Seal(k, []byte("seed"), ad, testRand(1))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Open(k, sealed, ad); err != nil || string(got) != "seed" {
		t.Fatalf("Open = %q, %v", got, err)
	}
}

func TestArgon2ParamsValidate(t *testing.T) {
	tests := []struct {
		name string
		p    Argon2Params
		ok   bool
	}{
		{"ok/default", DefaultArgon2Params(), true},
		{"ok/owasp-7MiB-t5", Argon2Params{Time: 5, MemoryKiB: 7168, Threads: 1}, true},
		{"ok/owasp-19MiB-t2", Argon2Params{Time: 2, MemoryKiB: 19456, Threads: 1}, true},
		{"ok/owasp-46MiB-t1", Argon2Params{Time: 1, MemoryKiB: 47104, Threads: 1}, true},
		{"ok/max", Argon2Params{Time: MaxArgon2Time, MemoryKiB: MaxArgon2MemoryKiB, Threads: MaxArgon2Threads}, true},
		{"fail/zero", Argon2Params{}, false},
		{"fail/zero-threads", Argon2Params{Time: 3, MemoryKiB: 65536}, false},
		{"fail/zero-time", Argon2Params{MemoryKiB: 65536, Threads: 1}, false},
		{"fail/too-little-memory", Argon2Params{Time: 64, MemoryKiB: 7167, Threads: 1}, false},
		{"fail/cost-below-owasp", Argon2Params{Time: 1, MemoryKiB: 19456, Threads: 1}, false},
		{"fail/memory-4GiB", Argon2Params{Time: 1, MemoryKiB: 4 << 20, Threads: 1}, false},
		{"fail/time-huge", Argon2Params{Time: 1 << 31, MemoryKiB: 65536, Threads: 1}, false},
		{"fail/threads-255", Argon2Params{Time: 3, MemoryKiB: 65536, Threads: 255}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if tc.ok != (err == nil) {
				t.Fatalf("Validate = %v", err)
			}
			if err != nil && !errors.Is(err, ErrInvalidParams) {
				t.Fatalf("err = %v, want ErrInvalidParams", err)
			}
		})
	}
}

func TestKEKRedaction(t *testing.T) {
	key := bytes.Repeat([]byte{0xC3}, KeySize)
	kek := mustKEK(t, key)
	secrets := []string{
		hex.EncodeToString(key[:4]),
		strings.ToUpper(hex.EncodeToString(key[:4])),
		"195 195 195", // decimal bytes
		"c3 c3",
		string(key[:4]),
		"w8PDw8PDw8", // base64 of the key
	}
	type holder struct {
		K   *KEK
		V   KEK
		hid *KEK
		hv  KEK
	}
	h := holder{K: kek, V: *kek, hid: kek, hv: *kek}
	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%d", "%q", "% x"} {
		outputs = append(outputs,
			fmt.Sprintf(verb, kek), fmt.Sprintf(verb, *kek), fmt.Sprintf(verb, h), fmt.Sprintf(verb, &h))
	}
	outputs = append(outputs, fmt.Sprint(kek), fmt.Sprintln(*kek), kek.String(), kek.GoString())
	for _, v := range []any{kek, *kek, h, map[string]any{"k": kek}} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, string(b))
	}
	var buf bytes.Buffer
	jl := slog.New(slog.NewJSONHandler(&buf, nil))
	jl.Info("x", "kek", kek, "v", *kek, "h", h)
	tl := slog.New(slog.NewTextHandler(&buf, nil))
	tl.Info("x", "kek", kek, "v", *kek, "h", h)
	outputs = append(outputs, buf.String())
	for _, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Fatalf("output %q reveals key material %q", out, s)
			}
		}
	}
	if !strings.Contains(kek.String(), kek.ID()) || !strings.Contains(buf.String(), kek.ID()) {
		t.Fatal("redacted output should still name the KEK id")
	}
	if !strings.Contains(buf.String(), "REDACTED") {
		t.Fatal("slog output not redacted by LogValue")
	}
}
