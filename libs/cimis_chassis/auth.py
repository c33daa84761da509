"""Bearer tokens on the wire and one role gate per route; the keys themselves are in api_keys."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request

from cimis_chassis.api_keys import (
    READ_ALL,
    TOKEN_PREFIX,
    KeyRefused,
    KeyStore,
    Principal,
    Role,
    create_key,
)
from cimis_chassis.problems import Problem

__all__ = [
    "PRINCIPAL_STATE",
    "READ_ALL",
    "TOKEN_PREFIX",
    "KeyStore",
    "Principal",
    "Role",
    "authenticate",
    "create_key",
    "principal_from_header",
    "require",
]

# The request-state attribute where the HTTP edge leaves the principal it admitted.
PRINCIPAL_STATE = "principal"


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})


def principal_from_header(store: KeyStore, authorization: str) -> Principal:
    """The principal an ``Authorization: Bearer <key>`` header admits; else a 401 problem."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Send an API key as 'Authorization: Bearer <key>'.")
    try:
        return store.check(token.strip())
    except KeyRefused as refused:
        raise _unauthorized(str(refused)) from None


def authenticate(request: Request) -> Principal:
    """The request's principal: the one the HTTP edge admitted, else from the header."""
    admitted = getattr(request.state, PRINCIPAL_STATE, None)
    if isinstance(admitted, Principal):
        return admitted
    store: KeyStore = request.app.state.key_store
    return principal_from_header(store, request.headers.get("authorization", ""))


def require(*roles: Role) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """A FastAPI dependency admitting ``roles`` (admins always) and returning the principal."""
    allowed = frozenset(roles) | {Role.ADMIN}

    async def dependency(request: Request) -> Principal:
        principal = authenticate(request)
        if principal.role not in allowed:
            raise Problem(
                403,
                "forbidden",
                f"The role '{principal.role}' may not do this; allowed: "
                + ", ".join(sorted(r.value for r in allowed)),
            )
        return principal

    return dependency
