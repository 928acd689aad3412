package auth

import (
	"fmt"
	"slices"
)

// Scopes an API key may hold. A scope grants exactly what it names:
// transactions:write does not imply transactions:read.
const (
	ScopeTransactionsWrite = "transactions:write"
	ScopeTransactionsRead  = "transactions:read"
	ScopeWalletsRead       = "wallets:read"
	ScopeWalletsWrite      = "wallets:write"
	ScopeAuditRead         = "audit:read"
	ScopeApprovalsRead     = "approvals:read"
)

// AllScopes returns every known scope, in a fixed order, as a new slice.
func AllScopes() []string {
	return []string{
		ScopeTransactionsWrite,
		ScopeTransactionsRead,
		ScopeWalletsRead,
		ScopeWalletsWrite,
		ScopeAuditRead,
		ScopeApprovalsRead,
	}
}

// IsScope reports whether s is a known scope (exact, case-sensitive match).
func IsScope(s string) bool {
	switch s {
	case ScopeTransactionsWrite, ScopeTransactionsRead, ScopeWalletsRead,
		ScopeWalletsWrite, ScopeAuditRead, ScopeApprovalsRead:
		return true
	}
	return false
}

// ValidateScopes refuses an empty list (ErrNoScopes), an unknown scope
// (ErrUnknownScope) and a scope listed twice (ErrDuplicateScope). The error
// names the offending scope.
func ValidateScopes(scopes []string) error {
	if len(scopes) == 0 {
		return ErrNoScopes
	}
	for i, s := range scopes {
		if !IsScope(s) {
			return fmt.Errorf("%w: %q", ErrUnknownScope, s)
		}
		if slices.Contains(scopes[:i], s) {
			return fmt.Errorf("%w: %q", ErrDuplicateScope, s)
		}
	}
	return nil
}

// HasScope reports whether scopes contains want exactly. An unknown want is
// never held, even if scopes (unvalidated) contains it.
func HasScope(scopes []string, want string) bool {
	return IsScope(want) && slices.Contains(scopes, want)
}
