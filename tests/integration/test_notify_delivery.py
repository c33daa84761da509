"""Notify delivers over real SMTP and HTTP: once per notification, retried, failed, never lost.

The first part runs the delivery worker in-process against a real SMTP server (aiosmtpd) and a
real HTTP receiver; the second runs the notify process on the real Kafka broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
import json
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from prometheus_client import CollectorRegistry
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from cimis_chassis.auth import Role, create_key
from cimis_chassis.clock import Clock, ManualClock, SystemClock
from cimis_chassis.database import Database
from cimis_chassis.envelope import CloudEvent, parse_event
from cimis_chassis.migrations import upgrade_to_head
from cimis_chassis.unit_of_work import Cause
from cimis_contracts import topics
from cimis_contracts.base import EventData
from cimis_contracts.intake import TeamAcceptedV1
from cimis_contracts.notify import NotificationDeliveredV1, NotificationFailedV1
from cimis_devtools.kafka_local import find_free_port
from services.notify.adapters import smtp as smtp_adapter
from services.notify.adapters.channels import OutgoingMessage
from services.notify.adapters.metrics import NotifyMetrics
from services.notify.adapters.smtp import SmtpSender
from services.notify.adapters.tables import chassis, deliveries
from services.notify.adapters.templates import TemplateRenderer
from services.notify.adapters.unit_of_work import SqlNotifyUnitOfWork
from services.notify.adapters.webhook import WebhookSender
from services.notify.app import deliveries as deliveries_app
from services.notify.app.alerts import Alerts, StaffMailbox
from services.notify.app.ports import NotifyUnitOfWork
from services.notify.bootstrap import MIGRATIONS
from services.notify.domain.delivery import EMAIL, WEBHOOK, RetryPolicy
from services.notify.entrypoints.delivery_worker import DeliveryWorker
from services.notify.settings import NotifySettings
from tests.support.processes import ServiceProcess, publish, read_topic_until
from tests.unit.notify.builders import (
    allocation_refused,
    an_agent,
    envelope,
    plan_completed,
    quiet,
    team_accepted,
    threshold_crossed,
)

NOTIFY_MODULE = "services.notify.entrypoints.main"
STAFF_MAILBOX = "programmbuero@example.org"

# --- real peers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def notification_id(self) -> str:
        return str(self.message["X-CIMIS-Notification-ID"])

    def text(self) -> str:
        body = self.message.get_body(preferencelist=("plain",))
        assert body is not None
        return str(body.get_content())


class SmtpServer:
    """A real SMTP server (aiosmtpd) on a fixed port that can go down and come back."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or find_free_port()
        self.messages: list[ReceivedMail] = []
        self.peers: list[tuple[str, int]] = []  # the client end of each message's connection
        self._controller: Controller | None = None

    async def handle_DATA(self, _server: Any, session: Any, envelope: Any) -> str:
        self.peers.append(tuple(session.peer))
        raw = envelope.original_content or envelope.content
        message = message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"

    def start(self) -> None:
        assert self._controller is None
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[ReceivedMail]:
        return [m for m in self.messages if address in m.rcpt_tos]


@dataclass(frozen=True)
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """A tiny HTTP/1.1 server: answers ``failing_status`` ``fail_times`` times, then 200.

    ``fail_times=None`` fails forever. Every request is recorded with the status it got.
    """

    fail_times: int | None = 0
    failing_status: int = 500
    hold: asyncio.Event | None = None  # when given, answers wait until it is set
    received: list[ReceivedRequest] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/agent?token=secret-token"

    @property
    def succeeded(self) -> list[ReceivedRequest]:
        return [r for r in self.received if r.answered == 200]

    async def __aenter__(self) -> HttpReceiver:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def _status(self) -> int:
        failed = sum(1 for r in self.received if r.answered != 200)
        if self.fail_times is None or failed < self.fail_times:
            return self.failing_status
        return 200

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while request_line := await reader.readline():
                headers: dict[str, str] = {}
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status = self._status()
                path = request_line.decode("latin-1").split(" ")[1]
                self.received.append(ReceivedRequest(path, headers, body, status))
                if self.hold is not None:
                    await self.hold.wait()
                phrase = HTTPStatus(status).phrase
                writer.write(f"HTTP/1.1 {status} {phrase}\r\nContent-Length: 0\r\n\r\n".encode())
                await writer.drain()
        writer.close()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- the worker in-process ----------------------------------------------------------------------


