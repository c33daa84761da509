"""Crafted input to milestones gets a clear 4xx and changes nothing: cursors, due dates, text."""

from __future__ import annotations

import pytest

from tests.api.crafted import CONTROL_CHARACTERS, FORGED_CURSORS, NUL
from tests.api.milestones.steps import accept_team, assert_problem, complete, get_ok, reschedule
from tests.support.service_app import RunningService


@pytest.mark.parametrize("cursor", FORGED_CURSORS.values(), ids=FORGED_CURSORS.keys())
async def test_a_forged_cursor_is_400(milestones: RunningService, cursor: str) -> None:
    response = await milestones.client.get(
        "/api/v1/milestones", params={"cursor": cursor}, headers=milestones.auth("staff")
    )
    assert_problem(response, 400, "invalid-cursor")


async def test_the_issued_cursor_still_pages(milestones: RunningService) -> None:
    await accept_team(milestones)
    first = await get_ok(milestones, "/api/v1/milestones", limit=2)
    second = await get_ok(milestones, "/api/v1/milestones", limit=2, cursor=first["next_cursor"])
    assert {m["id"] for m in first["items"]}.isdisjoint(m["id"] for m in second["items"])


@pytest.mark.parametrize("due_date", ["9999-12-31", "3000-01-01"])
async def test_a_due_date_beyond_the_calendar_is_422_and_changes_nothing(
    milestones: RunningService, due_date: str
) -> None:
    team = await accept_team(milestones)
    workshop = team.milestones["workshop"]
    before = await get_ok(milestones, f"/api/v1/milestones/{workshop}")

    body = assert_problem(
        await reschedule(milestones, workshop, due_date), 422, "invalid-reschedule"
    )

    assert "2999-12-31" in body["detail"]
    assert await get_ok(milestones, f"/api/v1/milestones/{workshop}") == before


@pytest.mark.parametrize("due_date", ["２０２５-03-31", "٢٠٢٥-03-31"])
async def test_a_due_date_in_other_digits_is_422(milestones: RunningService, due_date: str) -> None:
    team = await accept_team(milestones)
    response = await reschedule(milestones, team.milestones["workshop"], due_date)
    assert_problem(response, 422, "validation-error")


@pytest.mark.parametrize("char", CONTROL_CHARACTERS)
async def test_a_reason_with_control_characters_is_422(
    milestones: RunningService, char: str
) -> None:
    team = await accept_team(milestones)
    response = await reschedule(
        milestones, team.milestones["workshop"], "2030-01-02", reason=f"Urlaub{char}"
    )
    assert_problem(response, 422, "validation-error")


@pytest.mark.parametrize(
    "body", [{"note": f"fertig{NUL}"}, {"evidence_url": f"https://example.org/{NUL}x"}]
)
async def test_a_completion_with_control_characters_is_422_and_changes_nothing(
    milestones: RunningService, body: dict[str, str]
) -> None:
    team = await accept_team(milestones)
    kickoff = team.milestones["kickoff"]
    assert_problem(await complete(milestones, kickoff, **body), 422, "validation-error")
    assert (await get_ok(milestones, f"/api/v1/milestones/{kickoff}"))["status"] == "open"


async def test_an_agent_id_in_another_case_still_coaches_the_team(
    milestones: RunningService,
) -> None:
    team = await accept_team(milestones, agent_id="Agent-Anna")
    response = await milestones.client.get(
        f"/api/v1/teams/{team.id}/milestones", headers=milestones.auth("agent-anna")
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/milestones/" + "m" * 10_000,
        "/api/v1/teams/" + "t" * 10_000 + "/milestones",
        "/api/v1/milestones/a%00b",
    ],
)
async def test_an_absurd_path_id_is_422(milestones: RunningService, path: str) -> None:
    response = await milestones.client.get(path, headers=milestones.auth("staff"))
    body = assert_problem(response, 422, "validation-error")
    assert len(body["detail"]) < 200


async def test_an_absurd_filter_id_is_422(milestones: RunningService) -> None:
    response = await milestones.client.get(
        "/api/v1/milestones", params={"team_id": "t" * 1000}, headers=milestones.auth("staff")
    )
    assert_problem(response, 422, "validation-error")
