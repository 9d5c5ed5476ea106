-- A row the broker refuses for good (too large, not authorized) is parked with its error instead
-- of blocking every row behind it; operators see it in `lunas status` and `lunas verify`.
ALTER TABLE outbox ADD COLUMN parked_at timestamptz, ADD COLUMN last_error text;
DROP INDEX outbox_unsent;
CREATE INDEX outbox_unsent ON outbox (shard, seq) WHERE sent_at IS NULL AND parked_at IS NULL;
