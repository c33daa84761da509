"""The final statement (zahlenmäßiger Verwendungsnachweis): plan against actual per line,
tranches, payouts and unspent money, as of a day, as JSON, CSV and a reproducible PDF."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.api.budget.conftest import accepted_team, expense_body
from tests.api.intake.steps import assert_problem
from tests.support.service_app import RunningService

PLAN = [
    {"position": "personnel", "planned": "20000.00"},
    {"position": "external_services", "planned": "20000.00"},
    {"position": "travel", "planned": "5000.00"},
]
ACCOUNT = {"account_holder": "Möbel-Konfigurator GbR", "iban": "DE02120300000000202051"}


async def call(svc: RunningService, method: str, url: str, who: str, body: Any = None) -> Any:
    response = await svc.client.request(method, url, json=body, headers=svc.auth(who))
    assert response.status_code < 300, response.text
    return response.json()


async def approved(svc: RunningService, team_id: str, position: str, net: str) -> str:
    expense = await call(
        svc,
        "POST",
        f"/api/v1/teams/{team_id}/expenses",
        "agent-anna",
        expense_body(position=position, net=net, vat="0.00"),
    )
    await call(svc, "POST", f"/api/v1/expenses/{expense['id']}/approve", "finance")
    return str(expense["id"])


async def a_finished_year(svc: RunningService) -> tuple[str, str]:
    """A team with a cost plan, spending on two lines, a reversal and a payout; returns the
    team and the day before the payout."""
    _, team_id = await accepted_team(svc)
    await call(
        svc, "PUT", f"/api/v1/teams/{team_id}/cost-plan", "staff",
        {"lines": PLAN, "reason": "Kostenplan laut Antrag"},
    )  # fmt: skip
    await approved(svc, team_id, "personnel", "6000.00")
    wrong = await approved(svc, team_id, "travel", "400.00")
    await call(svc, "POST", f"/api/v1/expenses/{wrong}/reverse", "finance2", {"reason": "privat"})
    await approved(svc, team_id, "external_services", "9000.00")
    await call(svc, "PUT", f"/api/v1/teams/{team_id}/bank-account", "staff", ACCOUNT)
    day_before = svc.clock.now().date().isoformat()
    svc.clock.advance(timedelta(days=1))
    payment = await call(svc, "POST", f"/api/v1/teams/{team_id}/payment-requests", "staff")
    await call(svc, "POST", f"/api/v1/payment-requests/{payment['id']}/approve", "finance")
    today = svc.clock.now().date().isoformat()
    await call(svc, "POST", "/api/v1/payment-runs", "finance", {"execution_date": today})
    await call(
        svc, "POST", f"/api/v1/payment-requests/{payment['id']}/paid", "finance",
        {"value_date": today},
    )  # fmt: skip
    return team_id, day_before


class TestFinalStatement:
    async def test_plan_against_actual_with_tranches_payouts_and_unspent(
        self, budget: RunningService
    ) -> None:
        team_id, _ = await a_finished_year(budget)
        body = await call(budget, "GET", f"/api/v1/teams/{team_id}/final-statement", "finance")
        assert body["lines"] == [
            {
                "position": "personnel",
                "planned": "20000.00",
                "approved": "6000.00",
                "deviation": "-14000.00",
                "within_tolerance": True,
            },
            {
                "position": "external_services",
                "planned": "20000.00",
                "approved": "9000.00",
                "deviation": "-11000.00",
                "within_tolerance": True,
            },
            {
                "position": "travel",
                "planned": "5000.00",
                "approved": "0.00",
                "deviation": "-5000.00",
                "within_tolerance": True,
            },
        ]
        assert body["tranches_received"] == "18000.00"  # 40 % on acceptance
        assert [t["trigger"] for t in body["tranches"]] == ["acceptance"]
        assert (body["approved"], body["paid"], body["approved_unpaid"]) == (
            "15000.00",
            "15000.00",
            "0.00",
        )
        assert body["unspent"] == "30000.00"
        assert body["cost_plan"]["version"] == 1

    async def test_a_past_day_shows_what_was_booked_by_then(self, budget: RunningService) -> None:
        team_id, day_before = await a_finished_year(budget)
        url = f"/api/v1/teams/{team_id}/final-statement?as_of={day_before}"
        body = await call(budget, "GET", url, "staff")
        assert (body["as_of"], body["approved"], body["paid"]) == (day_before, "15000.00", "0.00")
        assert body["payouts"] == []
        later = await budget.client.get(url, headers=budget.auth("staff"))
        assert later.json() == body

    async def test_the_german_csv_and_a_pdf_that_is_the_same_every_time(
        self, budget: RunningService
    ) -> None:
        team_id, _ = await a_finished_year(budget)
        base = f"/api/v1/teams/{team_id}/final-statement"
        csv = await budget.client.get(f"{base}.csv?lang=de", headers=budget.auth("finance"))
        lines = csv.text.lstrip("\ufeff").splitlines()
        assert (
            lines[0]
            == "Kostenposition;Plan;Ist (förderfähig anerkannt);Abweichung;innerhalb Toleranz"
        )
        assert lines[1] == "Personal;20000,00;6000,00;-14000,00;ja"
        assert lines[4] == "Gesamtsumme;45000,00;15000,00;-30000,00;"
        assert any(line.startswith("Ausgezahlt;15000,00") for line in lines)
        first = await budget.client.get(f"{base}.pdf", headers=budget.auth("finance"))
        second = await budget.client.get(f"{base}.pdf", headers=budget.auth("finance"))
        assert first.headers["content-type"] == "application/pdf"
        assert first.content.startswith(b"%PDF-")
        assert first.content == second.content

    async def test_a_day_in_the_future_is_422_and_agents_may_not_read_it(
        self, budget: RunningService
    ) -> None:
        _, team_id = await accepted_team(budget)
        url = f"/api/v1/teams/{team_id}/final-statement"
        future = await budget.client.get(f"{url}?as_of=2099-01-01", headers=budget.auth("staff"))
        assert_problem(future, 422, "as-of-in-future")
        agent = await budget.client.get(url, headers=budget.auth("agent-anna"))
        assert agent.status_code == 403

    async def test_without_a_cost_plan_the_lines_show_the_actual_only(
        self, budget: RunningService
    ) -> None:
        _, team_id = await accepted_team(budget)
        await approved(budget, team_id, "material", "100.00")
        body = await call(budget, "GET", f"/api/v1/teams/{team_id}/final-statement", "finance")
        assert body["cost_plan"] is None
        assert body["lines"] == [
            {
                "position": "material",
                "planned": None,
                "approved": "100.00",
                "deviation": None,
                "within_tolerance": None,
            }
        ]
