"""How pots, team budgets and expenses map to their rows, both ways."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from sqlalchemy.engine import Row

from services.budget.domain.budgets import Pot, TeamBudget
from services.budget.domain.cost_plans import CostPlan
from services.budget.domain.expenses import Expense, payee_key, receipt_key
from services.budget.domain.payouts import BankAccount, PaymentRequest, PaymentRun
from services.budget.domain.tranches import TrancheRule, plan_in_order


def pot_from_row(r: Row[Any]) -> Pot:
    return Pot(
        call_id=r.call_id,
        title=r.title,
        total_cents=r.total_cents,
        max_team_cents=r.max_team_cents,
        plan=plan_from_row(r.plan),
        available_cents=r.available_cents,
        allocated_cents=r.allocated_cents,
        settlement_days=r.settlement_days,
        waiting_teams=r.waiting_teams,
        cost_plan_tolerance_percent=r.cost_plan_tolerance_percent,
    )


def plan_from_row(plan: list[dict[str, Any]]) -> tuple[TrancheRule, ...]:
    if all("requires" in p for p in plan):
        return tuple(
            TrancheRule(p["trigger"], p["percent"], frozenset(p["requires"])) for p in plan
        )
    # A pot opened before tranches waited for earlier milestones: its phase plan was not
    # kept, so the tranche plan's own order stands in for it.
    return plan_in_order(((p["trigger"], p["percent"]) for p in plan), phase_plan=())


def pot_row(pot: Pot) -> dict[str, Any]:
    return {
        "call_id": pot.call_id,
        "title": pot.title,
        "total_cents": pot.total_cents,
        "max_team_cents": pot.max_team_cents,
        "plan": [
            {"trigger": p.trigger, "percent": p.percent, "requires": sorted(p.requires)}
            for p in pot.plan
        ],
        "available_cents": pot.available_cents,
        "allocated_cents": pot.allocated_cents,
        "settlement_days": pot.settlement_days,
        "waiting_teams": pot.waiting_teams,
        "cost_plan_tolerance_percent": pot.cost_plan_tolerance_percent,
    }


def team_from_row(r: Row[Any]) -> TeamBudget:
    return TeamBudget(
        team_id=r.team_id,
        call_id=r.call_id,
        agent_id=r.agent_id,
        title=r.title,
        input_vat_deductible=r.input_vat_deductible,
        requested_cents=r.requested_cents,
        accepted_at=r.accepted_at,
        status=r.status,
        allocated_cents=r.allocated_cents,
        released_cents=r.released_cents,
        reserved_cents=r.reserved_cents,
        available_cents=r.available_cents,
        pending_cents=r.pending_cents,
        approved_cents=r.approved_cents,
        returned_cents=r.returned_cents,
        paid_cents=r.paid_cents,
        released_triggers=frozenset(r.released_triggers),
        completed_milestones=frozenset(r.completed_milestones),
        waived_milestones=frozenset(r.waived_milestones),
        tranche_withdrawals=tuple(r.tranche_withdrawals),
        thresholds_crossed=frozenset(r.thresholds_crossed),
        refusal_code=r.refusal_code,
        refusal_reason=r.refusal_reason,
        closed_at=r.closed_at,
        plan_ends_on=r.plan_ends_on,
        funding_starts_on=r.funding_starts_on,
    )


def team_row(team: TeamBudget) -> dict[str, Any]:
    return {
        "team_id": team.team_id,
        "call_id": team.call_id,
        "agent_id": team.agent_id,
        "title": team.title,
        "input_vat_deductible": team.input_vat_deductible,
        "requested_cents": team.requested_cents,
        "accepted_at": team.accepted_at,
        "status": team.status,
        "allocated_cents": team.allocated_cents,
        "released_cents": team.released_cents,
        "reserved_cents": team.reserved_cents,
        "available_cents": team.available_cents,
        "pending_cents": team.pending_cents,
        "approved_cents": team.approved_cents,
        "returned_cents": team.returned_cents,
        "paid_cents": team.paid_cents,
        "released_triggers": sorted(team.released_triggers),
        "completed_milestones": sorted(team.completed_milestones),
        "waived_milestones": sorted(team.waived_milestones),
        "tranche_withdrawals": list(team.tranche_withdrawals),
        "thresholds_crossed": sorted(team.thresholds_crossed),
        "refusal_code": team.refusal_code,
        "refusal_reason": team.refusal_reason,
        "closed_at": team.closed_at,
        "plan_ends_on": team.plan_ends_on,
        "funding_starts_on": team.funding_starts_on,
    }


def expense_from_row(r: Row[Any]) -> Expense:
    return Expense(
        id=r.id,
        team_id=r.team_id,
        call_id=r.call_id,
        position=r.position,
        net_cents=r.net_cents,
        vat_cents=r.vat_cents,
        gross_cents=r.gross_cents,
        fundable_cents=r.fundable_cents,
        receipt_number=r.receipt_number,
        receipt_date=r.receipt_date,
        payee=r.payee,
        purpose=r.purpose,
        status=r.status,
        submitted_by=r.submitted_by,
        submitted_at=r.submitted_at,
        decided_by=r.decided_by,
        decided_at=r.decided_at,
        rejection_reason=r.rejection_reason,
        reversed_by=r.reversed_by,
        reversed_at=r.reversed_at,
        reversal_reason=r.reversal_reason,
        possible_duplicates=tuple(r.possible_duplicates or ()),
        payment_request_id=r.payment_request_id,
    )


def expense_row(expense: Expense) -> dict[str, Any]:
    return {
        "id": expense.id,
        "team_id": expense.team_id,
        "call_id": expense.call_id,
        "position": expense.position,
        "net_cents": expense.net_cents,
        "vat_cents": expense.vat_cents,
        "gross_cents": expense.gross_cents,
        "fundable_cents": expense.fundable_cents,
        "receipt_number": expense.receipt_number,
        "receipt_key": receipt_key(expense.receipt_number),
        "payee_key": payee_key(expense.payee),
        "possible_duplicates": list(expense.possible_duplicates),
        "receipt_date": expense.receipt_date,
        "payee": expense.payee,
        "purpose": expense.purpose,
        "status": expense.status,
        "submitted_by": expense.submitted_by,
        "submitted_at": expense.submitted_at,
        "decided_by": expense.decided_by,
        "decided_at": expense.decided_at,
        "rejection_reason": expense.rejection_reason,
        "reversed_by": expense.reversed_by,
        "reversed_at": expense.reversed_at,
        "reversal_reason": expense.reversal_reason,
        "payment_request_id": expense.payment_request_id,
    }


def cost_plan_from_row(r: Row[Any]) -> CostPlan:
    return CostPlan(
        team_id=r.team_id,
        call_id=r.call_id,
        version=r.version,
        lines=tuple((line["position"], line["planned_cents"]) for line in r.lines),
        reason=r.reason,
        proposed_by=r.proposed_by,
        proposed_at=r.proposed_at,
        status=r.status,
        decided_by=r.decided_by,
        decided_at=r.decided_at,
    )


def cost_plan_row(plan: CostPlan) -> dict[str, Any]:
    return {
        "id": plan.id,
        "team_id": plan.team_id,
        "call_id": plan.call_id,
        "version": plan.version,
        "status": plan.status,
        "lines": [{"position": p, "planned_cents": cents} for p, cents in plan.lines],
        "reason": plan.reason,
        "proposed_by": plan.proposed_by,
        "proposed_at": plan.proposed_at,
        "decided_by": plan.decided_by,
        "decided_at": plan.decided_at,
    }


def bank_account_from_row(r: Row[Any]) -> BankAccount:
    return BankAccount(**{f.name: getattr(r, f.name) for f in fields(BankAccount)})


def bank_account_row(account: BankAccount) -> dict[str, Any]:
    return {f.name: getattr(account, f.name) for f in fields(BankAccount)}


def payment_request_from_row(r: Row[Any]) -> PaymentRequest:
    values = {f.name: getattr(r, f.name) for f in fields(PaymentRequest)}
    values["expense_ids"] = tuple(r.expense_ids)
    values["positions"] = tuple((p["position"], p["amount_cents"]) for p in r.positions)
    return PaymentRequest(**values)


def payment_request_row(payment: PaymentRequest) -> dict[str, Any]:
    row = {f.name: getattr(payment, f.name) for f in fields(PaymentRequest)}
    row["expense_ids"] = list(payment.expense_ids)
    row["positions"] = [{"position": p, "amount_cents": c} for p, c in payment.positions]
    return row


def payment_run_from_row(r: Row[Any]) -> PaymentRun:
    values = {f.name: getattr(r, f.name) for f in fields(PaymentRun)}
    values["request_ids"] = tuple(r.request_ids)
    return PaymentRun(**values)


def payment_run_row(run: PaymentRun) -> dict[str, Any]:
    row = {f.name: getattr(run, f.name) for f in fields(PaymentRun)}
    row["request_ids"] = list(run.request_ids)
    return row
