"""All configuration of lunas: environment variables with the prefix ``LUNAS_``.

Nothing below this module reads ``os.environ``; the composition roots build one ``Settings``
and hand the parts down.
"""

from __future__ import annotations

import ssl
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.logging import LibrdkafkaLog
from services.common.topics import TopicKind

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class Settings(BaseSettings):
    """Every setting of every lunas process; unset URLs mean "start an embedded one"."""

    model_config = SettingsConfigDict(env_prefix="LUNAS_", extra="ignore")

    kafka_bootstrap_servers: str | None = None
    kafka_security_protocol: SecurityProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: SaslMechanism | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_ca_location: str | None = None
    # A client certificate and key (PEM) for brokers that authenticate clients by TLS (mTLS).
    kafka_ssl_certificate_location: str | None = None
    kafka_ssl_key_location: str | None = None
    kafka_session_timeout_ms: int = Field(default=6000, ge=1000)
    # Static group membership: a restarted instance with the same id skips a rebalance.
    kafka_group_instance_id: str | None = None
    topic_partitions: int = Field(default=6, ge=1)
    topic_replication_factor: int = Field(default=1, ge=1)
    # How long each kind of topic keeps its records (ms; -1 keeps them for ever), set when lunas
    # creates a topic and checked by `lunas status` / `verify` (docs/KAFKA.md, "Topics"). A replay
    # reaches back only as far as a topic keeps: commands a month (replays after a fix), events a
    # quarter (notify_svc and downstream readers catch up or replay), dead letters a month (time to
    # redrive), notifications for ever (`lunas feed rebuild` restores every feed from them).
    topic_retention_commands_ms: int = Field(default=30 * 86_400_000, ge=-1)
    topic_retention_events_ms: int = Field(default=90 * 86_400_000, ge=-1)
    topic_retention_dlq_ms: int = Field(default=30 * 86_400_000, ge=-1)
    topic_retention_notifications_ms: int = Field(default=-1, ge=-1)

    database_url: SecretStr | None = None
    database_pool_size: int = Field(default=4, ge=1)
    redis_url: SecretStr | None = None

    # No default: a deployment that forgot it must not accept tokens anyone could mint. It signs;
    # the retired ones (comma-separated) still verify, for rotation (services/notify_svc/tokens).
    feed_token_secret: SecretStr | None = None
    feed_token_retired_secrets: SecretStr | None = None
    feed_token_ttl_seconds: int = Field(default=3600, ge=60)
    feed_api_host: str = "127.0.0.1"
    feed_api_port: int = Field(default=8080, ge=0, le=65535)
    feed_cap: int = Field(default=500, ge=1)
    # notify_svc's batches (services/notify_svc/app.py): at most this many records of one topic
    # per batch, waiting at most this long for a batch to fill before it is handled as it is.
    notify_batch_max: int = Field(default=500, ge=1, le=10_000)
    notify_batch_wait_ms: int = Field(default=20, ge=1, le=10_000)
    # The back office's read API (`lunas serve read-api`): payments and pickups for admins.
    read_api_host: str = "127.0.0.1"
    read_api_port: int = Field(default=8081, ge=0, le=65535)
    # Reliability of the feed API (services/notify_svc/live.py, entrypoint.py): open event streams
    # per reader (tenant, user) and per process; streams stay below uvicorn's concurrency limit so
    # that requests and probes always find room. Request traffic has its own Redis pool.
    feed_streams_per_token: int = Field(default=5, ge=1)
    feed_streams_max: int = Field(default=800, ge=1)
    feed_api_limit_concurrency: int = Field(default=1000, ge=2)
    feed_redis_pool_size: int = Field(default=20, ge=1)

    pickup_admins: str = ""
    payment_admins: str = ""
    # The decision deadline of a pickup cancellation (hours), per tenant where listed
    # ("tenant-a=12,tenant-b=48"); tenants listed in auto_decision_tenants ("tenant-a=approve,
    # tenant-c=reject") are decided by system:pickup-sla at the deadline, the others escalate to
    # the supervisors (comma-separated admin ids, who may then decide any cancellation).
    pickup_decision_hours: Decimal = Field(default=Decimal(24), gt=0, le=24 * 365)
    pickup_decision_hours_by_tenant: str = ""
    pickup_auto_decision_tenants: str = ""
    pickup_supervisors: str = ""
    # How often pickup_svc's deadline timer looks for due reminders and deadlines.
    pickup_deadline_check_seconds: float = Field(default=60.0, gt=0)
    # Four eyes on cancelling a Completed payment of at least this amount (unset: none), and
    # per tenant `tenant-a=5000000,tenant-b=off` (`off`: no four eyes for that tenant).
    payment_cancel_approval_amount: Decimal | None = Field(default=None, gt=0, decimal_places=2)
    payment_cancel_approval_amount_by_tenant: str = ""
    # The daily reminder of giros still Active past their due date: how often payment_svc looks
    # (each giro is reminded once per business day), and the business day's UTC offset (WIB).
    payment_giro_reminder_period_seconds: int = Field(default=900, ge=1)
    business_utc_offset_hours: int = Field(default=7, ge=-12, le=14)

    data_dir: Path = Path(".lunas")
    log_level: str = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    # Liveness fails when a row the relay should have published is older than this, or when the
    # consumer loop has not gone round for the stall time: a restart is what would help then.
    liveness_outbox_age_seconds: int = Field(default=300, ge=1)
    liveness_stall_seconds: int = Field(default=120, ge=1)
    # Loopback unless told: in a container probes and Prometheus come from the pod IP (0.0.0.0).
    metrics_host: str = "127.0.0.1"

    batch_size: int = Field(default=200, ge=1)
    # How long an idle consumer waits per poll; a batch is what is queued, it never waits to fill.
    batch_timeout_ms: int = Field(default=100, ge=1)
    outbox_retention_hours: int = Field(default=72, ge=1)
    # OpenTelemetry: the OTLP/HTTP base URL of a collector (spans go to <url>/v1/traces); unset,
    # no span is exported. Needs the `otel` extra (services/common/otel.py).
    otel_exporter_otlp_endpoint: str | None = None
    # A command naming what does not exist yet waits this long from its `time`, then not_found.
    await_timeout_seconds: int = Field(default=600, ge=0)
    await_max_per_tenant: int = Field(default=10_000, ge=0)
    # How often a service looks for due timers (deadlines, reminders); tests use a fraction.
    timer_tick_seconds: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _streams_leave_room(self) -> Settings:
        if self.feed_streams_max >= self.feed_api_limit_concurrency:
            raise ValueError(
                "LUNAS_FEED_STREAMS_MAX must be below LUNAS_FEED_API_LIMIT_CONCURRENCY: open "
                "streams would otherwise leave no room for requests and health probes"
            )
        return self

    @field_validator("pickup_admins", "payment_admins", "pickup_supervisors")
    @classmethod
    def _strip_admins(cls, value: str) -> str:
        return ",".join(part.strip() for part in value.split(",") if part.strip())

    @field_validator("pickup_decision_hours_by_tenant")
    @classmethod
    def _check_hours(cls, value: str) -> str:
        for tenant, hours in _pairs(value).items():
            try:
                number = Decimal(hours)
            except ArithmeticError:
                raise ValueError(f"{tenant}={hours}: hours must be a number") from None
            if not number.is_finite() or number <= 0:
                raise ValueError(f"{tenant}={hours}: hours must be more than 0")
        return value

    @field_validator("pickup_auto_decision_tenants")
    @classmethod
    def _check_auto(cls, value: str) -> str:
        for tenant, decision in _pairs(value).items():
            if decision not in ("approve", "reject"):
                raise ValueError(f"{tenant}={decision}: the decision must be approve or reject")
        return value

    @field_validator(
        "topic_retention_commands_ms",
        "topic_retention_events_ms",
        "topic_retention_dlq_ms",
        "topic_retention_notifications_ms",
    )
    @classmethod
    def _check_retention(cls, value: int) -> int:
        if value == 0:
            raise ValueError("a retention of 0 ms keeps nothing: use -1 for ever, or a duration")
        return value

    def topic_retention_ms(self) -> dict[TopicKind, int]:
        """Retention (ms, -1 for ever) per kind of topic."""
        return {
            TopicKind.commands: self.topic_retention_commands_ms,
            TopicKind.events: self.topic_retention_events_ms,
            TopicKind.dlq: self.topic_retention_dlq_ms,
            TopicKind.notifications: self.topic_retention_notifications_ms,
        }

    @property
    def pickup_supervisor_ids(self) -> frozenset[str]:
        return frozenset(a for a in self.pickup_supervisors.split(",") if a)

    def pickup_decision_hours_for(self) -> dict[str, Decimal]:
        """The tenants whose decision deadline is not the default, and theirs."""
        return {t: Decimal(h) for t, h in _pairs(self.pickup_decision_hours_by_tenant).items()}

    def pickup_auto_decisions(self) -> dict[str, str]:
        """Tenants decided automatically at the deadline, and how (approve or reject)."""
        return _pairs(self.pickup_auto_decision_tenants)

    @field_validator("payment_cancel_approval_amount_by_tenant")
    @classmethod
    def _check_approval_amounts(cls, value: str) -> str:
        parse_amounts_by_tenant(value)
        return value

    @property
    def payment_cancel_approval_by_tenant(self) -> dict[str, Decimal | None]:
        return parse_amounts_by_tenant(self.payment_cancel_approval_amount_by_tenant)

    @property
    def pickup_admin_ids(self) -> frozenset[str]:
        return frozenset(a for a in self.pickup_admins.split(",") if a)

    @property
    def payment_admin_ids(self) -> frozenset[str]:
        return frozenset(a for a in self.payment_admins.split(",") if a)

    def kafka_config(self) -> dict[str, Any]:
        """The connection part of a confluent-kafka configuration (bootstrap, security), with
        librdkafka's own log routed into the structured log."""
        if not self.kafka_bootstrap_servers:
            raise RuntimeError(
                "LUNAS_KAFKA_BOOTSTRAP_SERVERS is not set and no embedded broker runs"
            )
        conf: dict[str, Any] = {
            "bootstrap.servers": self.kafka_bootstrap_servers,
            "security.protocol": self.kafka_security_protocol,
            "logger": LibrdkafkaLog(),
        }
        if self.kafka_sasl_mechanism:
            conf["sasl.mechanism"] = self.kafka_sasl_mechanism
        if self.kafka_sasl_username:
            conf["sasl.username"] = self.kafka_sasl_username
        if self.kafka_sasl_password is not None:
            conf["sasl.password"] = self.kafka_sasl_password.get_secret_value()
        if self.kafka_ssl_ca_location:
            conf["ssl.ca.location"] = self.kafka_ssl_ca_location
        if self.kafka_ssl_certificate_location:
            conf["ssl.certificate.location"] = self.kafka_ssl_certificate_location
        if self.kafka_ssl_key_location:
            conf["ssl.key.location"] = self.kafka_ssl_key_location
        return conf

    @property
    def kafka_uses_tls(self) -> bool:
        return self.kafka_security_protocol in ("SSL", "SASL_SSL")

    @property
    def kafka_uses_sasl(self) -> bool:
        return self.kafka_security_protocol.startswith("SASL_")

    def kafka_ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context of an aiokafka / faust client (None without TLS): verifies the broker
        against the CA bundle (the system's without one) and presents the client certificate."""
        if not self.kafka_uses_tls:
            return None
        context = ssl.create_default_context(cafile=self.kafka_ssl_ca_location)
        if self.kafka_ssl_certificate_location:
            context.load_cert_chain(
                self.kafka_ssl_certificate_location, keyfile=self.kafka_ssl_key_location
            )
        return context

    def aiokafka_config(self) -> dict[str, Any]:
        """The same connection for aiokafka (`lunas feed rebuild`): TLS through an SSLContext,
        which aiokafka requires for SSL and SASL_SSL."""
        if not self.kafka_bootstrap_servers:
            raise RuntimeError(
                "LUNAS_KAFKA_BOOTSTRAP_SERVERS is not set and no embedded broker runs"
            )
        conf: dict[str, Any] = {
            "bootstrap_servers": self.kafka_bootstrap_servers,
            "security_protocol": self.kafka_security_protocol,
        }
        context = self.kafka_ssl_context()
        if context is not None:
            conf["ssl_context"] = context
        if self.kafka_uses_sasl:
            conf["sasl_mechanism"] = self.kafka_sasl_mechanism or "PLAIN"
            conf["sasl_plain_username"] = self.kafka_sasl_username
            if self.kafka_sasl_password is not None:
                conf["sasl_plain_password"] = self.kafka_sasl_password.get_secret_value()
        return conf

    def database_dsn(self) -> str:
        if self.database_url is None:
            raise RuntimeError("LUNAS_DATABASE_URL is not set and no embedded Postgres runs")
        return self.database_url.get_secret_value()

    def redis_dsn(self) -> str:
        if self.redis_url is None:
            raise RuntimeError("LUNAS_REDIS_URL is not set and no embedded Redis runs")
        return self.redis_url.get_secret_value()


def _pairs(value: str) -> dict[str, str]:
    """ "a=1, b=2" as {"a": "1", "b": "2"}; an item without "=" is refused."""
    pairs: dict[str, str] = {}
    for item in value.split(","):
        if not item.strip():
            continue
        tenant, sep, setting = item.partition("=")
        if not sep or not tenant.strip() or not setting.strip():
            raise ValueError(f"{item.strip()!r} is not tenant=value")
        pairs[tenant.strip()] = setting.strip()
    return pairs


def parse_amounts_by_tenant(value: str) -> dict[str, Decimal | None]:
    """`tenant-a=5000000.00,tenant-b=off` → {tenant: amount or None}; ValueError when malformed."""
    amounts: dict[str, Decimal | None] = {}
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        tenant, sep, raw = (x.strip() for x in part.partition("="))
        if not sep or not tenant or not raw:
            raise ValueError(f"{part!r} is not tenant=amount")
        if tenant in amounts:
            raise ValueError(f"tenant {tenant!r} is listed twice")
        if raw.lower() == "off":
            amounts[tenant] = None
            continue
        try:
            amount = Decimal(raw)
        except InvalidOperation:
            raise ValueError(f"{raw!r} (tenant {tenant}) is not an amount") from None
        if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
            raise ValueError(f"{raw!r} (tenant {tenant}) must be positive, at most 2 decimals")
        amounts[tenant] = amount
    return amounts


def redact_url(url: str) -> str:
    """A URL without its password, for logs and the ready line."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}" if user else netloc))
