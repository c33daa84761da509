"""The milestones HTTP request and response bodies; due dates as Berlin days, times as RFC 3339."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from cimis_chassis.text import AS_IDENT, CONTROLS, LINE_BREAKS_ONLY, matching
from services.milestones.app.ports import MilestoneView
from services.milestones.domain.plans import Milestone, Plan, is_overdue

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _calendar_day(value: Any) -> Any:
    # A bare calendar day only: a number or a timestamp would silently pick a day for the user.
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise ValueError("use a calendar day (Europe/Berlin) such as 2025-03-31")
    return date.fromisoformat(value)


CalendarDay = Annotated[date, BeforeValidator(_calendar_day)]
Note = Annotated[str, Field(max_length=2000), LINE_BREAKS_ONLY]
EvidenceUrl = Annotated[
    str,
    Field(max_length=2000),
    matching(rf"^https?://[^\s{CONTROLS}]+$", "an http:// or https:// URL without spaces"),
]
Reason = Annotated[str, Field(min_length=1, max_length=2000), LINE_BREAKS_ONLY]
# Ids compare in any case and Unicode form; path, query and body alike.
Id = Annotated[str, StringConstraints(min_length=1, max_length=100), AS_IDENT]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CompleteIn(Strict):
    note: Note | None = None
    evidence_url: EvidenceUrl | None = None


class ReasonIn(Strict):
    reason: Reason


class RescheduleIn(Strict):
    due_date: CalendarDay
    reason: Reason


def _ts(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def milestone_out(
    m: Milestone,
    *,
    call_id: str,
    agent_id: str,
    team_title: str,
    plan_status: str,
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": m.id,
        "team_id": m.team_id,
        "call_id": call_id,
        "agent_id": agent_id,
        "team_title": team_title,
        "key": m.key,
        "title": m.title,
        "position": m.position,
        "due_date": m.due_date.isoformat(),
        "status": "overdue" if is_overdue(m.status, plan_status, m.due_date, now) else m.status,
        "reported_at": _ts(m.reported_at),
        "reported_by": m.reported_by,
        "completed_at": _ts(m.completed_at),
        "completed_by": m.completed_by,
        "note": m.note,
        "evidence_url": m.evidence_url,
    }


def in_plan(plan: Plan, m: Milestone, now: datetime) -> dict[str, Any]:
    return milestone_out(
        m,
        call_id=plan.call_id,
        agent_id=plan.agent_id,
        team_title=plan.team_title,
        plan_status=plan.status,
        now=now,
    )


def listed(view: MilestoneView, now: datetime) -> dict[str, Any]:
    return milestone_out(
        view.milestone,
        call_id=view.call_id,
        agent_id=view.agent_id,
        team_title=view.team_title,
        plan_status=view.plan_status,
        now=now,
    )


def plan_out(plan: Plan, now: datetime) -> dict[str, Any]:
    progress = plan.progress(now)
    return {
        "team_id": plan.team_id,
        "call_id": plan.call_id,
        "agent_id": plan.agent_id,
        "team_title": plan.team_title,
        # pending_budget (until budget allocates the team), active, completed or closed.
        "plan_status": plan.status,
        "template": plan.template,
        "accepted_at": _ts(plan.accepted_at),
        "created_at": _ts(plan.created_at),
        "started_at": _ts(plan.started_at),
        "completed_at": _ts(plan.completed_at),
        "cancelled_at": _ts(plan.cancelled_at),
        "progress": {
            "completed": progress.completed,
            "total": progress.total,
            "overdue": progress.overdue,
        },
        "items": [in_plan(plan, m, now) for m in plan.milestones],
        # A plan has at most five milestones: always one page.
        "next_cursor": None,
    }
