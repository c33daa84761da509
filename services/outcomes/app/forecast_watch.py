"""The burn-rate watch: each running team's spending against its plan, announced when its
status changes (ahead, behind, back on track), and the per-call figures for the metrics."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

from cimis_chassis.envelope import new_event_id
from cimis_chassis.unit_of_work import Cause
from cimis_contracts.outcomes import TeamSpendingOffPlanV1
from services.outcomes.app.ports import OutcomesUnitOfWork
from services.outcomes.domain.forecast import ON_TRACK
from services.outcomes.domain.report import BERLIN, end_of_day

log = logging.getLogger(__name__)

UnitFactory = Callable[[Cause], AbstractAsyncContextManager[OutcomesUnitOfWork]]


@dataclass
class CallBurn:
    """One call's teams by status and the money its teams' pace would leave unspent."""

    teams: Counter[str] = field(default_factory=Counter)
    forecast_unspent_cents: int = 0


class ForecastWatch:
    def __init__(self, units: UnitFactory) -> None:
        self._units = units

    async def run_once(self) -> tuple[list[str], dict[str, CallBurn]]:
        """Announce every changed status; the teams announced and each call's figures."""
        announced: list[str] = []
        by_call: dict[str, CallBurn] = {}
        async with self._units(Cause("scheduler:burn-rate", new_event_id())) as uow:
            now = uow.clock.now()
            today = now.astimezone(BERLIN).date()
            for watched in await uow.forecasts.watched(end_of_day(today)):
                progress = watched.progress
                result = progress.forecast(today)
                burn = by_call.setdefault(progress.call_id, CallBurn())
                burn.teams[result.status] += 1
                burn.forecast_unspent_cents += result.forecast_unspent_at_end_cents
                # A first look that finds a team on track is no news; any change after is.
                first_and_fine = watched.last_status is None and result.status == ON_TRACK
                if result.status == watched.last_status:
                    continue
                changed = await uow.forecasts.change(
                    progress.team_id,
                    was=watched.last_status,
                    now_is=result.status,
                    as_of=today,
                    at=now,
                )
                if not changed or first_and_fine:
                    continue
                await uow.emit(
                    TeamSpendingOffPlanV1(
                        team_id=progress.team_id,
                        call_id=progress.call_id,
                        status=result.status,
                        spent_cents=result.spent_cents,
                        expected_cents=result.expected_by_now_cents,
                        forecast_unspent_cents=result.forecast_unspent_at_end_cents,
                        allocated_cents=result.allocated_cents,
                        plan_ends_on=result.plan_ends_on,
                        as_of=today,
                        detected_at=now,
                        spending_ends_on=result.ends_on,
                    )
                )
                await uow.audit(
                    "forecast.status_changed",
                    "team",
                    progress.team_id,
                    before={"status": watched.last_status},
                    after={"status": result.status, "as_of": today.isoformat()},
                )
                announced.append(progress.team_id)
        return announced, by_call
