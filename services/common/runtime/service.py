"""A generic service process: consumer, fast path, relay and health endpoint around a service's
handler table and unit of work.

Each service declares a ``ServiceSpec``; its ``bootstrap.py`` wires it (``ServiceWiring``) from
``Settings``; ``run_service`` does the rest:
migrations, topics, the pool, the relay thread, the consumer loop, and a clean exit on SIGTERM
(finish the batch in hand, commit, drain the outbox, exit 0).
"""

from __future__ import annotations

import ctypes
import gc
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Generic

import psycopg
import structlog
from confluent_kafka import Consumer, Producer
from psycopg_pool import ConnectionPool

from services.common import otel
from services.common.health import HealthServer
from services.common.kafka_refusal import EXIT_REFUSED, exit_on_refusal
from services.common.migrations import migrate
from services.common.runtime.consumer import BatchConsumer, ConsumerConfig
from services.common.runtime.fastpath import FastPath, ProducerErrors
from services.common.runtime.relay import OutboxRelay, RelayConfig
from services.common.runtime.retry import backoff, is_transient
from services.common.runtime.seam import Connection, Handler, U
from services.common.runtime.store import Store
from services.common.runtime.timers import Timer, TimerRunner
from services.common.runtime.waiting import WaitLimits, halfway_timer
from services.common.settings import Settings
from services.common.topics import ensure_topics_for

log = structlog.get_logger(__name__)


GC_YOUNGEST = 50_000  # allocations between collections of the youngest generation


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """What a service is, declared once (docs/ARCHITECTURE.md "One service"): its name (and so
    its consumer group and its ``source``), the topics it reads and writes, its Postgres schema
    (None: it keeps none), where its commands' refusals go, and the ``Settings`` fields that are
    its own. ``lunas status``, ``lunas serve``, ``lunas run``, bench, chaos and notify_svc read
    these instead of lists of their own."""

    name: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    schema: str | None = None
    rejections_topic: str | None = None
    settings: tuple[str, ...] = ()
    # ``module:function(settings)`` that runs it in this process (``lunas serve``), imported
    # only when asked for.
    entrypoint: str = ""

    @property
    def source(self) -> str:
        return f"/svc/{self.name}"

    @property
    def group_id(self) -> str:
        return f"lunas.{self.name}"


@dataclass
class ServiceWiring(Generic[U]):
    """A ``ServiceSpec`` with what its composition root (``bootstrap.py``) builds from
    ``Settings``: the handler table, the unit of work, the clock and the timers."""

    spec: ServiceSpec
    handlers: Mapping[str, Handler[U]]
    unit_of_work: Callable[[Connection, datetime], U]
    clock: Callable[[], datetime] = utc_now
    # Scheduled work (deadlines, daily reminders), run exactly once from the consumer loop.
    timers: Sequence[Timer] = field(default_factory=tuple)


