"""IntakeRepository stores and finds calls, applications and teams alike on every database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import IntegrityError

from cimis_chassis.database import Database
from cimis_chassis.keyset import Page
from services.intake.adapters.repository import IntakeRepository
from services.intake.adapters.tables import metadata
from services.intake.domain.applications import Application
from services.intake.domain.calls import Call, PhaseStep, TrancheRule
from services.intake.domain.teams import Team, accept, propose_team, withdraw
from tests.contract.databases import OnPostgres, OnSqlite, ServiceSchemaContract
from tests.unit.intake.builders import NOW, a_call, an_application, company_facts, creative_facts

BERLIN = ZoneInfo("Europe/Berlin")
T = TypeVar("T")


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


class IntakeRepositoryContract(ServiceSchemaContract):
    metadata = metadata

    async def store(
        self,
        db: Database,
        *,
        calls: Sequence[Call] = (),
        applications: Sequence[Application] = (),
        teams: Sequence[Team] = (),
    ) -> None:
        async with db.transaction() as session:
            repo = IntakeRepository(session)
            for call in calls:
                await repo.add_call(call)
            for application in applications:
                await repo.add_application(application)
            for team in teams:
                await repo.add_team(team)

    # calls

    async def test_a_call_comes_back_with_its_tranches_and_phase_plan(self, db: Database) -> None:
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
        await self.store(db, calls=[call])

        async with db.sessions() as session:
            loaded = await IntakeRepository(session).get_call(call.id)

        assert loaded == call
        assert loaded.created_at == call.created_at

    async def test_call_timestamps_come_back_as_the_same_instants_in_utc(
        self, db: Database
    ) -> None:
        created = datetime(2024, 8, 1, 12, 0, 0, 654321, tzinfo=BERLIN)
        call = a_call(
            opens_at=datetime(2024, 6, 1, 0, 0, tzinfo=BERLIN),
            closes_at=datetime(2024, 9, 20, 23, 59, 59, 999999, tzinfo=BERLIN),
            now=created,
        )
        await self.store(db, calls=[call])

        async with db.sessions() as session:
            loaded = await IntakeRepository(session).get_call(call.id)

        assert loaded is not None
        for moment in (loaded.opens_at, loaded.closes_at, loaded.created_at):
            assert_utc(moment)
        assert (loaded.opens_at, loaded.closes_at, loaded.created_at) == (
            datetime(2024, 5, 31, 22, 0, tzinfo=UTC),
            datetime(2024, 9, 20, 21, 59, 59, 999999, tzinfo=UTC),
            datetime(2024, 8, 1, 10, 0, 0, 654321, tzinfo=UTC),
        )

    async def test_unknown_ids_find_nothing(self, db: Database) -> None:
        async with db.sessions() as session:
            repo = IntakeRepository(session)
            assert await repo.get_call("no-such-call") is None
            assert await repo.get_team("no-such-team") is None
            assert await repo.get_applications(["no-such-application"]) == {}
            assert await repo.get_applications([]) == {}

    async def test_calls_are_listed_in_creation_order_across_pages(self, db: Database) -> None:
        same_moment = NOW + timedelta(hours=1)
        calls = [
            a_call(call_id="call-c", now=same_moment),
            a_call(call_id="call-a", now=same_moment),
            a_call(call_id="call-z", now=NOW),
            a_call(call_id="call-b", now=same_moment + timedelta(microseconds=1)),
        ]
        await self.store(db, calls=calls)

        async with db.sessions() as session:
            pages = await all_pages(
                IntakeRepository(session).list_calls,
                lambda c: (c.created_at or NOW, c.id),
                limit=2,
            )

        assert [[c.id for c in page] for page in pages] == [
            ["call-z", "call-a"],
            ["call-c", "call-b"],
            [],
        ]

    # applications

    async def test_an_ineligible_application_keeps_its_reasons_and_missing_figures(
        self, db: Database
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
        await self.store(db, calls=[call], applications=[application])

        async with db.sessions() as session:
            loaded = await IntakeRepository(session).get_applications(["app-1"])

        assert loaded == {"app-1": application}
        assert loaded["app-1"].status == "ineligible"
        assert loaded["app-1"].facts.annual_turnover_cents is None

    async def test_money_figures_beyond_32_bits_come_back_exactly(self, db: Database) -> None:
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
        await self.store(db, calls=[call], applications=[application])

        async with db.sessions() as session:
            loaded = (await IntakeRepository(session).get_applications(["app-1"]))["app-1"]

        assert loaded == application
        assert loaded.status == "submitted"
        assert loaded.facts.annual_turnover_cents == 60_000_000_00

    async def test_applications_are_filtered_by_call_status_and_kind(self, db: Database) -> None:
        first, second = a_call(call_id="call-1"), a_call(call_id="call-2")
        applications = [
            an_application("co-ok", company_facts(), first),
            an_application("co-far", company_facts(district="Zwickau"), first),
            an_application("cr-ok", creative_facts(), first),
            an_application("cr-other-call", creative_facts(), second),
        ]
        await self.store(db, calls=[first, second], applications=applications)

        async with db.sessions() as session:
            repo = IntakeRepository(session)

            async def ids(call_id: str | None, status: str | None, kind: str | None) -> list[str]:
                found = await repo.list_applications(
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
        self, db: Database
    ) -> None:
        call = a_call()
        t0, t1 = NOW, NOW + timedelta(minutes=1)
        submitted = {"app-5": t0, "app-2": t1, "app-7": t0, "app-1": t1, "app-3": t0, "app-6": t1}
        submitted["app-4"] = NOW + timedelta(minutes=2)
        applications = [
            an_application(app_id, creative_facts(), call, at=at)
            for app_id, at in submitted.items()
        ]
        await self.store(db, calls=[call], applications=applications)
        expected = sorted(submitted, key=lambda app_id: (submitted[app_id], app_id))

        async with db.sessions() as session:
            repo = IntakeRepository(session)

            async def fetch(page: Page[datetime]) -> list[Application]:
                return await repo.list_applications(page, call_id=call.id, status=None, kind=None)

            for limit in (1, 2, 3, 7, 10):
                pages = await all_pages(fetch, lambda a: (a.submitted_at, a.id), limit)
                listed = [a.id for page in pages for a in page]
                assert listed == expected, f"limit {limit}"

    # teams

    async def test_a_team_keeps_its_creatives_in_the_order_they_were_named(
        self, db: Database
    ) -> None:
        call = a_call()
        company = an_application("co", company_facts(), call)
        creatives = [an_application(i, creative_facts(), call) for i in ("cr-b", "cr-c", "cr-a")]
        team = a_team("team-1", company, creatives, call=call)
        await self.store(db, calls=[call], applications=[company, *creatives], teams=[team])

        async with db.sessions() as session:
            repo = IntakeRepository(session)
            loaded = await repo.get_team("team-1")
            listed = await repo.list_teams(Page(None, 10), call_id=None, status=None, agent_id=None)

        assert loaded == team
        assert listed == [team]
        assert loaded.creative_application_ids == ("cr-b", "cr-c", "cr-a")
        assert loaded.input_vat_deductible is True
        assert_utc(loaded.created_at)

    async def test_a_team_is_read_for_update_inside_a_transaction(self, db: Database) -> None:
        call = a_call()
        company, creative = (
            an_application("co", company_facts(), call),
            an_application("cr", creative_facts(), call),
        )
        team = a_team("team-1", company, [creative], call=call)
        await self.store(db, calls=[call], applications=[company, creative], teams=[team])

        async with db.transaction() as session:
            assert await IntakeRepository(session).get_team("team-1", for_update=True) == team

    async def test_saving_a_team_stores_its_acceptance_and_withdrawal(self, db: Database) -> None:
        call = a_call()
        company, creative = (
            an_application("co", company_facts(), call),
            an_application("cr", creative_facts(), call),
        )
        team = a_team("team-1", company, [creative], call=call)
        await self.store(db, calls=[call], applications=[company, creative], teams=[team])
        accepted = accept(team, already_in_accepted_team=(), now=NOW + timedelta(days=1))
        withdrawn = withdraw(accepted, reason="Firma insolvent", now=NOW + timedelta(days=9))

        for state in (accepted, withdrawn):
            async with db.transaction() as session:
                await IntakeRepository(session).save_team(state)
            async with db.sessions() as session:
                assert await IntakeRepository(session).get_team("team-1") == state

        assert_utc(withdrawn.accepted_at)
        assert (withdrawn.status, withdrawn.withdrawal_reason) == ("withdrawn", "Firma insolvent")

    async def test_teams_are_filtered_by_call_status_and_agent(self, db: Database) -> None:
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
        await self.store(db, calls=[first, second], applications=[co1, cr1, co2, cr2], teams=teams)
        async with db.transaction() as session:
            await IntakeRepository(session).save_team(
                accept(teams[1], already_in_accepted_team=(), now=NOW)
            )

        async with db.sessions() as session:
            repo = IntakeRepository(session)

            async def ids(call_id: str | None, status: str | None, agent: str | None) -> list[str]:
                found = await repo.list_teams(
                    Page(None, 100), call_id=call_id, status=status, agent_id=agent
                )
                return sorted(t.id for t in found)

            assert await ids(None, None, None) == ["t-anna", "t-ben", "t-other-call"]
            assert await ids("call-1", None, None) == ["t-anna", "t-ben"]
            assert await ids(None, "accepted", None) == ["t-ben"]
            assert await ids(None, None, "agent-anna") == ["t-anna", "t-other-call"]
            assert await ids("call-1", "proposed", "agent-anna") == ["t-anna"]

    async def test_team_pages_neither_repeat_nor_skip_equal_creation_times(
        self, db: Database
    ) -> None:
        call = a_call()
        company, creative = (
            an_application("co", company_facts(), call),
            an_application("cr", creative_facts(), call),
        )
        created = {f"team-{n}": NOW + timedelta(seconds=n % 2) for n in (4, 1, 6, 3, 2, 5)}
        teams = [
            a_team(team_id, company, [creative], call=call, at=at)
            for team_id, at in created.items()
        ]
        await self.store(db, calls=[call], applications=[company, creative], teams=teams)
        expected = sorted(created, key=lambda team_id: (created[team_id], team_id))

        async with db.sessions() as session:
            repo = IntakeRepository(session)

            async def fetch(page: Page[datetime]) -> list[Team]:
                return await repo.list_teams(page, call_id=call.id, status=None, agent_id=None)

            for limit in (1, 2, 4, 6):
                pages = await all_pages(fetch, lambda t: (t.created_at, t.id), limit)
                listed = [t.id for page in pages for t in page]
                assert listed == expected, f"limit {limit}"
                assert all(t.creative_application_ids == ("cr",) for page in pages for t in page)

    # accepted memberships

    async def test_members_of_an_accepted_team_are_found_by_application(self, db: Database) -> None:
        call = a_call()
        company, creative, bystander = (
            an_application("co", company_facts(), call),
            an_application("cr", creative_facts(), call),
            an_application("cr-free", creative_facts(), call),
        )
        team = a_team("team-1", company, [creative], call=call)
        await self.store(
            db, calls=[call], applications=[company, creative, bystander], teams=[team]
        )

        async with db.transaction() as session:
            await IntakeRepository(session).record_acceptance(team)

        async with db.sessions() as session:
            found = await IntakeRepository(session).accepted_team_of(["co", "cr", "cr-free"])
        assert found == {"co": "team-1", "cr": "team-1"}

    async def test_an_application_cannot_be_in_two_accepted_teams(self, db: Database) -> None:
        call = a_call()
        co1, co2, shared = (
            an_application("co1", company_facts(), call),
            an_application("co2", company_facts(), call),
            an_application("cr-shared", creative_facts(), call),
        )
        first = a_team("team-1", co1, [shared], call=call)
        second = a_team("team-2", co2, [shared], call=call)
        await self.store(db, calls=[call], applications=[co1, co2, shared], teams=[first, second])
        async with db.transaction() as session:
            await IntakeRepository(session).record_acceptance(first)

        with pytest.raises(IntegrityError):
            async with db.transaction() as session:
                await IntakeRepository(session).record_acceptance(second)

        async with db.sessions() as session:
            found = await IntakeRepository(session).accepted_team_of(["co1", "co2", "cr-shared"])
        assert found == {"co1": "team-1", "cr-shared": "team-1"}

    async def test_released_memberships_free_the_applications_for_another_team(
        self, db: Database
    ) -> None:
        call = a_call()
        co1, co2, shared = (
            an_application("co1", company_facts(), call),
            an_application("co2", company_facts(), call),
            an_application("cr-shared", creative_facts(), call),
        )
        first = a_team("team-1", co1, [shared], call=call)
        second = a_team("team-2", co2, [shared], call=call)
        await self.store(db, calls=[call], applications=[co1, co2, shared], teams=[first, second])
        async with db.transaction() as session:
            await IntakeRepository(session).record_acceptance(first)

        async with db.transaction() as session:
            repo = IntakeRepository(session)
            await repo.release_memberships(first)
            await repo.record_acceptance(second)

        async with db.sessions() as session:
            found = await IntakeRepository(session).accepted_team_of(["co1", "co2", "cr-shared"])
        assert found == {"co2": "team-2", "cr-shared": "team-2"}


class TestIntakeRepositoryOnSqlite(OnSqlite, IntakeRepositoryContract):
    pass


class TestIntakeRepositoryOnPostgres(OnPostgres, IntakeRepositoryContract):
    pass
