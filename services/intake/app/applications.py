"""Submitting an application: kept even when ineligible, with the reasons why."""

from __future__ import annotations

import uuid

from cimis_chassis.audit import snapshot
from services.intake.app.calls import existing_call
from services.intake.app.commands import SubmitApplication
from services.intake.app.ports import IntakeUnitOfWork
from services.intake.domain.applications import Application, submit_application


async def submit(uow: IntakeUnitOfWork, cmd: SubmitApplication) -> Application:
    call = await existing_call(uow.calls, cmd.call_id)
    now = uow.clock.now()
    application = submit_application(
        application_id=str(uuid.uuid4()),
        call=call,
        name=cmd.name,
        contact_email=cmd.contact_email,
        facts=cmd.facts,
        received_at=cmd.received_at or now,
        entered_at=now,
        entered_by=cmd.entered_by,
    )
    uow.applications.add(application)
    await uow.audit(
        "application.submitted",
        "application",
        application.id,
        before=None,
        after=snapshot(application) | {"status": application.status},
    )
    return application
