"""API keys are stored as hashes and checked by role; a service without a keys file won't start."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cimis_chassis.api_keys import KeyFileError, KeyRefused, list_keys, revoke_key
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


def test_the_http_edge_defaults_are_generous_for_people() -> None:
    settings = ServiceSettings()
    assert settings.http_max_body_bytes == 1024 * 1024
    assert (settings.http_rate_per_key_per_second, settings.http_rate_burst_per_key) == (20, 300)
    assert settings.http_auth_failures_per_address == 10
    assert settings.http_auth_failure_window_seconds == 60
    assert settings.http_docs_enabled


class TestExpiryAndRevocation:
    def test_a_key_past_its_expiry_is_refused_and_says_so(self, tmp_path: Path) -> None:
        keys_file = tmp_path / "keys.json"
        token = create_key(keys_file, role=Role.STAFF, principal="sam", expires_in_days=30)
        [entry] = json.loads(keys_file.read_text())["keys"]
        expires_at = datetime.fromisoformat(entry["expires_at"])
        assert expires_at - datetime.now(UTC) > timedelta(days=29)

        assert KeyStore(keys_file, now=lambda: expires_at - timedelta(seconds=1)).verify(token)
        later = KeyStore(keys_file, now=lambda: expires_at)
        assert later.verify(token) is None
        with pytest.raises(KeyRefused, match="expired"):
            later.check(token)

    def test_an_expiry_below_one_day_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match="at least 1"):
            create_key(tmp_path / "k.json", role=Role.STAFF, principal="sam", expires_in_days=0)

    def test_a_revoked_key_stays_in_the_file_and_is_refused(self, tmp_path: Path) -> None:
        keys_file = tmp_path / "keys.json"
        token = create_key(keys_file, role=Role.STAFF, principal="sam")
        store = KeyStore(keys_file)
        principal = store.verify(token)
        assert principal is not None

        revoked = revoke_key(keys_file, principal.key_id)
        again = revoke_key(keys_file, principal.key_id)

        assert revoked.revoked_at is not None
        assert again.revoked_at == revoked.revoked_at
        [entry] = json.loads(keys_file.read_text())["keys"]
        assert entry["id"] == principal.key_id
        assert entry["revoked_at"]
        with pytest.raises(KeyRefused, match="revoked"):
            store.check(token)

    def test_revoking_an_unknown_key_fails(self, tmp_path: Path) -> None:
        keys_file = tmp_path / "keys.json"
        create_key(keys_file, role=Role.STAFF, principal="sam")
        with pytest.raises(KeyFileError, match="no key"):
            revoke_key(keys_file, "nope")


class TestOnePrincipalOneRole:
    def test_a_principal_is_not_given_a_second_role(self, tmp_path: Path) -> None:
        keys_file = tmp_path / "keys.json"
        create_key(keys_file, role=Role.STAFF, principal="staff")
        with pytest.raises(KeyFileError, match="belongs to one role"):
            create_key(keys_file, role=Role.AGENT, principal="staff")
        create_key(keys_file, role=Role.STAFF, principal="staff")  # a second key, same role
        assert len(json.loads(keys_file.read_text())["keys"]) == 2

    def test_names_compare_in_any_case_and_unicode_form(self, tmp_path: Path) -> None:
        keys_file = tmp_path / "keys.json"
        create_key(keys_file, role=Role.FINANCE, principal="Fiona")
        with pytest.raises(KeyFileError, match="belongs to one role"):
            create_key(keys_file, role=Role.STAFF, principal="ＦＩＯＮＡ")

    def test_one_person_acts_under_one_principal(self, tmp_path: Path) -> None:
        keys_file = tmp_path / "keys.json"
        create_key(keys_file, role=Role.STAFF, principal="sabine", person="s.rosner@example.org")
        # A finance key for the same person under another name would let her approve what
        # she submitted as staff: four eyes compare principals.
        with pytest.raises(KeyFileError, match="one person acts under one principal"):
            create_key(
                keys_file, role=Role.FINANCE, principal="sabine-fin", person="S.Rosner@example.org"
            )
        create_key(keys_file, role=Role.STAFF, principal="Sabine", person="s.rosner@example.org")
        create_key(keys_file, role=Role.FINANCE, principal="frank", person="f.berg@example.org")
        stored = json.loads(keys_file.read_text())["keys"]
        assert [k.get("person") for k in stored] == [
            "s.rosner@example.org",
            "s.rosner@example.org",
            "f.berg@example.org",
        ]

    def test_a_file_giving_one_person_two_principals_refuses_their_keys(
        self, tmp_path: Path
    ) -> None:
        keys_file = tmp_path / "keys.json"
        staff = create_key(keys_file, role=Role.STAFF, principal="sabine", person="s@example.org")
        other = create_key(
            tmp_path / "old.json", role=Role.FINANCE, principal="sab", person="s@example.org"
        )
        data = json.loads(keys_file.read_text())
        data["keys"] += json.loads((tmp_path / "old.json").read_text())["keys"]
        keys_file.write_text(json.dumps(data))
        store = KeyStore(keys_file)
        assert store.verify(staff) is None
        assert store.verify(other) is None

    def test_once_its_keys_are_revoked_the_name_is_free(self, tmp_path: Path) -> None:
        keys_file = tmp_path / "keys.json"
        token = create_key(keys_file, role=Role.AGENT, principal="staff")
        principal = KeyStore(keys_file).verify(token)
        assert principal is not None
        revoke_key(keys_file, principal.key_id)
        create_key(keys_file, role=Role.STAFF, principal="staff")

    def test_a_file_that_already_clashes_refuses_those_keys_and_logs_it(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        keys_file = tmp_path / "keys.json"
        staff = create_key(keys_file, role=Role.STAFF, principal="staff")
        other = create_key(keys_file, role=Role.FINANCE, principal="fiona")
        # An older file, written before the rule: an agent key named like the staff.
        agent = create_key(tmp_path / "old.json", role=Role.AGENT, principal="staff")
        data = json.loads(keys_file.read_text())
        data["keys"] += json.loads((tmp_path / "old.json").read_text())["keys"]
        keys_file.write_text(json.dumps(data))

        store = KeyStore(keys_file)
        with caplog.at_level(logging.ERROR, logger="cimis_chassis.api_keys"):
            assert store.verify(staff) is None
        assert "staff" in caplog.text
        assert "more than one role" in caplog.text
        assert store.verify(agent) is None
        with pytest.raises(KeyRefused, match="more than one role"):
            store.check(staff)
        assert store.verify(other) is not None


class TestLastUse:
    def test_a_service_records_last_use_beside_the_keys_file_at_most_once_a_minute(
        self, tmp_path: Path
    ) -> None:
        keys_file = tmp_path / "keys.json"
        token = create_key(keys_file, role=Role.STAFF, principal="sam")
        now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
        clock = [now]
        store = KeyStore(keys_file, service="budget", now=lambda: clock[0])
        keys_before = keys_file.read_text()

        principal = store.verify(token)
        assert principal is not None
        sidecar = tmp_path / "keys.json.last-used" / "budget.json"
        assert json.loads(sidecar.read_text()) == {principal.key_id: "2030-01-01T12:00:00+00:00"}
        assert sidecar.stat().st_mode & 0o077 == 0
        assert sidecar.parent.stat().st_mode & 0o077 == 0

        clock[0] = now + timedelta(seconds=59)
        store.verify(token)
        assert json.loads(sidecar.read_text())[principal.key_id] == "2030-01-01T12:00:00+00:00"
        clock[0] = now + timedelta(seconds=61)
        store.verify(token)
        assert json.loads(sidecar.read_text())[principal.key_id] == "2030-01-01T12:01:01+00:00"
        assert keys_file.read_text() == keys_before  # requests never rewrite the keys file

    def test_the_list_merges_every_services_last_use(self, tmp_path: Path) -> None:
        keys_file = tmp_path / "keys.json"
        used = create_key(keys_file, role=Role.STAFF, principal="sam")
        create_key(keys_file, role=Role.FINANCE, principal="fiona", expires_in_days=7)
        early = datetime(2030, 1, 1, tzinfo=UTC)
        KeyStore(keys_file, service="intake", now=lambda: early).verify(used)
        KeyStore(keys_file, service="budget", now=lambda: early + timedelta(hours=2)).verify(used)

        sam, fiona = list_keys(keys_file)

        assert (sam.principal, sam.last_used_at) == ("sam", early + timedelta(hours=2))
        assert (fiona.principal, fiona.last_used_at) == ("fiona", None)
        assert fiona.expires_at is not None


class TestKeysCommands:
    def test_list_shows_role_principal_use_expiry_and_status(self, tmp_path: Path) -> None:
        keys_file = tmp_path / "keys.json"
        used = create_key(keys_file, role=Role.STAFF, principal="sam")
        create_key(keys_file, role=Role.OPERATOR, principal="olga", expires_in_days=7)
        revoked = create_key(keys_file, role=Role.FINANCE, principal="fiona")
        store = KeyStore(keys_file, service="intake")
        sam, fiona = store.verify(used), store.verify(revoked)
        assert sam is not None
        assert fiona is not None
        revoke_key(keys_file, fiona.key_id)

        result = CliRunner().invoke(app, ["keys", "list", "--keys-file", str(keys_file)])

        assert result.exit_code == 0, result.output
        header, *rows = result.stdout.splitlines()
        columns = [
            "ID", "ROLE", "PRINCIPAL", "PERSON", "CREATED", "LAST USED", "EXPIRES", "STATUS"
        ]  # fmt: skip
        assert re.split(r"\s{2,}", header) == columns
        by_principal = {row.split()[2]: row.split() for row in rows}
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        # id, role, principal, person, created (day, time), last used (day, time), expires,
        # status
        assert by_principal["sam"][:5] == [sam.key_id, "staff", "sam", "sam", today]
        assert (by_principal["sam"][6], by_principal["sam"][8:]) == (today, ["never", "active"])
        assert by_principal["olga"][6] == "never"
        assert by_principal["olga"][-1] == "active"
        assert by_principal["fiona"][-3:-1] == ["revoked", today]
        assert used not in result.stdout

    def test_revoke_and_create_with_expiry_and_a_refused_principal(self, tmp_path: Path) -> None:
        keys_file = tmp_path / "keys.json"
        runner = CliRunner()
        base = ["--keys-file", str(keys_file)]
        expiry = ["--expires-in-days", "10"]
        created = runner.invoke(
            app,
            ["keys", "create", "--role", "agent", "--principal", "agent-anna", *base, *expiry],
        )
        assert created.exit_code == 0, created.output
        [entry] = json.loads(keys_file.read_text())["keys"]
        assert entry["expires_at"]

        clash = runner.invoke(
            app, ["keys", "create", "--role", "staff", "--principal", "agent-anna", *base]
        )
        assert clash.exit_code == 1
        assert "belongs to one role" in clash.stderr

        revoked = runner.invoke(app, ["keys", "revoke", entry["id"], *base])
        assert revoked.exit_code == 0, revoked.output
        assert "revoked" in revoked.stdout
        assert json.loads(keys_file.read_text())["keys"][0]["revoked_at"]
        assert runner.invoke(app, ["keys", "revoke", "nope", *base]).exit_code == 1
