// Package intent defines the canonical form of what Custos is asked to do
// and its fingerprint, the value every approval and every signature binds to.
//
// A transfer intent is encoded as JSON with a fixed key order and normalised
// values (chain, asset and destination lower-cased, amount as an integer
// decimal string without leading zeros, the memo replaced by its SHA-256,
// and a random nonce so that two identical transfers have distinct
// fingerprints). Parse accepts only bytes that re-encode to themselves, so
// one intent has exactly one encoding and one fingerprint. Words shows a
// fingerprint to people as eight words of the BIP-39 English list, the same
// on every screen.
//
// The package refuses negative, zero, fractional, signed, padded or
// oversized amounts, empty or over-long fields, and control characters.
package intent

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"unicode/utf8"
)

// ErrInvalid is returned (wrapped, with the reason) for any malformed intent.
var ErrInvalid = errors.New("intent: invalid")

// TypeTransfer identifies a transfer intent encoding.
const TypeTransfer = "custos.transfer.v1"

// MaxAmountDigits bounds amounts to what fits in 256 bits.
const MaxAmountDigits = 78

const fingerprintDomain = "custos/intent/v1\n"

// Transfer is a normalised transfer intent.
type Transfer struct {
	WalletID   string
	Chain      string
	Asset      string
	To         string
	Amount     *big.Int
	MemoSHA256 [32]byte
	Nonce      string
}

// NewTransfer validates and normalises the fields of a transfer request.
// amount is an integer number of base units as a decimal string.
func NewTransfer(walletID, chain, asset, to, amount, memo, nonce string) (*Transfer, error) {
	amt, err := ParseAmount(amount)
	if err != nil {
		return nil, err
	}
	t := &Transfer{
		WalletID:   walletID,
		Chain:      strings.ToLower(chain),
		Asset:      strings.ToLower(asset),
		To:         strings.ToLower(to),
		Amount:     amt,
		MemoSHA256: sha256.Sum256([]byte(memo)),
		Nonce:      nonce,
	}
	if err := checkText("memo", memo, 1024, true); err != nil {
		return nil, err
	}
	if err := t.validate(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Transfer) validate() error {
	for _, f := range []struct {
		name, v string
		max     int
	}{
		{"wallet_id", t.WalletID, 64},
		{"chain", t.Chain, 32},
		{"asset", t.Asset, 32},
		{"to", t.To, 256},
		{"nonce", t.Nonce, 64},
	} {
		if err := checkText(f.name, f.v, f.max, false); err != nil {
			return err
		}
	}
	if t.Chain != strings.ToLower(t.Chain) || t.Asset != strings.ToLower(t.Asset) || t.To != strings.ToLower(t.To) {
		return fmt.Errorf("%w: chain, asset and to must be lower case", ErrInvalid)
	}
	if t.Amount == nil || t.Amount.Sign() <= 0 {
		return fmt.Errorf("%w: amount must be positive", ErrInvalid)
	}
	if len(t.Amount.String()) > MaxAmountDigits {
		return fmt.Errorf("%w: amount has more than %d digits", ErrInvalid, MaxAmountDigits)
	}
	return nil
}

func checkText(name, v string, max int, allowEmpty bool) error {
	if v == "" && !allowEmpty {
		return fmt.Errorf("%w: %s is required", ErrInvalid, name)
	}
	if len(v) > max {
		return fmt.Errorf("%w: %s is longer than %d bytes", ErrInvalid, name, max)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, name)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: %s contains a control character", ErrInvalid, name)
		}
	}
	if name != "memo" && strings.TrimSpace(v) != v {
		return fmt.Errorf("%w: %s has leading or trailing spaces", ErrInvalid, name)
	}
	return nil
}

// ParseAmount parses a positive integer amount of base units written in
// decimal with no sign, no leading zeros, no fraction and no exponent.
func ParseAmount(s string) (*big.Int, error) {
	switch {
	case s == "":
		return nil, fmt.Errorf("%w: amount is required", ErrInvalid)
	case len(s) > MaxAmountDigits:
		return nil, fmt.Errorf("%w: amount has more than %d digits", ErrInvalid, MaxAmountDigits)
	case s[0] == '-':
		return nil, fmt.Errorf("%w: amount must not be negative", ErrInvalid)
	case strings.ContainsAny(s, ".eE"):
		return nil, fmt.Errorf("%w: amount must be an integer number of base units", ErrInvalid)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return nil, fmt.Errorf("%w: amount must be a decimal string of digits", ErrInvalid)
		}
	}
	if s[0] == '0' {
		if s == "0" {
			return nil, fmt.Errorf("%w: amount must be positive", ErrInvalid)
		}
		return nil, fmt.Errorf("%w: amount has leading zeros", ErrInvalid)
	}
	v, _ := new(big.Int).SetString(s, 10)
	return v, nil
}

