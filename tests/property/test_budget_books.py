"""Property: whatever happens, in whatever order and however often, the books stay right.

A hypothesis state machine drives budget's real handlers on a real SQLite database with random
sequences of call openings, acceptances, milestone completions, withdrawals, expenses,
approvals and rejections, cost plans and their shifts, payment requests, SEPA runs, paid and
returned payments, and replays events it already delivered. After every step: reconciliation
finds nothing, no team spent more than was released to it, no pot is negative, a cost plan in
force adds up to the allocation with no line carrying more than its planned amount plus the
tolerance, and every approved expense is in at most one standing payment request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
)
from sqlalchemy import select

from cimis_chassis.auth import Principal, Role
from cimis_chassis.clock import ManualClock
from cimis_chassis.database import Database
from cimis_chassis.envelope import CloudEvent, make_event
from cimis_chassis.errors import DomainError
from cimis_chassis.unit_of_work import Cause
from cimis_contracts.base import EventData
from cimis_contracts.budget import ThresholdCrossedV1
from cimis_contracts.intake import (
    CallOpenedV1,
    PhaseStep,
    TeamAcceptedV1,
    TeamWithdrawnV1,
    TrancheRule,
)
from cimis_contracts.milestones import MilestoneCompletedV1
from services.budget.adapters.ledger_store import reconcile
from services.budget.adapters.rows import (
    cost_plan_from_row,
    expense_from_row,
    payment_request_from_row,
)
from services.budget.adapters.tables import (
    chassis,
    cost_plans,
    metadata,
    payment_requests,
    pots,
    team_budgets,
)
from services.budget.adapters.tables import expenses as expense_rows
from services.budget.adapters.unit_of_work import SqlBudgetUnitOfWork
from services.budget.app import cost_plans as cost_plan_commands
from services.budget.app import expenses as commands
from services.budget.app import payouts as payout_commands
from services.budget.domain.calendar import BERLIN
from services.budget.domain.cost_plans import IN_FORCE, PENDING_APPROVAL, in_force
from services.budget.domain.expenses import POSITIONS, committed_by_position
from services.budget.domain.payouts import PAID, STANDING
from services.budget.entrypoints.consumer import HANDLERS

START = datetime(2024, 10, 1, 8, 0, tzinfo=UTC)
PLAN = [
    TrancheRule(milestone=None, percent=40),
    TrancheRule(milestone="prototype", percent=40),
    TrancheRule(milestone="final", percent=20),
]
# A milestone's tranche waits for it and for every milestone before it in this plan.
STEPS = [
    PhaseStep(key=key, title=key.title(), days_after_acceptance=days)
    for key, days in (("kickoff", 14), ("prototype", 120), ("test", 150), ("final", 180))
]
AGENT = Principal("agent-anna", Role.AGENT, "k1")
FINANCE = Principal("fiona", Role.FINANCE, "k2")
FINANCE_2 = Principal("frank", Role.FINANCE, "k3")
STAFF = Principal("sabine", Role.STAFF, "k4")
STAFF_2 = Principal("stefan", Role.STAFF, "k5")


class BudgetBooks(RuleBasedStateMachine):
    teams = Bundle("teams")
    expenses = Bundle("expenses")
    payments = Bundle("payments")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.workdir = tempfile.TemporaryDirectory(prefix="cimis-prop-")
        self.db = Database(f"sqlite:///{Path(self.workdir.name) / 'budget.db'}")
        self.clock = ManualClock(START)
        self.delivered: list[tuple[EventData, CloudEvent]] = []
        self.run(self._create_schema())

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def _create_schema(self) -> None:
        async with self.db.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)

    def teardown(self) -> None:
        self.run(self.db.dispose())
        self.loop.close()
        self.workdir.cleanup()

    async def _in_unit(self, work: Any, actor: str = "test") -> Any:
        unit = SqlBudgetUnitOfWork(
            self.db, chassis, clock=self.clock, source="cimis/budget", cause=Cause(actor, "corr")
        )
        async with unit as uow:
            return await work(uow)

    def deliver(self, payload: EventData) -> None:
        event = make_event(
            source="cimis/test",
            type_=payload.TYPE,
            subject=payload.subject(),
            time=self.clock.now(),
            data=payload.model_dump(mode="json"),
        )
        self.delivered.append((payload, event))
        self._apply(payload, event)

    def _apply(self, payload: EventData, event: CloudEvent) -> None:
        handler = HANDLERS[type(payload)]
        self.run(self._in_unit(lambda uow: handler(uow, payload, event), f"event:{event.id}"))

    @initialize()
    def open_the_first_call(self) -> None:
        self.deliver(
            CallOpenedV1(
                call_id="call-1",
                title="CIMIS II",
                districts=["Chemnitz"],
                opens_at=START,
                closes_at=START + timedelta(days=90),
                total_budget_cents=100_000_00,
                max_team_budget_cents=40_000_00,
                tranches=PLAN,
                phase_plan=STEPS,
            )
        )

    @initialize(target=teams, budget=st.integers(min_value=10_000_00, max_value=40_000_00))
    def accept_a_first_team(self, budget: int) -> Any:
        return self.accept_a_team(budget, late_call=False)

    @rule(
        target=teams, budget=st.integers(min_value=1, max_value=45_000_00), late_call=st.booleans()
    )
    def accept_a_team(self, budget: int, late_call: bool) -> str:
        team_id = f"team-{uuid.uuid4().hex[:8]}"
        # Some teams belong to a call whose opening has not arrived yet (two keys, no order).
        call_id = "call-2" if late_call else "call-1"
        self.deliver(
            TeamAcceptedV1(
                team_id=team_id,
                call_id=call_id,
                title="T",
                agent_id=AGENT.name,
                budget_cents=budget,
                input_vat_deductible=budget % 2 == 0,
                company_application_id="co",
                creative_application_ids=["cr"],
                accepted_at=self.clock.now(),
            )
        )
        return team_id

    @rule()
    def open_the_late_call(self) -> None:
        self.deliver(
            CallOpenedV1(
                call_id="call-2",
                title="Late",
                districts=["Zwickau"],
                opens_at=START,
                closes_at=START + timedelta(days=90),
                total_budget_cents=60_000_00,
                max_team_budget_cents=30_000_00,
                tranches=PLAN,
                phase_plan=STEPS,
            )
        )

    @rule(team=teams, key=st.sampled_from(["kickoff", "prototype", "test", "final"]))
    def complete_a_milestone(self, team: str, key: str) -> None:
        self.deliver(
            MilestoneCompletedV1(
                team_id=team,
                call_id="call-1",
                milestone_id=f"{team}-{key}",
                key=key,
                completed_by=AGENT.name,
                completed_at=self.clock.now(),
            )
        )

    @rule(team=consumes(teams))
    def withdraw_a_team(self, team: str) -> None:
        self.deliver(
            TeamWithdrawnV1(
                team_id=team,
                call_id="call-1",
                reason="raus",
                was_accepted=True,
                withdrawn_at=self.clock.now(),
            )
        )

    @rule(
        target=expenses,
        team=teams,
        net=st.integers(min_value=0, max_value=8_000_00),
        vat=st.integers(min_value=0, max_value=1_500_00),
        position=st.sampled_from(POSITIONS),
    )
    def submit_an_expense(self, team: str, net: int, vat: int, position: str = "material") -> Any:
        cmd = commands.SubmitExpense(
            team_id=team,
            position=position,
            net_cents=net,
            vat_cents=vat,
            receipt_number=uuid.uuid4().hex[:10],
            # Today: a day of every team's funding period, which starts at its acceptance.
            receipt_date=self.clock.now().astimezone(BERLIN).date(),
            payee="Lieferant",
            purpose="Material",
        )
        try:
            expense = self.run(self._in_unit(lambda uow: commands.submit_expense(uow, cmd, AGENT)))
        except DomainError as refused:
            event(f"submission refused: {refused.code}")
            return multiple()  # nothing to approve
        event("expense submitted")
        return expense.id

    @rule(team=teams, net=st.integers(min_value=1, max_value=6_000_00))
    def spend_money(self, team: str, net: int) -> None:
        """Submit and approve in one go, so that thresholds and full budgets are reached."""
        expense = self.submit_an_expense(team, net, 0)
        if isinstance(expense, str):
            self.approve_an_expense(expense, FINANCE_2)

    @rule(expense=expenses, by=st.sampled_from([AGENT, FINANCE, FINANCE_2]))
    def approve_an_expense(self, expense: str, by: Principal) -> None:
        try:
            approved = self.run(
                self._in_unit(lambda uow: commands.approve_expense(uow, expense, by))
            )
            event(f"approval gave {approved.status}")
        except DomainError as refused:
            event(f"approval refused: {refused.code}")

    @rule(expense=expenses)
    def reject_an_expense(self, expense: str) -> None:
        with contextlib.suppress(DomainError):  # already approved
            self.run(
                self._in_unit(lambda uow: commands.reject_expense(uow, expense, "nein", FINANCE))
            )

    @rule(expense=expenses)
    def reverse_an_expense(self, expense: str) -> None:
        with contextlib.suppress(DomainError):  # not approved, or four eyes
            self.run(
                self._in_unit(lambda uow: commands.reverse_expense(uow, expense, "falsch", FINANCE))
            )
            event("expense reversed")

    @rule(
        team=teams,
        weights=st.lists(st.integers(min_value=0, max_value=5), min_size=5, max_size=5),
        by=st.sampled_from([STAFF, STAFF_2]),
    )
    def set_a_cost_plan(self, team: str, weights: list[int], by: Principal) -> None:
        """Split the allocation over the lines by ``weights``, to the cent."""

        async def work(uow: Any) -> Any:
            budget = await uow.teams.get(team)
            total, shares = budget.allocated_cents, sum(weights) or 1
            lines = [(p, total * w // shares) for p, w in zip(POSITIONS, weights, strict=True)]
            lines[0] = (lines[0][0], total - sum(c for _, c in lines[1:]))
            return await cost_plan_commands.set_cost_plan(uow, team, lines, "Plan", by)

        try:
            view = self.run(self._in_unit(work))
            event(f"cost plan {'waits' if view.pending else 'in force'}")
        except DomainError as refused:
            event(f"cost plan refused: {refused.code}")

    @rule(team=teams, by=st.sampled_from([STAFF, STAFF_2]))
    def approve_a_cost_plan(self, team: str, by: Principal) -> None:
        try:
            self.run(self._in_unit(lambda uow: cost_plan_commands.approve_cost_plan(uow, team, by)))
            event("cost plan change approved")
        except DomainError as refused:
            event(f"cost plan approval refused: {refused.code}")

    @rule(target=payments, team=teams, by=st.sampled_from([STAFF, AGENT]))
    def request_a_payment(self, team: str, by: Principal) -> Any:
        async def work(uow: Any) -> Any:
            if await uow.bank_accounts.get(team) is None:
                cmd = payout_commands.SetBankAccount(team, "Team", "DE02120300000000202051", None)
                await payout_commands.set_bank_account(uow, cmd, STAFF)
            payment, _ = await payout_commands.request_payment(uow, team, by)
            return payment.id

        try:
            payment_id = self.run(self._in_unit(work))
        except DomainError as refused:
            event(f"payment request refused: {refused.code}")
            return multiple()
        event("payment requested")
        return payment_id

    @rule(target=payments, team=teams)
    def pay_out(self, team: str) -> Any:
        """Request, approve, export and pay in one go, so that paid money is common."""
        payment = self.request_a_payment(team, STAFF)
        if isinstance(payment, str):
            self.approve_a_payment(payment, FINANCE)
            self.export_the_approved_payments()
            self.the_bank_pays(payment)
        return payment

    @rule(payment=payments, by=st.sampled_from([FINANCE, FINANCE_2]))
    def approve_a_payment(self, payment: str, by: Principal) -> None:
        self._payout(lambda uow: payout_commands.approve_payment(uow, payment, by), "approve")

    @rule(payment=payments)
    def cancel_a_payment(self, payment: str) -> None:
        self._payout(
            lambda uow: payout_commands.cancel_payment(uow, payment, "storniert", FINANCE),
            "cancel",
        )

    @rule()
    def export_the_approved_payments(self) -> None:
        today = self.clock.now().astimezone(BERLIN).date()
        self._payout(lambda uow: payout_commands.export_payments(uow, today, FINANCE), "export")

    @rule(payment=payments)
    def the_bank_pays(self, payment: str) -> None:
        today = self.clock.now().astimezone(BERLIN).date()
        self._payout(lambda uow: payout_commands.mark_paid(uow, payment, today, FINANCE), "paid")

    @rule(payment=payments)
    def the_bank_returns(self, payment: str) -> None:
        self._payout(
            lambda uow: payout_commands.mark_returned(uow, payment, "Konto erloschen", FINANCE),
            "returned",
        )

    def _payout(self, work: Any, step: str) -> None:
        try:
            self.run(self._in_unit(work))
            event(f"payment {step}")
        except DomainError as refused:
            event(f"payment {step} refused: {refused.code}")

    @rule(index=st.integers(min_value=0))
    def replay_a_delivered_event(self, index: int) -> None:
        payload, event = self.delivered[index % len(self.delivered)]
        self._apply(payload, event)

    @rule(hours=st.integers(min_value=1, max_value=72))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))

    @invariant()
    def the_books_reconcile(self) -> None:
        async def check() -> None:
            async with self.db.sessions() as session:
                report = await reconcile(session)
                assert report.ok, report.problems
                assert report.imbalance_cents == 0
                for team in (await session.execute(select(team_budgets))).all():
                    assert team.approved_cents <= team.released_cents, team.team_id
                    completed = set(team.completed_milestones)
                    for trigger in set(team.released_triggers) - {"acceptance"}:
                        keys = [step.key for step in STEPS]
                        earlier = set(keys[: keys.index(trigger) + 1])
                        assert earlier <= completed, (team.team_id, trigger, completed)
                    assert team.approved_cents + team.pending_cents <= team.allocated_cents
                statuses = [
                    (t.call_id, t.status) for t in (await session.execute(select(team_budgets)))
                ]
                for pot in (await session.execute(select(pots))).all():
                    assert 0 <= pot.available_cents <= pot.total_cents
                    assert pot.available_cents + pot.allocated_cents == pot.total_cents
                    # The pot's count of its waiting list is the list.
                    waiting = statuses.count((pot.call_id, "waiting"))
                    assert pot.waiting_teams == waiting, (pot.call_id, pot.waiting_teams)
                await self._cost_plans_hold(session)
                await self._payments_hold(session)
                crossings = (
                    await session.execute(
                        select(chassis.outbox.c.payload).where(
                            chassis.outbox.c.event_type == ThresholdCrossedV1.TYPE
                        )
                    )
                ).scalars()
                seen = [
                    (data["team_id"], data["threshold_percent"])
                    for data in (json.loads(p)["data"] for p in crossings)
                ]
                assert len(seen) == len(set(seen)), "a threshold was announced twice"

        self.run(check())

    async def _payments_hold(self, session: Any) -> None:
        """An expense is in at most one standing payment request, the one it names, and a
        team's paid figure is the sum of its paid requests."""
        requests = [
            payment_request_from_row(r) for r in (await session.execute(select(payment_requests)))
        ]
        holder: dict[str, str] = {}
        for payment in requests:
            if payment.status in STANDING:
                for expense_id in payment.expense_ids:
                    assert expense_id not in holder, (expense_id, payment.id)
                    holder[expense_id] = payment.id
        for row in (await session.execute(select(expense_rows))).all():
            assert row.payment_request_id == holder.get(row.id), row.id
        for team in (await session.execute(select(team_budgets))).all():
            paid = sum(
                p.amount_cents for p in requests if p.team_id == team.team_id and p.status == PAID
            )
            assert team.paid_cents == paid, team.team_id

    async def _cost_plans_hold(self, session: Any) -> None:
        plans = (await session.execute(select(cost_plans))).all()
        for team in (await session.execute(select(team_budgets))).all():
            history = [cost_plan_from_row(r) for r in plans if r.team_id == team.team_id]
            assert sum(p.status == IN_FORCE for p in history) <= 1, team.team_id
            assert sum(p.status == PENDING_APPROVAL for p in history) <= 1, team.team_id
            plan = in_force(history)
            if plan is None:
                continue
            assert sum(cents for _, cents in plan.lines) == team.allocated_cents
            standing = (
                await session.execute(
                    select(expense_rows).where(expense_rows.c.team_id == team.team_id)
                )
            ).all()
            committed = committed_by_position(expense_from_row(r) for r in standing)
            for position, cents in committed.items():
                assert cents <= plan.limit(position, 20), (team.team_id, position, cents)


BudgetBooks.TestCase.settings = settings(
    max_examples=50,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestBudgetBooks = BudgetBooks.TestCase
