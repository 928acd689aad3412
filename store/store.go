// Package store defines Custos's persistence contract: one transaction-shaped
// interface implemented by two engines (store/sqlite, the embedded default,
// and store/postgres, for production and several coordinator replicas).
//
// Guarantees every engine gives:
//   - ReadWriteTx runs f in one database transaction and may run it again
//     when the engine reports a serialization conflict, so f must be
//     idempotent apart from its writes through Tx.
//   - State changes are conditional (compare-and-swap on the old status):
//     two coordinators never both move a row out of the same state.
//   - Audit events are appended to a single hash chain in the same
//     transaction as the change they describe; if the append fails, the
//     transaction fails.
//   - Amounts are decimal strings of integer base units; EUR values are
//     integer cents. No floats.
//
// The package refuses nothing by itself; callers validate before they write.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/custos-dev/custos/audit"
)

// Errors callers branch on with errors.Is.
var (
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a unique key already exists, or a conditional update
	// found the row in another state than expected.
	ErrConflict = errors.New("store: conflict")
)

// Store is implemented by each engine.
type Store interface {
	// ReadWriteTx runs f in a read-write transaction. f may be called more
	// than once if the engine must retry after a serialization conflict.
	ReadWriteTx(ctx context.Context, f func(ctx context.Context, tx Tx) error) error
	// ReadTx runs f in a read-only transaction (a consistent snapshot).
	ReadTx(ctx context.Context, f func(ctx context.Context, tx Tx) error) error
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	Close() error
}

