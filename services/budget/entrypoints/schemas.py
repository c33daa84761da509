"""Budget's HTTP bodies: EUR decimal strings on the wire, integer cents inside."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cimis_chassis.money import NonNegativeEurCents, format_eur
from cimis_chassis.text import AS_IDENT, LINE_BREAKS_ONLY, NO_CONTROLS
from cimis_chassis.times import CalendarDate
from services.budget.domain.budgets import Pot, TeamBudget
from services.budget.domain.cost_plans import IN_FORCE, PENDING_APPROVAL, CostPlan
from services.budget.domain.expenses import POSITIONS, Expense
from services.budget.domain.payouts import BankAccount, PaymentRequest, PaymentRun

Position = Literal["personnel", "material", "external_services", "travel", "other"]
# Ids compare in any case and Unicode form; path, query and body alike.
Id = Annotated[str, StringConstraints(min_length=1, max_length=100), AS_IDENT]
Reason = Annotated[str, Field(min_length=1, max_length=2000), LINE_BREAKS_ONLY]


class ExpenseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    position: Position
    net: NonNegativeEurCents
    vat: NonNegativeEurCents
    receipt_number: Annotated[str, Field(min_length=1, max_length=100), NO_CONTROLS]
    receipt_date: CalendarDate
    payee: Annotated[str, Field(min_length=1, max_length=300), NO_CONTROLS]
    purpose: Annotated[str, Field(min_length=1, max_length=2000), LINE_BREAKS_ONLY]


class CostPlanLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    position: Position
    planned: NonNegativeEurCents


class CostPlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Each budget line at most once (checked with the team's budget, as 422 invalid-cost-plan).
    lines: list[CostPlanLineIn] = Field(min_length=1, max_length=len(POSITIONS))
    reason: Reason


class BankAccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_holder: Annotated[str, Field(min_length=1, max_length=70), NO_CONTROLS]
    iban: Annotated[
        str, Field(min_length=1, max_length=50, description="Spaces allowed; checked."), NO_CONTROLS
    ]
    bic: Annotated[str, Field(min_length=1, max_length=20), NO_CONTROLS] | None = None


class PaymentRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    execution_date: Annotated[
        CalendarDate, Field(description="The day the bank is to execute the transfers.")
    ]


class PaidIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value_date: Annotated[
        CalendarDate, Field(description="The bank's value date (Wertstellung) of the payment.")
    ]


class FundingStartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    starts_on: Annotated[CalendarDate, Field(description="The first day whose costs count.")]
    reason: Reason


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


def ts(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def team_budget_out(team: TeamBudget, positions: list[Expense]) -> dict[str, Any]:
    by_position: dict[str, dict[str, int]] = {}
    for expense in positions:
        figures = by_position.setdefault(expense.position, {"approved": 0, "pending": 0})
        if expense.status == "approved":
            figures["approved"] += expense.fundable_cents
        elif expense.status == "submitted":
            figures["pending"] += expense.fundable_cents
    body: dict[str, Any] = {
        "team_id": team.team_id,
        "call_id": team.call_id,
        "status": team.status,
        "allocated": format_eur(team.allocated_cents),
        "released": format_eur(team.released_cents),
        "approved": format_eur(team.approved_cents),
        "pending": format_eur(team.pending_cents),
        "available": format_eur(team.available_cents),
        "returned": format_eur(team.returned_cents),
        # Approved money is either still to be paid out or paid: two figures, never one.
        "approved_unpaid": format_eur(team.approved_cents - team.paid_cents),
        "paid": format_eur(team.paid_cents),
        "spent_percent": team.spent_percent,
        "input_vat_deductible": team.input_vat_deductible,
        "released_tranches": sorted(team.released_triggers),
        "thresholds_crossed": sorted(team.thresholds_crossed),
        "positions": [
            {
                "position": name,
                "approved": format_eur(by_position.get(name, {}).get("approved", 0)),
                "pending": format_eur(by_position.get(name, {}).get("pending", 0)),
            }
            for name in POSITIONS
        ],
    }
    if team.refusal_reason:
        body["refusal_reason"] = team.refusal_reason
        body["refusal_code"] = team.refusal_code
    return body


def call_budget_out(pot: Pot, teams: list[TeamBudget]) -> dict[str, Any]:
    return {
        "call_id": pot.call_id,
        "title": pot.title,
        "total": format_eur(pot.total_cents),
        "allocated": format_eur(pot.allocated_cents),
        # Released and still with the teams: a withdrawn team's unspent money is back in the pot.
        "released": format_eur(
            sum(t.available_cents + t.pending_cents + t.approved_cents for t in teams)
        ),
        "spent": format_eur(sum(t.approved_cents for t in teams)),
        "paid": format_eur(sum(t.paid_cents for t in teams)),
        "pending": format_eur(sum(t.pending_cents for t in teams)),
        "available": format_eur(pot.available_cents),
        "teams": {
            status: sum(1 for t in teams if t.status == status)
            for status in ("allocated", "waiting", "refused", "closed", "awaiting_call")
        },
    }


def expense_out(expense: Expense) -> dict[str, Any]:
    return {
        "id": expense.id,
        "team_id": expense.team_id,
        "status": expense.status,
        "position": expense.position,
        "net": format_eur(expense.net_cents),
        "vat": format_eur(expense.vat_cents),
        "gross": format_eur(expense.gross_cents),
        "fundable": format_eur(expense.fundable_cents),
        "receipt_number": expense.receipt_number,
        "receipt_date": expense.receipt_date.isoformat(),
        "payee": expense.payee,
        "purpose": expense.purpose,
        "submitted_by": expense.submitted_by,
        "submitted_at": ts(expense.submitted_at),
        "decided_by": expense.decided_by,
        "decided_at": ts(expense.decided_at),
        "rejection_reason": expense.rejection_reason,
        "reversed_by": expense.reversed_by,
        "reversed_at": ts(expense.reversed_at),
        "reversal_reason": expense.reversal_reason,
        # The same receipt standing in other teams of the call when this one was submitted.
        "possible_duplicates": list(expense.possible_duplicates),
        "payment_request_id": expense.payment_request_id,
    }


def cost_plan_out(
    team: TeamBudget,
    in_force: CostPlan | None,
    pending: CostPlan | None,
    committed: dict[str, int],
    tolerance_percent: int,
) -> dict[str, Any]:
    """The plan in force line by line (with what each line carries and may still take), and
    a proposal that waits for a second person's approval."""
    status = PENDING_APPROVAL if pending else IN_FORCE if in_force else "none"
    lines = []
    for position in POSITIONS:
        planned = in_force.planned(position) if in_force else 0
        limit = in_force.limit(position, tolerance_percent) if in_force else None
        used = committed.get(position, 0)
        if not planned and not used:
            continue
        lines.append(
            {
                "position": position,
                "planned": format_eur(planned),
                "committed": format_eur(used),
                "limit": None if limit is None else format_eur(limit),
                "remaining": None if limit is None else format_eur(max(limit - used, 0)),
            }
        )
    return {
        "team_id": team.team_id,
        "status": status,
        "allocated": format_eur(team.allocated_cents),
        "tolerance_percent": tolerance_percent,
        "version": in_force.version if in_force else None,
        "reason": in_force.reason if in_force else None,
        "proposed_by": in_force.proposed_by if in_force else None,
        "decided_by": in_force.decided_by if in_force else None,
        "in_force_since": ts(in_force.decided_at) if in_force else None,
        "lines": lines,
        "pending": None
        if pending is None
        else {
            "version": pending.version,
            "lines": [{"position": p, "planned": format_eur(cents)} for p, cents in pending.lines],
            "shifts": [
                {"position": p, "change": format_eur(pending.planned(p) - before)}
                for p in POSITIONS
                if pending.planned(p) != (before := in_force.planned(p) if in_force else 0)
            ],
            "reason": pending.reason,
            "proposed_by": pending.proposed_by,
            "proposed_at": ts(pending.proposed_at),
        },
    }


