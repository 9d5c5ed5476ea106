"""``run_members``: N copies of a service command supervised as one (``--processes N``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

# A member: records its pid and metrics port, exits 3 once (the first start of member 0), then
# runs until SIGTERM and records that it stopped cleanly.
MEMBER = textwrap.dedent(
    """
    import os, signal, sys, time
    from pathlib import Path
    out = Path(sys.argv[1])
    port = os.environ.get("LUNAS_METRICS_PORT", "-")
    (out / f"start-{os.getpid()}-{port}").touch()
    if port == "9000" and not (out / "crashed").exists():
        (out / "crashed").touch()
        sys.exit(3)
    def stop(*_):
        (out / f"stopped-{os.getpid()}").touch()
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    while True:
        time.sleep(0.05)
    """
)

SUPERVISOR = textwrap.dedent(
    """
    import sys
    from services.common.runtime.service import run_members
    from services.common.settings import Settings
    member = [sys.executable, sys.argv[1], sys.argv[2]]
    run_members(member, 3, Settings(metrics_port=9000), restart_delay_s=0.1, stop_timeout_s=10)
    """
)


def _wait(check: object, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def test_members_get_their_own_port_a_crashed_one_is_restarted_and_sigterm_stops_all(
    tmp_path: Path,
) -> None:
    member = tmp_path / "member.py"
    member.write_text(MEMBER)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUNAS_")}
    supervisor = subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR, str(member), str(tmp_path)], env=env
    )
    try:
        # Member 0 crashed once and was started again: four starts, three running.
        _wait(lambda: len(list(tmp_path.glob("start-*"))) == 4)
        ports = sorted(p.name.rsplit("-", 1)[1] for p in tmp_path.glob("start-*"))
        assert ports == ["9000", "9000", "9001", "9002"]
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(20) == 0
        assert len(list(tmp_path.glob("stopped-*"))) == 3
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
