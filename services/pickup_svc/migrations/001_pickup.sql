-- pickup_svc state: orders, their airway bills and cancellation requests (run with search_path pickup).
-- Mirrors services/pickup_svc/domain/model.py; history rows are never deleted.

CREATE TABLE orders (
    tenant_id    TEXT        NOT NULL,
    order_id     TEXT        NOT NULL,
    state        TEXT        NOT NULL CHECK (state IN (
                     'ready_to_ship', 'pickup_requested', 'cancel_pending', 'pickup_cancelled',
                     'picked_up', 'in_transit', 'delivered')),
    courier      TEXT,
    payment_type TEXT        CHECK (payment_type IN ('cod', 'prepaid')),
    invoice_no   TEXT,
    pickup_at    TIMESTAMPTZ,
    -- optimistic concurrency: the adapter updates WHERE version = <version it read>
    version      INTEGER     NOT NULL DEFAULT 1,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, order_id)
);

-- The payments the order used ("Telah digunakan"); replaced wholesale when a pickup is re-arranged.
CREATE TABLE order_payments (
    tenant_id  TEXT    NOT NULL,
    order_id   TEXT    NOT NULL,
    payment_no TEXT    NOT NULL,
    position   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, order_id, payment_no),
    UNIQUE (tenant_id, order_id, position),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, order_id)
);

CREATE TABLE airway_bills (
    tenant_id   TEXT        NOT NULL,
    order_id    TEXT        NOT NULL,
    awb         TEXT        NOT NULL,
    courier     TEXT        NOT NULL,
    -- order of the bill in the order's history (1 = first pickup)
    seq         INTEGER     NOT NULL,
    status      TEXT        NOT NULL CHECK (status IN (
                    'assigned', 'voided', 'picked_up', 'in_transit', 'delivered')),
    assigned_at TIMESTAMPTZ NOT NULL,
    voided_at   TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, awb),
    -- a courier's number identifies one parcel across all tenants
    UNIQUE (awb),
    UNIQUE (tenant_id, order_id, seq),
    CHECK ((status = 'voided') = (voided_at IS NOT NULL)),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, order_id)
);

-- A voided bill stays void and a new one is only issued after that: at most one live bill per order.
CREATE UNIQUE INDEX airway_bills_one_live_per_order
    ON airway_bills (tenant_id, order_id) WHERE status <> 'voided';

CREATE TABLE cancel_requests (
    tenant_id       TEXT        NOT NULL,
    request_id      TEXT        NOT NULL,
    order_id        TEXT        NOT NULL,
    reason          TEXT        NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 500),
    reason_code     TEXT,
    origin          TEXT        NOT NULL CHECK (origin IN ('order', 'invoice')),
    requested_by    TEXT        NOT NULL,
    requested_at    TIMESTAMPTZ NOT NULL,
    decision        TEXT        CHECK (decision IN ('approve', 'reject')),
    decided_by      TEXT,
    decision_reason TEXT        CHECK (char_length(decision_reason) <= 500),
    decided_at      TIMESTAMPTZ,
    voided_awb      TEXT,
    PRIMARY KEY (tenant_id, request_id),
    CHECK ((decision IS NULL) = (decided_at IS NULL)),
    CHECK ((decision IS NULL) = (decided_by IS NULL)),
    CHECK (decision IS DISTINCT FROM 'reject' OR decision_reason IS NOT NULL),
    CHECK ((decision IS NOT DISTINCT FROM 'approve') = (voided_awb IS NOT NULL)),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, order_id),
    FOREIGN KEY (tenant_id, voided_awb) REFERENCES airway_bills (tenant_id, awb)
);

-- One open (undecided) cancellation request per order.
CREATE UNIQUE INDEX cancel_requests_one_open_per_order
    ON cancel_requests (tenant_id, order_id) WHERE decision IS NULL;

CREATE INDEX cancel_requests_by_order ON cancel_requests (tenant_id, order_id, requested_at);
