"""The funder's report against the services that own its figures, on real Kafka.

Intake, budget, milestones and outcomes run as real processes; one workload goes through
their APIs: applications in several districts, of every kind, some ineligible; teams formed
and accepted; a cost plan; expenses approved on several lines; a payment paid and one that
the bank returned; a milestone reported by one staff member and confirmed by another. Once
outcomes has read everything, every figure of its report (built from events only) equals
what intake's API and budget's API and ledger say, to the cent.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from cimis_chassis.auth import Role, create_key
from cimis_chassis.money import format_eur, parse_eur
from cimis_devtools.identifiers import vat_id
from tests.integration.test_intake_events_on_kafka import agent_registered
from tests.support.processes import ServiceProcess, local_service, publish

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

SERVICES = ("intake", "budget", "milestones", "outcomes")
BERLIN = ZoneInfo("Europe/Berlin")
# Four processes on a shared machine reading the session broker's whole history.
SETTLE_SECONDS = 180.0
POSITIONS = ("personnel", "material", "external_services", "travel", "other")
_UNDERTAKINGS = itertools.count(700)


@dataclass
class Platform:
    processes: dict[str, ServiceProcess]
    tokens: dict[str, str]

    async def call(
        self, service: str, method: str, path: str, who: str, body: Any = None
    ) -> httpx.Response:
        async with httpx.AsyncClient(
            base_url=self.processes[service].base_url, timeout=30
        ) as client:
            return await client.request(
                method, path, json=body, headers={"Authorization": f"Bearer {self.tokens[who]}"}
            )

    async def do(
        self, service: str, method: str, path: str, who: str, body: Any = None
    ) -> dict[str, Any]:
        """A command that must succeed."""
        response = await self.call(service, method, path, who, body)
        assert response.status_code in (200, 201), f"{method} {service}{path}: {response.text}"
        answer: dict[str, Any] = response.json()
        return answer

    async def pages(self, service: str, path: str, who: str = "fiona") -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = ""
        while True:
            page = await self.do(service, "GET", f"{path}&limit=200{cursor}", who)
            items += page["items"]
            if not page["next_cursor"]:
                return items
            cursor = f"&cursor={page['next_cursor']}"


async def eventually(
    what: str, check: Callable[[], Awaitable[Any]], timeout: float = SETTLE_SECONDS
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f}s"
        await asyncio.sleep(0.5)


@pytest.fixture
async def platform(tmp_path: Path, kafka_bootstrap: str) -> AsyncIterator[Platform]:
    keys = tmp_path / "api-keys.json"
    roles = {
        "sam": Role.STAFF,
        "sabine": Role.STAFF,
        "fiona": Role.FINANCE,
        "frank": Role.FINANCE,
    }
    tokens = {name: create_key(keys, role=role, principal=name) for name, role in roles.items()}
    suffix = uuid.uuid4().hex[:8]
    processes = {
        name: local_service(
            name,
            tmp_path,
            kafka_bootstrap,
            keys,
            group=f"cimis-{name}-report-{suffix}",
            # The payment run's debtor (a valid IBAN; no money moves in a test).
            **({"PROGRAMME_IBAN": "DE89370400440532013000"} if name == "budget" else {}),
        )
        for name in SERVICES
    }
    started: list[ServiceProcess] = []
    try:
        for process in processes.values():
            await process.start()
            started.append(process)
        await publish(kafka_bootstrap, agent_registered("agent-anna"))
        yield Platform(processes, tokens)
    finally:
        for process in reversed(started):
            await process.stop()


async def apply(
    p: Platform, call_id: str, kind: str, district: str, *, sme: bool = True
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "call_id": call_id,
        "kind": kind,
        "name": f"{kind} aus {district}",
        "contact_email": "kontakt@example.org",
        "district": district,
    }
    if kind == "creative":
        body["expertise"] = "Service-Design"
    else:
        body.update(
            employees=20 if sme else 400,
            annual_turnover="1500000.00",
            de_minimis_prior_aid="0.00",
            challenge="Digitale Terminbuchung",
            undertaking_id=vat_id(next(_UNDERTAKINGS)),
        )
    return await p.do("intake", "POST", "/api/v1/applications", "sam", body)


async def team(
    p: Platform, call_id: str, company: dict[str, Any], creative: dict[str, Any], budget: str
) -> str:
    body = {
        "call_id": call_id,
        "title": f"Team von {company['name']}",
        "challenge": "Digitale Terminbuchung",
        "company_application_id": company["id"],
        "creative_application_ids": [creative["id"]],
        "agent_id": "agent-anna",
        "budget": budget,
    }

    async def proposed() -> dict[str, Any] | None:
        # Intake learns the agent from notify's topic a moment after it was announced.
        response = await p.call("intake", "POST", "/api/v1/teams", "sam", body)
        if response.status_code == 422 and response.json()["type"].endswith(":unknown-agent"):
            return None
        assert response.status_code == 201, response.text
        answer: dict[str, Any] = response.json()
        return answer

    return str((await eventually("intake knows the agent", proposed))["id"])


async def allocated(p: Platform, team_id: str) -> None:
    async def booked() -> bool:
        response = await p.call("budget", "GET", f"/api/v1/teams/{team_id}/budget", "fiona")
        return response.status_code == 200 and response.json()["status"] == "allocated"

    await eventually(f"budget allocates team {team_id}", booked)


async def expense(
    p: Platform, team_id: str, position: str, net: str, number: str, *, approve: bool = True
) -> str:
    today = datetime.now(BERLIN).date().isoformat()
    created = await p.do(
        "budget",
        "POST",
        f"/api/v1/teams/{team_id}/expenses",
        "sam",
        {
            "position": position,
            "net": net,
            "vat": "0.00",
            "receipt_number": number,
            "receipt_date": today,
            "payee": "Werkstatt Müller",
            "purpose": "Umsetzung",
        },
    )
    if approve:
        await p.do("budget", "POST", f"/api/v1/expenses/{created['id']}/approve", "fiona")
    return str(created["id"])


async def payment_request(p: Platform, team_id: str) -> str:
    """The team's approved, unpaid expenses in one request, approved by finance."""
    requested = await p.do("budget", "POST", f"/api/v1/teams/{team_id}/payment-requests", "sam")
    await p.do("budget", "POST", f"/api/v1/payment-requests/{requested['id']}/approve", "fiona")
    return str(requested["id"])


