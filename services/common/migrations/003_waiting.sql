-- Commands that name an aggregate that does not exist yet wait here (DESIGN "Order and waiting"),
-- written in the same transaction as their inbox row (outcome 'waiting'). `awaits` holds the
-- missing aggregates as 'kind:id'; an empty array means "queued behind an earlier waiting command
-- for the same subject". The original record is kept to be decoded again when it is released.
CREATE TABLE waiting (
    seq             bigserial   PRIMARY KEY,
    consumer        text        NOT NULL,
    tenant_id       text        NOT NULL,
    source          text        NOT NULL,
    message_id      text        NOT NULL,
    message_type    text        NOT NULL,
    subject         text        NOT NULL,
    awaits          text[]      NOT NULL,
    topic           text        NOT NULL,
    kafka_partition integer     NOT NULL,
    kafka_offset    bigint      NOT NULL,
    msg_key         bytea,
    msg_value       bytea       NOT NULL,
    headers         jsonb       NOT NULL,
    deadline        timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (consumer, tenant_id, source, message_id)
);
CREATE INDEX waiting_subject ON waiting (tenant_id, subject, seq);
CREATE INDEX waiting_deadline ON waiting (deadline);

-- One row per missing aggregate of a waiting command: what an arriving aggregate looks up.
CREATE TABLE waiting_refs (
    tenant_id  text   NOT NULL,
    ref_id     text   NOT NULL,
    seq        bigint NOT NULL REFERENCES waiting (seq) ON DELETE CASCADE,
    PRIMARY KEY (tenant_id, ref_id, seq)
);
CREATE INDEX waiting_refs_seq ON waiting_refs (seq);
