-- When a waiting command's sender was told it is still waiting half-way to its deadline (the
-- `command.waiting` of stage "halfway", services/common/runtime/waiting.py): set in the same
-- transaction that emits it, so it is told once, across restarts and processes.
ALTER TABLE waiting ADD COLUMN halfway_at timestamptz;
CREATE INDEX waiting_not_halfway ON waiting (deadline) WHERE halfway_at IS NULL;
