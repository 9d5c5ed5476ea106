"""4. pickup_svc as shipped (``lunas serve pickup``) on the seeded pickup stream, sustained."""

from __future__ import annotations

from typing import Any

from bench.commands import Command, unique_count
from bench.context import Run
from bench.infra import produce_all
from bench.measure import Probe
from bench.procs import running
from bench.throughput import TopUp, drive

PICKUP_TABLES = ("orders", "order_payments", "airway_bills", "cancel_requests", "inbox", "outbox")


def pickup(run: Run) -> dict[str, Any]:
    commands = run.pickup_commands(0, run.mode.pickup_commands)
    offset = [len(commands)]

    def more(count: int) -> list[Command]:
        chunk = run.pickup_commands(offset[0], count)
        offset[0] += count
        return chunk

    with run.stack("pickup") as stack:
        produce_all(stack.settings.kafka_config(), commands)
        probe = Probe(stack.dsn, "pickup")
        try:
            top_up = TopUp(stack, more)
            with running(stack, "pickup") as svc:
                window = drive(
                    run,
                    probe,
                    [svc],
                    unique_count(commands),
                    seconds=run.mode.sustain_seconds,
                    top_up=top_up,
                )
                top_up.join()
            result = window.as_dict()
            result["outcomes"] = probe.outcomes()
            result["rows"] = probe.table_rows(PICKUP_TABLES)
            return result
        finally:
            probe.close()
