"""POST/GET /api/v1/applications: eligibility explained, the deadline by the time received
(the server's, or the one staff enter for an application by post), roles."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.intake.steps import apply, assert_problem, open_call
from tests.support.service_app import RunningService


class TestSubmitApplication:
    async def test_an_eligible_company_is_submitted(self, intake: RunningService) -> None:
        call = await open_call(intake)
        app = await apply(intake, call["id"], "company")
        assert app["status"] == "submitted"
        assert app["eligibility"] == {"eligible": True, "reasons": []}
        assert app["annual_turnover"] == "1500000.00"

    async def test_an_ineligible_application_is_stored_with_its_reasons(
        self, intake: RunningService
    ) -> None:
        call = await open_call(intake)
        app = await apply(
            intake,
            call["id"],
            "company",
            district="Leipzig",
            employees=300,
            de_minimis_prior_aid=None,
        )
        assert app["status"] == "ineligible"
        assert [r["code"] for r in app["eligibility"]["reasons"]] == [
            "district-not-eligible",
            "not-sme-employees",
            "de-minimis-declaration-missing",
        ]
        stored = await intake.client.get(
            f"/api/v1/applications/{app['id']}", headers=intake.auth("staff")
        )
        assert stored.json()["eligibility"] == app["eligibility"]

    async def test_districts_by_key_or_name_in_any_spelling(self, intake: RunningService) -> None:
        decomposed = "Go\u0308rlitz"  # "Görlitz" typed with a combining umlaut
        call = await open_call(intake, districts=["14521", decomposed])
        assert call["districts"] == ["Erzgebirgskreis", "Görlitz"]
        assert call["district_codes"] == ["14521", "14626"]
        app = await apply(intake, call["id"], "company", district="erzgebirgskreis")
        assert (app["district"], app["district_code"]) == ("Erzgebirgskreis", "14521")
        assert app["eligibility"]["eligible"] is True
        other = await apply(intake, call["id"], "creative", district="14626")
        assert other["district"] == "Görlitz"

    async def test_an_unknown_district_is_422_with_the_valid_ones(
        self, intake: RunningService
    ) -> None:
        call = await open_call(intake)
        response = await intake.client.post(
            "/api/v1/applications",
            json={
                "call_id": call["id"],
                "kind": "creative",
                "name": "Berliner",
                "contact_email": "b@example.org",
                "district": "Berlin",
                "expertise": "Film",
            },
            headers=intake.auth("staff"),
        )
        body = assert_problem(response, 422, "unknown-district")
        assert "14521 Erzgebirgskreis" in body["detail"]
        assert "14729 Landkreis Leipzig" in body["detail"]

    async def test_each_reason_is_given_in_german_too(self, intake: RunningService) -> None:
        call = await open_call(intake)
        app = await apply(intake, call["id"], "company", district="Leipzig", employees=300)
        [district, employees] = app["eligibility"]["reasons"]
        assert district["message_de"].startswith("Der Sitz in Leipzig liegt außerhalb")
        assert employees["message_de"] == "300 Beschäftigte: ein KMU hat weniger als 250."

    async def test_after_the_deadline_by_server_time_is_call_closed(
        self, intake: RunningService
    ) -> None:
        now = intake.clock.now()
        call = await open_call(
            intake,
            opens_at=(now - timedelta(days=1)).isoformat(),
            closes_at=(now + timedelta(hours=1)).isoformat(),
        )
        intake.clock.advance(timedelta(hours=1, seconds=1))
        try:
            response = await intake.client.post(
                "/api/v1/applications",
                json={
                    "call_id": call["id"],
                    "kind": "creative",
                    "name": "Spät",
                    "contact_email": "spaet@example.org",
                    "district": "Chemnitz",
                    "expertise": "Film",
                },
                headers=intake.auth("staff"),
            )
        finally:
            intake.clock.set(now)
        body = assert_problem(response, 422, "call-closed")
        assert "Europe/Berlin" in body["detail"]
        listed = await intake.client.get(
            "/api/v1/applications", params={"call_id": call["id"]}, headers=intake.auth("staff")
        )
        assert listed.json()["items"] == []

    async def test_one_received_on_time_and_entered_after_the_deadline_counts(
        self, intake: RunningService
    ) -> None:
        now = intake.clock.now()
        call = await open_call(
            intake,
            opens_at=(now - timedelta(days=10)).isoformat(),
            closes_at=(now - timedelta(days=1)).isoformat(),
        )
        body = {
            "call_id": call["id"],
            "kind": "creative",
            "name": "Per Post",
            "contact_email": "post@example.org",
            "district": "Chemnitz",
            "expertise": "Grafik",
        }
        late = await intake.client.post(
            "/api/v1/applications", json=body, headers=intake.auth("staff")
        )
        assert_problem(late, 422, "call-closed")
        received = (now - timedelta(days=2)).isoformat()
        on_time = await intake.client.post(
            "/api/v1/applications",
            json=body | {"received_at": received},
            headers=intake.auth("staff"),
        )
        assert on_time.status_code == 201, on_time.text
        app = on_time.json()
        assert app["received_at"] == (now - timedelta(days=2)).isoformat().replace("+00:00", "Z")
        assert app["entered_at"] == now.isoformat().replace("+00:00", "Z")
        assert app["entered_by"] == "staff"

    async def test_received_in_the_future_is_422(self, intake: RunningService) -> None:
        call = await open_call(intake)
        future = (intake.clock.now() + timedelta(minutes=5)).isoformat()
        response = await intake.client.post(
            "/api/v1/applications",
            json={
                "call_id": call["id"],
                "kind": "creative",
                "name": "Zukunft",
                "contact_email": "z@example.org",
                "district": "Chemnitz",
                "expertise": "Film",
                "received_at": future,
            },
            headers=intake.auth("staff"),
        )
        assert_problem(response, 422, "received-in-future")

    async def test_unknown_call_is_404(self, intake: RunningService) -> None:
        response = await intake.client.post(
            "/api/v1/applications",
            json={
                "call_id": "nope",
                "kind": "creative",
                "name": "X",
                "contact_email": "x@example.org",
                "district": "Chemnitz",
                "expertise": "Foto",
            },
            headers=intake.auth("staff"),
        )
        assert_problem(response, 404, "not-found")

    @pytest.mark.parametrize(
        "change",
        [
            {"kind": "robot"},
            {"contact_email": "not-an-email"},
            {"annual_turnover": 100000},
            {"employees": -1},
            {"extra": "field"},
        ],
    )
    async def test_invalid_bodies_are_422(
        self, intake: RunningService, change: dict[str, object]
    ) -> None:
        call = await open_call(intake)
        body = {
            "call_id": call["id"],
            "kind": "company",
            "name": "Firma",
            "contact_email": "a@example.org",
            "district": "Chemnitz",
        } | change
        response = await intake.client.post(
            "/api/v1/applications", json=body, headers=intake.auth("staff")
        )
        assert_problem(response, 422, "validation-error")


class TestListApplications:
    async def test_filters_by_call_status_and_kind(self, intake: RunningService) -> None:
        call = await open_call(intake)
        company = await apply(intake, call["id"], "company")
        intake.clock.advance(timedelta(seconds=1))  # listings are oldest first
        creative = await apply(intake, call["id"], "creative")
        intake.clock.advance(timedelta(seconds=1))
        outsider = await apply(intake, call["id"], "creative", district="Zwickau")

        async def ids(**params: str) -> list[str]:
            response = await intake.client.get(
                "/api/v1/applications",
                params={"call_id": call["id"], **params},
                headers=intake.auth("finance"),
            )
            assert response.status_code == 200
            return [a["id"] for a in response.json()["items"]]

        assert await ids() == [company["id"], creative["id"], outsider["id"]]
        assert await ids(kind="creative") == [creative["id"], outsider["id"]]
        assert await ids(status="ineligible") == [outsider["id"]]
        assert await ids(status="submitted", kind="company") == [company["id"]]

    async def test_agents_cannot_list_applications(self, intake: RunningService) -> None:
        response = await intake.client.get("/api/v1/applications", headers=intake.auth("agent-ben"))
        assert_problem(response, 403, "forbidden")

    async def test_operators_read(self, intake: RunningService) -> None:
        response = await intake.client.get("/api/v1/applications", headers=intake.auth("operator"))
        assert response.status_code == 200

    async def test_unknown_application_is_404(self, intake: RunningService) -> None:
        response = await intake.client.get(
            "/api/v1/applications/nope", headers=intake.auth("staff")
        )
        assert_problem(response, 404, "not-found")

    async def test_an_unknown_status_filter_is_422(self, intake: RunningService) -> None:
        response = await intake.client.get(
            "/api/v1/applications", params={"status": "weird"}, headers=intake.auth("staff")
        )
        assert_problem(response, 422, "validation-error")
