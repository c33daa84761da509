"""The milestones service's database tables (and, through them, its migrations)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from cimis_chassis.sqltypes import UtcDateTime
from cimis_chassis.tables import service_metadata

metadata, chassis = service_metadata()

# Each call's phase template as call-opened announced it, kept for the teams accepted later.
call_plans = Table(
    "call_plans",
    metadata,
    Column("call_id", String(36), primary_key=True),
    Column("phase_plan", JSON, nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("escalation_days", Integer, nullable=False, server_default=text("14")),
)

# A team accepted before its call was opened here (call and team events are keyed apart, so
# either may come first): its plan is made when the call's plan arrives.
awaiting_teams = Table(
    "awaiting_teams",
    metadata,
    Column("team_id", String(36), primary_key=True),
    Column("call_id", String(36), nullable=False),
    Column("agent_id", String(200), nullable=False),
    Column("team_title", String(300), nullable=False),
    Column("accepted_at", UtcDateTime(), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
)
Index("ix_awaiting_teams_call", awaiting_teams.c.call_id)

# A withdrawal seen before (or without) the acceptance: a late team-accepted must not plan.
withdrawn_teams = Table(
    "withdrawn_teams",
    metadata,
    Column("team_id", String(36), primary_key=True),
    Column("call_id", String(36), nullable=False),
    Column("withdrawn_at", UtcDateTime(), nullable=False),
)

# Budget's latest word on a team (domain.funding), whether or not its plan exists yet: budget's
# and intake's events are keyed apart, so an allocation may arrive before the acceptance.
team_funding = Table(
    "team_funding",
    metadata,
    Column("team_id", String(36), primary_key=True),
    Column("call_id", String(36), nullable=False),
    Column("status", String(20), nullable=False),
    Column("decided_at", UtcDateTime(), nullable=True),
    Column("from_waiting_list", Boolean, nullable=False),
)

# Budget's released tranches of each team (in release order) and what it paid the team: a
# milestone whose tranche has money paid out cannot be reopened.
team_payouts = Table(
    "team_payouts",
    metadata,
    Column("team_id", String(36), primary_key=True),
    Column("call_id", String(36), nullable=False),
    Column("released", JSON, nullable=False),  # [[trigger, amount_cents], ...]
    Column("paid_total_cents", BigInteger, nullable=False),
)

plans = Table(
    "plans",
    metadata,
    Column("team_id", String(36), primary_key=True),
    Column("call_id", String(36), nullable=False),
    Column("agent_id", String(200), nullable=False),
    Column("team_title", String(300), nullable=False),
    Column("template", String(20), nullable=False),
    # pending_budget, active, completed or closed (domain.plans).
    Column("status", String(20), nullable=False),
    Column("accepted_at", UtcDateTime(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("started_at", UtcDateTime(), nullable=True),
    Column("completed_at", UtcDateTime(), nullable=True),
    Column("cancelled_at", UtcDateTime(), nullable=True),
    Column("escalation_days", Integer, nullable=False, server_default=text("14")),
)
Index("ix_plans_agent", plans.c.agent_id)

milestones = Table(
    "milestones",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("team_id", String(36), ForeignKey("plans.team_id"), nullable=False),
    Column("key", String(20), nullable=False),
    Column("title", String(300), nullable=False),
    Column("position", Integer, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("status", String(20), nullable=False),
    Column("completed_at", UtcDateTime(), nullable=True),
    Column("completed_by", String(200), nullable=True),
    Column("note", Text, nullable=True),
    Column("evidence_url", Text, nullable=True),
    Column("reported_at", UtcDateTime(), nullable=True),
    Column("reported_by", String(200), nullable=True),
    UniqueConstraint("team_id", "key"),
)
# The overdue scan and the programme overview look for open milestones by due date.
Index("ix_milestones_due", milestones.c.status, milestones.c.due_date)

# One row per alert sent: the primary key is the claim that makes "once per milestone and due
# date" hold across restarts and between instances, written with the alert's outbox row.
overdue_alerts = Table(
    "overdue_alerts",
    metadata,
    Column("milestone_id", String(36), ForeignKey("milestones.id"), primary_key=True),
    Column("due_date", Date, primary_key=True),
    Column("detected_at", UtcDateTime(), nullable=False),
    Column("event_id", String(36), nullable=False),
)

# One row per escalation to the programme office: once per milestone and due date, like the
# overdue alert, and claimed the same way.
overdue_escalations = Table(
    "overdue_escalations",
    metadata,
    Column("milestone_id", String(36), ForeignKey("milestones.id"), primary_key=True),
    Column("due_date", Date, primary_key=True),
    Column("detected_at", UtcDateTime(), nullable=False),
    Column("event_id", String(36), nullable=False),
)