async def play_the_workload(p: Platform) -> tuple[str, list[str]]:
    """The call and its teams, as programme staff and finance would work through them."""
    today = datetime.now(BERLIN).date()
    call = await p.do(
        "intake",
        "POST",
        "/api/v1/calls",
        "sam",
        {
            "title": f"Aufruf Gegenprobe {uuid.uuid4().hex[:6]}",
            "districts": ["Erzgebirgskreis", "Leipzig", "Chemnitz"],
            "opens_at": (today - timedelta(days=30)).isoformat(),
            "closes_at": (today + timedelta(days=60)).isoformat(),
            "total_budget": "500000.00",
            "max_team_budget": "50000.00",
        },
    )
    call_id = str(call["id"])
    erz_company = await apply(p, call_id, "company", "Erzgebirgskreis")
    erz_creative = await apply(p, call_id, "creative", "14521")
    leipzig_org = await apply(p, call_id, "organisation", "Leipzig")
    leipzig_creative = await apply(p, call_id, "creative", "Leipzig")
    chemnitz_company = await apply(p, call_id, "company", "Chemnitz")
    chemnitz_creative = await apply(p, call_id, "creative", "Chemnitz")
    # Ineligible: a company too large to be an SME, and applicants outside the call's districts.
    await apply(p, call_id, "company", "Erzgebirgskreis", sme=False)
    await apply(p, call_id, "organisation", "Görlitz")
    await apply(p, call_id, "creative", "Bautzen")

    erz = await team(p, call_id, erz_company, erz_creative, "40000.00")
    leipzig = await team(p, call_id, leipzig_org, leipzig_creative, "25000.00")
    await team(p, call_id, chemnitz_company, chemnitz_creative, "10000.00")  # formed only
    for accepted in (erz, leipzig):
        await p.do("intake", "POST", f"/api/v1/teams/{accepted}/accept", "sam")
        await allocated(p, accepted)

    # Only the Erzgebirge team plans its costs; Leipzig's allocation is not yet planned.
    await p.do(
        "budget",
        "PUT",
        f"/api/v1/teams/{erz}/cost-plan",
        "sam",
        {
            "lines": [
                {"position": "personnel", "planned": "20000.00"},
                {"position": "material", "planned": "12000.00"},
                {"position": "travel", "planned": "8000.00"},
            ],
            "reason": "Kostenplan zur Bewilligung",
        },
    )
    # 40 % of 40,000.00 is released on acceptance: 16,000.00 may be approved.
    await expense(p, erz, "personnel", "4321.09", "R-1")
    await expense(p, erz, "material", "1999.99", "R-2")
    await p.do(
        "budget",
        "PUT",
        f"/api/v1/teams/{erz}/bank-account",
        "sam",
        {"account_holder": "Werkstatt Müller GmbH", "iban": "DE02120300000000202051"},
    )
    paid = await payment_request(p, erz)
    await expense(p, erz, "travel", "345.67", "R-3")
    returned = await payment_request(p, erz)
    await expense(p, erz, "material", "100.01", "R-4", approve=False)  # still pending
    await expense(p, leipzig, "external_services", "2500.00", "L-1")
    await expense(p, leipzig, "travel", "88.88", "L-2")
    await p.do("budget", "POST", "/api/v1/payment-runs", "frank", {"execution_date": str(today)})
    await p.do(
        "budget",
        "POST",
        f"/api/v1/payment-requests/{paid}/paid",
        "frank",
        {"value_date": str(today)},
    )
    await p.do(
        "budget",
        "POST",
        f"/api/v1/payment-requests/{returned}/returned",
        "frank",
        {"reason": "Konto erloschen"},
    )

    async def planned() -> list[dict[str, Any]] | None:
        response = await p.call("milestones", "GET", f"/api/v1/teams/{erz}/milestones", "sam")
        if response.status_code != 200:
            return None
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    kickoff = next(m for m in await eventually("the plan", planned) if m["key"] == "kickoff")
    await p.do(
        "milestones",
        "POST",
        f"/api/v1/milestones/{kickoff['id']}/complete",
        "sam",
        {"note": "Auftakt mit allen Beteiligten gehalten"},
    )
    await p.do("milestones", "POST", f"/api/v1/milestones/{kickoff['id']}/confirm", "sabine")
    return call_id, [erz, leipzig]


