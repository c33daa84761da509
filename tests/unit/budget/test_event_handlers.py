"""Budget's event handlers on the in-memory unit of work: state, ledger, events and audit.

Each test applies events as the consumer does (one unit per batch, ``load_batch`` first,
the handlers in event order), on the fakes that tests/contract holds to the database contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cimis_chassis.clock import ManualClock
from cimis_chassis.envelope import CloudEvent, make_event
from cimis_chassis.unit_of_work import Cause
from cimis_contracts.base import EventData
from cimis_contracts.budget import (
    AllocationRefusedV1,
    BudgetAllocatedV1,
    BudgetClosedV1,
    TrancheKeptV1,
    TrancheReleasedV1,
    TrancheWithdrawnV1,
)
from cimis_contracts.intake import (
    CallBudgetIncreasedV1,
    CallOpenedV1,
    PhaseStep,
    TeamAcceptedV1,
    TeamReassignedV1,
    TeamWithdrawnV1,
    TrancheRule,
)
from cimis_contracts.milestones import (
    MilestoneCompletedV1,
    MilestoneReopenedV1,
    MilestoneWaivedV1,
)
from services.budget.adapters.unit_of_work import MemoryBudgetUnitOfWork
from services.budget.app.events import load_batch
from services.budget.domain import budgets, ledger
from services.budget.entrypoints.consumer import HANDLERS

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@dataclass
class Budget:
    """The budget service's handlers on fakes, fed events the way its consumer feeds them."""

    clock: ManualClock = field(default_factory=lambda: ManualClock(START))
    uow: MemoryBudgetUnitOfWork = field(init=False)

    def __post_init__(self) -> None:
        self.uow = MemoryBudgetUnitOfWork(clock=self.clock)

    async def apply(self, *payloads: EventData) -> None:
        """One consumer batch: one unit of work, the batch loaded, each event in order."""
        batch = [(payload, _event(payload, self.clock)) for payload in payloads]
        async with self.uow as uow:
            await load_batch(uow, batch)
            for payload, event in batch:
                uow.caused_by(Cause(f"event:{event.id}", event.id, event.id))
                await HANDLERS[type(payload)](uow, payload, event)

    def events(self, contract: type[EventData]) -> list[dict[str, Any]]:
        return [e.data for e in self.uow.events_of_type(contract.TYPE)]

    def team(self, team_id: str) -> budgets.TeamBudget:
        return self.uow.teams.teams[team_id]

    def pot(self, call_id: str = "call-1") -> budgets.Pot:
        return self.uow.pots.pots[call_id]

    def balance(self, account: str) -> int:
        return self.uow.ledger.books.balance(account)


def _event(payload: EventData, clock: ManualClock) -> CloudEvent:
    return make_event(
        source="cimis/test",
        type_=payload.TYPE,
        subject=payload.subject(),
        time=clock.now(),
        data=payload.model_dump(mode="json"),
    )


def call_opened(
    call_id: str = "call-1",
    total: int = 100_000_00,
    *,
    now: datetime = START,
    phases: tuple[str, ...] = ("prototype", "final"),
    settlement_days: int = 90,
) -> CallOpenedV1:
    return CallOpenedV1(
        settlement_days=settlement_days,
        call_id=call_id,
        title="CIMIS II",
        districts=["Chemnitz"],
        opens_at=now - timedelta(days=30),
        closes_at=now + timedelta(days=30),
        total_budget_cents=total,
        max_team_budget_cents=50_000_00,
        tranches=[
            TrancheRule(milestone=None, percent=40),
            TrancheRule(milestone="prototype", percent=40),
            TrancheRule(milestone="final", percent=20),
        ],
        phase_plan=[
            PhaseStep(key=key, title=key.title(), days_after_acceptance=30 * (n + 1))
            for n, key in enumerate(phases)
        ],
    )


