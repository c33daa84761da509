"""The double-entry ledger: accounts, transfers whose entries sum to zero, and their ids.

Sign convention: an entry adds its amount to its account's balance; a transfer of ``amount``
from A to B writes ``A: -amount`` and ``B: +amount``. The funding account of a call is the only
one that goes negative, so the books (all balances together) always sum to zero.
"""

from __future__ import annotations

from dataclasses import dataclass


def funding(call_id: str) -> str:
    return f"call:{call_id}:funding"


def pot(call_id: str) -> str:
    return f"call:{call_id}:pot"


def reserved(team_id: str) -> str:
    """Allocated to the team but not yet released."""
    return f"team:{team_id}:reserved"


def released(team_id: str) -> str:
    """Released and free to spend: the team's ``available`` money."""
    return f"team:{team_id}:released"


def pending(team_id: str) -> str:
    """Submitted expenses awaiting finance."""
    return f"team:{team_id}:pending"


def spent(team_id: str) -> str:
    """Approved expenses not yet paid out."""
    return f"team:{team_id}:spent"


def paid(team_id: str) -> str:
    """Approved expenses paid out to the team's bank account."""
    return f"team:{team_id}:paid"


@dataclass(frozen=True)
class Transfer:
    """One movement of money. ``id`` derives from its cause, so a replay cannot book it twice."""

    id: str
    kind: str
    from_account: str
    to_account: str
    amount_cents: int
    call_id: str
    team_id: str | None = None
    expense_id: str | None = None

    def __post_init__(self) -> None:
        if self.amount_cents <= 0:
            raise ValueError(f"transfer {self.id} must move a positive amount")
        if self.from_account == self.to_account:
            raise ValueError(f"transfer {self.id} moves money to where it came from")

    def entries(self) -> tuple[tuple[str, int], tuple[str, int]]:
        return ((self.from_account, -self.amount_cents), (self.to_account, self.amount_cents))


class Books:
    """Balances in memory: what the ledger tables hold, for rules and property tests."""

    def __init__(self) -> None:
        self.balances: dict[str, int] = {}
        self.transfer_ids: set[str] = set()

    def post(self, transfer: Transfer) -> bool:
        """Apply ``transfer`` once; False (and no change) when its id was booked before."""
        if transfer.id in self.transfer_ids:
            return False
        self.transfer_ids.add(transfer.id)
        for account, amount in transfer.entries():
            self.balances[account] = self.balances.get(account, 0) + amount
        return True

    def balance(self, account: str) -> int:
        return self.balances.get(account, 0)

    def total(self) -> int:
        return sum(self.balances.values())
