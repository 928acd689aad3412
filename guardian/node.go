// Package guardian is the guardian node (`custos guardian`): it holds one
// share of each FROST key it helped generate, sealed at rest, and releases
// a signature share only for a request whose approval certificate it has
// checked itself against the governance state it holds. It trusts the
// coordinator for nothing but message delivery.
package guardian

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/frost"
	"github.com/custos-dev/custos/governance"
	"github.com/custos-dev/custos/guardian/wire"
	"github.com/custos-dev/custos/internal/keyfile"
	"github.com/custos-dev/custos/internal/seal"
)

// Files in a guardian's directory.
const (
	ConfigFile     = "guardian.json"
	IdentityFile   = "identity.key"   // Ed25519, PEM PKCS#8
	EncryptionFile = "encryption.key" // X25519 (HPKE), PEM PKCS#8
	KEKFile        = "kek"            // when no passphrase file is configured
	StateFile      = "guardian.db"
	SharesDir      = "shares"
)

// Config is a guardian's configuration file.
type Config struct {
	Listen         string `json:"listen"`   // address to serve on, e.g. 127.0.0.1:7101
	Endpoint       string `json:"endpoint"` // URL the coordinator calls
	KEKFile        string `json:"kek_file,omitempty"`
	PassphraseFile string `json:"passphrase_file,omitempty"`
	Salt           []byte `json:"salt,omitempty"` // argon2id salt, with PassphraseFile
}

// InitOptions configure Init.
type InitOptions struct {
	Listen         string
	Endpoint       string // default http://<Listen>
	PassphraseFile string // derive the key-encryption key with argon2id from this file instead of a KEK file
}

// Init creates a guardian directory: identity and encryption keys, the
// key-encryption key (or its salt), the configuration and the state
// database, and returns the new guardian's status. It refuses a directory
// that already holds a guardian.
func Init(dir string, o InitOptions) (*Status, error) {
	if o.Listen == "" {
		return nil, errors.New("guardian: a listen address is required")
	}
	if _, err := os.Stat(filepath.Join(dir, ConfigFile)); err == nil {
		return nil, fmt.Errorf("guardian: %s already holds a guardian", dir)
	}
	if err := os.MkdirAll(filepath.Join(dir, SharesDir), 0o700); err != nil {
		return nil, err
	}
	cfg := &Config{Listen: o.Listen, Endpoint: o.Endpoint}
	if cfg.Endpoint == "" {
		cfg.Endpoint = "http://" + o.Listen
	}
	_, id, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	defer clear(id)
	if err := keyfile.CreatePrivateKey(filepath.Join(dir, IdentityFile), id); err != nil {
		return nil, err
	}
	enc, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	if err := keyfile.CreatePrivateKey(filepath.Join(dir, EncryptionFile), enc); err != nil {
		return nil, err
	}
	if o.PassphraseFile != "" {
		abs, err := filepath.Abs(o.PassphraseFile)
		if err != nil {
			return nil, err
		}
		cfg.PassphraseFile = abs
		cfg.Salt = make([]byte, seal.SaltSize)
		rand.Read(cfg.Salt)
		k, err := seal.DeriveKEKFromPassphraseFile(abs, cfg.Salt, seal.DefaultArgon2Params())
		if err != nil {
			return nil, err
		}
		k.Zero()
	} else {
		cfg.KEKFile = KEKFile
		if err := seal.GenerateKEKFile(filepath.Join(dir, KEKFile), rand.Reader); err != nil {
			return nil, err
		}
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	if err := keyfile.Create(filepath.Join(dir, ConfigFile), append(b, '\n')); err != nil {
		return nil, err
	}
	d, err := openDB(filepath.Join(dir, StateFile))
	if err != nil {
		return nil, err
	}
	defer d.close()
	st := &Status{IdentityKey: hex.EncodeToString(id.Public().(ed25519.PublicKey)), EncryptionKey: hex.EncodeToString(enc.PublicKey().Bytes()),
		Listen: cfg.Listen, Endpoint: cfg.Endpoint}
	if err := d.event(context.Background(), &audit.Event{Time: time.Now().UTC(), Category: audit.CategoryAdmin,
		Action: "guardian.init", Actor: "operator", Target: "guardian", Result: audit.ResultSuccess,
		Metadata: map[string]string{"identity_key": st.IdentityKey}}); err != nil {
		return nil, err
	}
	return st, nil
}

// LoadConfig reads a guardian's configuration.
func LoadConfig(dir string) (*Config, error) {
	b, err := keyfile.Read(filepath.Join(dir, ConfigFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("guardian: %s holds no guardian; run `custos guardian init` first", dir)
		}
		return nil, err
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("guardian: %s: %w", ConfigFile, err)
	}
	return &c, nil
}

// Options tune a running node.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// Fault makes the node misbehave, for the end-to-end tests of the
	// coordinator's handling of faulty guardians: "corrupt-share" returns
	// wrong signature shares; "stall-before-share" waits forever after
	// reserving a commitment and before answering round 2. Empty in
	// production.
	Fault string
}

