"""The process host every service shares: database, broker, relay, HTTP app, health and metrics."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cimis_chassis.auth import KeyStore
from cimis_chassis.clock import Clock
from cimis_chassis.database import Database
from cimis_chassis.http_edge import ApiGateMiddleware, BodyLimitMiddleware, client_id
from cimis_chassis.kafka import RelayProducer, ensure_topics
from cimis_chassis.kafka_client import KafkaClientConfig
from cimis_chassis.logs import correlation_id_var
from cimis_chassis.metrics import ServiceMetrics
from cimis_chassis.openapi import install_local_docs, install_openapi_conventions
from cimis_chassis.outbox import OutboxRecord, OutboxRelay
from cimis_chassis.problems import install_problem_handlers
from cimis_chassis.rate_limits import PenaltyBox, TokenBuckets
from cimis_chassis.settings import ServiceSettings
from cimis_chassis.tables import ChassisTables
from cimis_chassis.unit_of_work import Cause, SqlUnitOfWork

log = logging.getLogger(__name__)

# A relay that has not finished a round for this long is stuck (not merely idle).
RELAY_STUCK_AFTER = timedelta(seconds=60)


@dataclass
class ServiceHost:
    """Everything a service process runs, wired once by the service's bootstrap."""

    name: str
    settings: ServiceSettings
    clock: Clock
    db: Database
    tables: ChassisTables
    broker: KafkaBroker
    metrics: ServiceMetrics
    topics: dict[str, int]
    # Topics this service may create (its own and its dead letters); the rest it waits for.
    owned_topics: frozenset[str] | None = None
    # The service's unit of work: the chassis one gives handlers the bare session.
    unit_of_work_class: type[SqlUnitOfWork] = SqlUnitOfWork
    relay: OutboxRelay = field(init=False)
    relay_producer: RelayProducer = field(init=False)
    kafka: KafkaClientConfig = field(init=False)
    background: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    # Run at stop, after the broker stopped consuming: clients that parts of the host opened.
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    stopped_jobs: list[str] = field(default_factory=list)
    # Called after every unit of work of this process commits, e.g. to wake a worker that
    # would otherwise poll for what the commit wrote.
    commit_listeners: list[Callable[[SqlUnitOfWork], None]] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _stopping: bool = False

    def __post_init__(self) -> None:
        self.kafka = self.settings.kafka()
        self.relay_producer = RelayProducer(self.kafka, client_id=f"{self.name}-relay")
        self.relay = OutboxRelay(
            self.db,
            self.tables.outbox,
            self.tables.leases,
            self.relay_producer.send,
            self.clock,
            self.metrics,
            batch_size=self.settings.outbox_batch_size,
            poll_seconds=self.settings.outbox_poll_seconds,
        )

    def unit_of_work(self, cause: Cause) -> SqlUnitOfWork:
        """A new unit of work on this service's database, attributed to ``cause``."""
        return self.unit_of_work_class(
            self.db,
            self.tables,
            clock=self.clock,
            source=f"cimis/{self.name}",
            cause=cause,
            on_commit=self._committed,
        )

    def _committed(self, unit: SqlUnitOfWork, records: list[OutboxRecord]) -> None:
        if records:
            self.relay.offer(records)
        for listener in self.commit_listeners:
            listener(unit)

    @property
    def uses_broker(self) -> bool:
        """Whether this process talks to Kafka at all (both switches are off only in tests)."""
        return self.settings.publish_events or self.settings.consume_events

    async def start(self) -> None:
        if self.uses_broker:
            if self.topics:
                await ensure_topics(self.kafka, self.topics, creatable=self.owned_topics)
            await self.broker.start()
        if self.settings.publish_events:
            await self.relay_producer.start()
            self._tasks.append(asyncio.create_task(self.relay.run(), name=f"{self.name}-relay"))
        else:
            log.warning(
                "%s: publishing events is switched off (PUBLISH_EVENTS=false): "
                "they stay in the outbox",
                self.name,
            )
        for job in self.background:
            task = asyncio.create_task(job(), name=f"{self.name}-{job.__name__}")
            task.add_done_callback(self._job_ended)
            self._tasks.append(task)

    def _job_ended(self, task: asyncio.Task[None]) -> None:
        # A background job runs for the life of the process; one that ends on its own is a
        # fault that readiness reports, not something to discover from a silent log.
        if task.cancelled() or self._stopping:
            return
        error = task.exception()
        self.stopped_jobs.append(task.get_name())
        log.error("background job %s stopped: %r", task.get_name(), error, exc_info=error)

    async def stop(self) -> None:
        self._stopping = True
        self.relay.stop()
        for task in self._tasks:
            if task.get_name().endswith("-relay"):
                continue
            task.cancel()
        # The relay finishes its round so confirmed rows get marked before we disconnect.
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self.settings.publish_events:
            await self.relay_producer.stop()
        if self.uses_broker:
            await self.broker.stop()
        for close in self.closers:
            try:
                await close()
            except Exception:
                log.warning("closing %r failed", close, exc_info=True)
        await self.db.dispose()

    async def readiness(self) -> dict[str, Any]:
        """Check the database, the broker and the relay; also publish the result as gauges.

        The broker and the relay are checked where this process uses them.
        """
        probes = {"database": self._database_check()}
        if self.uses_broker:
            probes["broker"] = self._broker_check()
        # Side by side: with both down, a probe answers in 3 s rather than 6 s.
        outcomes = await asyncio.gather(*probes.values())
        checks: dict[str, Any] = dict(zip(probes, outcomes, strict=True))
        if self.settings.publish_events:
            last = self.relay.last_progress_at
            if last is None or self.clock.now() - last > RELAY_STUCK_AFTER:
                checks["outbox_relay"] = "failing: no progress"
            else:
                checks["outbox_relay"] = "ok"
        if self.background:
            checks["background_jobs"] = (
                f"failing: {', '.join(self.stopped_jobs)} stopped" if self.stopped_jobs else "ok"
            )
        for check, outcome in checks.items():
            self.metrics.readiness.labels(check).set(1 if outcome == "ok" else 0)
        return checks

    async def _database_check(self) -> str:
        try:
            await asyncio.wait_for(self.db.ping(), timeout=3)
        except Exception as exc:
            return f"failing: {exc.__class__.__name__}"
        return "ok"

    async def _broker_check(self) -> str:
        return "ok" if await self.broker.ping(timeout=3) else "failing: unreachable"


