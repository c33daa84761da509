"""Handlers of the payout commands: the team's bank account, payment requests and their
decisions, SEPA runs, and what the bank did with each payment."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from cimis_chassis.audit import snapshot
from cimis_chassis.auth import Principal
from cimis_contracts.budget import PaidPosition, PaymentRequestChangedV1
from services.budget.app.ports import BudgetUnitOfWork
from services.budget.domain import payouts as rules
from services.budget.domain.budgets import TeamBudget
from services.budget.domain.calendar import BERLIN
from services.budget.domain.errors import NotFound
from services.budget.domain.expenses import Expense
from services.budget.domain.payouts import BankAccount, PaymentRequest, PaymentRun


@dataclass(frozen=True)
class SetBankAccount:
    team_id: str
    account_holder: str
    iban: str
    bic: str | None


async def _team(uow: BudgetUnitOfWork, team_id: str) -> TeamBudget:
    team = await uow.teams.get(team_id, lock=True)
    if team is None:
        raise NotFound("team budget", team_id)
    return team


async def _request(uow: BudgetUnitOfWork, request_id: str) -> PaymentRequest:
    payment = await uow.payment_requests.get(request_id, lock=True)
    if payment is None:
        raise NotFound("payment request", request_id)
    return payment


async def set_bank_account(
    uow: BudgetUnitOfWork, cmd: SetBankAccount, by: Principal
) -> BankAccount:
    await _team(uow, cmd.team_id)
    before = await uow.bank_accounts.get(cmd.team_id)
    account = rules.bank_account(
        cmd.team_id,
        account_holder=cmd.account_holder,
        iban=cmd.iban,
        bic=cmd.bic,
        by=by.name,
        now=uow.clock.now(),
    )
    await uow.bank_accounts.put(account)
    await uow.audit(
        "bank_account.set",
        "team",
        cmd.team_id,
        before=snapshot(before) if before else None,
        after=snapshot(account),
    )
    return account


async def request_payment(
    uow: BudgetUnitOfWork, team_id: str, by: Principal
) -> tuple[PaymentRequest, TeamBudget]:
    team = await _team(uow, team_id)
    payment, bundled = rules.request(
        team,
        await uow.expenses.approved_unrequested(team_id),
        request_id=str(uuid.uuid4()),
        account=await uow.bank_accounts.get(team_id),
        by=by.name,
        now=uow.clock.now(),
    )
    uow.payment_requests.add(payment)
    for expense in bundled:
        uow.expenses.put(expense)
    await _record(uow, None, payment, team, by)
    return payment, team


async def approve_payment(uow: BudgetUnitOfWork, request_id: str, by: Principal) -> PaymentRequest:
    payment = await _request(uow, request_id)
    approved = rules.approve(payment, by=by.name, now=uow.clock.now())
    if approved is None:
        return payment
    uow.payment_requests.put(approved)
    await _record(uow, payment, approved, await _team(uow, payment.team_id), by)
    return approved


async def cancel_payment(
    uow: BudgetUnitOfWork, request_id: str, reason: str, by: Principal
) -> PaymentRequest:
    payment = await _request(uow, request_id)
    changed = rules.cancel(
        payment, await _expenses(uow, payment), by=by.name, reason=reason, now=uow.clock.now()
    )
    if changed is None:
        return payment
    cancelled, freed = changed
    uow.payment_requests.put(cancelled)
    for expense in freed:
        uow.expenses.put(expense)
    await _record(uow, payment, cancelled, await _team(uow, payment.team_id), by)
    return cancelled


async def export_payments(uow: BudgetUnitOfWork, execution_date: date, by: Principal) -> PaymentRun:
    approved = await uow.payment_requests.with_status(rules.APPROVED_FOR_PAYMENT)
    now = uow.clock.now()
    run, exported = rules.export(
        approved,
        await uow.bank_accounts.of_teams(p.team_id for p in approved),
        run_id=str(uuid.uuid4()),
        execution_date=execution_date,
        today=now.astimezone(BERLIN).date(),
        by=by.name,
        now=now,
    )
    uow.payment_runs.add(run)
    await uow.audit("payment_run.created", "payment_run", run.id, before=None, after=snapshot(run))
    before = {p.id: p for p in approved}
    for payment in exported:
        uow.payment_requests.put(payment)
        await _record(uow, before[payment.id], payment, await _team(uow, payment.team_id), by)
    return run


async def mark_paid(
    uow: BudgetUnitOfWork, request_id: str, value_date: date, by: Principal
) -> PaymentRequest:
    payment = await _request(uow, request_id)
    team = await _team(uow, payment.team_id)
    now = uow.clock.now()
    changed = rules.mark_paid(
        payment, team, value_date=value_date, today=now.astimezone(BERLIN).date(), by=by.name,
        now=now,
    )  # fmt: skip
    if changed is None:
        return payment
    paid, team, moved = changed
    uow.payment_requests.put(paid)
    uow.teams.put(team)
    uow.ledger.book([moved], at=now, cause=uow.cause.actor)
    await _record(uow, payment, paid, team, by)
    return paid


async def mark_returned(
    uow: BudgetUnitOfWork, request_id: str, reason: str, by: Principal
) -> PaymentRequest:
    payment = await _request(uow, request_id)
    team = await _team(uow, payment.team_id)
    now = uow.clock.now()
    changed = rules.mark_returned(
        payment, team, await _expenses(uow, payment), by=by.name, reason=reason, now=now
    )
    if changed is None:
        return payment
    returned, team, freed, moved = changed
    uow.payment_requests.put(returned)
    uow.teams.put(team)
    for expense in freed:
        uow.expenses.put(expense)
    if moved is not None:
        uow.ledger.book([moved], at=now, cause=uow.cause.actor)
    await _record(uow, payment, returned, team, by)
    return returned


async def _expenses(uow: BudgetUnitOfWork, payment: PaymentRequest) -> list[Expense]:
    await uow.expenses.load(payment.expense_ids, lock=True)
    found = [await uow.expenses.get(expense_id) for expense_id in payment.expense_ids]
    return [e for e in found if e is not None]


async def _record(
    uow: BudgetUnitOfWork,
    before: PaymentRequest | None,
    after: PaymentRequest,
    team: TeamBudget,
    by: Principal,
) -> None:
    await uow.audit(
        f"payment_request.{after.status}",
        "payment_request",
        after.id,
        before=snapshot(before) if before else None,
        after=snapshot(after),
    )
    await uow.emit(
        PaymentRequestChangedV1(
            team_id=after.team_id,
            call_id=after.call_id,
            request_id=after.id,
            status=after.status,
            amount_cents=after.amount_cents,
            positions=[PaidPosition(position=p, amount_cents=c) for p, c in after.positions],
            expense_count=len(after.expense_ids),
            run_id=after.run_id,
            value_date=after.value_date,
            reason=after.end_reason,
            paid_total_cents=team.paid_cents,
            changed_by=by.name,
            changed_at=uow.clock.now(),
        )
    )
