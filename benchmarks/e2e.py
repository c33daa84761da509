"""End-to-end latency: HTTP accept at intake to the agent's alert, five real service processes.

The five services run as real processes (``cimis_devtools.processes.ServiceProcess``, as the
chaos run starts them), each its own Kafka principal where the broker is the local one, with
a consumer group unique to the run that starts at the end of every topic it reads. Notify
mails through an SMTP sink in this process (the chaos run's ``MailSink``, timed here).

Each phase first forms its teams (company and creative application, team proposed; not
timed), then accepts them open loop at a fixed rate: the n-th ``POST /teams/{id}/accept``
is sent at ``n / rate`` seconds whether or not earlier ones have been answered. Times:

- accepted: when the client has intake's 200 (the team-accepted event is in intake's outbox);
- mail (the headline figure): when the SMTP sink has the ``team_assigned`` mail to the team's
  agent. Both ends on this process's clock, and it is what the agent actually receives: the
  notification committed and delivered, including the delivery worker's polling interval.
- inbox: the ``created_at`` of the notification row, notify's clock (same machine), stamped
  inside the consuming transaction just before its commit: a lower bound of when the in-app
  alert became visible.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from benchmarks.service_run import skip_to_end
from benchmarks.workload import percentiles
from cimis_chassis.auth import Role, create_key
from cimis_chassis.database import Database
from cimis_chassis.kafka import ensure_topics
from cimis_contracts import topics
from cimis_devtools.chaos.client import Api
from cimis_devtools.chaos.runner import DISTRICTS
from cimis_devtools.chaos.sinks import MailSink
from cimis_devtools.identifiers import vat_id
from cimis_devtools.kafka_access import SERVICES, KafkaAccess
from cimis_devtools.processes import ServiceProcess

STAFF = "bench-staff"
AGENTS = tuple(f"agent-bench-{i:02d}" for i in range(10))
TEAM_ASSIGNED = "team_assigned"  # notify's kind of the alert a team's acceptance raises
START_SECONDS = 120.0
# How long after the last acceptance of a phase its alerts may still arrive.
DRAIN_SECONDS = 120.0
FORMING_CONCURRENCY = 16
IDLE_SETTLE_SECONDS = 3.0
IDLE_CPU_SECONDS = 10.0


class TimedMailSink(MailSink):
    """The chaos run's SMTP sink, also noting when each (kind, team) first arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.received: dict[tuple[str, str], float] = {}

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        mail = self.mails[-1]
        self.received.setdefault((mail.kind, mail.team_id), time.time())
        return answer


