"""The HTTP edge, in front of FastAPI: body size limit, API key check and rate limits.

Both are plain ASGI middleware so that they act before anything reads the body: FastAPI
parses a JSON body before it runs a route's dependencies, so a key checked there would let an
anonymous client have its body read and parsed.
"""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cimis_chassis.auth import PRINCIPAL_STATE, KeyStore, principal_from_header
from cimis_chassis.problems import Problem, problem_response
from cimis_chassis.rate_limits import PenaltyBox, TokenBuckets, address_key, retry_after_header

API_PREFIX = "/api/v1"
# Ids a client may set (X-Request-Id, X-Correlation-Id); anything else is replaced, since the
# ids go into every log line and every event the request causes.
CLIENT_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,100}$"
_CLIENT_ID = re.compile(CLIENT_ID_PATTERN)


def client_id(value: str | None) -> str | None:
    """``value`` if it is a safe request or correlation id, else None."""
    return value if value is not None and _CLIENT_ID.fullmatch(value) else None


def _is_api(scope: Scope) -> bool:
    # Routing matches the path below root_path (uvicorn --root-path), and so must this.
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :]
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


async def _answer(scope: Scope, receive: Receive, send: Send, problem: Problem) -> None:
    await problem_response(problem, Request(scope, receive))(scope, receive, send)


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a body passes the limit; FastAPI passes it through."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            413,
            f"The request body is larger than {max_bytes} bytes.",
            # The client may still be sending; do not wait for the rest on this connection.
            headers={"Connection": "close"},
        )


class BodyLimitMiddleware:
    """Refuses a body over ``max_bytes`` with 413: at once when Content-Length says so, else
    as soon as the bytes received pass the limit (chunked uploads have no Content-Length).
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = BodyTooLarge(self.max_bytes)
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _answer(scope, receive, send, _problem(too_large))
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise too_large
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            # Normally the app's own handler answers; this is for code that swallowed nothing
            # but ran outside it (a raw ASGI route).
            if started:
                raise
            await _answer(scope, receive, send, _problem(too_large))


def _problem(exc: BodyTooLarge) -> Problem:
    return Problem(413, "content-too-large", str(exc.detail), headers=dict(exc.headers or {}))


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class ApiGateMiddleware:
    """For ``/api/v1`` paths: refuses an address that failed authentication too often (429),
    checks the bearer key (401), applies the key's rate limit (429) and leaves the principal
    in ``request.state.principal``; roles stay with each route (403). Other paths pass.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        key_store: KeyStore,
        key_limits: TokenBuckets,
        failed_auth: PenaltyBox,
    ) -> None:
        self.app = app
        self.key_store = key_store
        self.key_limits = key_limits
        self.failed_auth = failed_auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_api(scope):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = address_key(client[0]) if client else "unknown"
        blocked_seconds = self.failed_auth.blocked_for(address)
        if blocked_seconds > 0:
            await _answer(
                scope,
                receive,
                send,
                Problem(
                    429,
                    "too-many-requests",
                    "Too many requests with a missing or invalid API key from this address.",
                    headers=retry_after_header(blocked_seconds),
                ),
            )
            return
        authorization = ""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                authorization = value.decode("latin-1")
                break
        try:
            principal = principal_from_header(self.key_store, authorization)
        except Problem as refused:
            self.failed_auth.failed(address)
            await _answer(scope, receive, send, refused)
            return
        wait_seconds = self.key_limits.take(principal.key_id)
        if wait_seconds > 0:
            await _answer(
                scope,
                receive,
                send,
                Problem(
                    429,
                    "too-many-requests",
                    "This API key sent more requests than its rate limit allows.",
                    headers=retry_after_header(wait_seconds),
                ),
            )
            return
        scope.setdefault("state", {})[PRINCIPAL_STATE] = principal
        await self.app(scope, receive, send)
