// Package coordinator is the core of Custos: it turns transfer intents into
// signatures only when the policy engine allows them, the approval engine has
// collected the business approvals the policy demands, and the wallet's
// signer produced a signature that verifies against the wallet's public key.
// Every step is appended to the audit chain in the same store transaction as
// the change it records.
//
// FROST wallets are signed by guardians (separate processes that hold the
// key shares, made by a distributed key generation the coordinator only
// relays): they are enrolled with single-use claim codes, pin the
// coordinator's guardian identity key, receive every approved governance
// change, and check each transfer's approval certificate themselves before
// releasing a signature share. Messages to them are signed envelopes
// (package guardian/wire) carried by a GuardianTransport.
//
// The package has no HTTP in it; coordinator/httpapi serves it. It fails
// closed: a store, rate, policy, audit or signer failure refuses the
// operation, and there is no path that signs without a met quorum.
package coordinator

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/custos-dev/custos/approvals/policy"
	"github.com/custos-dev/custos/approvals/proof"
	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/internal/seal"
	"github.com/custos-dev/custos/store"
	"github.com/google/uuid"
)

// Settings keys.
const settingEmergencyStop = "emergency_stop"

// Config holds a Service's dependencies.
type Config struct {
	Store       store.Store
	KEK         *seal.KEK        // seals wallet seeds
	DecisionKey *proof.Signer    // signs decision proofs
	Logger      *slog.Logger     // nil: discard
	Now         func() time.Time // nil: time.Now
	Rand        io.Reader        // nil: crypto/rand
	// SessionTTL is how long a staff login lasts (default 12h).
	SessionTTL time.Duration
	// Signers by wallet mode; the HD and FROST signers are added by New.
	Signers map[string]Signer

	// GuardianKey is the coordinator's Ed25519 identity towards guardians:
	// every request to a guardian is signed with it, and each guardian
	// pins its public key at enrolment. Without it no guardian can enrol
	// and FROST wallets can be neither created nor used.
	GuardianKey ed25519.PrivateKey
	// GuardianTransport carries messages to guardians (nil: HTTP with warm
	// connections).
	GuardianTransport GuardianTransport
	// GuardianTimeout bounds each call to a guardian (default 5s).
	GuardianTimeout time.Duration
	// GuardianStale is how long after its last health answer a guardian
	// still counts as responsive when signers are picked (default 1m).
	GuardianStale time.Duration

	// Passkeys is where the web UI is served, which staff passkeys are
	// bound to; without an origin, passkeys are disabled.
	Passkeys PasskeyConfig

	// Webhooks configures the delivery of audit events to webhooks.
	Webhooks WebhookConfig
}

// Service is the coordinator.
type Service struct {
	store   store.Store
	kek     *seal.KEK
	proofs  *proof.Signer
	log     *slog.Logger
	now     func() time.Time
	rand    io.Reader
	ttl     time.Duration
	signers map[string]Signer

	pwSlots chan struct{} // bounds concurrent argon2id checks

	mu       sync.Mutex
	policies map[string]*policy.Document // parsed documents by hex hash

	guardianKey ed25519.PrivateKey
	rpc         *guardianClient
	frost       *frostSigner
	guardians   guardianCache
	govLog      governanceLog
	stale       time.Duration
	passkeys    *passkeys
	hooks       *webhooks

	// Background work (key ceremonies, commitment refills, governance
	// pushes) runs under bgCtx and is waited for by Close.
	bgMu       sync.Mutex
	bgCtx      context.Context
	bgStop     context.CancelFunc
	bgWG       sync.WaitGroup
	closed     bool
	ceremonies map[string]bool // ceremonies this process is running
}

// New validates cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.KEK == nil || cfg.DecisionKey == nil {
		return nil, errors.New("coordinator: Store, KEK and DecisionKey are required")
	}
	s := &Service{
		store:    cfg.Store,
		kek:      cfg.KEK,
		proofs:   cfg.DecisionKey,
		log:      cfg.Logger,
		now:      cfg.Now,
		rand:     cfg.Rand,
		ttl:      cfg.SessionTTL,
		signers:  map[string]Signer{},
		policies: map[string]*policy.Document{},
		pwSlots:  make(chan struct{}, 4),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.ttl == 0 {
		s.ttl = 12 * time.Hour
	}
	if cfg.GuardianKey != nil && len(cfg.GuardianKey) != ed25519.PrivateKeySize {
		return nil, errors.New("coordinator: GuardianKey is not an Ed25519 private key")
	}
	s.guardianKey = cfg.GuardianKey
	tr := cfg.GuardianTransport
	if tr == nil {
		tr = NewHTTPTransport()
	}
	timeout := cfg.GuardianTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	s.stale = cfg.GuardianStale
	if s.stale <= 0 {
		s.stale = time.Minute
	}
	pk, err := newPasskeys(cfg.Passkeys)
	if err != nil {
		return nil, err
	}
	s.passkeys = pk
	s.hooks = newWebhooks(cfg.Webhooks, s.newID())
	s.rpc = &guardianClient{key: cfg.GuardianKey, tr: tr, timeout: timeout, now: s.now}
	s.frost = newFROSTSigner(s)
	s.bgCtx, s.bgStop = context.WithCancel(context.Background())
	s.ceremonies = map[string]bool{}
	s.signers[store.ModeHD] = &hdSigner{kek: cfg.KEK}
	s.signers[store.ModeFROST] = s.frost
	for mode, sg := range cfg.Signers {
		s.signers[mode] = sg
	}
	return s, nil
}

