-- Decision deadlines and courier void failures (issue 16).
-- An order whose approved cancellation the courier did not void waits in `void_failed`.
ALTER TABLE orders DROP CONSTRAINT orders_state_check;
ALTER TABLE orders ADD CONSTRAINT orders_state_check CHECK (state IN (
    'ready_to_ship', 'pickup_requested', 'cancel_pending', 'void_failed', 'pickup_cancelled',
    'picked_up', 'in_transit', 'delivered'));

-- The deadline's steps once taken, and the void's failures and resolution.
ALTER TABLE cancel_requests
    ADD COLUMN reminded_at   TIMESTAMPTZ,
    ADD COLUMN escalated_at  TIMESTAMPTZ,
    ADD COLUMN void_error    TEXT CHECK (char_length(void_error) <= 500),
    ADD COLUMN void_attempts INTEGER NOT NULL DEFAULT 0 CHECK (void_attempts >= 0),
    ADD COLUMN voided_by     TEXT,
    ADD COLUMN void_note     TEXT CHECK (char_length(void_note) <= 500);

-- An approval had its voided bill at once; now it may wait for it while the void failed.
DO $$
DECLARE c text;
BEGIN
    SELECT conname INTO STRICT c FROM pg_constraint
     WHERE conrelid = 'cancel_requests'::regclass AND contype = 'c'
       AND pg_get_constraintdef(oid) LIKE '%voided_awb IS NOT NULL%';
    EXECUTE format('ALTER TABLE cancel_requests DROP CONSTRAINT %I', c);
END $$;
ALTER TABLE cancel_requests
    ADD CONSTRAINT cancel_requests_voided_only_approved
        CHECK (voided_awb IS NULL OR decision = 'approve'),
    ADD CONSTRAINT cancel_requests_approved_voided_or_failed
        CHECK (decision IS DISTINCT FROM 'approve' OR voided_awb IS NOT NULL
               OR void_error IS NOT NULL);

-- The deadline timer's scan: open requests, oldest first.
CREATE INDEX cancel_requests_open_by_age ON cancel_requests (requested_at) WHERE decision IS NULL;
