"""notify_svc's faust-streaming app: one agent per source topic, each settling records in order.

Built by `create_app` from `Settings` (nothing happens at import time). Agents read raw bytes and
hand them to `RecordProcessor`; acks are manual (`stream.noack()`) and given only once a record is
settled, so a record whose handling was interrupted (SIGTERM, crash, rebalance) is never committed
and comes back. Faust keeps no state of ours: no tables, no changelog, no leader topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import faust
import structlog

from services.common.runtime.retry import backoff
from services.common.settings import Settings
from services.notify_svc.handling import SOURCE_TOPICS, Ports
from services.notify_svc.processing import Interrupted, Record, RecordProcessor
from services.notify_svc.service import SERVICE

log = structlog.get_logger(__name__)

GROUP_ID = SERVICE.group_id
# Short cap: an outage of Redis is noticed within seconds of its end, not after a long back-off.
RETRY_DELAYS = functools.partial(backoff, base=0.2, cap=5.0)


class FaustSink:
    """Produces through the app's own producer and waits for the broker's acknowledgement."""

    def __init__(self, app: faust.App) -> None:
        self._app = app

    async def send(
        self, topic: str, key: bytes | None, value: bytes, headers: Sequence[tuple[str, bytes]]
    ) -> None:
        await self._app.producer.send_and_wait(topic, key, value, None, None, list(headers))


@dataclass
class Gate:
    """Tracks records in hand so a shutdown can let them finish before the app stops."""

    _busy: int = 0
    _idle: asyncio.Event = field(default_factory=asyncio.Event)
    _closing: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self._idle.set()

    @property
    def closing(self) -> bool:
        return self._closing.is_set()

    async def pause(self, seconds: float) -> None:
        """Sleep between retries, cut short by a shutdown."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    @asynccontextmanager
    async def holding(self) -> AsyncIterator[None]:
        self._busy += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._busy -= 1
            if self._busy == 0:
                self._idle.set()

    async def close(self, timeout: float) -> bool:
        """Take no new records; True when those in hand settled within `timeout` seconds (a
        record waiting for Redis or the broker gives up at once and stays unacked)."""
        self._closing.set()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True


@dataclass
class NotifyApp:
    """The faust app and the parts a process runner needs to start and stop it cleanly."""

    faust: faust.App
    processor: RecordProcessor
    gate: Gate
    topics: tuple[str, ...]

    async def start(self) -> None:
        await self.faust.start()

    async def stop(self, drain_timeout: float = 30.0) -> None:
        """Finish the records in hand (bounded), commit what is settled, stop consuming."""
        drained = await self.gate.close(drain_timeout)
        if not drained:
            log.warning("notify.drain_timeout", seconds=drain_timeout)
        await self.faust.stop()


def _record(message: Any) -> Record:
    timestamp = message.timestamp
    headers = message.headers or ()
    if isinstance(headers, dict):
        headers = list(headers.items())
    return Record(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        timestamp_ms=int(timestamp * 1000) if timestamp is not None else None,
        key=message.key,
        value=message.value,
        headers=tuple((str(k), bytes(v or b"")) for k, v in headers),
    )


def _agent_body(processor: RecordProcessor, gate: Gate) -> Callable[[Any], Any]:
    async def settle_each(stream: Any) -> None:
        manual = stream.noack()  # ack only what is settled; faust would ack on any exit
        async for event in manual.events():
            if gate.closing:
                # Shutting down: leave this record unacked (it is redelivered) and wait to be
                # cancelled by the app's stop.
                await asyncio.Event().wait()
            try:
                async with gate.holding():
                    await processor.process(_record(event.message))
            except Interrupted:
                await asyncio.Event().wait()  # unacked; the app's stop cancels us
            await manual.ack(event)

    return settle_each


def broker_credentials(settings: Settings) -> Any:
    """Faust's credentials for the app's consumer and producer, from the same settings (and the
    same TLS context) as every other aiokafka client."""
    context = settings.kafka_ssl_context()
    if settings.kafka_uses_sasl:
        password = settings.kafka_sasl_password
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=password.get_secret_value() if password is not None else None,
            ssl_context=context,
            mechanism=settings.kafka_sasl_mechanism or "PLAIN",
        )
    return faust.SSLCredentials(context) if context is not None else None


def _faust_app(settings: Settings) -> faust.App:
    if not settings.kafka_bootstrap_servers:
        raise RuntimeError("LUNAS_KAFKA_BOOTSTRAP_SERVERS is not set and no embedded broker runs")
    session = settings.kafka_session_timeout_ms / 1000
    return faust.App(
        GROUP_ID,  # the app id is faust's consumer group id
        broker=[f"kafka://{s.strip()}" for s in settings.kafka_bootstrap_servers.split(",")],
        broker_credentials=broker_credentials(settings),
        broker_session_timeout=session,
        broker_heartbeat_interval=max(0.1, session / 4),
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=False,
        topic_allow_declare=False,  # `ensure_topics` owns topic creation
        topic_disable_leader=True,  # no `<id>-__assignor-__leader` topic to declare
        # A record retried for minutes must not stall a rebalance waiting for streams to empty.
        stream_wait_empty=False,
        datadir=str((settings.data_dir / "notify").resolve()),
        store="memory://",
        autodiscover=False,
    )


def create_app(
    settings: Settings,
    ports: Ports,
    *,
    topics: tuple[str, ...] = SOURCE_TOPICS,
    retry_delays: Callable[[], Iterator[float]] = RETRY_DELAYS,
) -> NotifyApp:
    """The notify app writing through `ports`, consuming `topics` in consumer group `lunas.notify`.

    Notifications and dead letters are produced through the app's own producer; `retry_delays`
    yields the waits between attempts while Redis or the broker is away.
    """
    app = _faust_app(settings)
    gate = Gate()
    processor = RecordProcessor(
        ports,
        FaustSink(app),
        delays=retry_delays,
        sleep=gate.pause,
        stopping=lambda: gate.closing,
    )
    for topic in topics:
        channel = app.topic(
            topic, key_serializer="raw", value_serializer="raw", allow_empty=True, acks=True
        )
        app.agent(channel, name=f"{GROUP_ID}.{topic}", concurrency=1)(_agent_body(processor, gate))
    return NotifyApp(app, processor, gate, topics)
