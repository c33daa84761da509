"""Who may do what on the platform's Kafka: principals, their SCRAM credentials, and the ACLs.

Each service is a principal of its own. It may write (idempotently) its own topic and its
dead-letter topic, read the topics it consumes (``cimis_contracts.topics.CONSUMES``) and use
the consumer groups named after it (``cimis-<service>…``); ``admin`` is the operators' super
user. Applying is idempotent: run it after every broker start.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cimis_chassis.kafka_client import (
    DEFAULT_MECHANISM,
    KafkaClientConfig,
    read_client_file,
    write_client_file,
)
from cimis_contracts.topics import CONSUMES, dead_letter_topic, owned_topic

log = logging.getLogger(__name__)

ADMIN = "admin"
SERVICES = ("intake", "budget", "milestones", "notify", "outcomes")
PRINCIPALS = (ADMIN, *SERVICES)
SCRAM_ITERATIONS = 8192


@dataclass(frozen=True)
class Grant:
    """One ACL: ``operation`` on a resource for a principal (allow)."""

    principal: str
    resource: str  # "topic", "group" or "cluster"
    name: str
    operation: str  # "READ", "WRITE", "DESCRIBE", "CREATE", "DESCRIBE_CONFIGS", ...
    prefixed: bool = False


def grants_for(service: str) -> list[Grant]:
    """Exactly what ``service`` needs, and nothing else."""
    grants: list[Grant] = []
    own = owned_topic(service)
    if own is not None:
        grants += [Grant(service, "topic", own, op) for op in ("WRITE", "DESCRIBE", "CREATE")]
        grants.append(Grant(service, "cluster", "kafka-cluster", "IDEMPOTENT_WRITE"))
    consumed = CONSUMES.get(service, ())
    for topic in consumed:
        grants += [Grant(service, "topic", topic, op) for op in ("READ", "DESCRIBE")]
    if consumed:
        dlq = dead_letter_topic(service)
        # Reading its own dead letters tells a restarted consumer what it parked already.
        grants += [
            Grant(service, "topic", dlq, op)
            for op in ("WRITE", "READ", "DESCRIBE", "CREATE", "DESCRIBE_CONFIGS")
        ]
        grants += [
            Grant(service, "group", f"cimis-{service}", op, prefixed=True)
            for op in ("READ", "DESCRIBE")
        ]
        if own is None:
            grants.append(Grant(service, "cluster", "kafka-cluster", "IDEMPOTENT_WRITE"))
    return grants


def platform_grants(services: Iterable[str] = SERVICES) -> list[Grant]:
    return [grant for service in services for grant in grants_for(service)]


@dataclass
class KafkaAccess:
    """The principals' passwords, kept as one client file each (``<dir>/<principal>.conf``).

    A password comes from ``KAFKA_<PRINCIPAL>_PASSWORD`` (``.env``), else the existing file,
    else a new random one; the files are what ``make run`` hands each service and operator.
    """

    directory: Path
    passwords: dict[str, str]

    @classmethod
    def load_or_create(
        cls,
        directory: Path,
        principals: Iterable[str] = PRINCIPALS,
        env: Mapping[str, str] | None = None,
    ) -> KafkaAccess:
        env = os.environ if env is None else env
        passwords: dict[str, str] = {}
        for principal in principals:
            path = directory / f"{principal}.conf"
            given = env.get(f"KAFKA_{principal.upper()}_PASSWORD")
            if given:
                passwords[principal] = given
            elif path.exists():
                passwords[principal] = read_client_file(path)["sasl.password"]
            else:
                passwords[principal] = secrets.token_urlsafe(24)
        access = cls(directory, passwords)
        access.write_files()
        return access

    def write_files(self, bootstrap_servers: str | None = None) -> None:
        for principal, password in self.passwords.items():
            write_client_file(
                self.client_file(principal),
                username=principal,
                password=password,
                bootstrap_servers=bootstrap_servers,
            )

    def client_file(self, principal: str) -> Path:
        return self.directory / f"{principal}.conf"

    def client(self, bootstrap_servers: str, principal: str = ADMIN) -> KafkaClientConfig:
        return KafkaClientConfig(
            bootstrap_servers=bootstrap_servers,
            sasl_mechanism=DEFAULT_MECHANISM,
            username=principal,
            password=self.passwords[principal],
        )

    def rotate(self, principal: str) -> str:
        """A new password for ``principal``, not yet written to its file.

        Apply it to the broker first (:func:`apply_access`), then :meth:`write_files`: a service
        restarted in between still finds the password the broker knows.
        """
        self.passwords[principal] = secrets.token_urlsafe(24)
        return self.passwords[principal]


def _confluent_config(admin: KafkaClientConfig) -> dict[str, str | int | float | bool]:
    config: dict[str, str | int | float | bool] = {
        "bootstrap.servers": admin.bootstrap_servers,
        "security.protocol": admin.security_protocol.lower(),
    }
    if admin.uses_sasl:
        config.update(
            {
                "sasl.mechanisms": admin.sasl_mechanism,
                "sasl.username": admin.username or "",
                "sasl.password": admin.password or "",
            }
        )
    if admin.ssl_cafile:
        config["ssl.ca.location"] = admin.ssl_cafile
    return config


def apply_access(
    admin: KafkaClientConfig,
    access: KafkaAccess,
    *,
    services: Iterable[str] = SERVICES,
    timeout: float = 30.0,
) -> int:
    """Upsert every service principal's SCRAM credential and create its ACLs; returns ACLs.

    Blocking (confluent-kafka's admin client); call it from a thread in async code.
    """
    from confluent_kafka.admin import (
        AclBinding,
        AclOperation,
        AclPermissionType,
        AdminClient,
        ResourcePatternType,
        ResourceType,
        ScramCredentialInfo,
        ScramMechanism,
        UserScramCredentialAlteration,
        UserScramCredentialUpsertion,
    )

    client = AdminClient(_confluent_config(admin))
    services = tuple(services)
    mechanism = ScramMechanism.SCRAM_SHA_512
    upserts: list[UserScramCredentialAlteration] = [
        UserScramCredentialUpsertion(
            principal,
            ScramCredentialInfo(mechanism, SCRAM_ITERATIONS),
            access.passwords[principal].encode(),
        )
        for principal in services
        if principal in access.passwords
    ]
    for future in client.alter_user_scram_credentials(upserts).values():
        future.result(timeout=timeout)
    resources = {
        "topic": ResourceType.TOPIC,
        "group": ResourceType.GROUP,
        "cluster": ResourceType.BROKER,
    }
    bindings = [
        AclBinding(
            resources[grant.resource],
            grant.name,
            ResourcePatternType.PREFIXED if grant.prefixed else ResourcePatternType.LITERAL,
            f"User:{grant.principal}",
            "*",
            AclOperation[grant.operation],
            AclPermissionType.ALLOW,
        )
        for grant in platform_grants(services)
    ]
    for future in client.create_acls(bindings).values():
        future.result(timeout=timeout)
    log.info("Kafka access applied: %d principals, %d ACLs", len(upserts), len(bindings))
    return len(bindings)
