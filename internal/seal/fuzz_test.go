package seal

import (
	"bytes"
	"testing"
)

// FuzzOpen feeds arbitrary blobs and associated data to Open under a fixed
// KEK. Properties: Open never panics; it returns plaintext only for an exact
// (blob, associated data) pair that Seal produced; on error the plaintext is
// nil; and Seal then Open round-trips any input.
func FuzzOpen(f *testing.F) {
	kek := testKEK(f, 0x42)
	type sealedCase struct {
		blob, ad, plaintext []byte
	}
	var valid []sealedCase
	for i, c := range []struct {
		plaintext []byte
		ad        []byte
	}{
		{[]byte("seed"), AssociatedData("wallet-seed", "wallet-1", "3")},
		{[]byte{}, AssociatedData("wallet-seed", "wallet-2", "1")},
		{bytes.Repeat([]byte{0xff}, 64), AssociatedData("guardian-share", "g1", "7")},
		{[]byte("x"), []byte{0}},
	} {
		blob, err := Seal(kek, c.plaintext, c.ad, testRand(byte(i)))
		if err != nil {
			f.Fatal(err)
		}
		valid = append(valid, sealedCase{blob, c.ad, c.plaintext})
		f.Add(blob, c.ad)
		// Near misses: flipped tag byte, other AD, truncated, wrong version.
		flipped := bytes.Clone(blob)
		flipped[len(flipped)-1] ^= 1
		f.Add(flipped, c.ad)
		f.Add(blob, append(bytes.Clone(c.ad), 0))
		f.Add(blob[:len(blob)-1], c.ad)
		v2 := bytes.Clone(blob)
		v2[0] = 2
		f.Add(v2, c.ad)
	}
	f.Add([]byte{}, []byte{})
	f.Add([]byte{Version}, []byte("ad"))
	f.Add(make([]byte, Overhead), []byte("ad"))

	f.Fuzz(func(t *testing.T, blob, ad []byte) {
		got, err := Open(kek, blob, ad)
		if err != nil {
			if got != nil {
				t.Fatal("plaintext returned with an error")
			}
		} else {
			matched := false
			for _, v := range valid {
				if bytes.Equal(blob, v.blob) && bytes.Equal(ad, v.ad) {
					matched = true
					if !bytes.Equal(got, v.plaintext) {
						t.Fatal("valid blob opened to the wrong plaintext")
					}
				}
			}
			if !matched {
				t.Fatalf("Open accepted a blob Seal did not produce: %x / %x", blob, ad)
			}
		}

		// Round trip: any bytes seal and open back under any non-empty AD.
		if len(ad) == 0 {
			return
		}
		sealed, err := Seal(kek, blob, ad, testRand(0xEE))
		if err != nil {
			t.Fatal(err)
		}
		back, err := Open(kek, sealed, ad)
		if err != nil || !bytes.Equal(back, blob) {
			t.Fatalf("round trip failed: %v", err)
		}
	})
}
