"""Grafana provisioning and dashboards: well-formed, on the provisioned data source, per service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ops.support import (
    DASHBOARDS,
    DEPLOY,
    GRAFANA_BUILTINS,
    dashboard_queries,
    load_dashboard,
    panels,
    template_variables,
)

PROVISIONING = DEPLOY / "grafana" / "provisioning"


def _datasource() -> dict[str, Any]:
    document = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())
    [source] = document["datasources"]
    assert isinstance(source, dict)
    return source


def _board(title: str) -> dict[str, Any]:
    [board] = [b for b in map(load_dashboard, DASHBOARDS) if b["title"] == title]
    return board


def test_the_provisioned_data_source_is_the_compose_prometheus() -> None:
    source = _datasource()

    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    assert source["isDefault"] is True


def test_the_dashboard_provider_reads_the_directory_compose_mounts() -> None:
    document = yaml.safe_load((PROVISIONING / "dashboards" / "cimis.yml").read_text())
    [provider] = document["providers"]
    compose = yaml.safe_load((DEPLOY.parent / "docker-compose.yml").read_text())

    mounts = compose["services"]["grafana"]["volumes"]

    assert f"./deploy/grafana/dashboards:{provider['options']['path']}:ro" in mounts
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in mounts


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: Path(p).stem)
def test_every_panel_queries_the_provisioned_data_source_and_fits_the_grid(path: Path) -> None:
    board = load_dashboard(path)
    uid = _datasource()["uid"]
    ids = [panel["id"] for panel in board["panels"]]

    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels(board):
        assert panel["datasource"]["uid"] == uid, panel["title"]
        assert panel["targets"], panel["title"]
        assert panel.get("description"), f"{panel['title']}: say what the panel shows"
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == uid, panel["title"]
            assert target["expr"].strip(), panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] >= 0, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: Path(p).stem)
def test_every_variable_a_query_uses_is_defined(path: Path) -> None:
    board = load_dashboard(path)
    defined = {name: ".*" for name in template_variables(board)}

    for query in dashboard_queries():
        if query.dashboard == board["title"]:
            query.substituted(defined)  # raises KeyError on an undefined variable
    assert not set(defined) & set(GRAFANA_BUILTINS)


def test_every_services_panel_follows_the_service_variable() -> None:
    board = _board("CIMIS services")
    [variable] = template_variables(board).values()

    assert variable["name"] == "service"
    assert variable["definition"] == 'label_values(up{job="cimis"}, service)'
    assert variable["includeAll"] is True
    assert variable["multi"] is True
    for query in dashboard_queries():
        if query.dashboard == board["title"]:
            assert 'service=~"$service"' in query.expr, f"{query.panel}: not per service"


def test_the_services_dashboard_shows_rate_errors_durations_lag_outbox_dead_letters() -> None:
    exprs = " ".join(q.expr for q in dashboard_queries() if q.dashboard == "CIMIS services")

    for series in (
        "cimis_http_requests_total",
        "cimis_http_request_duration_seconds_bucket",
        "cimis_events_consumed_total",
        "cimis_event_end_to_end_lag_seconds_bucket",
        "cimis_consumer_lag_records",
        "faststream_received_processed_messages_duration_seconds_bucket",
        "faststream_received_processed_messages_exceptions_total",
        "cimis_outbox_published_events_total",
        "cimis_outbox_pending_rows",
        "cimis_outbox_oldest_pending_age_seconds",
        "cimis_dead_lettered_events_total",
        "cimis_readiness_check",
    ):
        assert series in exprs, series


def test_the_programme_dashboard_shows_the_books_milestones_notifications_and_burn_rate() -> None:
    board = _board("CIMIS programme")
    exprs = " ".join(q.expr for q in dashboard_queries() if q.dashboard == board["title"])

    assert template_variables(board)["call"]["definition"] == (
        'label_values(cimis_budget_pot_total_cents{job="cimis"}, call)'
    )
    for series in (
        "cimis_budget_pot_total_cents",
        "cimis_budget_allocated_cents",
        "cimis_budget_released_cents",
        "cimis_budget_spent_cents",
        "cimis_budget_paid_cents",
        "cimis_budget_ledger_imbalance_cents",
        "cimis_milestones_overdue",
        "cimis_notify_deliveries_total",
        "cimis_outcomes_teams_by_burn_rate",
        "cimis_outcomes_forecast_unspent_cents",
    ):
        assert series in exprs, series


def test_the_burn_rate_panels_show_each_call_and_status_on_its_own() -> None:
    burn = {
        q.panel: q.expr
        for q in dashboard_queries()
        if q.dashboard == "CIMIS programme" and "cimis_outcomes_" in q.expr
    }

    # One series per call (and status): the call variable selects, and instances of outcomes,
    # which all report the same figures, are not added up.
    assert burn == {
        "Teams by burn rate per call": (
            'max by (call, status) (cimis_outcomes_teams_by_burn_rate{job="cimis", call=~"$call"})'
        ),
        "Money likely left unspent per call": (
            'max by (call) (cimis_outcomes_forecast_unspent_cents{job="cimis", call=~"$call"}) '
            "/ 100"
        ),
    }
