"""The kinds of rule violation services raise; the HTTP layer decides how each is answered."""

from __future__ import annotations


class DomainError(Exception):
    """A request or event that breaks a rule; ``code`` names the problem type."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ConflictError(DomainError):
    """Valid, but the entity's current state does not allow it."""


class ForbiddenError(DomainError):
    """The acting principal may not do this to this object (another's team, their own expense)."""


class NotFoundError(DomainError):
    """The entity the request names does not exist."""

    def __init__(self, what: str, ident: str) -> None:
        super().__init__("not-found", f"{what} {ident} does not exist")
        self.what = what
        self.ident = ident