async def owners_figures(p: Platform, call_id: str) -> dict[str, Any]:
    """The report as intake, budget and milestones would write it from their own records."""
    applications = await p.pages("intake", f"/api/v1/applications?call_id={call_id}", "sam")
    teams = await p.pages("intake", f"/api/v1/teams?call_id={call_id}", "sam")
    district_of = {a["id"]: a["district_code"] for a in applications}
    by_district: dict[str, Counter[str]] = {}
    for a in applications:
        row = by_district.setdefault(a["district_code"], Counter())
        row[a["kind"]] += 1
        row["eligible" if a["eligibility"]["eligible"] else "ineligible"] += 1
    reasons = Counter(r["code"] for a in applications for r in a["eligibility"]["reasons"])

    accepted = [t for t in teams if t["accepted_at"] is not None]
    money: Counter[str] = Counter()
    lines: dict[str, Counter[str]] = {p: Counter() for p in POSITIONS}
    erzgebirge = Counter[str]()
    not_yet_planned = not_yet_planned_released = 0
    for t in accepted:
        budget = await p.do("budget", "GET", f"/api/v1/teams/{t['id']}/budget", "fiona")
        for figure in ("allocated", "released", "approved", "paid", "returned"):
            money[figure] += parse_eur(budget[figure])
        for line in budget["positions"]:
            lines[line["position"]]["approved"] += parse_eur(line["approved"])
        plan = await p.do("budget", "GET", f"/api/v1/teams/{t['id']}/cost-plan", "fiona")
        if plan["status"] == "none":
            not_yet_planned += parse_eur(budget["allocated"])
            not_yet_planned_released += parse_eur(budget["released"])
        planned = {line["position"]: parse_eur(line["planned"]) for line in plan["lines"]}
        for position, cents in planned.items():
            lines[position]["allocated"] += cents
        for position, cents in split(parse_eur(budget["released"]), planned).items():
            lines[position]["released"] += cents
        for status, figure in (("paid", "paid"), ("returned", "returned")):
            requests = await p.pages(
                "budget", f"/api/v1/payment-requests?team_id={t['id']}&status={status}"
            )
            for request in requests:
                money[f"bank_{figure}"] += parse_eur(request["amount"])
                for line in request["positions"]:
                    lines[line["position"]][figure] += parse_eur(line["amount"])
        if district_of[t["company_application_id"]] == "14521":
            erzgebirge["teams"] += 1
            erzgebirge["allocated"] += parse_eur(budget["allocated"])
    # The ledger, budget's books: what was paid out and is still paid.
    ledger = await p.pages("budget", f"/api/v1/ledger?call_id={call_id}")
    ledger_paid = sum(parse_eur(x["amount"]) for x in ledger if x["kind"] == "payment_paid")
    ledger_back = sum(parse_eur(x["amount"]) for x in ledger if x["kind"] == "payment_returned")
    pot = await p.do("budget", "GET", f"/api/v1/calls/{call_id}/budget", "fiona")
    milestones = Counter(
        m["status"]
        for m in await p.pages("milestones", f"/api/v1/milestones?call_id={call_id}", "sam")
    )
    return {
        "applications": {
            "total": len(applications),
            "eligible": sum(a["eligibility"]["eligible"] for a in applications),
            "by_kind": dict(Counter(a["kind"] for a in applications)),
            "by_district": {
                code: {
                    k: row[k]
                    for k in ("company", "organisation", "creative", "eligible", "ineligible")
                }
                for code, row in by_district.items()
            },
            "reasons": dict(reasons),
        },
        "teams": {
            "formed": len(teams),
            "accepted": len(accepted),
            "withdrawn": sum(t["status"] == "withdrawn" for t in teams),
        },
        "erzgebirge": {
            "teams": erzgebirge["teams"],
            "allocated": format_eur(erzgebirge["allocated"]),
            "team_share_percent": share(erzgebirge["teams"], len(accepted)),
            "allocated_share_percent": share(erzgebirge["allocated"], money["allocated"]),
        },
        "budget": {
            "pot": pot["total"],
            "allocated": format_eur(money["allocated"]),
            "released": format_eur(money["released"]),
            "approved": format_eur(money["approved"]),
            "paid": format_eur(ledger_paid - ledger_back),
            "returned": format_eur(money["bank_returned"]),
            "unspent_returned": format_eur(money["returned"]),
            "team_paid": format_eur(money["paid"]),
        },
        "lines": {
            position: {k: format_eur(v[k]) for k in LINE_FIGURES}
            for position, v in lines.items()
            if any(v.values())
        },
        "not_yet_planned": {
            "allocated": format_eur(not_yet_planned),
            "released": format_eur(not_yet_planned_released),
        },
        "milestones": {
            "completed": milestones["completed"],
            "waived": milestones["waived"],
            "not done": milestones["open"] + milestones["overdue"] + milestones["reported"],
        },
    }


