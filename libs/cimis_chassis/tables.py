"""The chassis tables every service database holds: outbox, inbox, audit log, idempotency keys."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from cimis_chassis.sqltypes import UtcDateTime

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for a long-lived log.
BigId = BigInteger().with_variant(Integer(), "sqlite")


@dataclass(frozen=True)
class ChassisTables:
    outbox: Table
    inbox: Table
    audit_log: Table
    idempotency_keys: Table
    leases: Table


# Constraint names must be predictable so that later migrations can alter them on both
# databases (SQLite batch mode needs names to find constraints).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata() -> tuple[MetaData, ChassisTables]:
    """A service's metadata with the naming convention and the chassis tables declared in it."""
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    return metadata, add_chassis_tables(metadata)


def add_chassis_tables(metadata: MetaData) -> ChassisTables:
    """Declare the chassis tables in a service's metadata (and so in its migrations)."""
    outbox = Table(
        "outbox",
        metadata,
        # The position orders publication: rows of one key are written in causal order.
        Column("position", BigId, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("topic", String(200), nullable=False),
        Column("key", String(200), nullable=False),
        Column("event_type", String(200), nullable=False),
        Column("payload", Text, nullable=False),
        Column("created_at", UtcDateTime(), nullable=False),
        Column("published_at", UtcDateTime(), nullable=True),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("last_error", Text, nullable=True),
    )
    Index("ix_outbox_pending", outbox.c.published_at, outbox.c.position)
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", String(100), primary_key=True),
        Column("event_type", String(200), nullable=False),
        Column("received_at", UtcDateTime(), nullable=False),
    )
    audit_log = Table(
        "audit_log",
        metadata,
        Column("id", BigId, primary_key=True, autoincrement=True),
        Column("occurred_at", UtcDateTime(), nullable=False),
        Column("actor", String(200), nullable=False),
        Column("action", String(100), nullable=False),
        Column("entity_type", String(100), nullable=False),
        Column("entity_id", String(100), nullable=False),
        Column("before", JSON, nullable=True),
        Column("after", JSON, nullable=True),
        Column("correlation_id", String(100), nullable=True),
    )
    Index("ix_audit_entity", audit_log.c.entity_type, audit_log.c.entity_id)
    idempotency_keys = Table(
        "idempotency_keys",
        metadata,
        Column("principal", String(200), primary_key=True),
        Column("key", String(200), primary_key=True),
        Column("request_hash", String(64), nullable=False),
        Column("status_code", Integer, nullable=False),
        Column("response_body", Text, nullable=False),
        Column("created_at", UtcDateTime(), nullable=False),
    )
    # Named work leases (the outbox relay, schedulers) so that one instance at a time does it.
    leases = Table(
        "leases",
        metadata,
        Column("name", String(100), primary_key=True),
        Column("holder", String(200), nullable=False),
        Column("expires_at", UtcDateTime(), nullable=False),
    )
    return ChassisTables(outbox, inbox, audit_log, idempotency_keys, leases)
