package auth_test

import (
	"crypto/rand"
	"fmt"

	"github.com/custos-dev/custos/internal/auth"
)

// Issuing an API key: store prefix and hash, show the key once.
func ExampleNewAPIKey() {
	key, prefix, hash, err := auth.NewAPIKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	defer key.Zero()
	_ = key.Reveal() // shown to the creator once, never logged
	fmt.Println(len(prefix), len(hash))
	fmt.Println(key.String() == "cst_"+prefix+"_REDACTED")

	// On a request: parse, look up the row by prefix, compare hashes.
	gotPrefix, presented, err := auth.ParseAPIKey(key.Reveal())
	if err != nil {
		panic(err)
	}
	fmt.Println(gotPrefix == prefix, auth.VerifyAPIKeySecret(hash, presented))
	// Output:
	// 12 32
	// true
	// true true
}

// Logging in: an unknown user costs the same as a wrong password.
func ExampleDummyVerify() {
	users := map[string]string{} // user -> PHC hash, from the store
	login := func(user, password string) bool {
		phc, ok := users[user]
		if !ok {
			auth.DummyVerify(password)
			return false
		}
		ok, err := auth.VerifyPassword(phc, password)
		return err == nil && ok
	}
	fmt.Println(login("nobody", "some password"))
	// Output: false
}
