-- Staff sign-in with a second factor. A user's TOTP secret is stored sealed
-- under the coordinator's key-encryption key (bound to the user id); it is
-- pending until the user confirms a code (totp_enabled_at_us set). A code's
-- time step is accepted once: totp_last_step only grows. Failed sign-ins
-- are counted per user and lock the account for a while past a limit.
ALTER TABLE users ADD COLUMN totp_secret BYTEA;
ALTER TABLE users ADD COLUMN totp_enabled_at_us BIGINT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until_us BIGINT;

-- Sessions: web sessions (cookies) end after an idle time as well as at
-- their absolute expiry; mfa says whether the second factor was checked.
ALTER TABLE sessions ADD COLUMN last_seen_at_us BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN web BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN mfa BIGINT NOT NULL DEFAULT 0;
