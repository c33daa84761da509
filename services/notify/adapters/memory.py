"""In-memory fakes of notify's repositories for handler tests: the SQL ones' contract."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from cimis_chassis.envelope import CloudEvent
from cimis_chassis.memory import MemoryRepository
from services.notify.app.ports import DueDelivery
from services.notify.domain.agents import Agent
from services.notify.domain.alerts import TeamContact
from services.notify.domain.delivery import PENDING
from services.notify.domain.notifications import Delivery, Notification


class MemoryAgents(MemoryRepository):
    def __init__(self) -> None:
        self.rows: dict[str, Agent] = {}

    async def load(self, agent_ids: Iterable[str]) -> None:
        pass  # everything is loaded

    async def get(self, agent_id: str, *, lock: bool = False) -> Agent | None:
        return self.rows.get(agent_id)

    async def add(self, agent: Agent) -> None:
        if agent.id in self.rows:
            raise ValueError(f"agents {agent.id} exists already")
        self.rows[agent.id] = agent

    async def update(self, agent: Agent) -> None:
        if agent.id not in self.rows:
            raise KeyError(f"agents {agent.id} does not exist")
        self.rows[agent.id] = agent


class MemoryTeams(MemoryRepository):
    def __init__(self) -> None:
        self.rows: dict[str, tuple[TeamContact, datetime]] = {}

    async def lock(self, team_ids: Iterable[str]) -> None:
        """One unit at a time runs in memory."""

    async def load(self, team_ids: Iterable[str]) -> None:
        pass

    async def get(self, team_id: str) -> TeamContact | None:
        found = self.rows.get(team_id)
        return None if found is None else found[0]

    async def save(self, team: TeamContact, *, accepted_at: datetime) -> None:
        self.rows[team.team_id] = (team, accepted_at)

    async def reassign(self, team_id: str, agent_id: str) -> None:
        team, accepted_at = self.rows[team_id]
        self.rows[team_id] = (replace(team, agent_id=agent_id), accepted_at)


@dataclass(frozen=True)
class ParkedRow:
    position: int
    team_id: str
    event: CloudEvent
    parked_at: datetime


class MemoryParkedEvents(MemoryRepository):
    def __init__(self) -> None:
        self.rows: list[ParkedRow] = []
        self.last_position = 0

    async def load(self, team_ids: Iterable[str]) -> list[CloudEvent]:
        wanted = list(dict.fromkeys(team_ids))
        return [r.event for t in wanted for r in self.rows if r.team_id == t]

    async def park(self, team_id: str, event: CloudEvent, *, now: datetime) -> None:
        if any(r.event.id == event.id for r in self.rows):
            return
        self.last_position += 1
        self.rows.append(ParkedRow(self.last_position, team_id, event, now))

    async def take(self, team_id: str) -> list[CloudEvent]:
        taken = [r.event for r in self.rows if r.team_id == team_id]
        self.rows = [r for r in self.rows if r.team_id != team_id]
        return taken


class MemoryNotifications(MemoryRepository):
    def __init__(self) -> None:
        self.rows: dict[str, Notification] = {}

    async def load_raised_by(self, event_ids: Iterable[str]) -> None:
        pass

    async def add(self, notification: Notification) -> bool:
        pair = (notification.event_id, notification.recipient)
        if any((n.event_id, n.recipient) == pair for n in self.rows.values()):
            return False
        if notification.id in self.rows:
            raise ValueError(f"notifications {notification.id} exists already")
        self.rows[notification.id] = notification
        return True

    async def get(self, notification_id: str, *, lock: bool = False) -> Notification | None:
        return self.rows.get(notification_id)

    async def update(self, notification: Notification) -> None:
        if notification.id not in self.rows:
            raise KeyError(f"notifications {notification.id} does not exist")
        self.rows[notification.id] = notification


@dataclass
class DeliveryRow:
    delivery: Delivery
    claimed_by: str | None = None
    claimed_until: datetime | None = None


class MemoryDeliveries(MemoryRepository):
    """Claims join notifications and agents, so this fake reads the unit's other two fakes."""

    # Links to the other fakes, which snapshot themselves: copying them here would cut the
    # link at the first rollback.
    LINKS = frozenset({"_notifications", "_agents"})

    def __init__(self, notifications: MemoryNotifications, agents: MemoryAgents) -> None:
        self._notifications = notifications
        self._agents = agents
        self.rows: dict[int, DeliveryRow] = {}
        self.last_id = 0

    async def add(self, planned: Sequence[Delivery]) -> None:
        for d in planned:
            if d.notification_id not in self._notifications.rows:
                raise ValueError(f"delivery for unknown notification {d.notification_id}")
            if any(
                (r.delivery.notification_id, r.delivery.channel) == (d.notification_id, d.channel)
                for r in self.rows.values()
            ):
                raise ValueError(f"{d.notification_id} has a {d.channel} delivery already")
            self.last_id += 1
            self.rows[self.last_id] = DeliveryRow(replace(d, id=self.last_id))

    async def of(self, notification_ids: Sequence[str]) -> dict[str, list[Delivery]]:
        found: dict[str, list[Delivery]] = {i: [] for i in notification_ids}
        for ident in sorted(self.rows):
            d = self.rows[ident].delivery
            if d.notification_id in found:
                found[d.notification_id].append(d)
        return found

    async def claim_due(
        self, *, holder: str, now: datetime, until: datetime, limit: int
    ) -> list[DueDelivery]:
        def free(r: DeliveryRow) -> bool:
            d = r.delivery
            return (
                d.status == PENDING
                and d.next_attempt_at is not None
                and d.next_attempt_at <= now
                and (r.claimed_until is None or r.claimed_until < now)
            )

        due = sorted(
            (r for r in self.rows.values() if free(r)),
            key=lambda r: (r.delivery.next_attempt_at, r.delivery.id),
        )[:limit]
        claimed = []
        for r in due:
            r.claimed_by, r.claimed_until = holder, until
            n = self._notifications.rows[r.delivery.notification_id]
            agent = self._agents.rows.get(n.recipient)
            claimed.append(DueDelivery(r.delivery, n, agent.quiet_hours if agent else None))
        return claimed

    async def settle(self, delivery_id: int, *, holder: str, **values: Any) -> bool:
        r = self.rows.get(delivery_id)
        if r is None or r.claimed_by != holder or r.delivery.status != PENDING:
            return False
        r.delivery = replace(r.delivery, **values)
        r.claimed_by = r.claimed_until = None
        return True

    async def release(self, delivery_ids: Sequence[int], *, holder: str) -> None:
        for ident in delivery_ids:
            r = self.rows.get(ident)
            if r is not None and r.claimed_by == holder:
                r.claimed_by = r.claimed_until = None
