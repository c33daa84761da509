"""The funder's report's figures over the API: allocated per budget line from the cost plan in
force that day, every figure of the JSON in both CSVs and the PDF, and blueprints counted as
their history says, so that a past day's report never changes."""

from __future__ import annotations

import csv
import io
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from cimis_contracts.budget import (
    BudgetAllocatedV1,
    CostPlanChangedV1,
    CostPlanLine,
    PaidPosition,
    PaymentRequestChangedV1,
    TrancheReleasedV1,
)
from cimis_contracts.intake import (
    ApplicationSubmittedV1,
    CallOpenedV1,
    PhaseStep,
    TeamProposedV1,
    TrancheRule,
)
from services.outcomes.domain.report import BERLIN
from tests.api.outcomes.conftest import BLUEPRINT, a_finished_team, approved, feed
from tests.support.service_app import RunningService

CALL = "call-1"  # the call of conftest's finished teams


def call_opened(svc: RunningService) -> CallOpenedV1:
    now = svc.clock.now()
    return CallOpenedV1(
        call_id=CALL,
        title="CIMIS II – Aufruf 3",
        districts=["Erzgebirgskreis", "Leipzig", "Chemnitz"],
        opens_at=now - timedelta(days=300),
        closes_at=now + timedelta(days=30),
        total_budget_cents=300_000_00,
        max_team_budget_cents=50_000_00,
        tranches=[TrancheRule(milestone=None, percent=100)],
        phase_plan=[PhaseStep(key="final", title="Abschluss", days_after_acceptance=90)],
    )


def applications(svc: RunningService) -> list[ApplicationSubmittedV1]:
    received = svc.clock.now() - timedelta(days=250)
    rows = [
        ("company", "Erzgebirgskreis", "14521", ()),
        ("creative", "Erzgebirgskreis", "14521", ()),
        ("organisation", "Erzgebirgskreis", "14521", ("not-sme-employees",)),
        ("organisation", "Leipzig", "14713", ()),
        ("creative", "Leipzig", "14713", ()),
        ("creative", "Leipzig", "14713", ("late",)),
        ("company", "Görlitz", "14626", ("district-not-eligible",)),
    ]
    return [
        ApplicationSubmittedV1(
            application_id=f"app-{n}",
            call_id=CALL,
            kind=kind,
            district=district,
            district_code=code,
            eligible=not reasons,
            reason_codes=list(reasons),
            received_at=received,
        )
        for n, (kind, district, code, reasons) in enumerate(rows)
    ]


def cost_plan(
    svc: RunningService, team_id: str, version: int, status: str, **lines: int
) -> CostPlanChangedV1:
    return CostPlanChangedV1(
        team_id=team_id,
        call_id=CALL,
        version=version,
        status=status,
        lines=[CostPlanLine(position=p, planned_cents=c) for p, c in lines.items()],
        reason="Kostenplan",
        proposed_by="sam",
        changed_at=svc.clock.now(),
    )


def payment(
    svc: RunningService, team_id: str, status: str, *, was_paid: bool = False, **lines: int
) -> Any:
    """A payment request's step; one returned after it was paid still carries its value date."""
    return PaymentRequestChangedV1(
        team_id=team_id,
        call_id=CALL,
        request_id=f"pr-{team_id}",
        status=status,
        amount_cents=sum(lines.values()),
        positions=[PaidPosition(position=p, amount_cents=c) for p, c in lines.items()],
        expense_count=len(lines),
        value_date=svc.clock.now().date() if status == "paid" or was_paid else None,
        paid_total_cents=0,
        changed_by="fiona",
        changed_at=svc.clock.now(),
    )


async def day_one(svc: RunningService) -> None:
    """A team from the Erzgebirgskreis, one from Leipzig, one only proposed; money on three
    lines; a payment paid, one returned by the bank unpaid, one after it was paid. Only team-a
    has a cost plan in force at the end of the day; team-b's waits for its second person."""
    now = svc.clock.now()
    await feed(svc, call_opened(svc), *applications(svc))
    # Each approved 12,000.00 on personnel and 8,500.50 on external services.
    await a_finished_team(svc, "team-a")
    await a_finished_team(svc, "team-b", district="Leipzig", district_code="14713")
    await feed(
        svc,
        TeamProposedV1(team_id="team-c", call_id=CALL, budget_cents=9_999_99, proposed_at=now),
        *(
            TeamProposedV1(team_id=t, call_id=CALL, budget_cents=45_000_00, proposed_at=now)
            for t in ("team-a", "team-b")
        ),
        *(
            BudgetAllocatedV1(
                team_id=t,
                call_id=CALL,
                allocated_cents=45_000_00,
                pot_available_cents=0,
                allocated_at=now,
            )
            for t in ("team-a", "team-b")
        ),
        TrancheReleasedV1(
            team_id="team-a",
            call_id=CALL,
            trigger="acceptance",
            percent=100,
            amount_cents=45_000_00,
            released_total_cents=45_000_00,
            released_at=now,
        ),
        cost_plan(svc, "team-a", 1, "in_force", personnel=30_000_00, external_services=15_000_00),
        cost_plan(svc, "team-b", 1, "pending_approval", travel=45_000_00),
        approved("team-b", "e3", "travel", 333_33),
        payment(svc, "team-a", "paid", personnel=12_000_00),
        # Exported, and returned by the bank before anyone marked it paid.
        payment(svc, "team-a", "returned", external_services=8_500_50),
        # Paid, then returned.
        payment(svc, "team-b", "paid", travel=333_33),
        payment(svc, "team-b", "returned", was_paid=True, travel=333_33),
    )