// Tx is the set of operations available inside a transaction. Write methods
// called inside ReadTx fail.
type Tx interface {
	// Users.
	CreateUser(ctx context.Context, u *User) error // ErrConflict on duplicate name
	GetUser(ctx context.Context, id string) (*User, error)
	GetUserByName(ctx context.Context, name string) (*User, error)
	ListUsers(ctx context.Context) ([]*User, error)
	SetUserRole(ctx context.Context, id string, role string) error
	// SetApprovalKey records a user's approval key once: ErrConflict if the
	// user has one already or another user holds the same key.
	SetApprovalKey(ctx context.Context, userID string, publicKey []byte) error
	SetPasswordHash(ctx context.Context, userID, hash string) error
	// SetTOTP records a user's sealed TOTP secret (nil removes it) and when
	// it was confirmed (nil: pending enrolment). It keeps TOTPLastStep.
	SetTOTP(ctx context.Context, userID string, sealedSecret []byte, enabledAt *time.Time) error
	// UseTOTPStep records that a code of time step step was accepted:
	// ErrConflict unless step is after the last one accepted.
	UseTOTPStep(ctx context.Context, userID string, step int64) error
	// SetLoginFailures records a user's failed sign-ins since the last
	// success and the lock they caused (nil: none).
	SetLoginFailures(ctx context.Context, userID string, failed int, lockedUntil *time.Time) error

	// Passkeys (WebAuthn credentials staff approve with).
	// AddPasskey stores a passkey: ErrConflict on a duplicate credential
	// id, or a public key already pending or active; ErrNotFound for an
	// unknown user.
	AddPasskey(ctx context.Context, p *Passkey) error
	GetPasskey(ctx context.Context, id []byte) (*Passkey, error)
	// ListPasskeys lists the passkeys of userID, or of everyone if userID
	// is empty, by user id then creation.
	ListPasskeys(ctx context.Context, userID string) ([]*Passkey, error)
	// SetPasskeyStatus moves passkey id from status from to status to:
	// ErrConflict if it is not in from, ErrNotFound if it does not exist.
	SetPasskeyStatus(ctx context.Context, id []byte, from, to PasskeyStatus, at time.Time) error

	// Sessions (staff logins). Only the SHA-256 of the token is stored.
	CreateSession(ctx context.Context, s *Session) error
	GetSession(ctx context.Context, tokenHash []byte) (*Session, error)
	DeleteSession(ctx context.Context, tokenHash []byte) error
	// TouchSession moves a session's LastSeenAt forward to at (never
	// back); ErrNotFound if there is no such session.
	TouchSession(ctx context.Context, tokenHash []byte, at time.Time) error
	// SetSessionMFA marks a session as signed in with a second factor
	// (its user just enrolled one); ErrNotFound if there is no such session.
	SetSessionMFA(ctx context.Context, tokenHash []byte) error
	// DeleteUserSessions ends every session of a user (none is fine).
	DeleteUserSessions(ctx context.Context, userID string) error

	// API keys. Only the lookup prefix and a hash of the secret are stored.
	CreateAPIKey(ctx context.Context, k *APIKey) error // ErrConflict on duplicate prefix
	GetAPIKeyByPrefix(ctx context.Context, prefix string) (*APIKey, error)
	GetAPIKey(ctx context.Context, id string) (*APIKey, error)
	ListAPIKeys(ctx context.Context) ([]*APIKey, error)
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error // ErrConflict if already revoked
	TouchAPIKey(ctx context.Context, id string, at time.Time) error  // sets last_used_at

	// Wallets.
	CreateWallet(ctx context.Context, w *Wallet) error // ErrConflict on duplicate name
	GetWallet(ctx context.Context, id string) (*Wallet, error)
	ListWallets(ctx context.Context) ([]*Wallet, error)
	// SetWalletFrozen sets the frozen flag; ErrConflict if it already has that value.
	SetWalletFrozen(ctx context.Context, id string, frozen bool) error

	// Rates: EUR price of one whole unit of an asset.
	PutRate(ctx context.Context, r *Rate) error // insert or replace
	GetRate(ctx context.Context, asset string) (*Rate, error)
	ListRates(ctx context.Context) ([]*Rate, error)

	// Policy documents, versioned 1, 2, 3... The highest version is active.
	// PutPolicy fails with ErrConflict unless p.Version == current+1.
	PutPolicy(ctx context.Context, p *Policy) error
	CurrentPolicy(ctx context.Context) (*Policy, error) // ErrNotFound if none
	GetPolicy(ctx context.Context, version int64) (*Policy, error)

	// Settings: small key/value flags such as the global emergency stop.
	GetSetting(ctx context.Context, key string) (string, error) // ErrNotFound if unset
	PutSetting(ctx context.Context, key, value string) error

	// Approval requests.
	CreateRequest(ctx context.Context, r *Request) error
	GetRequest(ctx context.Context, id string) (*Request, error)
	ListRequests(ctx context.Context, f RequestFilter) ([]*Request, error)
	// UpdateRequestStatus moves a request from one status to another and
	// sets UpdatedAt; ErrConflict if it is not in status from.
	UpdateRequestStatus(ctx context.Context, id string, from, to RequestStatus, at time.Time) error
	// UpdateRequestBinding replaces the fingerprint, payload and policy
	// binding of a pending request (after a changed intent or policy) and
	// bumps Revision; ErrConflict unless the request is pending at revision
	// r.Revision-1.
	UpdateRequestBinding(ctx context.Context, r *Request) error
	// UpdateRequestRequirement writes Status, Requirement, EURCents and
	// UpdatedAt of r without touching its binding or revision (votes stay
	// valid); ErrConflict unless the stored request is in status from at
	// revision r.Revision.
	UpdateRequestRequirement(ctx context.Context, r *Request, from RequestStatus) error

	// Approvals. One row per (request, approver, revision); ErrConflict on a duplicate.
	AddApproval(ctx context.Context, a *Approval) error
	ListApprovals(ctx context.Context, requestID string) ([]*Approval, error)

	// Transactions (transfer intents and their lifecycle).
	// CreateTransaction fails with ErrConflict when (ClientID, IdempotencyKey)
	// exists already (IdempotencyKey empty means no idempotency).
	CreateTransaction(ctx context.Context, t *Transaction) error
	GetTransaction(ctx context.Context, id string) (*Transaction, error)
	GetTransactionByIdempotencyKey(ctx context.Context, clientID, key string) (*Transaction, error)
	GetTransactionByRequest(ctx context.Context, requestID string) (*Transaction, error)
	ListTransactions(ctx context.Context, f TransactionFilter) ([]*Transaction, error)
	// UpdateTransaction writes the mutable fields of t (Status, Decision,
	// Signature, SignedAt, FailureReason, EURCents, UpdatedAt, and the
	// intent: To, Amount, Memo, Nonce, Intent, Fingerprint); ErrConflict
	// unless the stored status is from. ID, RequestID, ClientID,
	// IdempotencyKey, BodyHash, WalletID, Chain, Asset and CreatedAt never
	// change.
	UpdateTransaction(ctx context.Context, t *Transaction, from TxStatus) error

	// Spend ledger: one entry per transfer counted against a wallet's
	// limits. Entries carry running totals so a window sum is two index
	// lookups whatever the number of entries.
	// AppendSpend assigns Seq, CumEURCents and CumCount; At is raised to the
	// previous entry's At if it is earlier, so At never decreases per wallet.
	AppendSpend(ctx context.Context, e *SpendEntry) error
	// SpendSince sums entries with At >= since (EUR cents, count).
	SpendSince(ctx context.Context, walletID string, since time.Time) (eurCents int64, count int64, err error)
	// SpendWindows answers SpendSince for every start in sinces and gives
	// the At of the newest entry (zero without entries), in one read.
	SpendWindows(ctx context.Context, walletID string, sinces []time.Time) (sums []SpendSum, last time.Time, err error)
	// LastSpend returns the newest entry, or ErrNotFound.
	LastSpend(ctx context.Context, walletID string) (*SpendEntry, error)

	// Audit chain. AppendAudit fills in Seq, PrevHash and Hash (via
	// audit.Event.Seal) from the current chain head and stores the event.
	AppendAudit(ctx context.Context, e *audit.Event) error
	// ListAudit returns events with Seq > afterSeq in order, at most limit
	// (limit <= 0 means all).
	ListAudit(ctx context.Context, afterSeq int64, limit int) ([]*audit.Event, error)
	// AuditHead returns the sequence number and hash of the newest event
	// (0 and 32 zero bytes for an empty chain).
	AuditHead(ctx context.Context) (seq int64, hash []byte, err error)

	// UpdateWalletKey writes Status, PublicKey and GroupKey of w (a FROST
	// wallet leaving its key ceremony); ErrConflict unless the stored
	// status is from, ErrNotFound if the wallet is missing. Every other
	// field is left as it is.
	UpdateWalletKey(ctx context.Context, w *Wallet, from WalletStatus) error

	// Guardians: enrolled guardian nodes with their pinned keys.
	// CreateGuardian fails with ErrConflict on a duplicate id, name,
	// identity key or encryption key (keys stay unique even after a
	// guardian is removed).
	CreateGuardian(ctx context.Context, g *Guardian) error
	GetGuardian(ctx context.Context, id string) (*Guardian, error)
	ListGuardians(ctx context.Context) ([]*Guardian, error) // by name, every status
	// UpdateGuardian writes Endpoint, Status, StatusReason, LastSeenAt and
	// Health of g; ID, Name, the keys and EnrolledAt never change.
	// ErrNotFound if the guardian is missing.
	UpdateGuardian(ctx context.Context, g *Guardian) error
	// Guardian invitations: single-use claim codes, only their SHA-256 is
	// stored. ClaimGuardianInvite marks the invitation used by guardianID
	// at at: ErrNotFound for an unknown code, ErrConflict if it was used
	// already or has expired (ExpiresAt <= at). Of concurrent claims of
	// one code exactly one succeeds. CreateGuardianInvite fails with
	// ErrConflict on a duplicate id or code hash. GuardianInviteByCode
	// reads the invitation with a code hash, used or expired ones
	// included (the caller decides), without claiming or locking it:
	// ErrNotFound for an unknown code.
	CreateGuardianInvite(ctx context.Context, inv *GuardianInvite) error
	ClaimGuardianInvite(ctx context.Context, codeHash []byte, guardianID string, at time.Time) (*GuardianInvite, error)
	GuardianInviteByCode(ctx context.Context, codeHash []byte) (*GuardianInvite, error)
	ListGuardianInvites(ctx context.Context) ([]*GuardianInvite, error) // newest first

	// Key ceremonies (FROST DKG), one or more per wallet.
	// CreateCeremony fails with ErrConflict on a duplicate id and with
	// ErrNotFound if the wallet is missing.
	CreateCeremony(ctx context.Context, c *Ceremony) error
	GetCeremony(ctx context.Context, id string) (*Ceremony, error)
	// ListCeremonies returns the ceremonies of a wallet, or all of them
	// when walletID is empty, newest first.
	ListCeremonies(ctx context.Context, walletID string) ([]*Ceremony, error)
	// ListRunningCeremonies returns the ceremonies in state
	// CeremonyRunning, oldest first (created, then id). It reads only
	// those, however many ceremonies ended before: what a periodic sweep
	// for abandoned ceremonies needs. It locks nothing.
	ListRunningCeremonies(ctx context.Context) ([]*Ceremony, error)
	// UpdateCeremony writes State, Round, Transcript, Blamed, Error,
	// Progress and UpdatedAt; ErrConflict unless the stored state is from,
	// ErrNotFound if the ceremony is missing.
	UpdateCeremony(ctx context.Context, c *Ceremony, from CeremonyState) error

	// Webhooks: endpoints that receive audit events. CreateWebhook fails
	// with ErrConflict on a duplicate id. GetWebhook, SetWebhookEnabled and
	// DeleteWebhook fail with ErrNotFound if the webhook is missing.
	// SetWebhookEnabled fails with ErrConflict if the webhook is in that
	// state already; enabling one clears NextAttemptAt (it is due at once).
	CreateWebhook(ctx context.Context, w *Webhook) error
	GetWebhook(ctx context.Context, id string) (*Webhook, error)
	ListWebhooks(ctx context.Context) ([]*Webhook, error) // oldest first (created, then id)
	SetWebhookEnabled(ctx context.Context, id string, enabled bool) error
	DeleteWebhook(ctx context.Context, id string) error
	// UpdateWebhookDelivery writes Cursor, Failures, LastError,
	// LastDeliveryAt and NextAttemptAt of w: ErrConflict unless the stored
	// cursor is from (another dispatcher moved it), ErrNotFound if the
	// webhook is missing.
	UpdateWebhookDelivery(ctx context.Context, w *Webhook, from int64) error
	// LeaseWebhook lets holder deliver a webhook's events until until, so
	// that coordinator replicas do not deliver the same events at once:
	// ErrConflict while another holder's lease runs at now, ErrNotFound if
	// the webhook is missing. A holder may renew its own lease.
	// ReleaseWebhook ends holder's lease; it does nothing if holder does
	// not hold it (any more) or the webhook is gone.
	LeaseWebhook(ctx context.Context, id, holder string, now, until time.Time) error
	ReleaseWebhook(ctx context.Context, id, holder string) error
}

