"""Intake's repositories keep calls, applications, teams and memberships alike on every backend.

Each contract runs on the in-memory fakes the handler tests use, on SQLite and on PostgreSQL;
the read-only queries behind the API's lists run on both databases.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

import pytest

from cimis_chassis.clock import ManualClock
from cimis_chassis.database import Database
from cimis_chassis.keyset import Page
from cimis_chassis.unit_of_work import Cause
from services.intake.adapters.queries import IntakeQueries
from services.intake.adapters.tables import chassis, metadata
from services.intake.adapters.unit_of_work import MemoryIntakeUnitOfWork, SqlIntakeUnitOfWork
from services.intake.app.commands import AcceptTeam
from services.intake.app.teams import accept_team
from services.intake.domain.agents import KnownAgent
from services.intake.domain.applications import Application
from services.intake.domain.calls import Call, PhaseStep, TrancheRule
from services.intake.domain.errors import IntakeRuleViolation, StateConflict
from services.intake.domain.teams import Team, accept, propose_team, withdraw
from tests.contract.databases import OnPostgres, OnSqlite, ServiceSchemaContract
from tests.contract.races import race_two_instances
from tests.unit.intake.builders import NOW, a_call, an_application, company_facts, creative_facts

BERLIN = ZoneInfo("Europe/Berlin")
T = TypeVar("T")

IntakeUnit = SqlIntakeUnitOfWork | MemoryIntakeUnitOfWork


class Failed(Exception):
    """Raised inside a unit to make it roll back."""


def a_team(
    team_id: str,
    company: Application,
    creatives: Sequence[Application],
    *,
    call: Call | None = None,
    agent_id: str = "agent-anna",
    at: datetime = NOW,
) -> Team:
    return propose_team(
        team_id=team_id,
        call=call or a_call(),
        title=f"Team {team_id}",
        challenge="Digitale Auftragsannahme",
        company=company,
        creatives=list(creatives),
        agent_id=agent_id,
        budget_cents=40_000_00,
        input_vat_deductible=True,
        already_in_accepted_team=(),
        now=at,
    )


def assert_utc(moment: datetime | None) -> None:
    assert moment is not None
    assert moment.tzinfo is UTC


async def store(
    unit: IntakeUnit,
    *,
    calls: Sequence[Call] = (),
    applications: Sequence[Application] = (),
    teams: Sequence[Team] = (),
) -> None:
    async with unit:
        for call in calls:
            unit.calls.add(call)
        for application in applications:
            unit.applications.add(application)
        for team in teams:
            unit.teams.add(team)


async def a_stored_team(unit: IntakeUnit, team_id: str = "team-1") -> Team:
    call = a_call()
    company = an_application(f"{team_id}-co", company_facts(), call)
    creative = an_application(f"{team_id}-cr", creative_facts(), call)
    team = a_team(team_id, company, [creative], call=call)
    await store(unit, calls=[call], applications=[company, creative], teams=[team])
    return team


class OnMemory:
    """Runs a contract on the fakes: one unit whose state outlives each transaction."""

    @pytest.fixture
    def unit(self) -> IntakeUnit:
        return MemoryIntakeUnitOfWork(clock=ManualClock(NOW))


class InSqlUnits:
    """Runs a contract through intake's unit of work on the backend's migrated database."""

    @pytest.fixture
    def unit(self, db: Database) -> IntakeUnit:
        return SqlIntakeUnitOfWork(
            db,
            chassis,
            clock=ManualClock(NOW),
            source="cimis/intake",
            cause=Cause("test", "correlation-test"),
        )


class CallsContract:
    async def test_a_call_comes_back_with_its_tranches_and_phase_plan(
        self, unit: IntakeUnit
    ) -> None:
        call = a_call(
            districts=["Görlitz", "Sächsische Schweiz-Osterzgebirge"],
            tranches=[
                TrancheRule(None, 30),
                TrancheRule("workshop", 30),
                TrancheRule("final", 40),
            ],
            phase_plan=[
                PhaseStep("kickoff", "Kick-off", 7),
                PhaseStep("workshop", "Co-Creation-Workshop", 30),
                PhaseStep("final", "Abschlusspräsentation und Blaupause", 90),
            ],
            total_budget_cents=25_000_000_00,
        )
        await store(unit, calls=[call])

        async with unit:
            loaded = await unit.calls.get(call.id)

        assert loaded == call
        assert loaded.created_at == call.created_at

    async def test_call_timestamps_come_back_as_the_same_instants_in_utc(
        self, unit: IntakeUnit
    ) -> None:
        created = datetime(2024, 8, 1, 12, 0, 0, 654321, tzinfo=BERLIN)
        call = a_call(
            opens_at=datetime(2024, 6, 1, 0, 0, tzinfo=BERLIN),
            closes_at=datetime(2024, 9, 20, 23, 59, 59, 999999, tzinfo=BERLIN),
            now=created,
        )
        await store(unit, calls=[call])

        async with unit:
            loaded = await unit.calls.get(call.id)

        assert loaded is not None
        for moment in (loaded.opens_at, loaded.closes_at, loaded.created_at):
            assert_utc(moment)
        assert (loaded.opens_at, loaded.closes_at, loaded.created_at) == (
            datetime(2024, 5, 31, 22, 0, tzinfo=UTC),
            datetime(2024, 9, 20, 21, 59, 59, 999999, tzinfo=UTC),
            datetime(2024, 8, 1, 10, 0, 0, 654321, tzinfo=UTC),
        )

    async def test_an_unknown_call_is_none(self, unit: IntakeUnit) -> None:
        async with unit:
            assert await unit.calls.get("no-such-call") is None

    async def test_a_call_is_found_in_the_unit_that_added_it_before_it_commits(
        self, unit: IntakeUnit
    ) -> None:
        call = a_call()
        async with unit:
            unit.calls.add(call)
            assert await unit.calls.get(call.id) == call

    async def test_a_unit_that_fails_keeps_none_of_its_calls(self, unit: IntakeUnit) -> None:
        async def add_then_fail() -> None:
            async with unit:
                unit.calls.add(a_call())
                raise Failed

        with pytest.raises(Failed):
            await add_then_fail()

        async with unit:
            assert await unit.calls.get("call-1") is None


class ApplicationsContract:
    async def test_an_ineligible_application_keeps_its_reasons_and_missing_figures(
        self, unit: IntakeUnit
    ) -> None:
        call = a_call()
        application = an_application(
            "app-1",
            company_facts(
                district="Zwickau",
                annual_turnover_cents=None,
                de_minimis_prior_aid_cents=None,
                challenge=None,
            ),
            call,
        )
        assert len(application.eligibility.reasons) >= 3
        await store(unit, calls=[call], applications=[application])

        async with unit:
            loaded = await unit.applications.get_many(["app-1"])

        assert loaded == {"app-1": application}
        assert loaded["app-1"].status == "ineligible"
        assert loaded["app-1"].facts.annual_turnover_cents is None

    async def test_money_figures_beyond_32_bits_come_back_exactly(self, unit: IntakeUnit) -> None:
        call = a_call()
        application = an_application(
            "app-1",
            company_facts(
                employees=180,
                annual_turnover_cents=60_000_000_00,
                balance_sheet_total_cents=42_999_999_99,
                de_minimis_prior_aid_cents=299_999_99,
            ),
            call,
        )
        await store(unit, calls=[call], applications=[application])

        async with unit:
            loaded = (await unit.applications.get_many(["app-1"]))["app-1"]

        assert loaded == application
        assert loaded.status == "submitted"
        assert loaded.facts.annual_turnover_cents == 60_000_000_00

    async def test_only_the_applications_that_exist_are_found(self, unit: IntakeUnit) -> None:
        call = a_call()
        company, creative = (
            an_application("co", company_facts(), call),
            an_application("cr", creative_facts(), call),
        )
        await store(unit, calls=[call], applications=[company, creative])

        async with unit:
            found = await unit.applications.get_many(["cr", "no-such-application", "co", "cr"])
            assert await unit.applications.get_many([]) == {}

        assert found == {"co": company, "cr": creative}

    async def test_an_application_is_found_in_the_unit_that_added_it(
        self, unit: IntakeUnit
    ) -> None:
        call = a_call()
        application = an_application("app-1", creative_facts(), call)
        await store(unit, calls=[call])

        async with unit:
            unit.applications.add(application)
            assert await unit.applications.get_many(["app-1"]) == {"app-1": application}


class TeamsContract:
    async def test_a_team_keeps_its_creatives_in_the_order_they_were_named(
        self, unit: IntakeUnit
    ) -> None:
        call = a_call()
        company = an_application("co", company_facts(), call)
        creatives = [an_application(i, creative_facts(), call) for i in ("cr-b", "cr-c", "cr-a")]
        team = a_team("team-1", company, creatives, call=call)
        await store(unit, calls=[call], applications=[company, *creatives], teams=[team])

        async with unit:
            loaded = await unit.teams.get("team-1")

        assert loaded == team
        assert loaded.creative_application_ids == ("cr-b", "cr-c", "cr-a")
        assert loaded.input_vat_deductible is True
        assert_utc(loaded.created_at)

    async def test_an_unknown_team_is_none_locked_or_not(self, unit: IntakeUnit) -> None:
        async with unit:
            assert await unit.teams.get("no-such-team") is None
            assert await unit.teams.get("no-such-team", lock=True) is None

    async def test_a_team_is_read_for_update_inside_a_unit(self, unit: IntakeUnit) -> None:
        team = await a_stored_team(unit)

        async with unit:
            assert await unit.teams.get(team.id, lock=True) == team

    async def test_putting_a_team_stores_its_acceptance_and_withdrawal(
        self, unit: IntakeUnit
    ) -> None:
        team = await a_stored_team(unit)
        accepted = accept(team, already_in_accepted_team=(), now=NOW + timedelta(days=1))
        withdrawn = withdraw(accepted, reason="Firma insolvent", now=NOW + timedelta(days=9))

        for state in (accepted, withdrawn):
            async with unit:
                await unit.teams.get(team.id, lock=True)
                unit.teams.put(state)
            async with unit:
                assert await unit.teams.get(team.id) == state

        assert_utc(withdrawn.accepted_at)
        assert (withdrawn.status, withdrawn.withdrawal_reason) == ("withdrawn", "Firma insolvent")

    async def test_a_unit_reads_back_the_state_it_put_even_when_it_locks_later(
        self, unit: IntakeUnit
    ) -> None:
        team = await a_stored_team(unit)
        accepted = accept(team, already_in_accepted_team=(), now=NOW)

        async with unit:
            await unit.teams.get(team.id)
            unit.teams.put(accepted)
            assert await unit.teams.get(team.id, lock=True) == accepted

    async def test_a_team_not_read_in_the_unit_cannot_be_put(self, unit: IntakeUnit) -> None:
        team = await a_stored_team(unit)
        with pytest.raises(KeyError):
            async with unit:
                unit.teams.put(accept(team, already_in_accepted_team=(), now=NOW))

    async def test_a_teams_creatives_cannot_change(self, unit: IntakeUnit) -> None:
        team = await a_stored_team(unit)

        async def put_other_creatives() -> None:
            async with unit:
                await unit.teams.get(team.id)
                unit.teams.put(replace(team, creative_application_ids=("cr-other",)))

        with pytest.raises(ValueError, match="creatives"):
            await put_other_creatives()

    async def test_a_unit_that_fails_leaves_the_team_as_it_was(self, unit: IntakeUnit) -> None:
        team = await a_stored_team(unit)

        async def accept_then_fail() -> None:
            async with unit:
                await unit.teams.get(team.id, lock=True)
                unit.teams.put(accept(team, already_in_accepted_team=(), now=NOW))
                raise Failed

        with pytest.raises(Failed):
            await accept_then_fail()

        async with unit:
            assert await unit.teams.get(team.id) == team


class MembershipsContract:
    async def test_members_of_an_accepted_team_are_found_by_application(
        self, unit: IntakeUnit
    ) -> None:
        call = a_call()
        company, creative, bystander = (
            an_application("co", company_facts(), call),
            an_application("cr", creative_facts(), call),
            an_application("cr-free", creative_facts(), call),
        )
        team = a_team("team-1", company, [creative], call=call)
        await store(unit, calls=[call], applications=[company, creative, bystander], teams=[team])

        async with unit:
            unit.memberships.record(team)

        async with unit:
            found = await unit.memberships.accepted_team_of(["co", "cr", "cr-free"])
            assert await unit.memberships.accepted_team_of([]) == {}
        assert found == {"co": "team-1", "cr": "team-1"}

    async def test_an_application_cannot_be_in_two_accepted_teams(self, unit: IntakeUnit) -> None:
        call = a_call()
        co1, co2, shared = (
            an_application("co1", company_facts(), call),
            an_application("co2", company_facts(), call),
            an_application("cr-shared", creative_facts(), call),
        )
        first = a_team("team-1", co1, [shared], call=call)
        second = a_team("team-2", co2, [shared], call=call)
        await store(unit, calls=[call], applications=[co1, co2, shared], teams=[first, second])
        async with unit:
            unit.memberships.record(first)

        with pytest.raises(StateConflict) as conflict:
            async with unit:
                unit.memberships.record(second)

        assert conflict.value.code == "application-taken"
        async with unit:
            found = await unit.memberships.accepted_team_of(["co1", "co2", "cr-shared"])
        assert found == {"co1": "team-1", "cr-shared": "team-1"}

    async def test_released_memberships_free_the_applications_for_another_team(
        self, unit: IntakeUnit
    ) -> None:
        call = a_call()
        co1, co2, shared = (
            an_application("co1", company_facts(), call),
            an_application("co2", company_facts(), call),
            an_application("cr-shared", creative_facts(), call),
        )
        first = a_team("team-1", co1, [shared], call=call)
        second = a_team("team-2", co2, [shared], call=call)
        await store(unit, calls=[call], applications=[co1, co2, shared], teams=[first, second])
        async with unit:
            unit.memberships.record(first)

        async with unit:
            unit.memberships.release(first)
            unit.memberships.record(second)

        async with unit:
            found = await unit.memberships.accepted_team_of(["co1", "co2", "cr-shared"])
        assert found == {"co2": "team-2", "cr-shared": "team-2"}

    async def test_a_unit_reads_back_what_it_recorded_and_released(self, unit: IntakeUnit) -> None:
        call = a_call()
        co1, co2, shared = (
            an_application("co1", company_facts(), call),
            an_application("co2", company_facts(), call),
            an_application("cr-shared", creative_facts(), call),
        )
        first = a_team("team-1", co1, [shared], call=call)
        second = a_team("team-2", co2, [shared], call=call)
        await store(unit, calls=[call], applications=[co1, co2, shared], teams=[first, second])
        async with unit:
            unit.memberships.record(first)
        wanted = ["co1", "co2", "cr-shared"]

        async with unit:
            unit.memberships.release(first)
            assert await unit.memberships.accepted_team_of(wanted) == {}
            unit.memberships.record(second)
            assert await unit.memberships.accepted_team_of(wanted) == {
                "co2": "team-2",
                "cr-shared": "team-2",
            }

    async def test_a_unit_that_fails_records_no_membership(self, unit: IntakeUnit) -> None:
        team = await a_stored_team(unit)

        async def record_then_fail() -> None:
            async with unit:
                unit.memberships.record(team)
                raise Failed

        with pytest.raises(Failed):
            await record_then_fail()

        async with unit:
            assert await unit.memberships.accepted_team_of(team.application_ids) == {}


class IntakeQueriesContract(ServiceSchemaContract):
    """The API's reads: lists filtered and keyset-paged, straight from the database."""

    metadata = metadata

    async def test_unknown_ids_find_nothing(self, db: Database) -> None:
        async with db.sessions() as session:
            queries = IntakeQueries(session)
            assert await queries.call("no-such-call") is None
            assert await queries.application("no-such-application") is None
            assert await queries.team("no-such-team") is None

    async def test_single_items_come_back_as_stored(self, db: Database, unit: IntakeUnit) -> None:
        team = await a_stored_team(unit)

        async with db.sessions() as session:
            queries = IntakeQueries(session)
            assert await queries.call(team.call_id) == a_call()
            company = await queries.application(team.company_application_id)
            assert await queries.team(team.id) == team
        assert company is not None
        assert company.kind == "company"

    async def test_calls_are_listed_in_creation_order_across_pages(
        self, db: Database, unit: IntakeUnit
    ) -> None:
        same_moment = NOW + timedelta(hours=1)
        calls = [
            a_call(call_id="call-c", now=same_moment),
            a_call(call_id="call-a", now=same_moment),
            a_call(call_id="call-z", now=NOW),
            a_call(call_id="call-b", now=same_moment + timedelta(microseconds=1)),
        ]
        await store(unit, calls=calls)

        async with db.sessions() as session:
            pages = await all_pages(
                IntakeQueries(session).calls, lambda c: (c.created_at or NOW, c.id), limit=2
            )

        assert [[c.id for c in page] for page in pages] == [
            ["call-z", "call-a"],
            ["call-c", "call-b"],
            [],
        ]

    async def test_applications_are_filtered_by_call_status_and_kind(
        self, db: Database, unit: IntakeUnit
    ) -> None:
        first, second = a_call(call_id="call-1"), a_call(call_id="call-2")
        applications = [
            an_application("co-ok", company_facts(), first),
            an_application("co-far", company_facts(district="Zwickau"), first),
            an_application("cr-ok", creative_facts(), first),
            an_application("cr-other-call", creative_facts(), second),
        ]
        await store(unit, calls=[first, second], applications=applications)

        async with db.sessions() as session:
            queries = IntakeQueries(session)

            async def ids(call_id: str | None, status: str | None, kind: str | None) -> list[str]:
                found = await queries.applications(
                    Page(None, 100), call_id=call_id, status=status, kind=kind
                )
                return sorted(a.id for a in found)

            assert await ids(None, None, None) == ["co-far", "co-ok", "cr-ok", "cr-other-call"]
            assert await ids("call-1", None, None) == ["co-far", "co-ok", "cr-ok"]
            assert await ids(None, "ineligible", None) == ["co-far"]
            assert await ids(None, None, "creative") == ["cr-ok", "cr-other-call"]
            assert await ids("call-1", "submitted", "company") == ["co-ok"]
            assert await ids("call-2", None, "company") == []

    async def test_application_pages_neither_repeat_nor_skip_equal_submission_times(
        self, db: Database, unit: IntakeUnit
    ) -> None:
        call = a_call()
        t0, t1 = NOW, NOW + timedelta(minutes=1)
        submitted = {"app-5": t0, "app-2": t1, "app-7": t0, "app-1": t1, "app-3": t0, "app-6": t1}
        submitted["app-4"] = NOW + timedelta(minutes=2)
        applications = [
            an_application(app_id, creative_facts(), call, at=at)
            for app_id, at in submitted.items()
        ]
        await store(unit, calls=[call], applications=applications)
        expected = sorted(submitted, key=lambda app_id: (submitted[app_id], app_id))

        async with db.sessions() as session:
            queries = IntakeQueries(session)

            async def fetch(page: Page[datetime]) -> list[Application]:
                return await queries.applications(page, call_id=call.id, status=None, kind=None)

            for limit in (1, 2, 3, 7, 10):
                pages = await all_pages(fetch, lambda a: (a.submitted_at, a.id), limit)
                listed = [a.id for page in pages for a in page]
                assert listed == expected, f"limit {limit}"

    async def test_teams_are_filtered_by_call_status_and_agent(
        self, db: Database, unit: IntakeUnit
    ) -> None:
        first, second = a_call(call_id="call-1"), a_call(call_id="call-2")
        co1, cr1 = (
            an_application("co1", company_facts(), first),
            an_application("cr1", creative_facts(), first),
        )
        co2, cr2 = (
            an_application("co2", company_facts(), second),
            an_application("cr2", creative_facts(), second),
        )
        teams = [
            a_team("t-anna", co1, [cr1], call=first, agent_id="agent-anna"),
            a_team("t-ben", co1, [cr1], call=first, agent_id="agent-ben"),
            a_team("t-other-call", co2, [cr2], call=second, agent_id="agent-anna"),
        ]
        await store(unit, calls=[first, second], applications=[co1, cr1, co2, cr2], teams=teams)
        async with unit:
            await unit.teams.get("t-ben", lock=True)
            unit.teams.put(accept(teams[1], already_in_accepted_team=(), now=NOW))

        async with db.sessions() as session:
            queries = IntakeQueries(session)

            async def ids(call_id: str | None, status: str | None, agent: str | None) -> list[str]:
                found = await queries.teams(
                    Page(None, 100), call_id=call_id, status=status, agent_id=agent
                )
                return sorted(t.id for t in found)

            assert await ids(None, None, None) == ["t-anna", "t-ben", "t-other-call"]
            assert await ids("call-1", None, None) == ["t-anna", "t-ben"]
            assert await ids(None, "accepted", None) == ["t-ben"]
            assert await ids(None, None, "agent-anna") == ["t-anna", "t-other-call"]
            assert await ids("call-1", "proposed", "agent-anna") == ["t-anna"]

    async def test_team_pages_neither_repeat_nor_skip_equal_creation_times(
        self, db: Database, unit: IntakeUnit
    ) -> None:
        call = a_call()
        company = an_application("co", company_facts(), call)
        creatives = [an_application(i, creative_facts(), call) for i in ("cr-b", "cr-a")]
        created = {f"team-{n}": NOW + timedelta(seconds=n % 2) for n in (4, 1, 6, 3, 2, 5)}
        teams = [
            a_team(team_id, company, creatives, call=call, at=at) for team_id, at in created.items()
        ]
        await store(unit, calls=[call], applications=[company, *creatives], teams=teams)
        expected = sorted(created, key=lambda team_id: (created[team_id], team_id))

        async with db.sessions() as session:
            queries = IntakeQueries(session)

            async def fetch(page: Page[datetime]) -> list[Team]:
                return await queries.teams(page, call_id=call.id, status=None, agent_id=None)

            for limit in (1, 2, 4, 6):
                pages = await all_pages(fetch, lambda t: (t.created_at, t.id), limit)
                listed = [t.id for page in pages for t in page]
                assert listed == expected, f"limit {limit}"
                assert all(
                    t.creative_application_ids == ("cr-b", "cr-a") for page in pages for t in page
                )


