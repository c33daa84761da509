"""Crafted input to intake gets a clear 4xx and changes nothing: cursors, dates, ids, text."""

from __future__ import annotations

import unicodedata

import pytest

from tests.api.crafted import CONTROL_CHARACTERS, FORGED_CURSORS, NUL
from tests.api.intake.conftest import CALL_BODY
from tests.api.intake.steps import apply, assert_problem, open_call, propose_team, team_body
from tests.support.service_app import RunningService


async def call_count(intake: RunningService) -> int:
    listing = await intake.client.get("/api/v1/calls?limit=200", headers=intake.auth("staff"))
    return len(listing.json()["items"])


class TestForgedCursors:
    @pytest.mark.parametrize("path", ["/api/v1/calls", "/api/v1/applications", "/api/v1/teams"])
    @pytest.mark.parametrize("cursor", FORGED_CURSORS.values(), ids=FORGED_CURSORS.keys())
    async def test_a_forged_cursor_is_400(
        self, intake: RunningService, path: str, cursor: str
    ) -> None:
        response = await intake.client.get(
            path, params={"cursor": cursor}, headers=intake.auth("staff")
        )
        assert_problem(response, 400, "invalid-cursor")


class TestDatesOutOfRange:
    @pytest.mark.parametrize(
        "change",
        [
            {"closes_at": "9999-12-31T23:59:59Z"},
            {"closes_at": "9999-12-31"},
            {"opens_at": "0001-01-01", "closes_at": "2024-09-20"},
            {"opens_at": "0001-01-01T00:00:00+14:00"},
        ],
    )
    async def test_a_call_window_that_overflows_is_422_and_changes_nothing(
        self, intake: RunningService, change: dict[str, str]
    ) -> None:
        before = await call_count(intake)
        response = await intake.client.post(
            "/api/v1/calls", json=CALL_BODY | change, headers=intake.auth("staff")
        )
        body = assert_problem(response, 422, "invalid-call")
        assert "between" in body["detail"]
        assert await call_count(intake) == before


class TestMoney:
    @pytest.mark.parametrize("amount", ["١.٠٠", "１.００", "５００００.00", "1.0\u0660"])
    async def test_only_ascii_digits_are_money(self, intake: RunningService, amount: str) -> None:
        response = await intake.client.post(
            "/api/v1/calls",
            json=CALL_BODY | {"max_team_budget": amount},
            headers=intake.auth("staff"),
        )
        assert_problem(response, 422, "validation-error")

    async def test_the_openapi_pattern_says_ascii_digits(self, intake: RunningService) -> None:
        schema = (await intake.client.get("/openapi.json")).json()
        pattern = schema["components"]["schemas"]["CallIn"]["properties"]["total_budget"]
        # A pot is above zero: no sign, and zero in any spelling excluded.
        assert pattern["pattern"] == r"^[0-9]{1,12}(\.[0-9]{1,2})?$"
        assert pattern["not"] == {"pattern": r"^0{1,12}(\.0{1,2})?$"}


class TestControlCharacters:
    @pytest.mark.parametrize("char", CONTROL_CHARACTERS)
    @pytest.mark.parametrize("field", ["title", "districts"])
    async def test_control_characters_in_a_call_are_422(
        self, intake: RunningService, char: str, field: str
    ) -> None:
        before = await call_count(intake)
        value: object = f"CIMIS{char}II" if field == "title" else [f"Chemnitz{char}"]
        response = await intake.client.post(
            "/api/v1/calls", json=CALL_BODY | {field: value}, headers=intake.auth("staff")
        )
        body = assert_problem(response, 422, "validation-error")
        assert "control character" in body["detail"]
        assert await call_count(intake) == before

    @pytest.mark.parametrize(
        "change",
        [
            {"name": f"Firma{NUL}"},
            {"contact_email": f"a{NUL}@example.org"},
            {"district": f"Erzgebirgskreis{NUL}"},
            {"challenge": f"Termine{NUL}"},
            {"call_id": f"abc{NUL}"},
        ],
    )
    async def test_control_characters_in_an_application_are_422(
        self, intake: RunningService, change: dict[str, str]
    ) -> None:
        call = await open_call(intake)
        body = {
            "call_id": call["id"],
            "kind": "company",
            "name": "Firma",
            "contact_email": "kontakt@example.org",
            "district": "Erzgebirgskreis",
            "employees": 20,
            "annual_turnover": "1500000.00",
            "de_minimis_prior_aid": "0.00",
            "challenge": "Digitale Terminbuchung",
        }
        response = await intake.client.post(
            "/api/v1/applications", json=body | change, headers=intake.auth("staff")
        )
        assert_problem(response, 422, "validation-error")

    async def test_line_breaks_in_a_paragraph_are_kept(self, intake: RunningService) -> None:
        call = await open_call(intake)
        app = await apply(intake, call["id"], "company", challenge="Erstens\nZweitens\tDrittens")
        assert app["challenge"] == "Erstens\nZweitens\tDrittens"

    @pytest.mark.parametrize("field", ["title", "agent_id", "challenge"])
    async def test_control_characters_in_a_team_are_422(
        self, intake: RunningService, field: str
    ) -> None:
        body = await team_body(intake)
        response = await intake.client.post(
            "/api/v1/teams", json=body | {field: f"x{NUL}"}, headers=intake.auth("staff")
        )
        assert_problem(response, 422, "validation-error")

    async def test_a_withdrawal_reason_with_nul_is_422(self, intake: RunningService) -> None:
        team = await propose_team(intake)
        response = await intake.client.post(
            f"/api/v1/teams/{team['id']}/withdraw",
            json={"reason": f"raus{NUL}"},
            headers=intake.auth("staff"),
        )
        assert_problem(response, 422, "validation-error")


