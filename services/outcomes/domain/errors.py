"""Rule violations the outcomes domain raises; the chassis maps them to problem responses."""

from __future__ import annotations

from cimis_chassis.errors import ConflictError, DomainError, ForbiddenError, NotFoundError


class OutcomesRuleViolation(DomainError):
    """A request that breaks a programme rule."""


class StateConflict(ConflictError):
    """Valid, but the blueprint's or the team's current state does not allow it."""


Forbidden = ForbiddenError
NotFound = NotFoundError
