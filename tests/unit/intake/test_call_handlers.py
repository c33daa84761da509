"""Opening a call through its handler: stored, audited and announced in one unit, or not at all."""

from __future__ import annotations

from typing import Any

import pytest

from cimis_chassis.idempotency import run_idempotent
from cimis_chassis.problems import Problem
from cimis_chassis.unit_of_work import UnitOfWork
from cimis_contracts import topics
from cimis_contracts.intake import CallOpenedV1
from services.intake.adapters.unit_of_work import MemoryIntakeUnitOfWork
from services.intake.app import calls
from services.intake.app.commands import OpenCall
from services.intake.domain.calls import DEFAULT_PHASE_PLAN
from services.intake.domain.errors import IntakeRuleViolation
from tests.unit.intake.builders import NOW
from tests.unit.intake.steps import a_unit, open_call_command, run


async def open_with_key(
    uow: MemoryIntakeUnitOfWork, key: str, command: OpenCall
) -> tuple[int, dict[str, Any]]:
    async def work(unit: UnitOfWork) -> tuple[int, dict[str, Any]]:
        assert unit is uow
        call = await calls.open_call(uow, command)
        return 201, {"id": call.id}

    return await run_idempotent(
        lambda: uow, principal="staff", key=key, fingerprint=command.title, work=work
    )


class TestOpenCall:
    async def test_the_call_is_stored_with_the_default_plans(self) -> None:
        uow = a_unit()

        call = await run(uow, calls.open_call, open_call_command())

        assert uow.calls.by_id[call.id] == call
        assert call.phase_plan == DEFAULT_PHASE_PLAN
        assert call.created_at == NOW

    async def test_call_opened_is_emitted_on_intake_s_topic_keyed_by_the_call(self) -> None:
        uow = a_unit()

        call = await run(uow, calls.open_call, open_call_command())

        [event] = uow.committed_events
        assert event.type == CallOpenedV1.TYPE
        assert event.subject == call.id
        assert uow.committed_topics == [topics.INTAKE]
        assert event.data["call_id"] == call.id
        assert event.data["total_budget_cents"] == 1_000_000_00
        assert [s["key"] for s in event.data["phase_plan"]] == [s.key for s in call.phase_plan]
        assert [t["percent"] for t in event.data["tranches"]] == [40, 40, 20]

    async def test_the_opening_is_audited_with_the_call_s_terms(self) -> None:
        uow = a_unit()

        call = await run(uow, calls.open_call, open_call_command())

        [entry] = uow.audit_log
        assert (entry.action, entry.entity_type, entry.entity_id) == (
            "call.opened",
            "call",
            call.id,
        )
        assert entry.before is None
        assert entry.after is not None
        assert entry.after["max_team_budget_cents"] == 50_000_00
        assert entry.actor == uow.cause.actor

    async def test_a_call_breaking_a_rule_changes_nothing(self) -> None:
        uow = a_unit()
        command = open_call_command(max_team_budget_cents=2_000_000_00)

        with pytest.raises(IntakeRuleViolation, match="per-team maximum"):
            await run(uow, calls.open_call, command)

        assert (uow.calls.by_id, uow.committed_events, uow.audit_log) == ({}, [], [])
        assert uow.commits == 0

    async def test_a_repeated_idempotency_key_opens_one_call(self) -> None:
        uow = a_unit()
        command = open_call_command()

        first = await open_with_key(uow, "key-1", command)
        again = await open_with_key(uow, "key-1", command)

        assert first == again
        assert list(uow.calls.by_id) == [first[1]["id"]]
        assert len(uow.events_of_type(CallOpenedV1.TYPE)) == 1

    async def test_the_same_key_with_another_call_is_refused(self) -> None:
        uow = a_unit()
        await open_with_key(uow, "key-1", open_call_command())

        with pytest.raises(Problem) as refused:
            await open_with_key(uow, "key-1", open_call_command(title="Another call"))

        assert refused.value.status == 409
        assert len(uow.calls.by_id) == 1