// Roles.
const (
	RoleAdmin           = "admin"
	RoleTreasuryManager = "treasury_manager"
	RoleApprover        = "approver"
	RoleViewer          = "viewer"
	RoleAuditor         = "auditor"
)

// User is a member of the treasury staff.
type User struct {
	ID           string
	Name         string
	Role         string
	PasswordHash string // argon2id PHC string
	// ApprovalKey is the Ed25519 public key the user signs approvals with;
	// nil until registered. The private half never reaches the coordinator.
	ApprovalKey []byte
	CreatedAt   time.Time
	// TOTPSecret is the user's TOTP secret sealed under the coordinator's
	// key-encryption key; nil if none. Until TOTPEnabledAt is set it is a
	// pending enrolment, not yet a second factor.
	TOTPSecret    []byte
	TOTPEnabledAt *time.Time
	// TOTPLastStep is the last TOTP time step a code was accepted for: a
	// code is accepted once.
	TOTPLastStep int64
	// FailedLogins counts failed sign-ins since the last success;
	// LockedUntil, when set and in the future, refuses every sign-in.
	FailedLogins int
	LockedUntil  *time.Time
}

// Session is a staff login. The token itself is never stored.
type Session struct {
	TokenHash []byte
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time // absolute end
	// LastSeenAt is when the session was last used (a web session also
	// ends after an idle time).
	LastSeenAt time.Time
	Web        bool // a browser session (cookie), not an API token
	MFA        bool // the second factor was checked at sign-in
}