// Close stops the service's background work (key ceremonies in progress
// are abandoned; the sweep of a later run marks them failed) and waits for
// it to end. The store is the caller's to close.
func (s *Service) Close() error {
	s.bgMu.Lock()
	s.closed = true
	s.bgMu.Unlock()
	s.bgStop()
	s.bgWG.Wait()
	return nil
}

// goBackground runs f in a goroutine owned by the service, with a context
// that Close cancels. It reports false (and runs nothing) after Close.
func (s *Service) goBackground(f func(ctx context.Context)) bool {
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	if s.closed {
		return false
	}
	s.bgWG.Add(1)
	go func() {
		defer s.bgWG.Done()
		f(s.bgCtx)
	}()
	return true
}

// Store returns the service's store (for read-only tooling).
func (s *Service) Store() store.Store { return s.store }

// DecisionKeys returns the published decision-proof verification keys.
func (s *Service) DecisionKeys() []proof.PublicKey { return []proof.PublicKey{s.proofs.PublicKey()} }

func (s *Service) newID() string {
	id, err := uuid.NewRandomFromReader(s.rand)
	if err != nil {
		panic("coordinator: random source failed: " + err.Error())
	}
	return id.String()
}

// nonce is a fresh 16-byte random value in hex (an intent's nonce).
func (s *Service) nonce() string { return s.randomHex(16) }

// randomHex returns n bytes from the service's random source, in hex. It
// reads all n (a source that returns fewer bytes per Read is read again)
// and panics if the source fails, as crypto/rand never does.
func (s *Service) randomHex(n int) string {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		panic("coordinator: random source failed: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// Meta is request context recorded in the audit log.
type Meta struct {
	RequestID string
	RemoteIP  string
}

type metaKey struct{}

// WithMeta attaches request metadata to ctx.
func WithMeta(ctx context.Context, m Meta) context.Context {
	return context.WithValue(ctx, metaKey{}, m)
}

func metaFrom(ctx context.Context) Meta { m, _ := ctx.Value(metaKey{}).(Meta); return m }

// event describes one audit record; record appends it in tx.
type event struct {
	category, action, actor, target, result string
	meta                                    map[string]string
}

// recordAll records evs in order.
func (s *Service) recordAll(ctx context.Context, tx store.Tx, evs []event) error {
	for _, ev := range evs {
		if err := s.record(ctx, tx, ev); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) record(ctx context.Context, tx store.Tx, ev event) error {
	m := metaFrom(ctx)
	md := make(map[string]string, len(ev.meta)+1)
	for k, v := range ev.meta {
		md[clean(k, 64)] = clean(v, 2048)
	}
	if m.RemoteIP != "" {
		md["remote_ip"] = clean(m.RemoteIP, 64)
	}
	e := &audit.Event{
		ID:        s.newID(),
		Time:      s.now().UTC(),
		Category:  ev.category,
		Action:    ev.action,
		Actor:     clean(ev.actor, 256),
		Target:    clean(ev.target, 256),
		RequestID: clean(m.RequestID, 64),
		Result:    ev.result,
		Metadata:  md,
	}
	if err := tx.AppendAudit(ctx, e); err != nil {
		return wrapErr(KindUnavailable, "audit_unavailable", "the audit log could not be written; nothing was done", err)
	}
	return nil
}

// clean makes an audit field valid UTF-8 of at most max bytes, so that
// whatever a caller sends (a login name, an address) can always be sealed
// and exported.
func clean(v string, max int) string {
	v = strings.ToValidUTF8(v, "\uFFFD")
	if len(v) <= max {
		return v
	}
	v = v[:max]
	for !utf8.ValidString(v) {
		v = v[:len(v)-1]
	}
	return v + "…"
}

// recordAlone appends an event in its own transaction (for failures whose
// main transaction rolled back).
func (s *Service) recordAlone(ctx context.Context, ev event) {
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error { return s.record(ctx, tx, ev) })
	if err != nil {
		s.log.ErrorContext(ctx, "audit write failed", "action", ev.action, "err", err)
	}
}

// read runs one store read in a read transaction and maps its error: the
// shape of every plain lookup and listing the service offers. notFound, if
// not nil, is the answer when the store finds nothing.
func read[T any](ctx context.Context, s *Service, what string, notFound error, f func(ctx context.Context, tx store.Tx) (T, error)) (T, error) {
	var out T
	err := s.store.ReadTx(ctx, func(ctx context.Context, tx store.Tx) error {
		var err error
		out, err = f(ctx, tx)
		return err
	})
	if err != nil {
		var zero T
		if notFound != nil && errors.Is(err, store.ErrNotFound) {
			return zero, notFound
		}
		return zero, s.storeErr(what, err)
	}
	return out, nil
}