def team_accepted(
    team_id: str, budget: int = 40_000_00, *, call_id: str = "call-1", minutes: int = 0
) -> TeamAcceptedV1:
    return TeamAcceptedV1(
        team_id=team_id,
        call_id=call_id,
        title="Konfigurator",
        agent_id="Agent-Anna",
        budget_cents=budget,
        input_vat_deductible=False,
        company_application_id=f"{team_id}-company",
        creative_application_ids=[f"{team_id}-creative"],
        accepted_at=START + timedelta(minutes=minutes),
    )


def reassigned(team_id: str, agent_id: str) -> TeamReassignedV1:
    return TeamReassignedV1(
        team_id=team_id,
        call_id="call-1",
        agent_id=agent_id,
        previous_agent_id="agent-anna",
        reason="Elternzeit",
        reassigned_by="sabine",
        reassigned_at=START,
    )


def milestone_completed(team_id: str, key: str) -> MilestoneCompletedV1:
    return MilestoneCompletedV1(
        team_id=team_id,
        call_id="call-1",
        milestone_id=f"{team_id}-{key}",
        key=key,
        completed_by="agent-anna",
        completed_at=START,
    )


def milestone_waived(team_id: str, key: str) -> MilestoneWaivedV1:
    return MilestoneWaivedV1(
        team_id=team_id,
        call_id="call-1",
        milestone_id=f"{team_id}-{key}",
        key=key,
        reason="entfällt",
        waived_by="sabine",
        waived_at=START,
    )


def milestone_reopened(team_id: str, key: str) -> MilestoneReopenedV1:
    return MilestoneReopenedV1(
        team_id=team_id,
        call_id="call-1",
        milestone_id=f"{team_id}-{key}",
        key=key,
        previous_status="completed",
        reason="falsches Team",
        reopened_by="sabine",
        reopened_at=START,
    )


def withdrawn(team_id: str) -> TeamWithdrawnV1:
    return TeamWithdrawnV1(
        team_id=team_id,
        call_id="call-1",
        reason="Unternehmen insolvent",
        was_accepted=True,
        withdrawn_at=START,
    )


@pytest.fixture
def budget() -> Budget:
    return Budget()


class TestCallOpened:
    async def test_the_pot_is_funded_in_full_and_audited(self, budget: Budget) -> None:
        await budget.apply(call_opened(total=100_000_00))

        assert budget.pot().available_cents == 100_000_00
        assert budget.balance(ledger.pot("call-1")) == 100_000_00
        assert budget.uow.ledger.books.total() == 0
        assert [(e.action, e.entity_id) for e in budget.uow.audit_log] == [("pot.opened", "call-1")]

    async def test_a_second_opening_changes_nothing(self, budget: Budget) -> None:
        await budget.apply(call_opened(total=100_000_00))
        await budget.apply(call_opened(total=5_00))

        assert budget.pot().total_cents == 100_000_00
        assert len(budget.uow.ledger.booked) == 1