def consumer_conf(
    settings: Settings, group_id: str, instance_id: str | None = None
) -> dict[str, Any]:
    conf = {
        **settings.kafka_config(),
        "group.id": group_id,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": settings.kafka_session_timeout_ms,
        "heartbeat.interval.ms": max(100, settings.kafka_session_timeout_ms // 4),
        "max.poll.interval.ms": 300_000,
        "partition.assignment.strategy": "cooperative-sticky",
        "fetch.message.max.bytes": 2 * 1024 * 1024,
        # An idle consumer hears of a new record within milliseconds, not after a long poll.
        "fetch.wait.max.ms": 10,
        # librdkafka prefetches up to 64 MB by default, which a backlog fills: the benchmark saw
        # payment_svc at 190 MB RSS with 100k commands queued. 8 MB still holds many batches.
        "queued.max.messages.kbytes": 8192,
    }
    if instance_id:
        conf["group.instance.id"] = instance_id  # static membership: a restart skips a rebalance
    return conf


def producer_conf(settings: Settings) -> dict[str, Any]:
    return {
        **settings.kafka_config(),
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 1,
        "compression.type": "none",
        "message.max.bytes": 2 * 1024 * 1024,
    }


class ServiceProcess:
    """Owns the resources of one running service; ``run`` blocks until stopped."""

    def __init__(
        self,
        wiring: ServiceWiring[Any],
        settings: Settings,
        stop: threading.Event | None = None,
        instance_id: str | None = None,
    ) -> None:
        self.wiring = wiring
        self.spec = wiring.spec
        self.settings = settings
        self.stop = stop or threading.Event()
        self.instance_id = instance_id or settings.kafka_group_instance_id
        self._relay_thread: threading.Thread | None = None
        self._relay_error: BaseException | None = None

    def run(self) -> None:
        settings, spec, wiring = self.settings, self.spec, self.wiring
        if spec.schema is None or spec.rejections_topic is None:
            raise ValueError(f"{spec.name} has no schema or no commands: not a runtime service")
        schema, rejections_topic = spec.schema, spec.rejections_topic
        dsn = settings.database_dsn()
        # A process (re)started while Postgres is away waits for it rather than exiting: a
        # supervisor restarting it in a loop would only add noise to the outage.
        if not self._until_up("migrate", lambda: migrate(dsn, schema)):
            return
        ensure_topics_for(settings)
        pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            dsn,
            min_size=1,
            max_size=settings.database_pool_size,
            open=False,
            name=f"lunas-{spec.name}",
            kwargs={"autocommit": True},
        )
        pool.open(wait=True, timeout=60)
        errors = ProducerErrors(spec.name)
        producer = Producer({**producer_conf(settings), "error_cb": errors.report})
        fast_path = FastPath(producer, spec.name, errors)
        relay_stop = threading.Event()
        relay = OutboxRelay(
            RelayConfig(spec.name, schema, retention_hours=settings.outbox_retention_hours),
            pool,
            producer,
            relay_stop,
            fast_path,
            errors,
        )
        wait_limits = WaitLimits(
            timeout=timedelta(seconds=settings.await_timeout_seconds),
            per_tenant=settings.await_max_per_tenant,
        )
        # A command still waiting half-way to its deadline tells its sender (waiting.py).
        halfway = halfway_timer(
            schema,
            spec.name,
            timeout=wait_limits.timeout,
            topic=rejections_topic,
            period=timedelta(seconds=settings.timer_tick_seconds),
        )
        timers = TimerRunner(
            [*wiring.timers, halfway],
            service=spec.name,
            schema=schema,
            pool=pool,
            clock=wiring.clock,
            fast_path=fast_path,
            tick_s=settings.timer_tick_seconds,
        )
        consumer: BatchConsumer[Any] = BatchConsumer(
            ConsumerConfig(
                service=spec.name,
                consumer_name=spec.name,
                source=spec.source,
                topics=list(spec.reads),
                rejections_topic=rejections_topic,
                handlers=wiring.handlers,
                unit_of_work=wiring.unit_of_work,
                batch_size=settings.batch_size,
                idle_wait_s=settings.batch_timeout_ms / 1000,
                wait_limits=wait_limits,
                tick=timers.tick,
            ),
            Consumer(consumer_conf(settings, spec.group_id, self.instance_id)),
            pool,
            Store(schema),
            wiring.clock,
            self.stop,
            fast_path,
        )
        health = None
        if settings.metrics_port is not None:
            health = HealthServer(
                settings.metrics_host,
                settings.metrics_port,
                live=lambda: self._live(relay, consumer),
                ready=lambda: not pool.closed and self._relay_error is None,
            ).start()
        self._relay_thread = threading.Thread(
            target=self._run_relay, args=(relay,), name=f"{spec.name}-relay", daemon=True
        )
        self._relay_thread.start()
        log.info("service.started", service=spec.name, topics=spec.reads, group=spec.group_id)
        otel.start(spec.name, settings.otel_exporter_otlp_endpoint)
        # What start-up made (modules, models, the wiring) lives as long as the process: frozen,
        # the collector stops scanning it again. A batch allocates many thousands of short-lived
        # objects that reference counting frees; collecting the youngest generation every 700
        # allocations (the default) spent a tenth of a batch re-scanning them.
        gc.freeze()
        gc.set_threshold(GC_YOUNGEST, 10, 10)
        try:
            consumer.run()
        finally:
            otel.stop(spec.name)
            relay_stop.set()  # the relay drains what is committed, then returns
            self._relay_thread.join(timeout=60)
            self._relay_thread = None
            producer.flush(10)
            producer.close()
            pool.close()
            if health is not None:
                health.stop()
            log.info("service.stopped", service=spec.name)
        if self._relay_error is not None:
            raise self._relay_error

    def _until_up(self, step: str, action: Callable[[], object]) -> bool:
        """Run ``action`` until it does not fail transiently; False if stopped meanwhile."""
        delays = backoff(cap=5.0)
        while not self.stop.is_set():
            try:
                action()
                return True
            except Exception as exc:
                if not is_transient(exc):
                    raise
                delay = next(delays)
                log.warning("service.waiting_for_database", step=step, error=str(exc)[:200])
                self.stop.wait(delay)
        return False

    def _live(self, relay: OutboxRelay, consumer: BatchConsumer[Any]) -> bool:
        """The relay runs and keeps up, and the consumer loop turns."""
        thread = self._relay_thread
        if self._relay_error is not None or thread is None or not thread.is_alive():
            return False
        if time.monotonic() - consumer.beat > self.settings.liveness_stall_seconds:
            log.error("liveness.stalled", service=self.spec.name)
            return False
        age = relay.oldest_unsent_s
        if age is not None and age > self.settings.liveness_outbox_age_seconds:
            log.error("liveness.outbox_behind", service=self.spec.name, oldest_unsent_s=age)
            return False
        return True

    def _run_relay(self, relay: OutboxRelay) -> None:
        try:
            relay.run()
        except BaseException as exc:
            self._relay_error = exc
            log.exception("relay.failed", error=str(exc))
            self.stop.set()


