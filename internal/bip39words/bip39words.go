// Package bip39words is the BIP-39 English word list, embedded once for
// the packages that use it: hd (mnemonics) and approvals/intent (the
// fingerprint as words). Each checks SHA256 when it loads Text.
package bip39words

import _ "embed"

// Text is bitcoin/bips bip-0039/english.txt, byte for byte (see
// PROVENANCE.md): 2048 lines.
//
//go:embed english.txt
var Text string

// SHA256 is the SHA-256 of bitcoin/bips bip-0039/english.txt.
const SHA256 = "2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda"