async def report(
    svc: RunningService, day: date | None = None, suffix: str = "", **params: str
) -> Any:
    if day is not None:
        params["as_of"] = day.isoformat()
    response = await svc.client.get(
        f"/api/v1/calls/{CALL}/report{suffix}", params=params, headers=svc.auth("finance")
    )
    assert response.status_code == 200, response.text
    return response


async def a_call_once(svc: RunningService) -> None:
    """Day one's events, unless an earlier test of the module fed them (run on its own)."""
    known = await svc.client.get(f"/api/v1/calls/{CALL}/report", headers=svc.auth("finance"))
    if known.status_code == 404:
        await day_one(svc)


def today(svc: RunningService) -> date:
    return svc.clock.now().astimezone(BERLIN).date()


async def test_allocated_per_line_is_the_cost_plan_in_force_that_day(
    outcomes: RunningService,
) -> None:
    await day_one(outcomes)
    first = today(outcomes)
    outcomes.clock.advance(timedelta(days=1))
    await feed(
        outcomes,
        cost_plan(
            outcomes,
            "team-a",
            2,
            "in_force",
            personnel=25_000_00,
            external_services=15_000_00,
            other=5_000_00,
        ),
        cost_plan(outcomes, "team-b", 1, "in_force", travel=45_000_00),
    )

    before = (await report(outcomes, first)).json()["budget"]
    after = (await report(outcomes)).json()["budget"]

    # A tranche releases the same share of every line of its team's cost plan.
    assert before["lines"] == [
        line("personnel", "30000.00", "24000.00", "12000.00", released="30000.00"),
        line("external_services", "15000.00", "17001.00", "0.00", "8500.50", released="15000.00"),
        line("travel", "0.00", "333.33", "0.00", "333.33"),
        line("not_yet_planned", "45000.00"),  # team-b's plan waits for its approval
    ]
    assert before["lines_total"] == {
        "allocated": "90000.00",
        "released": "45000.00",
        "approved": "41334.33",
        "paid": "12000.00",
        "returned": "8833.83",
    }
    assert after["lines"] == [
        line("personnel", "25000.00", "24000.00", "12000.00", released="25000.00"),
        line("external_services", "15000.00", "17001.00", "0.00", "8500.50", released="15000.00"),
        line("travel", "45000.00", "333.33", "0.00", "333.33"),
        line("other", "5000.00", released="5000.00"),
        line("not_yet_planned", "0.00"),
    ]
    for budget in (before, after):
        lines = budget["lines"]
        for figure in ("allocated", "released", "approved", "paid", "returned"):
            assert cents(sum_of(lines, figure)) == cents(budget[figure])
            assert budget["lines_total"][figure] == budget[figure]


def line(
    position: str,
    allocated: str,
    approved: str = "0.00",
    paid: str = "0.00",
    returned: str = "0.00",
    *,
    released: str = "0.00",
) -> dict[str, str]:
    return {
        "position": position,
        "allocated": allocated,
        "released": released,
        "approved": approved,
        "paid": paid,
        "returned": returned,
    }


def cents(amount: str) -> int:
    euros, _, rest = amount.partition(".")
    return int(euros) * 100 + int(rest)


def sum_of(lines: list[dict[str, str]], figure: str) -> str:
    total = sum(cents(x[figure]) for x in lines)
    return f"{total // 100}.{total % 100:02d}"


