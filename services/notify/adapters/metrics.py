"""Notify's business metrics: deliveries by channel and outcome, the work still waiting, and
the weekly digests."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from services.notify.domain.delivery import CHANNELS


class NotifyMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.deliveries = Counter(
            "cimis_notify_deliveries",
            "Delivery attempts by channel and outcome (delivered, retried, failed).",
            ["channel", "outcome"],
            registry=registry,
        )
        self.pending = Gauge(
            "cimis_notify_pending_deliveries",
            "Deliveries waiting to be sent (backoff, quiet hours or due now), by channel.",
            ["channel"],
            registry=registry,
        )
        self.parked = Gauge(
            "cimis_notify_parked_events",
            "Team events waiting for their team's team_accepted before they can be alerted.",
            registry=registry,
        )
        self.digests = Counter(
            "cimis_notify_digests",
            "Weekly digests decided, by outcome (sent, or skipped with nothing to say).",
            ["outcome"],
            registry=registry,
        )
        for outcome in ("sent", "skipped"):
            self.digests.labels(outcome)
        for channel in CHANNELS:
            self.pending.labels(channel).set(0)
            for outcome in ("delivered", "retried", "failed"):
                self.deliveries.labels(channel, outcome)
