"""Submitting an application: kept even when ineligible, with the reasons why."""

from __future__ import annotations

import uuid

from cimis_chassis.audit import snapshot
from cimis_contracts.intake import ApplicationSubmittedV1
from services.intake.app.calls import existing_call
from services.intake.app.commands import SubmitApplication
from services.intake.app.ports import IntakeUnitOfWork
from services.intake.domain.applications import Application, submit_application
from services.intake.domain.districts import district_code


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
    await uow.emit(
        ApplicationSubmittedV1(
            application_id=application.id,
            call_id=application.call_id,
            kind=application.facts.kind,
            district=application.facts.district,
            district_code=district_code(application.facts.district),
            eligible=application.eligibility.eligible,
            reason_codes=[r.code for r in application.eligibility.reasons],
            received_at=application.submitted_at,
        )
    )
    return application
