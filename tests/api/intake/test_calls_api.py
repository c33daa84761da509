"""POST/GET /api/v1/calls: roles, validation, money as strings, idempotency, pagination."""

from __future__ import annotations

import pytest

from tests.api.intake.conftest import CALL_BODY
from tests.api.intake.steps import assert_problem, open_call, outbox_events
from tests.support.service_app import RunningService


class TestOpenCall:
    async def test_staff_opens_a_call_with_the_default_plans(self, intake: RunningService) -> None:
        call = await open_call(intake)
        assert call["total_budget"] == "500000.00"
        assert call["max_team_budget"] == "50000.00"
        assert [t["percent"] for t in call["tranches"]] == [40, 40, 20]
        assert [s["key"] for s in call["phase_plan"]] == [
            "kickoff",
            "workshop",
            "prototype",
            "test",
            "final",
        ]
        # A bare date is the whole day in Europe/Berlin (CEST in September).
        assert call["closes_at"] == "2024-09-20T21:59:59.999999Z"
        assert call["state"] == "open"
        assert call["settlement_days"] == 90
        assert call["cost_plan_tolerance_percent"] == 20
        assert call["escalation_days"] == 14

    async def test_the_settlement_period_is_a_call_setting_budget_hears_of(
        self, intake: RunningService
    ) -> None:
        call = await open_call(intake, settlement_days=30)
        assert call["settlement_days"] == 30
        [event] = await outbox_events(intake, call["id"])
        assert event["data"]["settlement_days"] == 30

    async def test_the_escalation_period_is_a_call_setting_milestones_hears_of(
        self, intake: RunningService
    ) -> None:
        call = await open_call(intake, escalation_days=7)
        [event] = await outbox_events(intake, call["id"])
        assert (call["escalation_days"], event["data"]["escalation_days"]) == (7, 7)

    async def test_the_cost_plan_tolerance_is_a_call_setting_budget_hears_of(
        self, intake: RunningService
    ) -> None:
        call = await open_call(intake, cost_plan_tolerance_percent=10)
        assert call["cost_plan_tolerance_percent"] == 10
        [event] = await outbox_events(intake, call["id"])
        assert event["data"]["cost_plan_tolerance_percent"] == 10

    async def test_opening_emits_call_opened_with_the_plans(self, intake: RunningService) -> None:
        call = await open_call(intake)
        [event] = await outbox_events(intake, call["id"])
        assert event["type"] == "de.cimis.intake.call_opened.v1"
        assert event["subject"] == call["id"]
        assert event["data"]["total_budget_cents"] == 500_000_00
        assert event["data"]["tranches"][1] == {"milestone": "prototype", "percent": 40}
        assert len(event["data"]["phase_plan"]) == 5

    async def test_custom_tranches_and_plan(self, intake: RunningService) -> None:
        call = await open_call(
            intake,
            tranches=[{"milestone": None, "percent": 60}, {"milestone": "final", "percent": 40}],
            phase_plan=[
                {"key": "kickoff", "title": "Start", "days_after_acceptance": 7},
                {"key": "final", "title": "Ende", "days_after_acceptance": 90},
            ],
        )
        assert call["tranches"][0]["percent"] == 60
        assert call["phase_plan"][1]["days_after_acceptance"] == 90

    @pytest.mark.parametrize(
        ("change", "slug"),
        [
            ({"total_budget": 500000}, "validation-error"),
            ({"total_budget": "500000.001"}, "validation-error"),
            ({"surprise": 1}, "validation-error"),
            ({"districts": ["Erzgebirgskreis", "Berlin"]}, "unknown-district"),
            ({"closes_at": "2024-05-01"}, "invalid-call"),
            ({"max_team_budget": "600000.00"}, "invalid-call"),
            ({"tranches": [{"milestone": None, "percent": 50}]}, "invalid-tranches"),
            ({"settlement_days": 731}, "validation-error"),
            ({"settlement_days": -1}, "validation-error"),
            ({"cost_plan_tolerance_percent": 101}, "validation-error"),
            ({"escalation_days": 0}, "validation-error"),
        ],
    )
    async def test_bad_input_is_refused_and_changes_nothing(
        self, intake: RunningService, change: dict[str, object], slug: str
    ) -> None:
        before = await intake.client.get("/api/v1/calls?limit=200", headers=intake.auth("staff"))
        response = await intake.client.post(
            "/api/v1/calls", json=CALL_BODY | change, headers=intake.auth("staff")
        )
        assert_problem(response, 422, slug)
        after = await intake.client.get("/api/v1/calls?limit=200", headers=intake.auth("staff"))
        assert len(after.json()["items"]) == len(before.json()["items"])


