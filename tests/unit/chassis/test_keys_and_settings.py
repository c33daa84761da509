"""API keys are stored as hashes and checked by role; a service without a keys file won't start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cimis_chassis.auth import KeyStore, Role, create_key
from cimis_chassis.settings import ServiceSettings, StartupError
from cimis_cli.main import app


def test_cli_prints_the_key_once_and_stores_only_its_hash(tmp_path: Path) -> None:
    keys_file = tmp_path / "api-keys.json"
    result = CliRunner().invoke(
        app,
        [
            "keys",
            "create",
            "--role",
            "finance",
            "--principal",
            "fiona",
            "--keys-file",
            str(keys_file),
        ],
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[0]
    stored = keys_file.read_text()
    assert token not in stored
    [entry] = json.loads(stored)["keys"]
    assert (entry["role"], entry["principal"]) == ("finance", "fiona")
    principal = KeyStore(keys_file).verify(token)
    assert principal is not None
    assert (principal.name, principal.role) == ("fiona", Role.FINANCE)
    assert keys_file.stat().st_mode & 0o077 == 0


def test_a_tampered_or_foreign_token_is_refused(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.json"
    token = create_key(keys_file, role=Role.STAFF, principal="sam")
    store = KeyStore(keys_file)
    assert store.verify(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert store.verify("cimis_unknown_secret") is None
    assert store.verify("not-a-cimis-token") is None


def test_new_keys_are_seen_without_a_restart(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.json"
    create_key(keys_file, role=Role.STAFF, principal="sam")
    store = KeyStore(keys_file)
    later = create_key(keys_file, role=Role.AGENT, principal="agent-anna")
    principal = store.verify(later)
    assert principal is not None
    assert principal.is_agent


def test_a_missing_keys_file_fails_start_up_with_what_to_do(tmp_path: Path) -> None:
    settings = ServiceSettings(cimis_api_keys_file=tmp_path / "nope.json")
    with pytest.raises(StartupError, match="cimis keys create"):
        settings.require_api_keys_file()


def test_the_database_defaults_to_a_sqlite_file_per_service(tmp_path: Path) -> None:
    settings = ServiceSettings(service_name="intake", var_dir=tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path / 'intake.db'}"
