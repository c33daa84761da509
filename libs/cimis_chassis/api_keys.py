"""The API keys file: key hashes with role, principal, expiry and revocation; and their last use.

The file (``CIMIS_API_KEYS_FILE``) is ``{"keys": [{"id", "sha256", "role", "principal",
"person"?, "created_at", "expires_at"?, "revoked_at"?}]}`` and only ``cimis keys`` writes it.
Four eyes compare principals, so a principal must stand for one person: a person's live keys
all carry one principal name, and a principal name holds one role. Services
record when they last saw each key in ``<keys file>.last-used/<service>.json`` instead, so a
request never rewrites the keys file; ``cimis keys list`` merges those sidecars.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import os
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from cimis_chassis.text import comparison_key

log = logging.getLogger(__name__)

TOKEN_PREFIX = "cimis"  # noqa: S105 - a public prefix, not a secret
# Last use is kept to the minute: a busy key costs one small file write a minute, not one a
# request.
LAST_USED_WRITE_INTERVAL = timedelta(seconds=60)


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


class KeyFileError(ValueError):
    """A change the keys file refuses (a principal under a second role, an unknown key id)."""


class KeyRefused(Exception):
    """A token that does not admit anyone; the message says why, for the 401 answer."""


@dataclass(frozen=True)
class KeyRecord:
    """One key as ``cimis keys list`` shows it (never its hash)."""

    id: str
    role: str
    principal: str
    created_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None = None
    person: str | None = None  # who holds it, when not named by the principal itself

    def status(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _parse_time(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"keys": []}
    data: dict[str, Any] = json.loads(path.read_text() or "{}")
    data.setdefault("keys", [])
    return data


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` atomically with a file only its owner can read."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)  # O_CREAT's mode does not apply to a leftover file
    tmp.replace(path)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[dict[str, Any]]:
    """The keys file's content under an exclusive lock, written back when the block ends."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock_fd = os.open(path.with_suffix(path.suffix + ".lock"), os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(lock_fd, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = _read(path)
        yield data
        _write_private(path, json.dumps(data, indent=2) + "\n")


def _live_roles(entries: Iterable[dict[str, Any]]) -> dict[str, set[str]]:
    """The roles each principal holds through keys that are not revoked.

    A revoked key no longer claims its principal's name: revoking is how an administrator
    settles a clash that an older keys file already has.
    """
    roles: dict[str, set[str]] = {}
    for entry in entries:
        if not entry.get("revoked_at"):
            principal = comparison_key(str(entry.get("principal")))
            roles.setdefault(principal, set()).add(str(entry.get("role")))
    return roles


def _live_principals(entries: Iterable[dict[str, Any]]) -> dict[str, set[str]]:
    """The principal names each person uses through keys that are not revoked."""
    names: dict[str, set[str]] = {}
    for entry in entries:
        if not entry.get("revoked_at"):
            principal = str(entry.get("principal"))
            person = comparison_key(str(entry.get("person") or principal))
            names.setdefault(person, set()).add(principal)
    return names


