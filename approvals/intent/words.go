package intent

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/custos-dev/custos/internal/bip39words"
)

// WordCount is the number of words Words returns: 8 words of 11 bits cover
// the first 88 bits of a fingerprint.
const WordCount = 8

// WordBytes is the length of the fingerprint prefix the words encode (88
// bits), and so the shortest input Words accepts.
const WordBytes = WordCount * 11 / 8

// englishText is bitcoin/bips bip-0039/english.txt, byte for byte (the
// copy package hd uses too; see internal/bip39words).
var englishText = bip39words.Text

// englishSHA256 is the SHA-256 of bitcoin/bips bip-0039/english.txt.
const englishSHA256 = bip39words.SHA256

// english holds the 2048 words of the list, in order. A modified file makes
// every program using this package panic at start rather than show words
// that other programs would not show for the same fingerprint.
var english = mustLoadEnglish()

func mustLoadEnglish() []string {
	sum := sha256.Sum256([]byte(englishText))
	words := strings.Split(strings.TrimSuffix(englishText, "\n"), "\n")
	if hex.EncodeToString(sum[:]) != englishSHA256 || len(words) != 1<<11 {
		panic("intent: the embedded word list is not bitcoin/bips bip-0039/english.txt")
	}
	return words
}

// Words returns a fingerprint in a form people can compare by reading it
// aloud or across screens: its first 88 bits as 8 words of the BIP-39
// English word list, 11 bits per word, most significant bit first (the
// BIP-39 bit packing, without its checksum). The fingerprint is normally
// the 32 bytes of Fingerprint; the bits after the first 88 are not shown.
//
// Words returns nil if fp is shorter than WordBytes (11) bytes.
func Words(fp []byte) []string {
	if len(fp) < WordBytes {
		return nil
	}
	words := make([]string, 0, WordCount)
	var acc uint32 // the bits read and not yet used are its low n bits
	n := 0
	for _, b := range fp[:WordBytes] {
		acc = acc<<8 | uint32(b)
		n += 8
		if n >= 11 {
			n -= 11
			words = append(words, english[acc>>n&(1<<11-1)])
		}
	}
	return words
}

// WordString returns the words of fp (see Words) separated by single
// spaces, or "" if fp is shorter than WordBytes bytes.
func WordString(fp []byte) string { return strings.Join(Words(fp), " ") }
