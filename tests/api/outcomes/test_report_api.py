"""The funder's report over the API: fed the platform's events, drawn up as of a day, as JSON,
German and English CSV and a PDF that is the same bytes for the same day."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

from prometheus_client import CollectorRegistry
from sqlalchemy import select

from cimis_chassis.unit_of_work import Cause
from cimis_contracts.budget import BudgetAllocatedV1, PaidPosition, PaymentRequestChangedV1
from cimis_contracts.intake import (
    ApplicationSubmittedV1,
    CallOpenedV1,
    PhaseStep,
    TeamAcceptedV1,
    TeamProposedV1,
    TrancheRule,
)
from cimis_contracts.milestones import MilestoneCompletedV1, PlanCreatedV1, PlannedMilestone
from cimis_contracts.outcomes import TeamSpendingOffPlanV1
from services.outcomes.adapters.metrics import OutcomesMetrics
from services.outcomes.adapters.tables import chassis
from services.outcomes.adapters.unit_of_work import SqlOutcomesUnitOfWork
from services.outcomes.app.forecast_watch import ForecastWatch
from tests.api.outcomes.conftest import approved, feed
from tests.support.service_app import RunningService

CALL = "call-report"


async def a_call_with_work(svc: RunningService) -> None:
    now = svc.clock.now()
    await feed(
        svc,
        CallOpenedV1(
            call_id=CALL,
            title="CIMIS II – Aufruf 2",
            districts=["Erzgebirgskreis", "Leipzig"],
            opens_at=now - timedelta(days=60),
            closes_at=now + timedelta(days=30),
            total_budget_cents=200_000_00,
            max_team_budget_cents=50_000_00,
            tranches=[TrancheRule(milestone=None, percent=100)],
            phase_plan=[PhaseStep(key="final", title="Abschluss", days_after_acceptance=90)],
        ),
        *(
            ApplicationSubmittedV1(
                application_id=f"app-{n}",
                call_id=CALL,
                kind=kind,
                district=district,
                district_code=code,
                eligible=eligible,
                reason_codes=[] if eligible else ["district-not-eligible"],
                received_at=now - timedelta(days=20),
            )
            for n, (kind, district, code, eligible) in enumerate(
                [
                    ("company", "Erzgebirgskreis", "14521", True),
                    ("creative", "Erzgebirgskreis", "14521", True),
                    ("organisation", "Görlitz", "14626", False),
                ]
            )
        ),
        TeamProposedV1(
            team_id="t-report",
            call_id=CALL,
            budget_cents=40_000_00,
            proposed_at=now - timedelta(days=10),
        ),
        TeamAcceptedV1(
            team_id="t-report",
            call_id=CALL,
            title="Werkstatt digital",
            agent_id="agent-anna",
            budget_cents=40_000_00,
            input_vat_deductible=False,
            company_application_id="app-0",
            creative_application_ids=["app-1"],
            accepted_at=now - timedelta(days=9),
            district="Erzgebirgskreis",
            district_code="14521",
        ),
        BudgetAllocatedV1(
            team_id="t-report",
            call_id=CALL,
            allocated_cents=40_000_00,
            pot_available_cents=160_000_00,
            allocated_at=now - timedelta(days=9),
        ),
        approved("t-report", "e1", "personnel", 12_345_67).model_copy(update={"call_id": CALL}),
        PaymentRequestChangedV1(
            team_id="t-report",
            call_id=CALL,
            request_id="pr-1",
            status="paid",
            amount_cents=12_345_67,
            positions=[PaidPosition(position="personnel", amount_cents=12_345_67)],
            expense_count=1,
            paid_total_cents=12_345_67,
            changed_by="fiona",
            changed_at=now - timedelta(days=1),
        ),
        PlanCreatedV1(
            team_id="t-report",
            call_id=CALL,
            agent_id="agent-anna",
            milestones=[
                PlannedMilestone(
                    milestone_id="m-final",
                    key="final",
                    title="Abschluss",
                    due_date=(now - timedelta(days=3)).date(),
                )
            ],
            created_at=now - timedelta(days=9),
        ),
        MilestoneCompletedV1(
            team_id="t-report",
            call_id=CALL,
            milestone_id="m-final",
            key="final",
            completed_by="sabine",
            completed_at=now - timedelta(days=5),
        ),
    )


async def get(svc: RunningService, path: str, **params: str) -> Any:
    return await svc.client.get(
        f"/api/v1/calls/{CALL}/{path}", params=params, headers=svc.auth("finance")
    )


async def test_the_report_counts_what_the_events_said(outcomes: RunningService) -> None:
    await a_call_with_work(outcomes)

    report = (await get(outcomes, "report")).json()

    assert report["applications"]["total"] == 3
    assert report["applications"]["by_kind"] == {"company": 1, "organisation": 1, "creative": 1}
    assert report["applications"]["ineligibility_reasons"] == {"district-not-eligible": 1}
    assert report["teams"] == {"formed": 1, "accepted": 1, "withdrawn": 0}
    assert report["erzgebirge"] == {
        "teams": 1,
        "team_share_percent": "100.0",
        "allocated": "40000.00",
        "allocated_share_percent": "100.0",
    }
    assert {k: report["budget"][k] for k in ("pot", "allocated", "approved", "paid")} == {
        "pot": "200000.00",
        "allocated": "40000.00",
        "approved": "12345.67",
        "paid": "12345.67",
    }
    assert report["budget"]["lines"] == [
        {
            "position": "personnel",
            "allocated": "0.00",
            "released": "0.00",
            "approved": "12345.67",
            "paid": "12345.67",
            "returned": "0.00",
        },
        {  # the team's cost plan is not known
            "position": "not_yet_planned",
            "allocated": "40000.00",
            "released": report["budget"]["released"],
            "approved": "0.00",
            "paid": "0.00",
            "returned": "0.00",
        },
    ]
    assert report["milestones"]["completed_on_time"] == 1

    fortnight_ago = outcomes.clock.now().date() - timedelta(days=15)
    earlier = await get(outcomes, "report", as_of=fortnight_ago.isoformat())
    assert earlier.status_code == 200, earlier.text
    assert earlier.json()["teams"]["accepted"] == 0


async def test_csv_in_german_and_english_and_a_stable_pdf(outcomes: RunningService) -> None:
    if (await get(outcomes, "report")).status_code == 404:  # when run on its own
        await a_call_with_work(outcomes)

    german = await get(outcomes, "report.csv", lang="de")
    english = await get(outcomes, "report.csv", lang="en")
    first = await get(outcomes, "report.pdf", lang="de")
    second = await get(outcomes, "report.pdf", lang="de")

    rows = list(csv.reader(io.StringIO(german.text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0] == ["Abschnitt", "Kennzahl", "Wert"]
    assert ["Kostenpositionen", "Personal: ausgezahlt", "12345,67"] in rows
    english_rows = list(csv.reader(io.StringIO(english.text.lstrip("\ufeff"))))
    assert ["Budget lines", "Personnel: paid", "12345.67"] in english_rows
    assert first.headers["content-type"] == "application/pdf"
    assert first.content.startswith(b"%PDF")
    assert first.content == second.content


async def test_unknown_call_future_day_and_roles(outcomes: RunningService) -> None:
    missing = await outcomes.client.get(
        "/api/v1/calls/no-call/report", headers=outcomes.auth("staff")
    )
    later = outcomes.clock.now().date() + timedelta(days=2)
    future = await get(outcomes, "report", as_of=later.isoformat())
    agent = await outcomes.client.get(
        f"/api/v1/calls/{CALL}/report", headers=outcomes.auth("agent-anna")
    )

    assert missing.status_code == 404
    assert future.status_code == 422
    assert future.json()["type"].endswith(":as-of-in-future")
    assert agent.status_code == 403


async def test_a_teams_forecast_follows_its_plan_and_spending(outcomes: RunningService) -> None:
    if (await get(outcomes, "report")).status_code == 404:  # when run on its own
        await a_call_with_work(outcomes)

    response = await outcomes.client.get(
        "/api/v1/teams/t-report/forecast", headers=outcomes.auth("agent-anna")
    )
    other = await outcomes.client.get(
        "/api/v1/teams/t-report/forecast", headers=outcomes.auth("agent-ben")
    )

    assert response.status_code == 200, response.text
    body = response.json()
    # Accepted nine days ago, its only milestone due three days ago: the plan is over, and
    # what was approved is what was spent.
    assert {k: body[k] for k in ("allocated", "spent", "expected_by_now", "status")} == {
        "allocated": "40000.00",
        "spent": "12345.67",
        "expected_by_now": "40000.00",
        "status": "behind",
    }
    assert body["forecast_unspent_at_end"] == "27654.33"
    assert other.status_code == 403


async def test_the_burn_rate_watch_announces_a_change_once(outcomes: RunningService) -> None:
    if (await get(outcomes, "report")).status_code == 404:  # when run on its own
        await a_call_with_work(outcomes)
    host = outcomes.host

    def units(cause: Cause) -> SqlOutcomesUnitOfWork:
        unit = host.unit_of_work(cause)
        assert isinstance(unit, SqlOutcomesUnitOfWork)
        return unit

    watch = ForecastWatch(units)
    first, by_call = await watch.run_once()
    again, _ = await watch.run_once()

    assert first == ["t-report"]
    assert again == []
    assert by_call[CALL].teams == {"behind": 1}
    assert by_call[CALL].forecast_unspent_cents == 27_654_33
    announced = await outbox_of(outcomes, "t-report", TeamSpendingOffPlanV1.TYPE)
    assert [e["data"]["status"] for e in announced] == ["behind"]
    assert announced[0]["data"]["forecast_unspent_cents"] == 27_654_33
    # The unspent money is forecast to the end of the spending period: the curve's end (here
    # the plan's, all the money having come on acceptance).
    forecast = await outcomes.client.get(
        "/api/v1/teams/t-report/forecast", headers=outcomes.auth("staff")
    )
    assert announced[0]["data"]["spending_ends_on"] == forecast.json()["ends_on"]

    metrics = OutcomesMetrics(CollectorRegistry())
    metrics.show(by_call)
    assert metrics.teams.labels(CALL, "behind")._value.get() == 1
    assert metrics.unspent.labels(CALL)._value.get() == 27_654_33


async def outbox_of(svc: RunningService, key: str, type_: str) -> list[dict[str, Any]]:
    o = chassis.outbox
    async with svc.host.db.sessions() as session:
        rows = await session.execute(
            select(o.c.payload).where(o.c.key == key).order_by(o.c.position)
        )
        events = [json.loads(payload) for (payload,) in rows.all()]
    return [e for e in events if e["type"] == type_]
