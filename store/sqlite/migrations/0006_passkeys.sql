-- WebAuthn passkeys staff approve with. A passkey is registered pending
-- and becomes active only when its user.credential.add request is
-- approved and executed; a refused request leaves it refused. Only the
-- public key is stored (COSE_Key); the private key never leaves the
-- authenticator.
CREATE TABLE passkeys (
	id            BLOB PRIMARY KEY NOT NULL, -- credential id
	user_id       TEXT NOT NULL REFERENCES users (id),
	name          TEXT NOT NULL,
	public_key    BLOB NOT NULL,
	rp_id         TEXT NOT NULL,
	origins       TEXT NOT NULL, -- JSON array of the exact origins allowed
	aaguid        BLOB,
	status        TEXT NOT NULL,
	request_id    TEXT NOT NULL DEFAULT '',
	created_at_us INTEGER NOT NULL,
	updated_at_us INTEGER NOT NULL
) STRICT;
CREATE INDEX passkeys_user ON passkeys (user_id);
-- One key never approves for two people, nor twice for one: a public key
-- is registered once among the passkeys that are pending or active.
CREATE UNIQUE INDEX passkeys_live_key ON passkeys (public_key) WHERE status IN ('pending', 'active');

-- A vote is an Ed25519 signature or a WebAuthn assertion (JSON: credential
-- id, authenticator data, client data, signature), with the voter's
-- reason, which is shown to the other approvers but not signed.
ALTER TABLE approvals ADD COLUMN assertion BLOB;
ALTER TABLE approvals ADD COLUMN reason TEXT NOT NULL DEFAULT '';
