"""Blueprints over the API: submitted once the plan is complete, reviewed by staff, and only
then, with consenting names only, in the public catalogue (JSON, Atom, HTML)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from sqlalchemy import select

from cimis_contracts.intake import TeamReassignedV1
from cimis_contracts.milestones import MilestoneReopenedV1
from services.outcomes.adapters.tables import chassis
from tests.api.outcomes.conftest import BLUEPRINT, a_finished_team, feed
from tests.support.service_app import RunningService

ATOM = "{http://www.w3.org/2005/Atom}"


async def submit(svc: RunningService, team_id: str, who: str = "agent-anna", **body: Any) -> Any:
    return await svc.client.post(
        f"/api/v1/teams/{team_id}/blueprint", json=BLUEPRINT | body, headers=svc.auth(who)
    )


async def review(
    svc: RunningService, blueprint_id: str, action: str, body: dict[str, str] | None = None
) -> Any:
    return await svc.client.post(
        f"/api/v1/blueprints/{blueprint_id}/{action}", json=body, headers=svc.auth("staff")
    )


async def outbox_types(svc: RunningService, key: str) -> list[str]:
    o = chassis.outbox
    async with svc.host.db.sessions() as session:
        rows = await session.execute(
            select(o.c.payload).where(o.c.key == key).order_by(o.c.position)
        )
        return [json.loads(payload)["type"] for (payload,) in rows.all()]


def problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:cimis:problem:{slug}", body
    return body


class TestWorkflow:
    async def test_submitted_reviewed_published_and_withdrawn(
        self, outcomes: RunningService
    ) -> None:
        await a_finished_team(outcomes, "team-flow")

        created = await submit(outcomes, "team-flow")
        assert created.status_code == 201, created.text
        blueprint = created.json()
        assert (blueprint["status"], blueprint["version"], blueprint["district"]) == (
            "submitted",
            1,
            "Erzgebirgskreis",
        )
        assert blueprint["costs"] == {
            "lines": [
                {"position": "personnel", "amount": "12000.00"},
                {"position": "external_services", "amount": "8500.50"},
            ],
            "total": "20500.50",
        }
        path = f"/public/blueprints/{blueprint['id']}"
        assert (await outcomes.client.get(path)).status_code == 404  # not public yet

        asked = await review(outcomes, blueprint["id"], "request-changes", {"comment": "Kosten"})
        assert asked.json()["status"] == "changes_requested"
        again = await submit(outcomes, "team-flow", title="Terminbuchung, überarbeitet")
        assert (again.status_code, again.json()["version"]) == (201, 2)
        published = await review(outcomes, blueprint["id"], "publish")
        assert published.json()["status"] == "published"

        public = (await outcomes.client.get(path)).json()
        assert public["title"] == "Terminbuchung, überarbeitet"
        assert public["contacts"] == [{"name": "Anna Berger", "role": "Designerin"}]
        assert "Uwe Roth" not in json.dumps(public)
        assert not {"status", "team_id", "submitted_by", "review_comment"} & set(public)

        withdrawn = await review(outcomes, blueprint["id"], "withdraw", {"reason": "widerrufen"})
        assert withdrawn.json()["status"] == "withdrawn"
        assert (await outcomes.client.get(path)).status_code == 404
        assert (await outcomes.client.get(f"/katalog/{blueprint['id']}")).status_code == 404
        assert await outbox_types(outcomes, "team-flow") == [
            "de.cimis.outcomes.blueprint_submitted.v1",
            "de.cimis.outcomes.blueprint_changes_requested.v1",
            "de.cimis.outcomes.blueprint_submitted.v1",
            "de.cimis.outcomes.blueprint_published.v1",
            "de.cimis.outcomes.blueprint_withdrawn.v1",
        ]

    async def test_before_the_plan_is_complete_it_is_409(self, outcomes: RunningService) -> None:
        await a_finished_team(outcomes, "team-early")
        await feed(
            outcomes,
            MilestoneReopenedV1(
                team_id="team-early",
                call_id="call-1",
                milestone_id="m-final",
                key="final",
                previous_status="completed",
                reason="falsch bestätigt",
                reopened_by="sabine",
                reopened_at=outcomes.clock.now(),
            ),
        )
        problem(await submit(outcomes, "team-early"), 409, "plan-not-complete")
        problem(await submit(outcomes, "team-nobody", who="staff"), 404, "not-found")

    async def test_only_the_teams_own_agent_submits_and_only_staff_review(
        self, outcomes: RunningService
    ) -> None:
        await a_finished_team(outcomes, "team-ben", agent_id="agent-ben")
        problem(await submit(outcomes, "team-ben"), 403, "forbidden")
        created = await submit(outcomes, "team-ben", who="agent-ben")
        assert created.status_code == 201
        blueprint_id = created.json()["id"]
        denied = await outcomes.client.post(
            f"/api/v1/blueprints/{blueprint_id}/publish", headers=outcomes.auth("agent-ben")
        )
        problem(denied, 403, "forbidden")
        other = await outcomes.client.get(
            f"/api/v1/blueprints/{blueprint_id}", headers=outcomes.auth("agent-anna")
        )
        problem(other, 403, "forbidden")

    async def test_a_reassigned_teams_new_agent_may_submit(self, outcomes: RunningService) -> None:
        await a_finished_team(outcomes, "team-moved")
        await feed(
            outcomes,
            TeamReassignedV1(
                team_id="team-moved",
                call_id="call-1",
                agent_id="agent-ben",
                previous_agent_id="agent-anna",
                reason="Elternzeit",
                reassigned_by="sabine",
                reassigned_at=outcomes.clock.now(),
            ),
        )
        problem(await submit(outcomes, "team-moved"), 403, "forbidden")
        assert (await submit(outcomes, "team-moved", who="agent-ben")).status_code == 201

    async def test_bad_input_is_422_and_nothing_is_stored(self, outcomes: RunningService) -> None:
        await a_finished_team(outcomes, "team-bad")
        problem(
            await submit(outcomes, "team-bad", licence="all-rights-reserved"),
            422,
            "validation-error",
        )
        problem(await submit(outcomes, "team-bad", lessons=""), 422, "validation-error")
        assert await outbox_types(outcomes, "team-bad") == []


class TestCatalogue:
    async def published(self, svc: RunningService, team_id: str, **body: Any) -> str:
        await a_finished_team(svc, team_id, **body.pop("team", {}))
        created = await submit(svc, team_id, **body)
        assert created.status_code == 201, created.text
        blueprint_id: str = created.json()["id"]
        assert (await review(svc, blueprint_id, "publish")).status_code == 200
        return blueprint_id

    async def test_search_feed_and_pages(self, outcomes: RunningService) -> None:
        werkstatt = await self.published(outcomes, "team-cat-1", title="Werkstattkalender")
        galerie = await self.published(
            outcomes,
            "team-cat-2",
            title="Digitale Führungen",
            problem="Besucher fanden die Ausstellung nicht.",
            tools=["WordPress"],
            sector="Kultur",
            team={"district": "Görlitz", "district_code": "14626"},
        )

        async def ids(**query: str) -> list[str]:
            response = await outcomes.client.get("/public/blueprints", params=query)
            assert response.status_code == 200, response.text
            return [b["id"] for b in response.json()["items"]]

        assert {werkstatt, galerie} <= set(await ids())
        assert await ids(q="führungen ausstellung") == [galerie]
        assert await ids(district="14626") == [galerie]
        assert galerie in await ids(district="GÖRLITZ")
        assert werkstatt in await ids(tool="cal.com")
        assert galerie not in await ids(sector="handwerk")

        feed_response = await outcomes.client.get("/public/blueprints.atom")
        assert feed_response.headers["content-type"].startswith("application/atom+xml")
        entries = ET.fromstring(feed_response.content).findall(f"{ATOM}entry")
        titles = [e.findtext(f"{ATOM}title") for e in entries]
        assert {"Werkstattkalender", "Digitale Führungen"} <= set(titles)

        page = await outcomes.client.get("/katalog", params={"q": "Führungen"})
        assert page.status_code == 200
        assert '<html lang="de">' in page.text
        assert f'href="/katalog/{galerie}"' in page.text
        assert f'href="/katalog/{werkstatt}"' not in page.text
        english = await outcomes.client.get(f"/katalog/{galerie}", params={"lang": "en"})
        assert '<html lang="en">' in english.text
        assert "What the team learned" in english.text
        german = await outcomes.client.get(f"/katalog/{galerie}")
        assert "Was das Team gelernt hat" in german.text
        assert "12.000,00 €" in german.text
        assert "Uwe Roth" not in german.text
        assert "Anna Berger" in german.text

    async def test_text_from_a_team_is_escaped_in_the_pages(self, outcomes: RunningService) -> None:
        blueprint_id = await self.published(
            outcomes, "team-xss", title="<script>alert(1)</script> Werkzeugkasten"
        )
        page = await outcomes.client.get(f"/katalog/{blueprint_id}")
        assert "<script>alert(1)</script>" not in page.text
        assert "&lt;script&gt;" in page.text
