"""What budget said about a team's money, and whether that starts or ends the team's plan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# Budget's word on a team, as intake shows it too: pending until its first event arrives.
PENDING, ALLOCATED, WAITING = "pending", "allocated", "waiting"
REFUSED, CLOSED = "refused", "closed"


@dataclass(frozen=True)
class Funding:
    """Budget's latest word on one team, kept whichever comes first, it or the team's plan.

    Budget's events of one team arrive in order (keyed by team), so the latest one stands.
    """

    team_id: str
    call_id: str
    status: str = PENDING
    # When budget decided (allocated, refused or closed); None while pending.
    decided_at: datetime | None = None
    # Allocated from the call's waiting list: the team waited for its money.
    from_waiting_list: bool = False

    @property
    def starts_plan(self) -> bool:
        return self.status == ALLOCATED

    @property
    def ends_plan(self) -> bool:
        # A wait on the waiting list is not an end: the team may still be funded.
        return self.status in (REFUSED, CLOSED)

    def yields_to(self, word: Funding) -> bool:
        """Whether budget's ``word``, heard after this one, becomes the team's.

        Budget's events of one team arrive in order, but one replayed from the dead letters
        may come late; budget never funds a team it refused for good or closed.
        """
        return word != self and not self.ends_plan
