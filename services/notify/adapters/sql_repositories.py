"""Agents, teams, parked events and notifications in the database, written at the unit's flush.

Reads by key go through an identity map, so a consumer batch that loaded its rows up front
reads them again from memory; writes wait for :meth:`flush`, which writes each table with one
statement (executemany) however many events of the batch changed it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.bulk import insert_rows
from cimis_chassis.envelope import CloudEvent, parse_event
from cimis_chassis.key_locks import KeyLocks
from cimis_chassis.row_store import CHUNK, RowStore
from cimis_chassis.upsert import conflict_insert
from services.notify.adapters.rows import (
    agent_of,
    agent_values,
    notification_of,
    notification_values,
    team_of,
)
from services.notify.adapters.tables import agents, notifications, parked_events, teams
from services.notify.domain.agents import Agent
from services.notify.domain.alerts import TeamContact
from services.notify.domain.notifications import Notification


def _chunks(keys: Iterable[str]) -> Iterable[list[str]]:
    wanted = list(dict.fromkeys(keys))
    for start in range(0, len(wanted), CHUNK):
        yield wanted[start : start + CHUNK]


class SqlAgents:
    def __init__(self, session: AsyncSession) -> None:
        self._rows = RowStore[Agent](
            session, agents, key="id", to_row=agent_values, from_row=agent_of
        )

    async def load(self, agent_ids: Iterable[str]) -> None:
        await self._rows.load(agent_ids)

    async def get(self, agent_id: str, *, lock: bool = False) -> Agent | None:
        return await self._rows.get(agent_id, lock=lock)

    async def add(self, agent: Agent) -> None:
        self._rows.add(agent.id, agent)

    async def update(self, agent: Agent) -> None:
        self._rows.put(agent.id, agent)

    async def flush(self) -> None:
        await self._rows.flush()


class SqlTeams:
    """Saved by upsert: an acceptance needs no read first, and a repeated one overwrites."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._known: dict[str, TeamContact | None] = {}
        self._saved: dict[str, dict[str, Any]] = {}
        self._reassigned: dict[str, str] = {}
        self._locks = KeyLocks(session, "notify.team")

    async def lock(self, team_ids: Iterable[str]) -> None:
        await self._locks.lock(team_ids)

    async def load(self, team_ids: Iterable[str]) -> None:
        for chunk in _chunks(t for t in team_ids if t not in self._known):
            rows = (await self._session.execute(select(teams).where(teams.c.id.in_(chunk)))).all()
            found = {r.id: team_of(r) for r in rows}
            self._known.update({t: found.get(t) for t in chunk})

    async def get(self, team_id: str) -> TeamContact | None:
        await self.load([team_id])
        return self._known[team_id]

    async def save(self, team: TeamContact, *, accepted_at: datetime) -> None:
        self._known[team.team_id] = team
        self._saved[team.team_id] = {
            "id": team.team_id,
            "call_id": team.call_id,
            "title": team.title,
            "agent_id": team.agent_id,
            "accepted_at": accepted_at,
        }

    async def reassign(self, team_id: str, agent_id: str) -> None:
        team = await self.get(team_id)
        if team is None:
            raise KeyError(f"team {team_id} is not known here")
        self._known[team_id] = replace(team, agent_id=agent_id)
        if team_id in self._saved:
            self._saved[team_id]["agent_id"] = agent_id
        else:
            self._reassigned[team_id] = agent_id

    async def flush(self) -> None:
        if self._saved:
            rows, self._saved = list(self._saved.values()), {}
            stmt = conflict_insert(self._session, teams)
            columns = ("call_id", "title", "agent_id", "accepted_at")
            stmt = stmt.on_conflict_do_update(
                index_elements=[teams.c.id], set_={c: stmt.excluded[c] for c in columns}
            )
            await self._session.execute(stmt, rows)
        if self._reassigned:
            changes, self._reassigned = self._reassigned, {}
            await self._session.execute(
                update(teams)
                .where(teams.c.id == bindparam("team_id"))
                .values(agent_id=bindparam("new_agent_id")),
                [{"team_id": t, "new_agent_id": a} for t, a in sorted(changes.items())],
            )


