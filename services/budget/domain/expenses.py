"""Expenses (Belege): submission against released money, four-eyes approval, rejection.

Submitting moves the fundable amount from the team's available money to pending, so two
submissions can never overrun what was released; approval moves it on to spent, rejection back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime

from cimis_chassis.text import clip, comparison_key, same_ident
from services.budget.domain import ledger
from services.budget.domain.budgets import ALLOCATED, CLOSED, FundingPeriod, Pot, TeamBudget
from services.budget.domain.errors import (
    BudgetRuleViolation,
    BudgetStateConflict,
    FourEyesViolation,
)
from services.budget.domain.ledger import Transfer

POSITIONS = ("personnel", "material", "external_services", "travel", "other")
SUBMITTED, APPROVED, REJECTED, REVERSED = "submitted", "approved", "rejected", "reversed"
# A receipt counts while its expense stands; rejected or reversed, it may be entered again.
ACTIVE = (SUBMITTED, APPROVED)
THRESHOLDS = (50, 80, 100)
RECEIPT_KEY_MAX_CHARS = 200


@dataclass(frozen=True)
class Expense:
    id: str
    team_id: str
    call_id: str
    position: str
    net_cents: int
    vat_cents: int
    gross_cents: int
    fundable_cents: int
    receipt_number: str
    receipt_date: date
    payee: str
    purpose: str
    status: str
    submitted_by: str
    submitted_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    rejection_reason: str | None = None
    reversed_by: str | None = None
    reversed_at: datetime | None = None
    reversal_reason: str | None = None
    # Standing expenses of other teams in the call with the same receipt (number and payee)
    # when this one was submitted: shown to finance, who decide whether it is billed twice.
    possible_duplicates: tuple[str, ...] = ()
    # The payment request that holds this approved expense, until it is cancelled or returned.
    payment_request_id: str | None = None


def receipt_key(receipt_number: str) -> str:
    """What makes two receipt numbers one receipt: "RE-1", "re‐1" and "ＲＥ－１" are the same.

    Staff retype numbers from paper in any case, with whatever dash their keyboard makes.
    """
    return comparison_key(receipt_number)


def payee_key(payee: str) -> str:
    """Payees compare like receipt numbers: "Müller GmbH" and "MÜLLER  GmbH" are one payee."""
    return comparison_key(payee)


def check_receipt_number(receipt_number: str) -> str:
    """The receipt number's key; refused when nothing, or too much, remains of it."""
    key = receipt_key(receipt_number)
    if not key:
        raise BudgetRuleViolation(
            "invalid-receipt-number", "The receipt number has no visible characters."
        )
    if len(key) > RECEIPT_KEY_MAX_CHARS:
        raise BudgetRuleViolation(
            "invalid-receipt-number",
            f"The receipt number is longer than {RECEIPT_KEY_MAX_CHARS} characters "
            "once normalised.",
        )
    return key


def committed_by_position(expenses: Iterable[Expense]) -> dict[str, int]:
    """Fundable cents of the standing (submitted or approved) expenses, per budget line."""
    committed: dict[str, int] = {}
    for e in expenses:
        if e.status in ACTIVE:
            committed[e.position] = committed.get(e.position, 0) + e.fundable_cents
    return committed


def fundable_amount(net_cents: int, vat_cents: int, input_vat_deductible: bool) -> int:
    """Vorsteuerabzug: a company that may deduct input VAT is funded the net amount only."""
    return net_cents if input_vat_deductible else net_cents + vat_cents


