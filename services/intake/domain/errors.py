"""Rule violations the intake domain raises; the chassis maps them to problem responses."""

from __future__ import annotations

from cimis_chassis.errors import ConflictError, DomainError, NotFoundError


class IntakeRuleViolation(DomainError):
    """A request that breaks a programme rule."""


class StateConflict(ConflictError):
    """The request is valid but the team's current state does not allow it."""


NotFound = NotFoundError
