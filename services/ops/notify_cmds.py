"""`lunas token` (feed API tokens) and `lunas feed rebuild` (refill Redis feeds from a replay).

Mounted by `services/ops/cli.py` as `app.add_typer(token_app, name="token")` and
`app.add_typer(feed_app, name="feed")`.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import structlog
import typer
from aiokafka import AIOKafkaConsumer, TopicPartition  # type: ignore[import-untyped]

from schemas import MessageInvalid, decode
from schemas import topics as contract_topics
from services.common.settings import Settings
from services.notify_svc.bootstrap import feed_store, token_keys
from services.notify_svc.feed_store import FeedStore
from services.notify_svc.model import Notification
from services.notify_svc.tokens import TokenConfigError, issue_token
from services.notify_svc.web import app_link
from services.ops import console

log = structlog.get_logger(__name__)

token_app = typer.Typer(no_args_is_help=True, add_completion=False, help="Feed API tokens.")
feed_app = typer.Typer(no_args_is_help=True, add_completion=False, help="Notification feeds.")


def _settings() -> Settings:
    return console.settings()


@token_app.callback()
def _token_group() -> None:
    """Feed API bearer tokens (JWT, HS256), signed with LUNAS_FEED_TOKEN_SECRET."""


@token_app.command("issue")
def issue(
    tenant: Annotated[str, typer.Option(help="tenant (distributor / seller account)")],
    user: Annotated[
        str, typer.Option(help="feed recipient: `user:<id>`, `admin:<id>` or `tenant:<tenantid>`")
    ],
    ttl: Annotated[
        int | None,
        typer.Option(min=1, help="seconds valid [default: LUNAS_FEED_TOKEN_TTL_SECONDS]"),
    ] = None,
    url: Annotated[
        bool, typer.Option("--url", help="print the notification page's link with the token")
    ] = False,
    base_url: Annotated[
        str | None,
        typer.Option(help="feed API address for --url [default: LUNAS_FEED_API_HOST and _PORT]"),
    ] = None,
) -> None:
    """Print a bearer token for USER of TENANT (exit 2 without a usable secret)."""
    # Nothing to log: the token on stdout is the whole output.
    settings = console.settings(configure=False)
    seconds = ttl if ttl is not None else settings.feed_token_ttl_seconds
    try:
        keys = token_keys(settings)
    except TokenConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        token = issue_token(
            keys,
            tenant,
            user,
            timedelta(seconds=seconds),
            datetime.now(UTC),
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if url:
        base = base_url or f"http://{settings.feed_api_host}:{settings.feed_api_port}"
        typer.echo(app_link(base, token))
    else:
        typer.echo(token)


@feed_app.callback()
def _feed_group() -> None:
    """The per-recipient notification feeds in Redis."""


@dataclass
class RebuildCounts:
    """What a rebuild read and did; `stored` + `already_present` = notifications applied."""

    read: int = 0
    stored: int = 0
    already_present: int = 0
    skipped_invalid: int = 0


@feed_app.command("rebuild")
def rebuild(
    idle: Annotated[
        float,
        typer.Option(min=0.5, help="stop once the end is reached and nothing came for S seconds"),
    ] = 3.0,
) -> None:
    """Replay topic `notifications` from the beginning into the feeds (idempotent).

    For when Redis lost its data: notifications already in a feed are left as they are (read
    state included); restored ones come back unread. Prints the counts as one JSON line.
    """
    settings = _settings()
    counts = asyncio.run(rebuild_feeds(settings, idle_seconds=idle))
    typer.echo(json.dumps(asdict(counts)))


async def rebuild_feeds(settings: Settings, *, idle_seconds: float = 3.0) -> RebuildCounts:
    """Add every notification on `notifications` to its feed; returns what was done."""
    store, client = feed_store(settings)
    consumer = AIOKafkaConsumer(
        **settings.aiokafka_config(),
        group_id=None,  # a reader, not a member: commits nothing, joins no group
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    counts = RebuildCounts()
    await consumer.start()
    try:
        partitions = await _partitions(consumer, contract_topics.NOTIFICATIONS)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        await _replay(consumer, partitions, store, counts, idle_seconds)
    finally:
        await consumer.stop()
        await client.aclose()
    log.info("feed.rebuilt", **asdict(counts))
    return counts


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    await consumer.topics()  # fetches cluster metadata
    numbers = consumer.partitions_for_topic(topic)
    if not numbers:
        raise RuntimeError(f"topic {topic!r} does not exist on the broker")
    return [TopicPartition(topic, n) for n in sorted(numbers)]


async def _replay(
    consumer: AIOKafkaConsumer,
    partitions: list[TopicPartition],
    store: FeedStore,
    counts: RebuildCounts,
    idle_seconds: float,
) -> None:
    # The embedded broker's end offsets can read low by up to a batch (docs/ARCHITECTURE.md
    # "Wire contract"), so reaching them is necessary but not sufficient: also wait until nothing
    # more arrives for a while.
    last_record = time.monotonic()
    while True:
        batches = await consumer.getmany(timeout_ms=500, max_records=500)
        for records in batches.values():
            for record in records:
                await _apply(record.value, record.headers, store, counts)
                last_record = time.monotonic()
        if time.monotonic() - last_record < idle_seconds:
            continue
        ends = await consumer.end_offsets(partitions)
        positions = [await _position(consumer, tp) for tp in partitions]
        if all(pos >= ends[tp] for pos, tp in zip(positions, partitions, strict=True)):
            return


async def _position(consumer: AIOKafkaConsumer, tp: TopicPartition) -> int:
    return int(await consumer.position(tp))


async def _apply(
    value: bytes | None,
    headers: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...] | None,
    store: FeedStore,
    counts: RebuildCounts,
) -> None:
    counts.read += 1
    try:
        envelope = decode(value, list(headers or ()))
        if envelope.type != "notification.created":
            raise ValueError(f"unexpected type {envelope.type}")
        notification = Notification.from_wire(envelope.data_dict())
    except (MessageInvalid, ValueError, KeyError, TypeError) as exc:
        # Nothing on this topic is written by anyone but notify_svc; count it, do not stop on it.
        counts.skipped_invalid += 1
        log.warning("feed.rebuild_skipped", error=str(exc)[:300])
        return
    if await store.add(notification):
        counts.stored += 1
    else:
        counts.already_present += 1
