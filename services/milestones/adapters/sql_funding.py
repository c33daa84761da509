"""Budget's word on each team, and its payouts, in a unit of work: read once (locked when it will
change), written at the flush."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.row_store import RowStore
from services.milestones.adapters.rows import funding_of, funding_row, payouts_of, payouts_row
from services.milestones.adapters.tables import team_funding, team_payouts
from services.milestones.domain.funding import Funding
from services.milestones.domain.payouts import TeamPayouts


class SqlFundings:
    def __init__(self, session: AsyncSession) -> None:
        # A plain INSERT for a team's first row: were a plan's creation and a budget event to
        # insert it at once, the loser's batch fails on the key and is read again, finding
        # the winner's row (see ports.Fundings).
        self._rows = RowStore[Funding](
            session, team_funding, key="team_id", to_row=funding_row, from_row=funding_of
        )

    async def load(self, team_ids: Iterable[str], *, lock: bool = False) -> None:
        await self._rows.load(team_ids, lock=lock)

    async def get(self, team_id: str, *, lock: bool = False) -> Funding | None:
        return await self._rows.get(team_id, lock=lock)

    async def put(self, funding: Funding) -> None:
        if await self._rows.get(funding.team_id) is None:
            self._rows.add(funding.team_id, funding)
        else:
            self._rows.put(funding.team_id, funding)

    async def flush(self) -> None:
        await self._rows.flush()


class SqlPayouts:
    def __init__(self, session: AsyncSession) -> None:
        self._rows = RowStore[TeamPayouts](
            session, team_payouts, key="team_id", to_row=payouts_row, from_row=payouts_of
        )

    async def load(self, team_ids: Iterable[str], *, lock: bool = False) -> None:
        await self._rows.load(team_ids, lock=lock)

    async def get(self, team_id: str, *, lock: bool = False) -> TeamPayouts | None:
        return await self._rows.get(team_id, lock=lock)

    async def put(self, payouts: TeamPayouts) -> None:
        if await self._rows.get(payouts.team_id) is None:
            self._rows.add(payouts.team_id, payouts)
        else:
            self._rows.put(payouts.team_id, payouts)

    async def flush(self) -> None:
        await self._rows.flush()
