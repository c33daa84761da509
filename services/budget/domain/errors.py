"""Rule violations the budget domain raises; the chassis maps them to problem responses."""

from __future__ import annotations

from cimis_chassis.errors import ConflictError, DomainError, NotFoundError


class BudgetRuleViolation(DomainError):
    """A request that breaks a budget rule (422)."""


class BudgetStateConflict(ConflictError):
    """Valid, but the budget's or expense's current state does not allow it (409)."""


NotFound = NotFoundError