def sql_unit(db: Database) -> SqlIntakeUnitOfWork:
    return SqlIntakeUnitOfWork(
        db, chassis, clock=ManualClock(NOW), source="cimis/intake", cause=Cause("test", "race")
    )


class InstancesContract(InSqlUnits):
    """Two intake instances on one database, accepting at the same moment."""

    async def test_two_acceptances_for_one_undertaking_in_two_calls_are_checked_in_turn(
        self, db: Database, database_url: str
    ) -> None:
        # 230,000 EUR declared: room for one more 40,000 EUR team under the 300,000 EUR
        # de-minimis ceiling, not for two, whichever call each is in.
        facts = company_facts(de_minimis_prior_aid_cents=230_000_00)
        stored: list[Team] = []
        async with sql_unit(db) as uow:
            uow.agents.add(KnownAgent("agent-anna", "Anna", updated_at=NOW))
            for call_id in ("call-1", "call-2"):
                call = a_call(call_id=call_id)
                company = an_application(f"{call_id}-co", facts, call)
                creative = an_application(f"{call_id}-cr", creative_facts(), call)
                stored.append(a_team(f"team-{call_id}", company, [creative], call=call))
                uow.calls.add(call)
                uow.applications.add(company)
                uow.applications.add(creative)
                uow.teams.add(stored[-1])
        first, second = stored

        async def accept(uow: SqlIntakeUnitOfWork, team: Team) -> None:
            await accept_team(uow, AcceptTeam(team.id))

        with pytest.raises(IntakeRuleViolation) as refused:
            await race_two_instances(
                db,
                database_url,
                sql_unit,
                lambda uow: accept(uow, first),
                lambda uow: accept(uow, second),
            )

        assert refused.value.code == "de-minimis-exceeded"
        async with sql_unit(db) as uow:
            grants = await uow.teams.grants_of("DE136695976")
        assert [g.team_id for g in grants] == [first.id]


