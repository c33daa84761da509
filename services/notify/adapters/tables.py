"""Notify's database tables (and, through them, its migrations)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
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
