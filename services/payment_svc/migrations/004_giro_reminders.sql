-- The daily reminder of a giro/cheque still Active past its due date: one row per payment per
-- business day, written in the timer's transaction with the outbox row of its reminder, so a
-- giro is reminded exactly once a day whatever crashes or runs twice.
CREATE TABLE giro_reminders (
    tenant_id    text        NOT NULL,
    payment_no   text        NOT NULL,
    day          date        NOT NULL,
    reminded_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, payment_no, day),
    FOREIGN KEY (tenant_id, payment_no) REFERENCES payments (tenant_id, payment_no)
);
