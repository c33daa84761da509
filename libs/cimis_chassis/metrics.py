"""Prometheus metrics every service exports, in one registry per service."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

# End-to-end lag spans sub-second hops to minutes of backlog.
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)


class ServiceMetrics:
    """The chassis series; services add their business metrics to ``registry``."""

    def __init__(self, service: str, registry: CollectorRegistry | None = None) -> None:
        self.service = service
        self.registry = registry or CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        r = self.registry
        self.outbox_pending = Gauge(
            "cimis_outbox_pending_rows", "Outbox rows not yet confirmed by the broker.", registry=r
        )
        self.outbox_oldest_age = Gauge(
            "cimis_outbox_oldest_pending_age_seconds",
            "Age of the oldest unpublished outbox row (0 when none).",
            registry=r,
        )
        self.outbox_published = Counter(
            "cimis_outbox_published_events",
            "Outbox events the broker confirmed.",
            registry=r,
        )
        self.events_consumed = Counter(
            "cimis_events_consumed",
            "Events taken from Kafka, by type and outcome (applied, duplicate, dead_lettered).",
            ["type", "outcome"],
            registry=r,
        )
        self.end_to_end_lag = Histogram(
            "cimis_event_end_to_end_lag_seconds",
            "Time from an event's creation to its application by this service.",
            ["type"],
            buckets=LAG_BUCKETS,
            registry=r,
        )
        # Set by ConsumerLagMonitor from the broker's view, so a consumer stuck on a record
        # still shows its lag: a gauge the consumer set after each batch froze with it.
        self.consumer_lag = Gauge(
            "cimis_consumer_lag_records",
            "Records between the group's committed offset and the partition's end offset.",
            ["group", "topic", "partition"],
            registry=r,
        )
        self.consumer_stalled = Gauge(
            "cimis_consumer_stalled",
            "1 if the partition has lag and the group's committed offset has not moved for the "
            "stall time, else 0.",
            ["group", "topic", "partition"],
            registry=r,
        )
        self.consumer_progress_age = Gauge(
            "cimis_consumer_last_progress_age_seconds",
            "Time since the group's committed offset last moved or the partition was caught up.",
            ["group", "topic", "partition"],
            registry=r,
        )
        self.dead_letters = Counter(
            "cimis_dead_lettered_events",
            "Records sent to the dead-letter topic, by the topic they came from.",
            ["source_topic"],
            registry=r,
        )
        self.http_requests = Counter(
            "cimis_http_requests",
            "HTTP requests answered, by method, route template and status class.",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_duration = Histogram(
            "cimis_http_request_duration_seconds",
            "HTTP request duration by method and route template.",
            ["method", "route"],
            registry=r,
        )
        # Readiness as a series too: a process that answers /metrics (up == 1) while its database
        # is gone serves nobody, and only a series lets an alert see that.
        self.readiness = Gauge(
            "cimis_readiness_check",
            "1 if the readiness check (database, broker, outbox_relay) last passed, else 0.",
            ["check"],
            registry=r,
        )
