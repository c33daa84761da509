"""Runs service modules as real subprocesses and reads Kafka topics from the start."""

# The tests call these coroutines with ``timeout=`` keywords: the public signatures stay.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self, TypeAlias

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from cimis_chassis.envelope import CloudEvent
from cimis_chassis.kafka_client import aiokafka_options
from cimis_contracts.base import registered_types
from cimis_devtools.kafka_local import find_free_port

REPO_ROOT = Path(__file__).resolve().parents[2]

# Service configuration a test must pass explicitly; inheriting it from the developer's shell
# could point a test process at a real database or arm a crash point nobody asked for.
_NOT_INHERITED = frozenset(
    {
        "CIMIS_CRASH_POINT",
        "DATABASE_URL",
        "CIMIS_API_KEYS_FILE",
        "HTTP_HOST",
        "HTTP_PORT",
        "VAR_DIR",
    }
)

# One consumed record; key and value are the raw bytes the broker holds.
Record: TypeAlias = ConsumerRecord
Condition: TypeAlias = Callable[[Sequence[Record]], bool]


class ServiceProcessError(RuntimeError):
    """A service process did not start, stop or exit as expected; the message has its log."""


class ServiceProcess:
    """One service (``python -m <module>``) in a child process on its own port.

    Restartable: after it exited (``stop``, ``kill`` or a crash point), ``start`` runs it again
    with the same port, log file and ``env`` (a plain dict the test may change in between).
    Every run appends to ``log_path``; failures quote its tail.
    """

    def __init__(
        self,
        module: str,
        *,
        env: Mapping[str, str],
        log_path: Path,
        port: int | None = None,
        host: str = "127.0.0.1",
        name: str | None = None,
        ready_path: str = "/health/ready",
    ) -> None:
        self.module = module
        self.env = dict(env)
        self.log_path = log_path
        self.host = host
        self.port = port or find_free_port()
        self.name = name or module
        self.ready_path = ready_path
        self.runs = 0
        self._process: subprocess.Popen[bytes] | None = None
        atexit.register(self._kill_quietly)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def returncode(self) -> int | None:
        """The last run's exit code (``-9`` after SIGKILL), or None while it runs."""
        return self._process.poll() if self._process is not None else None

    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
        env.update(PYTHONUNBUFFERED="1", HTTP_HOST=self.host, HTTP_PORT=str(self.port))
        env.update(self._kafka_identity())
        env.update(self.env)
        return env

    def _kafka_identity(self) -> dict[str, str]:
        # A service process is its own Kafka principal, as in production, so that tests run
        # under the same ACLs; CIMIS_KAFKA_CLIENTS_DIR holds one client file per principal.
        clients = os.environ.get("CIMIS_KAFKA_CLIENTS_DIR")
        parts = self.module.split(".")
        if not clients or len(parts) < 2 or parts[0] != "services":
            return {}
        client_file = Path(clients) / f"{parts[1]}.conf"
        if not client_file.exists():
            return {}
        # The file, not the test process's own (admin) identity from the environment.
        return {
            "KAFKA_CLIENT_CONFIG": str(client_file),
            "KAFKA_SASL_USERNAME": "",
            "KAFKA_SASL_PASSWORD": "",
        }

    async def start(self, timeout: float = 60.0) -> None:
        """Start a run and wait until ``ready_path`` answers 200; kill it and fail otherwise."""
        if self.is_running:
            raise ServiceProcessError(f"{self.name} is already running (pid {self.pid})")
        self.runs += 1
        self._spawn()
        try:
            await self._wait_ready(timeout)
        except BaseException:
            self._kill_quietly()
            raise

    def _spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log_file:
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            log_file.write(
                f"\n=== tests: run {self.runs} of {self.module} on {self.base_url} at {stamp}"
                f" (crash point {self.env.get('CIMIS_CRASH_POINT', 'none')}) ===\n".encode()
            )
            log_file.flush()
            # Own session: Ctrl-C in the terminal reaches pytest only, which then stops us.
            self._process = subprocess.Popen(
                [sys.executable, "-m", self.module],
                cwd=REPO_ROOT,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10.0) as client:
            while True:
                if not self.is_running:
                    raise ServiceProcessError(
                        f"{self.name} exited with {self.returncode} before it was ready"
                        f"\n{self.describe_log()}"
                    )
                try:
                    response = await client.get(self.ready_path)
                except httpx.TransportError as exc:
                    last = f"{exc.__class__.__name__}: {exc}"
                else:
                    if response.status_code == 200:
                        return
                    last = f"{response.status_code} {response.text[:500]}"
                if time.monotonic() >= deadline:
                    raise ServiceProcessError(
                        f"{self.name} not ready after {timeout:.0f}s on {self.ready_path}: "
                        f"{last}\n{self.describe_log()}"
                    )
                await asyncio.sleep(0.2)

    async def wait_for_status(
        self, path: str, status: int, timeout: float = 30.0
    ) -> httpx.Response:
        """Poll GET ``path`` until it answers ``status``; fail with the last answer and the log."""
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        async with httpx.AsyncClient(base_url=self.base_url, timeout=15.0) as client:
            while True:
                try:
                    response = await client.get(path)
                except httpx.TransportError as exc:
                    last = f"{exc.__class__.__name__}: {exc}"
                else:
                    if response.status_code == status:
                        return response
                    last = f"{response.status_code} {response.text[:500]}"
                if time.monotonic() >= deadline:
                    raise ServiceProcessError(
                        f"GET {path} on {self.name} did not answer {status} within "
                        f"{timeout:.0f}s; last: {last}\n{self.describe_log()}"
                    )
                await asyncio.sleep(0.2)

    async def wait_exit(self, timeout: float = 30.0) -> int:
        """Wait for the current run to end by itself and return its exit code."""
        process = self._require_process()
        deadline = time.monotonic() + timeout
        while (code := process.poll()) is None:
            if time.monotonic() >= deadline:
                raise ServiceProcessError(
                    f"{self.name} (pid {process.pid}) still running after {timeout:.0f}s"
                    f"\n{self.describe_log()}"
                )
            await asyncio.sleep(0.05)
        return code

    async def stop(self, grace: float = 20.0) -> int | None:
        """SIGTERM (graceful shutdown), SIGKILL if still alive after ``grace``; the exit code."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await self.wait_exit(grace)
            except ServiceProcessError:
                await self.kill()
        return process.poll()

    async def kill(self) -> int | None:
        """SIGKILL the current run (a crash, no shutdown code runs) and reap it."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGKILL)
            await self.wait_exit(10.0)
        return process.poll()

    def log_tail(self, lines: int = 60) -> str:
        try:
            with self.log_path.open("rb") as handle:
                handle.seek(0, os.SEEK_END)
                handle.seek(max(0, handle.tell() - 64 * 1024))
                text = handle.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log written)"
        return "\n".join(text.rstrip().splitlines()[-lines:])

    def describe_log(self, lines: int = 60) -> str:
        return f"--- last {lines} lines of {self.log_path} ---\n{self.log_tail(lines)}"

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None and not isinstance(exc, ServiceProcessError):
            # pytest prints notes under the failure, so a failed assertion shows the log too.
            exc.add_note(f"{self.name} {self.describe_log(40)}")
        await self.stop()

    def _require_process(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise ServiceProcessError(f"{self.name} was never started")
        return self._process

    def _kill_quietly(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)


class TopicReader:
    """Reads a topic from its beginning with a fresh consumer that has no group.

    No group means no committed offsets and no rebalances: every reader sees every record of
    every partition, and tests never disturb each other's consumers.
    """

    def __init__(self, bootstrap_servers: str, topic: str) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topic = topic
        self.records: list[Record] = []
        self.end_offsets: dict[TopicPartition, int] = {}
        self._consumer: AIOKafkaConsumer | None = None

    async def __aenter__(self) -> Self:
        consumer = AIOKafkaConsumer(
            **aiokafka_options(self.bootstrap_servers),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id="cimis-tests-topic-reader",
        )
        await consumer.start()
        try:
            partitions = await self._partitions()
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            self.end_offsets = await consumer.end_offsets(partitions)
        except BaseException:
            await consumer.stop()
            raise
        self._consumer = consumer
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def _partitions(self, timeout: float = 30.0) -> list[TopicPartition]:
        admin = AIOKafkaAdminClient(
            **aiokafka_options(self.bootstrap_servers), client_id="cimis-tests-topic-reader"
        )
        await admin.start()
        try:
            deadline = time.monotonic() + timeout
            while True:
                # Listing all topics, not naming ours: naming it would let a broker with
                # auto.create.topics.enable create it with the wrong partition count.
                described = {t["topic"]: t for t in await admin.describe_topics()}
                info = described.get(self.topic)
                if info is not None and info["error_code"] == 0 and info["partitions"]:
                    numbers = sorted(p["partition"] for p in info["partitions"])
                    return [TopicPartition(self.topic, n) for n in numbers]
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"topic {self.topic} not found on {self.bootstrap_servers}")
                await asyncio.sleep(0.2)
        finally:
            await admin.close()

    async def _poll(self) -> None:
        assert self._consumer is not None, "use TopicReader as an async context manager"
        batches = await self._consumer.getmany(timeout_ms=200)
        for partition in sorted(batches, key=lambda tp: tp.partition):
            self.records.extend(batches[partition])

    async def read_to_end(self, timeout: float = 30.0) -> list[Record]:
        """Read every record that was on the topic when the reader started."""
        assert self._consumer is not None, "use TopicReader as an async context manager"
        deadline = time.monotonic() + timeout
        while True:
            positions = {tp: await self._consumer.position(tp) for tp in self.end_offsets}
            if all(positions[tp] >= end for tp, end in self.end_offsets.items()):
                return self.records
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"{self.topic}: positions {positions} short of end offsets "
                    f"{self.end_offsets} after {timeout:.0f}s"
                )
            await self._poll()

    async def read_until(
        self, condition: Condition, timeout: float = 30.0, *, settle: float = 0.0
    ) -> list[Record]:
        """Read until ``condition(records)`` holds, then ``settle`` seconds more.

        The extra reading lets a test see a record that should not have followed (a second
        copy); TimeoutError if the condition does not hold within ``timeout``.
        """
        deadline = time.monotonic() + timeout
        while not condition(self.records):
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"{self.topic}: condition not met within {timeout:.0f}s after reading "
                    f"{len(self.records)} records"
                )
            await self._poll()
        await self.read_for(settle)
        return self.records

    async def read_for(self, seconds: float) -> list[Record]:
        """Keep reading for ``seconds`` (also past the end offsets taken at the start)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            await self._poll()
        return self.records


async def read_topic(bootstrap_servers: str, topic: str, *, timeout: float = 30.0) -> list[Record]:
    """All records of ``topic`` from the beginning up to its end offsets at the call."""
    async with TopicReader(bootstrap_servers, topic) as reader:
        return await reader.read_to_end(timeout)


async def read_topic_until(
    bootstrap_servers: str,
    topic: str,
    condition: Condition,
    *,
    timeout: float = 30.0,
    settle: float = 0.0,
) -> list[Record]:
    """Records of ``topic`` from the beginning until ``condition`` holds (plus ``settle`` s)."""
    async with TopicReader(bootstrap_servers, topic) as reader:
        return await reader.read_until(condition, timeout, settle=settle)


async def publish(bootstrap_servers: str, *events: CloudEvent) -> None:
    """Send CloudEvents as their producing services would: on their type's topic, keyed by
    subject, the envelope as the value."""
    producer = AIOKafkaProducer(**aiokafka_options(bootstrap_servers), enable_idempotence=True)
    await producer.start()
    try:
        for event in events:
            topic = registered_types()[event.type].TOPIC
            assert event.subject is not None
            await producer.send_and_wait(topic, event.to_json_bytes(), key=event.subject.encode())
    finally:
        await producer.stop()