// APIKey is a credential for an API client.
type APIKey struct {
	ID          string
	Name        string
	Prefix      string // public lookup part of the key
	SecretHash  []byte // SHA-256 of the secret part
	OwnerUserID string // the user on whose behalf requests are made
	Scopes      []string
	CreatedAt   time.Time
	ExpiresAt   *time.Time
	RevokedAt   *time.Time
	LastUsedAt  *time.Time
}

// Wallet modes.
const (
	ModeHD       = "hd"
	ModeFROST    = "frost"
	ModeShamir   = "shamir"
	ModeHardware = "hardware"
)

// Wallet is a signing identity.
type Wallet struct {
	ID             string
	Name           string
	Mode           string
	Curve          string // "secp256k1" or "ed25519"
	DerivationPath string // e.g. m/44'/60'/0'/0/0
	PublicKey      []byte // compressed secp256k1 point or 32-byte Ed25519 key
	SealedSeed     []byte // AEAD ciphertext of the master seed (hd)
	KeyVersion     int
	Frozen         bool
	CreatedAt      time.Time

	// Status: active for hd wallets from creation; a frost wallet is
	// pending until its key ceremony completes (PublicKey empty until
	// then) and failed if the ceremony failed. Empty is stored as active.
	Status    WalletStatus
	Threshold int      // frost: signers needed (t)
	Guardians []string // frost: guardian ids; guardian i+1 in the key is Guardians[i]; empty reads back nil
	GroupKey  []byte   // frost: JSON of the group's public key data
}

