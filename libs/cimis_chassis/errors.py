"""Base classes for the rule violations services raise; the API turns them into problems."""

from __future__ import annotations


class DomainError(Exception):
    """A request that breaks a rule. ``code`` names the problem type, ``status`` its HTTP code."""

    status = 422

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ConflictError(DomainError):
    """Valid, but the entity's current state does not allow it."""

    status = 409


class NotFoundError(DomainError):
    status = 404

    def __init__(self, what: str, ident: str) -> None:
        super().__init__("not-found", f"{what} {ident} does not exist")
        self.what = what
        self.ident = ident
