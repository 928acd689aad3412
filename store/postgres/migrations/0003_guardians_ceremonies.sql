-- FROST wallets, enrolled guardians, guardian invitations and key
-- ceremonies. Same tables, columns and indexes as the SQLite schema.

-- Wallets written before this migration are active hd/hardware wallets with
-- no guardians: the defaults say exactly that.
ALTER TABLE wallets
	ADD COLUMN status    TEXT NOT NULL DEFAULT 'active',
	ADD COLUMN threshold BIGINT NOT NULL DEFAULT 0,
	ADD COLUMN guardians TEXT NOT NULL DEFAULT '[]', -- JSON array of guardian ids
	ADD COLUMN group_key BYTEA;

-- A guardian's keys are pinned at enrolment and never shared with another
-- guardian: one node cannot be enrolled twice under two names.
CREATE TABLE guardians (
	id              TEXT PRIMARY KEY,
	name            TEXT NOT NULL UNIQUE,
	identity_key    BYTEA NOT NULL UNIQUE,
	encryption_key  BYTEA NOT NULL UNIQUE,
	endpoint        TEXT NOT NULL,
	status          TEXT NOT NULL,
	status_reason   TEXT NOT NULL,
	enrolled_at_us  BIGINT NOT NULL,
	last_seen_at_us BIGINT,
	health          BYTEA -- JSON
);

-- Single-use enrolment codes; only their SHA-256 is stored.
CREATE TABLE guardian_invites (
	id            TEXT PRIMARY KEY,
	code_hash     BYTEA NOT NULL UNIQUE,
	name          TEXT NOT NULL,
	created_by    TEXT NOT NULL,
	created_at_us BIGINT NOT NULL,
	expires_at_us BIGINT NOT NULL,
	used_at_us    BIGINT,
	guardian_id   TEXT NOT NULL -- '' until claimed
);
CREATE INDEX guardian_invites_created ON guardian_invites (created_at_us DESC, id);

-- FROST distributed key generations, one or more per wallet.
CREATE TABLE ceremonies (
	id            TEXT PRIMARY KEY,
	wallet_id     TEXT NOT NULL REFERENCES wallets (id),
	state         TEXT NOT NULL,
	round         TEXT NOT NULL,
	curve         TEXT NOT NULL,
	threshold     BIGINT NOT NULL,
	guardians     TEXT NOT NULL, -- JSON array of guardian ids
	transcript    BYTEA,
	blamed        TEXT NOT NULL,
	error         TEXT NOT NULL,
	progress      BYTEA, -- JSON
	created_at_us BIGINT NOT NULL,
	updated_at_us BIGINT NOT NULL
);
CREATE INDEX ceremonies_wallet ON ceremonies (wallet_id, created_at_us DESC, id);
CREATE INDEX ceremonies_created ON ceremonies (created_at_us DESC, id);
