"""Steps that drive intake over HTTP, shared by the API tests."""

from __future__ import annotations

import itertools
import json
from typing import Any

from sqlalchemy import select

from cimis_devtools.identifiers import vat_id
from services.intake.adapters.tables import chassis
from tests.api.intake.conftest import CALL_BODY
from tests.support.service_app import RunningService


async def open_call(svc: RunningService, **overrides: Any) -> dict[str, Any]:
    response = await svc.client.post(
        "/api/v1/calls", json=CALL_BODY | overrides, headers=svc.auth("staff")
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


_UNDERTAKINGS = itertools.count(1)


async def apply(svc: RunningService, call_id: str, kind: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "call_id": call_id,
        "kind": kind,
        "name": f"{kind} applicant",
        "contact_email": "kontakt@example.org",
        "district": "Erzgebirgskreis",
    }
    if kind == "creative":
        body["expertise"] = "Service-Design"
    else:
        body.update(
            employees=20,
            annual_turnover="1500000.00",
            de_minimis_prior_aid="0.00",
            challenge="Digitale Terminbuchung",
            # Each company its own undertaking: caps count per undertaking.
            undertaking_id=vat_id(next(_UNDERTAKINGS)),
        )
    response = await svc.client.post(
        "/api/v1/applications", json=body | overrides, headers=svc.auth("staff")
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def team_body(svc: RunningService, **overrides: Any) -> dict[str, Any]:
    call = await open_call(svc)
    company = await apply(svc, call["id"], "company")
    creative = await apply(svc, call["id"], "creative")
    return {
        "call_id": call["id"],
        "title": "Terminbuchung 2.0",
        "challenge": "Digitale Terminbuchung",
        "company_application_id": company["id"],
        "creative_application_ids": [creative["id"]],
        "agent_id": "agent-anna",
        "budget": "45000.00",
    } | overrides


async def propose_team(svc: RunningService, **overrides: Any) -> dict[str, Any]:
    response = await svc.client.post(
        "/api/v1/teams", json=await team_body(svc, **overrides), headers=svc.auth("staff")
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def outbox_events(svc: RunningService, key: str) -> list[dict[str, Any]]:
    """The CloudEvents the service queued for ``key``, oldest first."""
    o = chassis.outbox
    async with svc.host.db.sessions() as session:
        rows = await session.execute(
            select(o.c.payload).where(o.c.key == key).order_by(o.c.position)
        )
        return [json.loads(payload) for (payload,) in rows.all()]


def assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"].endswith(slug), body
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return body  # type: ignore[no-any-return]
