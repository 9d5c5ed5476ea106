-- Cancellation requests get their place in the order's history, like airway bills have `seq`:
-- requested_at alone can tie (one batch shares one clock reading), and the history must keep
-- the order in which requests were made.

ALTER TABLE cancel_requests ADD COLUMN seq INTEGER;

UPDATE cancel_requests AS r
   SET seq = numbered.seq
  FROM (
      SELECT tenant_id, request_id,
             row_number() OVER (PARTITION BY tenant_id, order_id
                                ORDER BY requested_at, request_id) AS seq
        FROM cancel_requests
  ) AS numbered
 WHERE r.tenant_id = numbered.tenant_id AND r.request_id = numbered.request_id;

ALTER TABLE cancel_requests ALTER COLUMN seq SET NOT NULL;
ALTER TABLE cancel_requests
    ADD CONSTRAINT cancel_requests_seq_per_order UNIQUE (tenant_id, order_id, seq);
