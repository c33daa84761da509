"""A call's pot and a team's budget: allocation, refusal, tranche release and closure.

Every function takes the current state and returns the new state with the ledger transfers
that move the money; nothing here touches a database. The counters of a team mirror its ledger
accounts (reserved, available = released account, pending, approved) so that reconciliation
can compare both.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from services.budget.domain import ledger
from services.budget.domain.calendar import BERLIN
from services.budget.domain.errors import BudgetRuleViolation, BudgetStateConflict
from services.budget.domain.ledger import Transfer
from services.budget.domain.tranches import TrancheRule, due, tranche_amounts

AWAITING_CALL, ALLOCATED, REFUSED, CLOSED = "awaiting_call", "allocated", "refused", "closed"
# Accepted, but the pot cannot carry the team yet: it is allocated, in acceptance order, as
# soon as money comes back to the pot (a withdrawal).
WAITING = "waiting"
# The programme's settlement period when a call does not set its own (DOMAIN.md).
DEFAULT_SETTLEMENT_DAYS = 90
DEFAULT_COST_PLAN_TOLERANCE_PERCENT = 20


@dataclass(frozen=True)
class Pot:
    call_id: str
    title: str
    total_cents: int
    max_team_cents: int
    plan: tuple[TrancheRule, ...]
    available_cents: int
    allocated_cents: int = 0  # net of what closed teams gave back
    # After a plan's end, costs still count for this long (Abrechnungsfrist).
    settlement_days: int = DEFAULT_SETTLEMENT_DAYS
    # Teams on the waiting list: while there are any, a newly accepted team queues behind them.
    waiting_teams: int = 0
    # How far a cost plan line may move, or be overrun, as a share of its planned amount.
    cost_plan_tolerance_percent: int = DEFAULT_COST_PLAN_TOLERANCE_PERCENT


@dataclass(frozen=True)
class TeamBudget:
    team_id: str
    call_id: str
    agent_id: str
    title: str
    input_vat_deductible: bool
    requested_cents: int
    accepted_at: datetime
    status: str = AWAITING_CALL
    allocated_cents: int = 0
    released_cents: int = 0  # cumulative, as released by tranches
    reserved_cents: int = 0
    available_cents: int = 0
    pending_cents: int = 0
    approved_cents: int = 0
    returned_cents: int = 0
    # Of the approved money, what was paid out (the rest is approved and unpaid).
    paid_cents: int = 0
    released_triggers: frozenset[str] = frozenset()
    completed_milestones: frozenset[str] = frozenset()
    # Waived by staff: done for the tranches after them, releasing nothing of their own.
    waived_milestones: frozenset[str] = frozenset()
    # Each tranche taken back after a milestone was reopened, once per time (a tranche may be
    # released, taken back and released again: each move is its own ledger transfer).
    tranche_withdrawals: tuple[str, ...] = ()
    thresholds_crossed: frozenset[int] = frozenset()
    refusal_code: str | None = None
    refusal_reason: str | None = None
    closed_at: datetime | None = None
    # The due date of the plan's last milestone, as milestones last announced it.
    plan_ends_on: date | None = None
    # The first day whose costs count, when staff set one (else the day of acceptance).
    funding_starts_on: date | None = None

    def __post_init__(self) -> None:
        # The team's money is always somewhere: TigerBeetle-style, assert where it must hold.
        assert self.allocated_cents == (
            self.reserved_cents
            + self.available_cents
            + self.pending_cents
            + self.approved_cents
            + self.returned_cents
        ), f"team {self.team_id}: allocation does not add up"
        assert min(self.reserved_cents, self.available_cents, self.pending_cents) >= 0
        assert 0 <= self.paid_cents <= self.approved_cents, f"team {self.team_id}: overpaid"

    @property
    def spent_percent(self) -> float:
        if not self.allocated_cents:
            return 0.0
        return round(self.approved_cents * 100 / self.allocated_cents, 2)


@dataclass(frozen=True)
class Release:
    trigger: str
    percent: int
    amount_cents: int


@dataclass(frozen=True)
class Outcome:
    """What a step decided: the new states, the transfers to book and the tranches released."""

    team: TeamBudget
    pot: Pot | None
    transfers: tuple[Transfer, ...] = ()
    releases: tuple[Release, ...] = ()
    changed: bool = True
    # Tranches taken back to the reserve (a reopened milestone).
    withdrawals: tuple[Release, ...] = ()
    # Tranches a reopened milestone could not take back: their money is spent already.
    kept: tuple[Release, ...] = ()
    notes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class FundingPeriod:
    """The days whose costs a team may claim (förderfähiger Zeitraum), both ends included;
    open-ended while budget has not yet heard of the team's plan."""

    starts_on: date
    ends_on: date | None

    def covers(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


def cost_plan_tolerance(pot: Pot | None) -> int:
    """The call's cost plan tolerance, the programme's default while its pot is unknown."""
    return pot.cost_plan_tolerance_percent if pot else DEFAULT_COST_PLAN_TOLERANCE_PERCENT


def funding_period(team: TeamBudget, pot: Pot | None) -> FundingPeriod:
    """From the day of acceptance (or the start staff set) to the plan's end plus the call's
    settlement period."""
    starts_on = team.funding_starts_on or team.accepted_at.astimezone(BERLIN).date()
    if team.plan_ends_on is None:
        return FundingPeriod(starts_on, None)
    settlement = pot.settlement_days if pot is not None else DEFAULT_SETTLEMENT_DAYS
    return FundingPeriod(starts_on, team.plan_ends_on + timedelta(days=settlement))


def open_pot(
    *,
    call_id: str,
    title: str,
    total_cents: int,
    max_team_cents: int,
    plan: tuple[TrancheRule, ...],
    settlement_days: int = DEFAULT_SETTLEMENT_DAYS,
    cost_plan_tolerance_percent: int = DEFAULT_COST_PLAN_TOLERANCE_PERCENT,
) -> tuple[Pot, Transfer]:
    """The call's pot, funded in full from the call's funding account."""
    funded = Transfer(
        id=f"fund:{call_id}",
        kind="pot_funded",
        from_account=ledger.funding(call_id),
        to_account=ledger.pot(call_id),
        amount_cents=total_cents,
        call_id=call_id,
    )
    pot = Pot(
        call_id=call_id,
        title=title,
        total_cents=total_cents,
        max_team_cents=max_team_cents,
        plan=plan,
        available_cents=total_cents,
        settlement_days=settlement_days,
        cost_plan_tolerance_percent=cost_plan_tolerance_percent,
    )
    return pot, funded


def increase_pot(pot: Pot, *, added_cents: int, total_cents: int) -> tuple[Pot, Transfer] | None:
    """More money from the call's funding account; None when this increase is booked already
    (a call's total only grows, so each total names one increase)."""
    if total_cents <= pot.total_cents:
        return None
    funded = Transfer(
        id=f"pot-increased:{pot.call_id}:{total_cents}",
        kind="pot_increased",
        from_account=ledger.funding(pot.call_id),
        to_account=ledger.pot(pot.call_id),
        amount_cents=added_cents,
        call_id=pot.call_id,
    )
    grown = replace(
        pot,
        total_cents=pot.total_cents + added_cents,
        available_cents=pot.available_cents + added_cents,
    )
    return grown, funded


def allocate(team: TeamBudget, pot: Pot) -> Outcome:
    """Reserve the team's budget from the pot and release what its triggers allow; put it on
    the waiting list while the pot cannot carry it; refuse it above the per-team maximum."""
    if team.status not in (AWAITING_CALL, WAITING):
        return Outcome(team, pot, changed=False)
    if team.requested_cents > pot.max_team_cents:
        return _refuse(
            team,
            pot,
            "above-team-maximum",
            f"The team budget of {_eur(team.requested_cents)} EUR exceeds the call's per-team "
            f"maximum of {_eur(pot.max_team_cents)} EUR.",
        )
    if team.status == AWAITING_CALL and pot.waiting_teams:
        return _wait(
            team,
            pot,
            "waiting-list",
            f"{pot.waiting_teams} team(s) accepted earlier wait for money on the call's waiting "
            "list; the team queues behind them.",
        )
    if team.requested_cents > pot.available_cents:
        if team.status == WAITING:
            return Outcome(team, pot, changed=False)
        return _wait(
            team,
            pot,
            "pot-exhausted",
            f"The call's pot has {_eur(pot.available_cents)} EUR left; the team needs "
            f"{_eur(team.requested_cents)} EUR. It waits for money to come back.",
        )
    amount = team.requested_cents
    reserve = Transfer(
        id=f"allocate:{team.team_id}",
        kind="allocated",
        from_account=ledger.pot(pot.call_id),
        to_account=ledger.reserved(team.team_id),
        amount_cents=amount,
        call_id=pot.call_id,
        team_id=team.team_id,
    )
    allocated = replace(
        team,
        status=ALLOCATED,
        allocated_cents=amount,
        reserved_cents=amount,
        refusal_code=None,
        refusal_reason=None,
    )
    new_pot = replace(
        pot,
        available_cents=pot.available_cents - amount,
        allocated_cents=pot.allocated_cents + amount,
        waiting_teams=pot.waiting_teams - (1 if team.status == WAITING else 0),
    )
    # Milestones may have been completed before the allocation was processed: release them too.
    released = _release(allocated, new_pot, _due(team, pot))
    return Outcome(
        released.team,
        new_pot,
        transfers=(reserve, *released.transfers),
        releases=released.releases,
    )


def _wait(team: TeamBudget, pot: Pot, code: str, reason: str) -> Outcome:
    waiting = replace(team, status=WAITING, refusal_code=code, refusal_reason=reason)
    return Outcome(waiting, replace(pot, waiting_teams=pot.waiting_teams + 1))


def _refuse(team: TeamBudget, pot: Pot, code: str, reason: str) -> Outcome:
    refused = replace(team, status=REFUSED, refusal_code=code, refusal_reason=reason)
    return Outcome(refused, pot)


def complete_milestone(team: TeamBudget, pot: Pot | None, key: str) -> Outcome:
    """Remember the completion and release every tranche it completes the conditions of:
    none, its own, or its own and later ones that were waiting for it."""
    if key in team.completed_milestones or key in team.waived_milestones:
        return Outcome(team, pot, changed=False)
    noted = replace(team, completed_milestones=team.completed_milestones | {key})
    if noted.status != ALLOCATED or pot is None:
        return Outcome(noted, pot)
    released = _release(noted, pot, _due(noted, pot))
    return Outcome(released.team, pot, released.transfers, released.releases)


def waive_milestone(team: TeamBudget, pot: Pot | None, key: str) -> Outcome:
    """Staff waived a milestone: the tranches waiting for it (and nothing else) may follow,
    its own tranche stays reserved, and a completion reported later does not release it."""
    if key in team.waived_milestones or key in team.completed_milestones:
        return Outcome(team, pot, changed=False)
    noted = replace(team, waived_milestones=team.waived_milestones | {key})
    if noted.status != ALLOCATED or pot is None:
        return Outcome(noted, pot)
    released = _release(noted, pot, _due(noted, pot))
    return Outcome(released.team, pot, released.transfers, released.releases)


def reopen_milestone(team: TeamBudget, pot: Pot | None, key: str) -> Outcome:
    """Staff reopened a milestone confirmed or waived by mistake: it no longer counts, and
    every released tranche that waited for it goes back to the reserve, latest first, while
    the team has that money unspent; a tranche already spent stays with the team (``kept``,
    which budget announces so that the programme office knows)."""
    if key not in team.completed_milestones and key not in team.waived_milestones:
        return Outcome(team, pot, changed=False)
    team = replace(
        team,
        completed_milestones=team.completed_milestones - {key},
        waived_milestones=team.waived_milestones - {key},
    )
    if team.status != ALLOCATED or pot is None:
        return Outcome(team, pot)
    amounts = tranche_amounts(team.allocated_cents, pot.plan)
    still_due = set(_due(team, pot))
    transfers: list[Transfer] = []
    withdrawn: list[Release] = []
    kept: list[Release] = []
    for rule in reversed(pot.plan):
        trigger = rule.trigger
        if trigger not in team.released_triggers or trigger in still_due:
            continue
        amount = amounts[trigger]
        if amount > team.available_cents:
            kept.append(Release(trigger, rule.percent, amount))
            continue
        times = team.tranche_withdrawals.count(trigger) + 1
        if amount:
            transfers.append(
                Transfer(
                    id=f"withdraw:{team.team_id}:{trigger}:{times}",
                    kind="tranche_withdrawn",
                    from_account=ledger.released(team.team_id),
                    to_account=ledger.reserved(team.team_id),
                    amount_cents=amount,
                    call_id=team.call_id,
                    team_id=team.team_id,
                )
            )
        team = replace(
            team,
            released_triggers=team.released_triggers - {trigger},
            reserved_cents=team.reserved_cents + amount,
            available_cents=team.available_cents - amount,
            released_cents=team.released_cents - amount,
            tranche_withdrawals=(*team.tranche_withdrawals, trigger),
        )
        withdrawn.append(Release(trigger, rule.percent, amount))
    return Outcome(team, pot, tuple(transfers), withdrawals=tuple(withdrawn), kept=tuple(kept))


def _due(team: TeamBudget, pot: Pot) -> list[str]:
    done = team.completed_milestones | team.waived_milestones
    return [t for t in due(pot.plan, done) if t not in team.waived_milestones]


def _release(team: TeamBudget, pot: Pot, triggers: list[str]) -> Outcome:
    amounts = tranche_amounts(team.allocated_cents, pot.plan)
    percents = {rule.trigger: rule.percent for rule in pot.plan}
    transfers: list[Transfer] = []
    releases: list[Release] = []
    for trigger in triggers:
        if trigger not in amounts or trigger in team.released_triggers:
            continue
        amount = amounts[trigger]
        team = replace(
            team,
            released_triggers=team.released_triggers | {trigger},
            reserved_cents=team.reserved_cents - amount,
            available_cents=team.available_cents + amount,
            released_cents=team.released_cents + amount,
        )
        releases.append(Release(trigger, percents[trigger], amount))
        if amount:
            # Released again after a withdrawal: a new transfer, not a replay of the first.
            times = team.tranche_withdrawals.count(trigger)
            suffix = f":{times + 1}" if times else ""
            transfers.append(
                Transfer(
                    id=f"release:{team.team_id}:{trigger}{suffix}",
                    kind="tranche_released",
                    from_account=ledger.reserved(team.team_id),
                    to_account=ledger.released(team.team_id),
                    amount_cents=amount,
                    call_id=team.call_id,
                    team_id=team.team_id,
                )
            )
    return Outcome(team, pot, tuple(transfers), tuple(releases))


def close(team: TeamBudget, pot: Pot | None, now: datetime) -> Outcome:
    """Withdrawal: return what is neither approved nor pending to the pot; pending stays pending."""
    if team.status == CLOSED:
        return Outcome(team, pot, changed=False)
    if team.status == WAITING and pot is not None:
        left = replace(pot, waiting_teams=pot.waiting_teams - 1)
        return Outcome(replace(team, status=CLOSED, closed_at=now), left)
    if team.status != ALLOCATED or pot is None:
        return Outcome(replace(team, status=CLOSED, closed_at=now), pot)
    transfers = []
    for kind, account, amount in (
        ("returned_reserved", ledger.reserved(team.team_id), team.reserved_cents),
        ("returned_released", ledger.released(team.team_id), team.available_cents),
    ):
        if amount:
            transfers.append(
                Transfer(
                    id=f"close:{team.team_id}:{kind}",
                    kind=kind,
                    from_account=account,
                    to_account=ledger.pot(pot.call_id),
                    amount_cents=amount,
                    call_id=pot.call_id,
                    team_id=team.team_id,
                )
            )
    returned = team.reserved_cents + team.available_cents
    closed = replace(
        team,
        status=CLOSED,
        closed_at=now,
        reserved_cents=0,
        available_cents=0,
        returned_cents=team.returned_cents + returned,
    )
    new_pot = replace(
        pot,
        available_cents=pot.available_cents + returned,
        allocated_cents=pot.allocated_cents - returned,
    )
    return Outcome(closed, new_pot, tuple(transfers), notes={"returned_cents": returned})


def _eur(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def set_funding_start(
    team: TeamBudget, pot: Pot | None, starts_on: date, *, standing_receipt_dates: list[date]
) -> TeamBudget:
    """Staff move the start of the funding period (an agreed early or late start). Receipts
    already submitted or approved must stay inside it: reject or reverse them first."""
    if team.status not in (ALLOCATED, WAITING, AWAITING_CALL):
        raise BudgetStateConflict(
            f"budget-{team.status}", f"The team's budget is {team.status}; its period is fixed."
        )
    period = replace(funding_period(team, pot), starts_on=starts_on)
    if period.ends_on is not None and starts_on > period.ends_on:
        raise BudgetRuleViolation(
            "invalid-funding-start",
            f"The start {starts_on.isoformat()} lies after the period's end "
            f"{period.ends_on.isoformat()}.",
        )
    outside = sorted(d for d in standing_receipt_dates if not period.covers(d))
    if outside:
        raise BudgetRuleViolation(
            "funding-start-excludes-expenses",
            f"{len(outside)} submitted or approved receipt(s) from {outside[0].isoformat()} "
            "would fall outside the period; reject or reverse them first.",
        )
    return replace(team, funding_starts_on=starts_on)
