"""Notify's database tables (and, through them, its migrations)."""

from __future__ import annotations

from sqlalchemy import (
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
)

from cimis_chassis.sqltypes import UtcDateTime
from cimis_chassis.tables import BigId, service_metadata

metadata, chassis = service_metadata()

agents = Table(
    "agents",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("email", String(320), nullable=False),
    Column("webhook_url", String(2000), nullable=True),
    Column("quiet_start", String(5), nullable=True),
    Column("quiet_end", String(5), nullable=True),
    Column("language", String(2), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("salutation", String(10), nullable=True),
    Column("retired_at", UtcDateTime(), nullable=True),
    # The weekly digest's weekday ("monday") and Berlin time ("08:00"); both null: no digest.
    Column("digest_weekday", String(9), nullable=True),
    Column("digest_time", String(5), nullable=True),
)

# Notify's own map of accepted teams, built from intake's team_accepted events.
teams = Table(
    "teams",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("call_id", String(36), nullable=False),
    Column("title", String(300), nullable=False),
    Column("agent_id", String(200), nullable=False),
    Column("accepted_at", UtcDateTime(), nullable=False),
)

# Team events that arrived before the team's team_accepted (another topic, so no ordering):
# parked here in the consuming transaction and alerted once the team is known.
parked_events = Table(
    "parked_events",
    metadata,
    Column("position", BigId, primary_key=True, autoincrement=True),
    Column("team_id", String(36), nullable=False),
    Column("event_id", String(100), nullable=False, unique=True),
    Column("event_type", String(200), nullable=False),
    Column("envelope", Text, nullable=False),
    Column("parked_at", UtcDateTime(), nullable=False),
)
Index("ix_parked_events_team", parked_events.c.team_id, parked_events.c.position)

notifications = Table(
    "notifications",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("event_id", String(100), nullable=False),
    Column("recipient", String(200), nullable=False),
    Column("team_id", String(36), nullable=True),
    Column("kind", String(50), nullable=False),
    Column("title", String(500), nullable=False),
    Column("body", Text, nullable=False),
    Column("language", String(2), nullable=False),
    Column("correlation_id", String(100), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("read_at", UtcDateTime(), nullable=True),
    # One notification per event and recipient, whatever path (redelivery, a parked event
    # released twice) tries to raise it again.
    UniqueConstraint("event_id", "recipient", name="uq_notifications_event_recipient"),
)
Index("ix_notifications_listing", notifications.c.recipient, notifications.c.created_at)
Index("ix_notifications_created", notifications.c.created_at, notifications.c.id)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("notification_id", String(36), ForeignKey("notifications.id"), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("target", String(2000), nullable=True),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime(), nullable=True),
    Column("last_error", Text, nullable=True),
    # The lease of the worker that is sending it: a second instance skips a live claim.
    Column("claimed_by", String(200), nullable=True),
    Column("claimed_until", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("delivered_at", UtcDateTime(), nullable=True),
    Column("failed_at", UtcDateTime(), nullable=True),
    UniqueConstraint("notification_id", "channel", name="uq_deliveries_notification_channel"),
)
Index("ix_deliveries_due", deliveries.c.status, deliveries.c.next_attempt_at)

# The weekly digest's read model, built from budget's and milestones' events. Keyed by team
# (or expense, milestone) alone: facts may come before the team's team_accepted.
team_budgets = Table(
    "team_budgets",
    metadata,
    Column("team_id", String(36), primary_key=True),
    Column("allocated_cents", BigInteger, nullable=False),
    Column("approved_cents", BigInteger, nullable=False),
    Column("closed", Boolean, nullable=False),
    Column("withdrawn", Boolean, nullable=False),
)

waiting_expenses = Table(
    "waiting_expenses",
    metadata,
    Column("expense_id", String(300), primary_key=True),
    Column("team_id", String(36), nullable=False),
    Column("fundable_cents", BigInteger, nullable=False),
    Column("submitted_at", UtcDateTime(), nullable=False),
)
Index("ix_waiting_expenses_team", waiting_expenses.c.team_id)

team_milestones = Table(
    "team_milestones",
    metadata,
    Column("milestone_id", String(300), primary_key=True),
    Column("team_id", String(36), nullable=False),
    Column("key", String(50), nullable=False),
    Column("title", String(300), nullable=False),
    Column("due_date", Date, nullable=False),
    Column("status", String(10), nullable=False),
)
Index("ix_team_milestones_team", team_milestones.c.team_id)

# One row per agent and ISO week once that week's digest was sent or skipped, written with the
# notification: the key is what keeps two instances (or a retry) from sending it twice.
digests = Table(
    "digests",
    metadata,
    Column("agent_id", String(200), primary_key=True),
    Column("week", String(8), primary_key=True),
    Column("outcome", String(10), nullable=False),
    Column("notification_id", String(36), nullable=True),
    Column("decided_at", UtcDateTime(), nullable=False),
)
