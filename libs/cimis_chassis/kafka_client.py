"""How every Kafka client of the platform connects: address, SASL/SCRAM credentials and TLS.

One place builds the options, so the services' brokers, the dead-letter and lag readers, the
CLI and the tests all authenticate the same way. Credentials come from a librdkafka-style
client file (``KAFKA_CLIENT_CONFIG``, as ``make run`` writes to ``var/kafka/clients/``) or from
``KAFKA_SASL_USERNAME`` / ``KAFKA_SASL_PASSWORD``.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")
DEFAULT_PROTOCOL = "SASL_PLAINTEXT"
DEFAULT_MECHANISM = "SCRAM-SHA-512"


class KafkaCredentialsMissing(RuntimeError):
    """SASL is asked for but no username or password was given; the message says how."""


@dataclass(frozen=True)
class KafkaClientConfig:
    """Where the broker is and who this client is. ``password`` never shows in a repr."""

    bootstrap_servers: str
    security_protocol: str = DEFAULT_PROTOCOL
    sasl_mechanism: str = DEFAULT_MECHANISM
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ssl_cafile: str | None = None

    def __post_init__(self) -> None:
        if self.security_protocol not in PROTOCOLS:
            raise ValueError(
                f"security protocol {self.security_protocol!r} is not one of {PROTOCOLS}"
            )
        if self.sasl_mechanism not in MECHANISMS:
            raise ValueError(f"SASL mechanism {self.sasl_mechanism!r} is not one of {MECHANISMS}")

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL")

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol.endswith("SSL")

    def require_credentials(self) -> KafkaClientConfig:
        """Self, or :class:`KafkaCredentialsMissing` when SASL lacks a username or password."""
        if self.uses_sasl and not (self.username and self.password):
            raise KafkaCredentialsMissing(
                "Kafka needs credentials: set KAFKA_CLIENT_CONFIG to a client file (make run "
                "writes var/kafka/clients/<principal>.conf) or KAFKA_SASL_USERNAME and "
                "KAFKA_SASL_PASSWORD; KAFKA_SECURITY_PROTOCOL=PLAINTEXT only for a broker "
                "without authentication."
            )
        return self

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.uses_tls:
            return None
        return ssl.create_default_context(cafile=self.ssl_cafile)

    def aiokafka(self, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments for AIOKafkaConsumer, AIOKafkaProducer and AIOKafkaAdminClient."""
        self.require_credentials()
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        if self.uses_tls:
            options["ssl_context"] = self.ssl_context()
        if self.uses_sasl:
            options.update(
                sasl_mechanism=self.sasl_mechanism,
                sasl_plain_username=self.username,
                sasl_plain_password=self.password,
            )
        options.update(overrides)
        return options

    def faststream_security(self) -> BaseSecurity | None:
        """The same identity as FastStream's ``security=`` object."""
        self.require_credentials()
        context = self.ssl_context()
        if not self.uses_sasl:
            return BaseSecurity(ssl_context=context) if context is not None else None
        assert self.username is not None
        assert self.password is not None
        kinds: dict[str, type[SASLPlaintext | SASLScram256 | SASLScram512]] = {
            "SCRAM-SHA-512": SASLScram512,
            "SCRAM-SHA-256": SASLScram256,
            "PLAIN": SASLPlaintext,
        }
        return kinds[self.sasl_mechanism](
            self.username, self.password, ssl_context=context, use_ssl=self.uses_tls
        )

    def as_principal(self, username: str, password: str) -> KafkaClientConfig:
        return replace(self, username=username, password=password)


def read_client_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """A librdkafka-style properties file (``key=value``, ``#`` comments) as a dict."""
    values: dict[str, str] = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip()
    return values


def write_client_file(
    path: Path,
    *,
    username: str,
    password: str,
    bootstrap_servers: str | None = None,
    security_protocol: str = DEFAULT_PROTOCOL,
    sasl_mechanism: str = DEFAULT_MECHANISM,
) -> None:
    """Write a client file that kcat (``-F``), confluent-kafka and this platform read; 0600."""
    lines = [
        f"# Kafka credentials of principal {username}; keep this file secret.",
        f"security.protocol={security_protocol}",
        f"sasl.mechanisms={sasl_mechanism}",
        f"sasl.username={username}",
        f"sasl.password={password}",
    ]
    if bootstrap_servers:
        lines.insert(1, f"bootstrap.servers={bootstrap_servers}")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    tmp.replace(path)


def client_config(
    bootstrap_servers: str,
    *,
    client_file: str | os.PathLike[str] | None = None,
    security_protocol: str | None = None,
    sasl_mechanism: str | None = None,
    username: str | None = None,
    password: str | None = None,
    ssl_cafile: str | None = None,
) -> KafkaClientConfig:
    """Merge a client file with explicit values; explicit values win."""
    from_file = read_client_file(client_file) if client_file else {}
    return KafkaClientConfig(
        bootstrap_servers=bootstrap_servers,
        security_protocol=security_protocol
        or from_file.get("security.protocol", DEFAULT_PROTOCOL).upper(),
        sasl_mechanism=sasl_mechanism or from_file.get("sasl.mechanisms", DEFAULT_MECHANISM),
        username=username or from_file.get("sasl.username"),
        password=password or from_file.get("sasl.password"),
        ssl_cafile=ssl_cafile or from_file.get("ssl.ca.location"),
    )


def client_config_from_env(
    bootstrap_servers: str | None = None, env: Mapping[str, str] | None = None
) -> KafkaClientConfig:
    """The identity the environment describes (``KAFKA_CLIENT_CONFIG`` and ``KAFKA_*``)."""
    env = os.environ if env is None else env
    return client_config(
        bootstrap_servers or env.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        client_file=env.get("KAFKA_CLIENT_CONFIG") or None,
        security_protocol=env.get("KAFKA_SECURITY_PROTOCOL") or None,
        sasl_mechanism=env.get("KAFKA_SASL_MECHANISM") or None,
        username=env.get("KAFKA_SASL_USERNAME") or None,
        password=env.get("KAFKA_SASL_PASSWORD") or None,
        ssl_cafile=env.get("KAFKA_SSL_CAFILE") or None,
    )


def as_client_config(target: str | KafkaClientConfig) -> KafkaClientConfig:
    """A config as given, or for a bare bootstrap address the identity of the environment."""
    return target if isinstance(target, KafkaClientConfig) else client_config_from_env(target)


def aiokafka_options(target: str | KafkaClientConfig, **overrides: Any) -> dict[str, Any]:
    """Keyword arguments for an aiokafka client of ``target`` (see :func:`as_client_config`)."""
    return as_client_config(target).aiokafka(**overrides)
