"""Runs an API command as one unit of work: idempotency key, change, audit and outbox together."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Header, Request
from fastapi.responses import JSONResponse

from cimis_chassis.auth import Principal
from cimis_chassis.idempotency import (
    MAX_IDEMPOTENCY_KEY_CHARS,
    request_fingerprint,
    run_idempotent,
)
from cimis_chassis.unit_of_work import Cause, UnitOfWork

if TYPE_CHECKING:
    from cimis_chassis.service_host import ServiceHost

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Repeat a request safely: the same key and body give the same answer.",
        # Documented only: a key out of range is a 400 problem from run_idempotent, not a 422.
        json_schema_extra={"minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY_CHARS},
    ),
]


async def run_command(
    request: Request,
    principal: Principal,
    # Takes the service's own unit of work (its repositories), hence Any.
    work: Callable[[Any], Awaitable[dict[str, Any]]],
    *,
    status: int = 200,
    idempotency_key: str | None = None,
    body: Any = None,
) -> JSONResponse:
    """Run ``work`` in one transaction and answer with the JSON body it renders.

    The body is rendered inside the transaction so that a replayed Idempotency-Key returns
    exactly what the first request answered.
    """
    host: ServiceHost = request.app.state.host
    cause = Cause(
        actor=f"api:{principal.name}",
        correlation_id=request.state.correlation_id,
        causation_id=request.state.request_id,
    )

    async def unit(uow: UnitOfWork) -> tuple[int, dict[str, Any]]:
        return status, await work(uow)

    code, payload = await run_idempotent(
        lambda: host.unit_of_work(cause),
        principal=principal.name,
        key=idempotency_key,
        fingerprint=request_fingerprint(request.method, request.url.path, body),
        work=unit,
    )
    host.relay.wake()
    return JSONResponse(payload, status_code=code)