@dataclass
class Phase:
    rate: float
    seconds: float
    teams: list[str] = field(default_factory=list)
    sent: dict[str, float] = field(default_factory=dict)
    accepted: dict[str, float] = field(default_factory=dict)
    lag: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # CPU seconds per service and the machine's busy and total seconds, from accept to mail.
    cpu: dict[str, float] = field(default_factory=dict)
    machine_busy: float = 0.0
    machine_total: float = 0.0


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | None) -> float:
    """User plus system CPU time of ``pid`` so far, from /proc/<pid>/stat."""
    if pid is None:
        return 0.0
    try:
        # The fields after the command's closing parenthesis; utime and stime are 14 and 15.
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def machine_seconds() -> tuple[float, float]:
    """The whole machine's (busy, total) CPU seconds so far, over all cores, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle and iowait
    return (sum(values) - idle) / _TICKS, sum(values) / _TICKS


def rss_kib(pid: int | None) -> dict[str, int | None]:
    """VmRSS (resident now) and VmHWM (its peak) of ``pid`` in KiB, from /proc/<pid>/status."""
    found: dict[str, int | None] = {"VmRSS": None, "VmHWM": None}
    if pid is None:
        return found
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in found:
                found[key] = int(value.split()[0])
    except (OSError, ValueError):
        pass
    return found


def eur(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


class Platform:
    """The five services as processes on the benchmark's broker, one database each."""

    def __init__(
        self,
        workdir: Path,
        bootstrap: str,
        access: KafkaAccess | None,
        database_for: Callable[[str], str],
        database_label: str,
    ) -> None:
        self.workdir = workdir / f"e2e-{uuid.uuid4().hex[:6]}"
        self.run = uuid.uuid4().hex[:8]
        self.bootstrap = bootstrap
        self.access = access
        self.database_label = database_label
        self.mail = TimedMailSink()
        self.keys = self.workdir / "api-keys.json"
        self.workdir.mkdir(parents=True)
        self.tokens = {STAFF: create_key(self.keys, role=Role.STAFF, principal=STAFF)}
        self.urls = {name: database_for(f"e2e_{name}_{self.run}") for name in SERVICES}
        self.processes = {name: self._process(name) for name in SERVICES}
        self.api = Api(lambda name: [self.processes[name]], self.tokens, seed=0)

    def group(self, service: str) -> str:
        # The platform's ACLs give each service the groups prefixed cimis-<service>.
        return f"cimis-{service}-bench-{self.run}"

    def _process(self, service: str) -> ServiceProcess:
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "DATABASE_URL": self.urls[service],
            "CIMIS_API_KEYS_FILE": str(self.keys),
            "VAR_DIR": str(self.workdir / "var" / service),
            "CONSUMER_GROUP": self.group(service),
            "LOG_JSON": "false",
            # One staff key drives the whole load: the per-key limits are not under test.
            "HTTP_RATE_PER_KEY_PER_SECOND": "100000",
            "HTTP_RATE_BURST_PER_KEY": "1000000",
        }
        if self.access is not None:
            env["KAFKA_CLIENT_CONFIG"] = str(self.access.client_file(service))
        if service == "notify":
            env.update(SMTP_HOST="127.0.0.1", SMTP_PORT=str(self.mail.port))
        return ServiceProcess(
            f"services.{service}.entrypoints.main",
            env=env,
            log_path=self.workdir / "logs" / f"{service}.log",
            name=service,
        )

    async def start(self) -> None:
        await ensure_topics(self.bootstrap, topics.all_topics())
        for service, consumed in topics.CONSUMES.items():
            await skip_to_end(self.bootstrap, self.group(service), consumed)
        self.mail.start()
        for process in self.processes.values():
            await process.start(START_SECONDS)

    async def stop(self) -> None:
        for process in self.processes.values():
            with contextlib.suppress(Exception):
                await process.stop(grace=20)
        with contextlib.suppress(Exception):
            await self.api.close()
        with contextlib.suppress(Exception):
            self.mail.stop()

    def memory(self) -> dict[str, dict[str, int | None]]:
        return {name: rss_kib(p.pid) for name, p in self.processes.items()}

    def cpu(self) -> dict[str, float]:
        return {name: cpu_seconds(p.pid) for name, p in self.processes.items()}

    async def command(
        self,
        service: str,
        method: str,
        path: str,
        body: Any = None,
        wait_on: tuple[int | str, ...] = (),
    ) -> Any:
        return await self.api.command(
            service, method, path, principal=STAFF, body=body, wait_on=wait_on
        )

    async def open_call(self, teams: int) -> str:
        now = datetime.now(UTC)
        answer = await self.command(
            "intake",
            "POST",
            "/api/v1/calls",
            {
                "title": f"Bench {self.run}",
                "districts": DISTRICTS,
                "opens_at": (now - timedelta(days=1)).isoformat(),
                "closes_at": (now + timedelta(days=60)).isoformat(),
                "total_budget": eur((teams + 10) * 50_000_00),
                "max_team_budget": eur(50_000_00),
            },
        )
        return str(answer["id"])

    async def register_agents(self) -> None:
        for agent in AGENTS:
            body = {"name": f"Agentin {agent}", "email": f"{agent}@example.org", "digest": None}
            await self.command("notify", "PUT", f"/api/v1/agents/{agent}", body)

    async def form_team(self, call_id: str, n: int) -> str:
        """A company and a creative apply, staff propose them as a team: its id."""
        common = {"call_id": call_id, "district": DISTRICTS[n % len(DISTRICTS)]}
        company = await self.command(
            "intake",
            "POST",
            "/api/v1/applications",
            common
            | {
                "kind": "company",
                "name": f"Firma {self.run}-{n}",
                "contact_email": f"firma{n}@example.org",
                "employees": 12,
                "annual_turnover": "1500000.00",
                "de_minimis_prior_aid": "0.00",
                "challenge": "Terminbuchung digitalisieren",
                "undertaking_id": vat_id(n + 1),
            },
        )
        creative = await self.command(
            "intake",
            "POST",
            "/api/v1/applications",
            common
            | {
                "kind": "creative",
                "name": f"Kreativ {self.run}-{n}",
                "contact_email": f"kreativ{n}@example.org",
                "expertise": "Service-Design",
            },
        )
        team = await self.command(
            "intake",
            "POST",
            "/api/v1/teams",
            {
                "call_id": call_id,
                "title": f"Team {self.run}-{n}",
                "challenge": "Terminbuchung digitalisieren",
                "company_application_id": company["id"],
                "creative_application_ids": [creative["id"]],
                "agent_id": AGENTS[n % len(AGENTS)],
                "budget": "20000.00",
            },
            # Intake learns the agents registered above from notify's events, a moment later.
            wait_on=("unknown-agent",),
        )
        return str(team["id"])

    async def form_teams(self, call_id: str, first: int, count: int) -> list[str]:
        gate = asyncio.Semaphore(FORMING_CONCURRENCY)

        async def one(n: int) -> str:
            async with gate:
                return await self.form_team(call_id, n)

        return list(await asyncio.gather(*(one(first + n) for n in range(count))))

    async def accept_open_loop(self, phase: Phase) -> None:
        """Send the phase's accepts at its rate, not waiting for answers (open loop)."""
        intake = self.processes["intake"]
        headers = {"Authorization": f"Bearer {self.tokens[STAFF]}"}
        # Idle connections are dropped before uvicorn's own 5 s keep-alive closes them: at the
        # same 5 s a request could go out on a connection the server was closing (ReadError).
        limits = httpx.Limits(
            max_connections=500, max_keepalive_connections=100, keepalive_expiry=2.0
        )
        async with httpx.AsyncClient(
            base_url=intake.base_url, headers=headers, timeout=60.0, limits=limits
        ) as client:

            async def accept(team_id: str) -> None:
                phase.sent[team_id] = time.time()
                try:
                    response = await client.post(f"/api/v1/teams/{team_id}/accept")
                except httpx.HTTPError as exc:
                    phase.errors.append(f"{team_id}: {type(exc).__name__}: {exc}")
                    return
                if response.status_code == 200:
                    phase.accepted[team_id] = time.time()
                else:
                    phase.errors.append(f"{team_id}: {response.status_code} {response.text[:200]}")

            start = time.perf_counter() + 0.2
            tasks = []
            for n, team_id in enumerate(phase.teams):
                due = start + n / phase.rate
                if (wait := due - time.perf_counter()) > 0:
                    await asyncio.sleep(wait)
                phase.lag.append(max(0.0, time.perf_counter() - due))
                tasks.append(asyncio.create_task(accept(team_id)))
            await asyncio.gather(*tasks)

    async def wait_for_mail(self, phase: Phase) -> None:
        deadline = time.monotonic() + DRAIN_SECONDS
        wanted = [(TEAM_ASSIGNED, team) for team in phase.accepted]
        while time.monotonic() < deadline:
            if all(key in self.mail.received for key in wanted):
                return
            await asyncio.sleep(0.2)

    async def inbox_times(self, team_ids: list[str]) -> dict[str, float]:
        """The ``created_at`` of each team's team-assigned notification, as a Unix time."""
        found: dict[str, float] = {}
        db = Database(self.urls["notify"])
        try:
            async with db.sessions() as session:
                rows = await session.execute(
                    text("SELECT team_id, created_at FROM notifications WHERE kind = :kind"),
                    {"kind": TEAM_ASSIGNED},
                )
                wanted = set(team_ids)
                for team_id, created in rows:
                    if team_id in wanted:
                        found[str(team_id)] = _unix(created)
        finally:
            await db.dispose()
        return found


