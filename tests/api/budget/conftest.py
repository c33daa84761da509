"""A budget service per test module, on SQLite, seeded by events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from cimis_chassis.envelope import make_event
from cimis_chassis.unit_of_work import Cause
from cimis_contracts.base import EventData
from cimis_contracts.intake import TeamAcceptedV1
from services.budget.bootstrap import create_app
from services.budget.entrypoints.consumer import HANDLERS
from services.budget.settings import BudgetSettings
from tests.support.service_app import RunningService, running_service
from tests.unit.budget.test_event_handlers import call_opened


@pytest.fixture(scope="module")
async def budget(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningService]:
    async with running_service(
        create_app,
        BudgetSettings,
        tmp_path=tmp_path_factory.mktemp("budget"),
        # Payouts leave from here (Commerzbank's documentation IBAN).
        programme_iban="DE89 3704 0044 0532 0130 00",
        programme_bic="COBADEFFXXX",
    ) as service:
        yield service


async def deliver(svc: RunningService, payload: EventData) -> None:
    """Apply an event through budget's own handler, as its consumer would."""
    event = make_event(
        source="cimis/test",
        type_=payload.TYPE,
        subject=payload.subject(),
        time=svc.clock.now(),
        data=payload.model_dump(mode="json"),
    )
    async with svc.host.unit_of_work(Cause(f"event:{event.id}", event.id)) as uow:
        await HANDLERS[type(payload)](uow, payload, event)


async def open_call(
    svc: RunningService, total_cents: int = 200_000_00, *, settlement_days: int = 90
) -> str:
    call_id = str(uuid.uuid4())
    opened = call_opened(call_id, total_cents, now=svc.clock.now(), settlement_days=settlement_days)
    await deliver(svc, opened)
    return call_id


async def accepted_team(
    svc: RunningService,
    *,
    call_id: str | None = None,
    budget_cents: int = 45_000_00,
    agent: str = "agent-anna",
    input_vat_deductible: bool = False,
) -> tuple[str, str]:
    call_id = call_id or await open_call(svc)
    team_id = str(uuid.uuid4())
    await deliver(
        svc,
        TeamAcceptedV1(
            team_id=team_id,
            call_id=call_id,
            title="Möbel-Konfigurator",
            agent_id=agent,
            budget_cents=budget_cents,
            input_vat_deductible=input_vat_deductible,
            company_application_id="co",
            creative_application_ids=["cr"],
            # Two months ago: the receipts of these tests (July 2024) fall in its funding period.
            accepted_at=svc.clock.now() - timedelta(days=60),
        ),
    )
    return call_id, team_id


def expense_body(**overrides: Any) -> dict[str, Any]:
    return {
        "position": "external_services",
        "net": "1000.00",
        "vat": "190.00",
        "receipt_number": f"RE-{uuid.uuid4().hex[:8]}",
        "receipt_date": "2024-07-30",
        "payee": "Agentur Erzgebirge GmbH",
        "purpose": "Nutzerinterviews",
    } | overrides
