"""What notify's handlers need of storage: one protocol per repository, and the unit holding them.

The SQL repositories (adapters/sql_repositories.py) and the fakes (adapters/memory.py) both meet
these, and the contract tests hold them to the same behaviour. Reads by key answer from what
the unit has loaded (``load`` is the batch's way of asking for many at once); writes wait for
the unit's flush, except where the answer decides what happens next (a delivery's claim).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from cimis_chassis.envelope import CloudEvent
from cimis_chassis.unit_of_work import Cause, UnitOfWorkPort
from services.notify.domain.agents import Agent
from services.notify.domain.alerts import TeamContact
from services.notify.domain.digest import TeamBudget, TrackedMilestone, WaitingExpense
from services.notify.domain.notifications import Delivery, Notification
from services.notify.domain.quiet_hours import QuietHours


@dataclass(frozen=True)
class DueDelivery:
    """A claimed delivery with what sending it needs."""

    delivery: Delivery
    notification: Notification
    quiet_hours: QuietHours | None


class Agents(Protocol):
    """Network agents' profiles, by agent id."""

    async def load(self, agent_ids: Iterable[str]) -> None: ...

    async def get(self, agent_id: str, *, lock: bool = False) -> Agent | None: ...

    async def add(self, agent: Agent) -> None: ...

    async def update(self, agent: Agent) -> None: ...


class Teams(Protocol):
    """Notify's map of accepted teams to their agents; a later acceptance overwrites."""

    async def lock(self, team_ids: Iterable[str]) -> None:
        """Hold these teams until the unit ends, known here or not, before reading them or
        their parked events: a team's acceptance and an event that overtook it come on
        different topics, and two instances applying both at once would each miss the other,
        leaving the event parked for good."""
        ...

    async def load(self, team_ids: Iterable[str]) -> None: ...

    async def get(self, team_id: str) -> TeamContact | None: ...

    async def save(self, team: TeamContact, *, accepted_at: datetime) -> None: ...

    async def reassign(self, team_id: str, agent_id: str) -> None:
        """The known team now belongs to ``agent_id``."""
        ...


class ParkedEvents(Protocol):
    """Team events that came before their team_accepted, waiting per team in arrival order."""

    async def load(self, team_ids: Iterable[str]) -> list[CloudEvent]:
        """Read (and hold, for they are about to be taken) what waits for ``team_ids``."""
        ...

    async def park(self, team_id: str, event: CloudEvent, *, now: datetime) -> None:
        """Keep ``event`` for ``team_id``; parking the same event id again changes nothing."""
        ...

    async def take(self, team_id: str) -> list[CloudEvent]:
        """The team's parked events in arrival order, removed."""
        ...


class Notifications(Protocol):
    """Notifications, at most one per consumed event and recipient."""

    async def load_raised_by(self, event_ids: Iterable[str]) -> None:
        """Learn which recipients the events ``event_ids`` notified already."""
        ...

    async def add(self, notification: Notification) -> bool:
        """Keep it unless its event notified its recipient already; True if kept."""
        ...

    async def get(self, notification_id: str, *, lock: bool = False) -> Notification | None: ...

    async def update(self, notification: Notification) -> None: ...


class Deliveries(Protocol):
    """One delivery per notification and channel, and the leases the delivery worker holds."""

    async def add(self, planned: Sequence[Delivery]) -> None: ...

    async def of(self, notification_ids: Sequence[str]) -> dict[str, list[Delivery]]:
        """Each notification's deliveries in channel-creation order (unknown ids: empty)."""
        ...

    async def claim_due(
        self, *, holder: str, now: datetime, until: datetime, limit: int
    ) -> list[DueDelivery]:
        """Lease up to ``limit`` due, unclaimed deliveries to ``holder``, soonest due first."""
        ...

    async def settle(self, delivery_id: int, *, holder: str, **values: Any) -> bool:
        """Record a claimed delivery's outcome and drop the claim; False if the claim was lost."""
        ...

    async def release(self, delivery_ids: Sequence[int], *, holder: str) -> None:
        """Give back ``holder``'s claims on ``delivery_ids`` unsent."""
        ...


class DigestFacts(Protocol):
    """The weekly digest's read model of other services' facts, per team.

    Every write takes effect at once and sets a value rather than adding to one, so applying
    a batch again after its rollback gives the same rows.
    """

    async def allocate(self, team_id: str, allocated_cents: int) -> None: ...

    async def approve_total(self, team_id: str, approved_cents: int) -> None: ...

    async def close_budget(self, team_id: str) -> None: ...

    async def withdraw_team(self, team_id: str) -> None: ...

    async def expense_waiting(self, expense: WaitingExpense) -> None: ...

    async def expense_decided(self, expense_id: str) -> None: ...

    async def plan(self, milestones: Sequence[TrackedMilestone]) -> None: ...

    async def reschedule(self, milestone_id: str, due_date: date) -> None: ...

    async def set_status(self, milestone_id: str, status: str) -> None:
        """Change a known milestone's status; one never planned here is ignored."""
        ...

    async def cancel_plan(self, team_id: str) -> None:
        """Forget the team's milestones: a cancelled plan has nothing due."""
        ...

    async def teams_of(self, agent_id: str) -> list[TeamContact]: ...

    async def budgets(self, team_ids: Sequence[str]) -> dict[str, TeamBudget]: ...

    async def milestones(self, team_ids: Sequence[str]) -> list[TrackedMilestone]: ...

    async def waiting(self, team_ids: Sequence[str]) -> list[WaitingExpense]: ...


class Digests(Protocol):
    """Which agents' weekly digests were decided (sent or skipped), per ISO week."""

    async def undecided(self, week: str) -> list[Agent]:
        """Active agents with a digest setting whose digest for ``week`` is not decided."""
        ...

    async def claim(
        self, agent_id: str, week: str, *, outcome: str, notification_id: str | None, now: datetime
    ) -> bool:
        """Record the week's digest as decided; False if another unit did already.

        Written at once: the answer decides whether this unit sends the digest. On PostgreSQL
        a concurrent claim of the same week waits for the first one's transaction.
        """
        ...


class NotifyUnitOfWork(UnitOfWorkPort, Protocol):
    """The unit of work notify's handlers run in, whatever stores it."""

    # Read-only here, so that a unit may hold its own kind of each repository.
    @property
    def agents(self) -> Agents: ...

    @property
    def teams(self) -> Teams: ...

    @property
    def parked_events(self) -> ParkedEvents: ...

    @property
    def notifications(self) -> Notifications: ...

    @property
    def deliveries(self) -> Deliveries: ...

    @property
    def digest_facts(self) -> DigestFacts: ...

    @property
    def digests(self) -> Digests: ...


# Opens a new unit of work attributed to a cause: how jobs outside a request or batch change state.
UnitFactory = Callable[[Cause], AbstractAsyncContextManager[NotifyUnitOfWork]]
