package proof_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/custos-dev/custos/approvals/proof"
)

func seed(label string) []byte {
	s := sha256.Sum256([]byte("proof test seed: " + label))
	return s[:]
}

func newSigner(t testing.TB, label string) *proof.Signer {
	t.Helper()
	s, err := proof.NewSigner(ed25519.NewKeyFromSeed(seed(label)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// statement is the shape of a decision statement.
type statement struct {
	Fingerprint string            `json:"fingerprint"`
	PolicyHash  string            `json:"policy_hash"`
	Outcome     string            `json:"outcome"`
	Reasons     []string          `json:"reasons"`
	Counters    map[string]string `json:"counters"`
}

func testStatement() statement {
	return statement{
		Fingerprint: hex.EncodeToString(seed("fingerprint")),
		PolicyHash:  hex.EncodeToString(seed("policy")),
		Outcome:     "needs_approval",
		Reasons:     []string{"amount above EUR 10,000 <tier 2> & daily limit"},
		Counters:    map[string]string{"daily_eur": "12000", "count_1h": "3"},
	}
}

// keySet is the body of GET /v1/keys.
func keySet(t testing.TB, keys ...proof.PublicKey) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func signed(t testing.TB, s *proof.Signer, st any) []byte {
	t.Helper()
	p, err := s.Sign(st)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSignParseVerify(t *testing.T) {
	s := newSigner(t, "decision")
	file := signed(t, s, testStatement())

	keys, err := proof.ParseKeys(keySet(t, s.PublicKey()))
	if err != nil {
		t.Fatalf("ParseKeys: %v", err)
	}
	p, err := proof.Parse(file)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	got, err := proof.Verify(p, keys)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want, _ := json.Marshal(testStatement())
	if !bytes.Equal(got, want) {
		t.Errorf("statement = %s, want %s", got, want)
	}
	var st statement
	if err := json.Unmarshal(got, &st); err != nil || !reflect.DeepEqual(st, testStatement()) {
		t.Errorf("statement decodes to %+v (%v)", st, err)
	}
	// Verify returns a copy: changing it does not change the proof.
	got[1] ^= 1
	if _, err := proof.Verify(p, keys); err != nil {
		t.Errorf("Verify after editing the returned statement: %v", err)
	}

	pub := s.PublicKey()
	raw, _ := base64.StdEncoding.DecodeString(pub.PublicKey)
	if pub.KeyID != proof.KeyID(raw) || len(pub.KeyID) != 16 || p.KeyID != pub.KeyID {
		t.Errorf("key ids: published %q, computed %q, proof %q", pub.KeyID, proof.KeyID(raw), p.KeyID)
	}
	if pub.Algorithm != proof.Algorithm || pub.Use != "decision" || p.Algorithm != proof.Algorithm {
		t.Errorf("published key %+v, proof algorithm %q", pub, p.Algorithm)
	}
	if !bytes.Equal(raw, ed25519.NewKeyFromSeed(seed("decision")).Public().(ed25519.PublicKey)) {
		t.Error("published key is not the signer's public key")
	}
}

// TestSignedStatementsParse checks that whatever Sign produces, Parse and
// Verify accept, including statements that encoding/json escapes.
func TestSignedStatementsParse(t *testing.T) {
	s := newSigner(t, "decision")
	keys := map[string]ed25519.PublicKey{s.PublicKey().KeyID: pubOf("decision")}
	for _, tc := range []struct {
		name string
		st   any
	}{
		{"ok/struct", testStatement()},
		{"ok/empty-object", struct{}{}},
		{"ok/html-and-separators", map[string]string{"<k>": "a&b \u2028 \u2029 </script>"}},
		{"ok/numbers", map[string]any{"f": 1.5e300, "i": -7, "z": 0}},
		{"ok/spaced-raw-message", json.RawMessage("{ \"a\" :\n [1, 2] }")},
		{"ok/unicode", map[string]string{"name": "Zoë ✓ 日本"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := proof.Parse(signed(t, s, tc.st))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if _, err := proof.Verify(p, keys); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
	for _, tc := range []struct {
		name string
		st   any
	}{
		{"fail/string", "approved"},
		{"fail/array", []int{1}},
		{"fail/nil", nil},
		{"fail/nil-map", map[string]int(nil)},
		{"fail/unencodable", map[string]any{"c": make(chan int)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if p, err := s.Sign(tc.st); err == nil {
				t.Fatalf("Sign(%v) = %+v, want an error", tc.st, p)
			}
		})
	}
}

func pubOf(label string) ed25519.PublicKey {
	return ed25519.NewKeyFromSeed(seed(label)).Public().(ed25519.PublicKey)
}

func TestNewSigner(t *testing.T) {
	t.Run("ok/copies-key", func(t *testing.T) {
		key := ed25519.NewKeyFromSeed(seed("decision"))
		s, err := proof.NewSigner(key)
		if err != nil {
			t.Fatal(err)
		}
		for i := range key {
			key[i] = 0
		}
		p, err := s.Sign(testStatement())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := proof.Verify(p, map[string]ed25519.PublicKey{p.KeyID: pubOf("decision")}); err != nil {
			t.Fatalf("signer did not keep its own copy of the key: %v", err)
		}
	})
	for _, tc := range []struct {
		name string
		key  ed25519.PrivateKey
	}{
		{"fail/nil", nil},
		{"fail/seed-only", ed25519.PrivateKey(seed("decision"))},
		{"fail/too-long", append(ed25519.NewKeyFromSeed(seed("decision")), 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if s, err := proof.NewSigner(tc.key); err == nil || s != nil {
				t.Fatalf("NewSigner = %v, %v; want an error", s, err)
			}
		})
	}
}

func TestParseKeys(t *testing.T) {
	a, b := newSigner(t, "a"), newSigner(t, "b")
	mismatched := a.PublicKey()
	mismatched.KeyID = b.PublicKey().KeyID
	other := a.PublicKey()
	other.Algorithm = "ecdsa-p256"
	other.PublicKey = "not even base64!"
	short := a.PublicKey()
	short.PublicKey = base64.StdEncoding.EncodeToString(pubOf("a")[:31])
	notB64 := a.PublicKey()
	notB64.PublicKey = "%%%"
	urlB64 := a.PublicKey()
	urlB64.PublicKey = base64.RawURLEncoding.EncodeToString(pubOf("a"))

	for _, tc := range []struct {
		name string
		data []byte
		want []string // key ids
	}{
		{"ok/published", keySet(t, a.PublicKey()), []string{a.PublicKey().KeyID}},
		{"ok/two-keys", keySet(t, a.PublicKey(), b.PublicKey()), []string{a.PublicKey().KeyID, b.PublicKey().KeyID}},
		{"ok/other-algorithm-skipped", keySet(t, other, b.PublicKey()), []string{b.PublicKey().KeyID}},
		{"ok/empty", []byte(`{"keys":[]}`), nil},
		{"fail/key-id-not-matching-key", keySet(t, mismatched), nil},
		{"fail/key-id-not-matching-key-among-good", keySet(t, b.PublicKey(), mismatched), nil},
		{"fail/short-key", keySet(t, short), nil},
		{"fail/not-base64", keySet(t, notB64), nil},
		{"fail/url-base64", keySet(t, urlB64), nil},
		{"fail/not-json", []byte(`keys`), nil},
		{"fail/trailing-data", append(keySet(t, a.PublicKey()), 'x'), nil},
		{"fail/keys-not-array", []byte(`{"keys":{}}`), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := proof.ParseKeys(tc.data)
			if !strings.HasPrefix(tc.name, "ok") {
				if !errors.Is(err, proof.ErrMalformed) {
					t.Fatalf("ParseKeys error = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseKeys: %v", err)
			}
			if len(keys) != len(tc.want) {
				t.Fatalf("got %d keys, want %d", len(keys), len(tc.want))
			}
			for _, id := range tc.want {
				if proof.KeyID(keys[id]) != id {
					t.Errorf("key %s missing or wrong", id)
				}
			}
		})
	}
}

func TestVerify(t *testing.T) {
	s, other := newSigner(t, "decision"), newSigner(t, "other")
	keys, err := proof.ParseKeys(keySet(t, s.PublicKey()))
	if err != nil {
		t.Fatal(err)
	}
	parse := func(b []byte) *proof.Proof {
		p, err := proof.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := func() *proof.Proof { return parse(signed(t, s, testStatement())) }
	denied := testStatement()
	denied.Outcome = "deny"
	otherProof := parse(signed(t, s, denied))
	byOther := parse(signed(t, other, testStatement()))

	for _, tc := range []struct {
		name   string
		mutate func(p *proof.Proof)
		keys   map[string]ed25519.PublicKey
		want   error
	}{
		{"ok", func(p *proof.Proof) {}, keys, nil},
		{"fail/unknown-key-id", func(p *proof.Proof) { p.KeyID = other.PublicKey().KeyID }, keys, proof.ErrUnknownKey},
		{"fail/signed-by-unknown-key", func(p *proof.Proof) { *p = *byOther }, keys, proof.ErrUnknownKey},
		{"fail/no-trusted-keys", func(p *proof.Proof) {}, nil, proof.ErrUnknownKey},
		{"fail/other-signature-under-our-key-id", func(p *proof.Proof) { p.Signature = byOther.Signature }, keys, proof.ErrSignature},
		{"fail/key-set-maps-id-to-another-key", func(p *proof.Proof) {}, map[string]ed25519.PublicKey{s.PublicKey().KeyID: pubOf("other")}, proof.ErrSignature},
		{"fail/flipped-statement-byte", func(p *proof.Proof) {
			i := bytes.Index(p.Statement, []byte("needs_approval"))
			st := bytes.Clone(p.Statement)
			st[i] ^= 0x20 // "Needs_approval": still valid JSON
			p.Statement = st
		}, keys, proof.ErrSignature},
		{"fail/statement-re-spaced", func(p *proof.Proof) {
			p.Statement = append([]byte("{ "), p.Statement[1:]...)
		}, keys, proof.ErrSignature},
		{"fail/flipped-signature", func(p *proof.Proof) {
			sig, _ := base64.StdEncoding.DecodeString(p.Signature)
			sig[63] ^= 0x01
			p.Signature = base64.StdEncoding.EncodeToString(sig)
		}, keys, proof.ErrSignature},
		{"fail/statement-from-another-proof", func(p *proof.Proof) { p.Statement = otherProof.Statement }, keys, proof.ErrSignature},
		{"fail/signature-from-another-proof", func(p *proof.Proof) { p.Signature = otherProof.Signature }, keys, proof.ErrSignature},
		{"fail/signature-not-base64", func(p *proof.Proof) { p.Signature = "!" + p.Signature[1:] }, keys, proof.ErrMalformed},
		{"fail/signature-url-base64", func(p *proof.Proof) {
			sig, _ := base64.StdEncoding.DecodeString(p.Signature)
			p.Signature = base64.RawURLEncoding.EncodeToString(sig)
		}, keys, proof.ErrMalformed},
		{"fail/signature-truncated", func(p *proof.Proof) {
			sig, _ := base64.StdEncoding.DecodeString(p.Signature)
			p.Signature = base64.StdEncoding.EncodeToString(sig[:63])
		}, keys, proof.ErrMalformed},
		{"fail/signature-empty", func(p *proof.Proof) { p.Signature = "" }, keys, proof.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := base()
			tc.mutate(p)
			got, err := proof.Verify(p, tc.keys)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify error = %v, want %v", err, tc.want)
			}
			if got != nil {
				t.Errorf("Verify returned a statement with an error: %s", got)
			}
		})
	}
}

func TestParse(t *testing.T) {
	s := newSigner(t, "decision")
	valid := string(signed(t, s, testStatement()))
	field := func(name, value string) string {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(valid), &m); err != nil {
			t.Fatal(err)
		}
		if value == "" {
			delete(m, name)
		} else {
			m[name] = json.RawMessage(value)
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, []byte(valid), "", "  "); err != nil {
		t.Fatal(err)
	}
	padTo := func(n int) string { return valid + strings.Repeat(" ", n-len(valid)) }

	for _, tc := range []struct {
		name string
		in   string
	}{
		{"ok", valid},
		{"ok/surrounding-white-space", " \n\t" + valid + "\r\n "},
		{"ok/exactly-max-size", padTo(proof.MaxSize)},
		{"fail/oversized", padTo(proof.MaxSize + 1)},
		{"fail/empty", ""},
		{"fail/null", "null"},
		{"fail/not-json", "proof"},
		{"fail/array", "[" + valid + "]"},
		{"fail/unknown-field", field("comment", `"hi"`)},
		{"fail/trailing-data", valid + "x"},
		{"fail/trailing-object", valid + "{}"},
		{"fail/trailing-brace", valid + "}"},
		{"fail/trailing-bracket", valid + "]"},
		{"fail/second-proof", valid + "\n" + valid},
		{"fail/truncated", valid[:len(valid)-1]},
		{"fail/wrong-algorithm", field("algorithm", `"ed448"`)},
		{"fail/upper-case-algorithm", field("algorithm", `"ED25519"`)},
		{"fail/missing-algorithm", field("algorithm", "")},
		{"fail/statement-string", field("statement", `"{}"`)},
		{"fail/statement-array", field("statement", `[{}]`)},
		{"fail/statement-number", field("statement", `1`)},
		{"fail/statement-null", field("statement", `null`)},
		{"fail/statement-missing", field("statement", "")},
		{"fail/statement-indented", indented.String()},
		{"fail/statement-unescaped-html", `{"statement":{"a":"<b>"},"key_id":"0123456789abcdef","algorithm":"ed25519","signature":""}`},
		{"fail/key-id-short", field("key_id", `"abcd"`)},
		{"fail/key-id-missing", field("key_id", "")},
		{"fail/key-id-not-string", field("key_id", `1234567890123456`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := proof.Parse([]byte(tc.in))
			if strings.HasPrefix(tc.name, "ok") {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if _, err := proof.Verify(p, map[string]ed25519.PublicKey{p.KeyID: pubOf("decision")}); err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, proof.ErrMalformed) {
				t.Fatalf("Parse error = %v, want ErrMalformed", err)
			}
			if p != nil {
				t.Errorf("Parse returned %+v with an error", p)
			}
			if !strings.HasPrefix(err.Error(), "proof: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestParseShapeOfUnescapedCase(t *testing.T) {
	// The fail/statement-unescaped-html input differs from an accepted one
	// only by the escaping of '<' and '>'.
	in := `{"statement":{"a":"\u003cb\u003e"},"key_id":"0123456789abcdef","algorithm":"ed25519","signature":""}`
	if _, err := proof.Parse([]byte(in)); err != nil {
		t.Fatalf("Parse: %v", err)
	}
}

// TestSignerRedacted checks that no way of printing, logging or encoding a
// Signer reveals its private key or seed.
func TestSignerRedacted(t *testing.T) {
	sd := seed("decision")
	priv := ed25519.NewKeyFromSeed(sd)
	s, err := proof.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	var secrets []string
	for _, secret := range [][]byte{sd, priv, priv[:32]} {
		secrets = append(secrets,
			hex.EncodeToString(secret),
			strings.ToUpper(hex.EncodeToString(secret)),
			base64.StdEncoding.EncodeToString(secret),
			base64.RawStdEncoding.EncodeToString(secret),
			base64.URLEncoding.EncodeToString(secret),
			base64.RawURLEncoding.EncodeToString(secret),
			strings.Trim(fmt.Sprint([]byte(secret)), "[]"), // decimal bytes, as %v prints a []byte
			strings.Trim(fmt.Sprintf("%#v", []byte(secret)), "[]byte{}"),
		)
	}
	id := s.PublicKey().KeyID

	var outputs = map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X"} {
		outputs["fmt "+verb+" pointer"] = fmt.Sprintf(verb, s)
		outputs["fmt "+verb+" value"] = fmt.Sprintf(verb, *s)
		outputs["fmt "+verb+" in struct"] = fmt.Sprintf(verb, struct{ S *proof.Signer }{s})
		outputs["fmt "+verb+" value in struct"] = fmt.Sprintf(verb, struct{ S proof.Signer }{*s})
		outputs["fmt "+verb+" in slice"] = fmt.Sprintf(verb, []any{s, *s})
	}
	for _, h := range []struct {
		name string
		new  func(*bytes.Buffer) slog.Handler
	}{
		{"json", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
		{"text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
	} {
		var buf bytes.Buffer
		log := slog.New(h.new(&buf))
		log.Info("signer", "signer", s, "value", *s, slog.Any("any", s), slog.Group("g", "signer", s))
		outputs["slog "+h.name] = buf.String()
	}
	for name, v := range map[string]any{"pointer": s, "value": *s, "in struct": struct{ S *proof.Signer }{s}, "value in struct": struct{ S proof.Signer }{*s}} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal %s: %v", name, err)
		}
		outputs["json "+name] = string(b)
	}

	for name, out := range outputs {
		for _, secret := range secrets {
			if strings.Contains(out, secret) {
				t.Errorf("%s reveals the private key: %s", name, out)
			}
		}
		// Guard against a test that passes because nothing was printed.
		if !strings.Contains(out, id) && !strings.Contains(out, hex.EncodeToString([]byte(id))) && !strings.Contains(out, strings.ToUpper(hex.EncodeToString([]byte(id)))) {
			t.Errorf("%s does not show the redacted form with the key id %s: %s", name, id, out)
		}
	}
}

func FuzzProofParse(f *testing.F) {
	s := newSigner(f, "decision")
	valid := signed(f, s, testStatement())
	f.Add(valid)
	f.Add(signed(f, s, struct{}{}))
	f.Add(signed(f, s, map[string]string{"html": "<&>\u2028"}))
	f.Add(append(bytes.Clone(valid), '}'))
	f.Add(append(bytes.Clone(valid), "\n{}"...))
	f.Add(bytes.Replace(valid, []byte(`"ed25519"`), []byte(`"Ed25519"`), 1))
	f.Add([]byte(`{"statement":{ },"key_id":"0123456789abcdef","algorithm":"ed25519","signature":""}`))
	f.Add([]byte(`{"statement":{},"key_id":"0123456789abcdef","algorithm":"ed25519","signature":"","extra":1}`))
	f.Add([]byte(`{"Statement":{},"KEY_ID":"0123456789abcdef","algorithm":"ed25519","signature":"\u0041"}`))
	f.Add([]byte(`null`))
	f.Add([]byte{})
	keys := map[string]ed25519.PublicKey{s.PublicKey().KeyID: pubOf("decision")}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := proof.Parse(data)
		if err != nil {
			if !errors.Is(err, proof.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		re, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("re-encoding an accepted proof: %v", err)
		}
		p2, err := proof.Parse(re)
		if err != nil {
			t.Fatalf("Parse(Marshal(Parse(%q))) = %v", data, err)
		}
		if !reflect.DeepEqual(p, p2) {
			t.Fatalf("round trip changed the proof:\n%+v\n%+v", p, p2)
		}
		st, err := proof.Verify(p, keys)
		if err == nil && !bytes.Equal(st, p.Statement) {
			t.Fatalf("Verify returned %q, not the statement %q", st, p.Statement)
		}
		if _, err2 := proof.Verify(p2, keys); (err == nil) != (err2 == nil) {
			t.Fatalf("re-encoding changed the verdict: %v, %v", err, err2)
		}
	})
}
