"""How plans, milestones, waiting teams, budget's word and its payouts map to rows, and the SQL
form of a shown status."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, not_, select
from sqlalchemy.engine import Row
from sqlalchemy.sql.elements import ColumnElement

from services.milestones.adapters.tables import milestones, plans
from services.milestones.app.ports import MilestoneView
from services.milestones.domain.funding import Funding
from services.milestones.domain.payouts import TeamPayouts
from services.milestones.domain.plans import ACTIVE, OPEN, OVERDUE, AcceptedTeam, Milestone, Plan


def plan_row(plan: Plan) -> dict[str, Any]:
    return {
        "team_id": plan.team_id,
        "call_id": plan.call_id,
        "agent_id": plan.agent_id,
        "team_title": plan.team_title,
        "template": plan.template,
        "status": plan.status,
        "accepted_at": plan.accepted_at,
        "created_at": plan.created_at,
        "started_at": plan.started_at,
        "completed_at": plan.completed_at,
        "cancelled_at": plan.cancelled_at,
        "escalation_days": plan.escalation_days,
    }


def milestone_row(m: Milestone) -> dict[str, Any]:
    return {
        "id": m.id,
        "team_id": m.team_id,
        "key": m.key,
        "title": m.title,
        "position": m.position,
        "due_date": m.due_date,
        "status": m.status,
        "completed_at": m.completed_at,
        "completed_by": m.completed_by,
        "note": m.note,
        "evidence_url": m.evidence_url,
        "reported_at": m.reported_at,
        "reported_by": m.reported_by,
    }


def plan_of(r: Row[Any], items: list[Milestone]) -> Plan:
    return Plan(
        team_id=r.team_id,
        call_id=r.call_id,
        agent_id=r.agent_id,
        team_title=r.team_title,
        template=r.template,
        accepted_at=r.accepted_at,
        created_at=r.created_at,
        milestones=tuple(items),
        status=r.status,
        started_at=r.started_at,
        completed_at=r.completed_at,
        cancelled_at=r.cancelled_at,
        escalation_days=r.escalation_days,
    )


def milestone_of(r: Row[Any]) -> Milestone:
    return Milestone(
        id=r.id,
        team_id=r.team_id,
        key=r.key,
        title=r.title,
        position=r.position,
        due_date=r.due_date,
        status=r.status,
        completed_at=r.completed_at,
        completed_by=r.completed_by,
        note=r.note,
        evidence_url=r.evidence_url,
        reported_at=r.reported_at,
        reported_by=r.reported_by,
    )


def team_of(r: Row[Any]) -> AcceptedTeam:
    return AcceptedTeam(
        team_id=r.team_id,
        call_id=r.call_id,
        agent_id=r.agent_id,
        title=r.team_title,
        accepted_at=r.accepted_at,
    )


def funding_row(f: Funding) -> dict[str, Any]:
    return {
        "team_id": f.team_id,
        "call_id": f.call_id,
        "status": f.status,
        "decided_at": f.decided_at,
        "from_waiting_list": f.from_waiting_list,
    }


def funding_of(r: Row[Any]) -> Funding:
    return Funding(
        team_id=r.team_id,
        call_id=r.call_id,
        status=r.status,
        decided_at=r.decided_at,
        from_waiting_list=r.from_waiting_list,
    )


def payouts_row(p: TeamPayouts) -> dict[str, Any]:
    return {
        "team_id": p.team_id,
        "call_id": p.call_id,
        "released": [[trigger, amount] for trigger, amount in p.released],
        "paid_total_cents": p.paid_total_cents,
    }


def payouts_of(r: Row[Any]) -> TeamPayouts:
    return TeamPayouts(
        team_id=r.team_id,
        call_id=r.call_id,
        released=tuple((str(trigger), int(amount)) for trigger, amount in r.released),
        paid_total_cents=r.paid_total_cents,
    )


def view_of(r: Row[Any]) -> MilestoneView:
    return MilestoneView(
        milestone=milestone_of(r),
        call_id=r.call_id,
        agent_id=r.agent_id,
        team_title=r.team_title,
        plan_status=r.plan_status,
    )


def joined() -> Any:
    """Milestones with their plan's facts, the columns :func:`view_of` reads."""
    return select(
        milestones,
        plans.c.call_id,
        plans.c.agent_id,
        plans.c.team_title,
        plans.c.status.label("plan_status"),
    ).select_from(milestones.join(plans, plans.c.team_id == milestones.c.team_id))


def shown_status_is(status: str, today: date) -> ColumnElement[bool]:
    # The SQL form of domain.plans.is_overdue, so the database can use ix_milestones_due.
    overdue = and_(
        milestones.c.status == OPEN, plans.c.status == ACTIVE, milestones.c.due_date < today
    )
    if status == OVERDUE:
        return overdue
    if status == OPEN:
        return and_(milestones.c.status == OPEN, not_(overdue))
    return milestones.c.status == status
