"""All configuration of lunas: environment variables with the prefix ``LUNAS_``.

Nothing below this module reads ``os.environ``; the composition roots build one ``Settings``
and hand the parts down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    kafka_session_timeout_ms: int = Field(default=6000, ge=1000)
    # Static group membership: a restarted instance with the same id skips a rebalance.
    kafka_group_instance_id: str | None = None
    topic_partitions: int = Field(default=6, ge=1)
    topic_replication_factor: int = Field(default=1, ge=1)

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
    # Reliability of the feed API (services/notify_svc/live.py, entrypoint.py): open event streams
    # per reader (tenant, user) and per process; streams stay below uvicorn's concurrency limit so
    # that requests and probes always find room. Request traffic has its own Redis pool.
    feed_streams_per_token: int = Field(default=5, ge=1)
    feed_streams_max: int = Field(default=800, ge=1)
    feed_api_limit_concurrency: int = Field(default=1000, ge=2)
    feed_redis_pool_size: int = Field(default=20, ge=1)

    pickup_admins: str = ""
    payment_admins: str = ""

    data_dir: Path = Path(".lunas")
    log_level: str = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"
    metrics_port: int | None = Field(default=None, ge=0, le=65535)

    batch_size: int = Field(default=200, ge=1)
    # How long an idle consumer waits per poll; a batch is what is queued, it never waits to fill.
    batch_timeout_ms: int = Field(default=100, ge=1)
    outbox_retention_hours: int = Field(default=72, ge=1)
    # A command naming what does not exist yet waits this long from its `time`, then not_found.
    await_timeout_seconds: int = Field(default=600, ge=0)
    await_max_per_tenant: int = Field(default=10_000, ge=0)

    @model_validator(mode="after")
    def _streams_leave_room(self) -> Settings:
        if self.feed_streams_max >= self.feed_api_limit_concurrency:
            raise ValueError(
                "LUNAS_FEED_STREAMS_MAX must be below LUNAS_FEED_API_LIMIT_CONCURRENCY: open "
                "streams would otherwise leave no room for requests and health probes"
            )
        return self

    @field_validator("pickup_admins", "payment_admins")
    @classmethod
    def _strip_admins(cls, value: str) -> str:
        return ",".join(part.strip() for part in value.split(",") if part.strip())

    @property
    def pickup_admin_ids(self) -> frozenset[str]:
        return frozenset(a for a in self.pickup_admins.split(",") if a)

    @property
    def payment_admin_ids(self) -> frozenset[str]:
        return frozenset(a for a in self.payment_admins.split(",") if a)

    def kafka_config(self) -> dict[str, Any]:
        """The connection part of a confluent-kafka configuration (bootstrap, security)."""
        if not self.kafka_bootstrap_servers:
            raise RuntimeError(
                "LUNAS_KAFKA_BOOTSTRAP_SERVERS is not set and no embedded broker runs"
            )
        conf: dict[str, Any] = {
            "bootstrap.servers": self.kafka_bootstrap_servers,
            "security.protocol": self.kafka_security_protocol,
        }
        if self.kafka_sasl_mechanism:
            conf["sasl.mechanism"] = self.kafka_sasl_mechanism
        if self.kafka_sasl_username:
            conf["sasl.username"] = self.kafka_sasl_username
        if self.kafka_sasl_password is not None:
            conf["sasl.password"] = self.kafka_sasl_password.get_secret_value()
        if self.kafka_ssl_ca_location:
            conf["ssl.ca.location"] = self.kafka_ssl_ca_location
        return conf

    def aiokafka_config(self) -> dict[str, Any]:
        """The same connection for aiokafka / faust (notify_svc)."""
        if not self.kafka_bootstrap_servers:
            raise RuntimeError(
                "LUNAS_KAFKA_BOOTSTRAP_SERVERS is not set and no embedded broker runs"
            )
        conf: dict[str, Any] = {
            "bootstrap_servers": self.kafka_bootstrap_servers,
            "security_protocol": self.kafka_security_protocol,
        }
        if self.kafka_sasl_mechanism:
            conf["sasl_mechanism"] = self.kafka_sasl_mechanism
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


def redact_url(url: str) -> str:
    """A URL without its password, for logs and the ready line."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}" if user else netloc))