class TestTeamAccepted:
    async def test_an_accepted_team_gets_its_budget_and_the_first_tranche(
        self, budget: Budget
    ) -> None:
        await budget.apply(call_opened(), team_accepted("t1", 40_000_00))

        team = budget.team("t1")
        assert (team.status, team.allocated_cents, team.available_cents) == (
            budgets.ALLOCATED,
            40_000_00,
            16_000_00,
        )
        assert team.agent_id == "agent-anna"  # kept as its comparison key
        assert budget.pot().available_cents == 60_000_00
        assert budget.balance(ledger.released("t1")) == 16_000_00
        assert budget.balance(ledger.reserved("t1")) == 24_000_00
        [allocated] = budget.events(BudgetAllocatedV1)
        assert (allocated["team_id"], allocated["allocated_cents"]) == ("t1", 40_000_00)
        [tranche] = budget.events(TrancheReleasedV1)
        assert (tranche["trigger"], tranche["amount_cents"]) == ("acceptance", 16_000_00)

    async def test_a_team_the_pot_cannot_fund_waits_and_keeps_no_money(
        self, budget: Budget
    ) -> None:
        await budget.apply(
            call_opened(total=50_000_00),
            team_accepted("t1", 40_000_00),
            team_accepted("t2", 40_000_00, minutes=1),
        )

        assert budget.team("t2").status == budgets.WAITING
        assert budget.team("t2").allocated_cents == 0
        [refused] = budget.events(AllocationRefusedV1)
        assert (refused["team_id"], refused["pot_available_cents"]) == ("t2", 10_000_00)
        # The code and its figures, from which notify writes the reason in each language.
        assert (refused["reason_code"], refused["max_team_budget_cents"]) == (
            "pot-exhausted",
            50_000_00,
        )
        assert budget.pot().available_cents == 10_000_00

    async def test_teams_accepted_before_their_call_opened_are_funded_in_acceptance_order(
        self, budget: Budget
    ) -> None:
        await budget.apply(team_accepted("late", 40_000_00, minutes=5))
        await budget.apply(team_accepted("early", 40_000_00, minutes=1))
        assert budget.team("late").status == budgets.AWAITING_CALL

        await budget.apply(call_opened(total=50_000_00))

        assert budget.team("early").status == budgets.ALLOCATED
        assert budget.team("late").status == budgets.WAITING
        assert [e["team_id"] for e in budget.events(BudgetAllocatedV1)] == ["early"]

    async def test_a_withdrawal_funds_the_waiting_teams_in_acceptance_order(
        self, budget: Budget
    ) -> None:
        await budget.apply(
            call_opened(total=100_000_00),
            team_accepted("t1", 50_000_00),
            team_accepted("t2", 40_000_00, minutes=1),
            team_accepted("big", 30_000_00, minutes=2),  # waits: 10,000 EUR left
            team_accepted("small", 10_000_00, minutes=3),  # fits, but waits behind "big"
        )
        assert budget.team("big").status == budgets.WAITING
        assert budget.team("small").status == budgets.WAITING
        assert [e["team_id"] for e in budget.events(AllocationRefusedV1)] == ["big", "small"]

        await budget.apply(withdrawn("t2"))  # 40,000 EUR back: 50,000 EUR in the pot

        assert budget.team("big").status == budgets.ALLOCATED
        assert budget.team("small").status == budgets.ALLOCATED
        assert [e["team_id"] for e in budget.events(BudgetAllocatedV1)][-2:] == ["big", "small"]
        assert [e["from_waiting_list"] for e in budget.events(BudgetAllocatedV1)] == [
            False,
            False,
            True,
            True,
        ]
        assert budget.pot().available_cents == 10_000_00
        assert budget.uow.ledger.books.total() == 0

    async def test_a_larger_pot_funds_the_waiting_teams_once(self, budget: Budget) -> None:
        await budget.apply(
            call_opened(total=60_000_00),
            team_accepted("t1", 50_000_00),
            team_accepted("t2", 30_000_00, minutes=1),  # 10,000 EUR left: waits
        )
        increase = CallBudgetIncreasedV1(
            call_id="call-1",
            added_cents=20_000_00,
            total_budget_cents=80_000_00,
            reason="Restmittel umgeschichtet",
            increased_by="sabine",
            increased_at=START,
        )
        await budget.apply(increase)
        await budget.apply(increase)  # delivered again: nothing more

        assert budget.team("t2").status == budgets.ALLOCATED
        assert (budget.pot().total_cents, budget.pot().available_cents) == (80_000_00, 0)
        assert budget.events(BudgetAllocatedV1)[-1]["from_waiting_list"] is True
        assert budget.uow.ledger.books.balance(ledger.funding("call-1")) == -80_000_00
        assert budget.uow.ledger.books.total() == 0

    async def test_the_head_of_the_waiting_list_is_not_overtaken(self, budget: Budget) -> None:
        await budget.apply(
            call_opened(total=60_000_00),
            team_accepted("t1", 50_000_00),
            team_accepted("big", 40_000_00, minutes=1),
            team_accepted("small", 15_000_00, minutes=2),
        )
        await budget.apply(withdrawn("t1"))  # 60,000 EUR: "big" fits, then 20,000 for "small"
        assert budget.team("big").status == budgets.ALLOCATED
        assert budget.team("small").status == budgets.ALLOCATED

        await budget.apply(
            team_accepted("t4", 50_000_00, minutes=3),  # 5,000 EUR left: waits
            team_accepted("t5", 5_000_00, minutes=4),  # would fit, waits behind t4
        )
        assert budget.team("t5").status == budgets.WAITING
        await budget.apply(withdrawn("small"))  # 20,000 EUR: still not enough for t4
        assert budget.team("t4").status == budgets.WAITING
        assert budget.team("t5").status == budgets.WAITING

    async def test_a_waiting_team_that_withdraws_leaves_the_list(self, budget: Budget) -> None:
        await budget.apply(
            call_opened(total=50_000_00),
            team_accepted("t1", 40_000_00),
            team_accepted("t2", 40_000_00, minutes=1),
        )
        await budget.apply(withdrawn("t2"))
        assert budget.team("t2").status == budgets.CLOSED
        assert budget.team("t2").allocated_cents == 0
        assert budget.pot().available_cents == 10_000_00
        assert budget.pot().waiting_teams == 0

    async def test_when_the_head_of_the_list_withdraws_the_next_one_may_fit(
        self, budget: Budget
    ) -> None:
        await budget.apply(
            call_opened(total=50_000_00),
            team_accepted("t1", 40_000_00),
            team_accepted("head", 40_000_00, minutes=1),
            team_accepted("next", 10_000_00, minutes=2),
        )
        assert budget.team("next").status == budgets.WAITING

        await budget.apply(withdrawn("head"))

        assert budget.team("next").status == budgets.ALLOCATED
        assert budget.pot().available_cents == 0

    async def test_a_call_and_its_waiting_teams_in_one_batch_fund_them_once(
        self, budget: Budget
    ) -> None:
        await budget.apply(team_accepted("t1"), call_opened(), team_accepted("t2", minutes=1))

        assert [e["team_id"] for e in budget.events(BudgetAllocatedV1)] == ["t1", "t2"]
        assert budget.pot().available_cents == 20_000_00
        assert budget.uow.ledger.books.total() == 0

    async def test_a_redelivered_acceptance_changes_nothing(self, budget: Budget) -> None:
        await budget.apply(call_opened(), team_accepted("t1"))
        await budget.apply(team_accepted("t1", 10_000_00))

        assert budget.team("t1").allocated_cents == 40_000_00
        assert len(budget.events(BudgetAllocatedV1)) == 1


