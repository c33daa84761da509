"""The five service processes under a real Prometheus: metrics, dashboards and alerts all work.

One scenario runs once for the module: intake opens a call and accepts a team, budget books it
and approves an expense, milestones (its clock 20 days ahead) finds the kickoff overdue, notify
mails the agent through a real SMTP server, outcomes' burn-rate scan (every second) holds the
teams against their plans, and a malformed record on cimis.intake.v1 is dead-lettered by every
consumer. Prometheus (Debian's binary, the `make run` configuration
with a 1 s scrape interval) scrapes the processes; the tests then query it the way Grafana and
the rule evaluator do.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from benchmarks.service_run import skip_to_end
from cimis_chassis.auth import Role, create_key
from cimis_chassis.kafka import ensure_topics
from cimis_chassis.kafka_client import aiokafka_options
from cimis_contracts import topics
from cimis_contracts.intake import TeamAcceptedV1
from cimis_devtools.kafka_local import find_free_port
from cimis_devtools.prometheus_local import LocalPrometheus
from cimis_devtools.smtp_sink import SmtpSink
from tests.integration.test_intake_events_on_kafka import IntakeApi
from tests.ops.support import (
    DashboardQuery,
    alert_rules,
    dashboard_queries,
    promtool,
    tool,
)
from tests.support.processes import ServiceProcess, local_service

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

SERVICES = ("intake", "budget", "milestones", "notify", "outcomes")
CONSUMERS = ("budget", "milestones", "notify", "outcomes")
# Past the kickoff (14 days after acceptance), short of the workshop (42 days).
MILESTONES_CLOCK_OFFSET = timedelta(days=20)
# Bounded waits: processes under a shared broker's whole history on two cores.
SCENARIO_TIMEOUT = 120.0
QUERY_TIMEOUT = 60.0

CHASSIS_SERIES = {
    "cimis_outbox_pending_rows",
    "cimis_outbox_oldest_pending_age_seconds",
    "cimis_outbox_published_events_total",
    "cimis_events_consumed_total",
    "cimis_event_end_to_end_lag_seconds",
    "cimis_consumer_lag_records",
    "cimis_consumer_stalled",
    "cimis_consumer_last_progress_age_seconds",
    "cimis_dead_lettered_events_total",
    "cimis_http_requests_total",
    "cimis_http_request_duration_seconds",
    "cimis_readiness_check",
    "faststream_received_messages_total",
    "faststream_received_processed_messages_duration_seconds",
    "faststream_published_messages_total",
    "process_resident_memory_bytes",
}
BUSINESS_SERIES = {
    "intake": set(),
    "budget": {
        "cimis_budget_pot_total_cents",
        "cimis_budget_allocated_cents",
        "cimis_budget_released_cents",
        "cimis_budget_spent_cents",
        "cimis_budget_paid_cents",
        "cimis_budget_pot_available_cents",
        "cimis_budget_ledger_imbalance_cents",
        "cimis_budget_reconcile_problems",
    },
    "milestones": {"cimis_milestones_overdue"},
    "notify": {
        "cimis_notify_deliveries_total",
        "cimis_notify_pending_deliveries",
        "cimis_notify_parked_events",
    },
    "outcomes": {
        "cimis_outcomes_teams_by_burn_rate",
        "cimis_outcomes_forecast_unspent_cents",
    },
}

# Every dashboard panel, by (dashboard, panel): the scenario must fill these...
MUST_HAVE_DATA = {
    ("CIMIS services", "Scrape up"),
    ("CIMIS services", "Readiness checks"),
    ("CIMIS services", "HTTP requests by status class"),
    ("CIMIS services", "HTTP server error ratio"),
    ("CIMIS services", "HTTP request duration p95"),
    ("CIMIS services", "Events consumed by outcome"),
    ("CIMIS services", "End-to-end lag p95 (objective 30 s)"),
    ("CIMIS services", "Consumer lag by topic and partition"),
    ("CIMIS services", "Batch handling duration p95"),
    ("CIMIS services", "Dead-lettered records (since process start)"),
    ("CIMIS services", "Events published"),
    ("CIMIS services", "Outbox pending rows"),
    ("CIMIS services", "Oldest pending outbox row"),
    ("CIMIS services", "CPU"),
    ("CIMIS services", "Resident memory"),
    ("CIMIS programme", "Pot"),
    ("CIMIS programme", "Allocated to teams"),
    ("CIMIS programme", "Released to teams"),
    ("CIMIS programme", "Spent"),
    ("CIMIS programme", "Books per call"),
    ("CIMIS programme", "Ledger imbalance"),
    ("CIMIS programme", "Overdue milestones"),
    ("CIMIS programme", "Overdue milestones over time"),
    ("CIMIS programme", "Milestone events"),
    ("CIMIS programme", "Deliveries by channel and outcome"),
    ("CIMIS programme", "Deliveries (since process start)"),
    ("CIMIS programme", "Waiting deliveries and parked events"),
    ("CIMIS programme", "Teams by burn rate per call"),
    ("CIMIS programme", "Money likely left unspent per call"),
}
# ...and these may stay empty, because nothing in the scenario fails.
MAY_BE_EMPTY = {
    ("CIMIS services", "Handler exceptions"),
}

# Alerts whose expression the scenario must make true, and those it must leave quiet.
MUST_FIRE = {"CimisEventsDeadLettered", "CimisMilestonesOverdue"}
MUST_STAY_QUIET = {
    "CimisServiceDown",
    "CimisServiceNotReady",
    "CimisOutboxStuck",
    "CimisLedgerImbalance",
    "CimisBudgetReconcileProblems",
    "CimisConsumerStalled",
    # Both teams start today: nothing is expected of them yet.
    "CimisTeamsBehindPlan",
}


@dataclass
class Scenario:
    call_id: str = ""
    team_ids: list[str] = field(default_factory=list)
    agent_id: str = ""
    forecast: dict[str, Any] = field(default_factory=dict)


@dataclass
class Platform:
    processes: dict[str, ServiceProcess]
    prometheus: LocalPrometheus
    scenario: Scenario = field(default_factory=Scenario)

    async def query(self, promql: str) -> list[dict[str, Any]]:
        """Instant query; fails the test on anything but a successful vector or scalar."""
        async with httpx.AsyncClient(base_url=self.prometheus.url, timeout=30) as client:
            response = await client.get("/api/v1/query", params={"query": promql})
        body = response.json()
        assert response.status_code == 200, (promql, body)
        assert body["status"] == "success", (promql, body)
        result: Any = body["data"]["result"]
        if body["data"]["resultType"] == "scalar":
            return [{"metric": {}, "value": result}]
        assert isinstance(result, list)
        return result

    async def services_with(self, promql: str) -> set[str]:
        return {sample["metric"].get("service", "") for sample in await self.query(promql)}

    async def wait_for(
        self, what: str, condition: Callable[[], Awaitable[bool]], timeout: float = QUERY_TIMEOUT
    ) -> None:
        """Poll ``condition`` once a second (a scrape interval) until it holds."""
        deadline = time.monotonic() + timeout
        while not await condition():
            assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f}s"
            await asyncio.sleep(1.0)

    async def wait_for_services(self, promql: str, services: set[str], what: str) -> None:
        async def seen() -> bool:
            return await self.services_with(promql) >= services

        await self.wait_for(what, seen, SCENARIO_TIMEOUT)


def has_value(result: list[dict[str, Any]]) -> bool:
    """At least one sample that is a number (histogram_quantile over no traffic gives NaN)."""
    return any(not math.isnan(float(sample["value"][1])) for sample in result)


def _process(name: str, tmp: Path, bootstrap: str, keys_file: Path, **extra: str) -> ServiceProcess:
    # The shared broker's history is read too (outcomes excepted, see below).
    group = extra.pop("CONSUMER_GROUP", f"cimis-{name}-ops-{uuid.uuid4().hex[:12]}")
    return local_service(name, tmp, bootstrap, keys_file, group=group, **extra)


def _json(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    body: dict[str, Any] = response.json()
    return body


class _Actors:
    """The scenario's API calls, each as the role the API demands."""

    def __init__(self, platform: Platform, keys_file: Path) -> None:
        self.urls = {name: p.base_url for name, p in platform.processes.items()}
        staff = create_key(keys_file, role=Role.STAFF, principal="sam")
        self.as_staff = {"Authorization": f"Bearer {staff}"}
        finance = create_key(keys_file, role=Role.FINANCE, principal="fiona")
        self.as_finance = {"Authorization": f"Bearer {finance}"}
        self.intake = IntakeApi(self.urls["intake"], staff)

    async def call(
        self, service: str, method: str, path: str, who: dict[str, str], body: Any = None
    ) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.urls[service], timeout=30) as client:
            return await client.request(method, path, json=body, headers=who)

    async def accepted_team(self, call_id: str, agent_id: str) -> str:
        company = await self.intake.apply(call_id, "company")
        creative = await self.intake.apply(call_id, "creative")
        team = _json(
            await self.intake.post_once_agent_known(
                "/api/v1/teams",
                {
                    "call_id": call_id,
                    "title": "Betriebsdaten sichtbar machen",
                    "challenge": "Digitale Terminbuchung",
                    "company_application_id": company["id"],
                    "creative_application_ids": [creative["id"]],
                    "agent_id": agent_id,
                    "budget": "45000.00",
                },
            ),
            201,
        )
        _json(await self.intake.accept(team["id"]), 200)
        deadline = time.monotonic() + SCENARIO_TIMEOUT
        path = f"/api/v1/teams/{team['id']}/budget"
        while (await self.call("budget", "GET", path, self.as_finance)).status_code != 200:
            assert time.monotonic() < deadline, "budget never booked the accepted team"
            await asyncio.sleep(0.5)
        return str(team["id"])

    async def forecast_with_spending(self, team_id: str, spent: str) -> dict[str, Any]:
        """The team's forecast once outcomes has its plan and the approved expense."""
        deadline = time.monotonic() + SCENARIO_TIMEOUT
        path = f"/api/v1/teams/{team_id}/forecast"
        while True:
            response = await self.call("outcomes", "GET", path, self.as_finance)
            if response.status_code == 200 and response.json()["spent"] == spent:
                return _json(response, 200)
            assert time.monotonic() < deadline, f"outcomes' forecast: {response.text}"
            await asyncio.sleep(0.5)


