"""Intake's database tables (and, through them, its migrations)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)

from cimis_chassis.sqltypes import UtcDateTime
from cimis_chassis.tables import service_metadata

metadata, chassis = service_metadata()

calls = Table(
    "calls",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("title", String(300), nullable=False),
    Column("districts", JSON, nullable=False),
    Column("opens_at", UtcDateTime(), nullable=False),
    Column("closes_at", UtcDateTime(), nullable=False),
    Column("total_budget_cents", BigInteger, nullable=False),
    Column("max_team_budget_cents", BigInteger, nullable=False),
    Column("tranches", JSON, nullable=False),
    Column("phase_plan", JSON, nullable=False),
    Column("settlement_days", Integer, nullable=False, server_default=text("90")),
    Column("cost_plan_tolerance_percent", Integer, nullable=False, server_default=text("20")),
    Column("escalation_days", Integer, nullable=False, server_default=text("14")),
    Column("burn_rate_tolerance_percent", Integer, nullable=False, server_default=text("25")),
    # Empty: the per-team maximum.
    Column("max_undertaking_budget_cents", BigInteger, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
)

applications = Table(
    "applications",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("call_id", String(36), ForeignKey("calls.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("name", String(300), nullable=False),
    Column("contact_email", String(320), nullable=False),
    Column("district", String(100), nullable=False),
    Column("employees", Integer, nullable=True),
    Column("annual_turnover_cents", BigInteger, nullable=True),
    Column("balance_sheet_total_cents", BigInteger, nullable=True),
    Column("de_minimis_prior_aid_cents", BigInteger, nullable=True),
    Column("challenge", Text, nullable=True),
    Column("expertise", Text, nullable=True),
    Column("undertaking_id", String(40), nullable=True),
    Column("status", String(20), nullable=False),
    Column("eligibility_reasons", JSON, nullable=False),
    Column("submitted_at", UtcDateTime(), nullable=False),
    Column("entered_at", UtcDateTime(), nullable=True),
    Column("entered_by", String(200), nullable=True),
)
Index("ix_applications_listing", applications.c.call_id, applications.c.submitted_at)

teams = Table(
    "teams",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("call_id", String(36), ForeignKey("calls.id"), nullable=False),
    Column("title", String(300), nullable=False),
    Column("challenge", Text, nullable=False),
    Column("company_application_id", String(36), ForeignKey("applications.id"), nullable=False),
    Column("agent_id", String(200), nullable=False),
    Column("budget_cents", BigInteger, nullable=False),
    Column("input_vat_deductible", Boolean, nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("accepted_at", UtcDateTime(), nullable=True),
    Column("withdrawn_at", UtcDateTime(), nullable=True),
    Column("withdrawal_reason", Text, nullable=True),
    Column("budget_status", String(20), nullable=False, server_default=text("'pending'")),
    Column("undertaking_id", String(40), nullable=True),
)
Index("ix_teams_listing", teams.c.call_id, teams.c.created_at)

team_creatives = Table(
    "team_creatives",
    metadata,
    Column("team_id", String(36), ForeignKey("teams.id"), primary_key=True),
    Column("application_id", String(36), ForeignKey("applications.id"), primary_key=True),
    Column("position", Integer, nullable=False),
)

# The primary key makes "an application is in at most one accepted team" hold even when two
# acceptances race: the second insert fails instead of both committing.
accepted_memberships = Table(
    "accepted_memberships",
    metadata,
    Column("application_id", String(36), ForeignKey("applications.id"), primary_key=True),
    Column("team_id", String(36), ForeignKey("teams.id"), nullable=False),
)
# What an undertaking was granted, at every acceptance (caps and de-minimis).
Index("ix_teams_undertaking", teams.c.undertaking_id, teams.c.status)

# The network agents notify announced: a team may only name one of them. Keyed by the id's
# comparison form, since agents' principals match in any case and Unicode form.
agents = Table(
    "agents",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("id", String(200), nullable=False),
    Column("name", String(300), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("retired_at", UtcDateTime(), nullable=True),
)