// Dir is a guardian's directory opened by Inspect: its configuration,
// public keys, enrolment and state database. It never reads the
// key-encryption key or the sealed shares.
type Dir struct {
	dir           string
	cfg           *Config
	identityKey   ed25519.PublicKey
	encryptionKey []byte
	db            *db
}

// Inspect opens the guardian in dir for reading its configuration, keys,
// status and event log; it holds no secret.
func Inspect(dir string) (*Dir, error) {
	d, id, _, err := openDir(dir)
	clear(id)
	return d, err
}

// openDir opens dir and returns its private keys with it.
func openDir(dir string) (*Dir, ed25519.PrivateKey, *ecdh.PrivateKey, error) {
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	id, err := keyfile.ReadEd25519(filepath.Join(dir, IdentityFile))
	if err != nil {
		return nil, nil, nil, err
	}
	enc, err := keyfile.ReadX25519(filepath.Join(dir, EncryptionFile))
	if err != nil {
		clear(id)
		return nil, nil, nil, err
	}
	d, err := openDB(filepath.Join(dir, StateFile))
	if err != nil {
		clear(id)
		return nil, nil, nil, err
	}
	return &Dir{dir: dir, cfg: cfg, identityKey: id.Public().(ed25519.PublicKey), encryptionKey: enc.PublicKey().Bytes(), db: d}, id, enc, nil
}

// Close closes the state database.
func (d *Dir) Close() error { return d.db.close() }

// IdentityKey is the guardian's public identity key.
func (d *Dir) IdentityKey() ed25519.PublicKey { return d.identityKey }

// EncryptionKey is the guardian's public X25519 key.
func (d *Dir) EncryptionKey() []byte { return d.encryptionKey }

// Config is the guardian's configuration.
func (d *Dir) Config() Config { return *d.cfg }

// ExportEvents writes the guardian's own audit chain as JSON lines.
func (d *Dir) ExportEvents(ctx context.Context, w func([]byte) error) error {
	return d.db.exportEvents(ctx, w)
}

// Node is a running guardian.
type Node struct {
	*Dir
	identity ed25519.PrivateKey
	enc      *ecdh.PrivateKey
	kek      *seal.KEK
	log      *slog.Logger
	now      func() time.Time
	fault    string
	started  time.Time

	govMu sync.Mutex // serialises governance updates: each applies on top of the last
	gov   atomic.Pointer[govSnapshot]

	mu         sync.Mutex
	id         string            // guardian id given at enrolment
	coordKey   ed25519.PublicKey // pinned at enrolment
	keys       map[wire.KeyRef]*key
	ceremonies map[string]*ceremony   // DKG session -> state (memory only)
	seen       map[[32]byte]seenEntry // answers by request digest, for redelivered envelopes
	seenSwept  time.Time
}

// key is one key share the node holds.
type key struct {
	ref          wire.KeyRef
	index        uint16
	status       string // pending, active
	ceremony     string
	group        frost.GroupKey
	participants []wire.Participant
	signer       *frost.Signer
	issued       map[uint64]*issued // commitments handed out and not yet spent
	spent        map[uint64]*issued // recently spent, for identical round-2 retries
	spentSwept   time.Time          // when spent was last cleared of entries past spentRetention
}

