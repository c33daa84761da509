"""Handler of the funding period command: staff set the first day whose costs count."""

from __future__ import annotations

from datetime import date

from cimis_chassis.auth import Principal
from services.budget.app.ports import BudgetUnitOfWork
from services.budget.domain import budgets
from services.budget.domain.budgets import FundingPeriod
from services.budget.domain.errors import BudgetRuleViolation, NotFound


async def set_funding_start(
    uow: BudgetUnitOfWork, team_id: str, starts_on: date, reason: str, by: Principal
) -> FundingPeriod:
    team = await uow.teams.get(team_id, lock=True)
    if team is None:
        raise NotFound("team budget", team_id)
    if not reason.strip():
        raise BudgetRuleViolation("reason-missing", "Give a reason for the new start.")
    pot = await uow.pots.get(team.call_id)
    changed = budgets.set_funding_start(
        team,
        pot,
        starts_on,
        standing_receipt_dates=await uow.expenses.standing_receipt_dates(team_id),
    )
    if changed != team:
        uow.teams.put(changed)
        await uow.audit(
            "budget.funding_start_set",
            "team_budget",
            team_id,
            before={"funding_starts_on": _day(team.funding_starts_on)},
            after={"funding_starts_on": starts_on.isoformat(), "reason": reason.strip()},
        )
    return budgets.funding_period(changed, pot)


def _day(day: date | None) -> str | None:
    return None if day is None else day.isoformat()
