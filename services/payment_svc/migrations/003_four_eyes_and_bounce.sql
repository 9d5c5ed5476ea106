-- Four eyes on large cancellations (status cancel_requested, who asked) and bounced giros
-- (status bounced, the bank's charge and the day it bounced; the reason is cancel_reason with
-- code giro_bounced).
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check CHECK (
    status IN ('pending', 'active', 'completed', 'cancel_requested', 'cancelled', 'bounced')
);
ALTER TABLE payments
    ADD COLUMN cancel_requested_by text,
    ADD COLUMN bank_charge numeric(18,2) CHECK (bank_charge > 0),
    ADD COLUMN bounced_date date;
ALTER TABLE payments ADD CONSTRAINT payments_cancel_requested_ck
    CHECK (status <> 'cancel_requested' OR cancel_requested_by IS NOT NULL);
ALTER TABLE payments ADD CONSTRAINT payments_bounce_ck
    CHECK ((bank_charge IS NULL AND bounced_date IS NULL) OR status = 'bounced');
-- `lunas payment list` filters by status and method, and Active giros by due date.
CREATE INDEX payments_giro_due_idx ON payments (tenant_id, giro_due_date)
    WHERE status = 'active' AND giro_due_date IS NOT NULL;
