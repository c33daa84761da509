"""`cimis migrate <service>`: what the chart's migration Jobs run."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from cimis_chassis.migrations import alembic_config
from cimis_cli.main import app
from services.intake.bootstrap import MIGRATIONS


def test_brings_the_services_database_to_its_newest_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'intake.db'}"

    result = CliRunner().invoke(app, ["migrate", "intake"], env={"DATABASE_URL": url})

    assert result.exit_code == 0, result.output
    head = ScriptDirectory.from_config(alembic_config(MIGRATIONS, url)).get_current_head()
    with sqlite3.connect(tmp_path / "intake.db") as connection:
        [(version,)] = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    assert version == head


def test_a_second_run_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    runner = CliRunner()
    runner.invoke(app, ["migrate", "intake"], env={"DATABASE_URL": url})
    before = (tmp_path / "intake.db").read_bytes()

    result = runner.invoke(app, ["migrate", "intake"], env={"DATABASE_URL": url})

    assert result.exit_code == 0, result.output
    assert (tmp_path / "intake.db").read_bytes() == before


@pytest.mark.parametrize(
    ("args", "env", "complaint"),
    [
        (["migrate", "intkae"], {"DATABASE_URL": "sqlite://"}, "'intkae' is not a service"),
        # Without a URL it would migrate a throw-away SQLite file and report success.
        (["migrate", "intake"], {"DATABASE_URL": ""}, "Missing option"),
    ],
)
def test_refuses_what_it_cannot_migrate(
    args: list[str], env: dict[str, str], complaint: str
) -> None:
    result = CliRunner().invoke(app, args, env=env)

    assert result.exit_code == 2
    assert complaint in result.output
