"""Undertakings: a company is one undertaking in any spelling of its VAT id; it holds at most
the call's per-undertaking maximum, and its de-minimis aid stays under the ceiling."""

from __future__ import annotations

from typing import Any

from cimis_devtools.identifiers import vat_id
from tests.api.intake.steps import apply, assert_problem, open_call
from tests.support.service_app import RunningService

UNDERTAKING = "DE136695976"


async def accept_team_of(
    svc: RunningService, call_id: str, undertaking_id: str, budget: str, **company: Any
) -> Any:
    """Propose and accept a team whose company application names ``undertaking_id``."""
    firm = await apply(svc, call_id, "company", undertaking_id=undertaking_id, **company)
    creative = await apply(svc, call_id, "creative")
    proposed = await svc.client.post(
        "/api/v1/teams",
        json={
            "call_id": call_id,
            "title": "Terminbuchung",
            "challenge": "Digitale Terminbuchung",
            "company_application_id": firm["id"],
            "creative_application_ids": [creative["id"]],
            "agent_id": "agent-anna",
            "budget": budget,
        },
        headers=svc.auth("staff"),
    )
    assert proposed.status_code == 201, proposed.text
    return await svc.client.post(
        f"/api/v1/teams/{proposed.json()['id']}/accept", headers=svc.auth("staff")
    )


class TestUndertakingIds:
    async def test_a_vat_id_in_any_spelling_is_one_undertaking(
        self, intake: RunningService
    ) -> None:
        call = await open_call(intake)
        app = await apply(intake, call["id"], "company", undertaking_id="de 136 695 976")
        assert app["undertaking_id"] == UNDERTAKING

    async def test_a_wrong_check_digit_is_422(self, intake: RunningService) -> None:
        call = await open_call(intake)
        response = await intake.client.post(
            "/api/v1/applications",
            json={
                "call_id": call["id"],
                "kind": "company",
                "name": "Tippfehler GmbH",
                "contact_email": "t@example.org",
                "district": "Chemnitz",
                "undertaking_id": "DE136695977",
            },
            headers=intake.auth("staff"),
        )
        assert_problem(response, 422, "invalid-undertaking-id")

    async def test_a_company_without_one_is_ineligible_with_the_reason(
        self, intake: RunningService
    ) -> None:
        call = await open_call(intake)
        app = await apply(intake, call["id"], "company", undertaking_id=None)
        assert app["status"] == "ineligible"
        assert [r["code"] for r in app["eligibility"]["reasons"]] == ["undertaking-id-missing"]


class TestCaps:
    async def test_one_undertaking_in_two_teams_of_a_call_is_capped(
        self, intake: RunningService
    ) -> None:
        call = await open_call(intake)  # per-team maximum 50,000 EUR, so per undertaking too
        first = await accept_team_of(intake, call["id"], UNDERTAKING, "40000.00")
        assert first.status_code == 200, first.text
        second = await accept_team_of(intake, call["id"], "de136695976", "40000.00")
        body = assert_problem(second, 422, "undertaking-cap-exceeded")
        assert "40000.00" in body["detail"]
        assert "50000.00" in body["detail"]

    async def test_a_call_may_allow_an_undertaking_more(self, intake: RunningService) -> None:
        call = await open_call(intake, max_undertaking_budget="100000.00")
        assert call["max_undertaking_budget"] == "100000.00"
        undertaking = vat_id(80_000_001)
        for _ in range(2):
            response = await accept_team_of(intake, call["id"], undertaking, "40000.00")
            assert response.status_code == 200, response.text

    async def test_de_minimis_counts_the_declared_aid_and_this_platforms_grants(
        self, intake: RunningService
    ) -> None:
        undertaking = vat_id(80_000_002)
        first_call, second_call = await open_call(intake), await open_call(intake)
        declared = {"de_minimis_prior_aid": "220000.00"}
        first = await accept_team_of(intake, first_call["id"], undertaking, "45000.00", **declared)
        assert first.status_code == 200, first.text
        # 220,000 declared + 45,000 granted + 45,000 now: above 300,000 EUR.
        second = await accept_team_of(
            intake, second_call["id"], undertaking, "45000.00", **declared
        )
        body = assert_problem(second, 422, "de-minimis-exceeded")
        assert "2023/2831" in body["detail"]


class TestDeMinimisNotice:
    async def test_the_notice_is_issued_on_acceptance_the_same_every_time(
        self, intake: RunningService
    ) -> None:
        call = await open_call(intake)
        firm = await apply(intake, call["id"], "company", undertaking_id=vat_id(80_000_003))
        creative = await apply(intake, call["id"], "creative")
        proposed = await intake.client.post(
            "/api/v1/teams",
            json={
                "call_id": call["id"],
                "title": "Möbel-Konfigurator",
                "challenge": "Digitale Terminbuchung",
                "company_application_id": firm["id"],
                "creative_application_ids": [creative["id"]],
                "agent_id": "agent-anna",
                "budget": "45000.00",
            },
            headers=intake.auth("staff"),
        )
        team_id = proposed.json()["id"]
        url = f"/api/v1/teams/{team_id}/de-minimis-notice.pdf"
        early = await intake.client.get(url, headers=intake.auth("staff"))
        assert_problem(early, 409, "team-not-accepted")
        await intake.client.post(f"/api/v1/teams/{team_id}/accept", headers=intake.auth("staff"))
        first = await intake.client.get(url, headers=intake.auth("staff"))
        second = await intake.client.get(url, headers=intake.auth("staff"))
        assert first.status_code == 200, first.text
        assert first.headers["content-type"] == "application/pdf"
        assert first.content.startswith(b"%PDF-")
        assert first.content == second.content
        by_agent = await intake.client.get(url, headers=intake.auth("agent-anna"))
        assert by_agent.status_code == 403