class TestDistricts:
    @pytest.mark.parametrize(
        ("given", "canonical"),
        [
            ("erzgebirgskreis", "Erzgebirgskreis"),
            ("ERZGEBIRGSKREIS", "Erzgebirgskreis"),
            (unicodedata.normalize("NFD", "Görlitz"), "Görlitz"),
            ("GÖRLITZ", "Görlitz"),
            ("Sächsische Schweiz\u2010Osterzgebirge", "Sächsische Schweiz-Osterzgebirge"),
            ("Chem\u200bnitz", "Chemnitz"),
            ("ｃｈｅｍｎｉｔｚ", "Chemnitz"),
            ("  landkreis   leipzig ", "Landkreis Leipzig"),
        ],
    )
    async def test_a_district_in_any_case_or_unicode_form_is_the_canonical_one(
        self, intake: RunningService, given: str, canonical: str
    ) -> None:
        call = await open_call(intake, districts=[given])
        assert call["districts"] == [canonical]
        app = await apply(intake, call["id"], "creative", district=given)
        assert app["district"] == canonical
        assert app["eligibility"]["eligible"] is True

    async def test_one_district_in_two_spellings_counts_once(self, intake: RunningService) -> None:
        call = await open_call(intake, districts=["Chemnitz", "CHEMNITZ", "Zwickau"])
        assert call["districts"] == ["Chemnitz", "Zwickau"]

    async def test_an_unknown_district_is_echoed_only_as_a_short_prefix(
        self, intake: RunningService
    ) -> None:
        response = await intake.client.post(
            "/api/v1/calls",
            json=CALL_BODY | {"districts": ["B" * 90]},
            headers=intake.auth("staff"),
        )
        body = assert_problem(response, 422, "unknown-district")
        assert "B" * 61 not in body["detail"]
        assert "Erzgebirgskreis" in body["detail"]

    async def test_a_district_of_10_kb_is_422_without_an_echo(self, intake: RunningService) -> None:
        response = await intake.client.post(
            "/api/v1/calls",
            json=CALL_BODY | {"districts": ["B" * 10_000]},
            headers=intake.auth("staff"),
        )
        body = assert_problem(response, 422, "validation-error")
        assert len(response.text) < 2_000, body


class TestIds:
    async def test_an_id_matches_in_any_case(self, intake: RunningService) -> None:
        call = await open_call(intake)
        response = await intake.client.get(
            f"/api/v1/calls/{call['id'].upper()}", headers=intake.auth("staff")
        )
        assert response.status_code == 200, response.text
        assert response.json()["id"] == call["id"]

    async def test_ids_in_a_body_match_in_any_case(self, intake: RunningService) -> None:
        call = await open_call(intake)
        app = await apply(intake, call["id"].upper(), "creative")
        assert app["call_id"] == call["id"]

    async def test_an_agent_id_is_stored_normalised_and_its_agent_sees_the_team(
        self, intake: RunningService
    ) -> None:
        team = await propose_team(intake, agent_id="AGENT\u2010ANNA")
        assert team["agent_id"] == "agent-anna"
        response = await intake.client.get(
            f"/api/v1/teams/{team['id']}", headers=intake.auth("agent-anna")
        )
        assert response.status_code == 200, response.text

    async def test_an_agent_id_that_grows_beyond_its_column_when_normalised_is_422(
        self, intake: RunningService
    ) -> None:
        body = await team_body(intake, agent_id="\ufdfa" * 20)  # 360 characters under NFKC
        response = await intake.client.post(
            "/api/v1/teams", json=body, headers=intake.auth("staff")
        )
        assert_problem(response, 422, "validation-error")

    @pytest.mark.parametrize(
        "path",
        [
            "/api/v1/calls/" + "x" * 10_000,
            "/api/v1/applications/" + "x" * 10_000,
            "/api/v1/teams/" + "x" * 10_000,
            "/api/v1/calls/a%00b",
            "/api/v1/teams/a%07b",
        ],
    )
    async def test_an_absurd_path_id_is_422_without_an_echo(
        self, intake: RunningService, path: str
    ) -> None:
        response = await intake.client.get(path, headers=intake.auth("staff"))
        body = assert_problem(response, 422, "validation-error")
        # (``instance`` repeats the request's path: the HTTP edge's business, not the id's.)
        assert "x" * 200 not in str(body["detail"]) + str(body["errors"])

    async def test_an_absurd_filter_id_is_422(self, intake: RunningService) -> None:
        response = await intake.client.get(
            "/api/v1/teams", params={"call_id": f"a{NUL}"}, headers=intake.auth("staff")
        )
        assert_problem(response, 422, "validation-error")

    async def test_unknown_application_ids_are_echoed_only_as_short_prefixes(
        self, intake: RunningService
    ) -> None:
        body = await team_body(intake, creative_application_ids=["y" * 100])
        response = await intake.client.post(
            "/api/v1/teams", json=body, headers=intake.auth("staff")
        )
        problem = assert_problem(response, 422, "unknown-application")
        assert "y" * 61 not in problem["detail"]