def create_key(
    path: Path,
    *,
    role: Role,
    principal: str,
    expires_in_days: int | None = None,
    person: str | None = None,
) -> str:
    """Create a key, store only its hash in ``path`` and return the token (shown once).

    A principal name belongs to one role: a name that has live keys under another role is
    refused (``KeyFileError``), since services scope data by the name (an agent key named
    ``staff`` would read what is addressed to staff). Names compare in any case and Unicode
    form. ``person`` (default: the principal) is who holds the key: a person with live keys
    under one principal name gets no key under another, or four eyes (which compare
    principals) could be passed by one person with a staff and a finance key. Keys carry 256
    random bits, so a plain SHA-256 is as safe as a slow password hash here.
    """
    if not principal.strip():
        raise ValueError("principal must not be empty")
    if expires_in_days is not None and expires_in_days < 1:
        raise ValueError("expires_in_days must be at least 1")
    key_id = secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    now = _utc_now()
    with _locked(path) as data:
        other_roles = _live_roles(data["keys"]).get(comparison_key(principal), set()) - {role.value}
        if other_roles:
            raise KeyFileError(
                f"principal {principal!r} already has keys as {', '.join(sorted(other_roles))}; "
                "a principal name belongs to one role (choose another name, or revoke those "
                "keys first with 'cimis keys revoke KEY_ID')"
            )
        holder = person.strip() if person and person.strip() else principal
        other_names = {
            name
            for name in _live_principals(data["keys"]).get(comparison_key(holder), set())
            if comparison_key(name) != comparison_key(principal)
        }
        if other_names:
            raise KeyFileError(
                f"person {holder!r} already holds keys as {', '.join(sorted(other_names))}; "
                "one person acts under one principal, so that four eyes see two different "
                "people (revoke those keys first with 'cimis keys revoke KEY_ID')"
            )
        entry: dict[str, Any] = {
            "id": key_id,
            "sha256": _hash(token),
            "role": role.value,
            "principal": principal,
            "created_at": _stamp(now),
        }
        if holder != principal:
            entry["person"] = holder
        if expires_in_days is not None:
            entry["expires_at"] = _stamp(now + timedelta(days=expires_in_days))
        data["keys"].append(entry)
    return token


def revoke_key(path: Path, key_id: str) -> KeyRecord:
    """Mark a key revoked (it stays in the file, with the time); revoking twice keeps the first."""
    with _locked(path) as data:
        for entry in data["keys"]:
            if entry.get("id") == key_id:
                entry.setdefault("revoked_at", _stamp(_utc_now()))
                return _record(entry)
    raise KeyFileError(f"no key {key_id!r} in {path}")


def _record(entry: dict[str, Any], last_used_at: datetime | None = None) -> KeyRecord:
    return KeyRecord(
        id=str(entry.get("id")),
        role=str(entry.get("role")),
        principal=str(entry.get("principal")),
        created_at=_parse_time(entry.get("created_at")),
        expires_at=_parse_time(entry.get("expires_at")),
        revoked_at=_parse_time(entry.get("revoked_at")),
        last_used_at=last_used_at,
        person=str(entry["person"]) if entry.get("person") else None,
    )


def last_used_dir(keys_file: Path) -> Path:
    """Where services record the last use of keys: one JSON file per service."""
    return keys_file.with_name(keys_file.name + ".last-used")


def read_last_used(keys_file: Path) -> dict[str, datetime]:
    """The latest use of each key id over every service's sidecar file."""
    latest: dict[str, datetime] = {}
    directory = last_used_dir(keys_file)
    if not directory.is_dir():
        return latest
    for sidecar in sorted(directory.glob("*.json")):
        for key_id, moment in _read_sidecar(sidecar).items():
            if key_id not in latest or moment > latest[key_id]:
                latest[key_id] = moment
    return latest


def _read_sidecar(path: Path) -> dict[str, datetime]:
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    parsed = {str(k): _parse_time(v) for k, v in raw.items()}
    return {k: v for k, v in parsed.items() if v is not None}


def list_keys(path: Path) -> list[KeyRecord]:
    """Every key in the file, oldest first, with its last use merged from the services."""
    last_used = read_last_used(path)
    return [_record(e, last_used.get(str(e.get("id")))) for e in _read(path)["keys"]]


