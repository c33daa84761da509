"""The milestones service's settings: the chassis settings with its defaults and scan pacing."""

from __future__ import annotations

from pydantic import Field

from cimis_chassis.settings import ServiceSettings


class MilestonesSettings(ServiceSettings):
    service_name: str = "milestones"
    http_port: int = 8003
    # Overdue is decided per Berlin calendar day, so a scan every half minute is prompt enough.
    overdue_scan_seconds: float = Field(default=30.0, gt=0)
    overdue_scan_batch_size: int = Field(default=500, gt=0, le=10_000)
    # TEST ONLY: shifts the service's clock by this many seconds so process tests can move
    # time past due dates. Never set it in production.
    cimis_clock_offset_seconds: float = 0.0
