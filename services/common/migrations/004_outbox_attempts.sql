-- How often the broker refused a row (parked, or held because the topic is not writable): what
-- `lunas outbox list` shows beside the last error.
ALTER TABLE outbox ADD COLUMN attempts integer NOT NULL DEFAULT 0;
