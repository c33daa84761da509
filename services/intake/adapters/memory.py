"""In-memory fakes of intake's repositories: the same contract as the SQL ones, in dictionaries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from cimis_chassis.memory import MemoryRepository
from cimis_chassis.text import comparison_key
from services.intake.domain.agents import KnownAgent
from services.intake.domain.applications import Application
from services.intake.domain.calls import Call
from services.intake.domain.errors import StateConflict
from services.intake.domain.teams import ACCEPTED, Team
from services.intake.domain.undertakings import Grant

E = TypeVar("E", Call, Application, Team)


def as_stored(entity: E) -> E:
    """``entity`` as the database gives it back: its times in UTC, whatever zone they came in."""
    in_utc: dict[str, Any] = {
        f.name: moment.astimezone(UTC)
        for f in fields(entity)
        if isinstance(moment := getattr(entity, f.name), datetime)
    }
    return replace(entity, **in_utc)


class MemoryAgents(MemoryRepository):
    def __init__(self) -> None:
        self.by_key: dict[str, KnownAgent] = {}

    async def get(self, agent_id: str, *, lock: bool = False) -> KnownAgent | None:
        return self.by_key.get(comparison_key(agent_id))

    def add(self, agent: KnownAgent) -> None:
        if comparison_key(agent.id) in self.by_key:
            raise ValueError(f"agent {agent.id} exists already")
        self.by_key[comparison_key(agent.id)] = agent

    def put(self, agent: KnownAgent) -> None:
        if comparison_key(agent.id) not in self.by_key:
            raise KeyError(f"agent {agent.id} was never added")
        self.by_key[comparison_key(agent.id)] = agent


class MemoryCalls(MemoryRepository):
    def __init__(self) -> None:
        self.by_id: dict[str, Call] = {}

    def add(self, call: Call) -> None:
        if call.id in self.by_id:
            raise ValueError(f"call {call.id} exists already")
        self.by_id[call.id] = as_stored(call)

    async def get(self, call_id: str, *, lock: bool = False) -> Call | None:
        return self.by_id.get(call_id)

    def put(self, call: Call) -> None:
        if call.id not in self.by_id:
            raise KeyError(f"call {call.id} was not read in this unit of work")
        self.by_id[call.id] = as_stored(call)


class MemoryApplications(MemoryRepository):
    def __init__(self) -> None:
        self.by_id: dict[str, Application] = {}

    def add(self, application: Application) -> None:
        if application.id in self.by_id:
            raise ValueError(f"application {application.id} exists already")
        self.by_id[application.id] = as_stored(application)

    async def get_many(self, application_ids: Sequence[str]) -> dict[str, Application]:
        return {a: self.by_id[a] for a in application_ids if a in self.by_id}


class MemoryTeams(MemoryRepository):
    def __init__(self) -> None:
        self.by_id: dict[str, Team] = {}
        # What the current unit got or added: as on the database, only those may be put.
        self.in_unit: set[str] = set()

    def begin(self) -> None:
        self.in_unit = set()

    def add(self, team: Team) -> None:
        if team.id in self.by_id:
            raise ValueError(f"team {team.id} exists already")
        self.by_id[team.id] = as_stored(team)
        self.in_unit.add(team.id)

    async def get(self, team_id: str, *, lock: bool = False) -> Team | None:
        self.in_unit.add(team_id)
        return self.by_id.get(team_id)

    def put(self, team: Team) -> None:
        known = self.by_id.get(team.id)
        if known is None or team.id not in self.in_unit:
            raise KeyError(f"team {team.id} was not read in this unit of work")
        if known.creative_application_ids != team.creative_application_ids:
            raise ValueError("a team's creatives are fixed when it is proposed")
        self.by_id[team.id] = as_stored(team)

    async def lock_undertakings(self, undertaking_ids: Iterable[str]) -> None:
        # One unit at a time in memory: nothing to wait for.
        return None

    async def grants_of(self, undertaking_id: str) -> list[Grant]:
        return [
            Grant(t.id, t.call_id, t.budget_cents, t.accepted_at)
            for t in self.by_id.values()
            if t.undertaking_id == undertaking_id
            and t.status == ACCEPTED
            and t.accepted_at is not None
        ]


class MemoryMemberships(MemoryRepository):
    def __init__(self) -> None:
        self.team_of: dict[str, str] = {}

    async def accepted_team_of(self, application_ids: Sequence[str]) -> dict[str, str]:
        return {a: self.team_of[a] for a in application_ids if a in self.team_of}

    def record(self, team: Team) -> None:
        if any(a in self.team_of for a in team.application_ids):
            raise StateConflict(
                "application-taken", "An application of this team is in another accepted team."
            )
        self.team_of.update(dict.fromkeys(team.application_ids, team.id))

    def release(self, team: Team) -> None:
        self.team_of = {a: t for a, t in self.team_of.items() if t != team.id}