class TestTeamReassigned:
    async def test_the_new_agent_owns_the_team_and_the_money_stays_as_it_was(
        self, budget: Budget
    ) -> None:
        await budget.apply(call_opened(), team_accepted("team-1"))
        before = budget.team("team-1")

        await budget.apply(reassigned("team-1", "Agent-Ben"), reassigned("team-1", "agent-ben"))

        after = budget.team("team-1")
        assert after.agent_id == "agent-ben"
        assert replace(after, agent_id=before.agent_id) == before
        [entry] = [e for e in budget.uow.audit_log if e.action == "team.reassigned"]
        assert entry.before == {"agent_id": "agent-anna"}
        assert entry.after is not None
        assert entry.after["agent_id"] == "agent-ben"


class TestMilestoneCompleted:
    async def test_a_completed_milestone_releases_its_tranche_once(self, budget: Budget) -> None:
        await budget.apply(call_opened(), team_accepted("t1", 40_000_00))
        await budget.apply(milestone_completed("t1", "prototype"))
        await budget.apply(milestone_completed("t1", "prototype"))

        releases = [(e["trigger"], e["amount_cents"]) for e in budget.events(TrancheReleasedV1)]
        assert releases == [("acceptance", 16_000_00), ("prototype", 16_000_00)]
        assert budget.team("t1").available_cents == 32_000_00
        assert budget.balance(ledger.reserved("t1")) == 8_000_00

    async def test_a_waived_milestone_lets_later_tranches_follow_but_releases_nothing(
        self, budget: Budget
    ) -> None:
        # The call's plan: prototype then final; staff waive the prototype.
        await budget.apply(call_opened(), team_accepted("t1", 40_000_00))
        await budget.apply(milestone_waived("t1", "prototype"))
        await budget.apply(milestone_completed("t1", "prototype"))  # reported later: nothing
        await budget.apply(milestone_completed("t1", "final"))

        releases = [(e["trigger"], e["amount_cents"]) for e in budget.events(TrancheReleasedV1)]
        assert releases == [("acceptance", 16_000_00), ("final", 8_000_00)]
        assert budget.team("t1").waived_milestones == {"prototype"}
        assert budget.balance(ledger.reserved("t1")) == 16_000_00  # the prototype's 40 %
        assert budget.uow.ledger.books.total() == 0

    async def test_a_reopened_milestone_takes_its_unspent_tranche_back_until_confirmed_again(
        self, budget: Budget
    ) -> None:
        await budget.apply(call_opened(), team_accepted("t1", 40_000_00))
        await budget.apply(milestone_completed("t1", "prototype"))
        await budget.apply(milestone_reopened("t1", "prototype"))
        await budget.apply(milestone_reopened("t1", "prototype"))  # redelivered: nothing

        [withdrawn] = budget.events(TrancheWithdrawnV1)
        assert (withdrawn["trigger"], withdrawn["amount_cents"]) == ("prototype", 16_000_00)
        team = budget.team("t1")
        assert (team.available_cents, team.released_cents) == (16_000_00, 16_000_00)
        assert budget.balance(ledger.reserved("t1")) == 24_000_00

        await budget.apply(milestone_completed("t1", "prototype"))  # confirmed again

        assert budget.team("t1").available_cents == 32_000_00
        assert [e["trigger"] for e in budget.events(TrancheReleasedV1)] == [
            "acceptance",
            "prototype",
            "prototype",
        ]
        assert budget.uow.ledger.books.total() == 0

    async def test_a_spent_tranche_stays_when_its_milestone_is_reopened(
        self, budget: Budget
    ) -> None:
        await budget.apply(call_opened(), team_accepted("t1", 40_000_00))
        await budget.apply(milestone_completed("t1", "prototype"))
        async with budget.uow as uow:  # 20,000 of the 32,000 EUR released are spent
            team = await uow.teams.get("t1")
            assert team is not None
            uow.teams.put(
                replace(
                    team,
                    available_cents=12_000_00,
                    pending_cents=20_000_00,
                )
            )
        await budget.apply(milestone_reopened("t1", "prototype"))

        assert budget.events(TrancheWithdrawnV1) == []
        assert "prototype" in budget.team("t1").released_triggers
        assert "prototype" not in budget.team("t1").completed_milestones
        # Not silently: the office hears that the money stays with the team.
        [kept] = budget.events(TrancheKeptV1)
        assert {k: kept[k] for k in ("trigger", "milestone_key", "reason_code")} == {
            "trigger": "prototype",
            "milestone_key": "prototype",
            "reason_code": "money-spent",
        }
        assert (kept["amount_cents"], kept["unspent_cents"]) == (16_000_00, 12_000_00)

    async def test_a_completion_that_overtook_its_team_is_released_on_acceptance(
        self, budget: Budget
    ) -> None:
        await budget.apply(call_opened(), milestone_completed("t1", "prototype"))
        assert budget.uow.early_completions.keys == {"t1": {"prototype"}}

        await budget.apply(team_accepted("t1", 40_000_00))

        triggers = [e["trigger"] for e in budget.events(TrancheReleasedV1)]
        assert sorted(triggers) == ["acceptance", "prototype"]
        assert budget.uow.early_completions.keys == {}

    async def test_completion_and_acceptance_in_one_batch_release_both_tranches(
        self, budget: Budget
    ) -> None:
        await budget.apply(
            call_opened(), milestone_completed("t1", "prototype"), team_accepted("t1")
        )

        assert budget.team("t1").available_cents == 32_000_00

    async def test_tranches_follow_the_phase_plan_whatever_order_milestones_arrive_in(
        self, budget: Budget
    ) -> None:
        phases = ("kickoff", "workshop", "prototype", "test", "final")
        await budget.apply(call_opened(phases=phases), team_accepted("t1", 40_000_00))

        await budget.apply(milestone_completed("t1", "final"))
        await budget.apply(milestone_completed("t1", "prototype"))
        await budget.apply(milestone_completed("t1", "kickoff"))
        assert [e["trigger"] for e in budget.events(TrancheReleasedV1)] == ["acceptance"]
        assert budget.team("t1").available_cents == 16_000_00

        await budget.apply(milestone_completed("t1", "workshop"))
        assert [e["trigger"] for e in budget.events(TrancheReleasedV1)] == [
            "acceptance",
            "prototype",
        ]

        await budget.apply(milestone_completed("t1", "test"))
        releases = [(e["trigger"], e["amount_cents"]) for e in budget.events(TrancheReleasedV1)]
        assert releases == [
            ("acceptance", 16_000_00),
            ("prototype", 16_000_00),
            ("final", 8_000_00),
        ]
        assert budget.balance(ledger.reserved("t1")) == 0