def _unix(value: datetime | str) -> float:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


async def run_e2e(
    workdir: Path,
    bootstrap: str,
    access: KafkaAccess | None,
    database_for: Callable[[str], str],
    database_label: str,
    phases: list[tuple[float, float]],
) -> dict[str, Any]:
    """Start the platform, measure each (rate, seconds) phase, read memory; figures as a dict."""
    platform = Platform(workdir, bootstrap, access, database_for, database_label)
    report: dict[str, Any] = {"database": database_label, "phases": []}
    try:
        await platform.start()
        await asyncio.sleep(IDLE_SETTLE_SECONDS)
        report["memory_idle_kib"] = platform.memory()
        # What each service spends doing nothing (its pollers and scans), as a share of a core.
        idle_before = platform.cpu()
        await asyncio.sleep(IDLE_CPU_SECONDS)
        report["idle_cpu_share"] = {
            service: round((seconds - idle_before[service]) / IDLE_CPU_SECONDS, 3)
            for service, seconds in platform.cpu().items()
        }
        await platform.register_agents()
        runs = [Phase(rate, seconds) for rate, seconds in phases]
        call_id = await platform.open_call(sum(round(p.rate * p.seconds) for p in runs))
        formed = 0
        for phase in runs:
            count = round(phase.rate * phase.seconds)
            started = time.perf_counter()
            phase.teams = await platform.form_teams(call_id, formed, count)
            formed += count
            forming = time.perf_counter() - started
            # Let the proposals' own traffic settle before the clock starts.
            await asyncio.sleep(2.0)
            cpu_before, (busy_before, total_before) = platform.cpu(), machine_seconds()
            await platform.accept_open_loop(phase)
            await platform.wait_for_mail(phase)
            cpu_after, (busy_after, total_after) = platform.cpu(), machine_seconds()
            phase.cpu = {s: cpu_after[s] - cpu_before[s] for s in cpu_before}
            phase.machine_busy = busy_after - busy_before
            phase.machine_total = total_after - total_before
            report["phases"].append(
                _phase_figures(phase, platform, await platform.inbox_times(phase.teams), forming)
            )
        report["memory_after_load_kib"] = platform.memory()
    finally:
        await platform.stop()
    report["delivery_poll_seconds"] = "notify default (DELIVERY_POLL_SECONDS unset)"
    report["logs"] = str(platform.workdir / "logs")
    return report


