-- Scheduled work (services/common/runtime/timers.py): when each timer of this schema last ran,
-- on the service's clock, so a second process or a restart keeps to the timer's period.
CREATE TABLE timers (
    name        text        PRIMARY KEY,
    last_run_at timestamptz NOT NULL,
    runs        bigint      NOT NULL DEFAULT 0
);
