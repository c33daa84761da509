"""What intake's handlers need from storage: its repositories and the unit of work holding them.

Writes are queued (``add``, ``put``, ``record``, ``release``) and reach the database when the
unit commits; reads see what this unit queued already.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from cimis_chassis.unit_of_work import UnitOfWorkPort
from services.intake.domain.agents import KnownAgent
from services.intake.domain.applications import Application
from services.intake.domain.calls import Call
from services.intake.domain.teams import Team
from services.intake.domain.undertakings import Grant


class Agents(Protocol):
    """The directory of network agents as notify announced it; ids match in any spelling."""

    async def get(self, agent_id: str, *, lock: bool = False) -> KnownAgent | None: ...

    def add(self, agent: KnownAgent) -> None: ...

    def put(self, agent: KnownAgent) -> None: ...


class Calls(Protocol):
    def add(self, call: Call) -> None: ...

    async def get(self, call_id: str, *, lock: bool = False) -> Call | None: ...

    def put(self, call: Call) -> None: ...


class Applications(Protocol):
    def add(self, application: Application) -> None: ...

    async def get_many(self, application_ids: Sequence[str]) -> dict[str, Application]:
        """The applications of those ids that exist, by id."""
        ...


class Teams(Protocol):
    def add(self, team: Team) -> None: ...

    async def get(self, team_id: str, *, lock: bool = False) -> Team | None:
        """The team, its row locked until the unit ends when ``lock`` (a team about to change)."""
        ...

    def put(self, team: Team) -> None:
        """The new state of a team got or added in this unit; its creatives never change."""
        ...

    async def lock_undertakings(self, undertaking_ids: Iterable[str]) -> None:
        """Hold these undertakings until the unit ends, before reading their grants: two
        acceptances for one undertaking (in any calls) then check its limits one after the
        other, the second seeing the first's grant, instead of both passing on stale sums."""
        ...

    async def grants_of(self, undertaking_id: str) -> list[Grant]:
        """The budgets of every accepted team the undertaking is the company of."""
        ...


class Memberships(Protocol):
    """Which accepted team each application belongs to: at most one.

    ``record`` of an application that is in an accepted team already raises
    :class:`~services.intake.domain.errors.StateConflict` ``application-taken``, at the latest
    when the unit commits (two acceptances racing past the domain's check).
    """

    async def accepted_team_of(self, application_ids: Sequence[str]) -> dict[str, str]:
        """Application id to its accepted team's id, for those in one."""
        ...

    def record(self, team: Team) -> None:
        """Every application of ``team`` now belongs to it."""
        ...

    def release(self, team: Team) -> None:
        """The applications of ``team`` belong to no accepted team any more."""
        ...


class IntakeUnitOfWork(UnitOfWorkPort, Protocol):
    """One transaction of intake: its repositories, the clock, and the events and audit it adds."""

    @property
    def calls(self) -> Calls: ...

    @property
    def applications(self) -> Applications: ...

    @property
    def teams(self) -> Teams: ...

    @property
    def memberships(self) -> Memberships: ...

    @property
    def agents(self) -> Agents: ...