type transferJSON struct {
	Type       string `json:"type"`
	WalletID   string `json:"wallet_id"`
	Chain      string `json:"chain"`
	Asset      string `json:"asset"`
	To         string `json:"to"`
	Amount     string `json:"amount"`
	MemoSHA256 string `json:"memo_sha256"`
	Nonce      string `json:"nonce"`
}

// Canonical returns the canonical encoding of t.
func (t *Transfer) Canonical() []byte {
	b, err := json.Marshal(transferJSON{
		Type:       TypeTransfer,
		WalletID:   t.WalletID,
		Chain:      t.Chain,
		Asset:      t.Asset,
		To:         t.To,
		Amount:     t.Amount.String(),
		MemoSHA256: hex.EncodeToString(t.MemoSHA256[:]),
		Nonce:      t.Nonce,
	})
	if err != nil {
		panic("intent: encoding a transfer cannot fail: " + err.Error())
	}
	return b
}

// Fingerprint returns the fingerprint of t's canonical encoding.
func (t *Transfer) Fingerprint() [32]byte { return Fingerprint(t.Canonical()) }

// ParseTransfer decodes a canonical transfer intent. It rejects anything
// that is not exactly the canonical encoding of a valid intent.
func ParseTransfer(b []byte) (*Transfer, error) {
	var j transferJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data", ErrInvalid)
	}
	if j.Type != TypeTransfer {
		return nil, fmt.Errorf("%w: type %q is not %q", ErrInvalid, j.Type, TypeTransfer)
	}
	amt, err := ParseAmount(j.Amount)
	if err != nil {
		return nil, err
	}
	memo, err := hex.DecodeString(j.MemoSHA256)
	if err != nil || len(memo) != sha256.Size {
		return nil, fmt.Errorf("%w: memo_sha256 must be 32 bytes of hex", ErrInvalid)
	}
	t := &Transfer{WalletID: j.WalletID, Chain: j.Chain, Asset: j.Asset, To: j.To, Amount: amt, Nonce: j.Nonce}
	copy(t.MemoSHA256[:], memo)
	if err := t.validate(); err != nil {
		return nil, err
	}
	if !bytes.Equal(t.Canonical(), b) {
		return nil, fmt.Errorf("%w: not in canonical form", ErrInvalid)
	}
	return t, nil
}

// Fingerprint returns SHA-256 over a domain separator and canonical intent
// bytes of any action.
func Fingerprint(canonical []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(fingerprintDomain))
	h.Write(canonical)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// Action is the canonical intent of a non-transfer action (wallet.create,
// policy.change, apikey.create, ...): its type and a JSON object of
// parameters, encoded with sorted keys.
type Action struct {
	Type   string          `json:"type"`
	Params json.RawMessage `json:"params"`
}

// NewAction builds the canonical intent of an action from params, which
// must marshal to a JSON object.
func NewAction(action string, params any) ([]byte, error) {
	raw, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	// Round-trip through a generic value so keys come out sorted whatever
	// the params type, giving one encoding per meaning.
	var generic map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		return nil, fmt.Errorf("%w: params must be a JSON object: %v", ErrInvalid, err)
	}
	sorted, err := json.Marshal(generic)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return json.Marshal(Action{Type: actionType(action), Params: sorted})
}

// ParseAction decodes the intent of action and checks that it is one:
// its type is that of action, so an intent approved as one action is
// never taken for another.
func ParseAction(b []byte, action string) (*Action, error) {
	var a Action
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if want := actionType(action); a.Type != want {
		return nil, fmt.Errorf("%w: type %q is not %q", ErrInvalid, a.Type, want)
	}
	return &a, nil
}

func actionType(action string) string { return "custos." + action + ".v1" }