async def _run_scenario(platform: Platform, keys_file: Path, bootstrap: str) -> None:
    scenario = platform.scenario
    scenario.agent_id = f"agent-ops-{uuid.uuid4().hex[:8]}"
    actors = _Actors(platform, keys_file)
    _json(
        await actors.call(
            "notify",
            "PUT",
            f"/api/v1/agents/{scenario.agent_id}",
            actors.as_staff,
            {"name": "Ops Agentin", "email": "ops.agentin@example.org", "digest": None},
        ),
        200,
    )
    scenario.call_id = (await actors.intake.open_call())["id"]
    scenario.team_ids.append(await actors.accepted_team(scenario.call_id, scenario.agent_id))

    # A series is born at its first observation, which rate() cannot see: let Prometheus
    # record the first team's series before a second team moves them.
    await platform.wait_for_services(
        f'cimis_event_end_to_end_lag_seconds_count{{type="{TeamAcceptedV1.TYPE}"}}',
        set(CONSUMERS),
        "every consumer's end-to-end lag of the first team_accepted scraped",
    )
    scenario.team_ids.append(await actors.accepted_team(scenario.call_id, scenario.agent_id))

    expense = _json(
        await actors.call(
            "budget",
            "POST",
            f"/api/v1/teams/{scenario.team_ids[0]}/expenses",
            actors.as_staff,
            {
                "position": "material",
                "net": "1000.00",
                "vat": "190.00",
                "receipt_number": "R-2024-001",
                # Today in Saxony: the team was accepted today, and costs count from then.
                "receipt_date": datetime.now(ZoneInfo("Europe/Berlin")).date().isoformat(),
                "payee": "Werkstatt Annaberg",
                "purpose": "Prototyp-Material",
            },
        ),
        201,
    )
    path = f"/api/v1/expenses/{expense['id']}/approve"
    _json(await actors.call("budget", "POST", path, actors.as_finance), 200)
    scenario.forecast = await actors.forecast_with_spending(scenario.team_ids[0], "1190.00")

    producer = AIOKafkaProducer(**aiokafka_options(bootstrap), enable_idempotence=True)
    await producer.start()
    try:
        garbage = f'{{"not": "a cloud event", "marker": "{uuid.uuid4()}"}}'.encode()
        await producer.send_and_wait(topics.INTAKE, garbage, key=b"ops-poison")
    finally:
        await producer.stop()


