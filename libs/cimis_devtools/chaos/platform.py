"""The whole platform for a chaos run: PostgreSQL, Kafka, the four services, mail and webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import psycopg

from cimis_chassis.auth import Role, create_key
from cimis_chassis.kafka_client import KafkaClientConfig
from cimis_contracts.topics import SERVICE_TOPICS, all_topics
from cimis_devtools.chaos.sinks import MailSink, WebhookSink
from cimis_devtools.chaos.workload import CONFIRMING_STAFF, FINANCE, STAFF, Workload
from cimis_devtools.kafka_access import SERVICES, KafkaAccess
from cimis_devtools.kafka_local import LocalKafka
from cimis_devtools.postgres_local import LocalPostgres
from cimis_devtools.processes import ServiceProcess

log = logging.getLogger(__name__)

PLATFORM_TOPICS = SERVICE_TOPICS
STAFF_MAILBOX = "programmbuero@example.org"
START_TIMEOUT_SECONDS = 120.0


class Platform:
    def __init__(self, workdir: Path, workload: Workload) -> None:
        self.workdir = workdir
        self.workload = workload
        self.logs = workdir / "logs"
        self.keys_file = workdir / "api-keys.json"
        # Not under workdir: when run as root the server runs as `postgres`, which must be
        # able to reach its data directory (mkdtemp gives a path it can traverse).
        self._pg_dir = Path(tempfile.mkdtemp(prefix="cimis-chaos-pg-"))
        self.postgres = LocalPostgres(self._pg_dir)
        # The broker as in production: SASL/SCRAM, each service its own principal under the
        # platform's ACLs, the driver the operators' admin.
        self.access = KafkaAccess.load_or_create(workdir / "kafka-clients", env={})
        self.kafka = LocalKafka(workdir / "kafka", access=self.access)
        self.mail = MailSink()
        self.webhooks = WebhookSink(seed=workload.seed)
        self.tokens: dict[str, str] = {}
        self.instances: dict[str, list[ServiceProcess]] = {name: [] for name in SERVICES}
        self._urls: dict[str, str] = {}

    @property
    def bootstrap(self) -> str:
        return self.kafka.bootstrap_servers

    @property
    def kafka_client(self) -> KafkaClientConfig:
        """How the driver's own Kafka clients (poison, duplicates, checks) connect."""
        return self.kafka.client()

    async def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(self.postgres.start)
        for name in SERVICES:
            self._urls[name] = await asyncio.to_thread(self.postgres.create_database, name)
        await asyncio.to_thread(self.kafka.start, START_TIMEOUT_SECONDS)
        # Each service creates only the topic it owns and waits for the ones it reads.
        await asyncio.to_thread(self.kafka.create_topics, all_topics())
        self.mail.start()
        await self.webhooks.start()
        self._create_keys()
        for name in SERVICES:
            process = self._process(name, 0)
            self.instances[name].append(process)
            await process.start(START_TIMEOUT_SECONDS)

    async def stop(self) -> None:
        for processes in self.instances.values():
            for process in processes:
                with contextlib.suppress(Exception):
                    await process.stop(grace=10)
        with contextlib.suppress(Exception):
            await self.webhooks.stop()
        with contextlib.suppress(Exception):
            self.mail.stop()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.kafka.stop)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.postgres.stop)
        shutil.rmtree(self._pg_dir, ignore_errors=True)

    def running(self, service: str) -> list[ServiceProcess]:
        return [p for p in self.instances[service] if p.is_running]

    def all_processes(self) -> list[ServiceProcess]:
        return [p for processes in self.instances.values() for p in processes]

    async def start_second(self, service: str) -> ServiceProcess:
        """Another instance in the same consumer group and database: a rebalance."""
        if len(self.instances[service]) < 2:
            self.instances[service].append(self._process(service, 1))
        second = self.instances[service][1]
        await second.start(START_TIMEOUT_SECONDS)
        return second

    async def restart_with(self, service: str, **env: str) -> None:
        """Stop every instance gracefully and start the first one with changed settings."""
        for process in self.instances[service]:
            await process.stop(grace=20)
        first = self.instances[service][0]
        first.env.update(env)
        await first.start(START_TIMEOUT_SECONDS)

    def query(self, service: str, sql: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.postgres.conninfo(service), connect_timeout=10) as conn:
            return list(conn.execute(sql).fetchall())

    def _create_keys(self) -> None:
        for name in (STAFF, CONFIRMING_STAFF):
            self.tokens[name] = create_key(self.keys_file, role=Role.STAFF, principal=name)
        for name in FINANCE:
            self.tokens[name] = create_key(self.keys_file, role=Role.FINANCE, principal=name)
        for agent in self.workload.agents:
            self.tokens[agent.id] = create_key(self.keys_file, role=Role.AGENT, principal=agent.id)

    def _process(self, service: str, index: int) -> ServiceProcess:
        name = service if index == 0 else f"{service}-{index + 1}"
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "DATABASE_URL": self._urls[service],
            "CIMIS_API_KEYS_FILE": str(self.keys_file),
            "VAR_DIR": str(self.workdir / "var" / name),
            "LOG_JSON": "false",
            "OUTBOX_POLL_SECONDS": "0.1",
            "KAFKA_CLIENT_CONFIG": str(self.access.client_file(service)),
            # The driver is one busy client per role; the per-key limits are not under test.
            "HTTP_RATE_PER_KEY_PER_SECOND": "10000",
            "HTTP_RATE_BURST_PER_KEY": "100000",
        }
        env.update(_SERVICE_ENV.get(service, {}))
        if service == "notify":
            env.update(SMTP_PORT=str(self.mail.port), STAFF_MAILBOX_EMAIL=STAFF_MAILBOX)
        return ServiceProcess(
            f"services.{service}.entrypoints.main",
            env=env,
            log_path=self.logs / f"{name}.log",
            name=name,
        )


_SERVICE_ENV: dict[str, dict[str, str]] = {
    "budget": {"RECONCILE_SECONDS": "5"},
    "milestones": {"OVERDUE_SCAN_SECONDS": "5"},
    "notify": {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_TIMEOUT_SECONDS": "5",
        "WEBHOOK_TIMEOUT_SECONDS": "5",
        "DELIVERY_POLL_SECONDS": "0.2",
        # Longer than the send timeouts (the settings insist), short enough that a killed
        # instance's claims lapse quickly.
        "DELIVERY_CLAIM_SECONDS": "8",
        "DELIVERY_RETRY_BASE_SECONDS": "0.2",
        "DELIVERY_RETRY_MAX_SECONDS": "2",
        "DELIVERY_MAX_ATTEMPTS": "100",
        # The webhook receiver is the driver's, on loopback over plain HTTP: admit it past
        # notify's SSRF guard.
        "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "WEBHOOK_ALLOW_HTTP": "true",
    },
}
