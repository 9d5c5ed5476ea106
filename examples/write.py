"""Writes the example messages under `schemas/examples/` (`python -m examples.write`): each
scenario's messages from `schemas.examples`, each fact followed by the notifications notify_svc
makes of it (`examples.notifications`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from examples.notifications import with_notifications
from schemas.examples import EXAMPLES_DIR
from schemas.examples.build import giro_resolve, payment_cancel, sfa_pending
from schemas.examples.more import payment_allocate, pickup_picked_up
from schemas.examples.payment_beyond import (
    giro_bounce,
    payment_cancel_approval,
    payment_cancel_rejection,
)
from schemas.examples.pickup import pickup_cancel_approve, pickup_cancel_reject
from schemas.examples.pickup_deadline import pickup_cancel_auto_void, pickup_cancel_escalate


def write(out_dir: Path) -> list[Path]:
    """Write each scenario as `<scenario>/NN_<type>.json`, replacing what was there.

    After each fact come the `notification.created` messages notify_svc makes of it, made by
    notify_svc's own code (`schemas.examples.notifications`), never written by hand.
    """
    scenarios = {
        name: with_notifications(messages)
        for name, messages in {
            "giro_resolve": giro_resolve(),
            "payment_cancel": payment_cancel(),
            "sfa_pending": sfa_pending(),
            "pickup_cancel_approve": pickup_cancel_approve(),
            "pickup_cancel_reject": pickup_cancel_reject(),
            "payment_allocate": payment_allocate(),
            "pickup_picked_up": pickup_picked_up(),
            "pickup_cancel_escalate": pickup_cancel_escalate(),
            "pickup_cancel_auto_void": pickup_cancel_auto_void(),
            "giro_bounce": giro_bounce(),
            "payment_cancel_approval": payment_cancel_approval(),
            "payment_cancel_rejection": payment_cancel_rejection(),
        }.items()
    }
    written: list[Path] = []
    for name, messages in scenarios.items():
        folder = out_dir / name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for number, env in enumerate(messages, start=1):
            path = folder / f"{number:02d}_{env.type}.json"
            body = env.model_dump(mode="json", exclude_none=True)
            path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", "utf-8")
            written.append(path)
    return written


if __name__ == "__main__":
    write(EXAMPLES_DIR)
