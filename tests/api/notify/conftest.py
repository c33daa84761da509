"""A notify service per test module, on SQLite."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from cimis_chassis.envelope import CloudEvent
from cimis_chassis.unit_of_work import Cause
from cimis_contracts.base import EventData
from cimis_contracts.intake import TeamAcceptedV1
from cimis_devtools.kafka_local import find_free_port
from services.notify.adapters.templates import TemplateRenderer
from services.notify.adapters.unit_of_work import SqlNotifyUnitOfWork
from services.notify.app.alerts import Alerts, StaffMailbox
from services.notify.bootstrap import create_app
from services.notify.entrypoints.api import webhook_resolver
from services.notify.settings import NotifySettings
from tests.support.service_app import RunningService, running_service
from tests.unit.notify.builders import PUBLIC_V4, PUBLIC_V6, FakeResolver, envelope

STAFF_MAILBOX = "programmbuero@example.org"
# What webhook hosts resolve to when a profile is saved in these tests (no real DNS).
DNS = FakeResolver(
    {
        "localhost": ["127.0.0.1", "::1"],
        "chat.example.org": [PUBLIC_V4, PUBLIC_V6],
        "intern.example.org": ["10.0.0.5"],
        "rebound.example.org": [PUBLIC_V4, "127.0.0.1"],
        "hooks.intern.example": ["10.1.2.3"],
        "metadata.example.org": ["169.254.169.254"],
    }
)


@pytest.fixture(scope="module")
async def notify(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningService]:
    with pytest.MonkeyPatch.context() as env:
        # Mail goes nowhere (a closed port): these tests are about the API, not delivery.
        env.setenv("SMTP_PORT", str(find_free_port()))
        env.setenv("STAFF_MAILBOX_EMAIL", STAFF_MAILBOX)
        # One internal receiver is admitted, over plain http as well.
        env.setenv("WEBHOOK_ALLOWED_HOSTS", "hooks.intern.example")
        env.setenv("WEBHOOK_ALLOW_HTTP", "true")
        async with running_service(
            create_app,
            NotifySettings,
            tmp_path=tmp_path_factory.mktemp("notify"),
        ) as service:
            service.app.dependency_overrides[webhook_resolver] = lambda: DNS
            yield service


async def alert(svc: RunningService, payload: EventData) -> CloudEvent:
    """Apply one event through the consumer's own handlers, as if it came from Kafka."""
    event = envelope(payload, at=svc.clock.now())
    alerts = Alerts(TemplateRenderer(), StaffMailbox(STAFF_MAILBOX, "de"))
    cause = Cause(actor=f"event:{event.id}", correlation_id=event.id, causation_id=event.id)
    unit = svc.host.unit_of_work(cause)
    assert isinstance(unit, SqlNotifyUnitOfWork)
    async with unit as uow:
        await alerts.prepare(uow, [(payload, event)])
        if isinstance(payload, TeamAcceptedV1):
            await alerts.on_team_accepted(uow, payload, event)
        else:
            await alerts.on_team_event(uow, payload, event)
    return event


def new_team_id() -> str:
    return f"team-{uuid.uuid4().hex[:12]}"
