-- The sweep for abandoned key ceremonies lists the running ones on every
-- pass; this index holds only those, however many ceremonies have ended.
CREATE INDEX ceremonies_running ON ceremonies (created_at_us, id) WHERE state = 'running';
