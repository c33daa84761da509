"""Rule violations the milestones domain raises; the chassis maps them to problem responses."""

from __future__ import annotations

from cimis_chassis.errors import ConflictError, DomainError, ForbiddenError, NotFoundError


class MilestoneRuleViolation(DomainError):
    """A request or event that breaks a programme rule."""


class StateConflict(ConflictError):
    """Valid, but the milestone's or plan's current state does not allow it."""


class NotYourTeam(ForbiddenError):
    """An agent acting on a team they do not coach."""

    def __init__(self, message: str) -> None:
        super().__init__("forbidden", message)


class FourEyesViolation(ForbiddenError):
    """One person both reporting a milestone and confirming it."""


NotFound = NotFoundError
