package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateScopes(t *testing.T) {
	tests := []struct {
		name   string
		scopes []string
		want   error
	}{
		{"ok/one", []string{ScopeTransactionsRead}, nil},
		{"ok/all", AllScopes(), nil},
		{"ok/write-without-read", []string{ScopeTransactionsWrite, ScopeWalletsRead}, nil},
		{"fail/nil", nil, ErrNoScopes},
		{"fail/empty", []string{}, ErrNoScopes},
		{"fail/unknown", []string{"transactions:delete"}, ErrUnknownScope},
		{"fail/empty-string", []string{""}, ErrUnknownScope},
		{"fail/wildcard", []string{"*"}, ErrUnknownScope},
		{"fail/admin", []string{"admin"}, ErrUnknownScope},
		{"fail/upper-case", []string{"Transactions:Read"}, ErrUnknownScope},
		{"fail/padded", []string{" audit:read"}, ErrUnknownScope},
		{"fail/trailing-newline", []string{"audit:read\n"}, ErrUnknownScope},
		{"fail/unknown-after-valid", []string{ScopeAuditRead, "audit:write"}, ErrUnknownScope},
		{"fail/duplicate", []string{ScopeWalletsRead, ScopeWalletsRead}, ErrDuplicateScope},
		{"fail/duplicate-apart", []string{ScopeWalletsRead, ScopeAuditRead, ScopeApprovalsRead, ScopeWalletsRead}, ErrDuplicateScope},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateScopes(tc.scopes)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	err := ValidateScopes([]string{"audit:write"})
	if !strings.Contains(err.Error(), `"audit:write"`) {
		t.Fatalf("error %q does not name the scope", err)
	}
}

func TestHasScope(t *testing.T) {
	held := []string{ScopeTransactionsWrite, ScopeWalletsRead, "bogus"}
	tests := []struct {
		name string
		want string
		has  bool
	}{
		{"ok/held", ScopeTransactionsWrite, true},
		{"ok/held-read", ScopeWalletsRead, true},
		{"fail/write-does-not-imply-read", ScopeTransactionsRead, false},
		{"fail/read-does-not-imply-write", ScopeWalletsWrite, false},
		{"fail/not-held", ScopeAuditRead, false},
		{"fail/unknown-even-if-listed", "bogus", false},
		{"fail/empty", "", false},
		{"fail/case", "Transactions:Write", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := HasScope(held, tc.want); got != tc.has {
				t.Fatalf("HasScope(%q) = %v", tc.want, got)
			}
		})
	}
	if HasScope(nil, ScopeAuditRead) {
		t.Fatal("nil scopes hold something")
	}
}

func TestAllScopes(t *testing.T) {
	all := AllScopes()
	if len(all) != 6 {
		t.Fatalf("%d scopes", len(all))
	}
	for _, s := range all {
		if !IsScope(s) {
			t.Fatalf("%q from AllScopes is not a scope", s)
		}
	}
	all[0] = "mutated"
	if AllScopes()[0] != ScopeTransactionsWrite {
		t.Fatal("AllScopes shares its slice")
	}
}