@pytest.fixture(scope="module")
async def platform(
    tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str
) -> AsyncIterator[Platform]:
    tool("prometheus", "prometheus")
    tmp = tmp_path_factory.mktemp("ops-platform")
    keys_file = tmp / "api-keys.json"
    create_key(keys_file, role=Role.ADMIN, principal="ops-tests")
    # Outcomes starts at the end of the shared broker's topics: read from the start, the
    # teams of earlier tests (some of them behind their plans, by design) would raise the burn
    # rate alert this platform must keep quiet.
    outcomes_group = f"cimis-outcomes-ops-{uuid.uuid4().hex[:12]}"
    await ensure_topics(kafka_bootstrap, topics.all_topics())
    await skip_to_end(kafka_bootstrap, outcomes_group, topics.CONSUMES["outcomes"])
    sink = SmtpSink(tmp / "mail", find_free_port(), report=lambda _line: None)
    sink.start()
    processes = {
        "intake": _process("intake", tmp, kafka_bootstrap, keys_file),
        "budget": _process("budget", tmp, kafka_bootstrap, keys_file, RECONCILE_SECONDS="1"),
        "milestones": _process(
            "milestones",
            tmp,
            kafka_bootstrap,
            keys_file,
            OVERDUE_SCAN_SECONDS="1",
            CIMIS_CLOCK_OFFSET_SECONDS=str(int(MILESTONES_CLOCK_OFFSET.total_seconds())),
        ),
        "notify": _process(
            "notify",
            tmp,
            kafka_bootstrap,
            keys_file,
            SMTP_HOST=sink.host,
            SMTP_PORT=str(sink.port),
            SMTP_SECURITY="none",
            SMTP_TIMEOUT_SECONDS="5",
            WEBHOOK_TIMEOUT_SECONDS="5",
            DELIVERY_POLL_SECONDS="0.2",
        ),
        "outcomes": _process(
            "outcomes",
            tmp,
            kafka_bootstrap,
            keys_file,
            FORECAST_SCAN_SECONDS="1",
            CONSUMER_GROUP=outcomes_group,
        ),
    }
    prometheus = LocalPrometheus(
        tmp / "prometheus",
        {name: process.port for name, process in processes.items()},
        port=find_free_port(),
        scrape_interval="1s",
    )
    platform = Platform(processes, prometheus)
    try:
        # One at a time: five interpreters importing at once on two cores only wait longer.
        for process in processes.values():
            await process.start(timeout=90)
        await asyncio.to_thread(prometheus.start)
        # Prometheus applies its targets a few seconds after it is ready.
        await platform.wait_for_services('up{job="cimis"} == 1', set(SERVICES), "first scrapes")
        await _run_scenario(platform, keys_file, kafka_bootstrap)
        yield platform
    finally:
        prometheus.stop()
        for process in processes.values():
            await process.stop()
        sink.stop()


