-- Webhooks: endpoints that receive the audit events they subscribed to, in
-- order. The signing secret is stored sealed under the coordinator's
-- key-encryption key (bound to the webhook id), never in the clear.
-- audit_cursor is the audit seq delivered (or passed over) up to. While a
-- coordinator delivers a webhook's events it holds a lease on it
-- (lease_holder until lease_until_us), so that replicas do not deliver the
-- same events at the same time.
CREATE TABLE webhooks (
	id                  TEXT PRIMARY KEY,
	url                 TEXT NOT NULL,
	secret              BLOB NOT NULL,
	events              TEXT NOT NULL, -- JSON array of event types
	enabled             INTEGER NOT NULL,
	created_by          TEXT NOT NULL,
	created_at_us       INTEGER NOT NULL,
	audit_cursor        INTEGER NOT NULL,
	failures            INTEGER NOT NULL,
	last_error          TEXT NOT NULL,
	last_delivery_at_us INTEGER,
	next_attempt_at_us  INTEGER,
	lease_holder        TEXT NOT NULL DEFAULT '',
	lease_until_us      INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX webhooks_created ON webhooks (created_at_us, id);
