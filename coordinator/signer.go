package coordinator

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/governance"
	"github.com/custos-dev/custos/hd"
	"github.com/custos-dev/custos/internal/seal"
	"github.com/custos-dev/custos/store"
)

// Signer produces and checks the signatures of a wallet. There is one per
// wallet mode: hd (here), and frost, shamir and hardware, which involve
// guardians or a device.
//
// Sign returns only a signature it has verified under the wallet's public
// key (the coordinator keeps no signature that does not verify): how
// depends on the mode, for instance FROST aggregation verifies the
// signature it produces. Verify checks a signature under the wallet's
// public key, in the mode's scheme.
//
// Sign may be called again for the same wallet and message after a crash
// (the sweep resumes transfers left in signing); a second call must be as
// safe as the first: a deterministic scheme, or a ceremony whose
// participants answer an identical retry with the same result.
//
// A signer that cannot reach enough of its parties returns an *Error of
// KindUnavailable: the transfer stays in signing and the sweep tries again
// later. Any other error fails the transfer.
type Signer interface {
	Sign(ctx context.Context, job *SignJob) ([]byte, error)
	Verify(w *store.Wallet, msg, sig []byte) error
}

// SignJob is what a Signer signs, with what a guardian needs to check it
// on its own.
type SignJob struct {
	Wallet  *store.Wallet
	Message []byte
	// Certificate is the approval certificate of the transfer request;
	// guardians verify it against the governance state they hold.
	Certificate *approvals.Certificate
	// Valuation is the EUR rate the coordinator valued the transfer at
	// (guardians value it at the higher of it and their approved anchor).
	Valuation *governance.Valuation
	// Ceremony is set, instead of a certificate, for the test signature
	// of a key ceremony: the session id whose test message is signed.
	Ceremony string
}

// Curves.
const (
	CurveSecp256k1 = "secp256k1"
	CurveEd25519   = "ed25519"
)

// DefaultPath is the derivation path used when a wallet names none.
var DefaultPath = map[string]string{
	CurveSecp256k1: "m/44'/60'/0'/0/0",
	CurveEd25519:   "m/44'/501'/0'/0'",
}

func hdCurve(c string) (hd.Curve, error) {
	switch c {
	case CurveSecp256k1:
		return hd.Secp256k1, nil
	case CurveEd25519:
		return hd.Ed25519, nil
	}
	return 0, fmt.Errorf("unsupported curve %q", c)
}

// seedAD binds a sealed seed to its wallet, key version, curve, derivation
// path and public key: a sealed seed moved to another wallet row, or a row
// whose curve, path or key was edited, does not open.
func seedAD(w *store.Wallet) []byte {
	return seal.AssociatedData("wallet-seed", w.ID, fmt.Sprint(w.KeyVersion), w.Curve, w.DerivationPath, hex.EncodeToString(w.PublicKey))
}

type hdSigner struct{ kek *seal.KEK }

var _ Signer = (*hdSigner)(nil)

// Sign opens the wallet's seed, derives the child key, signs msg and
// verifies the signature under the wallet's public key. The seed and the
// keys are wiped before it returns.
func (h *hdSigner) Sign(_ context.Context, job *SignJob) ([]byte, error) {
	w, msg := job.Wallet, job.Message
	curve, err := hdCurve(w.Curve)
	if err != nil {
		return nil, err
	}
	seed, err := seal.Open(h.kek, w.SealedSeed, seedAD(w))
	if err != nil {
		return nil, fmt.Errorf("opening wallet seed: %w", err)
	}
	defer clear(seed)
	master, err := hd.NewMasterKey(seed, curve)
	if err != nil {
		return nil, err
	}
	defer master.Zero()
	key, err := master.DerivePath(w.DerivationPath)
	if err != nil {
		return nil, err
	}
	defer key.Zero()
	sig, err := key.Sign(msg)
	if err != nil {
		return nil, err
	}
	if err := h.Verify(w, msg, sig); err != nil {
		return nil, fmt.Errorf("the signature does not verify: %w", err)
	}
	return sig, nil
}

// Verify implements Signer: an Ed25519 or a secp256k1 ECDSA signature
// under the wallet's public key.
func (h *hdSigner) Verify(w *store.Wallet, msg, sig []byte) error {
	return VerifySignature(w.Curve, w.PublicKey, msg, sig)
}

// deriveHDPublicKey returns the public key of a wallet's child key.
func deriveHDPublicKey(seed []byte, curve, path string) ([]byte, error) {
	c, err := hdCurve(curve)
	if err != nil {
		return nil, err
	}
	master, err := hd.NewMasterKey(seed, c)
	if err != nil {
		return nil, err
	}
	defer master.Zero()
	key, err := master.DerivePath(path)
	if err != nil {
		return nil, err
	}
	defer key.Zero()
	if c == hd.Ed25519 {
		return key.Ed25519PublicKey()
	}
	return key.PublicKey(), nil
}

// VerifySignature checks sig over msg with a wallet public key.
func VerifySignature(curve string, pub, msg, sig []byte) error {
	switch curve {
	case CurveEd25519:
		if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, msg, sig) {
			return errors.New("ed25519 signature does not verify")
		}
		return nil
	case CurveSecp256k1:
		if !hd.VerifySecp256k1(pub, msg, sig) {
			return errors.New("secp256k1 signature does not verify")
		}
		return nil
	}
	return fmt.Errorf("unsupported curve %q", curve)
}
