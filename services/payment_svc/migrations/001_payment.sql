-- payment_svc state: invoices, payments, live allocations and append-only histories.
-- Run with `SET search_path TO payment`; names are unqualified. Inbox/outbox belong to the runtime.
-- Money is NUMERIC(18,2); an invoice's allocated/settled totals mirror the domain's Invoice so
-- its status can be read (and checked) without joining every payment.

CREATE TABLE invoices (
    tenant_id        text          NOT NULL,
    invoice_no       text          NOT NULL,
    customer_id      text          NOT NULL,
    amount           numeric(18,2) NOT NULL CHECK (amount > 0),
    currency         char(3)       NOT NULL DEFAULT 'IDR',
    issue_date       date          NOT NULL,
    due_date         date,
    order_id         text,
    -- Sum of live allocations, and the part of it from Completed payments.
    allocated        numeric(18,2) NOT NULL DEFAULT 0,
    settled          numeric(18,2) NOT NULL DEFAULT 0,
    voided           boolean       NOT NULL DEFAULT false,
    voided_at        timestamptz,
    void_reason      text,
    issued_by        text          NOT NULL,  -- command id that issued it (conflict detection)
    created_at       timestamptz   NOT NULL,
    updated_at       timestamptz   NOT NULL,
    outstanding      numeric(18,2) GENERATED ALWAYS AS (amount - allocated) STORED,
    status           text          GENERATED ALWAYS AS (
        CASE
            WHEN voided THEN 'void'
            WHEN allocated = 0 THEN 'unpaid'
            WHEN allocated < amount THEN 'partially_paid'
            WHEN settled = amount THEN 'paid'
            ELSE 'in_payment'
        END
    ) STORED,
    PRIMARY KEY (tenant_id, invoice_no),
    CONSTRAINT invoices_totals_ck
        CHECK (0 <= settled AND settled <= allocated AND allocated <= amount),
    CONSTRAINT invoices_void_ck CHECK (NOT voided OR (allocated = 0 AND voided_at IS NOT NULL)),
    CONSTRAINT invoices_due_ck CHECK (due_date IS NULL OR due_date >= issue_date)
);
CREATE INDEX invoices_order_idx ON invoices (tenant_id, order_id) WHERE order_id IS NOT NULL;
CREATE INDEX invoices_customer_idx ON invoices (tenant_id, customer_id);

CREATE TABLE payments (
    tenant_id          text          NOT NULL,
    payment_no         text          NOT NULL,
    customer_id        text          NOT NULL,
    method             text          NOT NULL
        CHECK (method IN ('cash', 'transfer', 'giro', 'cheque')),
    channel            text          NOT NULL DEFAULT 'web' CHECK (channel IN ('web', 'sfa')),
    amount             numeric(18,2) NOT NULL CHECK (amount > 0),
    currency           char(3)       NOT NULL DEFAULT 'IDR',
    payment_date       date          NOT NULL,
    status             text          NOT NULL
        CHECK (status IN ('pending', 'active', 'completed', 'cancelled')),
    giro_number        text,
    giro_bank          text,
    giro_due_date      date,
    bank_account       text,
    collector_id       text,
    resolved_date      date,
    cancel_reason_code text CHECK (cancel_reason_code IN
        ('customer_request', 'input_error', 'giro_bounced', 'order_cancelled', 'other')),
    cancel_reason      text,
    recorded_by        text          NOT NULL,  -- command id that recorded it
    created_at         timestamptz   NOT NULL,
    updated_at         timestamptz   NOT NULL,
    PRIMARY KEY (tenant_id, payment_no),
    -- Giro/cheque details exist exactly for giro/cheque payments.
    CONSTRAINT payments_giro_ck CHECK (
        (method IN ('giro', 'cheque'))
        = (giro_number IS NOT NULL AND giro_bank IS NOT NULL AND giro_due_date IS NOT NULL)
    ),
    CONSTRAINT payments_resolved_ck CHECK (resolved_date IS NULL OR resolved_date >= payment_date)
);
CREATE INDEX payments_customer_idx ON payments (tenant_id, customer_id);
CREATE INDEX payments_status_idx ON payments (tenant_id, status);

-- Live allocations only: a released one is deleted here and kept in allocation_history.
CREATE TABLE allocations (
    tenant_id    text          NOT NULL,
    payment_no   text          NOT NULL,
    invoice_no   text          NOT NULL,
    amount       numeric(18,2) NOT NULL CHECK (amount > 0),
    updated_at   timestamptz   NOT NULL,
    PRIMARY KEY (tenant_id, payment_no, invoice_no),
    FOREIGN KEY (tenant_id, payment_no) REFERENCES payments (tenant_id, payment_no),
    FOREIGN KEY (tenant_id, invoice_no) REFERENCES invoices (tenant_id, invoice_no)
);
-- invoice.void finds the payments holding an invoice through this index.
CREATE INDEX allocations_invoice_idx ON allocations (tenant_id, invoice_no);

CREATE TABLE allocation_history (
    tenant_id    text          NOT NULL,
    id           bigint        GENERATED ALWAYS AS IDENTITY,
    payment_no   text          NOT NULL,
    invoice_no   text          NOT NULL,
    kind         text          NOT NULL CHECK (kind IN ('allocated', 'released')),
    amount       numeric(18,2) NOT NULL CHECK (amount > 0),
    at           timestamptz   NOT NULL,
    actor        text          NOT NULL,
    command_id   text          NOT NULL,
    reason       text,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX allocation_history_payment_idx ON allocation_history (tenant_id, payment_no);
CREATE INDEX allocation_history_invoice_idx ON allocation_history (tenant_id, invoice_no);

-- Every status change of a payment or invoice: who, when, why, which command.
CREATE TABLE status_history (
    tenant_id    text          NOT NULL,
    id           bigint        GENERATED ALWAYS AS IDENTITY,
    entity       text          NOT NULL CHECK (entity IN ('payment', 'invoice')),
    entity_id    text          NOT NULL,
    from_status  text,
    to_status    text          NOT NULL,
    at           timestamptz   NOT NULL,
    actor        text          NOT NULL,
    command_id   text          NOT NULL,
    reason_code  text,
    reason       text,
    recorded_at  timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX status_history_entity_idx ON status_history (tenant_id, entity, entity_id, id);

-- Histories are evidence: once written they are never changed or removed (TRUNCATE included).
CREATE FUNCTION forbid_history_rewrite() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'restrict_violation',
        MESSAGE = TG_TABLE_NAME || ' is append-only: ' || TG_OP || ' is not allowed';
END;
$$;

CREATE TRIGGER status_history_append_only
    BEFORE UPDATE OR DELETE ON status_history
    FOR EACH ROW EXECUTE FUNCTION forbid_history_rewrite();
CREATE TRIGGER status_history_no_truncate
    BEFORE TRUNCATE ON status_history
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_history_rewrite();
CREATE TRIGGER allocation_history_append_only
    BEFORE UPDATE OR DELETE ON allocation_history
    FOR EACH ROW EXECUTE FUNCTION forbid_history_rewrite();
CREATE TRIGGER allocation_history_no_truncate
    BEFORE TRUNCATE ON allocation_history
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_history_rewrite();