class Bench:
    """Notify's handlers and delivery workers on a migrated SQLite file."""

    def __init__(self, tmp_path: Path, smtp_port: int, clock: Clock | None = None) -> None:
        self.url = f"sqlite:///{tmp_path / 'notify.db'}"
        upgrade_to_head(MIGRATIONS, self.url)
        self.settings = NotifySettings(
            database_url=self.url,
            smtp_port=smtp_port,
            smtp_timeout_seconds=5,
            webhook_timeout_seconds=5,
            delivery_claim_seconds=30,
            webhook_allowed_hosts="127.0.0.1",
            webhook_allow_http=True,
        )
        self.db = Database(self.url)
        self.clock = clock or SystemClock()
        self.registry = CollectorRegistry()
        self.metrics = NotifyMetrics(self.registry)
        self.alerts = Alerts(TemplateRenderer(), StaffMailbox(STAFF_MAILBOX, "de"), self.metrics)

    def worker(self, max_attempts: int = 5, concurrency: int = 10) -> DeliveryWorker:
        return DeliveryWorker(
            db=self.db,
            units=self.unit_of_work,
            clock=self.clock,
            senders={
                EMAIL: SmtpSender(self.settings),
                WEBHOOK: WebhookSender(timeout_seconds=5),
            },
            # No waiting between attempts: the test decides when the next round runs.
            policy=RetryPolicy(base_seconds=0, factor=2, max_seconds=0, max_attempts=max_attempts),
            metrics=self.metrics,
            concurrency=concurrency,
        )

    def unit_of_work(self, cause: Cause) -> SqlNotifyUnitOfWork:
        return SqlNotifyUnitOfWork(
            self.db, chassis, clock=self.clock, source="cimis/notify", cause=cause
        )

    async def unit(self, work: Callable[[NotifyUnitOfWork], Awaitable[None]]) -> None:
        async with self.unit_of_work(Cause("t", "corr")) as uow:
            await work(uow)

    async def alert(self, payload: EventData) -> CloudEvent:
        event = envelope(payload, at=self.clock.now())

        async def apply(uow: NotifyUnitOfWork) -> None:
            await self.alerts.prepare(uow, [(payload, event)])
            if isinstance(payload, TeamAcceptedV1):
                await self.alerts.on_team_accepted(uow, payload, event)
            else:
                await self.alerts.on_team_event(uow, payload, event)

        await self.unit(apply)
        return event

    async def add_agent(self, agent_id: str, **overrides: Any) -> None:
        async with self.unit_of_work(Cause("t", "corr")) as uow:
            await uow.agents.add(an_agent(agent_id, **overrides))

    async def rows(self) -> list[Any]:
        async with self.db.sessions() as session:
            return list((await session.execute(select(deliveries))).all())

    async def pending(self) -> int:
        return sum(1 for r in await self.rows() if r.status == "pending")

    async def published(self, type_: str) -> list[dict[str, Any]]:
        async with self.db.sessions() as session:
            rows = (
                await session.execute(
                    select(chassis.outbox.c.payload).where(chassis.outbox.c.event_type == type_)
                )
            ).all()
        return [json.loads(r.payload)["data"] for r in rows]

    async def drain(self, *workers: DeliveryWorker, rounds: int = 50) -> None:
        """Run delivery rounds until nothing is pending (bounded, not timed)."""
        for _ in range(rounds):
            await asyncio.gather(*(w.run_once() for w in workers))
            if await self.pending() == 0:
                return
        raise AssertionError(
            f"{await self.pending()} deliveries still pending after {rounds} rounds"
        )

    def count(self, channel: str, outcome: str) -> float:
        value = self.registry.get_sample_value(
            "cimis_notify_deliveries_total", {"channel": channel, "outcome": outcome}
        )
        return float(value or 0)

    async def close(self) -> None:
        await self.db.dispose()