LINE_FIGURES = ("allocated", "released", "approved", "paid", "returned")


def split(cents: int, planned: dict[str, int]) -> dict[str, int]:
    """A tranche releases the same share of every planned line: ``cents`` in proportion to the
    plan, floored, the odd cents to the largest remainders (the report's rule, done again)."""
    whole = sum(planned.values())
    if not whole:
        return {}
    exact = {position: Fraction(cents * p, whole) for position, p in planned.items()}
    shares = {position: int(value) for position, value in exact.items()}
    by_remainder = sorted(planned, key=lambda q: shares[q] - exact[q])  # stable: ties in order
    for position in by_remainder[: cents - sum(shares.values())]:
        shares[position] += 1
    return shares


def share(part: int, whole: int) -> str:
    tenths = (part * 1000 + whole // 2) // whole if whole else 0
    return f"{tenths // 10}.{tenths % 10}"


def as_owners_write_it(report: dict[str, Any]) -> dict[str, Any]:
    """The report's figures in the shape of ``owners_figures``."""
    apps, money, lines = report["applications"], report["budget"], report["budget"]["lines"]
    kinds = ("company", "organisation", "creative")
    return {
        "applications": {
            "total": apps["total"],
            "eligible": apps["eligible"],
            "by_kind": {k: n for k, n in apps["by_kind"].items() if n},
            "by_district": {
                row["district_code"]: {k: row[k] for k in (*kinds, "eligible", "ineligible")}
                for row in apps["by_district"]
            },
            "reasons": apps["ineligibility_reasons"],
        },
        "teams": report["teams"],
        "erzgebirge": report["erzgebirge"],
        "budget": {
            k: money[k] for k in ("pot", "allocated", "released", "approved", "paid", "returned")
        }
        | {"unspent_returned": money["unspent_returned"], "team_paid": money["paid"]},
        "lines": {
            x["position"]: {k: x[k] for k in LINE_FIGURES}
            for x in lines
            if x["position"] != "not_yet_planned"
        },
        "not_yet_planned": {k: lines[-1][k] for k in ("allocated", "released")},
        "milestones": {
            "completed": report["milestones"]["completed_on_time"]
            + report["milestones"]["completed_late"],
            "waived": report["milestones"]["waived"],
            "not done": report["milestones"]["open"] + report["milestones"]["overdue"],
        },
    }


async def test_every_figure_of_the_report_agrees_with_intake_and_budget_to_the_cent(
    platform: Platform,
) -> None:
    call_id, teams = await play_the_workload(platform)
    expected = await owners_figures(platform, call_id)
    shown: dict[str, Any] = {}

    async def agrees() -> bool:
        response = await platform.call(
            "outcomes", "GET", f"/api/v1/calls/{call_id}/report", "fiona"
        )
        if response.status_code != 200:
            return False
        shown.update(as_owners_write_it(response.json()))
        return shown == expected

    try:
        await eventually("outcomes has read every event of the workload", agrees)
    finally:
        # On a timeout, the figures that differ.
        assert shown == expected

    # The workload reached every figure: no agreement on zeros.
    assert expected["applications"]["total"] == 9
    assert expected["applications"]["eligible"] == 6
    assert set(expected["applications"]["by_district"]) == {
        "14521",
        "14713",
        "14511",
        "14626",
        "14625",
    }
    assert expected["applications"]["by_kind"] == {"company": 3, "organisation": 2, "creative": 4}
    assert expected["teams"] == {"formed": 3, "accepted": 2, "withdrawn": 0}
    assert expected["erzgebirge"]["allocated_share_percent"] == "61.5"
    assert expected["budget"]["approved"] == "9255.63"
    assert expected["budget"]["paid"] == "6321.08"
    assert expected["budget"]["returned"] == "345.67"
    assert expected["lines"]["travel"] == {
        "allocated": "8000.00",
        "released": "3200.00",
        "approved": "434.55",
        "paid": "0.00",
        "returned": "345.67",
    }
    assert expected["not_yet_planned"] == {"allocated": "25000.00", "released": "10000.00"}
    assert expected["milestones"]["completed"] == 1
    assert len(teams) == 2
