"""Teams through their handlers: proposed, accepted and withdrawn, with their events and audit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cimis_chassis.clock import ManualClock
from cimis_contracts.intake import TeamAcceptedV1, TeamWithdrawnV1
from services.intake.adapters.unit_of_work import MemoryIntakeUnitOfWork
from services.intake.app import teams
from services.intake.app.commands import AcceptTeam, WithdrawTeam
from services.intake.domain.applications import Application
from services.intake.domain.calls import Call
from services.intake.domain.errors import IntakeRuleViolation, NotFound, StateConflict
from services.intake.domain.teams import Team
from tests.unit.intake.builders import NOW, company_facts, creative_facts
from tests.unit.intake.steps import (
    a_proposed_team,
    a_unit,
    accept,
    an_application,
    an_open_call,
    propose_command,
    run,
    withdraw,
)


class Programme:
    """A call with a company and two creatives applied, on one in-memory unit."""

    def __init__(self) -> None:
        self.uow: MemoryIntakeUnitOfWork = a_unit()
        self.call: Call
        self.company: Application
        self.other_company: Application
        self.creative: Application
        self.other_creative: Application

    async def setup(self) -> Programme:
        self.call = await an_open_call(self.uow)
        self.company = await an_application(self.uow, self.call, company_facts(), "Werkstatt")
        self.other_company = await an_application(self.uow, self.call, company_facts(), "Zweite")
        self.creative = await an_application(self.uow, self.call, creative_facts(), "Anna")
        self.other_creative = await an_application(self.uow, self.call, creative_facts(), "Ben")
        return self

    async def team(self, company: Application | None = None, *creatives: Application) -> Team:
        return await a_proposed_team(
            self.uow, self.call, company or self.company, list(creatives) or [self.creative]
        )

    def later(self, days: int) -> None:
        assert isinstance(self.uow.clock, ManualClock)
        self.uow.clock.set(NOW + timedelta(days=days))


@pytest.fixture
async def programme() -> Programme:
    return await Programme().setup()


class TestProposeTeam:
    async def test_a_proposed_team_is_stored_and_audited_but_not_announced(
        self, programme: Programme
    ) -> None:
        uow = programme.uow

        team = await programme.team()

        assert uow.teams.by_id[team.id] == team
        assert (team.status, team.application_ids) == (
            "proposed",
            (programme.company.id, programme.creative.id),
        )
        entry = uow.audit_log[-1]
        assert (entry.action, entry.entity_id, entry.before) == ("team.proposed", team.id, None)
        assert uow.events_of_type(TeamAcceptedV1.TYPE) == []

    async def test_unknown_applications_are_named_once_each(self, programme: Programme) -> None:
        command = propose_command(
            programme.call,
            programme.company,
            [programme.creative],
            creative_application_ids=["ghost", programme.creative.id, "ghost"],
        )

        with pytest.raises(IntakeRuleViolation) as refused:
            await run(programme.uow, teams.propose_team, command)

        assert refused.value.code == "unknown-application"
        assert refused.value.message == "No such application: ghost."
        assert programme.uow.teams.by_id == {}

    async def test_an_application_in_an_accepted_team_cannot_join_another(
        self, programme: Programme
    ) -> None:
        await accept(programme.uow, await programme.team())

        with pytest.raises(StateConflict) as refused:
            await programme.team(programme.other_company, programme.creative)

        assert refused.value.code == "application-taken"
        assert len(programme.uow.teams.by_id) == 1

    async def test_an_unknown_call_is_not_found(self, programme: Programme) -> None:
        command = propose_command(
            programme.call, programme.company, [programme.creative], call_id="no-such-call"
        )

        with pytest.raises(NotFound):
            await run(programme.uow, teams.propose_team, command)


class TestAcceptTeam:
    async def test_the_accepted_team_holds_its_applications_and_is_announced(
        self, programme: Programme
    ) -> None:
        uow = programme.uow
        team = await programme.team()
        programme.later(days=3)

        accepted = await accept(uow, team)

        assert uow.teams.by_id[team.id] == accepted
        assert (accepted.status, accepted.accepted_at) == ("accepted", NOW + timedelta(days=3))
        assert uow.memberships.team_of == dict.fromkeys(team.application_ids, team.id)
        [event] = uow.events_of_type(TeamAcceptedV1.TYPE)
        assert event.subject == team.id
        assert event.data["team_id"] == team.id
        assert event.data["call_id"] == programme.call.id
        assert event.data["budget_cents"] == 40_000_00
        assert event.data["creative_application_ids"] == [programme.creative.id]

    async def test_the_acceptance_is_audited_from_proposed_to_accepted(
        self, programme: Programme
    ) -> None:
        team = await programme.team()

        await accept(programme.uow, team)

        entry = programme.uow.audit_log[-1]
        assert (entry.action, entry.entity_id) == ("team.accepted", team.id)
        assert entry.before is not None
        assert entry.after is not None
        assert (entry.before["status"], entry.after["status"]) == ("proposed", "accepted")

    async def test_accepting_again_changes_nothing_and_announces_nothing(
        self, programme: Programme
    ) -> None:
        uow = programme.uow
        accepted = await accept(uow, await programme.team())
        audited = len(uow.audit_log)
        programme.later(days=5)

        again = await accept(uow, accepted)

        assert again == accepted
        assert len(uow.events_of_type(TeamAcceptedV1.TYPE)) == 1
        assert len(uow.audit_log) == audited

    async def test_an_unknown_team_is_not_found(self, programme: Programme) -> None:
        with pytest.raises(NotFound):
            await run(programme.uow, teams.accept_team, AcceptTeam("no-such-team"))

    async def test_a_withdrawn_team_cannot_be_accepted(self, programme: Programme) -> None:
        uow = programme.uow
        withdrawn = await withdraw(uow, await programme.team())

        with pytest.raises(StateConflict) as refused:
            await accept(uow, withdrawn)

        assert refused.value.code == "team-withdrawn"
        assert uow.teams.by_id[withdrawn.id] == withdrawn
        assert uow.events_of_type(TeamAcceptedV1.TYPE) == []
        assert uow.memberships.team_of == {}

    async def test_of_two_teams_sharing_a_creative_the_first_accepted_wins(
        self, programme: Programme
    ) -> None:
        uow = programme.uow
        first = await programme.team()
        second = await programme.team(programme.other_company, programme.creative)

        await accept(uow, first)
        with pytest.raises(StateConflict) as refused:
            await accept(uow, second)

        assert refused.value.code == "application-taken"
        assert uow.teams.by_id[second.id].status == "proposed"
        assert [e.subject for e in uow.events_of_type(TeamAcceptedV1.TYPE)] == [first.id]

    async def test_withdrawing_the_winner_lets_the_other_team_be_accepted(
        self, programme: Programme
    ) -> None:
        uow = programme.uow
        first = await programme.team()
        second = await programme.team(programme.other_company, programme.creative)
        await withdraw(uow, await accept(uow, first))

        accepted = await accept(uow, second)

        assert accepted.status == "accepted"
        assert uow.memberships.team_of == dict.fromkeys(second.application_ids, second.id)
        assert [e.subject for e in uow.events_of_type(TeamAcceptedV1.TYPE)] == [
            first.id,
            second.id,
        ]


class TestWithdrawTeam:
    async def test_withdrawing_an_accepted_team_frees_its_applications_and_is_announced(
        self, programme: Programme
    ) -> None:
        uow = programme.uow
        accepted = await accept(uow, await programme.team())
        programme.later(days=9)

        withdrawn = await withdraw(uow, accepted, reason="  Firma insolvent ")

        assert uow.teams.by_id[accepted.id] == withdrawn
        assert (withdrawn.status, withdrawn.withdrawal_reason) == ("withdrawn", "Firma insolvent")
        assert withdrawn.withdrawn_at == NOW + timedelta(days=9)
        assert uow.memberships.team_of == {}
        [event] = uow.events_of_type(TeamWithdrawnV1.TYPE)
        assert event.subject == accepted.id
        assert (event.data["was_accepted"], event.data["reason"]) == (True, "Firma insolvent")

    async def test_withdrawing_a_proposed_team_says_it_was_never_accepted(
        self, programme: Programme
    ) -> None:
        team = await programme.team()

        await withdraw(programme.uow, team)

        [event] = programme.uow.events_of_type(TeamWithdrawnV1.TYPE)
        assert event.data["was_accepted"] is False
        entry = programme.uow.audit_log[-1]
        assert (entry.action, entry.entity_id) == ("team.withdrawn", team.id)
        assert entry.after is not None
        assert entry.after["status"] == "withdrawn"

    async def test_withdrawing_again_changes_nothing_and_announces_nothing(
        self, programme: Programme
    ) -> None:
        uow = programme.uow
        withdrawn = await withdraw(uow, await programme.team(), reason="erster Grund")
        audited = len(uow.audit_log)

        again = await withdraw(uow, withdrawn, reason="zweiter Grund")

        assert again == withdrawn
        assert again.withdrawal_reason == "erster Grund"
        assert len(uow.events_of_type(TeamWithdrawnV1.TYPE)) == 1
        assert len(uow.audit_log) == audited

    async def test_a_withdrawal_without_a_reason_leaves_the_team_accepted(
        self, programme: Programme
    ) -> None:
        uow = programme.uow
        accepted = await accept(uow, await programme.team())

        with pytest.raises(IntakeRuleViolation) as refused:
            await run(uow, teams.withdraw_team, WithdrawTeam(accepted.id, "   "))

        assert refused.value.code == "invalid-withdrawal"
        assert uow.teams.by_id[accepted.id] == accepted
        assert uow.memberships.team_of == dict.fromkeys(accepted.application_ids, accepted.id)
        assert uow.events_of_type(TeamWithdrawnV1.TYPE) == []

    async def test_an_unknown_team_is_not_found(self, programme: Programme) -> None:
        with pytest.raises(NotFound):
            await run(programme.uow, teams.withdraw_team, WithdrawTeam("no-such-team", "weg"))
