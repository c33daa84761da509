"""`cimis budget reconcile` comes from the budget service; the CLI itself imports no service."""

from __future__ import annotations

import ast
from pathlib import Path

import typer
from typer.testing import CliRunner

from cimis_chassis.migrations import upgrade_to_head
from cimis_cli.main import add_service_commands
from services.budget.bootstrap import MIGRATIONS

CLI_SOURCES = Path(__file__).resolve().parents[3] / "libs" / "cimis_cli"


def test_cimis_budget_reconcile_is_mounted_from_the_service_and_checks_the_books(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'budget.db'}"
    upgrade_to_head(MIGRATIONS, url)
    root = typer.Typer()
    add_service_commands(root)

    result = CliRunner().invoke(root, ["budget", "reconcile", "--database-url", url])

    assert result.exit_code == 0, result.output
    assert "the books balance" in result.output


def test_the_cli_imports_no_service() -> None:
    for source in CLI_SOURCES.glob("*.py"):
        tree = ast.parse(source.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("services"), f"{source.name}: {node.module}"
            if isinstance(node, ast.Import):
                assert all(not a.name.startswith("services") for a in node.names), source.name