class _RequestContext:
    """Correlation ids and RED metrics for every request.

    Plain ASGI rather than Starlette's BaseHTTPMiddleware, which runs every request through a
    task group and memory streams: a few milliseconds of an API command's CPU.
    """

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        # Client ids go into logs and events: only a bounded, plain form is taken over.
        request_id = client_id(headers.get("x-request-id")) or str(uuid.uuid4())
        correlation_id = client_id(headers.get("x-correlation-id")) or request_id
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["correlation_id"] = correlation_id
        started = time.perf_counter()

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                template = getattr(scope.get("route"), "path", "unmatched")
                method = scope["method"]
                self._metrics.http_requests.labels(
                    method, template, f"{message['status'] // 100}xx"
                ).inc()
                self._metrics.http_duration.labels(method, template).observe(
                    time.perf_counter() - started
                )
                response_headers = MutableHeaders(scope=message)
                response_headers["x-request-id"] = request_id
                response_headers["x-correlation-id"] = correlation_id
            await send(message)

        token = correlation_id_var.set(correlation_id)
        try:
            await self._app(scope, receive, send_with_ids)
        finally:
            correlation_id_var.reset(token)


_READINESS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status", "checks"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "failing"]},
        "checks": {
            "type": "object",
            "description": "Each check's outcome: `ok`, or `failing: <why>`.",
            "additionalProperties": {"type": "string"},
        },
    },
}
_READINESS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Every check is ok.",
        "content": {"application/json": {"schema": _READINESS_SCHEMA}},
    },
    503: {
        "description": "A check is failing: the database, the broker, the outbox relay or a "
        "background job.",
        "content": {"application/json": {"schema": _READINESS_SCHEMA}},
    },
}


def host_of(request: Request) -> ServiceHost:
    """The host of the app serving ``request`` (set by :func:`create_http_app`)."""
    host: ServiceHost = request.app.state.host
    return host


def create_http_app(
    host: ServiceHost, *, title: str, description: str, routers: list[APIRouter]
) -> FastAPI:
    """The service's FastAPI app; its lifespan starts and stops the whole host."""

    settings = host.settings
    key_store = KeyStore(settings.require_api_keys_file(), service=host.name)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await host.start()
        try:
            yield
        finally:
            try:
                await host.stop()
            finally:
                key_store.flush_last_used()

    app = FastAPI(
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        # Served by install_local_docs, from packaged assets rather than a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.host = host
    app.state.key_store = key_store
    install_problem_handlers(app)
    install_openapi_conventions(app, max_body_bytes=settings.http_max_body_bytes)
    if settings.http_docs_enabled:
        install_local_docs(app)
    # The last added runs first: ids and metrics, then key and rate limits, then body size.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.http_max_body_bytes)
    app.add_middleware(
        ApiGateMiddleware,
        key_store=key_store,
        key_limits=TokenBuckets(
            settings.http_rate_per_key_per_second,
            settings.http_rate_burst_per_key,
            max_entries=settings.http_rate_limit_max_entries,
        ),
        failed_auth=PenaltyBox(
            settings.http_auth_failures_per_address,
            settings.http_auth_failure_window_seconds,
            settings.http_auth_block_seconds,
            max_entries=settings.http_rate_limit_max_entries,
        ),
    )
    app.add_middleware(_RequestContext, metrics=host.metrics)
    for router in routers:
        app.include_router(router)

    asyncapi = AsyncAPI(host.broker, title=f"{title} events", version="1.0.0")

    @app.get("/health/live", tags=["operations"])
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready", tags=["operations"], responses=_READINESS_RESPONSES)
    async def ready() -> JSONResponse:
        checks = await host.readiness()
        healthy = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ok" if healthy else "failing", "checks": checks},
            status_code=200 if healthy else 503,
        )

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    async def metrics() -> Response:
        # Every scrape refreshes the readiness gauges, so alerts see a process that answers
        # but cannot work, even where nothing polls /health/ready.
        await host.readiness()
        return Response(generate_latest(host.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/asyncapi.json", tags=["operations"])
    async def asyncapi_json() -> Response:
        return Response(asyncapi.to_specification().to_json(), media_type="application/json")

    @app.get("/asyncapi.yaml", tags=["operations"], include_in_schema=False)
    async def asyncapi_yaml() -> Response:
        return Response(asyncapi.to_specification().to_yaml(), media_type="application/yaml")

    return app
