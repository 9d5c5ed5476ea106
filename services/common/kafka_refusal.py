"""Broker refusals that no retry can fix: the process stops with one line naming the setting.

A consumer whose session timeout the broker refuses, whose credentials fail, or which may not
read a topic or join its group gets the same answer on every retry; retrying forever behind a
green health check hides it. `refusal_of` recognises such an error (by its Kafka error code,
the same in confluent-kafka and aiokafka) and `exit_on_refusal` turns it into one `kafka.refused`
log line and exit status 78 (EX_CONFIG). See docs/KAFKA.md, "Broker refusals".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import structlog
from confluent_kafka import KafkaError, KafkaException

log = structlog.get_logger(__name__)

EXIT_REFUSED = 78  # sysexits EX_CONFIG: a supervisor restart will not help until it is changed

_CREDENTIALS = "LUNAS_KAFKA_SASL_USERNAME / LUNAS_KAFKA_SASL_PASSWORD"
# Kafka error code → (its name, the setting to change, what the broker wants).
_FATAL: dict[int, tuple[str, str, str]] = {
    KafkaError.INVALID_SESSION_TIMEOUT: (
        "INVALID_SESSION_TIMEOUT",
        "LUNAS_KAFKA_SESSION_TIMEOUT_MS",
        "the broker accepts group.min.session.timeout.ms to group.max.session.timeout.ms "
        "(Apache Kafka's defaults: 6000 to 1800000)",
    ),
    KafkaError.SASL_AUTHENTICATION_FAILED: (
        "SASL_AUTHENTICATION_FAILED",
        _CREDENTIALS,
        "the broker did not accept these credentials",
    ),
    KafkaError._AUTHENTICATION: (
        "AUTHENTICATION",
        f"{_CREDENTIALS}, LUNAS_KAFKA_SASL_MECHANISM, LUNAS_KAFKA_SECURITY_PROTOCOL",
        "authentication with the broker failed",
    ),
    KafkaError._SSL: (
        "SSL",
        "LUNAS_KAFKA_SSL_CA_LOCATION, LUNAS_KAFKA_SECURITY_PROTOCOL",
        "the TLS handshake with the broker failed",
    ),
    KafkaError.UNSUPPORTED_SASL_MECHANISM: (
        "UNSUPPORTED_SASL_MECHANISM",
        "LUNAS_KAFKA_SASL_MECHANISM",
        "the broker does not offer this SASL mechanism",
    ),
    KafkaError.TOPIC_AUTHORIZATION_FAILED: (
        "TOPIC_AUTHORIZATION_FAILED",
        "LUNAS_KAFKA_SASL_USERNAME",
        "this principal may not read a topic the service consumes: grant it Read and Describe "
        "on the topic (an ACL), or run the service as a principal that has them",
    ),
    KafkaError.GROUP_AUTHORIZATION_FAILED: (
        "GROUP_AUTHORIZATION_FAILED",
        "LUNAS_KAFKA_SASL_USERNAME",
        "this principal may not use the service's consumer group: grant it Read on the group",
    ),
}


class BrokerRefusal(Exception):
    """A refusal by the broker that repeats on every retry until a setting is changed."""

    def __init__(self, code: str, setting: str, fix: str, detail: str) -> None:
        super().__init__(f"Kafka refused: {code}; check {setting}: {fix} ({detail})")
        self.code = code
        self.setting = setting
        self.fix = fix
        self.detail = detail


def refusal_of(code: int, detail: str) -> BrokerRefusal | None:
    """The refusal that Kafka error `code` means, None if retrying may help."""
    known = _FATAL.get(code)
    if known is None:
        return None
    name, setting, fix = known
    return BrokerRefusal(name, setting, fix, detail[:300])


def refusal_of_exception(exc: BaseException) -> BrokerRefusal | None:
    """The refusal behind a confluent-kafka or aiokafka exception, None for anything else."""
    if isinstance(exc, BrokerRefusal):
        return exc
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return refusal_of(exc.args[0].code(), str(exc.args[0]))
    errno = getattr(type(exc), "errno", None)  # aiokafka's errors carry Kafka's error code
    if isinstance(errno, int) and type(exc).__module__.startswith("aiokafka"):
        return refusal_of(errno, f"{type(exc).__name__}: {exc}")
    return None


@contextmanager
def exit_on_refusal(service: str) -> Iterator[None]:
    """Run a service's body; a broker refusal (raised as such or as the client's exception)
    becomes one `kafka.refused` error line naming the setting, and exit status 78."""
    try:
        yield
    except Exception as exc:
        refusal = refusal_of_exception(exc)
        if refusal is None:
            raise
        log.error(
            "kafka.refused",
            service=service,
            error=refusal.code,
            setting=refusal.setting,
            fix=refusal.fix,
            detail=refusal.detail,
            message=f"{service} stopped: the broker refused it ({refusal.code}); "
            f"change {refusal.setting}",
        )
        raise SystemExit(EXIT_REFUSED) from None