class _LastUse:
    """One service's record of when it last admitted each key, written at most once a minute."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._seen: dict[str, datetime] = {}
        self._written: dict[str, datetime] = {}

    def seen(self, key_id: str, at: datetime) -> None:
        self._seen[key_id] = at
        written = self._written.get(key_id)
        if written is None or at - written >= LAST_USED_WRITE_INTERVAL:
            self.flush()

    def flush(self) -> None:
        if not self._seen:
            return
        try:
            self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Another instance of the same service may share the file: keep the later time.
            merged = _read_sidecar(self._path)
            for key_id, moment in self._seen.items():
                if key_id not in merged or moment > merged[key_id]:
                    merged[key_id] = moment
            _write_private(
                self._path, json.dumps({k: _stamp(v) for k, v in sorted(merged.items())}) + "\n"
            )
        except OSError:
            # Bookkeeping only: a read-only or full disk must not refuse the request (and is
            # tried again a minute later, not on every request).
            log.warning("could not record key use in %s", self._path, exc_info=True)
        for key_id, moment in self._seen.items():
            self._written[key_id] = moment


class KeyStore:
    """Verifies bearer tokens against the keys file, re-reading it when it changes.

    Refuses revoked and expired keys, and every key of a principal that the file gives more
    than one role (logged as an error when the file is read). With ``service`` set, records
    each key's last use in ``<keys file>.last-used/<service>.json``.
    """

    def __init__(
        self,
        path: Path,
        *,
        service: str | None = None,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._path = path
        self._now = now
        self._version: tuple[int, int, int] | None = None
        self._by_id: dict[str, dict[str, Any]] = {}
        self._clashing: set[str] = set()
        self._split: set[str] = set()
        self._last_use = _LastUse(last_used_dir(path) / f"{service}.json") if service else None

    def _refresh(self) -> None:
        # The inode changes on every atomic rewrite, so two writes within one mtime tick are
        # still told apart.
        stat = self._path.stat()
        version = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if version == self._version:
            return
        entries = _read(self._path)["keys"]
        clashing = {name for name, roles in _live_roles(entries).items() if len(roles) > 1}
        if clashing:
            log.error(
                "keys file %s gives principal(s) %s more than one role; all their keys are "
                "refused until the wrong ones are revoked ('cimis keys list', 'cimis keys "
                "revoke KEY_ID')",
                self._path,
                ", ".join(sorted(clashing)),
            )
        split = {
            person
            for person, names in _live_principals(entries).items()
            if len({comparison_key(n) for n in names}) > 1
        }
        if split:
            log.error(
                "keys file %s gives person(s) %s keys under more than one principal; their "
                "keys are refused until the wrong ones are revoked",
                self._path,
                ", ".join(sorted(split)),
            )
        self._by_id = {str(e.get("id")): e for e in entries}
        self._clashing = clashing
        self._split = split
        self._version = version

    def check(self, token: str) -> Principal:
        """The principal ``token`` admits; else ``KeyRefused`` saying why."""
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
            raise KeyRefused("The API key is not valid.")
        self._refresh()
        entry = self._by_id.get(parts[1])
        if entry is None or not hmac.compare_digest(str(entry.get("sha256")), _hash(token)):
            raise KeyRefused("The API key is not valid.")
        # From here on the caller holds the real key, so saying why it fails leaks nothing.
        if entry.get("revoked_at"):
            raise KeyRefused("The API key has been revoked.")
        now = self._now()
        if "expires_at" in entry:
            expires_at = _parse_time(entry["expires_at"])
            if expires_at is None or now >= expires_at:
                raise KeyRefused("The API key has expired.")
        principal_key = comparison_key(str(entry.get("principal")))
        if principal_key in self._clashing:
            raise KeyRefused(
                "The API key's principal has keys under more than one role; an administrator "
                "must revoke the wrong ones."
            )
        if comparison_key(str(entry.get("person") or entry.get("principal"))) in self._split:
            raise KeyRefused(
                "The API key's holder has keys under more than one principal; an "
                "administrator must revoke the wrong ones."
            )
        try:
            principal = Principal(
                name=str(entry["principal"]), role=Role(entry["role"]), key_id=parts[1]
            )
        except (KeyError, ValueError):
            raise KeyRefused("The API key is not valid.") from None
        if self._last_use is not None:
            self._last_use.seen(principal.key_id, now)
        return principal

    def verify(self, token: str) -> Principal | None:
        """The principal ``token`` admits, or None."""
        try:
            return self.check(token)
        except KeyRefused:
            return None

    def flush_last_used(self) -> None:
        """Write the last uses not yet on disk (at shutdown)."""
        if self._last_use is not None:
            self._last_use.flush()