async def test_every_service_exports_the_chassis_and_business_series_promtool_accepts(
    platform: Platform,
) -> None:
    for name, process in platform.processes.items():
        response = await process.wait_for_status("/metrics", 200)
        exposition = response.text

        checked = promtool("check", "metrics", stdin=exposition.encode())

        assert checked.returncode == 0, f"{name}: {checked.stdout}{checked.stderr}"
        assert checked.stdout.strip() == checked.stderr.strip() == "", (
            f"promtool warns about {name}'s metrics:\n{checked.stdout}{checked.stderr}"
        )
        families = {
            line.split()[2] for line in exposition.splitlines() if line.startswith("# TYPE ")
        }
        missing = (CHASSIS_SERIES | BUSINESS_SERIES[name]) - families
        assert not missing, f"{name} does not export {sorted(missing)}"


async def test_prometheus_scrapes_all_five_services_and_each_is_ready(platform: Platform) -> None:
    await platform.wait_for_services('up{job="cimis"} == 1', set(SERVICES), "all scraped")
    await platform.wait_for_services(
        'min by (service) (cimis_readiness_check{job="cimis"}) == 1',
        set(SERVICES),
        "every readiness check passing",
    )


async def test_the_scenario_shows_in_the_business_and_dead_letter_series(
    platform: Platform,
) -> None:
    call = platform.scenario.call_id
    expected = {
        # Two teams of 45,000.00 EUR, 40 % of each released on acceptance, and 1,190.00 EUR
        # gross approved (the company may not deduct input VAT).
        f'cimis_budget_allocated_cents{{call="{call}"}}': 9_000_000,
        f'cimis_budget_released_cents{{call="{call}"}}': 3_600_000,
        f'cimis_budget_spent_cents{{call="{call}"}}': 119_000,
        # Approved, not yet paid out: the two figures stay apart.
        f'cimis_budget_paid_cents{{call="{call}"}}': 0,
        "cimis_budget_ledger_imbalance_cents": 0,
    }
    seen: dict[str, Any] = {}

    async def books_shown() -> bool:
        for query in expected:
            result = await platform.query(query)
            seen[query] = float(result[0]["value"][1]) if result else None
        return all(seen[q] == v for q, v in expected.items())

    await platform.wait_for(f"budget gauges {expected} (last seen {seen})", books_shown)

    await platform.wait_for_services(
        f'cimis_dead_lettered_events_total{{source_topic="{topics.INTAKE}"}} > 0',
        set(CONSUMERS),
        "the malformed record dead-lettered by every consumer",
    )
    await platform.wait_for_services(
        'cimis_notify_deliveries_total{channel="email", outcome="delivered"} > 0',
        {"notify"},
        "the agent's alerts mailed",
    )
    await platform.wait_for_services(
        "cimis_milestones_overdue > 0", {"milestones"}, "the kickoffs overdue"
    )


