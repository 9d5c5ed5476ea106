"""``lunas run --demo``: the help-centre scenarios published as upstream systems would.

The run loop calls ``tick()`` a few times a second; nothing here blocks for longer than a poll,
so Ctrl-C stops the demo at any moment. Outcomes are read by assignment from the end of the
outcome topics (no consumer group to join), and the demo seller's feed is read over HTTP.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from confluent_kafka import Producer, TopicPartition

from schemas import CONTENT_TYPE_HEADER, MessageInvalid, decode, encode
from schemas import topics as contract_topics
from schemas.examples import load_scenario
from schemas.examples.build import SELLER
from services.common.runtime.records import Record
from services.common.settings import Settings
from services.ops import kafka_io
from services.ops.stack.demo_plan import DEMO_SCENARIOS, DemoBook, Step, plan

OUTCOME_TOPICS = (
    contract_topics.PAYMENT_EVENTS,
    contract_topics.PICKUP_EVENTS,
    contract_topics.PICKUP_CANCEL_DECIDED,
)
DEMO_SELLER = "user:seller-77"
FEED_EVERY_S = 1.0


def demo_steps(tag: str, now: datetime) -> list[Step]:
    """This run's steps: the example commands an upstream would publish, re-id'd with ``tag``."""
    return plan(
        {
            name: [e for e in load_scenario(name, commands_only=True)
                   if not e.source.startswith("/svc/")]  # emitted by lunas itself
            for name in DEMO_SCENARIOS
        },
        tag=tag,
        now=now,
    )  # fmt: skip


def seller_token(settings: Settings, now: datetime) -> str:
    from services.notify_svc.bootstrap import token_keys
    from services.notify_svc.tokens import issue_token

    ttl = timedelta(seconds=settings.feed_token_ttl_seconds)
    return issue_token(token_keys(settings), SELLER, DEMO_SELLER, ttl, now)


@dataclass
class SellerFeed:
    """The demo seller's newest notifications as the feed API serves them."""

    url: str
    token: str
    titles: list[str] = field(default_factory=list)
    unread: int = 0
    error: str | None = None
    _last: float = 0.0

    def refresh(self, now: float, force: bool = False) -> None:
        if not force and now - self._last < FEED_EVERY_S:
            return
        self._last = now
        request = urllib.request.Request(  # noqa: S310 - our loopback feed API
            f"{self.url}/v1/notifications?limit=8",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=1) as response:  # noqa: S310
                page = json.loads(response.read())
        except (OSError, ValueError) as exc:
            self.error = str(exc)
            return
        items: list[dict[str, Any]] = page.get("items", [])
        self.titles = [str(item.get("title", "")) for item in items]
        self.unread = sum(1 for item in items if not item.get("read"))
        self.error = None


class DemoRun:
    """Sends the steps as they become ready and books what comes back."""

    def __init__(
        self,
        settings: Settings,
        steps: list[Step],
        feed: SellerFeed,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.book = DemoBook(steps)
        self.feed = feed
        self._clock = clock
        conf = settings.kafka_config()
        self._producer = Producer({**conf, "enable.idempotence": True, "linger.ms": 0})
        self._consumer = kafka_io.reader(settings, None)
        adm = kafka_io.admin(settings)
        watched = (*OUTCOME_TOPICS, contract_topics.NOTIFICATIONS)
        tps = [(t, p) for t in watched for p in kafka_io.topic_partitions(adm, t)]
        # From where the topics end now: this run's ids are new, nothing earlier can answer them.
        marks = kafka_io.watermarks(self._consumer, tps)
        self._consumer.assign([TopicPartition(t, p, marks[(t, p)][1]) for t, p in tps])
        self.started_at = clock()
        self.first_outcome_at: float | None = None
        self.finished_at: float | None = None

    def tick(self, poll_s: float = 0.1) -> None:
        now = self._clock()
        for state in self.book.ready():
            env = state.step.envelope
            self._producer.produce(
                state.step.topic, value=encode(env), key=state.step.key,
                headers=[CONTENT_TYPE_HEADER],
            )  # fmt: skip
            self.book.sent(state, now)
        self._producer.poll(0)
        for msg in self._consumer.consume(num_messages=200, timeout=poll_s):
            if msg.error() is None:
                self._take(Record.of(msg))
        now = self._clock()
        self.book.expire(now)
        self.feed.refresh(now)
        if self.book.done and self.finished_at is None:
            self.finished_at = now
            self.feed.refresh(now, force=True)

    def settled(self, linger_s: float) -> bool:
        """Every step has its outcome, and ``linger_s`` passed since (notifications come later)."""
        return self.finished_at is not None and self._clock() - self.finished_at >= linger_s

    def _take(self, record: Record) -> None:
        try:
            event = decode(record.value, record.headers)
        except MessageInvalid:
            return
        now = self._clock()
        if record.topic == contract_topics.NOTIFICATIONS:
            data = event.data_dict()
            self.book.notified(str(data.get("source_event_id")), str(data.get("recipient")),
                               str(data.get("title")))  # fmt: skip
        elif self.book.observe(event, now) is not None and self.first_outcome_at is None:
            self.first_outcome_at = now

    def close(self) -> None:
        self._producer.flush(2)
        self._consumer.close()


def new_tag() -> str:
    """A short tag that makes this run's ids and numbers its own."""
    return uuid.uuid4().hex[:6].upper()


def now_utc() -> datetime:
    return datetime.now(UTC)
