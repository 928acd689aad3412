-- Custos schema, SQLite engine. Times are unix microseconds (UTC) unless
-- the column name says otherwise; byte strings are BLOB (NULL when empty);
-- amounts are decimal TEXT. STRICT tables reject values of the wrong type.

CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL UNIQUE,
	role          TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	approval_key  BLOB,
	created_at_us INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
	token_hash    BLOB PRIMARY KEY NOT NULL,
	user_id       TEXT NOT NULL REFERENCES users (id),
	created_at_us INTEGER NOT NULL,
	expires_at_us INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at_us);

CREATE TABLE api_keys (
	id              TEXT PRIMARY KEY,
	name            TEXT NOT NULL,
	prefix          TEXT NOT NULL UNIQUE,
	secret_hash     BLOB,
	owner_user_id   TEXT NOT NULL,
	scopes          TEXT NOT NULL, -- JSON array
	created_at_us   INTEGER NOT NULL,
	expires_at_us   INTEGER,
	revoked_at_us   INTEGER,
	last_used_at_us INTEGER
) STRICT;
CREATE INDEX api_keys_created ON api_keys (created_at_us, id);

CREATE TABLE wallets (
	id              TEXT PRIMARY KEY,
	name            TEXT NOT NULL UNIQUE,
	mode            TEXT NOT NULL,
	curve           TEXT NOT NULL,
	derivation_path TEXT NOT NULL,
	public_key      BLOB,
	sealed_seed     BLOB,
	key_version     INTEGER NOT NULL,
	frozen          INTEGER NOT NULL CHECK (frozen IN (0, 1)),
	created_at_us   INTEGER NOT NULL
) STRICT;
CREATE INDEX wallets_created ON wallets (created_at_us, id);

CREATE TABLE rates (
	asset         TEXT PRIMARY KEY,
	eur_per_unit  TEXT NOT NULL, -- decimal
	decimals      INTEGER NOT NULL,
	updated_at_us INTEGER NOT NULL
) STRICT;

CREATE TABLE policies (
	version       INTEGER PRIMARY KEY,
	hash          BLOB,
	document      BLOB,
	created_by    TEXT NOT NULL,
	created_at_us INTEGER NOT NULL
) STRICT;

CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;

CREATE TABLE requests (
	id             TEXT PRIMARY KEY,
	action         TEXT NOT NULL,
	requester_id   TEXT NOT NULL,
	payload        BLOB,
	fingerprint    BLOB,
	policy_version INTEGER NOT NULL,
	policy_hash    BLOB,
	eur_cents      INTEGER NOT NULL,
	requirement    BLOB,
	revision       INTEGER NOT NULL,
	status         TEXT NOT NULL,
	created_at_us  INTEGER NOT NULL,
	updated_at_us  INTEGER NOT NULL,
	expires_at_us  INTEGER NOT NULL
) STRICT;
CREATE INDEX requests_created ON requests (created_at_us DESC, id);
CREATE INDEX requests_status ON requests (status, created_at_us DESC, id);

CREATE TABLE approvals (
	request_id    TEXT NOT NULL REFERENCES requests (id),
	revision      INTEGER NOT NULL,
	approver_id   TEXT NOT NULL,
	decision      TEXT NOT NULL,
	fingerprint   BLOB,
	policy_hash   BLOB,
	signature     BLOB,
	created_at_us INTEGER NOT NULL,
	PRIMARY KEY (request_id, approver_id, revision)
) STRICT;

CREATE TABLE transactions (
	id              TEXT PRIMARY KEY,
	request_id      TEXT NOT NULL, -- '' when denied at submission
	client_id       TEXT NOT NULL,
	idempotency_key TEXT NOT NULL, -- '' means no idempotency
	body_hash       BLOB,
	wallet_id       TEXT NOT NULL,
	chain           TEXT NOT NULL,
	asset           TEXT NOT NULL,
	to_address      TEXT NOT NULL,
	amount          TEXT NOT NULL, -- integer base units, decimal
	memo            TEXT NOT NULL,
	nonce           TEXT NOT NULL,
	intent          BLOB,
	fingerprint     BLOB,
	eur_cents       INTEGER NOT NULL,
	status          TEXT NOT NULL,
	decision        BLOB,
	signature       BLOB,
	failure_reason  TEXT NOT NULL,
	created_at_us   INTEGER NOT NULL,
	updated_at_us   INTEGER NOT NULL,
	signed_at_us    INTEGER
) STRICT;
CREATE UNIQUE INDEX transactions_idempotency ON transactions (client_id, idempotency_key) WHERE idempotency_key <> '';
CREATE UNIQUE INDEX transactions_request ON transactions (request_id) WHERE request_id <> '';
CREATE INDEX transactions_created ON transactions (created_at_us DESC, id);
CREATE INDEX transactions_wallet ON transactions (wallet_id, created_at_us DESC, id);
CREATE INDEX transactions_status ON transactions (status, created_at_us DESC, id);

-- Spend ledger: one head row per wallet (created with the wallet) and one
-- row per entry carrying running totals.
CREATE TABLE spend_heads (
	wallet_id     TEXT PRIMARY KEY REFERENCES wallets (id),
	seq           INTEGER NOT NULL,
	at_us         INTEGER NOT NULL,
	cum_eur_cents INTEGER NOT NULL
) STRICT;

CREATE TABLE spend_entries (
	wallet_id      TEXT NOT NULL REFERENCES wallets (id),
	seq            INTEGER NOT NULL,
	at_us          INTEGER NOT NULL,
	eur_cents      INTEGER NOT NULL,
	cum_eur_cents  INTEGER NOT NULL,
	cum_count      INTEGER NOT NULL,
	transaction_id TEXT NOT NULL,
	PRIMARY KEY (wallet_id, seq)
) STRICT, WITHOUT ROWID;
-- "last entry with at_us < since": one backward seek.
CREATE INDEX spend_entries_at ON spend_entries (wallet_id, at_us, seq);

-- Audit hash chain. time_s/time_nanos keep the nanoseconds the hash covers.
CREATE TABLE audit_events (
	seq        INTEGER PRIMARY KEY,
	id         TEXT NOT NULL,
	time_s     INTEGER NOT NULL,
	time_nanos INTEGER NOT NULL,
	category   TEXT NOT NULL,
	action     TEXT NOT NULL,
	actor      TEXT NOT NULL,
	target     TEXT NOT NULL,
	request_id TEXT NOT NULL,
	result     TEXT NOT NULL,
	metadata   TEXT NOT NULL, -- JSON object
	prev_hash  BLOB NOT NULL,
	hash       BLOB NOT NULL
) STRICT;

CREATE TABLE audit_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	seq  INTEGER NOT NULL,
	hash BLOB NOT NULL
) STRICT;
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, zeroblob(32));
