"""Outcomes' database tables (and, through them, its migrations)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    String,
    Table,
    Text,
    false,
    text,
)

from cimis_chassis.sqltypes import UtcDateTime
from cimis_chassis.tables import BigId, service_metadata

metadata, chassis = service_metadata()

# Accepted teams as intake, milestones and budget told of them.
teams = Table(
    "teams",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("call_id", String(36), nullable=False),
    Column("title", String(300), nullable=False),
    Column("agent_id", String(200), nullable=False),
    Column("accepted_at", UtcDateTime(), nullable=False),
    Column("district", String(300), nullable=True),
    Column("district_code", String(10), nullable=True),
    Column("withdrawn_at", UtcDateTime(), nullable=True),
)

# Milestones' word on a team's plan, kept apart: it may come before the team is known here.
plan_states = Table(
    "plan_states",
    metadata,
    Column("team_id", String(36), primary_key=True),
    Column("status", String(20), nullable=False),
)

# Approved fundable cents per team and budget line: expenses approved minus those reversed.
team_costs = Table(
    "team_costs",
    metadata,
    Column("team_id", String(36), primary_key=True),
    Column("position", String(40), primary_key=True),
    Column("approved_cents", BigInteger, nullable=False),
)

blueprints = Table(
    "blueprints",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("team_id", String(36), nullable=False, unique=True),
    Column("call_id", String(36), nullable=False),
    Column("title", String(300), nullable=False),
    Column("problem", Text, nullable=False),
    Column("solution", Text, nullable=False),
    Column("tools", JSON, nullable=False),
    Column("lessons", Text, nullable=False),
    Column("sector", String(200), nullable=False),
    Column("licence", String(40), nullable=False),
    Column("contacts", JSON, nullable=False),
    Column("district", String(300), nullable=True),
    Column("district_code", String(10), nullable=True),
    Column("status", String(30), nullable=False),
    Column("version", Integer, nullable=False),
    Column("submitted_by", String(200), nullable=False),
    Column("submitted_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("review_comment", Text, nullable=True),
    Column("published_at", UtcDateTime(), nullable=True),
    Column("withdrawn_at", UtcDateTime(), nullable=True),
    Column("withdrawal_reason", Text, nullable=True),
)
Index("ix_blueprints_status", blueprints.c.status, blueprints.c.updated_at)

# Each blueprint's steps into and out of the public catalogue (published, withdrawn), as its
# events announced them: a resubmission clears the blueprint's own dates, its history stays.
# Outcomes' own record, like the blueprints: a rebuild keeps it.
blueprint_history = Table(
    "blueprint_history",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("blueprint_id", String(36), nullable=False),
    Column("call_id", String(36), nullable=False),
    Column("step", String(20), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
)
Index("ix_blueprint_history_call", blueprint_history.c.call_id, blueprint_history.c.at)

# --- the funder's report: facts with their times, so that it can be drawn up as of any day ---

calls = Table(
    "calls",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("title", String(300), nullable=False),
    Column("districts", JSON, nullable=False),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("burn_rate_tolerance_percent", Integer, nullable=False, server_default=text("25")),
)

# Each running team's last burn-rate status, so that a change is announced once.
forecast_states = Table(
    "forecast_states",
    metadata,
    Column("team_id", String(36), primary_key=True),
    Column("status", String(20), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# --- the burn-rate forecast: each call's tranche plan, each team's milestones and cost plan ---

forecast_calls = Table(
    "forecast_calls",
    metadata,
    Column("call_id", String(36), primary_key=True),
    Column("tranches", JSON, nullable=False),  # [{"milestone": key or null, "percent": n}]
    Column("settlement_days", Integer, nullable=False),
)

# A team's milestones in plan order (rank), each with its latest due day and whether staff
# waived it (its tranche is then never released).
forecast_milestones = Table(
    "forecast_milestones",
    metadata,
    Column("team_id", String(36), primary_key=True),
    Column("milestone_id", String(100), primary_key=True),
    Column("key", String(20), nullable=False),
    Column("rank", Integer, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("waived", Boolean, nullable=False, server_default=false()),
)

# The cost plan in force: its version and lines {position: planned cents}.
forecast_cost_plans = Table(
    "forecast_cost_plans",
    metadata,
    Column("team_id", String(36), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("lines", JSON, nullable=False),
)

report_applications = Table(
    "report_applications",
    metadata,
    Column("application_id", String(36), primary_key=True),
    Column("call_id", String(36), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("district", String(300), nullable=False),
    Column("district_code", String(10), nullable=True),
    Column("eligible", Boolean, nullable=False),
    Column("reason_codes", JSON, nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
)
Index("ix_report_applications_call", report_applications.c.call_id)

# A team's steps (proposed, accepted, withdrawn) and the money's (pot, allocated, released,
# approved, paid, returned, unspent_returned), signed: a reversal is a negative approval.
report_facts = Table(
    "report_facts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("call_id", String(36), nullable=False),
    Column("team_id", String(36), nullable=True),
    Column("fact", String(30), nullable=False),
    Column("position", String(40), nullable=True),
    Column("cents", BigInteger, nullable=False),
    Column("district_code", String(10), nullable=True),
    Column("at", UtcDateTime(), nullable=False),
)
Index("ix_report_facts_call", report_facts.c.call_id, report_facts.c.at)

# Each milestone's history: planned with a due date, rescheduled, completed, waived, reopened,
# cancelled with its plan.
report_milestone_steps = Table(
    "report_milestone_steps",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("call_id", String(36), nullable=False),
    Column("team_id", String(36), nullable=False),
    Column("milestone_id", String(100), nullable=False),
    Column("step", String(20), nullable=False),
    Column("due_date", Date, nullable=True),
    Column("at", UtcDateTime(), nullable=False),
)
Index("ix_report_milestone_steps_call", report_milestone_steps.c.call_id)
