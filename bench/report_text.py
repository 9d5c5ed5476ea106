"""The figure table and the per-scenario sections of ``docs/BENCHMARKS.md``."""

from __future__ import annotations

from typing import Any

from bench.report_targets import any_missed, get, growth, latency_at, number

TRUNK = 0.8
NOTES = [
    "- Every scenario runs on a fresh broker and a fresh database; commands are produced before "
    "the measured process starts, so rates are apply rates, not the producer's.",
    "- *Settled* means an inbox row with a final outcome (applied, rejected:…, dead_lettered:…); "
    "`pending` and `waiting` are not settled. A duplicate re-sent adds no inbox row, so commands/s "
    "count distinct commands; the ceiling's figure is scaled the same way (records/s × distinct "
    "share).",
    "- Events/s are outbox rows marked sent per second (what the relay published).",
    "- A window opens at the first settled row (start-up and group join excluded) and closes when "
    "its time is up or the backlog is drained; where the backlog ran low, the stream's next chunk "
    "was produced while the service ran (the section says how many: that producer shared the CPU).",
    "- The stream is generated in stream order; across partitions the service sees it in another "
    "order, so more commands are refused (or wait) than the generator planned, as in production.",
    "- Two cores are shared by the broker, Postgres, the measured process(es), the bench's own "
    "readers and anything else running on the machine: figures are this machine's, on this day.",
    "- Benchmarks are not tests: nothing here is asserted by `make test`.",
]


def _rate(results: dict[str, Any], key: str) -> float | None:
    return number(get(results, key, "commands_per_s"))


def _ratio(value: float | None, base: float | None) -> str:
    if value is None or not base:
        return "—"
    return f"{value / base:.3g}×"


def _n(value: Any, unit: str = "", digits: int = 0) -> str:
    v = number(value)
    return "—" if v is None else f"{v:,.{digits}f}{unit}"


def figures_table(results: dict[str, Any]) -> list[str]:
    ceiling, naive = _rate(results, "ceiling"), _rate(results, "naive")
    rows: list[tuple[str, str, str, str]] = []

    def rate_row(name: str, value: float | None) -> None:
        rows.append((name, _n(value, "/s"), _ratio(value, ceiling), _ratio(value, naive)))

    rate_row("1 ceiling: bare loop, commands/s", ceiling)
    rate_row("2 naive peer (payment_svc, LUNAS_BATCH_SIZE=1), commands/s", naive)
    rate_row("3 payment_svc as shipped, commands/s applied", _rate(results, "payment"))
    naive_events = number(get(results, "naive", "events_per_s"))
    pay_events = number(get(results, "payment", "events_per_s"))
    rows.append(
        (
            "3 payment_svc, events/s published",
            _n(pay_events, "/s"),
            "—",
            _ratio(pay_events, naive_events),
        )
    )
    rate_row("3b payment_svc, invoice.issue alone, commands/s", _rate(results, "issue"))
    rate_row("4 pickup_svc as shipped, commands/s applied", _rate(results, "pickup"))
    rate_row("4 pickup_svc, events/s published", number(get(results, "pickup", "events_per_s")))
    naive_100 = latency_at(results, "naive", 100) or {}
    for row in get(results, "latency", "shipped") or []:
        for p in ("p50", "p95", "p99", "max"):
            same = naive_100.get(p) if abs(float(row["rate"]) - 100) < 0.5 else None
            rows.append(
                (
                    f"5 latency at {row['rate']:,.0f}/s, {p}",
                    _n(row.get(p), " ms", 1),
                    "—",
                    _ratio(number(row.get(p)), number(same)),
                )
            )
    for p in ("p50", "p95", "p99", "max"):
        rows.append(
            (f"5 naive peer latency at 100/s, {p}", _n(naive_100.get(p), " ms", 1), "—", "1×")
        )
    for channel, label in (
        ("feed_api", "feed API"),
        ("sse", "SSE"),
        ("topic", "notifications topic"),
    ):
        for p in ("p50", "p99"):
            rows.append(
                (
                    f"6 decision → {label}, {p}",
                    _n(get(results, "notify", channel, p), " ms", 1),
                    "—",
                    "—",
                )
            )
    rate_row(
        "7 replay of applied commands, records/s", number(get(results, "replay", "records_per_s"))
    )
    ceiling_rss = number(get(results, "ceiling", "rss_mb"))
    naive_rss = number(get(results, "naive", "rss_mb", "steady"))
    low, high, _ = growth(results)
    mode = results["mode"]
    memory = [
        ("8 payment_svc RSS, steady", number(get(results, "payment", "rss_mb", "steady"))),
        ("8 payment_svc RSS, highest sampled", number(get(results, "payment", "rss_mb", "peak"))),
        (f"8 payment_svc RSS at {mode['mem_low']:,} settled", low),
        (f"8 payment_svc RSS at {mode['mem_high']:,} settled", high),
        ("8 pickup_svc RSS, steady", number(get(results, "pickup", "rss_mb", "steady"))),
        ("8 pickup_svc RSS, highest sampled", number(get(results, "pickup", "rss_mb", "peak"))),
        ("8 naive peer RSS", naive_rss),
        ("8 ceiling loop RSS", ceiling_rss),
    ]
    memory += [
        (f"8 {k.removesuffix(' in the decision run')} RSS (decision scenario)", number(v))
        for k, v in (get(results, "notify", "rss_mb") or {}).items()
    ]
    for name, value in memory:
        rows.append(
            (name, _n(value, " MB", 1), _ratio(value, ceiling_rss), _ratio(value, naive_rss))
        )
    one, two, four = (_rate(results, f"scale{n}") for n in (1, 2, 4))
    rate_row("9 payment_svc --processes 1, commands/s", one)
    rate_row("9 payment_svc --processes 2 (one group), commands/s", two)
    rate_row("9 payment_svc --processes 4 (one group), commands/s", four)
    rows.append(("9 two processes ÷ one", _ratio(two, one), "—", "—"))
    rows.append(("9 four processes ÷ one", _ratio(four, one), "—", "—"))
    lines = ["| figure | value | × ceiling | × naive |", "|---|---|---|---|"]
    return lines + [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]


