-- One approval key per person: a key registered twice would let one
-- signature count for two approvers.
CREATE UNIQUE INDEX users_approval_key ON users (approval_key) WHERE approval_key IS NOT NULL;
