"""One team's money as the programme rules say it must be, replayed step by step in cents."""

from __future__ import annotations

from dataclasses import dataclass, field

ACCEPTANCE = "acceptance"
# The calls are opened without a tranche or phase plan, so the programme defaults apply
# (DOMAIN.md): a milestone's tranche waits for it and for every milestone before it.
TRANCHE_PLAN = ((ACCEPTANCE, 40), ("prototype", 40), ("final", 20))
PHASES = ("kickoff", "workshop", "prototype", "test", "final")
THRESHOLDS = (50, 80, 100)


def tranche_amounts(allocated_cents: int) -> dict[str, int]:
    """Cumulative percentages floored to the cent, so the tranches add up to the allocation."""
    amounts: dict[str, int] = {}
    cumulative_percent = released = 0
    for trigger, percent in TRANCHE_PLAN:
        cumulative_percent += percent
        upto = allocated_cents * cumulative_percent // 100
        amounts[trigger] = upto - released
        released = upto
    return amounts


@dataclass
class TeamBook:
    allocated_cents: int
    released_cents: int = 0
    pending_cents: int = 0
    approved_cents: int = 0
    closed: bool = False
    released_triggers: set[str] = field(default_factory=set)
    completed: set[str] = field(default_factory=set)
    thresholds_crossed: list[int] = field(default_factory=list)

    @property
    def available_cents(self) -> int:
        # A closed team's unspent money went back to the pot.
        if self.closed:
            return 0
        return self.released_cents - self.pending_cents - self.approved_cents

    @property
    def returned_cents(self) -> int:
        """What a withdrawal gave back to the pot (pending money stays with the team)."""
        if not self.closed:
            return 0
        return self.allocated_cents - self.pending_cents - self.approved_cents

    def release(self, trigger: str) -> None:
        amounts = tranche_amounts(self.allocated_cents)
        if trigger in amounts and trigger not in self.released_triggers and not self.closed:
            self.released_triggers.add(trigger)
            self.released_cents += amounts[trigger]

    def complete(self, key: str) -> None:
        """A milestone completed: release every tranche whose milestones are now all done."""
        self.completed.add(key)
        for trigger, _ in TRANCHE_PLAN:
            if trigger != ACCEPTANCE and set(PHASES[: PHASES.index(trigger) + 1]) <= self.completed:
                self.release(trigger)

    def submit(self, fundable_cents: int) -> None:
        assert not self.closed, "invalid workload: spending after a withdrawal"
        assert 0 < fundable_cents <= self.available_cents, "invalid workload: overspending"
        self.pending_cents += fundable_cents

    def approve(self, fundable_cents: int) -> None:
        self.pending_cents -= fundable_cents
        self.approved_cents += fundable_cents
        for threshold in THRESHOLDS:
            reached = self.approved_cents * 100 >= threshold * self.allocated_cents
            if reached and threshold not in self.thresholds_crossed:
                self.thresholds_crossed.append(threshold)

    def reject(self, fundable_cents: int) -> None:
        self.pending_cents -= fundable_cents

    def reverse(self, fundable_cents: int) -> None:
        # Thresholds once announced stay announced.
        self.approved_cents -= fundable_cents

    def close(self) -> None:
        self.closed = True