async def test_outcomes_holds_the_calls_teams_against_their_plans(platform: Platform) -> None:
    call = platform.scenario.call_id
    # Both teams allocated today: their plans have just begun, so nothing is expected yet and
    # the plan stands (nothing forecast unspent).
    expected = {
        f'cimis_outcomes_teams_by_burn_rate{{call="{call}", status="on_track"}}': 2.0,
        f'cimis_outcomes_teams_by_burn_rate{{call="{call}", status="behind"}}': 0.0,
        f'cimis_outcomes_teams_by_burn_rate{{call="{call}", status="ahead"}}': 0.0,
        f'cimis_outcomes_forecast_unspent_cents{{call="{call}"}}': 0.0,
    }
    seen: dict[str, Any] = {}

    async def burn_rate_shown() -> bool:
        for query in expected:
            result = await platform.query(query)
            seen[query] = float(result[0]["value"][1]) if result else None
        return seen == expected

    await platform.wait_for(
        f"burn-rate gauges {expected} (last seen {seen})", burn_rate_shown, SCENARIO_TIMEOUT
    )
    body = platform.scenario.forecast
    assert (body["status"], body["spent"], body["expected_by_now"]) == (
        "on_track",
        "1190.00",
        "0.00",
    )


async def test_every_dashboard_query_parses_and_the_scenario_fills_the_required_panels(
    platform: Platform,
) -> None:
    queries = dashboard_queries()
    panels = {(q.dashboard, q.panel) for q in queries}
    assert panels == MUST_HAVE_DATA | MAY_BE_EMPTY, (
        "every panel must be listed as needing data or allowed to be empty: "
        f"unlisted {sorted(panels - MUST_HAVE_DATA - MAY_BE_EMPTY)}, "
        f"gone {sorted((MUST_HAVE_DATA | MAY_BE_EMPTY) - panels)}"
    )
    # Grafana's "All": every service and every call.
    everything = {"service": ".*", "call": ".*"}
    for query in queries:
        await platform.query(query.substituted(everything))  # asserts it parses and runs

    empty: list[DashboardQuery] = []

    async def required_panels_filled() -> bool:
        empty.clear()
        for query in queries:
            if (query.dashboard, query.panel) not in MUST_HAVE_DATA:
                continue
            if not has_value(await platform.query(query.substituted(everything))):
                empty.append(query)
        return not empty

    try:
        await platform.wait_for("panels with data", required_panels_filled, SCENARIO_TIMEOUT)
    except AssertionError:
        pytest.fail(
            "empty panels: "
            + "; ".join(f"{q.dashboard} / {q.panel} / {q.ref_id}: {q.expr}" for q in empty)
        )


