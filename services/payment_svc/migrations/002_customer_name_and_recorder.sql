-- What people call the customer (texts name it), and who recorded each payment (four eyes: the
-- recorder may not confirm it). Payments recorded before this keep their recorder from history.
ALTER TABLE invoices ADD COLUMN customer_name text;
ALTER TABLE payments ADD COLUMN customer_name text, ADD COLUMN recorded_actor text;
UPDATE payments p SET recorded_actor = first.actor
FROM (
    SELECT DISTINCT ON (tenant_id, entity_id) tenant_id, entity_id, actor
    FROM status_history WHERE entity = 'payment' ORDER BY tenant_id, entity_id, id
) AS first
WHERE p.tenant_id = first.tenant_id AND p.payment_no = first.entity_id;