def bank_account_out(account: BankAccount) -> dict[str, Any]:
    return {
        "team_id": account.team_id,
        "account_holder": account.account_holder,
        "iban": account.iban,
        "bic": account.bic,
        "set_by": account.set_by,
        "set_at": ts(account.set_at),
    }


def payment_request_out(payment: PaymentRequest) -> dict[str, Any]:
    return {
        "id": payment.id,
        "team_id": payment.team_id,
        "call_id": payment.call_id,
        "status": payment.status,
        "amount": format_eur(payment.amount_cents),
        "expense_ids": list(payment.expense_ids),
        "positions": [
            {"position": p, "amount": format_eur(cents)} for p, cents in payment.positions
        ],
        "requested_by": payment.requested_by,
        "requested_at": ts(payment.requested_at),
        "approved_by": payment.approved_by,
        "approved_at": ts(payment.approved_at),
        "run_id": payment.run_id,
        "value_date": payment.value_date.isoformat() if payment.value_date else None,
        "paid_by": payment.paid_by,
        "paid_at": ts(payment.paid_at),
        "ended_by": payment.ended_by,
        "ended_at": ts(payment.ended_at),
        "reason": payment.end_reason,
    }


def payment_run_out(run: PaymentRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "execution_date": run.execution_date.isoformat(),
        "request_ids": list(run.request_ids),
        "total": format_eur(run.total_cents),
        "created_by": run.created_by,
        "created_at": ts(run.created_at),
    }