class SqlParkedEvents:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        # Per team read in this unit: the rows still parked, as (position, event).
        self._loaded: dict[str, list[tuple[int, CloudEvent]]] = {}
        # Parked in this unit, not written yet, in arrival order.
        self._parking: dict[str, list[tuple[CloudEvent, datetime]]] = {}
        self._taken: list[int] = []

    async def load(self, team_ids: Iterable[str]) -> list[CloudEvent]:
        wanted = list(dict.fromkeys(team_ids))
        for chunk in _chunks(t for t in wanted if t not in self._loaded):
            # Locked: they are about to be taken, and another instance must not take them too.
            rows = (
                await self._session.execute(
                    select(
                        parked_events.c.position, parked_events.c.team_id, parked_events.c.envelope
                    )
                    .where(parked_events.c.team_id.in_(chunk))
                    .order_by(parked_events.c.position)
                    .with_for_update()
                )
            ).all()
            for team_id in chunk:
                self._loaded[team_id] = []
            for r in rows:
                self._loaded[r.team_id].append((r.position, parse_event(r.envelope)))
            for team_id in chunk:
                # Parked again in this unit before it read the stored copy: the stored one wins.
                stored = {event.id for _, event in self._loaded[team_id]}
                waiting = self._parking.get(team_id, [])
                self._parking[team_id] = [(e, at) for e, at in waiting if e.id not in stored]
        return [event for t in wanted for _, event in self._loaded[t]] + [
            event for t in wanted for event, _ in self._parking.get(t, [])
        ]

    async def park(self, team_id: str, event: CloudEvent, *, now: datetime) -> None:
        waiting = self._parking.setdefault(team_id, [])
        stored = self._loaded.get(team_id, [])
        if any(e.id == event.id for e, _ in waiting) or any(e.id == event.id for _, e in stored):
            return
        # A copy parked by an earlier unit stays the one kept: the INSERT skips this one.
        waiting.append((event, now))

    async def take(self, team_id: str) -> list[CloudEvent]:
        await self.load([team_id])
        stored, self._loaded[team_id] = self._loaded[team_id], []
        self._taken.extend(position for position, _ in stored)
        taken = [event for _, event in stored]
        seen = {event.id for event in taken}
        taken += [e for e, _ in self._parking.pop(team_id, []) if e.id not in seen]
        return taken

    async def flush(self) -> None:
        taken, self._taken = self._taken, []
        for start in range(0, len(taken), CHUNK):
            chunk = taken[start : start + CHUNK]
            await self._session.execute(
                delete(parked_events).where(parked_events.c.position.in_(chunk))
            )
        rows = [
            {
                "team_id": team_id,
                "event_id": event.id,
                "event_type": event.type,
                "envelope": event.to_json_bytes().decode(),
                "parked_at": at,
            }
            for team_id, waiting in self._parking.items()
            for event, at in waiting
        ]
        self._parking = {}
        if rows:
            # In arrival order: the position column is that order.
            await insert_rows(self._session, parked_events, rows, skip_conflicts_on=())


class SqlNotifications:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._rows = RowStore[Notification](
            session,
            notifications,
            key="id",
            to_row=notification_values,
            from_row=notification_of,
        )
        self._looked_up: set[str] = set()
        self._raised: set[tuple[str, str]] = set()

    async def load_raised_by(self, event_ids: Iterable[str]) -> None:
        for chunk in _chunks(e for e in event_ids if e not in self._looked_up):
            query = select(notifications.c.event_id, notifications.c.recipient).where(
                notifications.c.event_id.in_(chunk)
            )
            self._raised.update(
                (r.event_id, r.recipient) for r in (await self._session.execute(query)).all()
            )
            self._looked_up.update(chunk)

    async def add(self, notification: Notification) -> bool:
        await self.load_raised_by([notification.event_id])
        pair = (notification.event_id, notification.recipient)
        if pair in self._raised:
            return False
        self._rows.add(notification.id, notification)
        self._raised.add(pair)
        return True

    async def get(self, notification_id: str, *, lock: bool = False) -> Notification | None:
        return await self._rows.get(notification_id, lock=lock)

    async def update(self, notification: Notification) -> None:
        self._rows.put(notification.id, notification)

    async def flush(self) -> None:
        await self._rows.flush()
