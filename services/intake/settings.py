"""Intake's settings: the chassis settings with intake's defaults."""

from __future__ import annotations

from cimis_chassis.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    service_name: str = "intake"
    http_port: int = 8001
