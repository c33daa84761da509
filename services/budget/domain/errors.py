"""Rule violations the budget domain raises; the chassis maps them to problem responses."""

from __future__ import annotations

from cimis_chassis.errors import ConflictError, DomainError, ForbiddenError, NotFoundError


class BudgetRuleViolation(DomainError):
    """A request that breaks a budget rule."""


class BudgetStateConflict(ConflictError):
    """Valid, but the budget's or expense's current state does not allow it."""


class FourEyesViolation(ForbiddenError):
    """One person both submitting and deciding on an expense, or undoing their own decision."""


NotFound = NotFoundError
