"""Files a service creates under var/ are its owner's only."""

from __future__ import annotations

import contextlib
import sqlite3
import stat
from pathlib import Path

from cimis_chassis.database import Database, prepare_sqlite_file


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_sqlite_database_and_its_directory_are_private(tmp_path: Path) -> None:
    db_file = tmp_path / "var" / "budget.db"
    db = Database(f"sqlite:///{db_file}")
    try:
        await db.ping()
        async with db.transaction() as session:
            await session.connection()
    finally:
        await db.dispose()
    assert _mode(db_file) == 0o600
    assert _mode(db_file.parent) == 0o700
    for companion in tmp_path.glob("var/budget.db-*"):  # WAL and shared memory
        assert _mode(companion) & 0o077 == 0, companion


def test_an_existing_database_is_left_as_it_is(tmp_path: Path) -> None:
    db_file = tmp_path / "intake.db"
    db_file.write_bytes(b"")
    db_file.chmod(0o640)
    prepare_sqlite_file(f"sqlite:///{db_file}")
    assert _mode(db_file) == 0o640
    prepare_sqlite_file("sqlite:///:memory:")
    prepare_sqlite_file("postgresql://cimis@localhost/cimis")


def test_a_new_database_is_in_wal_mode_before_any_service_connects(tmp_path: Path) -> None:
    # Switching into WAL needs the database to itself: done once, at creation, not raced for
    # by a service's first connections.
    db_file = tmp_path / "notify.db"
    prepare_sqlite_file(f"sqlite:///{db_file}")
    with contextlib.closing(sqlite3.connect(db_file)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert _mode(db_file) == 0o600
