-- The consumer hands a batch's outbox rows to the producer right after its commit (the fast
-- path); the relay only sweeps rows left unsent, so it no longer needs waking on every insert.
DROP TRIGGER outbox_notify ON outbox;
DROP FUNCTION outbox_notify();
CREATE INDEX outbox_unsent_age ON outbox (created_at) WHERE sent_at IS NULL AND parked_at IS NULL;
