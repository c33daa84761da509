"""RFC 9457 problem details: every API error is ``application/problem+json``."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from cimis_chassis.errors import ConflictError, DomainError, ForbiddenError, NotFoundError

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "urn:cimis:problem:"
# An error answer repeats at most this much of any one value the client sent (a message that
# quotes the input, a location naming a key), and lists at most this many validation errors:
# a 100 KB field must not come back as a 100 KB error, nor a list of 10,000 bad items as 10,000.
MAX_ECHO_CHARS = 200
MAX_VALIDATION_ERRORS = 20
MAX_DETAIL_CHARS = 2000


class Problem(Exception):
    """Raise anywhere in a request to answer with a problem document.

    ``slug`` names the problem type (``call-closed`` becomes ``urn:cimis:problem:call-closed``).
    """

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        *,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title or HTTPStatus(status).phrase
        self.detail = detail
        self.headers = headers
        self.extensions = extensions

    def body(self, instance: str | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            # Details often quote what the client sent; none needs to be longer than this.
            "detail": bounded(self.detail, MAX_DETAIL_CHARS),
        }
        if instance:
            # The request path, bounded: a crafted 10 KB path id is not echoed back whole.
            doc["instance"] = instance if len(instance) <= 200 else instance[:200] + "…"
        doc.update(self.extensions)
        return doc


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    return JSONResponse(
        problem.body(request.url.path if request else None),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def not_found(what: str, ident: str) -> Problem:
    return Problem(404, "not-found", f"{what} {ident} does not exist")


def _slug_for(status: int) -> str:
    return {
        401: "unauthorized",
        403: "forbidden",
        404: "not-found",
        405: "method-not-allowed",
        409: "conflict",
        413: "content-too-large",
        415: "unsupported-media-type",
        429: "too-many-requests",
    }.get(status, "http-error")


def bounded(value: object, limit: int = MAX_ECHO_CHARS) -> str:
    """``value`` as text, cut to ``limit`` characters (marked with an ellipsis when cut)."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> str:
    """The ``Allow`` header for the request's path: every method some route serves on it.

    Each FastAPI operation is a route of its own, so the 405 Starlette raises names only the
    methods of the first route whose path matched (``POST`` where ``GET`` is served too).
    Each method is asked of the app's routes as a request would be (included routers nest
    their routes), so the answer is what routing would really do.
    """
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    )


# The HTTP answer to each kind of rule violation, most specific kind first.
_DOMAIN_STATUSES: tuple[tuple[type[DomainError], int], ...] = (
    (NotFoundError, 404),
    (ForbiddenError, 403),
    (ConflictError, 409),
    (DomainError, 422),
)


def domain_status(error: DomainError) -> int:
    """The HTTP status that answers a rule violation of ``error``'s kind."""
    return next(status for kind, status in _DOMAIN_STATUSES if isinstance(error, kind))


def install_problem_handlers(app: FastAPI) -> None:
    """Answer validation, HTTP and unexpected errors as problem documents."""

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(Problem(domain_status(exc), exc.code, exc.message), request)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        all_errors = exc.errors()
        errors = [
            {
                # Locations hold client-chosen text too (the keys of a mapping).
                "location": [bounded(part, 100) for part in list(err.get("loc", ()))[:10]],
                "message": bounded(err.get("msg", "")),
                "type": bounded(err.get("type", ""), 100),
            }
            for err in all_errors[:MAX_VALIDATION_ERRORS]
        ]
        detail = "; ".join(
            f"{'.'.join(e['location'][1:]) or e['location'][0] if e['location'] else 'body'}: "
            f"{e['message']}"
            for e in errors
        )
        extensions: dict[str, Any] = {"errors": errors}
        if len(all_errors) > len(errors):
            omitted = len(all_errors) - len(errors)
            detail += f"; and {omitted} more error(s)"
            extensions["errors_omitted"] = omitted
        return problem_response(
            Problem(422, "validation-error", detail, title="Invalid request", **extensions),
            request,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else {}
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        return problem_response(
            Problem(
                exc.status_code,
                _slug_for(exc.status_code),
                str(exc.detail),
                headers=headers or None,
            ),
            request,
        )

    @app.exception_handler(IntegrityError)
    async def _conflict(request: Request, exc: IntegrityError) -> JSONResponse:
        # Rules are checked before writing; a constraint only fires when two requests race.
        return problem_response(
            Problem(409, "conflict", "The change conflicts with a concurrent one; retry it."),
            request,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The traceback goes to the log (with the correlation id), never to the client.
        import logging

        logging.getLogger("cimis.http").error(
            "unhandled error on %s %s", request.method, request.url.path, exc_info=exc
        )
        return problem_response(
            Problem(500, "internal-error", "An unexpected error occurred; it has been logged."),
            request,
        )
