"""Agents see and mark only their own notifications; staff, finance and operators see all."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from services.notify.adapters.tables import deliveries
from tests.api.notify.conftest import alert, new_team_id
from tests.support.service_app import RunningService
from tests.unit.notify.builders import allocation_refused, team_accepted, threshold_crossed

ITEM_FIELDS = {
    "id",
    "agent_id",
    "team_id",
    "kind",
    "title",
    "body",
    "created_at",
    "channels",
    "read_at",
}


async def listing(svc: RunningService, who: str, **params: Any) -> Any:
    response = await svc.client.get(
        "/api/v1/notifications", params={"limit": 200, **params}, headers=svc.auth(who)
    )
    assert response.status_code == 200, response.text
    return response.json()


async def ids_for(svc: RunningService, who: str, **params: Any) -> set[str]:
    return {item["id"] for item in (await listing(svc, who, **params))["items"]}


async def notification_of(svc: RunningService, team_id: str, kind: str) -> dict[str, Any]:
    body = await listing(svc, "admin")
    [found] = [i for i in body["items"] if i["team_id"] == team_id and i["kind"] == kind]
    return found  # type: ignore[no-any-return]


@pytest.fixture
async def two_agents(notify: RunningService) -> dict[str, dict[str, Any]]:
    """A new team each for anna and ben, one threshold alert for anna, a refusal for staff."""
    await notify.client.put(
        "/api/v1/agents/agent-anna",
        json={"name": "Anna", "email": "anna@example.org", "language": "de"},
        headers=notify.auth("staff"),
    )
    anna_team, ben_team = new_team_id(), new_team_id()
    await alert(notify, team_accepted(anna_team, agent_id="agent-anna"))
    await alert(notify, team_accepted(ben_team, agent_id="agent-ben"))
    await alert(notify, threshold_crossed(anna_team))
    await alert(notify, allocation_refused(ben_team))
    return {
        "anna_new": await notification_of(notify, anna_team, "team_assigned"),
        "anna_threshold": await notification_of(notify, anna_team, "threshold_crossed"),
        "ben_new": await notification_of(notify, ben_team, "team_assigned"),
        "staff_refusal": await notification_of(notify, ben_team, "allocation_refused"),
    }


async def test_an_agent_lists_only_their_own(
    notify: RunningService, two_agents: dict[str, dict[str, Any]]
) -> None:
    body = await listing(notify, "agent-anna")

    assert {i["agent_id"] for i in body["items"]} == {"agent-anna"}
    seen = {i["id"] for i in body["items"]}
    assert {two_agents["anna_new"]["id"], two_agents["anna_threshold"]["id"]} <= seen
    assert two_agents["ben_new"]["id"] not in seen
    assert two_agents["staff_refusal"]["id"] not in seen


async def test_an_agent_asking_for_another_agents_list_is_403(
    notify: RunningService, two_agents: dict[str, dict[str, Any]]
) -> None:
    response = await notify.client.get(
        "/api/v1/notifications", params={"agent_id": "agent-ben"}, headers=notify.auth("agent-anna")
    )

    assert response.status_code == 403


@pytest.mark.parametrize("who", ["staff", "finance", "operator", "admin"])
async def test_readers_see_everyones_and_filter_by_agent(
    notify: RunningService, two_agents: dict[str, dict[str, Any]], who: str
) -> None:
    everyone = await ids_for(notify, who)
    ben = await listing(notify, who, agent_id="agent-ben")
    staff = await listing(notify, who, agent_id="staff")

    assert {n["id"] for n in two_agents.values()} <= everyone
    assert {i["agent_id"] for i in ben["items"]} == {"agent-ben"}
    assert two_agents["ben_new"]["id"] in {i["id"] for i in ben["items"]}
    assert two_agents["staff_refusal"]["id"] in {i["id"] for i in staff["items"]}


async def test_an_item_has_the_documented_fields_and_its_channels(
    notify: RunningService, two_agents: dict[str, dict[str, Any]]
) -> None:
    [item] = [
        i
        for i in (await listing(notify, "agent-anna"))["items"]
        if i["id"] == two_agents["anna_threshold"]["id"]
    ]

    assert set(item) >= ITEM_FIELDS
    assert item["kind"] == "threshold_crossed"
    assert item["title"].startswith("80 % des Budgets ausgegeben")
    assert "36.000,00 €" in item["body"]
    assert item["read_at"] is None
    assert item["created_at"].endswith("Z")
    # The commit woke the delivery worker: the mail may have been tried once already,
    # against the closed port, and waits for its retry.
    [inbox, email] = item["channels"]
    assert (inbox["channel"], inbox["status"], inbox["attempts"]) == ("inbox", "delivered", 1)
    assert (email["channel"], email["status"]) == ("email", "pending")
    assert email["attempts"] in (0, 1)
    assert "last_error" not in item["channels"][1]  # infrastructure detail, staff only
    assert item["status"] == "pending"


async def test_staff_alerts_name_the_team_and_go_to_the_office_mailbox(
    notify: RunningService, two_agents: dict[str, dict[str, Any]]
) -> None:
    refusal = two_agents["staff_refusal"]

    assert refusal["agent_id"] == "staff"
    assert refusal["title"] == "Budget nicht zugewiesen: Terminbuchung 2.0"
    assert [c["channel"] for c in refusal["channels"]] == ["inbox", "email"]
    assert "last_error" in refusal["channels"][1]


async def test_an_agent_marks_their_own_read_once(
    notify: RunningService, two_agents: dict[str, dict[str, Any]]
) -> None:
    nid = two_agents["anna_new"]["id"]

    first = await notify.client.post(
        f"/api/v1/notifications/{nid}/read", headers=notify.auth("agent-anna")
    )
    notify.clock.advance(timedelta(minutes=5))
    again = await notify.client.post(
        f"/api/v1/notifications/{nid}/read", headers=notify.auth("agent-anna")
    )

    assert first.status_code == 200, first.text
    assert first.json()["read_at"] is not None
    assert again.json()["read_at"] == first.json()["read_at"]
    assert nid in await ids_for(notify, "agent-anna", status="read")
    assert nid not in await ids_for(notify, "agent-anna", status="unread")


async def test_marking_another_agents_notification_is_403_and_changes_nothing(
    notify: RunningService, two_agents: dict[str, dict[str, Any]]
) -> None:
    nid = two_agents["ben_new"]["id"]

    response = await notify.client.post(
        f"/api/v1/notifications/{nid}/read", headers=notify.auth("agent-anna")
    )

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert (await notification_of(notify, two_agents["ben_new"]["team_id"], "team_assigned"))[
        "read_at"
    ] is None


async def test_reading_another_agents_notification_is_403(
    notify: RunningService, two_agents: dict[str, dict[str, Any]]
) -> None:
    nid = two_agents["ben_new"]["id"]

    foreign = await notify.client.get(
        f"/api/v1/notifications/{nid}", headers=notify.auth("agent-anna")
    )
    own = await notify.client.get(f"/api/v1/notifications/{nid}", headers=notify.auth("agent-ben"))

    assert foreign.status_code == 403
    assert own.status_code == 200
    assert own.json()["id"] == nid


async def test_staff_mark_the_offices_notifications_but_not_an_agents(
    notify: RunningService, two_agents: dict[str, dict[str, Any]]
) -> None:
    office = await notify.client.post(
        f"/api/v1/notifications/{two_agents['staff_refusal']['id']}/read",
        headers=notify.auth("staff"),
    )
    agents = await notify.client.post(
        f"/api/v1/notifications/{two_agents['ben_new']['id']}/read", headers=notify.auth("staff")
    )

    assert office.status_code == 200
    assert agents.status_code == 403


@pytest.mark.parametrize("who", ["operator", "finance"])
async def test_read_only_roles_cannot_mark_read(
    notify: RunningService, two_agents: dict[str, dict[str, Any]], who: str
) -> None:
    response = await notify.client.post(
        f"/api/v1/notifications/{two_agents['anna_new']['id']}/read", headers=notify.auth(who)
    )

    assert response.status_code == 403


async def test_an_admin_marks_any(
    notify: RunningService, two_agents: dict[str, dict[str, Any]]
) -> None:
    response = await notify.client.post(
        f"/api/v1/notifications/{two_agents['ben_new']['id']}/read", headers=notify.auth("admin")
    )

    assert response.status_code == 200


async def test_an_unknown_notification_is_404(notify: RunningService) -> None:
    mark = await notify.client.post(
        "/api/v1/notifications/does-not-exist/read", headers=notify.auth("agent-anna")
    )
    get = await notify.client.get(
        "/api/v1/notifications/does-not-exist", headers=notify.auth("staff")
    )

    assert (mark.status_code, get.status_code) == (404, 404)


async def test_channel_state_filters(
    notify: RunningService, two_agents: dict[str, dict[str, Any]]
) -> None:
    broken = two_agents["anna_threshold"]["id"]
    async with notify.host.db.transaction() as session:
        await session.execute(
            update(deliveries)
            .where(deliveries.c.notification_id == broken, deliveries.c.channel == "email")
            .values(status="failed", attempts=8, last_error="550 mailbox unavailable")
        )

    failed = await ids_for(notify, "staff", status="failed")
    pending = await ids_for(notify, "staff", status="pending")

    assert broken in failed
    assert broken not in pending
    assert two_agents["anna_new"]["id"] in pending


async def test_pages_follow_the_cursor_without_gaps_or_repeats(
    notify: RunningService, two_agents: dict[str, dict[str, Any]]
) -> None:
    everything = [i["id"] for i in (await listing(notify, "staff"))["items"]]
    seen: list[str] = []
    cursor = None
    for _ in range(len(everything) + 1):
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (
            await notify.client.get(
                "/api/v1/notifications", params=params, headers=notify.auth("staff")
            )
        ).json()
        seen.extend(i["id"] for i in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == everything


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 201}, {"status": "lost"}, {"cursor": "nonsense!"}]
)
async def test_bad_list_parameters_are_problems(
    notify: RunningService, params: dict[str, Any]
) -> None:
    response = await notify.client.get(
        "/api/v1/notifications", params=params, headers=notify.auth("staff")
    )

    assert response.status_code in (400, 422)
    assert response.headers["content-type"] == "application/problem+json"