def _error(results: dict[str, Any], key: str) -> list[str]:
    error = get(results, key, "error")
    return [f"**This scenario failed:** `{error}`", ""] if error else []


def _outcomes(results: dict[str, Any], key: str) -> str:
    found = get(results, key, "outcomes") or {}
    return ", ".join(f"{k} {v:,}" for k, v in found.items()) or "—"


def _window(results: dict[str, Any], key: str) -> list[str]:
    w = get(results, key) or {}
    if not w or "error" in w:
        return _error(results, key)
    return [
        f"- Window {_n(w.get('seconds'), ' s', 1)}: {_n(w.get('settled'))} commands settled "
        f"({_n(w.get('commands_per_s'), '/s')}), "
        f"{_n(w.get('events_per_s'), '/s')} events published; "
        f"{_n(w.get('produced_distinct'))} distinct commands pre-produced, "
        f"{_n(w.get('topped_up'))} more produced while it ran; drained: {w.get('drained')}",
        f"- Inbox outcomes: {_outcomes(results, key)}",
    ]


def sections(results: dict[str, Any]) -> list[str]:
    out: list[str] = []
    mix = get(results, "stream", "payment_mix") or {}
    pmix = get(results, "stream", "pickup_mix") or {}
    out += [
        "## The command streams",
        "",
        f"- Generated in {_n(get(results, 'stream', 'generate_seconds'), ' s', 1)} (seed "
        f"{results['mode']['seed']}, built and encoded with `schemas`).",
        "- payment stream (first sustained chunk): "
        + ", ".join(f"{k} {v:,}" for k, v in mix.items()),
        "- pickup stream: " + ", ".join(f"{k} {v:,}" for k, v in pmix.items()),
        "",
    ]
    c = get(results, "ceiling") or {}
    out += ["## 1. Ceiling", "", *_error(results, "ceiling")]
    if c and "error" not in c:
        rows = c.get("rows", {})
        out += [
            f"- {_n(c.get('records'))} records in {_n(c.get('seconds'), ' s', 2)}: "
            f"{_n(c.get('records_per_s'), ' records/s')}, "
            f"{_n(c.get('commands_per_s'), ' commands/s')}; "
            f"rows written: inbox {_n(rows.get('inbox'))}, state {_n(rows.get('state'))}, "
            f"outbox {_n(rows.get('outbox'))}",
            "",
        ]
    out += [
        "## 2. Naive peer",
        "",
        "The shipped `lunas serve payment` with `LUNAS_BATCH_SIZE=1`: "
        "one transaction and one offset commit per message, the same domain code.",
        "",
        *_window(results, "naive"),
        "",
    ]
    out += ["## 3. payment_svc as shipped", "", *_window(results, "payment")]
    rows = get(results, "payment", "rows") or {}
    if rows:
        out += ["- Rows at the end: " + ", ".join(f"{k} {v:,}" for k, v in rows.items())]
        ceiling_rows = get(results, "ceiling", "rows") or {}
        ceiling_records = number(get(results, "ceiling", "records"))
        if rows.get("inbox") and ceiling_rows and ceiling_records:
            per = sum(rows.values()) / rows["inbox"]
            per_ceiling = sum(ceiling_rows.values()) / ceiling_records
            out += [f"- Rows per distinct command: {per:.2f} (the ceiling wrote {per_ceiling:.2f})"]
    out += ["", "## 3b. payment_svc on invoice.issue alone", "", *_window(results, "issue")]
    out += ["", "## 4. pickup_svc as shipped", "", *_window(results, "pickup"), ""]
    out += _latency(results)
    out += _notify(results)
    out += _notify(results, "notify_fast", "6b")
    out += _replay(results)
    out += _memory(results)
    out += [
        "## 9. Scale: `lunas serve payment --processes N`, N = 1, 2, 4 (one group)",
        "",
        *_error(results, "scale1"),
        *_error(results, "scale2"),
        *_error(results, "scale4"),
        f"- one: {_n(_rate(results, 'scale1'), '/s')}; two: {_n(_rate(results, 'scale2'), '/s')}; "
        f"four: {_n(_rate(results, 'scale4'), '/s')} (a fresh stack each; the same backlog is "
        "produced once every member logged its partition assignment, and the window opens when "
        "it is all on the broker)",
        "",
    ]
    out += _notify_rate(results)
    out += _profile(results)
    return out


