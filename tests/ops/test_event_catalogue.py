"""The README's event catalogue is generated from the AsyncAPI documents and kept up to date."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cimis_cli.catalogue import BEGIN, END, CatalogueError, render_catalogue, replace_section
from cimis_cli.main import app
from tests.ops.support import README, REPO_ROOT

DOCS = REPO_ROOT / "docs" / "asyncapi"


def test_the_readme_catalogue_matches_the_asyncapi_documents() -> None:
    text = README.read_text()

    assert replace_section(text, render_catalogue(DOCS)) == text, (
        "the event catalogue in README.md is stale: run '.venv/bin/cimis catalogue --write "
        "README.md'"
    )


def test_the_catalogue_lists_every_documented_event_with_producer_and_consumers() -> None:
    catalogue = render_catalogue(DOCS)

    assert (
        "**`cimis.intake.v1`**: published by intake, consumed by budget, milestones, notify, "
        "outcomes." in (catalogue)
    )
    assert "| `de.cimis.budget.expense_approved.v1` | `team_id`, `call_id`, `expense_id`" in (
        catalogue
    )
    assert "`note?`" in catalogue  # optional fields are marked


def test_cimis_catalogue_write_replaces_only_the_marked_section(tmp_path: Path) -> None:
    target = tmp_path / "README.md"
    target.write_text(f"# Title\n\nkept\n\n{BEGIN}\nSTALE-SECTION\n{END}\n\nalso kept\n")

    result = CliRunner().invoke(app, ["catalogue", "--write", str(target), "--docs", str(DOCS)])

    assert result.exit_code == 0, result.output
    text = target.read_text()
    assert text.startswith("# Title\n\nkept\n\n")
    assert text.endswith(f"{END}\n\nalso kept\n")
    assert "STALE-SECTION" not in text
    assert render_catalogue(DOCS) in text


def test_a_file_without_markers_is_refused() -> None:
    with pytest.raises(CatalogueError):
        replace_section("# no markers here\n", "catalogue")