def submit(
    team: TeamBudget,
    *,
    expense_id: str,
    position: str,
    net_cents: int,
    vat_cents: int,
    receipt_number: str,
    receipt_date: date,
    payee: str,
    purpose: str,
    submitted_by: str,
    now: datetime,
    today: date,
    period: FundingPeriod,
    possible_duplicates: tuple[str, ...] = (),
) -> tuple[Expense, TeamBudget, Transfer]:
    if team.status == CLOSED:
        raise BudgetStateConflict("budget-closed", "The team was withdrawn; its budget is closed.")
    if team.status != ALLOCATED:
        raise BudgetStateConflict(
            "budget-not-allocated", "The team has no allocated budget to spend from."
        )
    if position not in POSITIONS:
        raise BudgetRuleViolation(
            "invalid-position", f"Unknown budget position {clip(position)!r}."
        )
    check_receipt_number(receipt_number)
    if net_cents < 0 or vat_cents < 0:
        raise BudgetRuleViolation("invalid-amount", "Net and VAT must not be negative.")
    if receipt_date > today:
        raise BudgetRuleViolation("receipt-in-future", "The receipt date lies in the future.")
    if not period.covers(receipt_date):
        until = period.ends_on.isoformat() if period.ends_on else "the end of the plan"
        raise BudgetRuleViolation(
            "outside-funding-period",
            f"The receipt date {receipt_date.isoformat()} lies outside the team's funding "
            f"period, {period.starts_on.isoformat()} to {until} (acceptance to the plan's end "
            "plus the call's settlement period).",
        )
    fundable = fundable_amount(net_cents, vat_cents, team.input_vat_deductible)
    if fundable <= 0:
        raise BudgetRuleViolation("invalid-amount", "The expense has nothing fundable.")
    if fundable > team.available_cents:
        raise BudgetRuleViolation(
            "budget-exceeded",
            f"The fundable amount of {_eur(fundable)} EUR exceeds the available "
            f"{_eur(team.available_cents)} EUR (released money minus approved and pending).",
        )
    expense = Expense(
        id=expense_id,
        team_id=team.team_id,
        call_id=team.call_id,
        position=position,
        net_cents=net_cents,
        vat_cents=vat_cents,
        gross_cents=net_cents + vat_cents,
        fundable_cents=fundable,
        receipt_number=receipt_number.strip(),
        receipt_date=receipt_date,
        payee=payee.strip(),
        purpose=purpose.strip(),
        status=SUBMITTED,
        submitted_by=submitted_by,
        submitted_at=now,
        possible_duplicates=possible_duplicates,
    )
    moved = Transfer(
        id=f"expense-submitted:{expense_id}",
        kind="expense_submitted",
        from_account=ledger.released(team.team_id),
        to_account=ledger.pending(team.team_id),
        amount_cents=fundable,
        call_id=team.call_id,
        team_id=team.team_id,
        expense_id=expense_id,
    )
    team = replace(
        team,
        available_cents=team.available_cents - fundable,
        pending_cents=team.pending_cents + fundable,
    )
    return expense, team, moved


def approve(
    expense: Expense, team: TeamBudget, *, approver: str, now: datetime
) -> tuple[Expense, TeamBudget, Transfer | None, tuple[int, ...]]:
    """Four eyes: the approver is never the submitter. Returns newly crossed thresholds."""
    if expense.status == APPROVED:
        return expense, team, None, ()
    if expense.status != SUBMITTED:
        raise BudgetStateConflict(
            f"expense-{expense.status}", f"The expense is {expense.status}; it cannot be approved."
        )
    if same_ident(approver, expense.submitted_by):
        raise FourEyesViolation(
            "four-eyes", "Four eyes: the approver must not be the one who submitted the expense."
        )
    moved = Transfer(
        id=f"expense-approved:{expense.id}",
        kind="expense_approved",
        from_account=ledger.pending(team.team_id),
        to_account=ledger.spent(team.team_id),
        amount_cents=expense.fundable_cents,
        call_id=team.call_id,
        team_id=team.team_id,
        expense_id=expense.id,
    )
    approved_cents = team.approved_cents + expense.fundable_cents
    crossed = tuple(
        t
        for t in THRESHOLDS
        if t not in team.thresholds_crossed and approved_cents * 100 >= t * team.allocated_cents
    )
    team = replace(
        team,
        pending_cents=team.pending_cents - expense.fundable_cents,
        approved_cents=approved_cents,
        thresholds_crossed=team.thresholds_crossed | set(crossed),
    )
    expense = replace(expense, status=APPROVED, decided_by=approver, decided_at=now)
    return expense, team, moved, crossed


