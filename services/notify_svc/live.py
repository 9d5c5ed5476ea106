"""Live notifications for the feed API's open streams: one Redis subscription per process.

`LiveFeeds` holds a single pattern subscription (`feed_store.LIVE_PATTERN`) on a connection of
its own and fans each published notification out, in memory, to the streams open for that feed.
A stream holds no Redis connection, only a bounded queue:
- a stream whose queue is full (its client reads slower than its feed grows) is dropped: it gets
  `Dropped` and ends, rather than buffering without limit;
- each reader (tenant, user) may hold `per_reader` streams, the process `max_streams`
  (`StreamRefused` beyond either), so one token cannot take what every other reader needs;
- when the subscription is lost (Redis restarted, network cut) it is re-established with backoff,
  and every open stream then gets `Resync`: what was published while it was away is not
  delivered (Pub/Sub is at-most-once), so the client re-reads its feed page. Nothing published
  after `Resync` (or after a stream opened while subscribed) is missed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.notify_svc.feed_store import LIVE_PATTERN, live_channel, live_notification
from services.notify_svc.model import Notification

log = structlog.get_logger(__name__)

# notify_svc writes a batch at a time: one batch may put hundreds of notifications into one feed
# within milliseconds (up to LUNAS_NOTIFY_BATCH_MAX, 500 by default); a reader that keeps up must
# not be dropped for that burst alone.
QUEUE_SIZE = 512
READ_TIMEOUT_S = 1.0
BACKOFF_FIRST_S = 0.1
BACKOFF_MAX_S = 5.0


@dataclass(frozen=True, slots=True)
class Resync:
    """The subscription was re-established: notifications may have been missed, re-read the feed."""


@dataclass(frozen=True, slots=True)
class Dropped:
    """The stream was closed by the server (`reason`); the client may reconnect."""

    reason: str


Signal = Notification | Resync | Dropped


class StreamRefused(Exception):
    """No stream opened: the reader holds its share (`per_reader`) or the process is full."""

    def __init__(self, limit: Literal["per_reader", "process"], cap: int) -> None:
        super().__init__(f"{limit} stream limit {cap} reached")
        self.limit = limit
        self.cap = cap


@dataclass(eq=False)
class LiveStream:
    """What one open stream receives; `close` it when the stream ends."""

    reader: tuple[str, str]
    channel: str
    _owner: LiveFeeds
    _queue: asyncio.Queue[Signal] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    _dropped: Dropped | None = None

    async def next(self, timeout: float) -> Signal | None:
        """The next signal, or None when `timeout` seconds pass without one."""
        if self._dropped is not None:
            return self._dropped
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None

    async def next_ready(self, timeout: float) -> list[Signal]:
        """The next signal and every one already queued behind it, in order (a batch of
        notify_svc puts many into a feed at once: the stream writes them together); empty when
        `timeout` seconds pass without one. Nothing follows a `Dropped`."""
        first = await self.next(timeout)
        if first is None:
            return []
        ready = [first]
        while not isinstance(ready[-1], Dropped) and not self._queue.empty():
            ready.append(self._queue.get_nowait())
        return ready

    def offer(self, item: Signal) -> bool:
        """Queue `item`; False when a full queue dropped the stream just now (it ends instead of
        growing). A stream already dropped ignores what comes after."""
        if self._dropped is not None:
            return True
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.drop("the stream fell too far behind; re-read the feed and reconnect")
            return False
        return True

    def drop(self, reason: str) -> None:
        self._dropped = Dropped(reason)
        while not self._queue.empty():  # nothing more is delivered: free what was buffered
            self._queue.get_nowait()
        self._queue.put_nowait(self._dropped)  # wakes a reader waiting in `next`

    def close(self) -> None:
        self._owner.release(self)


class LiveFeeds:
    """The process's one subscription and the streams it feeds; run it with `running()`.

    `redis` is the subscription's own client: `running()` closes it when it ends, after the
    subscription stopped (closing a pool under a pubsub that is still reading can deadlock in
    redis-py, redis/redis-py#3941), so it must not be shared with request traffic.
    """

    def __init__(self, redis: Redis, *, per_reader: int, max_streams: int) -> None:
        if per_reader < 1 or max_streams < 1:
            raise ValueError("stream limits must be at least 1")
        self._redis = redis
        self.per_reader = per_reader
        self.max_streams = max_streams
        self._by_channel: dict[str, set[LiveStream]] = {}
        self._by_reader: dict[tuple[str, str], int] = {}
        self._open = 0
        self._subscribed = asyncio.Event()
        self._ever_subscribed = False
        self.resubscriptions = 0
        self.dropped = 0

    @property
    def open_streams(self) -> int:
        return self._open

    @property
    def subscribed(self) -> bool:
        return self._subscribed.is_set()

    async def wait_subscribed(self, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), timeout)
        return self._subscribed.is_set()

    def open(self, tenantid: str, recipient: str) -> LiveStream:
        """A stream for this reader, registered at once (so nothing published from now on is
        missed while subscribed); `StreamRefused` when a limit is reached."""
        reader = (tenantid, recipient)
        if self._by_reader.get(reader, 0) >= self.per_reader:
            raise StreamRefused("per_reader", self.per_reader)
        if self._open >= self.max_streams:
            raise StreamRefused("process", self.max_streams)
        stream = LiveStream(reader, live_channel(tenantid, recipient), self)
        self._by_channel.setdefault(stream.channel, set()).add(stream)
        self._by_reader[reader] = self._by_reader.get(reader, 0) + 1
        self._open += 1
        return stream

    def release(self, stream: LiveStream) -> None:
        streams = self._by_channel.get(stream.channel)
        if streams is None or stream not in streams:
            return  # released already
        streams.discard(stream)
        if not streams:
            del self._by_channel[stream.channel]
        left = self._by_reader[stream.reader] - 1
        if left:
            self._by_reader[stream.reader] = left
        else:
            del self._by_reader[stream.reader]
        self._open -= 1

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Subscribe (and keep re-subscribing) while the block runs."""
        task = asyncio.create_task(self._run(), name="feed-live-subscription")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await self._redis.aclose()

    async def _run(self) -> None:
        backoff = BACKOFF_FIRST_S
        while True:
            try:
                await self._session()
            except (RedisError, OSError) as exc:
                # A session that had subscribed starts the backoff over; failed attempts double it.
                backoff = BACKOFF_FIRST_S if self.subscribed else min(backoff * 2, BACKOFF_MAX_S)
                self._subscribed.clear()
                log.warning("feed_live.subscription_lost", error=repr(exc), retry_in_s=backoff)
            await asyncio.sleep(backoff)

    async def _session(self) -> None:
        pubsub = self._redis.pubsub()
        try:
            await pubsub.psubscribe(LIVE_PATTERN)
            while True:
                message = await pubsub.get_message(timeout=READ_TIMEOUT_S)
                if message is not None:
                    self._on(message)
                    # Messages already read return without suspending: let the streams take
                    # what they were given before the next one, or a burst piles up unread.
                    await asyncio.sleep(0)
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # untyped in redis-py 8

    def _on(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "psubscribe":
            self._on_subscribed()
        elif kind == "pmessage":
            channel = message["channel"]
            self._deliver(channel.decode() if isinstance(channel, bytes) else str(channel), message)

    def _on_subscribed(self) -> None:
        # Also seen when redis-py re-subscribed a dropped connection by itself.
        if self._ever_subscribed:
            self.resubscriptions += 1
            log.info("feed_live.resubscribed", open_streams=self._open)
            for streams in self._by_channel.values():
                for stream in list(streams):
                    self._offer(stream, Resync())
        self._ever_subscribed = True
        self._subscribed.set()

    def _deliver(self, channel: str, message: dict[str, Any]) -> None:
        streams = self._by_channel.get(channel)
        if not streams:
            return
        try:
            notification = live_notification(message["data"])
        except (KeyError, TypeError, ValueError) as exc:
            log.error("feed_live.unreadable_message", channel=channel, error=repr(exc))
            return
        for stream in list(streams):
            self._offer(stream, notification)

    def _offer(self, stream: LiveStream, item: Signal) -> None:
        if not stream.offer(item):
            self.dropped += 1
            log.info("feed_live.stream_dropped", tenant=stream.reader[0], reason="queue full")
