"""Payouts over HTTP: the bank account, payment requests with four eyes, the SEPA run, paid
and returned payments, and approved and paid kept apart in every figure."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from sqlalchemy import select

from cimis_contracts.budget import PaymentRequestChangedV1
from services.budget.adapters.ledger_store import reconcile
from services.budget.adapters.tables import chassis
from tests.api.budget.conftest import accepted_team, expense_body
from tests.api.intake.steps import assert_problem
from tests.support.service_app import RunningService

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}
ACCOUNT = {
    "account_holder": "Möbel-Konfigurator GbR",
    "iban": "de02 1203 0000 0000 2020 51",
    "bic": "BYLADEM1001",
}


async def approved_expense(svc: RunningService, team_id: str, net: str = "1000.00") -> str:
    submitted = await svc.client.post(
        f"/api/v1/teams/{team_id}/expenses",
        json=expense_body(net=net, vat="0.00"),
        headers=svc.auth("agent-anna"),
    )
    assert submitted.status_code == 201, submitted.text
    expense_id: str = submitted.json()["id"]
    approved = await svc.client.post(
        f"/api/v1/expenses/{expense_id}/approve", headers=svc.auth("finance")
    )
    assert approved.json()["status"] == "approved"
    return expense_id


async def team_ready_to_pay(svc: RunningService, *nets: str) -> tuple[str, list[str]]:
    _, team_id = await accepted_team(svc)
    response = await svc.client.put(
        f"/api/v1/teams/{team_id}/bank-account", json=ACCOUNT, headers=svc.auth("staff")
    )
    assert response.status_code == 200, response.text
    return team_id, [await approved_expense(svc, team_id, net) for net in nets or ("1000.00",)]


async def post(svc: RunningService, url: str, who: str, body: Any = None) -> Any:
    return await svc.client.post(url, json=body, headers=svc.auth(who))


async def figures(svc: RunningService, team_id: str) -> dict[str, Any]:
    response = await svc.client.get(f"/api/v1/teams/{team_id}/budget", headers=svc.auth("staff"))
    body: dict[str, Any] = response.json()
    return body


async def payment_events(svc: RunningService, team_id: str) -> list[str]:
    async with svc.host.db.sessions() as session:
        rows = await session.execute(
            select(chassis.outbox.c.payload)
            .where(chassis.outbox.c.key == team_id)
            .where(chassis.outbox.c.event_type == PaymentRequestChangedV1.TYPE)
            .order_by(chassis.outbox.c.position)
        )
        return [json.loads(p)["data"]["status"] for p in rows.scalars()]


class TestBankAccount:
    async def test_the_iban_is_checked_and_kept_in_electronic_form(
        self, budget: RunningService
    ) -> None:
        _, team_id = await accepted_team(budget)
        url = f"/api/v1/teams/{team_id}/bank-account"
        wrong = ACCOUNT | {"iban": "DE02 1203 0000 0000 2020 52"}
        assert_problem(
            await budget.client.put(url, json=wrong, headers=budget.auth("staff")),
            422,
            "invalid-iban",
        )
        assert (await budget.client.get(url, headers=budget.auth("finance"))).status_code == 404
        await budget.client.put(url, json=ACCOUNT, headers=budget.auth("staff"))
        stored = (await budget.client.get(url, headers=budget.auth("finance"))).json()
        assert (stored["iban"], stored["bic"]) == ("DE02120300000000202051", "BYLADEM1001")

    async def test_only_staff_enter_it(self, budget: RunningService) -> None:
        _, team_id = await accepted_team(budget)
        for who in ("finance", "agent-anna"):
            response = await budget.client.put(
                f"/api/v1/teams/{team_id}/bank-account", json=ACCOUNT, headers=budget.auth(who)
            )
            assert response.status_code == 403


class TestPaymentRequests:
    async def test_the_approved_unpaid_expenses_are_bundled_once(
        self, budget: RunningService
    ) -> None:
        team_id, expense_ids = await team_ready_to_pay(budget, "1000.00", "250.50")
        url = f"/api/v1/teams/{team_id}/payment-requests"
        created = await post(budget, url, "agent-anna")
        assert created.status_code == 201, created.text
        body = created.json()
        assert (body["status"], body["amount"]) == ("requested", "1250.50")
        assert sorted(body["expense_ids"]) == sorted(expense_ids)
        assert body["positions"] == [{"position": "external_services", "amount": "1250.50"}]
        assert_problem(await post(budget, url, "staff"), 409, "nothing-to-pay")
        listed = await budget.client.get(
            "/api/v1/payment-requests",
            params={"team_id": team_id, "status": "requested"},
            headers=budget.auth("agent-anna"),
        )
        assert [p["id"] for p in listed.json()["items"]] == [body["id"]]

    async def test_no_account_no_request(self, budget: RunningService) -> None:
        _, team_id = await accepted_team(budget)
        await approved_expense(budget, team_id)
        response = await post(budget, f"/api/v1/teams/{team_id}/payment-requests", "staff")
        assert_problem(response, 409, "bank-account-missing")

    async def test_another_agents_team_is_403(self, budget: RunningService) -> None:
        team_id, _ = await team_ready_to_pay(budget)
        response = await post(budget, f"/api/v1/teams/{team_id}/payment-requests", "agent-ben")
        assert response.status_code == 403

    async def test_four_eyes_finance_approves_what_it_did_not_request(
        self, budget: RunningService
    ) -> None:
        team_id, _ = await team_ready_to_pay(budget)
        payment = (await post(budget, f"/api/v1/teams/{team_id}/payment-requests", "staff")).json()
        url = f"/api/v1/payment-requests/{payment['id']}/approve"
        assert (await post(budget, url, "staff")).status_code == 403  # not finance
        approved = await post(budget, url, "finance")
        assert approved.json()["status"] == "approved"
        assert approved.json()["approved_by"] == "finance"

    async def test_a_cancelled_request_frees_its_expenses(self, budget: RunningService) -> None:
        team_id, _ = await team_ready_to_pay(budget)
        url = f"/api/v1/teams/{team_id}/payment-requests"
        first = (await post(budget, url, "staff")).json()
        cancel = f"/api/v1/payment-requests/{first['id']}/cancel"
        assert_problem(await post(budget, cancel, "finance", {}), 422, "validation-error")
        cancelled = await post(budget, cancel, "finance", {"reason": "Falsches Konto"})
        assert cancelled.json()["status"] == "cancelled"
        again = await post(budget, url, "staff")
        assert again.status_code == 201
        assert again.json()["expense_ids"] == first["expense_ids"]

    async def test_an_expense_in_a_request_cannot_be_reversed(self, budget: RunningService) -> None:
        team_id, [expense_id] = await team_ready_to_pay(budget)
        await post(budget, f"/api/v1/teams/{team_id}/payment-requests", "staff")
        response = await post(
            budget, f"/api/v1/expenses/{expense_id}/reverse", "finance2", {"reason": "falsch"}
        )
        assert_problem(response, 409, "expense-in-payment-request")


class TestRunsAndPayments:
    async def test_from_request_to_paid_and_back_the_books_balance(
        self, budget: RunningService
    ) -> None:
        team_id, _ = await team_ready_to_pay(budget, "1000.00", "500.00")
        payment = (await post(budget, f"/api/v1/teams/{team_id}/payment-requests", "staff")).json()
        pid = payment["id"]
        # Not yet approved: nothing of it is exported.
        await post(budget, f"/api/v1/payment-requests/{pid}/approve", "finance")
        run = await post(
            budget, "/api/v1/payment-runs", "finance2", {"execution_date": "2024-08-02"}
        )
        assert run.status_code == 201, run.text
        assert pid in run.json()["request_ids"]
        assert_problem(
            await post(budget, "/api/v1/payment-runs", "finance", {"execution_date": "2024-08-02"}),
            409,
            "nothing-to-export",
        )
        xml = await budget.client.get(
            f"/api/v1/payment-runs/{run.json()['id']}/sepa.xml", headers=budget.auth("finance")
        )
        assert xml.status_code == 200
        assert xml.headers["content-type"].startswith("application/xml")
        again = await budget.client.get(
            f"/api/v1/payment-runs/{run.json()['id']}/sepa.xml", headers=budget.auth("finance")
        )
        assert again.content == xml.content  # byte for byte
        document = ET.fromstring(xml.content)
        transfer = next(
            t
            for t in document.iterfind(".//p:CdtTrfTxInf", NS)
            if t.findtext("p:PmtId/p:EndToEndId", namespaces=NS) == pid.replace("-", "")
        )
        assert transfer.findtext("p:Amt/p:InstdAmt", namespaces=NS) == "1500.00"
        assert transfer.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=NS) == (
            "DE02120300000000202051"
        )
        assert document.findtext(".//p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == (
            "DE89370400440532013000"
        )
        assert document.findtext(".//p:ReqdExctnDt/p:Dt", namespaces=NS) == "2024-08-02"

        before = await figures(budget, team_id)
        assert (before["approved"], before["approved_unpaid"], before["paid"]) == (
            "1500.00",
            "1500.00",
            "0.00",
        )
        paid_url = f"/api/v1/payment-requests/{pid}/paid"
        assert_problem(
            await post(budget, paid_url, "finance", {"value_date": "2024-08-05"}),
            422,
            "value-date-in-future",
        )
        paid = await post(budget, paid_url, "finance", {"value_date": "2024-08-01"})
        assert (paid.json()["status"], paid.json()["value_date"]) == ("paid", "2024-08-01")
        after = await figures(budget, team_id)
        assert (after["approved"], after["approved_unpaid"], after["paid"]) == (
            "1500.00",
            "0.00",
            "1500.00",
        )
        returned = await post(
            budget,
            f"/api/v1/payment-requests/{pid}/returned",
            "finance",
            {"reason": "Konto erloschen"},
        )
        assert returned.json()["status"] == "returned"
        back = await figures(budget, team_id)
        assert (back["approved_unpaid"], back["paid"]) == ("1500.00", "0.00")
        # Returned money may be requested again, once the account is right.
        assert (
            await post(budget, f"/api/v1/teams/{team_id}/payment-requests", "staff")
        ).status_code == 201
        assert await payment_events(budget, team_id) == [
            "requested",
            "approved",
            "exported",
            "paid",
            "returned",
            "requested",
        ]
        async with budget.host.db.sessions() as session:
            report = await reconcile(session)
        assert report.ok, report.problems

    async def test_the_ledger_shows_the_payout_as_its_own_account(
        self, budget: RunningService
    ) -> None:
        team_id, _ = await team_ready_to_pay(budget, "700.00")
        pid = (await post(budget, f"/api/v1/teams/{team_id}/payment-requests", "staff")).json()[
            "id"
        ]
        await post(budget, f"/api/v1/payment-requests/{pid}/approve", "finance")
        await post(budget, "/api/v1/payment-runs", "finance", {"execution_date": "2024-08-01"})
        await post(
            budget, f"/api/v1/payment-requests/{pid}/paid", "finance", {"value_date": "2024-08-01"}
        )
        receipts = await budget.client.get(
            f"/api/v1/teams/{team_id}/receipts.csv?lang=de", headers=budget.auth("finance")
        )
        [row] = [line for line in receipts.text.splitlines() if line.startswith("1;")]
        assert row.split(";")[1:3] == ["30.07.2024", "01.08.2024"]  # Belegdatum, Zahlungsdatum
        ledger = await budget.client.get(
            "/api/v1/ledger", params={"team_id": team_id}, headers=budget.auth("finance")
        )
        last = ledger.json()["items"][-1]
        assert (last["kind"], last["from_account"], last["to_account"], last["amount"]) == (
            "payment_paid",
            f"team:{team_id}:spent",
            f"team:{team_id}:paid",
            "700.00",
        )

    async def test_a_run_in_the_past_is_422(self, budget: RunningService) -> None:
        response = await post(
            budget, "/api/v1/payment-runs", "finance", {"execution_date": "2024-07-31"}
        )
        assert_problem(response, 422, "execution-date-in-past")

    async def test_unknown_request_and_run_are_404(self, budget: RunningService) -> None:
        assert (
            await post(budget, "/api/v1/payment-requests/nope/approve", "finance")
        ).status_code == 404
        missing = await budget.client.get(
            "/api/v1/payment-runs/nope/sepa.xml", headers=budget.auth("finance")
        )
        assert missing.status_code == 404
