-- Custos schema, PostgreSQL engine. Times are unix microseconds (UTC) unless
-- the column name says otherwise; byte strings are BYTEA (NULL when empty);
-- amounts are decimal TEXT; integers are BIGINT. Same tables, columns and
-- indexes as the SQLite schema.

CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL UNIQUE,
	role          TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	approval_key  BYTEA,
	created_at_us BIGINT NOT NULL
);

CREATE TABLE sessions (
	token_hash    BYTEA PRIMARY KEY NOT NULL,
	user_id       TEXT NOT NULL REFERENCES users (id),
	created_at_us BIGINT NOT NULL,
	expires_at_us BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at_us);

CREATE TABLE api_keys (
	id              TEXT PRIMARY KEY,
	name            TEXT NOT NULL,
	prefix          TEXT NOT NULL UNIQUE,
	secret_hash     BYTEA,
	owner_user_id   TEXT NOT NULL,
	scopes          TEXT NOT NULL, -- JSON array
	created_at_us   BIGINT NOT NULL,
	expires_at_us   BIGINT,
	revoked_at_us   BIGINT,
	last_used_at_us BIGINT
);
CREATE INDEX api_keys_created ON api_keys (created_at_us, id);

CREATE TABLE wallets (
	id              TEXT PRIMARY KEY,
	name            TEXT NOT NULL UNIQUE,
	mode            TEXT NOT NULL,
	curve           TEXT NOT NULL,
	derivation_path TEXT NOT NULL,
	public_key      BYTEA,
	sealed_seed     BYTEA,
	key_version     BIGINT NOT NULL,
	frozen          BOOLEAN NOT NULL,
	created_at_us   BIGINT NOT NULL
);
CREATE INDEX wallets_created ON wallets (created_at_us, id);

CREATE TABLE rates (
	asset         TEXT PRIMARY KEY,
	eur_per_unit  TEXT NOT NULL, -- decimal
	decimals      BIGINT NOT NULL,
	updated_at_us BIGINT NOT NULL
);

CREATE TABLE policies (
	version       BIGINT PRIMARY KEY,
	hash          BYTEA,
	document      BYTEA,
	created_by    TEXT NOT NULL,
	created_at_us BIGINT NOT NULL
);

CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE requests (
	id             TEXT PRIMARY KEY,
	action         TEXT NOT NULL,
	requester_id   TEXT NOT NULL,
	payload        BYTEA,
	fingerprint    BYTEA,
	policy_version BIGINT NOT NULL,
	policy_hash    BYTEA,
	eur_cents      BIGINT NOT NULL,
	requirement    BYTEA,
	revision       BIGINT NOT NULL,
	status         TEXT NOT NULL,
	created_at_us  BIGINT NOT NULL,
	updated_at_us  BIGINT NOT NULL,
	expires_at_us  BIGINT NOT NULL
);
CREATE INDEX requests_created ON requests (created_at_us DESC, id);
CREATE INDEX requests_status ON requests (status, created_at_us DESC, id);

CREATE TABLE approvals (
	request_id    TEXT NOT NULL REFERENCES requests (id),
	revision      BIGINT NOT NULL,
	approver_id   TEXT NOT NULL,
	decision      TEXT NOT NULL,
	fingerprint   BYTEA,
	policy_hash   BYTEA,
	signature     BYTEA,
	created_at_us BIGINT NOT NULL,
	PRIMARY KEY (request_id, approver_id, revision)
);

CREATE TABLE transactions (
	id              TEXT PRIMARY KEY,
	request_id      TEXT NOT NULL, -- '' when denied at submission
	client_id       TEXT NOT NULL,
	idempotency_key TEXT NOT NULL, -- '' means no idempotency
	body_hash       BYTEA,
	wallet_id       TEXT NOT NULL,
	chain           TEXT NOT NULL,
	asset           TEXT NOT NULL,
	to_address      TEXT NOT NULL,
	amount          TEXT NOT NULL, -- integer base units, decimal
	memo            TEXT NOT NULL,
	nonce           TEXT NOT NULL,
	intent          BYTEA,
	fingerprint     BYTEA,
	eur_cents       BIGINT NOT NULL,
	status          TEXT NOT NULL,
	decision        BYTEA,
	signature       BYTEA,
	failure_reason  TEXT NOT NULL,
	created_at_us   BIGINT NOT NULL,
	updated_at_us   BIGINT NOT NULL,
	signed_at_us    BIGINT
);
CREATE UNIQUE INDEX transactions_idempotency ON transactions (client_id, idempotency_key) WHERE idempotency_key <> '';
CREATE UNIQUE INDEX transactions_request ON transactions (request_id) WHERE request_id <> '';
CREATE INDEX transactions_created ON transactions (created_at_us DESC, id);
CREATE INDEX transactions_wallet ON transactions (wallet_id, created_at_us DESC, id);
CREATE INDEX transactions_status ON transactions (status, created_at_us DESC, id);

-- Spend ledger: one head row per wallet (created with the wallet) and one
-- row per entry carrying running totals.
CREATE TABLE spend_heads (
	wallet_id     TEXT PRIMARY KEY REFERENCES wallets (id),
	seq           BIGINT NOT NULL,
	at_us         BIGINT NOT NULL,
	cum_eur_cents BIGINT NOT NULL
);

CREATE TABLE spend_entries (
	wallet_id      TEXT NOT NULL REFERENCES wallets (id),
	seq            BIGINT NOT NULL,
	at_us          BIGINT NOT NULL,
	eur_cents      BIGINT NOT NULL,
	cum_eur_cents  BIGINT NOT NULL,
	cum_count      BIGINT NOT NULL,
	transaction_id TEXT NOT NULL,
	PRIMARY KEY (wallet_id, seq)
);
-- "last entry with at_us < since": one backward seek.
CREATE INDEX spend_entries_at ON spend_entries (wallet_id, at_us, seq);

-- Audit hash chain. time_s/time_nanos keep the nanoseconds the hash covers.
CREATE TABLE audit_events (
	seq        BIGINT PRIMARY KEY,
	id         TEXT NOT NULL,
	time_s     BIGINT NOT NULL,
	time_nanos BIGINT NOT NULL,
	category   TEXT NOT NULL,
	action     TEXT NOT NULL,
	actor      TEXT NOT NULL,
	target     TEXT NOT NULL,
	request_id TEXT NOT NULL,
	result     TEXT NOT NULL,
	metadata   TEXT NOT NULL, -- JSON object
	prev_hash  BYTEA NOT NULL,
	hash       BYTEA NOT NULL
);

CREATE TABLE audit_head (
	id   BIGINT PRIMARY KEY CHECK (id = 1),
	seq  BIGINT NOT NULL,
	hash BYTEA NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
