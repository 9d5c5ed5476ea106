-- The reliable-consumer runtime's tables, created in every service schema (search_path is set
-- to that schema by the migrator).

-- One row per consumed message, written in the same transaction as its effect.
CREATE TABLE inbox (
    consumer      text        NOT NULL,
    tenant_id     text        NOT NULL,
    source        text        NOT NULL,
    message_id    text        NOT NULL,
    content_hash  text        NOT NULL,
    message_type  text        NOT NULL,
    outcome       text        NOT NULL,
    topic         text        NOT NULL,
    kafka_partition integer   NOT NULL,
    kafka_offset  bigint      NOT NULL,
    processed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, tenant_id, source, message_id)
);

-- Messages to publish, written in the same transaction as the effect that caused them.
CREATE TABLE outbox (
    seq         bigserial   PRIMARY KEY,
    topic       text        NOT NULL,
    event_id    text        NOT NULL,
    msg_key     bytea       NOT NULL,
    msg_value   bytea       NOT NULL,
    headers     jsonb       NOT NULL DEFAULT '[]'::jsonb,
    shard       smallint    NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,
    UNIQUE (topic, event_id)
);
CREATE INDEX outbox_unsent ON outbox (shard, seq) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;

-- Wake the relay as soon as a transaction that wrote the outbox commits.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_TABLE_SCHEMA || '_outbox', '');
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
