"""Budget's API: team and call budgets, expenses with four eyes, idempotency, ledger, CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select

from cimis_contracts.intake import TeamWithdrawnV1
from cimis_contracts.milestones import (
    MilestoneCompletedV1,
    MilestoneRescheduledV1,
    PlanCreatedV1,
    PlannedMilestone,
)
from services.budget.adapters.tables import chassis, expenses
from tests.api.budget.conftest import accepted_team, deliver, expense_body, open_call
from tests.api.intake.steps import assert_problem
from tests.support.service_app import RunningService


async def submit(
    svc: RunningService, team_id: str, who: str = "agent-anna", **overrides: Any
) -> Any:
    return await svc.client.post(
        f"/api/v1/teams/{team_id}/expenses", json=expense_body(**overrides), headers=svc.auth(who)
    )


async def outbox_types(svc: RunningService, key: str) -> list[str]:
    async with svc.host.db.sessions() as session:
        rows = await session.execute(
            select(chassis.outbox.c.event_type)
            .where(chassis.outbox.c.key == key)
            .order_by(chassis.outbox.c.position)
        )
        return list(rows.scalars())


class TestBudgets:
    async def test_an_accepted_team_has_its_first_tranche_released(
        self, budget: RunningService
    ) -> None:
        _, team_id = await accepted_team(budget)
        response = await budget.client.get(
            f"/api/v1/teams/{team_id}/budget", headers=budget.auth("agent-anna")
        )
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "allocated"
        assert (body["allocated"], body["released"], body["available"]) == (
            "45000.00",
            "18000.00",
            "18000.00",
        )
        assert body["spent_percent"] == 0
        assert {p["position"] for p in body["positions"]} == {
            "personnel",
            "material",
            "external_services",
            "travel",
            "other",
        }
        assert await outbox_types(budget, team_id) == [
            "de.cimis.budget.allocated.v1",
            "de.cimis.budget.tranche_released.v1",
        ]

    async def test_a_team_the_pot_cannot_carry_waits_and_says_why(
        self, budget: RunningService
    ) -> None:
        call_id = await open_call(budget, total_cents=10_000_00)
        _, team_id = await accepted_team(budget, call_id=call_id)
        body = (
            await budget.client.get(f"/api/v1/teams/{team_id}/budget", headers=budget.auth("staff"))
        ).json()
        assert body["status"] == "waiting"
        assert "10000.00" in body["refusal_reason"]
        assert await outbox_types(budget, team_id) == ["de.cimis.budget.allocation_refused.v1"]

    async def test_the_waiting_list_shows_who_is_funded_next(self, budget: RunningService) -> None:
        call_id = await open_call(budget, total_cents=50_000_00)
        await accepted_team(budget, call_id=call_id, budget_cents=45_000_00)
        budget.clock.advance(timedelta(minutes=1))
        _, first = await accepted_team(budget, call_id=call_id, budget_cents=40_000_00)
        budget.clock.advance(timedelta(minutes=1))
        _, second = await accepted_team(budget, call_id=call_id, budget_cents=5_000_00)
        url = f"/api/v1/calls/{call_id}/waiting-list"

        body = (await budget.client.get(url, headers=budget.auth("finance"))).json()
        assert body["available"] == "5000.00"
        assert [(i["place"], i["team_id"], i["reason_code"]) for i in body["items"]] == [
            (1, first, "pot-exhausted"),
            (2, second, "waiting-list"),  # fits, but queues behind the first
        ]
        assert_problem(
            await budget.client.get(url, headers=budget.auth("agent-anna")), 403, "forbidden"
        )

    async def test_the_call_budget_adds_up(self, budget: RunningService) -> None:
        call_id = await open_call(budget)
        await accepted_team(budget, call_id=call_id, budget_cents=30_000_00)
        await accepted_team(budget, call_id=call_id, budget_cents=20_000_00)
        body = (
            await budget.client.get(
                f"/api/v1/calls/{call_id}/budget", headers=budget.auth("finance")
            )
        ).json()
        assert (body["total"], body["allocated"], body["available"], body["released"]) == (
            "200000.00",
            "50000.00",
            "150000.00",
            "20000.00",
        )

    async def test_agents_see_only_their_own_teams(self, budget: RunningService) -> None:
        _, team_id = await accepted_team(budget, agent="agent-ben")
        response = await budget.client.get(
            f"/api/v1/teams/{team_id}/budget", headers=budget.auth("agent-anna")
        )
        assert_problem(response, 403, "forbidden")

    async def test_unknown_team_and_call_are_404(self, budget: RunningService) -> None:
        for path in ("/api/v1/teams/nope/budget", "/api/v1/calls/nope/budget"):
            assert_problem(
                await budget.client.get(path, headers=budget.auth("staff")), 404, "not-found"
            )

    async def test_no_key_is_401(self, budget: RunningService) -> None:
        assert_problem(await budget.client.get("/api/v1/calls/x/budget"), 401, "unauthorized")


def plan_created(team_id: str, call_id: str, *, final_due: date) -> PlanCreatedV1:
    return PlanCreatedV1(
        team_id=team_id,
        call_id=call_id,
        agent_id="agent-anna",
        milestones=[
            PlannedMilestone(
                milestone_id=f"{team_id}-{key}", key=key, title=key.title(), due_date=due
            )
            for key, due in (("prototype", final_due - timedelta(days=30)), ("final", final_due))
        ],
        created_at=datetime(2024, 6, 2, 9, 0, tzinfo=UTC),
    )


def final_rescheduled(
    team_id: str, call_id: str, previous: date, due: date
) -> MilestoneRescheduledV1:
    return MilestoneRescheduledV1(
        team_id=team_id,
        call_id=call_id,
        milestone_id=f"{team_id}-final",
        key="final",
        previous_due_date=previous,
        due_date=due,
        reason="Abschlusspräsentation verschoben",
        rescheduled_by="staff",
        rescheduled_at=datetime(2024, 6, 15, 9, 0, tzinfo=UTC),
    )


class TestSubmitExpense:
    async def test_the_teams_agent_submits_and_gross_is_fundable(
        self, budget: RunningService
    ) -> None:
        _, team_id = await accepted_team(budget)
        response = await submit(budget, team_id)
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["status"], body["gross"], body["fundable"]) == (
            "submitted",
            "1190.00",
            "1190.00",
        )
        figures = (
            await budget.client.get(f"/api/v1/teams/{team_id}/budget", headers=budget.auth("staff"))
        ).json()
        assert (figures["pending"], figures["available"]) == ("1190.00", "16810.00")

    async def test_with_input_vat_deduction_only_net_is_fundable(
        self, budget: RunningService
    ) -> None:
        _, team_id = await accepted_team(budget, input_vat_deductible=True)
        assert (await submit(budget, team_id)).json()["fundable"] == "1000.00"

    async def test_more_than_available_is_422_and_changes_nothing(
        self, budget: RunningService
    ) -> None:
        _, team_id = await accepted_team(budget)
        response = await submit(budget, team_id, net="18000.01", vat="0.00")
        assert_problem(response, 422, "budget-exceeded")
        figures = (
            await budget.client.get(f"/api/v1/teams/{team_id}/budget", headers=budget.auth("staff"))
        ).json()
        assert (figures["pending"], figures["available"]) == ("0.00", "18000.00")

    async def test_money_as_a_json_number_is_422(self, budget: RunningService) -> None:
        _, team_id = await accepted_team(budget)
        assert_problem(await submit(budget, team_id, net=1000.0), 422, "validation-error")

    async def test_a_duplicate_receipt_number_is_409(self, budget: RunningService) -> None:
        _, team_id = await accepted_team(budget)
        assert (await submit(budget, team_id, receipt_number="RE-7")).status_code == 201
        assert_problem(
            await submit(budget, team_id, receipt_number="RE-7"), 409, "duplicate-receipt"
        )

    async def test_the_same_receipt_in_another_spelling_is_409(
        self, budget: RunningService
    ) -> None:
        _, team_id = await accepted_team(budget)
        assert (await submit(budget, team_id, receipt_number="RE-2024-018")).status_code == 201
        again = await submit(
            budget, team_id, receipt_number="re-2024-018", payee="AGENTUR  Erzgebirge GmbH"
        )
        assert_problem(again, 409, "duplicate-receipt")

    async def test_the_same_number_from_another_payee_is_another_receipt(
        self, budget: RunningService
    ) -> None:
        _, team_id = await accepted_team(budget)
        assert (await submit(budget, team_id, receipt_number="1001")).status_code == 201
        other = await submit(budget, team_id, receipt_number="1001", payee="Druckerei Zwickau")
        assert other.status_code == 201, other.text

    @pytest.mark.parametrize("correction", ["reject", "reverse"])
    async def test_a_rejected_or_reversed_receipt_may_be_entered_again(
        self, budget: RunningService, correction: str
    ) -> None:
        _, team_id = await accepted_team(budget)
        expense = (await submit(budget, team_id, receipt_number="RE-9")).json()
        if correction == "reverse":
            approved = await budget.client.post(
                f"/api/v1/expenses/{expense['id']}/approve", headers=budget.auth("finance")
            )
            assert approved.status_code == 200, approved.text
        undone = await budget.client.post(
            f"/api/v1/expenses/{expense['id']}/{correction}",
            json={"reason": "Betrag falsch erfasst"},
            headers=budget.auth("finance2"),
        )
        assert undone.status_code == 200, undone.text

        again = await submit(budget, team_id, receipt_number="re-9", net="900.00")
        assert again.status_code == 201, again.text
        assert_problem(
            await submit(budget, team_id, receipt_number="RE-9"), 409, "duplicate-receipt"
        )

    async def test_the_same_invoice_in_two_teams_of_a_call_is_flagged(
        self, budget: RunningService
    ) -> None:
        call_id, first_team = await accepted_team(budget)
        _, second_team = await accepted_team(budget, call_id=call_id)
        _, other_call_team = await accepted_team(budget)
        first = (await submit(budget, first_team, receipt_number="RE-77")).json()
        assert first["possible_duplicates"] == []

        second = await submit(budget, second_team, receipt_number="re-77")
        assert second.status_code == 201, second.text
        assert second.json()["possible_duplicates"] == [first["id"]]
        elsewhere = (await submit(budget, other_call_team, receipt_number="RE-77")).json()
        assert elsewhere["possible_duplicates"] == []

    async def test_a_receipt_from_before_the_acceptance_is_422_and_changes_nothing(
        self, budget: RunningService
    ) -> None:
        _, team_id = await accepted_team(budget)  # accepted on 2 June 2024
        response = await submit(budget, team_id, receipt_date="2019-01-01")
        assert_problem(response, 422, "outside-funding-period")
        assert "2024-06-02" in response.json()["detail"]
        assert (await submit(budget, team_id, receipt_date="2024-06-02")).status_code == 201
        figures = (
            await budget.client.get(f"/api/v1/teams/{team_id}/budget", headers=budget.auth("staff"))
        ).json()
        assert figures["pending"] == "1190.00"

    async def test_staff_set_an_earlier_start_and_cannot_move_it_past_standing_receipts(
        self, budget: RunningService
    ) -> None:
        _, team_id = await accepted_team(budget)  # accepted on 2 June 2024
        url = f"/api/v1/teams/{team_id}/funding-period"
        too_early = await submit(budget, team_id, receipt_date="2024-05-20")
        assert_problem(too_early, 422, "outside-funding-period")
        earlier = {"starts_on": "2024-05-01", "reason": "vorzeitiger Maßnahmebeginn genehmigt"}
        by_agent = await budget.client.put(url, json=earlier, headers=budget.auth("agent-anna"))
        assert by_agent.status_code == 403
        response = await budget.client.put(url, json=earlier, headers=budget.auth("staff"))
        assert response.status_code == 200, response.text
        assert response.json() == {"team_id": team_id, "starts_on": "2024-05-01", "ends_on": None}
        assert (await submit(budget, team_id, receipt_date="2024-05-20")).status_code == 201
        later = {"starts_on": "2024-06-01", "reason": "doch später"}
        refused = await budget.client.put(url, json=later, headers=budget.auth("staff"))
        assert_problem(refused, 422, "funding-start-excludes-expenses")
        shown = await budget.client.get(url, headers=budget.auth("agent-anna"))
        assert shown.json()["starts_on"] == "2024-05-01"

    async def test_the_period_ends_with_the_plan_plus_the_settlement_days_and_moves_with_it(
        self, budget: RunningService
    ) -> None:
        call_id = await open_call(budget, settlement_days=10)
        _, team_id = await accepted_team(budget, call_id=call_id)
        await deliver(budget, plan_created(team_id, call_id, final_due=date(2024, 6, 20)))

        assert (await submit(budget, team_id, receipt_date="2024-06-30")).status_code == 201
        late = await submit(budget, team_id, receipt_date="2024-07-01")
        assert_problem(late, 422, "outside-funding-period")
        assert "2024-06-02 to 2024-06-30" in late.json()["detail"]

        await deliver(
            budget, final_rescheduled(team_id, call_id, date(2024, 6, 20), date(2024, 7, 10))
        )
        assert (await submit(budget, team_id, receipt_date="2024-07-01")).status_code == 201

    @pytest.mark.parametrize("who", ["staff", "finance"])
    async def test_staff_and_finance_may_submit(self, budget: RunningService, who: str) -> None:
        _, team_id = await accepted_team(budget)
        assert (await submit(budget, team_id, who)).status_code == 201

    @pytest.mark.parametrize(("who", "status"), [("agent-ben", 403), ("operator", 403)])
    async def test_others_may_not(self, budget: RunningService, who: str, status: int) -> None:
        _, team_id = await accepted_team(budget)
        assert_problem(await submit(budget, team_id, who), status, "forbidden")

    async def test_a_withdrawn_teams_budget_is_closed(self, budget: RunningService) -> None:
        call_id, team_id = await accepted_team(budget)
        await deliver(
            budget,
            TeamWithdrawnV1(
                team_id=team_id,
                call_id=call_id,
                reason="raus",
                was_accepted=True,
                withdrawn_at=budget.clock.now(),
            ),
        )
        assert_problem(await submit(budget, team_id), 409, "budget-closed")
        figures = (
            await budget.client.get(f"/api/v1/teams/{team_id}/budget", headers=budget.auth("staff"))
        ).json()
        assert (figures["status"], figures["returned"]) == ("closed", "45000.00")

    async def test_idempotency_key_replays_and_guards(self, budget: RunningService) -> None:
        _, team_id = await accepted_team(budget)
        body = expense_body()
        headers = budget.auth("agent-anna") | {"Idempotency-Key": "beleg-42"}
        url = f"/api/v1/teams/{team_id}/expenses"
        first = await budget.client.post(url, json=body, headers=headers)
        second = await budget.client.post(url, json=body, headers=headers)
        assert first.json() == second.json()
        async with budget.host.db.sessions() as session:
            count = len(
                (await session.execute(select(expenses).where(expenses.c.team_id == team_id))).all()
            )
        assert count == 1
        other = await budget.client.post(url, json=body | {"net": "1.00"}, headers=headers)
        assert_problem(other, 409, "idempotency-key-reused")


class TestDecisions:
    async def test_four_eyes_the_submitter_cannot_approve(self, budget: RunningService) -> None:
        _, team_id = await accepted_team(budget)
        expense = (await submit(budget, team_id, "finance")).json()
        response = await budget.client.post(
            f"/api/v1/expenses/{expense['id']}/approve", headers=budget.auth("finance")
        )
        assert_problem(response, 403, "four-eyes")
        approved = await budget.client.post(
            f"/api/v1/expenses/{expense['id']}/approve", headers=budget.auth("finance2")
        )
        assert approved.json()["status"] == "approved"

    async def test_only_finance_decides(self, budget: RunningService) -> None:
        _, team_id = await accepted_team(budget)
        expense = (await submit(budget, team_id)).json()
        for path in ("approve", "reject"):
            response = await budget.client.post(
                f"/api/v1/expenses/{expense['id']}/{path}",
                json={"reason": "x"},
                headers=budget.auth("staff"),
            )
            assert_problem(response, 403, "forbidden")

    async def test_approving_twice_changes_nothing(self, budget: RunningService) -> None:
        _, team_id = await accepted_team(budget)
        expense = (await submit(budget, team_id)).json()
        url = f"/api/v1/expenses/{expense['id']}/approve"
        first = await budget.client.post(url, headers=budget.auth("finance"))
        second = await budget.client.post(url, headers=budget.auth("finance"))
        assert first.json() == second.json()
        assert (await outbox_types(budget, team_id)).count(
            "de.cimis.budget.expense_approved.v1"
        ) == 1

    async def test_rejection_needs_a_reason_and_returns_the_money(
        self, budget: RunningService
    ) -> None:
        _, team_id = await accepted_team(budget)
        expense = (await submit(budget, team_id)).json()
        url = f"/api/v1/expenses/{expense['id']}/reject"
        assert_problem(
            await budget.client.post(url, json={}, headers=budget.auth("finance")),
            422,
            "validation-error",
        )
        rejected = await budget.client.post(
            url, json={"reason": "Beleg unleserlich"}, headers=budget.auth("finance")
        )
        assert rejected.json()["rejection_reason"] == "Beleg unleserlich"
        figures = (
            await budget.client.get(f"/api/v1/teams/{team_id}/budget", headers=budget.auth("staff"))
        ).json()
        assert figures["available"] == "18000.00"
        approve = await budget.client.post(
            f"/api/v1/expenses/{expense['id']}/approve", headers=budget.auth("finance")
        )
        assert_problem(approve, 409, "expense-rejected")

    async def test_thresholds_are_announced_once_each(self, budget: RunningService) -> None:
        call_id, team_id = await accepted_team(budget, budget_cents=20_000_00)
        await deliver(
            budget,
            MilestoneCompletedV1(
                team_id=team_id,
                call_id=call_id,
                milestone_id="m-proto",
                key="prototype",
                completed_by="agent-anna",
                completed_at=budget.clock.now(),
            ),
        )  # 16,000.00 of 20,000.00 released now
        for net in ("10000.00", "2000.00", "4000.00"):
            expense = (await submit(budget, team_id, net=net, vat="0.00")).json()
            await budget.client.post(
                f"/api/v1/expenses/{expense['id']}/approve", headers=budget.auth("finance")
            )
        async with budget.host.db.sessions() as session:
            rows = await session.execute(
                select(chassis.outbox.c.payload).where(
                    chassis.outbox.c.key == team_id,
                    chassis.outbox.c.event_type == "de.cimis.budget.threshold_crossed.v1",
                )
            )
            crossed = [json.loads(p)["data"]["threshold_percent"] for p in rows.scalars()]
        assert crossed == [50, 80]

    async def test_a_reversal_corrects_an_approval_by_a_reversing_transfer(
        self, budget: RunningService
    ) -> None:
        _, team_id = await accepted_team(budget)
        expense = (await submit(budget, team_id)).json()
        url = f"/api/v1/expenses/{expense['id']}"
        await budget.client.post(f"{url}/approve", headers=budget.auth("finance"))
        own = await budget.client.post(
            f"{url}/reverse", json={"reason": "doppelt"}, headers=budget.auth("finance")
        )
        assert_problem(own, 403, "four-eyes")
        reversed_ = await budget.client.post(
            f"{url}/reverse", json={"reason": "doppelt"}, headers=budget.auth("finance2")
        )
        assert reversed_.json()["status"] == "reversed"
        assert reversed_.json()["decided_by"] == "finance"
        figures = (
            await budget.client.get(f"/api/v1/teams/{team_id}/budget", headers=budget.auth("staff"))
        ).json()
        assert (figures["approved"], figures["available"]) == ("0.00", "18000.00")
        ledger = (
            await budget.client.get(
                "/api/v1/ledger", params={"team_id": team_id}, headers=budget.auth("finance")
            )
        ).json()
        assert [t["kind"] for t in ledger["items"]][-2:] == ["expense_approved", "expense_reversed"]
        assert "de.cimis.budget.expense_reversed.v1" in await outbox_types(budget, team_id)

    async def test_unknown_expense_is_404(self, budget: RunningService) -> None:
        response = await budget.client.post(
            "/api/v1/expenses/nope/approve", headers=budget.auth("finance")
        )
        assert_problem(response, 404, "not-found")


class TestLedgerAndExports:
    async def test_the_ledger_lists_balanced_transfers_oldest_first(
        self, budget: RunningService
    ) -> None:
        _, team_id = await accepted_team(budget)
        expense = (await submit(budget, team_id)).json()
        await budget.client.post(
            f"/api/v1/expenses/{expense['id']}/approve", headers=budget.auth("finance")
        )
        body = (
            await budget.client.get(
                "/api/v1/ledger", params={"team_id": team_id}, headers=budget.auth("finance")
            )
        ).json()
        assert [t["kind"] for t in body["items"]] == [
            "allocated",
            "tranche_released",
            "expense_submitted",
            "expense_approved",
        ]
        assert body["items"][2]["amount"] == "1190.00"

    async def test_the_ledger_is_for_finance(self, budget: RunningService) -> None:
        response = await budget.client.get("/api/v1/ledger", headers=budget.auth("staff"))
        assert_problem(response, 403, "forbidden")

    async def test_the_ledger_pages(self, budget: RunningService) -> None:
        call_id, _ = await accepted_team(budget)
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"call_id": call_id, "limit": 1}
            if cursor:
                params["cursor"] = cursor
            page = (
                await budget.client.get(
                    "/api/v1/ledger", params=params, headers=budget.auth("finance")
                )
            ).json()
            seen += [t["id"] for t in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert len(seen) == len(set(seen)) == 3  # funding, allocation, first tranche

    async def test_the_receipt_list_orders_by_position_then_date(
        self, budget: RunningService
    ) -> None:
        _, team_id = await accepted_team(budget)
        await submit(budget, team_id, position="travel", receipt_date="2024-07-02", net="100.00")
        await submit(budget, team_id, position="material", receipt_date="2024-07-20", net="80.50")
        await submit(budget, team_id, position="material", receipt_date="2024-07-01", net="10.00")
        response = await budget.client.get(
            f"/api/v1/teams/{team_id}/receipts.csv",
            params={"status": "all"},
            headers=budget.auth("finance"),
        )
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
        assert [(r["No."], r["Budget line"], r["Receipt date"], r["Net"]) for r in rows] == [
            ("1", "Material", "2024-07-01", "10.00"),
            ("2", "Material", "2024-07-20", "80.50"),
            ("", "Subtotal Material", "", "90.50"),
            ("3", "Travel", "2024-07-02", "100.00"),
            ("", "Subtotal Travel", "", "100.00"),
            ("", "Total", "", "190.50"),
        ]
        assert rows[0]["Payee"] == "Agentur Erzgebirge GmbH"
        assert rows[0]["Status"] == "submitted"

    async def test_the_german_receipt_list_is_the_one_an_auditor_files(
        self, budget: RunningService
    ) -> None:
        _, team_id = await accepted_team(budget)
        approved = (await submit(budget, team_id, position="travel", net="1234.50")).json()
        await budget.client.post(
            f"/api/v1/expenses/{approved['id']}/approve", headers=budget.auth("finance")
        )
        await submit(budget, team_id, position="material", net="80.00")  # not yet approved

        response = await budget.client.get(
            f"/api/v1/teams/{team_id}/receipts.csv",
            headers=budget.auth("finance") | {"Accept-Language": "de-DE,de;q=0.9"},
        )
        assert "belegliste-" in response.headers["content-disposition"]
        lines = response.text.lstrip("\ufeff").splitlines()
        assert lines[0] == (
            "lfd. Nr.;Belegdatum;Zahlungsdatum;Beleg-Nr.;Zahlungsempfänger;Zweck;Kostenposition;"
            "Netto;USt;Brutto;förderfähig;Status;geprüft von/am"
        )
        rows = list(csv.reader(lines[1:], delimiter=";"))
        [receipt, subtotal, total] = rows
        assert receipt[:2] == ["1", "30.07.2024"]
        assert receipt[6:] == [
            "Reisekosten",
            "1234,50",
            "190,00",
            "1424,50",
            "1424,50",
            "als förderfähig anerkannt",
            "finance, 01.08.2024",
        ]
        assert subtotal[6:11] == ["Summe Reisekosten", "1234,50", "190,00", "1424,50", "1424,50"]
        assert total[6:8] == ["Gesamtsumme", "1234,50"]

    async def test_the_receipt_list_as_a_spreadsheet_keeps_numbers_and_dates(
        self, budget: RunningService
    ) -> None:
        _, team_id = await accepted_team(budget)
        await submit(budget, team_id, position="material", net="80.50", vat="15.30")
        response = await budget.client.get(
            f"/api/v1/teams/{team_id}/receipts.xlsx",
            params={"lang": "de", "status": "all"},
            headers=budget.auth("finance"),
        )
        assert response.status_code == 200, response.text
        sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
        assert sheet is not None
        rows = [list(r) for r in sheet.iter_rows(min_row=3, values_only=True)]
        assert rows[0][:2] == ["lfd. Nr.", "Belegdatum"]
        receipt, subtotal, total = rows[1:]
        assert receipt[0] == 1
        assert receipt[1] == datetime(2024, 7, 30)
        assert receipt[7:11] == [80.5, 15.3, 95.8, 95.8]
        assert subtotal[6:8] == ["Summe Material", 80.5]
        assert total[6:11] == ["Gesamtsumme", 80.5, 15.3, 95.8, 95.8]

    async def test_the_call_ledger_csv_has_two_entries_per_transfer(
        self, budget: RunningService
    ) -> None:
        call_id, _ = await accepted_team(budget)
        response = await budget.client.get(
            f"/api/v1/calls/{call_id}/ledger.csv", headers=budget.auth("finance")
        )
        rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
        assert len(rows) == 6
        assert sum(int(r["amount_eur"].replace(".", "")) for r in rows) == 0