class TestTeamWithdrawn:
    async def test_a_withdrawn_team_returns_what_it_did_not_spend_to_the_pot(
        self, budget: Budget
    ) -> None:
        await budget.apply(call_opened(), team_accepted("t1", 40_000_00))
        await budget.apply(withdrawn("t1"))

        assert budget.team("t1").status == budgets.CLOSED
        assert budget.pot().available_cents == 100_000_00
        [closed] = budget.events(BudgetClosedV1)
        assert (closed["returned_cents"], closed["approved_cents"]) == (40_000_00, 0)
        assert budget.uow.ledger.books.total() == 0

    async def test_withdrawing_an_unknown_or_closed_team_changes_nothing(
        self, budget: Budget
    ) -> None:
        await budget.apply(call_opened(), team_accepted("t1"))
        await budget.apply(withdrawn("never-accepted"), withdrawn("t1"), withdrawn("t1"))

        assert len(budget.events(BudgetClosedV1)) == 1


class TestBatches:
    async def test_a_batch_ends_as_the_same_events_one_by_one_do(self) -> None:
        events = [
            team_accepted("t0", 30_000_00),
            call_opened(total=90_000_00),
            *(team_accepted(f"t{n}", 30_000_00, minutes=n) for n in range(1, 4)),
            milestone_completed("t1", "prototype"),
            withdrawn("t2"),
            milestone_completed("t9", "final"),
        ]
        together, apart = Budget(), Budget()
        await together.apply(*events)
        for payload in events:
            await apart.apply(payload)

        assert together.uow.teams.teams == apart.uow.teams.teams
        assert together.uow.pots.pots == apart.uow.pots.pots
        assert together.uow.ledger.books.balances == apart.uow.ledger.books.balances
        assert together.uow.early_completions.keys == apart.uow.early_completions.keys
        assert [e.type for e in together.uow.committed_events] == [
            e.type for e in apart.uow.committed_events
        ]
        assert (together.uow.commits, apart.uow.commits) == (1, len(events))

    async def test_a_failing_event_rolls_its_whole_batch_back(self, budget: Budget) -> None:
        await budget.apply(call_opened())
        broken = team_accepted("t2").model_copy(update={"budget_cents": -1})

        with pytest.raises(ValueError, match="positive amount"):
            await budget.apply(team_accepted("t1"), broken)

        assert budget.uow.teams.teams == {}
        assert budget.pot().available_cents == 100_000_00
        assert budget.events(BudgetAllocatedV1) == []
