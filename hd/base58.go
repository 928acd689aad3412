package hd

import (
	"crypto/sha256"
	"crypto/subtle"
)

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// base58Index maps an ASCII byte to its digit value, or 0xff.
var base58Index = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(base58Alphabet); i++ {
		t[base58Alphabet[i]] = byte(i)
	}
	return t
}()

// base58Encode encodes b in Bitcoin Base58: each leading zero byte becomes
// '1', the rest is the big-endian number in base 58 without leading zeros.
func base58Encode(b []byte) string {
	zeros := 0
	for zeros < len(b) && b[zeros] == 0 {
		zeros++
	}
	// log(256)/log(58) < 1.37
	digits := make([]byte, 0, (len(b)-zeros)*137/100+1)
	for _, c := range b[zeros:] {
		carry := int(c)
		for i := range digits {
			carry += int(digits[i]) << 8
			digits[i] = byte(carry % 58)
			carry /= 58
		}
		for carry > 0 {
			digits = append(digits, byte(carry%58))
			carry /= 58
		}
	}
	out := make([]byte, zeros+len(digits))
	for i := range zeros {
		out[i] = '1'
	}
	for i, d := range digits {
		out[len(out)-1-i] = base58Alphabet[d]
	}
	return string(out)
}

// base58Decode is the inverse of base58Encode. It returns false for a
// character outside the alphabet. For every accepted s,
// base58Encode(base58Decode(s)) == s.
func base58Decode(s string) ([]byte, bool) {
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	// log(58)/log(256) < 0.74
	num := make([]byte, 0, (len(s)-zeros)*74/100+1)
	for i := zeros; i < len(s); i++ {
		d := base58Index[s[i]]
		if d == 0xff {
			return nil, false
		}
		carry := int(d)
		for j := range num {
			carry += int(num[j]) * 58
			num[j] = byte(carry)
			carry >>= 8
		}
		for carry > 0 {
			num = append(num, byte(carry))
			carry >>= 8
		}
	}
	out := make([]byte, zeros+len(num))
	for i, c := range num {
		out[len(out)-1-i] = c
	}
	clear(num)
	return out, true
}

// checksum4 is the Base58Check checksum: the first 4 bytes of
// SHA-256(SHA-256(payload)).
func checksum4(payload []byte) [4]byte {
	h1 := sha256.Sum256(payload)
	h2 := sha256.Sum256(h1[:])
	return [4]byte(h2[:4])
}

// base58CheckEncode appends the checksum and encodes.
func base58CheckEncode(payload []byte) string {
	buf := make([]byte, len(payload)+4)
	copy(buf, payload)
	cs := checksum4(payload)
	copy(buf[len(payload):], cs[:])
	s := base58Encode(buf)
	clear(buf)
	return s
}

// checksumOK reports whether the last 4 bytes of b are the checksum of the
// rest.
func checksumOK(b []byte) bool {
	if len(b) < 4 {
		return false
	}
	cs := checksum4(b[:len(b)-4])
	return subtle.ConstantTimeCompare(cs[:], b[len(b)-4:]) == 1
}
