"""Paying a team's approved expenses out (Mittelabruf / Auszahlung).

The approved expenses not yet in a payment request are bundled into one; finance approves it
(four eyes: not its requester), exports the approved requests as one SEPA credit transfer run,
and marks each paid with the bank's value date. Paid money moves in the ledger from the team's
``spent`` account (approved, unpaid) to ``paid``; a payment the bank returns moves back and its
expenses may be requested again. A request may be cancelled until it is exported.

    requested → approved → exported → paid
        ↘ cancelled ↙          ↘ returned ↙
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from cimis_chassis.text import same_ident
from services.budget.domain import ledger
from services.budget.domain.budgets import TeamBudget
from services.budget.domain.errors import (
    BudgetRuleViolation,
    BudgetStateConflict,
    FourEyesViolation,
)
from services.budget.domain.expenses import APPROVED, Expense
from services.budget.domain.ledger import Transfer

REQUESTED, APPROVED_FOR_PAYMENT, EXPORTED, PAID = "requested", "approved", "exported", "paid"
CANCELLED, RETURNED = "cancelled", "returned"
# A request that holds its expenses: they cannot be requested again or reversed meanwhile.
STANDING = (REQUESTED, APPROVED_FOR_PAYMENT, EXPORTED, PAID)


@dataclass(frozen=True)
class BankAccount:
    team_id: str
    account_holder: str
    iban: str  # electronic format: no spaces, upper case
    bic: str | None
    set_by: str
    set_at: datetime


@dataclass(frozen=True)
class PaymentRequest:
    id: str
    team_id: str
    call_id: str
    status: str
    amount_cents: int
    expense_ids: tuple[str, ...]
    # Per budget line, for the final statement and the funder's report.
    positions: tuple[tuple[str, int], ...]
    requested_by: str
    requested_at: datetime
    approved_by: str | None = None
    approved_at: datetime | None = None
    run_id: str | None = None
    # The account as it was exported: a later change of the team's account does not rewrite
    # a file the bank already has.
    account_holder: str | None = None
    iban: str | None = None
    bic: str | None = None
    value_date: date | None = None
    paid_by: str | None = None
    paid_at: datetime | None = None
    ended_by: str | None = None  # cancelled or returned by
    ended_at: datetime | None = None
    end_reason: str | None = None


@dataclass(frozen=True)
class PaymentRun:
    """One SEPA credit transfer file: the approved requests exported together."""

    id: str
    execution_date: date
    request_ids: tuple[str, ...]
    total_cents: int
    created_by: str
    created_at: datetime


def bank_account(
    team_id: str, *, account_holder: str, iban: str, bic: str | None, by: str, now: datetime
) -> BankAccount:
    """A payee account whose IBAN (and BIC, if given) pass their checksums and registries."""
    if not account_holder.strip():
        raise BudgetRuleViolation("invalid-account-holder", "Name the account holder.")
    try:
        checked = IBAN(iban)
    except SchwiftyException as exc:
        raise BudgetRuleViolation("invalid-iban", f"The IBAN is not valid: {exc}.") from exc
    if not checked.country or not checked.country.alpha_2:
        raise BudgetRuleViolation("invalid-iban", "The IBAN's country is unknown.")
    code = None
    if bic:
        try:
            code = str(BIC(bic))
        except SchwiftyException as exc:
            raise BudgetRuleViolation("invalid-bic", f"The BIC is not valid: {exc}.") from exc
    return BankAccount(
        team_id=team_id,
        account_holder=account_holder.strip(),
        iban=checked.compact,
        bic=code,
        set_by=by,
        set_at=now,
    )


def request(
    team: TeamBudget,
    unpaid: Sequence[Expense],
    *,
    request_id: str,
    account: BankAccount | None,
    by: str,
    now: datetime,
) -> tuple[PaymentRequest, tuple[Expense, ...]]:
    """Bundle the team's approved expenses not yet in a request. Approved money never exceeds
    the released money, so neither does a request."""
    unpaid = [e for e in unpaid if e.status == APPROVED and e.payment_request_id is None]
    if not unpaid:
        raise BudgetStateConflict(
            "nothing-to-pay", "The team has no approved expenses that are not yet requested."
        )
    if account is None:
        raise BudgetStateConflict(
            "bank-account-missing",
            "Staff must enter the team's bank account (PUT .../bank-account) before a payment "
            "request.",
        )
    positions: dict[str, int] = {}
    for e in unpaid:
        positions[e.position] = positions.get(e.position, 0) + e.fundable_cents
    payment = PaymentRequest(
        id=request_id,
        team_id=team.team_id,
        call_id=team.call_id,
        status=REQUESTED,
        amount_cents=sum(positions.values()),
        expense_ids=tuple(sorted(e.id for e in unpaid)),
        positions=tuple(sorted(positions.items())),
        requested_by=by,
        requested_at=now,
    )
    return payment, tuple(replace(e, payment_request_id=request_id) for e in unpaid)


def approve(payment: PaymentRequest, *, by: str, now: datetime) -> PaymentRequest | None:
    """Four eyes: finance, not the one who requested it. None when already approved."""
    if payment.status == APPROVED_FOR_PAYMENT:
        return None
    _must_be(payment, REQUESTED, "approved")
    if same_ident(by, payment.requested_by):
        raise FourEyesViolation(
            "four-eyes", "Four eyes: the payment request must be approved by someone else."
        )
    return replace(payment, status=APPROVED_FOR_PAYMENT, approved_by=by, approved_at=now)


def cancel(
    payment: PaymentRequest, expenses: Sequence[Expense], *, by: str, reason: str, now: datetime
) -> tuple[PaymentRequest, tuple[Expense, ...]] | None:
    """Until it is exported; its expenses are free to be requested again."""
    if payment.status == CANCELLED:
        return None
    if payment.status not in (REQUESTED, APPROVED_FOR_PAYMENT):
        raise BudgetStateConflict(
            f"payment-{payment.status}",
            f"The payment request is {payment.status}; only a requested or approved one can be "
            "cancelled (an exported payment the bank does not execute is marked returned).",
        )
    return _ended(payment, expenses, CANCELLED, by=by, reason=reason, now=now), _freed(
        payment, expenses
    )


def export(
    approved: Sequence[PaymentRequest],
    accounts: dict[str, BankAccount],
    *,
    run_id: str,
    execution_date: date,
    today: date,
    by: str,
    now: datetime,
) -> tuple[PaymentRun, tuple[PaymentRequest, ...]]:
    """Every approved request into one run, each with its team's account as it is now."""
    if execution_date < today:
        raise BudgetRuleViolation(
            "execution-date-in-past",
            f"The execution date {execution_date.isoformat()} lies in the past.",
        )
    if not approved:
        raise BudgetStateConflict("nothing-to-export", "No payment request is approved.")
    exported = []
    for payment in sorted(approved, key=lambda p: (p.approved_at or p.requested_at, p.id)):
        _must_be(payment, APPROVED_FOR_PAYMENT, "exported")
        account = accounts.get(payment.team_id)
        if account is None:
            raise BudgetStateConflict(
                "bank-account-missing", f"Team {payment.team_id} has no bank account."
            )
        exported.append(
            replace(
                payment,
                status=EXPORTED,
                run_id=run_id,
                account_holder=account.account_holder,
                iban=account.iban,
                bic=account.bic,
            )
        )
    run = PaymentRun(
        id=run_id,
        execution_date=execution_date,
        request_ids=tuple(p.id for p in exported),
        total_cents=sum(p.amount_cents for p in exported),
        created_by=by,
        created_at=now,
    )
    return run, tuple(exported)