// issued is a commitment handed out, with the session it is reserved for.
type issued struct {
	c       frost.Commitment
	session string   // reserved for this signing session by round 1
	digest  [32]byte // of the request round 1 checked
	signing bool     // round 2 is running
	share   []byte   // once released: the share, for an identical retry
	at      time.Time
}

// Open loads a guardian from dir.
func Open(dir string, o Options) (*Node, error) {
	d, identity, enc, err := openDir(dir)
	if err != nil {
		return nil, err
	}
	n := &Node{Dir: d, identity: identity, enc: enc, log: o.Logger, now: o.Now, fault: o.Fault, keys: map[wire.KeyRef]*key{},
		ceremonies: map[string]*ceremony{}, seen: map[[32]byte]seenEntry{}}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	if n.now == nil {
		n.now = time.Now
	}
	n.started = n.now()
	cfg := d.cfg
	if cfg.PassphraseFile != "" {
		n.kek, err = seal.DeriveKEKFromPassphraseFile(cfg.PassphraseFile, cfg.Salt, seal.DefaultArgon2Params())
	} else {
		p := cfg.KEKFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		n.kek, err = seal.LoadKEKFile(p)
	}
	if err != nil {
		n.Close()
		return nil, err
	}
	ctx := context.Background()
	n.id, _ = n.db.meta(ctx, "guardian_id")
	if k, _ := n.db.meta(ctx, "coordinator_key"); k != "" {
		n.coordKey, _ = hex.DecodeString(k)
	}
	if err := n.loadGovernance(ctx); err != nil {
		n.Close()
		return nil, err
	}
	if err := n.loadKeys(ctx); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// Close zeroes the key shares and nonces and closes the state.
func (n *Node) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, k := range n.keys {
		if k.signer != nil {
			k.signer.Close()
		}
	}
	for _, c := range n.ceremonies {
		c.zero()
	}
	if n.kek != nil {
		n.kek.Zero()
	}
	return n.Dir.Close()
}

// ID is the guardian id given at enrolment ("" before).
func (n *Node) ID() string { n.mu.Lock(); defer n.mu.Unlock(); return n.id }

// shareAD binds a sealed share to its wallet, guardian, key version and
// participant index.
func shareAD(guardianID string, ref wire.KeyRef, index uint16) []byte {
	return seal.AssociatedData("guardian-key-share", ref.WalletID, guardianID, strconv.Itoa(ref.KeyVersion), strconv.Itoa(int(index)))
}

func (n *Node) sharePath(ref wire.KeyRef) string {
	return filepath.Join(n.dir, SharesDir, fmt.Sprintf("%s.v%d.share", ref.WalletID, ref.KeyVersion))
}

// storeShare seals ks and writes it atomically (0600).
func (n *Node) storeShare(ref wire.KeyRef, ks *frost.KeyShare) error {
	plain, err := ks.Marshal()
	if err != nil {
		return err
	}
	defer clear(plain)
	sealed, err := seal.Seal(n.kek, plain, shareAD(n.id, ref, ks.ID), rand.Reader)
	if err != nil {
		return err
	}
	return keyfile.Replace(n.sharePath(ref), sealed)
}

func (n *Node) openShare(ref wire.KeyRef, index uint16) (*frost.KeyShare, error) {
	sealed, err := keyfile.Read(n.sharePath(ref))
	if err != nil {
		return nil, err
	}
	plain, err := seal.Open(n.kek, sealed, shareAD(n.id, ref, index))
	if err != nil {
		return nil, fmt.Errorf("opening the share of %s v%d: %w", ref.WalletID, ref.KeyVersion, err)
	}
	defer clear(plain)
	return frost.UnmarshalKeyShare(plain)
}

func (n *Node) loadKeys(ctx context.Context) error {
	rows, err := n.db.sql.QueryContext(ctx, `SELECT wallet_id, key_version, idx, status, ceremony, group_key, participants FROM keys`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		k := &key{issued: map[uint64]*issued{}, spent: map[uint64]*issued{}}
		var g, p []byte
		if err := rows.Scan(&k.ref.WalletID, &k.ref.KeyVersion, &k.index, &k.status, &k.ceremony, &g, &p); err != nil {
			return err
		}
		if err := json.Unmarshal(g, &k.group); err != nil {
			return err
		}
		if err := json.Unmarshal(p, &k.participants); err != nil {
			return err
		}
		ks, err := n.openShare(k.ref, k.index)
		if err != nil {
			return err
		}
		k.signer, err = frost.NewSigner(ks)
		ks.Zero()
		if err != nil {
			return err
		}
		n.keys[k.ref] = k
	}
	return rows.Err()
}

