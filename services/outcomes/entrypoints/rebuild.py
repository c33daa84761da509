"""``cimis outcomes rebuild``: forget everything outcomes learned from the platform's topics
and read them again from their first record.

Outcomes' read side (teams, costs, the report's facts, the forecast's plans and waivers) is
a function of the topics, so it can always be rebuilt: after a bug fix in a handler, or to
prove that the figures come from events only. Blueprints and their history are outcomes' own
records and stay, and so does the burn-rate status last announced per team (the scan's, not
the topics'), so that reading the topics again announces nothing twice. Every outcomes
instance must be stopped first: the consumer group's offsets can only be moved while nobody
consumes.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, cast

import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata
from sqlalchemy import CursorResult, delete

from cimis_chassis.database import Database
from cimis_contracts.topics import CONSUMES
from services.outcomes.adapters.tables import (
    calls,
    chassis,
    forecast_calls,
    forecast_cost_plans,
    forecast_milestones,
    plan_states,
    report_applications,
    report_facts,
    report_milestone_steps,
    team_costs,
    teams,
)
from services.outcomes.settings import OutcomesSettings

# Mounted by the cimis CLI as `cimis outcomes` (entry point group cimis.commands).
app = typer.Typer(help="Outcomes service tools.", no_args_is_help=True)

# Learned from the topics, so rebuilt from them; the blueprints and their history are
# outcomes' own.
DERIVED = (
    teams,
    plan_states,
    team_costs,
    calls,
    report_applications,
    report_facts,
    report_milestone_steps,
    forecast_calls,
    forecast_milestones,
    forecast_cost_plans,
)


class GroupBusy(Exception):
    """Some outcomes instance still consumes: its offsets cannot be moved now."""


async def rewind_group(settings: OutcomesSettings) -> int:
    """Commit every consumed partition's first offset for outcomes' group; the partitions."""
    kafka = settings.kafka()
    admin = AIOKafkaAdminClient(**kafka.aiokafka(client_id="cimis-outcomes-rebuild"))
    await admin.start()
    try:
        described = await admin.describe_topics(list(CONSUMES["outcomes"]))
    finally:
        await admin.close()
    partitions = [
        TopicPartition(topic["topic"], p["partition"])
        for topic in described
        if topic["error_code"] == 0
        for p in topic["partitions"]
    ]
    if not partitions:
        raise GroupBusy(f"none of {', '.join(CONSUMES['outcomes'])} exists yet")
    consumer = AIOKafkaConsumer(
        **kafka.aiokafka(client_id="cimis-outcomes-rebuild"),
        group_id=settings.consumer_group,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        first = await consumer.beginning_offsets(partitions)
        try:
            await consumer.commit({tp: OffsetAndMetadata(first[tp], "") for tp in partitions})
        except KafkaError as exc:
            raise GroupBusy(
                f"consumer group {settings.consumer_group} is in use ({type(exc).__name__}): "
                "stop every outcomes instance, then rebuild"
            ) from exc
        return len(partitions)
    finally:
        await consumer.stop()


async def forget_derived(database_url: str) -> dict[str, int]:
    """Empty the read side and the inbox in one transaction; rows removed per table."""
    db = Database(database_url)
    removed: dict[str, int] = {}
    try:
        async with db.transaction() as session:
            for table in (*DERIVED, chassis.inbox):
                result = cast(CursorResult[Any], await session.execute(delete(table)))
                removed[table.name] = result.rowcount or 0
    finally:
        await db.dispose()
    return removed


async def rebuild(settings: OutcomesSettings) -> tuple[int, dict[str, int]]:
    # Offsets first: if some instance still runs, nothing is forgotten.
    partitions = await rewind_group(settings)
    return partitions, await forget_derived(settings.database_url)


@app.command("rebuild")
def rebuild_command(
    database_url: Annotated[
        str | None, typer.Option(envvar="DATABASE_URL", help="The outcomes database")
    ] = None,
) -> None:
    """Read every platform topic again from its start (stop outcomes first; start it after)."""
    settings = OutcomesSettings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    try:
        partitions, removed = asyncio.run(rebuild(settings))
    except GroupBusy as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(
        f"rewound {settings.consumer_group} on {partitions} partitions; forgot "
        + ", ".join(f"{n} {table}" for table, n in removed.items())
    )
    typer.echo("start outcomes again: it reads every topic from the beginning")
