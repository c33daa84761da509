"""Which of a team's tranches budget has paid out, as budget's events tell it: a milestone
whose tranche has money paid out to the team can no longer be reopened."""

from __future__ import annotations

from dataclasses import dataclass, replace

# The tranche budget releases on acceptance: no milestone releases it.
ACCEPTANCE = "acceptance"


@dataclass(frozen=True)
class TeamPayouts:
    """Budget's released tranches of one team, in release order, and what it paid the team.

    Budget's events of one team arrive in order (keyed by team), so each one updates this.
    """

    team_id: str
    call_id: str
    # (trigger, amount_cents) of each tranche released and not withdrawn, in release order.
    released: tuple[tuple[str, int], ...] = ()
    # Paid to the team's bank account in total, as budget's latest payment event says
    # (a payment the bank returned is taken off again).
    paid_total_cents: int = 0

    def release(self, trigger: str, amount_cents: int) -> TeamPayouts:
        if any(t == trigger for t, _ in self.released):
            return self  # heard already
        return replace(self, released=(*self.released, (trigger, amount_cents)))

    def withdraw(self, trigger: str) -> TeamPayouts:
        return replace(self, released=tuple(r for r in self.released if r[0] != trigger))

    def paid(self, paid_total_cents: int) -> TeamPayouts:
        return replace(self, paid_total_cents=paid_total_cents)

    def paid_out(self) -> frozenset[str]:
        """The tranches of which money has been paid to the team. Money paid is counted
        against the tranches in the order they were released: the acceptance tranche is paid
        first, a milestone's tranche once payments exceed every tranche released before it."""
        paid_out: set[str] = set()
        before_cents = 0
        for trigger, amount_cents in self.released:
            if amount_cents and self.paid_total_cents > before_cents:
                paid_out.add(trigger)
            before_cents += amount_cents
        return frozenset(paid_out)