def _phase_figures(
    phase: Phase, platform: Platform, inbox: dict[str, float], forming_seconds: float
) -> dict[str, Any]:
    mail = platform.mail.received
    http = [phase.accepted[t] - phase.sent[t] for t in phase.accepted]
    to_mail = [
        mail[(TEAM_ASSIGNED, t)] - phase.accepted[t]
        for t in phase.accepted
        if (TEAM_ASSIGNED, t) in mail
    ]
    to_inbox = [inbox[t] - phase.accepted[t] for t in phase.accepted if t in inbox]
    offered = len(phase.teams)
    span = max(phase.sent.values()) - min(phase.sent.values()) if phase.sent else 0.0
    return {
        "rate_per_second": phase.rate,
        "seconds": phase.seconds,
        "teams": offered,
        "achieved_send_rate": round((offered - 1) / span, 1) if span > 0 else None,
        "max_send_lag_ms": round(max(phase.lag) * 1000, 1) if phase.lag else None,
        "accepted": len(phase.accepted),
        "errors": len(phase.errors),
        "first_errors": phase.errors[:5],
        "alerts_mailed": len(to_mail),
        "alerts_in_inbox": len(to_inbox),
        "forming_seconds": round(forming_seconds, 1),
        "accept_http_ms": percentiles(http),
        "accept_to_mail_ms": percentiles(to_mail),
        "accept_to_inbox_row_ms": percentiles(to_inbox),
        # From the first accept until the last mail arrived: what each acceptance cost each
        # service, and how busy the machine was (all processes, the broker and PostgreSQL too).
        "cpu_ms_per_accept": {
            service: round(seconds * 1000 / max(1, len(phase.accepted)), 1)
            for service, seconds in phase.cpu.items()
        },
        "machine_busy_share": (
            round(phase.machine_busy / phase.machine_total, 2) if phase.machine_total else None
        ),
    }
