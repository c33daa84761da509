"""RFC 9457 problem details: every API error is ``application/problem+json``."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from cimis_chassis.errors import DomainError

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "urn:cimis:problem:"


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
            "detail": self.detail,
        }
        if instance:
            doc["instance"] = instance
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
        415: "unsupported-media-type",
    }.get(status, "http-error")


def install_problem_handlers(app: FastAPI) -> None:
    """Answer validation, HTTP and unexpected errors as problem documents."""

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(Problem(exc.status, exc.code, exc.message), request)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "location": [str(part) for part in err.get("loc", ())],
                "message": err.get("msg", ""),
                "type": err.get("type", ""),
            }
            for err in exc.errors()
        ]
        detail = "; ".join(
            f"{'.'.join(e['location'][1:]) or e['location'][0] if e['location'] else 'body'}: "
            f"{e['message']}"
            for e in errors
        )
        return problem_response(
            Problem(422, "validation-error", detail, title="Invalid request", errors=errors),
            request,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(
            Problem(
                exc.status_code,
                _slug_for(exc.status_code),
                str(exc.detail),
                headers=dict(exc.headers) if exc.headers else None,
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
