"""notify_svc's faust-streaming app: one agent per source topic, settling a batch at a time.

Built by `create_app` from `Settings` (nothing happens at import time). Each agent takes batches
of raw records from its stream (`noack_take`: at most `notify_batch_max` records, waiting at most
`notify_batch_wait_ms` for a batch to fill), in the order they arrived, so each partition's and
each key's order is kept, and hands each batch to `BatchProcessor`. Acks are manual and given only
once the whole batch is settled, so a batch whose handling was interrupted (SIGTERM, crash,
rebalance) is never committed and comes back. Faust keeps no state of ours: no tables, no
changelog, no leader topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import faust
import structlog
from faust.transport.drivers import aiokafka as aiokafka_driver

from services.common.kafka_refusal import BrokerRefusal
from services.common.runtime.records import Record
from services.common.runtime.retry import backoff
from services.common.settings import Settings
from services.notify_svc.broker_refusal import pending_refusal, start_watching
from services.notify_svc.handling import SOURCE_TOPICS, Ports
from services.notify_svc.partitioner import partition
from services.notify_svc.processing import BatchProcessor, Interrupted, Outgoing
from services.notify_svc.service import SERVICE

log = structlog.get_logger(__name__)

GROUP_ID = SERVICE.group_id
# Short cap: an outage of Redis is noticed within seconds of its end, not after a long back-off.
RETRY_DELAYS = functools.partial(backoff, base=0.2, cap=5.0)


class FaustSink:
    """Produces through the app's own producer: a batch's records are all handed to the producer
    first, then their acknowledgements are awaited together."""

    def __init__(self, app: faust.App) -> None:
        self._app = app

    async def send_all(self, records: Sequence[Outgoing]) -> None:
        producer = self._app.producer
        pending = [
            await producer.send(r.topic, r.key, r.value, None, None, list(r.headers))
            for r in records
        ]
        # Every acknowledgement awaited, the first failure raised once all are in (a gather
        # would cost a callback per record; after the first, most are done already).
        failed: BaseException | None = None
        for ack in pending:
            try:
                await ack
            except Exception as exc:  # noqa: BLE001 - raised below, once every ack is in
                failed = failed or exc
        if failed is not None:
            raise failed


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
        """While a batch is in hand."""
        self._busy += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._busy -= 1
            if self._busy == 0:
                self._idle.set()

    async def close(self, timeout: float) -> bool:
        """Take no new batches; True when those in hand settled within `timeout` seconds (a
        batch waiting for Redis or the broker gives up at once and stays unacked)."""
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
    processor: BatchProcessor
    gate: Gate
    topics: tuple[str, ...]

    async def start(self) -> None:
        """Start consuming; a broker refusal met while joining is raised (`BrokerRefusal`)."""
        await start_watching(self.faust)

    def refusal(self) -> BrokerRefusal | None:
        """A broker refusal the running consumer holds (retrying cannot fix it), if any."""
        return pending_refusal(self.faust)

    async def stop(self, drain_timeout: float = 30.0) -> None:
        """Finish the records in hand (bounded), commit what is settled, stop consuming."""
        drained = await self.gate.close(drain_timeout)
        if not drained:
            log.warning("notify.drain_timeout", seconds=drain_timeout)
        await self.faust.stop()


def _record(message: Any) -> Record:
    """The runtime's record of a consumed aiokafka message (faust's `Message`)."""
    timestamp = message.timestamp
    headers = message.headers or ()
    if isinstance(headers, dict):
        headers = list(headers.items())
    return Record(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        headers=tuple((str(k), bytes(v or b"")) for k, v in headers),
        timestamp_ms=int(timestamp * 1000) if timestamp is not None else None,
    )


def _agent_body(
    processor: BatchProcessor, gate: Gate, batch_max: int, batch_wait: float
) -> Callable[[Any], Any]:
    async def settle_batches(stream: Any) -> None:
        # `noack_take` acks nothing itself: only what is settled is acked, by us.
        async for events in stream.noack_take(batch_max, within=batch_wait):
            if gate.closing:
                # Shutting down: leave this batch unacked (it is redelivered) and wait to be
                # cancelled by the app's stop.
                await asyncio.Event().wait()
            try:
                async with gate.holding():
                    await processor.process([_record(event.message) for event in events])
            except Interrupted:
                await asyncio.Event().wait()  # unacked; the app's stop cancels us
            for event in events:
                await stream.ack(event)

    return settle_batches


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


# A batch's notifications go in a request or two per broker, not in one per 16 KiB of each
# partition (faust's default): aiokafka keeps one request in flight per broker, so small record
# batches mean round trip after round trip before a batch is acknowledged. Below a stock
# broker's 1 MB limit on a record batch.
PRODUCER_MAX_BATCH_BYTES = 512 * 1024

# An idle consumer hears of a new record within milliseconds, as the runtime's do: faust asks
# aiokafka for fetches that wait up to 1.5 s, and a broker that holds a fetch that long while
# records arrive (the embedded Tansu does) would add it to every notification's delay.
FETCH_MAX_WAIT_MS = 10

# What the consumer holds fetched ahead of the agents, bounded: aiokafka asks for up to 50 MiB a
# fetch (1 MiB a partition) and hands faust every record it holds at once, so a backlog on 24
# source partitions was tens of MiB of raw fetches and their decoded records in the heap.
# A record larger than either limit still comes (a broker returns the first record batch
# whole); ~1 MiB of records a fetch is ~1,000 source events, well above a member's rate per
# fetch round trip.
FETCH_MAX_BYTES = 1024 * 1024
FETCH_PARTITION_BYTES = 256 * 1024


class _ConsumerThread(aiokafka_driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Read by its fetcher at start(); faust passes neither.
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        consumer._fetch_max_bytes = FETCH_MAX_BYTES
        return consumer


class _Consumer(aiokafka_driver.Consumer):
    def _new_consumer_thread(self) -> aiokafka_driver.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _Transport(aiokafka_driver.Transport):
    Consumer = _Consumer


class _App(faust.App):
    """faust's app on aiokafka with short fetch waits (`FETCH_MAX_WAIT_MS`)."""

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self, loop=self.loop)