async def test_the_service_variable_selects_one_service(platform: Platform) -> None:
    [requests] = [q for q in dashboard_queries() if q.panel == "HTTP requests by status class"]
    for name in SERVICES:
        result = await platform.query(requests.substituted({"service": name}))

        assert result, f"no HTTP traffic of {name}"
        assert {sample["metric"]["service"] for sample in result} == {name}


async def test_the_books_table_shows_the_call_in_euros(platform: Platform) -> None:
    call = platform.scenario.call_id
    table = {q.ref_id: q for q in dashboard_queries() if q.panel == "Books per call"}
    # pot, allocated, released, approved, available, paid (approved, none paid out yet)
    expected = {
        "A": 500_000.0,
        "B": 90_000.0,
        "C": 36_000.0,
        "D": 1_190.0,
        "E": 410_000.0,
        "F": 0.0,
    }
    shown: dict[str, Any] = {}

    async def all_columns() -> bool:
        for ref_id, query in table.items():
            result = await platform.query(query.substituted({"call": call}))
            shown[ref_id] = float(result[0]["value"][1]) if result else None
        return shown == expected

    await platform.wait_for(f"books {expected} (shown {shown})", all_columns)


async def test_every_alert_expression_parses_and_the_scenario_fires_the_right_ones(
    platform: Platform,
) -> None:
    rules = {rule["alert"]: rule["expr"] for rule in alert_rules()}
    assert set(rules) >= MUST_FIRE | MUST_STAY_QUIET
    for expr in rules.values():
        await platform.query(expr)  # asserts it parses and runs

    async def expected_ones_fire() -> bool:
        return all([await platform.query(rules[name]) for name in MUST_FIRE])

    await platform.wait_for(f"alert expressions {sorted(MUST_FIRE)} true", expected_ones_fire)
    fired = await platform.query(rules["CimisEventsDeadLettered"])
    assert {s["metric"]["service"] for s in fired} >= set(CONSUMERS)

    # Quiet, allowing for a scrape that timed out on a busy machine a moment ago: the rules
    # that need it have a `for`, and a real fault stays true past the wait.
    firing: list[str] = []

    async def all_quiet() -> bool:
        firing[:] = [name for name in sorted(MUST_STAY_QUIET) if await platform.query(rules[name])]
        return not firing

    try:
        await platform.wait_for(f"alert expressions {sorted(MUST_STAY_QUIET)} false", all_quiet)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; still true: {firing}") from None


async def test_prometheus_evaluates_the_deployed_rules_and_raises_the_dead_letter_alert(
    platform: Platform,
) -> None:
    expected = {rule["alert"] for rule in alert_rules()}
    async with httpx.AsyncClient(base_url=platform.prometheus.url, timeout=30) as client:

        async def all_evaluated() -> bool:
            groups = (await client.get("/api/v1/rules")).json()["data"]["groups"]
            rules = [rule for group in groups for rule in group["rules"]]
            return {r["name"] for r in rules} == expected and all(
                r["health"] == "ok" and not r["lastEvaluation"].startswith("0001") for r in rules
            )

        await platform.wait_for("every rule loaded and evaluated without error", all_evaluated)

        async def dead_letter_alert_firing() -> bool:
            alerts = (await client.get("/api/v1/alerts")).json()["data"]["alerts"]
            return any(
                a["labels"]["alertname"] == "CimisEventsDeadLettered" and a["state"] == "firing"
                for a in alerts
            )

        await platform.wait_for("CimisEventsDeadLettered firing", dead_letter_alert_firing)