def reject(
    expense: Expense, team: TeamBudget, pot: Pot | None, *, by: str, reason: str, now: datetime
) -> tuple[Expense, TeamBudget, Pot | None, Transfer | None]:
    """Money goes back to the team's available budget, or to the pot once the team is closed."""
    if expense.status == REJECTED:
        return expense, team, pot, None
    if expense.status != SUBMITTED:
        raise BudgetStateConflict(
            f"expense-{expense.status}",
            f"The expense is {expense.status}; it cannot be rejected "
            "(an approval is corrected by reversing it).",
        )
    if not reason.strip():
        raise BudgetRuleViolation("reason-missing", "Give a reason for the rejection.")
    team, pot, moved = _give_back(expense, team, pot, out_of="pending", kind="expense_rejected")
    expense = replace(
        expense, status=REJECTED, decided_by=by, decided_at=now, rejection_reason=reason.strip()
    )
    return expense, team, pot, moved


def reverse(
    expense: Expense, team: TeamBudget, pot: Pot | None, *, by: str, reason: str, now: datetime
) -> tuple[Expense, TeamBudget, Pot | None, Transfer | None]:
    """Correct an approved expense by a reversing transfer; the ledger keeps both.

    Four eyes again: whoever approved it may not reverse it alone. Thresholds already
    announced stay announced.
    """
    if expense.status == REVERSED:
        return expense, team, pot, None
    if expense.status != APPROVED:
        raise BudgetStateConflict(
            "expense-not-approved", "Only an approved expense can be reversed; reject it instead."
        )
    if expense.decided_by is not None and same_ident(by, expense.decided_by):
        raise FourEyesViolation(
            "four-eyes", "Four eyes: the approver must not reverse their own approval."
        )
    if expense.payment_request_id is not None:
        raise BudgetStateConflict(
            "expense-in-payment-request",
            f"The expense is part of payment request {expense.payment_request_id}; cancel the "
            "request first (money already paid out is recovered outside this service).",
        )
    if not reason.strip():
        raise BudgetRuleViolation("reason-missing", "Give a reason for the reversal.")
    team, pot, moved = _give_back(expense, team, pot, out_of="approved", kind="expense_reversed")
    expense = replace(
        expense, status=REVERSED, reversed_by=by, reversed_at=now, reversal_reason=reason.strip()
    )
    return expense, team, pot, moved


def _give_back(
    expense: Expense, team: TeamBudget, pot: Pot | None, *, out_of: str, kind: str
) -> tuple[TeamBudget, Pot | None, Transfer]:
    """Move an expense's money out of ``pending`` or ``approved`` to where the team's unspent
    money lives: its available budget, or the pot once the team is closed."""
    amount = expense.fundable_cents
    source = {"pending": ledger.pending, "approved": ledger.spent}[out_of](team.team_id)
    reduced = {f"{out_of}_cents": getattr(team, f"{out_of}_cents") - amount}
    if team.status == CLOSED and pot is not None:
        target = ledger.pot(team.call_id)
        team = replace(team, **reduced, returned_cents=team.returned_cents + amount)
        pot = replace(
            pot,
            available_cents=pot.available_cents + amount,
            allocated_cents=pot.allocated_cents - amount,
        )
    else:
        target = ledger.released(team.team_id)
        team = replace(team, **reduced, available_cents=team.available_cents + amount)
    moved = Transfer(
        id=f"{kind.replace('_', '-')}:{expense.id}",
        kind=kind,
        from_account=source,
        to_account=target,
        amount_cents=amount,
        call_id=team.call_id,
        team_id=team.team_id,
        expense_id=expense.id,
    )
    return team, pot, moved


def _eur(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"
