"""Submitting applications through the handler: kept with their eligibility, never announced."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cimis_chassis.clock import ManualClock
from cimis_contracts.intake import ApplicationSubmittedV1
from services.intake.app import applications
from services.intake.app.commands import SubmitApplication
from services.intake.domain.errors import IntakeRuleViolation, NotFound
from tests.unit.intake.builders import NOW, company_facts, creative_facts
from tests.unit.intake.steps import a_unit, an_open_call, run


class TestSubmitApplication:
    async def test_an_eligible_application_is_stored_as_submitted_at_the_clock_s_time(
        self,
    ) -> None:
        uow = a_unit()
        call = await an_open_call(uow)
        command = SubmitApplication(
            call.id, " Werkstatt GmbH ", "info@example.org", company_facts()
        )

        application = await run(uow, applications.submit, command)

        assert uow.applications.by_id[application.id] == application
        assert (application.status, application.name) == ("submitted", "Werkstatt GmbH")
        assert application.submitted_at == NOW

    async def test_the_submission_is_audited_and_announced_without_personal_data(self) -> None:
        uow = a_unit()
        call = await an_open_call(uow)
        events_before = len(uow.committed_events)

        application = await run(
            uow,
            applications.submit,
            SubmitApplication(call.id, "Anna Design", "anna@example.org", creative_facts()),
        )

        entry = uow.audit_log[-1]
        assert (entry.action, entry.entity_id) == ("application.submitted", application.id)
        assert entry.after is not None
        assert entry.after["status"] == "submitted"
        [event] = uow.committed_events[events_before:]
        assert (event.type, event.subject) == (ApplicationSubmittedV1.TYPE, call.id)
        assert event.data == {
            "application_id": application.id,
            "call_id": call.id,
            "kind": "creative",
            "district": application.facts.district,
            "district_code": event.data["district_code"],
            "eligible": True,
            "reason_codes": [],
            "received_at": event.data["received_at"],
        }
        assert "Anna Design" not in str(event.data)
        assert "anna@example.org" not in str(event.data)

    async def test_an_ineligible_application_is_kept_with_its_reasons(self) -> None:
        uow = a_unit()
        call = await an_open_call(uow)

        application = await run(
            uow,
            applications.submit,
            SubmitApplication(
                call.id, "Fern GmbH", "f@example.org", company_facts(district="Zwickau")
            ),
        )

        stored = uow.applications.by_id[application.id]
        assert stored.status == "ineligible"
        assert stored.eligibility.reasons
        assert uow.audit_log[-1].after["status"] == "ineligible"  # type: ignore[index]

    async def test_an_unknown_call_is_not_found_and_nothing_is_stored(self) -> None:
        uow = a_unit()

        with pytest.raises(NotFound):
            await run(
                uow,
                applications.submit,
                SubmitApplication("no-such-call", "X", "x@example.org", company_facts()),
            )

        assert uow.applications.by_id == {}
        assert uow.audit_log == []

    async def test_after_the_deadline_the_application_is_refused(self) -> None:
        uow = a_unit()
        call = await an_open_call(uow)
        assert isinstance(uow.clock, ManualClock)
        uow.clock.set(call.closes_at + timedelta(seconds=1))

        with pytest.raises(IntakeRuleViolation) as refused:
            await run(
                uow,
                applications.submit,
                SubmitApplication(call.id, "Spät GmbH", "s@example.org", company_facts()),
            )

        assert refused.value.code == "call-closed"
        assert uow.applications.by_id == {}
