package coordinator

import (
	"slices"

	"github.com/custos-dev/custos/internal/auth"
	"github.com/custos-dev/custos/store"
)

// Permissions checked by the service.
const (
	PermTransactionsWrite = auth.ScopeTransactionsWrite
	PermTransactionsRead  = auth.ScopeTransactionsRead
	PermWalletsRead       = auth.ScopeWalletsRead
	PermWalletsWrite      = auth.ScopeWalletsWrite
	PermAuditRead         = auth.ScopeAuditRead
	PermApprovalsRead     = auth.ScopeApprovalsRead
	PermApprove           = "approvals:vote"
	PermPolicyWrite       = "policy:write"
	PermAdmin             = "admin"
)

var rolePerms = map[string][]string{
	store.RoleAdmin: {PermWalletsRead, PermWalletsWrite, PermTransactionsRead, PermAuditRead,
		PermApprovalsRead, PermPolicyWrite, PermAdmin},
	store.RoleTreasuryManager: {PermTransactionsRead, PermTransactionsWrite, PermWalletsRead,
		PermWalletsWrite, PermApprovalsRead, PermApprove, PermPolicyWrite},
	store.RoleApprover: {PermTransactionsRead, PermTransactionsWrite, PermWalletsRead,
		PermApprovalsRead, PermApprove},
	store.RoleViewer:  {PermTransactionsRead, PermWalletsRead, PermApprovalsRead},
	store.RoleAuditor: {PermTransactionsRead, PermWalletsRead, PermApprovalsRead, PermAuditRead},
}

// ValidRole reports whether role is one of the known roles.
func ValidRole(role string) bool { _, ok := rolePerms[role]; return ok }

// Principal is an authenticated caller.
type Principal struct {
	Kind   string   // "user" or "apikey"
	ID     string   // user id or API key id
	UserID string   // the acting user (the owner, for an API key)
	Name   string   // user name or API key name
	Role   string   // the acting user's role
	Scopes []string // API key scopes
	// Web marks a browser session; MFA that its sign-in checked a second
	// factor (always true for a web session the UI lets act).
	Web, MFA bool
	session  []byte // the session's token hash (sessions only)
}

// Actor is the audit-log form of the principal.
func (p *Principal) Actor() string { return p.Kind + ":" + p.ID }

// Can reports whether p holds perm. A user holds the permissions of their
// role. An API key holds its scopes (its creation was an approved request),
// limited by what its owner's current role may delegate: an administrator
// may own keys for any scope (integrations), anyone else only scopes their
// role holds, so demoting the owner takes the power from the key too.
func (p *Principal) Can(perm string) bool {
	if p.Kind == "apikey" {
		if !slices.Contains(p.Scopes, perm) {
			return false
		}
		return p.Role == store.RoleAdmin || slices.Contains(rolePerms[p.Role], perm)
	}
	return slices.Contains(rolePerms[p.Role], perm)
}

func (p *Principal) require(perm string) error {
	if p == nil {
		return ErrUnauthenticated
	}
	if !p.Can(perm) {
		return newErr(KindForbidden, "forbidden", "%s %q may not %s", p.Kind, p.Name, perm)
	}
	return nil
}
