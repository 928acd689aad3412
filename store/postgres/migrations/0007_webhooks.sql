-- Webhooks: endpoints that receive the audit events they subscribed to, in
-- order. Same table and index as the SQLite schema. The signing secret is
-- stored sealed under the coordinator's key-encryption key (bound to the
-- webhook id), never in the clear. audit_cursor is the audit seq delivered
-- (or passed over) up to. While a coordinator delivers a webhook's events
-- it holds a lease on it (lease_holder until lease_until_us), so that
-- replicas do not deliver the same events at the same time.
CREATE TABLE webhooks (
	id                  TEXT PRIMARY KEY,
	url                 TEXT NOT NULL,
	secret              BYTEA NOT NULL,
	events              TEXT NOT NULL, -- JSON array of event types
	enabled             BIGINT NOT NULL,
	created_by          TEXT NOT NULL,
	created_at_us       BIGINT NOT NULL,
	audit_cursor        BIGINT NOT NULL,
	failures            BIGINT NOT NULL,
	last_error          TEXT NOT NULL,
	last_delivery_at_us BIGINT,
	next_attempt_at_us  BIGINT,
	lease_holder        TEXT NOT NULL DEFAULT '',
	lease_until_us      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX webhooks_created ON webhooks (created_at_us, id);