@pytest.fixture
async def bench(
    tmp_path: Path, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Bench]:
    # The webhook receivers of these tests listen on loopback over plain HTTP.
    monkeypatch.setenv("WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("WEBHOOK_ALLOW_HTTP", "true")
    bench = Bench(tmp_path, smtp.port)
    try:
        yield bench
    finally:
        await bench.close()


async def test_an_email_reaches_the_agent_with_the_alerts_text(
    bench: Bench, smtp: SmtpServer
) -> None:
    await bench.add_agent("agent-anna", email="anna.berger@example.org", name="Anna Berger")
    await bench.alert(team_accepted("team-1", agent_id="agent-anna"))
    await bench.alert(threshold_crossed("team-1"))

    await bench.drain(bench.worker())

    [mail] = [m for m in smtp.to("anna.berger@example.org") if "Budgets" in m.message["Subject"]]
    assert mail.rcpt_tos == ["anna.berger@example.org"]
    assert mail.message["Subject"] == "80 % des Budgets ausgegeben: Terminbuchung 2.0"
    assert mail.message["From"] == "CIMIS Programmbüro <noreply@cimis.localhost>"
    assert mail.message["Message-ID"] == f"<{mail.notification_id}@notify.cimis>"
    assert mail.message["Content-Language"] == "de"
    text = mail.text()
    assert text.startswith("Guten Tag Anna Berger,")  # no salutation set: the full name
    assert "36.000,00 € von 45.000,00 €" in text
    assert "04.03.2025, 11:15 Uhr" in text
    assert len(smtp.messages) == 2  # and the new-team alert, nothing more
    delivered = await bench.published(NotificationDeliveredV1.TYPE)
    assert sorted(d["channel"] for d in delivered) == ["email", "email", "inbox", "inbox"]
    assert bench.count(EMAIL, "delivered") == 2


async def test_a_refused_allocation_is_mailed_to_the_staff_mailbox(
    bench: Bench, smtp: SmtpServer
) -> None:
    await bench.alert(team_accepted("team-1", agent_id="agent-nobody"))
    await bench.alert(allocation_refused("team-1"))

    await bench.drain(bench.worker())

    [mail] = smtp.to(STAFF_MAILBOX)
    assert mail.message["Subject"] == "Budget nicht zugewiesen: Terminbuchung 2.0"
    assert "Netzwerkagent/in: agent-nobody" in mail.text()


async def test_a_webhook_that_fails_three_times_gets_the_message_exactly_once(
    bench: Bench, smtp: SmtpServer
) -> None:
    async with HttpReceiver(fail_times=3) as hook:
        await bench.add_agent("agent-anna", webhook_url=hook.url)
        await bench.alert(team_accepted("team-1", agent_id="agent-anna"))

        await bench.drain(bench.worker(max_attempts=5))

    [ok] = hook.succeeded
    assert [r.answered for r in hook.received] == [500, 500, 500, 200]
    body = ok.json()
    assert body["text"].startswith("Neues Team: Terminbuchung 2.0\n\n")
    assert (body["kind"], body["team_id"], body["recipient"]) == (
        "team_assigned",
        "team-1",
        "agent-anna",
    )
    assert ok.headers["content-type"] == "application/json"
    assert {r.headers["idempotency-key"] for r in hook.received} == {body["notification_id"]}
    [webhook] = [r for r in await bench.rows() if r.channel == WEBHOOK]
    assert (webhook.status, webhook.attempts, webhook.last_error) == ("delivered", 4, None)
    assert (bench.count(WEBHOOK, "retried"), bench.count(WEBHOOK, "delivered")) == (3, 1)
    assert len(smtp.messages) == 1, "the email went out once while the webhook was retried"


async def test_a_webhook_that_keeps_failing_ends_failed_and_is_published(
    bench: Bench, smtp: SmtpServer
) -> None:
    async with HttpReceiver(fail_times=None, failing_status=503) as hook:
        await bench.add_agent("agent-anna", webhook_url=hook.url)
        await bench.alert(team_accepted("team-1", agent_id="agent-anna"))

        await bench.drain(bench.worker(max_attempts=4))

    assert len(hook.received) == 4
    [webhook] = [r for r in await bench.rows() if r.channel == WEBHOOK]
    assert (webhook.status, webhook.attempts) == ("failed", 4)
    [failed] = await bench.published(NotificationFailedV1.TYPE)
    assert (failed["channel"], failed["attempts"], failed["recipient"]) == (
        WEBHOOK,
        4,
        "agent-anna",
    )
    assert failed["error"] == f"HTTP 503 from webhook http://127.0.0.1:{hook.port}"
    assert "secret-token" not in json.dumps(failed), "webhook URLs carry secrets"
    assert (bench.count(WEBHOOK, "failed"), bench.count(WEBHOOK, "retried")) == (1, 3)
    assert [m.notification_id for m in smtp.messages] == [failed["notification_id"]]


async def test_a_webhook_answering_404_fails_at_once(bench: Bench) -> None:
    async with HttpReceiver(fail_times=None, failing_status=404) as hook:
        await bench.add_agent("agent-anna", webhook_url=hook.url)
        await bench.alert(team_accepted("team-1", agent_id="agent-anna"))

        await bench.drain(bench.worker(max_attempts=5))

    assert len(hook.received) == 1
    [failed] = await bench.published(NotificationFailedV1.TYPE)
    assert failed["attempts"] == 1


async def test_mail_waits_while_the_smtp_server_is_down_and_goes_once_it_is_back(
    bench: Bench, smtp: SmtpServer
) -> None:
    await bench.add_agent("agent-anna")
    await bench.alert(team_accepted("team-1", agent_id="agent-anna"))
    worker = bench.worker(max_attempts=20)
    smtp.stop()
    try:
        for _ in range(3):
            await worker.run_once()
    finally:
        smtp.start()
    [email_row] = [r for r in await bench.rows() if r.channel == EMAIL]
    assert (email_row.status, email_row.attempts) == ("pending", 3)
    assert "ConnectError" in email_row.last_error or "Connect" in email_row.last_error

    await bench.drain(worker)

    assert len(smtp.messages) == 1
    assert bench.count(EMAIL, "retried") == 3


def outgoing(n: int) -> OutgoingMessage:
    now = datetime(2025, 3, 4, 10, 15, tzinfo=UTC)
    return OutgoingMessage(
        notification_id=f"n-{n}",
        delivery_id=n,
        recipient="agent-anna",
        target="anna.berger@example.org",
        team_id="team-1",
        kind="team_assigned",
        title=f"Nachricht {n}",
        body="Hallo",
        language="de",
        created_at=now,
        sent_at=now,
    )


async def test_mails_share_a_kept_connection_and_a_server_restart_costs_no_attempt(
    smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender = SmtpSender(NotifySettings(smtp_port=smtp.port, smtp_timeout_seconds=5))
    try:
        for n in range(3):
            await sender.send(outgoing(n))
        assert len(set(smtp.peers)) == 1

        smtp.stop()
        smtp.start()
        # The kept connection is dead now; a pause long enough to probe it finds that out.
        monkeypatch.setattr(smtp_adapter, "PROBE_AFTER_SECONDS", 0.0)
        await sender.send(outgoing(3))
    finally:
        await sender.close()

    assert [m.notification_id for m in smtp.messages] == ["n-0", "n-1", "n-2", "n-3"]
    assert len(set(smtp.peers)) == 2


async def test_a_database_hiccup_after_sending_is_retried_not_resent(
    bench: Bench, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = deliveries_app.record_delivered
    calls: list[int] = []

    async def locked_once(uow: NotifyUnitOfWork, due: Any, *, holder: str) -> str:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("UPDATE deliveries", {}, Exception("database is locked"))
        return await real(uow, due, holder=holder)

    monkeypatch.setattr(deliveries_app, "record_delivered", locked_once)
    await bench.add_agent("agent-anna")
    await bench.alert(team_accepted("team-1", agent_id="agent-anna"))

    await bench.drain(bench.worker())

    assert len(calls) == 2
    assert len(smtp.messages) == 1
    [email_row] = [r for r in await bench.rows() if r.channel == EMAIL]
    assert (email_row.status, email_row.attempts) == ("delivered", 1)


async def test_two_workers_on_one_database_send_each_message_once(
    bench: Bench, smtp: SmtpServer
) -> None:
    async with HttpReceiver() as hook:
        await bench.add_agent("agent-anna", webhook_url=hook.url)
        for i in range(12):
            await bench.alert(team_accepted(f"team-{i}", agent_id="agent-anna"))

        await bench.drain(bench.worker(), bench.worker())

    mailed = [m.notification_id for m in smtp.messages]
    posted = [r.json()["notification_id"] for r in hook.received]
    assert len(mailed) == len(set(mailed)) == 12
    assert sorted(posted) == sorted(mailed)


async def test_stopping_the_worker_gives_back_the_claims_it_has_not_started(
    bench: Bench, smtp: SmtpServer
) -> None:
    async with HttpReceiver(hold=asyncio.Event()) as hook:
        await bench.add_agent("agent-anna", webhook_url=hook.url)
        for i in range(3):
            await bench.alert(team_accepted(f"team-{i}", agent_id="agent-anna"))
        worker = bench.worker(concurrency=1)
        running = asyncio.create_task(worker.run())
        await wait_for(lambda: len(hook.received) == 1, "the first webhook call", 30)

        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        assert hook.hold is not None
        hook.hold.set()

    pending = [r for r in await bench.rows() if r.status == "pending"]
    # The webhook cut off mid-send stays claimed (it may have arrived); the rest are free.
    assert [r.channel for r in pending if r.claimed_by is not None] == [WEBHOOK]
    assert len([r for r in pending if r.claimed_by is None]) == len(pending) - 1 >= 1


async def test_quiet_hours_set_after_the_alert_still_defer_the_mail(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    clock = ManualClock(datetime(2025, 1, 15, 20, 30, tzinfo=UTC))  # 21:30 in Berlin
    bench = Bench(tmp_path, smtp.port, clock)
    try:
        await bench.add_agent("agent-anna")
        await bench.alert(team_accepted("team-1", agent_id="agent-anna"))
        async with bench.unit_of_work(Cause("t", "corr")) as uow:
            await uow.agents.get("agent-anna")
            await uow.agents.update(an_agent("agent-anna", quiet_hours=quiet("21:00", "07:00")))
        worker = bench.worker()

        await worker.run_once()

        [email_row] = [r for r in await bench.rows() if r.channel == EMAIL]
        assert (email_row.status, email_row.attempts) == ("pending", 0)
        assert email_row.next_attempt_at == datetime(2025, 1, 16, 6, 0, tzinfo=UTC)
        assert smtp.messages == []

        clock.set(datetime(2025, 1, 16, 6, 0, tzinfo=UTC))
        await bench.drain(worker)
        assert len(smtp.messages) == 1
    finally:
        await bench.close()


# --- the notify process on real Kafka ----------------------------------------------------------


def notify_process(
    tmp_dir: Path, bootstrap_servers: str, smtp_port: int, **extra_env: str
) -> ServiceProcess:
    """A notify process with its own SQLite file, keys file and log under ``tmp_dir``."""
    return ServiceProcess(
        NOTIFY_MODULE,
        name="notify",
        log_path=tmp_dir / "notify.log",
        env={
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
            "DATABASE_URL": f"sqlite:///{notify_db(tmp_dir)}",
            "CIMIS_API_KEYS_FILE": str(tmp_dir / "api-keys.json"),
            "VAR_DIR": str(tmp_dir / "var"),
            "LOG_JSON": "false",
            "OUTBOX_POLL_SECONDS": "0.1",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_port),
            "SMTP_TIMEOUT_SECONDS": "5",
            "WEBHOOK_TIMEOUT_SECONDS": "5",
            "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
            "WEBHOOK_ALLOW_HTTP": "true",
            # Its own group: a killed instance in a shared group would hold partitions until its
            # session times out. The topics' history is read too; assertions look at own ids.
            "CONSUMER_GROUP": f"cimis-notify-test-{uuid.uuid4().hex[:12]}",
            "DELIVERY_POLL_SECONDS": "0.1",
            "DELIVERY_CLAIM_SECONDS": "8",
            "DELIVERY_RETRY_BASE_SECONDS": "0.2",
            "DELIVERY_RETRY_MAX_SECONDS": "1",
            "DELIVERY_MAX_ATTEMPTS": "100",
            **extra_env,
        },
    )


def notify_db(tmp_dir: Path) -> Path:
    return tmp_dir / "notify.db"


def query(db_path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read the process's SQLite file directly (it runs in another process)."""
    with contextlib.closing(sqlite3.connect(db_path, timeout=10)) as connection:
        return list(connection.execute(sql, params).fetchall())


def staff_token(process: ServiceProcess) -> str:
    """A staff key in the process's keys file; create it before start (no file, no start)."""
    keys_file = Path(process.env["CIMIS_API_KEYS_FILE"])
    return create_key(keys_file, role=Role.STAFF, principal="sam")


async def put_agent(process: ServiceProcess, token: str, agent_id: str, email_address: str) -> None:
    async with httpx.AsyncClient(base_url=process.base_url, timeout=30.0) as client:
        response = await client.put(
            f"/api/v1/agents/{agent_id}",
            # No weekly digest: these tests count the alerts' mails.
            json={"name": "Anna", "email": email_address, "digest": None},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200, response.text


async def wait_for(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} not reached within {timeout:.0f}s"
        await asyncio.sleep(0.1)


def pending_deliveries(db_path: Path, recipient: str) -> int:
    """The recipient's deliveries not yet sent (the topics' history may alert others too)."""
    [(count,)] = query(
        db_path,
        "SELECT count(*) FROM deliveries JOIN notifications n ON n.id = notification_id"
        " WHERE status = 'pending' AND n.recipient = ?",
        recipient,
    )
    return int(count)


def unique_agent() -> tuple[str, str]:
    agent_id = f"agent-{uuid.uuid4().hex[:8]}"
    return agent_id, f"{agent_id}@example.org"


@pytest.mark.kafka
@pytest.mark.slow
async def test_the_same_threshold_event_delivered_twice_sends_one_email(
    tmp_path: Path, kafka_bootstrap: str, smtp: SmtpServer
) -> None:
    agent_id, address = unique_agent()
    team_id = f"team-{uuid.uuid4().hex[:12]}"
    crossed = envelope(threshold_crossed(team_id), at=datetime.now(UTC))
    process = notify_process(tmp_path, kafka_bootstrap, smtp.port)
    token = staff_token(process)
    async with process:
        await put_agent(process, token, agent_id, address)

        # The threshold overtakes its team_accepted (another topic) and then comes again.
        await publish(
            kafka_bootstrap,
            crossed,
            envelope(team_accepted(team_id, agent_id=agent_id), at=datetime.now(UTC)),
            crossed,
            envelope(plan_completed(team_id), at=datetime.now(UTC)),  # the last one, a marker
        )

        def marker_mailed() -> bool:
            return any("Meilensteine" in m.message["Subject"] for m in smtp.to(address))

        await wait_for(marker_mailed, "the plan_completed mail")
        await wait_for(lambda: pending_deliveries(notify_db(tmp_path), agent_id) == 0, "all sent")

    subjects = sorted(str(m.message["Subject"]) for m in smtp.to(address))
    assert subjects == [
        "80 % des Budgets ausgegeben: Terminbuchung 2.0",
        "Alle Meilensteine erreicht: Terminbuchung 2.0",
        "Neues Team: Terminbuchung 2.0",
    ]
    rows = query(
        notify_db(tmp_path), "SELECT kind, event_id FROM notifications WHERE team_id = ?", team_id
    )
    assert sorted(kind for kind, _ in rows) == [
        "plan_completed",
        "team_assigned",
        "threshold_crossed",
    ]
    assert dict(rows)["threshold_crossed"] == crossed.id
    # Only this team's: the shared topics also carry other tests' teams, which stay parked.
    parked = "SELECT count(*) FROM parked_events WHERE team_id = ?"
    assert query(notify_db(tmp_path), parked, team_id) == [(0,)]


@pytest.mark.kafka
@pytest.mark.slow
async def test_the_process_publishes_delivery_events_on_its_topic(
    tmp_path: Path, kafka_bootstrap: str, smtp: SmtpServer
) -> None:
    agent_id, address = unique_agent()
    team_id = f"team-{uuid.uuid4().hex[:12]}"
    process = notify_process(tmp_path, kafka_bootstrap, smtp.port)
    token = staff_token(process)
    async with process:
        await put_agent(process, token, agent_id, address)
        await publish(
            kafka_bootstrap,
            envelope(team_accepted(team_id, agent_id=agent_id), at=datetime.now(UTC)),
        )

        def delivered(records: Any) -> bool:
            return {
                parse_event(r.value).data["channel"] for r in records if r.key == team_id.encode()
            } >= {"inbox", "email"}

        records = await read_topic_until(kafka_bootstrap, topics.NOTIFY, delivered, timeout=60)

    mine = [parse_event(r.value) for r in records if r.key == team_id.encode()]
    assert {e.type for e in mine} == {NotificationDeliveredV1.TYPE}
    assert sorted(e.data["channel"] for e in mine) == ["email", "inbox"]
    assert len(smtp.to(address)) == 1