// Active reports whether the wallet's key is active: it may sign. A
// wallet read from a store always has a status (an empty one is stored as
// active); a wallet whose status is empty in memory is not active.
func (w *Wallet) Active() bool { return w.Status == WalletActive }

// WalletStatus is the lifecycle of a wallet's key.
type WalletStatus string

// Wallet statuses.
const (
	WalletActive  WalletStatus = "active"
	WalletPending WalletStatus = "pending"
	WalletFailed  WalletStatus = "failed"
)

// Guardian is an enrolled guardian node.
type Guardian struct {
	ID            string
	Name          string
	IdentityKey   []byte // Ed25519 public key, pinned at enrolment
	EncryptionKey []byte // X25519 public key (HPKE), pinned at enrolment
	Endpoint      string // base URL the coordinator calls
	Status        GuardianStatus
	StatusReason  string // why it is quarantined or removed
	EnrolledAt    time.Time
	LastSeenAt    *time.Time
	Health        []byte // JSON of the last health report
}

// GuardianStatus is the coordinator's view of a guardian.
type GuardianStatus string

// Guardian statuses.
const (
	GuardianActive      GuardianStatus = "active"
	GuardianQuarantined GuardianStatus = "quarantined" // returned an invalid share; not picked for signing
	GuardianRemoved     GuardianStatus = "removed"
)

