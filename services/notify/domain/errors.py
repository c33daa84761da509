"""Rule violations the notify domain raises; the chassis maps them to problem responses."""

from __future__ import annotations

from cimis_chassis.errors import ConflictError, DomainError, ForbiddenError, NotFoundError


class NotifyRuleViolation(DomainError):
    """A request that breaks one of notify's rules."""


class Forbidden(ForbiddenError):
    """The principal may not act on this object (another agent's notification)."""

    def __init__(self, message: str) -> None:
        super().__init__("forbidden", message)


StateConflict = ConflictError
NotFound = NotFoundError
