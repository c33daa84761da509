"""API keys and roles: hashes on disk, bearer tokens on the wire, one role gate per route."""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from fastapi import Request

from cimis_chassis.problems import Problem

TOKEN_PREFIX = "cimis"  # noqa: S105 - a public prefix, not a secret


class Role(StrEnum):
    ADMIN = "admin"
    STAFF = "staff"
    FINANCE = "finance"
    AGENT = "agent"
    OPERATOR = "operator"


READ_ALL = (Role.STAFF, Role.FINANCE, Role.OPERATOR)


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    key_id: str

    @property
    def is_agent(self) -> bool:
        return self.role is Role.AGENT


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_key(path: Path, *, role: Role, principal: str) -> str:
    """Create a key, store only its hash in ``path`` and return the token (shown once).

    Keys carry 256 random bits, so a plain SHA-256 is as safe as a slow password hash here.
    """
    if not principal.strip():
        raise ValueError("principal must not be empty")
    key_id = secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_suffix(path.suffix + ".lock")
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = _read(path)
        data["keys"].append(
            {
                "id": key_id,
                "sha256": _hash(token),
                "role": role.value,
                "principal": principal,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        os.chmod(tmp, 0o600)
        tmp.replace(path)
    return token


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"keys": []}
    data: dict[str, Any] = json.loads(path.read_text() or "{}")
    data.setdefault("keys", [])
    return data


class KeyStore:
    """Verifies bearer tokens against the keys file, re-reading it when it changes."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._version: tuple[int, int, int] | None = None
        self._by_id: dict[str, dict[str, Any]] = {}

    def _refresh(self) -> None:
        # The inode changes on every atomic rewrite, so two writes within one mtime tick are
        # still told apart.
        stat = self._path.stat()
        version = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if version != self._version:
            self._by_id = {k["id"]: k for k in _read(self._path)["keys"]}
            self._version = version

    def verify(self, token: str) -> Principal | None:
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
            return None
        self._refresh()
        entry = self._by_id.get(parts[1])
        if entry is None or not hmac.compare_digest(entry["sha256"], _hash(token)):
            return None
        return Principal(name=entry["principal"], role=Role(entry["role"]), key_id=entry["id"])


def authenticate(request: Request) -> Principal:
    store: KeyStore = request.app.state.key_store
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(
            401,
            "unauthorized",
            "Send an API key as 'Authorization: Bearer <key>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    principal = store.verify(token.strip())
    if principal is None:
        raise Problem(
            401, "unauthorized", "The API key is not valid.", headers={"WWW-Authenticate": "Bearer"}
        )
    return principal


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