def mark_paid(
    payment: PaymentRequest,
    team: TeamBudget,
    *,
    value_date: date,
    today: date,
    by: str,
    now: datetime,
) -> tuple[PaymentRequest, TeamBudget, Transfer] | None:
    """The bank executed it: the money leaves the team's approved-but-unpaid account."""
    if payment.status == PAID:
        return None
    _must_be(payment, EXPORTED, "marked paid")
    if value_date > today:
        raise BudgetRuleViolation(
            "value-date-in-future", "The value date is the day the bank booked the payment."
        )
    moved = Transfer(
        id=f"payment-paid:{payment.id}",
        kind="payment_paid",
        from_account=ledger.spent(team.team_id),
        to_account=ledger.paid(team.team_id),
        amount_cents=payment.amount_cents,
        call_id=team.call_id,
        team_id=team.team_id,
    )
    paid = replace(payment, status=PAID, value_date=value_date, paid_by=by, paid_at=now)
    return paid, replace(team, paid_cents=team.paid_cents + payment.amount_cents), moved


def mark_returned(
    payment: PaymentRequest,
    team: TeamBudget,
    expenses: Sequence[Expense],
    *,
    by: str,
    reason: str,
    now: datetime,
) -> tuple[PaymentRequest, TeamBudget, tuple[Expense, ...], Transfer | None] | None:
    """The bank sent the money back (a closed account, a wrong name): it is approved and
    unpaid again, and its expenses may be requested again once the account is corrected."""
    if payment.status == RETURNED:
        return None
    if payment.status not in (EXPORTED, PAID):
        raise BudgetStateConflict(
            f"payment-{payment.status}",
            f"The payment request is {payment.status}; only an exported or paid one can come "
            "back from the bank.",
        )
    moved = None
    if payment.status == PAID:
        moved = Transfer(
            id=f"payment-returned:{payment.id}",
            kind="payment_returned",
            from_account=ledger.paid(team.team_id),
            to_account=ledger.spent(team.team_id),
            amount_cents=payment.amount_cents,
            call_id=team.call_id,
            team_id=team.team_id,
        )
        team = replace(team, paid_cents=team.paid_cents - payment.amount_cents)
    returned = _ended(payment, expenses, RETURNED, by=by, reason=reason, now=now)
    return returned, team, _freed(payment, expenses), moved


def _ended(
    payment: PaymentRequest,
    expenses: Sequence[Expense],
    status: str,
    *,
    by: str,
    reason: str,
    now: datetime,
) -> PaymentRequest:
    if not reason.strip():
        raise BudgetRuleViolation("reason-missing", f"Give a reason why the payment is {status}.")
    return replace(payment, status=status, ended_by=by, ended_at=now, end_reason=reason.strip())


def _freed(payment: PaymentRequest, expenses: Sequence[Expense]) -> tuple[Expense, ...]:
    return tuple(
        replace(e, payment_request_id=None) for e in expenses if e.payment_request_id == payment.id
    )


def _must_be(payment: PaymentRequest, status: str, action: str) -> None:
    if payment.status != status:
        raise BudgetStateConflict(
            f"payment-{payment.status}",
            f"The payment request is {payment.status}; it cannot be {action}.",
        )


def describe(payment: PaymentRequest, title: str) -> str:
    """The remittance text the team sees on its statement (SEPA allows 140 characters)."""
    return f"CIMIS Mittelabruf {payment.id[:8]} {title}"[:140]
