"""Every aiokafka client (feed rebuild, notify's faust consumer and producer) honours the Kafka
security settings: protocol, TLS context from the CA and client certificate, SASL credentials."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # type: ignore[import-untyped]
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

from services.common.settings import SecurityProtocol, Settings
from services.notify_svc.app import create_app
from services.notify_svc.memory import memory_ports
from services.notify_svc.rules import Routing

PROTOCOLS: tuple[SecurityProtocol, ...] = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate and its key: the CA bundle and the client certificate."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no certificate to build a TLS context from")
    folder = tmp_path_factory.mktemp("pem")
    cert, key = folder / "ca.crt", folder / "ca.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=lunas-test-ca",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def _settings(protocol: SecurityProtocol, pem: tuple[Path, Path]) -> Settings:
    cert, key = pem
    return Settings(
        kafka_bootstrap_servers="kafka-0.example:9093,kafka-1.example:9093",
        kafka_security_protocol=protocol,
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="lunas",
        kafka_sasl_password="s3cret",  # type: ignore[arg-type]
        kafka_ssl_ca_location=str(cert),
        kafka_ssl_certificate_location=str(cert),
        kafka_ssl_key_location=str(key),
        feed_token_secret="x" * 32,  # type: ignore[arg-type]
    )


def _check_tls(context: Any, tls: bool) -> None:
    if not tls:
        assert context is None
        return
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    subjects = [dict(x[0] for x in ca["subject"]) for ca in context.get_ca_certs()]
    assert {"commonName": "lunas-test-ca"} in subjects  # the configured CA, not only the system's


def _check_sasl(options: dict[str, Any], sasl: bool) -> None:
    if sasl:
        assert options["sasl_mechanism"] == "SCRAM-SHA-512"
        assert (options["sasl_plain_username"], options["sasl_plain_password"]) == (
            "lunas",
            "s3cret",
        )
    else:
        assert options.get("sasl_mechanism") in (None, "PLAIN")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_feed_rebuild_consumer_and_a_producer_take_every_security_setting(
    protocol: SecurityProtocol, pem: tuple[Path, Path]
) -> None:
    settings = _settings(protocol, pem)

    async def build() -> list[Any]:
        # What `lunas feed rebuild` builds; under SASL_SSL this raised "ssl_context is mandatory".
        consumer = AIOKafkaConsumer(**settings.aiokafka_config(), group_id=None)
        producer = AIOKafkaProducer(**settings.aiokafka_config())
        return [consumer._client, producer.client]

    for client in asyncio.run(build()):
        assert client._security_protocol == protocol
        assert client._bootstrap_servers == settings.kafka_bootstrap_servers
        _check_tls(client._ssl_context, protocol in ("SSL", "SASL_SSL"))
        _check_sasl(
            {
                "sasl_mechanism": client._sasl_mechanism,
                "sasl_plain_username": client._sasl_plain_username,
                "sasl_plain_password": client._sasl_plain_password,
            },
            protocol.startswith("SASL_"),
        )


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_notify_faust_app_consumer_and_producer_take_every_security_setting(
    protocol: SecurityProtocol, pem: tuple[Path, Path]
) -> None:
    settings = _settings(protocol, pem)
    app = create_app(settings, memory_ports(Routing(pickup_admins=frozenset())))
    # Faust's aiokafka driver hands these options to the app's consumer and producer alike.
    options = dict(credentials_to_aiokafka_auth(app.faust.conf.broker_credentials))
    assert options["security_protocol"] == protocol
    _check_tls(options.get("ssl_context"), protocol in ("SSL", "SASL_SSL"))
    _check_sasl(options, protocol.startswith("SASL_"))
    assert [str(u) for u in app.faust.conf.broker] == [
        "kafka://kafka-0.example:9093",
        "kafka://kafka-1.example:9093",
    ]


def test_a_missing_client_key_is_refused_when_the_context_is_built(
    pem: tuple[Path, Path], tmp_path: Path
) -> None:
    settings = _settings("SSL", pem).model_copy(
        update={"kafka_ssl_key_location": str(tmp_path / "absent.key")}
    )
    with pytest.raises(FileNotFoundError):
        settings.kafka_ssl_context()


def test_confluent_clients_get_the_client_certificate_too(pem: tuple[Path, Path]) -> None:
    conf = _settings("SASL_SSL", pem).kafka_config()
    cert, key = pem
    assert conf["ssl.ca.location"] == str(cert)
    assert (conf["ssl.certificate.location"], conf["ssl.key.location"]) == (str(cert), str(key))
    assert conf["sasl.password"] == "s3cret" and conf["security.protocol"] == "SASL_SSL"
