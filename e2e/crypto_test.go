package e2e

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// verifyWalletSignature checks a wallet signature independently of the
// custos code: secp256k1 ECDSA over SHA-256(msg) with r || s (64 bytes)
// under a compressed SEC1 key, or pure Ed25519 over msg.
func verifyWalletSignature(curve, pubHex, sigHex string, msg []byte) error {
	pub, err := hex.DecodeString(pubHex)
	if err != nil {
		return fmt.Errorf("public key is not hex: %v", err)
	}
	sig, err := hex.DecodeString(sigHex)
	if err != nil {
		return fmt.Errorf("signature is not hex: %v", err)
	}
	if len(sig) != 64 {
		return fmt.Errorf("signature is %d bytes, want 64", len(sig))
	}
	switch curve {
	case "ed25519":
		if len(pub) != ed25519.PublicKeySize {
			return fmt.Errorf("ed25519 public key is %d bytes", len(pub))
		}
		if !ed25519.Verify(pub, msg, sig) {
			return errors.New("ed25519 signature does not verify")
		}
		return nil
	case "secp256k1":
		if len(pub) != 33 || (pub[0] != 2 && pub[0] != 3) {
			return fmt.Errorf("secp256k1 public key %x is not a compressed SEC1 key", pub)
		}
		pk, err := secp256k1.ParsePubKey(pub)
		if err != nil {
			return fmt.Errorf("secp256k1 public key: %v", err)
		}
		var r, s secp256k1.ModNScalar
		if r.SetByteSlice(sig[:32]) || s.SetByteSlice(sig[32:]) || r.IsZero() || s.IsZero() {
			return errors.New("secp256k1 signature scalars out of range")
		}
		if s.IsOverHalfOrder() {
			return errors.New("secp256k1 signature has a high S (malleable)")
		}
		h := sha256.Sum256(msg)
		if !ecdsa.NewSignature(&r, &s).Verify(h[:], pk) {
			return errors.New("secp256k1 signature does not verify over SHA-256 of the intent")
		}
		return nil
	}
	return fmt.Errorf("unknown curve %q", curve)
}

// intentFingerprint recomputes an intent fingerprint the way the design
// defines it: SHA-256 over a domain separator and the canonical bytes.
func intentFingerprint(canonical []byte) string {
	h := sha256.New()
	h.Write([]byte("custos/intent/v1\n"))
	h.Write(canonical)
	return hex.EncodeToString(h.Sum(nil))
}