// GuardianInvite is a single-use enrolment claim code.
type GuardianInvite struct {
	ID         string
	CodeHash   []byte // SHA-256 of the claim code
	Name       string // name the enrolled guardian gets
	CreatedBy  string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	UsedAt     *time.Time
	GuardianID string // set when claimed
}

// CeremonyState is the lifecycle of a key ceremony.
type CeremonyState string

// Ceremony states.
const (
	CeremonyRunning   CeremonyState = "running"
	CeremonyCompleted CeremonyState = "completed"
	CeremonyFailed    CeremonyState = "failed"
)

// Ceremony is one FROST distributed key generation for a wallet.
type Ceremony struct {
	ID         string // the session id the guardians bind every message to
	WalletID   string
	State      CeremonyState
	Round      string // the step reached: round1, confirm, round2, finalize, test-sign, activate, done
	Curve      string
	Threshold  int
	Guardians  []string // guardian ids in participant order; empty reads back nil
	Transcript []byte   // round-1 transcript hash, once known
	Blamed     string   // guardian id named as misbehaving, if any
	Error      string   // why it failed
	Progress   []byte   // JSON detail for the API (per-guardian steps, timings)
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Webhook is an endpoint that receives, in order, the audit events it
// subscribed to, from a durable cursor in the audit chain.
type Webhook struct {
	ID  string
	URL string
	// SealedSecret is the signing secret sealed under the coordinator's
	// key-encryption key (bound to ID); it is never stored in the clear.
	SealedSecret []byte
	Events       []string // subscribed event types, e.g. "transaction.*"; empty reads back nil
	Enabled      bool
	CreatedBy    string
	CreatedAt    time.Time
	// Cursor is the audit sequence number of the last event delivered or
	// passed over (not subscribed to): delivery resumes after it.
	Cursor int64
	// Failures counts consecutive failed deliveries; LastError says why
	// the last one failed (empty after a success).
	Failures       int
	LastError      string
	LastDeliveryAt *time.Time // last successful delivery
	NextAttemptAt  *time.Time // no delivery before then (retry backoff)
}

// Rate is the EUR price of one whole unit of an asset.
type Rate struct {
	Asset      string // lower case
	EURPerUnit string // decimal string, e.g. "2543.17"
	Decimals   int    // base units per whole unit = 10^Decimals
	UpdatedAt  time.Time
}

// Policy is one version of the policy document.
type Policy struct {
	Version   int64
	Hash      []byte // SHA-256 of Document
	Document  []byte // canonical JSON
	CreatedBy string
	CreatedAt time.Time
}

// RequestStatus is the lifecycle of an approval request.
type RequestStatus string

const (
	RequestPending  RequestStatus = "pending"
	RequestApproved RequestStatus = "approved" // quorum met
	RequestRejected RequestStatus = "rejected"
	RequestExpired  RequestStatus = "expired"
	RequestExecuted RequestStatus = "executed" // the approved action ran
	RequestFailed   RequestStatus = "failed"   // the approved action failed
)

// Request is an approval request for one action.
type Request struct {
	ID            string
	Action        string // "transfer", "wallet.create", "policy.change", ...
	RequesterID   string // user id of the requester (API key owner for API clients)
	Payload       []byte // canonical intent bytes
	Fingerprint   []byte // SHA-256 fingerprint of the intent
	PolicyVersion int64
	PolicyHash    []byte
	EURCents      int64
	Requirement   []byte // JSON: approvals and roles required
	Revision      int64  // bumped when the binding changes; voids approvals
	Status        RequestStatus
	CreatedAt     time.Time
	UpdatedAt     time.Time
	ExpiresAt     time.Time
}

// RequestFilter selects requests for listing. Zero values mean any.
type RequestFilter struct {
	Status RequestStatus
	Action string
	Limit  int
	// Oldest lists oldest first, otherwise newest first (rows created at
	// the same time by ID either way). After continues the listing after a
	// row, in its order (the CreatedAt and ID of the last row of the
	// previous page; zero for the first page), so a caller can page
	// through every row.
	Oldest bool
	After  Cursor
}

// Cursor is a position in a listing ordered by creation time and id.
type Cursor struct {
	CreatedAt time.Time
	ID        string
}

// Approval is one signed approval or rejection.
type Approval struct {
	RequestID   string
	Revision    int64
	ApproverID  string
	Decision    string // "approve" or "reject"
	Fingerprint []byte
	PolicyHash  []byte
	Signature   []byte // Ed25519 over the canonical approval message; nil for a passkey vote
	// Assertion is a passkey vote: the WebAuthn assertion (JSON as the
	// approvals package encodes it) over the approval message's challenge.
	Assertion []byte
	Reason    string // the voter's reason, shown to the others; not signed
	CreatedAt time.Time
}

// PasskeyStatus is where a passkey is in its approval.
type PasskeyStatus string

const (
	// PasskeyPending: registered; its user.credential.add request is not
	// yet approved, and it approves nothing.
	PasskeyPending PasskeyStatus = "pending"
	// PasskeyActive: approved; votes made with it count.
	PasskeyActive PasskeyStatus = "active"
	// PasskeyRefused: its request was rejected, expired or failed.
	PasskeyRefused PasskeyStatus = "refused"
	// PasskeyRevoked: removed from an active state (the user lost their
	// approving role).
	PasskeyRevoked PasskeyStatus = "revoked"
)

// Passkey is a WebAuthn credential a user approves with. Only its public
// key is known to Custos.
type Passkey struct {
	ID        []byte // credential id
	UserID    string
	Name      string // the user's label for it
	PublicKey []byte // COSE_Key
	RPID      string
	Origins   []string
	AAGUID    []byte // the authenticator model, as attested (not trusted)
	Status    PasskeyStatus
	RequestID string // its user.credential.add request
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TxStatus is the lifecycle of a transfer.
type TxStatus string

const (
	TxDenied          TxStatus = "denied"
	TxPendingApproval TxStatus = "pending_approval"
	TxApproved        TxStatus = "approved"
	TxSigning         TxStatus = "signing"
	TxSigned          TxStatus = "signed"
	TxRejected        TxStatus = "rejected"
	TxExpired         TxStatus = "expired"
	TxFailed          TxStatus = "failed"
)

// Transaction is a transfer intent and its lifecycle.
type Transaction struct {
	ID             string
	RequestID      string // empty when denied at submission
	ClientID       string // API key id or user id that submitted it
	IdempotencyKey string
	BodyHash       []byte // SHA-256 of the submitted body, to spot key reuse
	WalletID       string
	Chain          string
	Asset          string
	To             string
	Amount         string // integer base units, decimal
	Memo           string
	Nonce          string
	Intent         []byte // canonical intent bytes
	Fingerprint    []byte
	EURCents       int64
	Status         TxStatus
	Decision       []byte // signed decision proof (JSON)
	Signature      []byte
	FailureReason  string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	SignedAt       *time.Time
}

// TransactionFilter selects transactions for listing. Zero values mean any.
type TransactionFilter struct {
	WalletID string
	Asset    string
	Status   TxStatus
	Limit    int
	Oldest   bool   // as in RequestFilter
	After    Cursor // as in RequestFilter
}

// SpendSum is the total of a spend window.
type SpendSum struct {
	EURCents int64
	Count    int64
}

// SpendEntry is one transfer counted against a wallet's limits.
type SpendEntry struct {
	WalletID      string
	Seq           int64
	At            time.Time
	EURCents      int64
	TransactionID string
	CumEURCents   int64 // sum of EURCents of entries 1..Seq
	CumCount      int64 // = Seq
}