def _faust_app(settings: Settings) -> faust.App:
    if not settings.kafka_bootstrap_servers:
        raise RuntimeError("LUNAS_KAFKA_BOOTSTRAP_SERVERS is not set and no embedded broker runs")
    session = settings.kafka_session_timeout_ms / 1000
    return _App(
        GROUP_ID,  # the app id is faust's consumer group id
        broker=[f"kafka://{s.strip()}" for s in settings.kafka_bootstrap_servers.split(",")],
        broker_credentials=broker_credentials(settings),
        broker_session_timeout=session,
        broker_heartbeat_interval=max(0.1, session / 4),
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_max_batch_size=PRODUCER_MAX_BATCH_BYTES,
        consumer_max_fetch_size=FETCH_PARTITION_BYTES,
        # Records faust takes from the consumer per poll: an agent's batch, not all it holds.
        broker_max_poll_records=settings.notify_batch_max,
        # aiokafka's partitions for every key, at under half its hashing cost per record.
        producer_partitioner=partition,
        # What faust reads ahead of the agents: two batches per stream, not 4096 records (memory
        # that grows with a backlog; the agents take `notify_batch_max` at a time).
        stream_buffer_maxsize=2 * settings.notify_batch_max,
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


def _log_assigned(sender: Any, *args: Any, signal: Any, **kwargs: Any) -> None:
    """faust's ``on_partitions_assigned`` signal: (app, assigned partitions)."""
    (assigned,) = args
    log.info(
        "consumer.assigned",
        pid=os.getpid(),  # which member of a ``--processes N`` service
        partitions=sorted((tp.topic, tp.partition) for tp in assigned),
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
    processor = BatchProcessor(
        ports,
        FaustSink(app),
        delays=retry_delays,
        sleep=gate.pause,
        stopping=lambda: gate.closing,
    )
    # mypy cannot match a handler against mode's union of handler types; this one is its first.
    app.on_partitions_assigned.connect(cast(Any, _log_assigned))
    for topic in topics:
        channel = app.topic(
            topic, key_serializer="raw", value_serializer="raw", allow_empty=True, acks=True
        )
        body = _agent_body(
            processor, gate, settings.notify_batch_max, settings.notify_batch_wait_ms / 1000
        )
        app.agent(channel, name=f"{GROUP_ID}.{topic}", concurrency=1)(body)
    return NotifyApp(app, processor, gate, topics)