class TestBudgetIncrease:
    async def test_staff_add_money_and_budget_hears_of_it(self, intake: RunningService) -> None:
        call = await open_call(intake)
        response = await intake.client.post(
            f"/api/v1/calls/{call['id']}/budget-increase",
            json={"amount": "90000.00", "reason": "Restmittel umgeschichtet"},
            headers=intake.auth("staff"),
        )
        assert response.status_code == 200, response.text
        assert response.json()["total_budget"] == "590000.00"
        [_, increased] = await outbox_events(intake, call["id"])
        assert increased["type"] == "de.cimis.intake.call_budget_increased.v1"
        assert (increased["data"]["added_cents"], increased["data"]["total_budget_cents"]) == (
            90_000_00,
            590_000_00,
        )

    @pytest.mark.parametrize(
        ("body", "status", "slug"),
        [
            ({"amount": "0.00", "reason": "x"}, 422, "validation-error"),
            ({"amount": "-5.00", "reason": "x"}, 422, "validation-error"),
            ({"amount": "5.00"}, 422, "validation-error"),
        ],
    )
    async def test_bad_input_changes_nothing(
        self, intake: RunningService, body: dict[str, str], status: int, slug: str
    ) -> None:
        call = await open_call(intake)
        url = f"/api/v1/calls/{call['id']}/budget-increase"
        response = await intake.client.post(url, json=body, headers=intake.auth("staff"))
        assert_problem(response, status, slug)
        assert len(await outbox_events(intake, call["id"])) == 1

    async def test_only_staff_and_only_known_calls(self, intake: RunningService) -> None:
        body = {"amount": "5.00", "reason": "x"}
        call = await open_call(intake)
        url = f"/api/v1/calls/{call['id']}/budget-increase"
        finance = await intake.client.post(url, json=body, headers=intake.auth("finance"))
        assert finance.status_code == 403
        missing = await intake.client.post(
            "/api/v1/calls/nope/budget-increase", json=body, headers=intake.auth("staff")
        )
        assert missing.status_code == 404


class TestAccess:
    async def test_no_key_is_401_with_a_bearer_challenge(self, intake: RunningService) -> None:
        response = await intake.client.post("/api/v1/calls", json=CALL_BODY)
        assert_problem(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"

    async def test_a_wrong_key_is_401(self, intake: RunningService) -> None:
        bogus = intake.keys["staff"][:-4] + "AAAA"
        response = await intake.client.get(
            "/api/v1/calls", headers={"Authorization": f"Bearer {bogus}"}
        )
        assert_problem(response, 401, "unauthorized")

    @pytest.mark.parametrize("who", ["finance", "operator", "agent-anna"])
    async def test_only_staff_and_admins_open_calls(self, intake: RunningService, who: str) -> None:
        response = await intake.client.post(
            "/api/v1/calls", json=CALL_BODY, headers=intake.auth(who)
        )
        assert_problem(response, 403, "forbidden")

    async def test_an_admin_may_open_calls(self, intake: RunningService) -> None:
        response = await intake.client.post(
            "/api/v1/calls", json=CALL_BODY, headers=intake.auth("admin")
        )
        assert response.status_code == 201

    async def test_unknown_call_is_404(self, intake: RunningService) -> None:
        response = await intake.client.get("/api/v1/calls/nope", headers=intake.auth("operator"))
        assert_problem(response, 404, "not-found")


class TestIdempotencyKey:
    async def test_same_key_and_body_give_the_same_answer_once(
        self, intake: RunningService
    ) -> None:
        headers = intake.auth("staff") | {"Idempotency-Key": "open-cimis-ii"}
        first = await intake.client.post("/api/v1/calls", json=CALL_BODY, headers=headers)
        second = await intake.client.post("/api/v1/calls", json=CALL_BODY, headers=headers)
        assert (first.status_code, second.status_code) == (201, 201)
        assert first.json() == second.json()
        assert len(await outbox_events(intake, first.json()["id"])) == 1

    async def test_same_key_with_another_body_is_409(self, intake: RunningService) -> None:
        headers = intake.auth("staff") | {"Idempotency-Key": "open-other"}
        await intake.client.post("/api/v1/calls", json=CALL_BODY, headers=headers)
        response = await intake.client.post(
            "/api/v1/calls", json=CALL_BODY | {"title": "Anders"}, headers=headers
        )
        assert_problem(response, 409, "idempotency-key-reused")

    async def test_keys_are_per_principal(self, intake: RunningService) -> None:
        body = CALL_BODY | {"title": "Per principal"}
        a = await intake.client.post(
            "/api/v1/calls", json=body, headers=intake.auth("staff") | {"Idempotency-Key": "k"}
        )
        b = await intake.client.post(
            "/api/v1/calls", json=body, headers=intake.auth("staff2") | {"Idempotency-Key": "k"}
        )
        assert a.json()["id"] != b.json()["id"]


class TestListing:
    async def test_pages_through_every_call_once(self, intake: RunningService) -> None:
        for _ in range(3):
            await open_call(intake)
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = (
                await intake.client.get(
                    "/api/v1/calls", params=params, headers=intake.auth("staff")
                )
            ).json()
            seen += [c["id"] for c in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) >= 3

    @pytest.mark.parametrize("limit", [0, 201])
    async def test_limit_is_bounded(self, intake: RunningService, limit: int) -> None:
        response = await intake.client.get(
            "/api/v1/calls", params={"limit": limit}, headers=intake.auth("staff")
        )
        assert_problem(response, 422, "validation-error")

    async def test_a_forged_cursor_is_400(self, intake: RunningService) -> None:
        response = await intake.client.get(
            "/api/v1/calls", params={"cursor": "garbage!"}, headers=intake.auth("staff")
        )
        assert_problem(response, 400, "invalid-cursor")