// govSnapshot is the governance state the node holds, kept in memory so
// that checking a certificate reads no database and parses no policy.
type govSnapshot struct {
	st      *governance.State
	applied int    // approved changes applied since enrolment
	hash    string // st.HashHex()
}

func (n *Node) setGovernance(st *governance.State, applied int) {
	n.gov.Store(&govSnapshot{st: st, applied: applied, hash: st.HashHex()})
}

// loadGovernance reads the newest governance state from the database.
func (n *Node) loadGovernance(ctx context.Context) error {
	st, applied, err := n.db.governance(ctx)
	if err == nil && st != nil {
		n.setGovernance(st, applied)
	}
	return err
}

// governance returns the state the node holds.
func (n *Node) governance() (*govSnapshot, error) {
	g := n.gov.Load()
	if g == nil {
		return nil, errors.New("guardian: not enrolled: no governance state")
	}
	return g, nil
}

// Status is what `custos guardian status` shows.
type Status struct {
	GuardianID     string           `json:"guardian_id"`
	Name           string           `json:"name"`
	IdentityKey    string           `json:"identity_key"`
	EncryptionKey  string           `json:"encryption_key"`
	Coordinator    string           `json:"coordinator"`
	CoordinatorKey string           `json:"coordinator_key"`
	Listen         string           `json:"listen"`
	Endpoint       string           `json:"endpoint"`
	GovernanceHash string           `json:"governance_hash"`
	Applied        int              `json:"governance_applied"`
	Keys           []wire.KeyStatus `json:"keys"`
}

// Status reports the guardian's enrolment, governance and keys as its
// state database holds them.
func (d *Dir) Status(ctx context.Context) (*Status, error) {
	st := d.status(ctx)
	st.GuardianID, _ = d.db.meta(ctx, "guardian_id")
	st.CoordinatorKey, _ = d.db.meta(ctx, "coordinator_key")
	g, applied, err := d.db.governance(ctx)
	if err != nil {
		return nil, err
	}
	if g != nil {
		st.GovernanceHash, st.Applied = g.HashHex(), applied
	}
	if st.Keys, err = d.db.keys(ctx); err != nil {
		return nil, err
	}
	return st, nil
}

// status is the part of a Status that a running node does not change.
func (d *Dir) status(ctx context.Context) *Status {
	st := &Status{IdentityKey: hex.EncodeToString(d.identityKey), EncryptionKey: hex.EncodeToString(d.encryptionKey),
		Listen: d.cfg.Listen, Endpoint: d.cfg.Endpoint}
	st.Coordinator, _ = d.db.meta(ctx, "coordinator_url")
	st.Name, _ = d.db.meta(ctx, "name")
	return st
}

// Status reports the running node's enrolment, governance and keys, with
// the commitments each key has on hand.
func (n *Node) Status(ctx context.Context) (*Status, error) {
	st := n.status(ctx)
	h := n.health(ctx)
	st.GuardianID, st.GovernanceHash, st.Applied, st.Keys = h.GuardianID, h.GovernanceHash, h.Applied, h.Keys
	n.mu.Lock()
	st.CoordinatorKey = hex.EncodeToString(n.coordKey)
	n.mu.Unlock()
	return st, nil
}

func (n *Node) event(ctx context.Context, action, target, result string, meta map[string]string) {
	if err := n.db.event(ctx, n.eventOf(action, target, result, meta)); err != nil {
		n.log.ErrorContext(ctx, "guardian event log", "action", action, "err", err)
	}
}

func categoryOf(action string) string {
	switch {
	case strings.HasPrefix(action, "sign."):
		return audit.CategoryTransaction
	case strings.HasPrefix(action, "dkg."):
		return audit.CategoryWallet
	case strings.HasPrefix(action, "governance."):
		return audit.CategoryPolicy
	}
	return audit.CategoryAdmin
}