async def test_every_figure_of_the_json_is_in_both_csvs_and_the_pdf(
    outcomes: RunningService,
) -> None:
    await a_call_once(outcomes)
    body = (await report(outcomes)).json()
    german = await report(outcomes, suffix=".csv", lang="de")
    english = await report(outcomes, suffix=".csv", lang="en")
    pdf_de = await report(outcomes, suffix=".pdf", lang="de")
    pdf_en = await report(outcomes, suffix=".pdf", lang="en")

    german_rows = list(csv.reader(io.StringIO(german.text.lstrip("\ufeff")), delimiter=";"))
    english_rows = list(csv.reader(io.StringIO(english.text.lstrip("\ufeff"))))
    # Each figure once, in each file: the values as multisets, and the ones most easily lost
    # by name.
    assert Counter(r[2] for r in german_rows[1:]) == Counter(figures(body, "csv-de"))
    assert Counter(r[2] for r in english_rows[1:]) == Counter(figures(body, "csv-en"))
    assert Counter(numbers(pdf_text(pdf_de.content))) == Counter(figures(body, "pdf-de"))
    assert Counter(numbers(pdf_text(pdf_en.content))) == Counter(figures(body, "pdf-en"))
    assert ["Erzgebirgskreis", "Anteil der Teams (%)", "50,0"] in german_rows
    assert ["Erzgebirgskreis", "share of allocated budget (%)", "50.0"] in english_rows
    assert ["Anträge", "Erzgebirgskreis (14521): nicht förderfähig", "1"] in german_rows
    assert ["Applications", "Leipzig (14713): ineligible", "1"] in english_rows
    unplanned = body["budget"]["lines"][-1]["allocated"]
    assert [
        "Kostenpositionen",
        "noch ohne Kostenplan: zugewiesen",
        unplanned.replace(".", ","),
    ] in german_rows
    assert ["Budget lines", "total: released", "45000.00"] in english_rows
    assert "50,0 %" in pdf_text(pdf_de.content)


def figures(body: dict[str, Any], form: str) -> Iterator[str]:
    """Every figure of the JSON report as ``form`` shows it (call, day and names aside)."""
    for key, value in leaves(body):
        if key in ("call_id", "title", "as_of", "district", "district_code", "position"):
            continue
        yield shown(value, form)


def leaves(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from leaves(item, key)
    else:
        yield key, value


def shown(value: Any, form: str) -> str:
    """A JSON figure as the CSV or the PDF writes it."""
    if isinstance(value, int):
        return str(value)
    euros, _, decimals = str(value).partition(".")
    if form == "csv-de":
        return f"{euros},{decimals}"
    if form == "csv-en":
        return str(value)
    percent = len(decimals) == 1  # shares have one decimal, amounts two
    if form == "pdf-de":
        grouped = f"{int(euros):,}".replace(",", ".")
        return f"{grouped},{decimals} " + ("%" if percent else "€")
    return f"{value} %" if percent else f"EUR {int(euros):,}.{decimals}"


def pdf_text(content: bytes) -> str:
    """The text the PDF's pages show, one shown string a line (core fonts, Windows-1252)."""
    shown_strings = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", content, re.S):
        try:
            page = zlib.decompress(stream)
        except zlib.error:
            continue
        for raw in re.findall(rb"\(((?:\\.|[^\\)])*)\) ?Tj", page):
            text = re.sub(rb"\\(.)", rb"\1", raw)
            shown_strings.append(text.decode("cp1252"))
    return "\n".join(shown_strings)


def numbers(text: str) -> list[str]:
    """The shown strings that are a figure: a count, an amount or a share."""
    figure = re.compile(r"-?(EUR )?-?[0-9][0-9.,]*( €| %)?")
    return [s for s in text.split("\n") if figure.fullmatch(s)]


async def test_blueprints_public_as_of_a_day_never_change(outcomes: RunningService) -> None:
    await a_call_once(outcomes)
    staff = outcomes.auth("staff")

    async def post(path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await outcomes.client.post(path, json=body, headers=staff)
        assert response.status_code in (200, 201), response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def published_on(day: date) -> int:
        count: int = (await report(outcomes, day)).json()["blueprints"]["published"]
        return count

    a = await post("/api/v1/teams/team-a/blueprint", BLUEPRINT)
    b = await post("/api/v1/teams/team-b/blueprint", BLUEPRINT)
    await post(f"/api/v1/blueprints/{a['id']}/publish")
    await post(f"/api/v1/blueprints/{b['id']}/publish")
    published = today(outcomes)
    outcomes.clock.advance(timedelta(days=1))
    await post(f"/api/v1/blueprints/{a['id']}/withdraw", {"reason": "Kontakt widerrufen"})
    withdrawn = today(outcomes)
    outcomes.clock.advance(timedelta(days=1))
    # Resubmitted: the blueprint's own publication and withdrawal dates are cleared.
    await post("/api/v1/teams/team-a/blueprint", BLUEPRINT | {"title": "Überarbeitet"})
    resubmitted = today(outcomes)
    counts_then = [await published_on(d) for d in (published, withdrawn, resubmitted)]
    outcomes.clock.advance(timedelta(days=1))
    await post(f"/api/v1/blueprints/{a['id']}/publish")

    assert counts_then == [2, 1, 1]
    assert [
        await published_on(d) for d in (published, withdrawn, resubmitted, today(outcomes))
    ] == [2, 1, 1, 2]
    assert await published_on(published - timedelta(days=1)) == 0
