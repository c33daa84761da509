"""Staff keep network agents' contacts with PUT /agents/{id}; bad input changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.support.service_app import RunningService

ANNA: dict[str, Any] = {
    "name": "Anna Berger",
    "email": "anna.berger@kreatives-erzgebirge.de",
    "webhook_url": "https://chat.example.org/hooks/anna",
    "quiet_hours": {"start": "20:00", "end": "07:00"},
    "language": "de",
    "salutation": "Frau",
    "digest": {"weekday": "friday", "time": "16:30"},
}


async def put_agent(
    svc: RunningService, agent_id: str, body: dict[str, Any], who: str = "staff"
) -> Any:
    return await svc.client.put(f"/api/v1/agents/{agent_id}", json=body, headers=svc.auth(who))


async def test_staff_create_an_agent_and_read_it_back(notify: RunningService) -> None:
    response = await put_agent(notify, "agent-anna", ANNA)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body | {"created_at": None, "updated_at": None} == {
        "id": "agent-anna",
        **ANNA,
        "retired_at": None,
        "created_at": None,
        "updated_at": None,
    }
    fetched = await notify.client.get("/api/v1/agents/agent-anna", headers=notify.auth("staff"))
    assert fetched.json() == body


async def test_a_put_replaces_the_whole_profile_and_keeps_the_creation_time(
    notify: RunningService,
) -> None:
    first = (await put_agent(notify, "agent-carla", ANNA)).json()
    notify.clock.advance(timedelta(hours=1))

    second = await put_agent(notify, "agent-carla", {"name": "Carla", "email": "carla@example.org"})

    assert second.status_code == 200, second.text
    body = second.json()
    assert (body["webhook_url"], body["quiet_hours"], body["language"]) == (None, None, "de")
    assert body["salutation"] is None
    assert body["created_at"] == first["created_at"]
    assert body["updated_at"] != first["updated_at"]


async def test_an_agent_reads_their_own_profile_only(notify: RunningService) -> None:
    await put_agent(notify, "agent-anna", ANNA)
    await put_agent(notify, "agent-ben", ANNA | {"name": "Ben"})

    own = await notify.client.get("/api/v1/agents/agent-anna", headers=notify.auth("agent-anna"))
    other = await notify.client.get("/api/v1/agents/agent-ben", headers=notify.auth("agent-anna"))

    assert own.status_code == 200
    assert other.status_code == 403
    assert other.headers["content-type"] == "application/problem+json"


async def test_an_unknown_agent_is_404(notify: RunningService) -> None:
    response = await notify.client.get("/api/v1/agents/agent-zoe", headers=notify.auth("staff"))

    assert response.status_code == 404
    assert response.json()["type"].endswith("not-found")


async def test_staff_and_readers_list_agents(notify: RunningService) -> None:
    await put_agent(notify, "agent-anna", ANNA)

    response = await notify.client.get(
        "/api/v1/agents", params={"limit": 200}, headers=notify.auth("operator")
    )

    assert response.status_code == 200
    assert "agent-anna" in {a["id"] for a in response.json()["items"]}


@pytest.mark.parametrize("who", ["agent-anna", "finance", "operator"])
async def test_only_staff_and_admins_put_agents(notify: RunningService, who: str) -> None:
    response = await put_agent(notify, "agent-dora", ANNA, who=who)

    assert response.status_code == 403
    assert response.json()["type"].endswith("forbidden")


async def test_an_admin_may_put_agents(notify: RunningService) -> None:
    assert (await put_agent(notify, "agent-emil", ANNA, who="admin")).status_code == 200


async def test_without_a_key_the_answer_is_401(notify: RunningService) -> None:
    response = await notify.client.put("/api/v1/agents/agent-anna", json=ANNA)
    listing = await notify.client.get("/api/v1/notifications")

    assert response.status_code == 401
    assert listing.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"email": None}, "email"),
        ({"name": ""}, "name"),
        ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "quiet_hours"),
        ({"quiet_hours": {"start": "20:00"}}, "quiet_hours"),
        ({"quiet_hours": {"start": "20:00", "end": "07:00", "days": "mo-fr"}}, "quiet_hours"),
        ({"webhook_url": "ftp://chat.example.org/hook"}, "webhook_url"),
        ({"webhook_url": "not a url"}, "webhook_url"),
        ({"language": "fr"}, "language"),
        ({"phone": "+49 371 000000"}, "phone"),
    ],
)
async def test_invalid_profiles_are_422_and_change_nothing(
    notify: RunningService, change: dict[str, Any], where: str
) -> None:
    await put_agent(notify, "agent-fritz", ANNA)

    response = await put_agent(notify, "agent-fritz", ANNA | change)

    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["type"].endswith("validation-error")
    assert any(where in e["location"] for e in problem["errors"])
    stored = await notify.client.get("/api/v1/agents/agent-fritz", headers=notify.auth("staff"))
    assert {k: stored.json()[k] for k in ANNA} == ANNA


async def test_quiet_hours_that_start_when_they_end_are_422(notify: RunningService) -> None:
    response = await put_agent(
        notify, "agent-gerd", ANNA | {"quiet_hours": {"start": "07:00", "end": "07:00"}}
    )

    assert response.status_code == 422
    assert response.json()["type"].endswith("invalid-quiet-hours")


@pytest.mark.parametrize("agent_id", ["staff", "STAFF"])
async def test_the_office_mailbox_name_cannot_be_an_agent(
    notify: RunningService, agent_id: str
) -> None:
    response = await put_agent(notify, agent_id, ANNA)

    assert response.status_code == 422
    assert response.json()["type"].endswith("reserved-agent-id")


async def test_an_agent_id_with_spaces_is_422(notify: RunningService) -> None:
    response = await put_agent(notify, "agent anna", ANNA)

    assert response.status_code == 422


async def test_staff_retire_an_agent_who_is_kept_for_the_history(notify: RunningService) -> None:
    await put_agent(notify, "agent-dora", ANNA | {"name": "Dora Lang"})
    by_agent = await notify.client.delete(
        "/api/v1/agents/agent-dora", headers=notify.auth("agent-anna")
    )
    assert by_agent.status_code == 403
    retired = await notify.client.delete("/api/v1/agents/agent-dora", headers=notify.auth("staff"))
    assert retired.status_code == 200, retired.text
    assert retired.json()["retired_at"] is not None
    again = await notify.client.delete("/api/v1/agents/agent-dora", headers=notify.auth("staff"))
    assert again.json()["retired_at"] == retired.json()["retired_at"]
    listed = await notify.client.get("/api/v1/agents", headers=notify.auth("staff"))
    assert "agent-dora" in [a["id"] for a in listed.json()["items"]]
    missing = await notify.client.delete("/api/v1/agents/nobody", headers=notify.auth("staff"))
    assert missing.status_code == 404
