package intent

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestNewTransfer(t *testing.T) {
	for _, tc := range []struct {
		name                                   string
		wallet, chain, asset, to, amount, memo string
		wantErr                                string
	}{
		{name: "ok", wallet: "w1", chain: "Message", asset: "ETH", to: "0xABC", amount: "1500000000000000000", memo: "invoice 7"},
		{name: "ok/empty-memo", wallet: "w1", chain: "message", asset: "eth", to: "bob", amount: "1"},
		{name: "fail/negative", wallet: "w1", chain: "message", asset: "eth", to: "bob", amount: "-1", wantErr: "negative"},
		{name: "fail/zero", wallet: "w1", chain: "message", asset: "eth", to: "bob", amount: "0", wantErr: "positive"},
		{name: "fail/fraction", wallet: "w1", chain: "message", asset: "eth", to: "bob", amount: "1.5", wantErr: "integer"},
		{name: "fail/exponent", wallet: "w1", chain: "message", asset: "eth", to: "bob", amount: "1e18", wantErr: "integer"},
		{name: "fail/leading-zero", wallet: "w1", chain: "message", asset: "eth", to: "bob", amount: "007", wantErr: "leading zeros"},
		{name: "fail/plus", wallet: "w1", chain: "message", asset: "eth", to: "bob", amount: "+7", wantErr: "digits"},
		{name: "fail/spaces", wallet: "w1", chain: "message", asset: "eth", to: "bob", amount: " 7", wantErr: "digits"},
		{name: "fail/huge", wallet: "w1", chain: "message", asset: "eth", to: "bob", amount: strings.Repeat("9", 79), wantErr: "digits"},
		{name: "fail/empty-amount", wallet: "w1", chain: "message", asset: "eth", to: "bob", amount: "", wantErr: "required"},
		{name: "fail/no-to", wallet: "w1", chain: "message", asset: "eth", amount: "1", wantErr: "to is required"},
		{name: "fail/control-char", wallet: "w1", chain: "message", asset: "eth", to: "bob\n", amount: "1", wantErr: "control"},
		{name: "fail/padded-to", wallet: "w1", chain: "message", asset: "eth", to: " bob", amount: "1", wantErr: "spaces"},
		{name: "fail/memo-too-long", wallet: "w1", chain: "message", asset: "eth", to: "bob", amount: "1", memo: strings.Repeat("m", 1025), wantErr: "memo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := NewTransfer(tc.wallet, tc.chain, tc.asset, tc.to, tc.amount, tc.memo, "n0nce")
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want ErrInvalid containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParseTransfer(tr.Canonical())
			if err != nil {
				t.Fatalf("ParseTransfer(Canonical()): %v", err)
			}
			if back.Fingerprint() != tr.Fingerprint() {
				t.Fatal("fingerprint changed across a round trip")
			}
			if tr.Chain != strings.ToLower(tc.chain) || tr.To != strings.ToLower(tc.to) {
				t.Fatal("not normalised to lower case")
			}
		})
	}
}

func TestFingerprintBindsEveryField(t *testing.T) {
	base, _ := NewTransfer("w1", "message", "eth", "bob", "100", "memo", "n1")
	for name, other := range map[string][]string{
		"wallet": {"w2", "message", "eth", "bob", "100", "memo", "n1"},
		"chain":  {"w1", "other", "eth", "bob", "100", "memo", "n1"},
		"asset":  {"w1", "message", "sol", "bob", "100", "memo", "n1"},
		"to":     {"w1", "message", "eth", "bob2", "100", "memo", "n1"},
		"amount": {"w1", "message", "eth", "bob", "101", "memo", "n1"},
		"memo":   {"w1", "message", "eth", "bob", "100", "memo2", "n1"},
		"nonce":  {"w1", "message", "eth", "bob", "100", "memo", "n2"},
	} {
		o, err := NewTransfer(other[0], other[1], other[2], other[3], other[4], other[5], other[6])
		if err != nil {
			t.Fatal(err)
		}
		if o.Fingerprint() == base.Fingerprint() {
			t.Errorf("changing %s does not change the fingerprint", name)
		}
	}
}

func TestParseTransferRejectsNonCanonical(t *testing.T) {
	tr, _ := NewTransfer("w1", "message", "eth", "bob", "100", "", "n1")
	c := tr.Canonical()
	for name, b := range map[string][]byte{
		"whitespace":    append([]byte(" "), c...),
		"trailing":      append(append([]byte{}, c...), []byte(`{}`)...),
		"reordered":     bytes.Replace(c, []byte(`"type":"custos.transfer.v1","wallet_id":"w1"`), []byte(`"wallet_id":"w1","type":"custos.transfer.v1"`), 1),
		"upper-case-to": bytes.Replace(c, []byte(`"to":"bob"`), []byte(`"to":"BOB"`), 1),
		"unknown-field": bytes.Replace(c, []byte(`{`), []byte(`{"x":1,`), 1),
		"wrong-type":    bytes.Replace(c, []byte(TypeTransfer), []byte("custos.transfer.v0"), 1),
		"short-memo":    bytes.Replace(c, []byte(`"memo_sha256":"e3`), []byte(`"memo_sha256":"`), 1),
	} {
		if _, err := ParseTransfer(b); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}

func TestNewActionSortsKeys(t *testing.T) {
	a, err := NewAction("wallet.create", struct {
		Name string `json:"name"`
		Mode string `json:"mode"`
	}{"ops", "hd"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"custos.wallet.create.v1","params":{"mode":"hd","name":"ops"}}`
	if string(a) != want {
		t.Fatalf("got %s, want %s", a, want)
	}
	if _, err := NewAction("x", []int{1}); err == nil {
		t.Fatal("non-object params accepted")
	}
}

func TestParseAction(t *testing.T) {
	raw, err := NewAction("wallet.create", map[string]any{"mode": "frost"})
	if err != nil {
		t.Fatal(err)
	}
	if a, err := ParseAction(raw, "wallet.create"); err != nil || string(a.Params) != `{"mode":"frost"}` {
		t.Fatalf("ok: %+v, %v", a, err)
	}
	for name, tc := range map[string]struct {
		raw    []byte
		action string
	}{
		"fail/another action": {raw, "policy.change"},
		"fail/a transfer":     {[]byte(`{"type":"custos.transfer.v1"}`), "wallet.create"},
		"fail/not JSON":       {[]byte(`wallet.create`), "wallet.create"},
	} {
		if _, err := ParseAction(tc.raw, tc.action); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}

func FuzzParseTransfer(f *testing.F) {
	tr, _ := NewTransfer("w1", "message", "eth", "0xabc", "1500000000000000000", "invoice", "n1")
	f.Add(tr.Canonical())
	f.Add([]byte(`{"type":"custos.transfer.v1"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := ParseTransfer(b)
		if err != nil {
			return
		}
		if !bytes.Equal(tr.Canonical(), b) {
			t.Fatalf("accepted non-canonical input %q", b)
		}
		again, err := ParseTransfer(tr.Canonical())
		if err != nil || again.Fingerprint() != tr.Fingerprint() {
			t.Fatalf("round trip failed: %v", err)
		}
	})
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"1", "0", "-1", "1.0", "1e3", "007", "115792089237316195423570985008687907853269984665640564039457584007913129639935"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseAmount(s)
		if err != nil {
			return
		}
		if v.Sign() <= 0 || v.String() != s {
			t.Fatalf("ParseAmount(%q) = %v: not a canonical positive integer", s, v)
		}
	})
}
