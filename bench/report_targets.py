"""The speed targets (docs/BENCHMARKS.md), each marked met or missed (and by how much) from a
run's results."""

from __future__ import annotations

import math
from typing import Any

FLAT_GROWTH = 0.10  # "flat": RSS grows by at most 10 % from mem_low to mem_high commands
RSS_LIMIT_MB = 150.0


def get(results: dict[str, Any], *path: str | int) -> Any:
    """``results[a][b]...`` or None where any step is missing."""
    value: Any = results
    for key in path:
        in_dict = isinstance(value, dict) and key in value
        in_list = (
            isinstance(value, list) and isinstance(key, int) and -len(value) <= key < len(value)
        )
        if not (in_dict or in_list):
            return None
        value = value[key]
    return value


def number(value: Any) -> float | None:
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def latency_at(results: dict[str, Any], which: str, per_second: float) -> dict[str, Any] | None:
    for row in get(results, "latency", which) or []:
        if abs(float(row.get("rate", 0)) - per_second) < 0.5:
            return dict(row)
    return None


def _at_least(measured: float | None, target: float, unit: str) -> tuple[str, str]:
    if measured is None:
        return "not measured", "—"
    if measured >= target:
        return "**met**", f"{measured / target:.2f}× the target"
    short = target - measured
    return "**missed**", f"short by {short:,.2f}{unit} (measured is {measured / target:.1%} of it)"


def _at_most(measured: float | None, limit: float, unit: str) -> tuple[str, str]:
    if measured is None:
        return "not measured", "—"
    if measured <= limit:
        return "**met**", f"{measured / limit:.0%} of the limit"
    return (
        "**missed**",
        f"over by {measured - limit:,.1f}{unit} ({measured / limit:.1f}× the limit)",
    )


def _flat(grew: float | None) -> tuple[str, str]:
    if grew is None:
        return "not measured", "—"
    verdict = "**met**" if grew <= FLAT_GROWTH else "**missed**"
    return verdict, f"grew {grew:+.1%} (limit +{FLAT_GROWTH:.0%})"


def services_rss(results: dict[str, Any]) -> dict[str, float]:
    found: dict[str, float] = {}
    for key, name in (
        ("payment", "payment_svc (highest sampled)"),
        ("pickup", "pickup_svc (highest sampled)"),
    ):
        # The highest VmRSS sampled (every 0.5 s) while it ran, not only the last reading.
        value = number(get(results, key, "rss_mb", "peak")) or number(
            get(results, key, "rss_mb", "steady")
        )
        if value is not None:
            found[name] = value
    for name, value in (get(results, "notify", "rss_mb") or {}).items():
        if number(value) is not None:
            found[f"{name} (at the end)"] = float(value)
    for path, name in (
        (("notify_rate", "one_process", "rss_mb"), "notify_svc alone, one process (at the end)"),
        (("notify_rate", "rss_mb"), "notify_svc alone, largest member (at the end)"),
    ):
        alone = number(get(results, *path))
        if alone is not None:
            found[name] = alone
    return found


def growth(results: dict[str, Any]) -> tuple[float | None, float | None, float | None]:
    mode = results["mode"]
    low = number(get(results, "payment", "rss_mb", f"at_{mode['mem_low']}"))
    high = number(get(results, "payment", "rss_mb", f"at_{mode['mem_high']}"))
    if low is None or high is None or low <= 0:
        return low, high, None
    return low, high, (high - low) / low


def target_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(target, measured, verdict, by how much) for every target of the issue."""
    mode = results["mode"]
    rows: list[tuple[str, str, str, str]] = []
    pay = number(get(results, "payment", "commands_per_s"))
    ceiling = number(get(results, "ceiling", "commands_per_s"))

    def add(name: str, shown: str, verdict: tuple[str, str]) -> None:
        rows.append((name, shown, *verdict))

    add("payment_svc mixed ≥ 5,000 commands/s", _n(pay, "/s"), _at_least(pay, 5_000, "/s"))
    r_ceiling = pay / ceiling if pay is not None and ceiling else None
    add("payment_svc mixed ≥ 0.5 × ceiling", _x(r_ceiling), _at_least(r_ceiling, 0.5, "×"))
    issue = number(get(results, "issue", "commands_per_s"))
    add(
        "payment_svc invoice.issue alone ≥ 10,000/s",
        _n(issue, "/s"),
        _at_least(issue, 10_000, "/s"),
    )
    picked = number(get(results, "pickup", "commands_per_s"))
    add("pickup_svc ≥ 5,000 commands/s", _n(picked, "/s"), _at_least(picked, 5_000, "/s"))
    at_1000 = latency_at(results, "shipped", 1000) or {}
    for p, limit in (("p50", 20.0), ("p99", 100.0)):
        value = number(at_1000.get(p))
        add(
            f"latency {p} ≤ {limit:.0f} ms at 1,000/s",
            _n(value, " ms"),
            _at_most(value, limit, " ms"),
        )
    for key, rate, limit in (
        ("notify", mode["notify_rate"], 250.0),
        ("notify_fast", mode.get("notify_fast_rate"), 1000.0),
    ):
        for channel, label in (("feed_api", "feed API"), ("sse", "SSE")):
            value = number(get(results, key, channel, "p99"))
            add(
                f"decision → {label} p99 ≤ {limit:,.0f} ms at {rate}/s",
                _n(value, " ms"),
                _at_most(value, limit, " ms"),
            )
    alone = number(get(results, "notify_rate", "events_per_s"))
    members = get(results, "notify_rate", "processes") or 1
    one = number(get(results, "notify_rate", "one_process", "events_per_s"))
    add(
        f"notify_svc ≥ 3,000 source events/s (`--processes {members}`; one process: "
        f"{_n(one, '/s')})",
        _n(alone, "/s"),
        _at_least(alone, 3_000, "/s"),
    )
    replay = number(get(results, "replay", "records_per_s"))
    add("replay ≥ 50,000 commands/s", _n(replay, "/s"), _at_least(replay, 50_000, "/s"))
    same = get(results, "replay", "digest_unchanged")
    add(
        "replay leaves the state digest unchanged",
        "yes" if same else "no" if same is False else "—",
        ("**met**" if same else "**missed**" if same is False else "not measured", "—"),
    )
    for name, value in services_rss(results).items():
        add(
            f"{name} ≤ 150 MB RSS",
            _n(value, " MB", 1),
            _at_most(value, RSS_LIMIT_MB, " MB"),
        )
    low, high, grew = growth(results)
    shown = (
        f"{_n(low, ' MB', 1)} at {mode['mem_low']:,} → {_n(high, ' MB', 1)} at {mode['mem_high']:,}"
    )
    add(
        f"payment_svc RSS flat from {mode['mem_low']:,} to {mode['mem_high']:,} commands "
        f"(≤ {FLAT_GROWTH:.0%} growth)",
        shown,
        _flat(grew),
    )
    return rows


def targets_table(results: dict[str, Any]) -> list[str]:
    lines = ["| target | measured | verdict | by how much |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in target_rows(results)]
    return lines


def any_missed(results: dict[str, Any]) -> bool:
    return any(row[2] != "**met**" for row in target_rows(results))


def _n(value: float | None, unit: str = "", digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}{unit}"


def _x(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g}×"