def _latency(results: dict[str, Any]) -> list[str]:
    out = [
        "## 5. Latency: command produced → its event on payment.events",
        "",
        *_error(results, "latency"),
        "The reading consumer uses "
        f"`fetch.wait.max.ms={get(results, 'latency', 'fetch_wait_max_ms')}`. "
        "Missing: no event within 1 s after the service had settled the rate's commands (a "
        "command that changed nothing emits none; a waiting one has not been applied yet).",
        "",
        "| peer | rate | commands | p50 | p95 | p99 | max | missing |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for who in ("shipped", "naive"):
        for row in get(results, "latency", who) or []:
            out.append(
                f"| {'payment_svc' if who == 'shipped' else 'naive peer'} "
                f"| {_n(row.get('rate'), '/s')} | {_n(row.get('sent'))} "
                f"| {_n(row.get('p50'), ' ms', 1)} | {_n(row.get('p95'), ' ms', 1)} "
                f"| {_n(row.get('p99'), ' ms', 1)} | {_n(row.get('max'), ' ms', 1)} "
                f"| {_n(row.get('missing'))} |"
            )
    return [*out, ""]


def _notify(results: dict[str, Any], key: str = "notify", title: str = "6") -> list[str]:
    n = get(results, key) or {}
    if key != "notify" and not n:
        return []
    out = [
        f"## {title}. Decision → notification (pickup_svc → notify_svc → feed API / SSE)",
        "",
        *_error(results, key),
    ]
    if n and "error" not in n:
        out += [
            f"{_n(n.get('orders'))} decisions at {_n(n.get('rate'), '/s')}, notify_svc as "
            f"{_processes(n.get('processes'))}; the feed API is polled every "
            f"{_n(n.get('poll_interval_ms'), ' ms')}.",
            "",
            "| seen on | count | p50 | p95 | p99 | max | missing |",
            "|---|---|---|---|---|---|---|",
        ]
        for key, label in (
            ("decided", "pickup.cancel.decided (pickup_svc's event)"),
            ("topic", "notifications topic"),
            ("feed_api", "feed API"),
            ("sse", "SSE"),
        ):
            r = n.get(key, {})
            out.append(
                f"| {label} | {_n(r.get('count'))} | {_n(r.get('p50'), ' ms', 1)} | "
                f"{_n(r.get('p95'), ' ms', 1)} | {_n(r.get('p99'), ' ms', 1)} | "
                f"{_n(r.get('max'), ' ms', 1)} | {_n(r.get('missing'))} |"
            )
        if n.get("reader_errors"):
            out += ["", f"Reader errors: {n['reader_errors']}"]
    return [*out, ""]


def _processes(count: int | None) -> str:
    return "one process" if (count or 1) == 1 else f"`--processes {count}`"


def _notify_rate(results: dict[str, Any]) -> list[str]:
    n = get(results, "notify_rate") or {}
    if not n:
        return []
    out = ["## 10. notify_svc alone, from a backlog", "", *_error(results, "notify_rate")]
    if "error" not in n:
        one = n.get("one_process") or {}
        out += [
            f"{_n(n.get('source_events'))} source events ({_n(n.get('orders'))} approved "
            "cancellations: decided, invoice voided, payment released) written before notify_svc "
            f"starts; {_n(n.get('notifications'))} notifications expected, counted by key on "
            "`notifications` from the first one seen to the last. Twice, each on a fresh broker "
            "and Redis:",
            "",
            *(_rate_line(r) for r in (one, n) if r),
            "",
            *_one_profile(one.get("profile")),
        ]
    return out


def _rate_line(r: dict[str, Any]) -> str:
    processes = r.get("processes")
    shown = _processes(processes) + (" (profiled)" if (processes or 1) == 1 else "")
    return (
        f"- {shown}: {_n(r.get('events_per_s'), ' source events/s')} "
        f"({_n(r.get('notifications_per_s'), ' notifications/s')}) over "
        f"{_n(r.get('seconds'), ' s', 1)}; RSS of the largest process "
        f"{_n(r.get('rss_mb'), ' MB', 1)}"
    )


def _replay(results: dict[str, Any]) -> list[str]:
    r = get(results, "replay") or {}
    out = [
        "## 7. Replay (group lunas.payment reset to 0, service restarted)",
        "",
        *_error(results, "replay"),
    ]
    if r and "error" not in r:
        out += [
            f"- {_n(r.get('records'))} records ({_n(r.get('distinct'))} distinct) applied first in "
            f"{_n(r.get('first_apply_seconds_incl_startup'), ' s', 1)} (incl. start-up); "
            f"replayed {_n(r.get('replayed_records'))} in {_n(r.get('seconds'), ' s', 2)}: "
            f"{_n(r.get('records_per_s'), ' records/s')}",
            f"- Digest before `{str(r.get('digest_before'))[:16]}…`, after "
            f"`{str(r.get('digest_after'))[:16]}…`: "
            f"{'unchanged' if r.get('digest_unchanged') else 'CHANGED'}",
            f"- Inbox outcomes: {_outcomes(results, 'replay')}",
        ]
    return [*out, ""]


def _memory(results: dict[str, Any]) -> list[str]:
    mode = results["mode"]
    low, high, grew = growth(results)
    quick = mode["name"] != "full"
    return [
        "## 8. Memory (VmRSS of each service process)",
        "",
        f"- payment_svc: {_n(low, ' MB', 1)} at {mode['mem_low']:,} settled commands, "
        f"{_n(high, ' MB', 1)} at {mode['mem_high']:,} "
        f"(growth {_n(None if grew is None else grew * 100, ' %', 1)})"
        + (f"; {mode['name']} mode counts, not 10k → 100k" if quick else ""),
        "- steady-state RSS of every process: see the figure table",
        "",
    ]


PROFILED = (
    ("payment", "payment_svc under sustained load (throughput, latency and replay targets)"),
    ("notify", "notify_svc while the decisions flow (decision → notification target)"),
)


def _profile(results: dict[str, Any]) -> list[str]:
    if not any_missed(results):
        return []
    out: list[str] = []
    for key, title in PROFILED:
        out += [
            f"## Profile (targets missed): {title}",
            "",
            *_one_profile(get(results, key, "profile")),
        ]
    return out


def _one_profile(p: dict[str, Any] | None) -> list[str]:
    if not p or p.get("error") or not p.get("samples"):
        return [f"No profile: {(p or {}).get('error') or 'not taken'}", ""]
    out = [
        f"`py-spy record --nonblocking --rate 100` for {p['seconds']:.0f} s, "
        f"{p['samples']:,} samples "
        "(every thread; py-spy leaves out idle samples, so shares are of busy time).",
        "",
        "Top frames by own time:",
        "",
        "| share | frame |",
        "|---|---|",
    ]
    out += [f"| {share:.1%} | `{frame}` |" for frame, share in p.get("top_self", [])[:15]]
    # The trunk (entry point → consumer loop) is in nearly every sample and says nothing.
    below = [(f, share) for f, share in p.get("top_inclusive", []) if share < TRUNK][:15]
    out += [
        "",
        f"Top frames by inclusive time (the call trunk, in ≥ {TRUNK:.0%} of samples, left out):",
        "",
        "| share | frame |",
        "|---|---|",
    ]
    out += [f"| {share:.1%} | `{frame}` |" for frame, share in below]
    return [*out, ""]