async def all_pages(
    fetch: Callable[[Page[datetime]], Awaitable[list[T]]],
    position: Callable[[T], tuple[datetime, str]],
    limit: int,
    *,
    most_pages: int = 50,
) -> list[list[T]]:
    """Follow the keyset from the first page until a short page says it was the last."""
    pages: list[list[T]] = []
    after: tuple[datetime, str] | None = None
    for _ in range(most_pages):
        page = await fetch(Page(after=after, limit=limit))
        pages.append(page)
        if len(page) < limit:
            return pages
        after = position(page[-1])
    raise AssertionError(f"pagination did not end within {most_pages} pages")


class TestCallsInMemory(OnMemory, CallsContract):
    pass


class TestCallsOnSqlite(InSqlUnits, OnSqlite, CallsContract):
    pass


class TestCallsOnPostgres(InSqlUnits, OnPostgres, CallsContract):
    pass


class TestApplicationsInMemory(OnMemory, ApplicationsContract):
    pass


class TestApplicationsOnSqlite(InSqlUnits, OnSqlite, ApplicationsContract):
    pass


class TestApplicationsOnPostgres(InSqlUnits, OnPostgres, ApplicationsContract):
    pass


class TestTeamsInMemory(OnMemory, TeamsContract):
    pass


class TestTeamsOnSqlite(InSqlUnits, OnSqlite, TeamsContract):
    pass


class TestTeamsOnPostgres(InSqlUnits, OnPostgres, TeamsContract):
    pass


class TestMembershipsInMemory(OnMemory, MembershipsContract):
    pass


class TestMembershipsOnSqlite(InSqlUnits, OnSqlite, MembershipsContract):
    pass


class TestMembershipsOnPostgres(InSqlUnits, OnPostgres, MembershipsContract):
    pass


class TestIntakeQueriesOnSqlite(InSqlUnits, OnSqlite, IntakeQueriesContract):
    pass


class TestIntakeQueriesOnPostgres(InSqlUnits, OnPostgres, IntakeQueriesContract):
    pass


class TestInstancesOnSqlite(OnSqlite, InstancesContract):
    pass


class TestInstancesOnPostgres(OnPostgres, InstancesContract):
    pass