def run_service(
    wiring: ServiceWiring[Any], settings: Settings, instance_id: str | None = None
) -> None:
    """Run ``wiring`` in this process until SIGTERM or SIGINT."""
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log.info("service.stopping", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    with exit_on_refusal(wiring.spec.name):
        ServiceProcess(wiring, settings, stop, instance_id).run()


def _term_with_parent() -> None:
    # A member outlives no supervisor, however it ends (Linux: PR_SET_PDEATHSIG).
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def run_members(
    argv: Sequence[str],
    processes: int,
    settings: Settings,
    *,
    restart_delay_s: float = 1.0,
    stop_timeout_s: float = 60.0,
) -> None:
    """``processes`` copies of the one-process service ``argv`` as members of its consumer group,
    supervised as one service until SIGTERM or SIGINT.

    Kafka gives each partition to one member, so per-partition order holds as with one process;
    a member that exits is started again (its partitions go to the others meanwhile, and what it
    had not committed comes again: the inbox, or notify_svc's dedupe by notification id, turns
    the overlap into duplicates). Each member gets its own metrics port (the base port + its
    index) and, with static membership, its own ``group.instance.id``. On SIGTERM every member
    finishes its batch (and drains its outbox); the supervisor waits for all of them.
    """
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log.info("service.stopping", signal=signal.Signals(signum).name, members=processes)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    def start(index: int) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        if settings.metrics_port is not None and settings.metrics_port != 0:
            env["LUNAS_METRICS_PORT"] = str(settings.metrics_port + index)
        if settings.kafka_group_instance_id:
            env["LUNAS_KAFKA_GROUP_INSTANCE_ID"] = f"{settings.kafka_group_instance_id}-{index}"
        proc = subprocess.Popen(  # noqa: S603 - argv is this program's own serve command
            list(argv), env=env, stdin=subprocess.DEVNULL, preexec_fn=_term_with_parent
        )
        log.info("service.member_started", member=index, pid=proc.pid)
        return proc

    members = {i: start(i) for i in range(processes)}
    refused = False
    while not refused and not stop.wait(0.5):
        for index, proc in list(members.items()):
            code = proc.poll()
            if code is None:
                continue
            log.warning("service.member_exited", member=index, pid=proc.pid, code=code)
            if code == EXIT_REFUSED:
                # The broker refused what only a setting can change: restarting cannot help.
                refused = True
                break
            if stop.wait(restart_delay_s):
                break
            members[index] = start(index)
    for proc in members.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + stop_timeout_s
    for index, proc in members.items():
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("service.member_killed", member=index, pid=proc.pid)
            proc.kill()
            proc.wait()
    if refused:
        raise SystemExit(EXIT_REFUSED)
