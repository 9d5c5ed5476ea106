"""The topics of the contract and their dead-letter topics: created idempotently with an explicit
retention per kind, and checked where they already exist (docs/KAFKA.md, "Topics").

`ensure_topics_for` creates what is missing; `check_topics` says where an existing topic has
fewer partitions or a shorter retention than configured; `fix_topics` raises what Kafka can
raise (partitions can be added, never removed; retention can be changed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
    ResourceType,
)

from schemas import topics as contract_topics

if TYPE_CHECKING:
    from services.common.settings import Settings

RETENTION_MS = "retention.ms"
FOREVER = -1  # Kafka's "keep every record"


class TopicKind(StrEnum):
    commands = "commands"
    events = "events"
    dlq = "dlq"
    notifications = "notifications"


# What each topic is; a retention setting per kind (LUNAS_TOPIC_RETENTION_<KIND>_MS).
_COMMANDS = {
    contract_topics.PAYMENT_COMMANDS,
    contract_topics.PICKUP_COMMANDS,
    contract_topics.PICKUP_CANCEL_REQUESTED,
}
_EVENTS = {
    contract_topics.PAYMENT_EVENTS,
    contract_topics.PICKUP_EVENTS,
    contract_topics.PICKUP_CANCEL_DECIDED,
}

DAY_MS = 24 * 3600 * 1000
# The defaults of the settings (services/common/settings.py), used where no Settings is at hand.
DEFAULT_RETENTION_MS: Mapping[TopicKind, int] = {
    TopicKind.commands: 30 * DAY_MS,
    TopicKind.events: 90 * DAY_MS,
    TopicKind.dlq: 30 * DAY_MS,
    TopicKind.notifications: FOREVER,
}


def all_topic_names() -> list[str]:
    names = list(contract_topics.ALL_TOPICS)
    return names + [contract_topics.dlq_topic(t) for t in names]


def topic_kind(name: str) -> TopicKind:
    if name.endswith(".dlq"):
        return TopicKind.dlq
    if name == contract_topics.NOTIFICATIONS:
        return TopicKind.notifications
    if name in _COMMANDS:
        return TopicKind.commands
    if name in _EVENTS:
        return TopicKind.events
    raise ValueError(f"{name!r} is not a topic of the contract")


def topic_configs(
    name: str, retention: Mapping[TopicKind, int] = DEFAULT_RETENTION_MS
) -> dict[str, str]:
    """The topic-level configuration lunas sets on `name` when it creates it."""
    return {RETENTION_MS: str(retention[topic_kind(name)])}


def ensure_topics(
    kafka_conf: dict[str, Any],
    partitions: int,
    replication_factor: int = 1,
    names: list[str] | None = None,
    timeout: float = 30.0,
    retention: Mapping[TopicKind, int] = DEFAULT_RETENTION_MS,
) -> list[str]:
    """Create the topics that do not exist yet; return the names created now."""
    admin = AdminClient(kafka_conf)
    wanted = names if names is not None else all_topic_names()
    existing = set(admin.list_topics(timeout=timeout).topics)
    missing = [n for n in wanted if n not in existing]
    if not missing:
        return []
    futures = admin.create_topics(
        [
            NewTopic(
                n,
                num_partitions=partitions,
                replication_factor=replication_factor,
                config=_configs_of(n, retention),
            )
            for n in missing
        ],
        operation_timeout=timeout,
        request_timeout=timeout,
    )
    created: list[str] = []
    for name, future in futures.items():
        try:
            future.result()
            created.append(name)
        except KafkaException as exc:
            # Another process created it between our listing and our request: that is fine.
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    return created


def _configs_of(name: str, retention: Mapping[TopicKind, int]) -> dict[str, str]:
    try:
        return topic_configs(name, retention)
    except ValueError:
        return {}  # a topic outside the contract (tests): the broker's defaults


def ensure_topics_for(settings: Settings, timeout: float = 30.0) -> list[str]:
    """`ensure_topics` with the partitions, replication and retention of `settings`."""
    return ensure_topics(
        settings.kafka_config(),
        settings.topic_partitions,
        settings.topic_replication_factor,
        timeout=timeout,
        retention=settings.topic_retention_ms(),
    )


@dataclass(frozen=True)
class TopicProblem:
    """An existing topic that does not have what lunas configured, and the fix."""

    topic: str
    problem: str
    fix: str

    def line(self) -> str:
        return f"{self.topic}: {self.problem}; fix: {self.fix}"


def _retention_shorter(actual: int, wanted: int) -> bool:
    if actual == FOREVER:
        return False
    return wanted == FOREVER or actual < wanted


def _retention_text(ms: int) -> str:
    if ms == FOREVER:
        return "forever"
    days, rest = divmod(ms, DAY_MS)
    return f"{days} d" if rest == 0 else f"{ms} ms"


def check_topics(settings: Settings, timeout: float = 30.0) -> list[TopicProblem]:
    """Each contract topic missing, with fewer partitions than `LUNAS_TOPIC_PARTITIONS`, or
    keeping records for less than its `LUNAS_TOPIC_RETENTION_<KIND>_MS`."""
    admin = AdminClient(settings.kafka_config())
    metadata = admin.list_topics(timeout=timeout).topics
    wanted_retention = settings.topic_retention_ms()
    problems: list[TopicProblem] = []
    present: list[str] = []
    for name in all_topic_names():
        meta = metadata.get(name)
        if meta is None or meta.error is not None:
            problems.append(TopicProblem(name, "does not exist", "lunas topics"))
            continue
        present.append(name)
        have = len(meta.partitions)
        if have < settings.topic_partitions:
            problems.append(
                TopicProblem(
                    name,
                    f"{have} partitions, LUNAS_TOPIC_PARTITIONS is {settings.topic_partitions}",
                    "lunas topics --fix",
                )
            )
    for name, actual in _retentions(admin, present, timeout).items():
        wanted = wanted_retention[topic_kind(name)]
        if actual is not None and _retention_shorter(actual, wanted):
            setting = f"LUNAS_TOPIC_RETENTION_{topic_kind(name).name.upper()}_MS"
            problems.append(
                TopicProblem(
                    name,
                    f"retention {_retention_text(actual)}, {setting} is {_retention_text(wanted)}",
                    "lunas topics --fix",
                )
            )
    return problems


def _retentions(admin: AdminClient, names: list[str], timeout: float) -> dict[str, int | None]:
    """`retention.ms` in force on each topic (None where the broker does not say)."""
    if not names:
        return {}
    resources = [ConfigResource(ResourceType.TOPIC, n) for n in names]
    found: dict[str, int | None] = {}
    for resource, future in admin.describe_configs(resources, request_timeout=timeout).items():
        try:
            entry = future.result().get(RETENTION_MS)
        except KafkaException:
            entry = None
        value = entry.value if entry is not None else None
        found[resource.name] = int(value) if value not in (None, "") else None
    return found


def fix_topics(settings: Settings, timeout: float = 30.0) -> tuple[list[str], list[str]]:
    """Create missing topics, add partitions up to `LUNAS_TOPIC_PARTITIONS`, and set the
    configured retention where it is shorter. Returns (changes made, changes the broker refused),
    one line each. Added partitions move keys to other partitions: run it while the producers
    are stopped and the consumers have caught up (docs/KAFKA.md)."""
    done = [f"{n}: created" for n in ensure_topics_for(settings, timeout)]
    refused: list[str] = []
    admin = AdminClient(settings.kafka_config())
    problems = check_topics(settings, timeout)
    grow = [p.topic for p in problems if "partitions" in p.problem]
    if grow:
        futures = admin.create_partitions(
            [NewPartitions(n, settings.topic_partitions) for n in grow],
            operation_timeout=timeout,
            request_timeout=timeout,
        )
        for name, future in futures.items():
            _settle(
                future, f"{name}: partitions raised to {settings.topic_partitions}", done, refused
            )
    wanted = settings.topic_retention_ms()
    longer = [p.topic for p in problems if p.problem.startswith("retention")]
    if longer:
        resources = [
            ConfigResource(
                ResourceType.TOPIC,
                n,
                incremental_configs=[
                    ConfigEntry(
                        RETENTION_MS,
                        str(wanted[topic_kind(n)]),
                        incremental_operation=AlterConfigOpType.SET,
                    )
                ],
            )
            for n in longer
        ]
        altered = admin.incremental_alter_configs(resources, request_timeout=timeout)
        for resource, future in altered.items():
            retention = _retention_text(wanted[topic_kind(resource.name)])
            _settle(future, f"{resource.name}: retention set to {retention}", done, refused)
    return done, refused


def _settle(future: Any, line: str, done: list[str], refused: list[str]) -> None:
    try:
        future.result()
    except KafkaException as exc:
        refused.append(f"{line.split(':', 1)[0]}: not changed: {exc.args[0].str()}")
    else:
        done.append(line)
