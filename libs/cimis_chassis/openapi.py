"""What every service's OpenAPI document says alike, and its docs pages served without a CDN.

Applied once to the generated document rather than declared on each route: the bearer key,
the problem answers the HTTP edge and the handlers give, and the client-settable id headers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from cimis_chassis.http_edge import API_PREFIX, CLIENT_ID_PATTERN
from cimis_chassis.problems import (
    MAX_DETAIL_CHARS,
    MAX_ECHO_CHARS,
    MAX_VALIDATION_ERRORS,
    PROBLEM_BASE,
    PROBLEM_JSON,
)

SECURITY_SCHEME = "bearerAuth"
DOCS_ASSETS = "/docs/assets"
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
# Shipped by the fastapi-offline package (Swagger UI 5 and ReDoc builds); we use only the files.
_ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"


def _problem_schemas() -> dict[str, Any]:
    return {
        "Problem": {
            "title": "Problem",
            "description": "An error, as RFC 9457 problem details (application/problem+json).",
            "type": "object",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {
                    "type": "string",
                    "description": f"{PROBLEM_BASE}<slug>; the slug names the problem.",
                    "examples": [f"{PROBLEM_BASE}validation-error"],
                },
                "title": {"type": "string"},
                "status": {"type": "integer", "minimum": 400, "maximum": 599},
                "detail": {"type": "string", "maxLength": MAX_DETAIL_CHARS},
                "instance": {"type": "string", "description": "The request path."},
                "errors": {
                    "type": "array",
                    "description": "For validation errors: each invalid field (422).",
                    "maxItems": MAX_VALIDATION_ERRORS,
                    "items": {"$ref": "#/components/schemas/ProblemFieldError"},
                },
                "errors_omitted": {
                    "type": "integer",
                    "description": "How many further validation errors were not listed.",
                },
            },
            "additionalProperties": True,
        },
        "ProblemFieldError": {
            "title": "ProblemFieldError",
            "type": "object",
            "required": ["location", "message", "type"],
            "properties": {
                "location": {"type": "array", "items": {"type": "string"}},
                "message": {"type": "string", "maxLength": MAX_ECHO_CHARS},
                "type": {"type": "string"},
            },
        },
    }


def _problem_responses(max_body_bytes: int) -> dict[str, dict[str, Any]]:
    content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    described = {
        "400": "Bad request: a malformed cursor or Idempotency-Key, or a body that is not JSON.",
        "401": "No API key, or one that is unknown, revoked or expired.",
        "403": "The key's role may not do this, or the object belongs to another agent.",
        "404": "No such object.",
        "409": "A conflict: the Idempotency-Key was used with another body, or a concurrent "
        "change won.",
        "413": f"The request body is larger than {max_body_bytes} bytes (HTTP_MAX_BODY_BYTES).",
        "422": "The request is invalid, or a rule of the programme refuses it; `type` says "
        f"which (at most {MAX_VALIDATION_ERRORS} field errors are listed).",
        "429": "Too many requests for this key, or too many failed authentications from this "
        "address; retry after `Retry-After` seconds.",
    }
    responses: dict[str, dict[str, Any]] = {
        status: {"description": text, "content": content} for status, text in described.items()
    }
    responses["401"]["headers"] = {
        "WWW-Authenticate": {"schema": {"type": "string", "const": "Bearer"}}
    }
    responses["429"]["headers"] = {
        "Retry-After": {
            "description": "Seconds to wait before retrying.",
            "schema": {"type": "integer", "minimum": 1},
        }
    }
    return responses


def _id_parameters() -> dict[str, Any]:
    def header(name: str, what: str) -> dict[str, Any]:
        return {
            "name": name,
            "in": "header",
            "required": False,
            # Any value is taken: one not matching the pattern is replaced, not refused, so the
            # pattern is what is kept rather than a constraint on the request.
            "description": f"{what} Echoed in the answer. A value matching `{CLIENT_ID_PATTERN}` "
            "is kept; any other is replaced by a fresh id.",
            "schema": {"type": "string"},
        }

    return {
        "RequestId": header("X-Request-Id", "This request's id, for logs."),
        "CorrelationId": header(
            "X-Correlation-Id", "Ties this request to the events it causes (default: its id)."
        ),
    }


def apply_conventions(schema: dict[str, Any], *, max_body_bytes: int) -> None:
    """Add security, problem responses and id headers to every ``/api/v1`` operation."""
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {})[SECURITY_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key from `cimis keys create` (only its hash is stored).",
    }
    components.setdefault("schemas", {}).update(_problem_schemas())
    components.setdefault("parameters", {}).update(_id_parameters())
    problems = _problem_responses(max_body_bytes)
    for path, item in schema.get("paths", {}).items():
        if not (path == API_PREFIX or path.startswith(API_PREFIX + "/")):
            continue
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            operation["security"] = [{SECURITY_SCHEME: []}]
            responses = operation.setdefault("responses", {})
            for status, problem in problems.items():
                # Every error is a problem document, whatever a route or FastAPI declared
                # (FastAPI's own 422 schema describes an answer this API never gives).
                responses[status] = dict(problem)
            parameters = operation.setdefault("parameters", [])
            parameters.extend(
                {"$ref": f"#/components/parameters/{name}"} for name in _id_parameters()
            )
    # FastAPI's validation error schemas are no longer referenced once the 422s are problems.
    for unused in ("HTTPValidationError", "ValidationError"):  # the first refers to the second
        if f"#/components/schemas/{unused}" not in json.dumps(schema):
            components["schemas"].pop(unused, None)


def install_openapi_conventions(app: FastAPI, *, max_body_bytes: int) -> None:
    """Make ``app.openapi()`` return the document with :func:`apply_conventions` applied."""
    generate = app.openapi
    applied_to: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        schema = generate()
        # FastAPI caches the document; apply once to each one it generates.
        if not applied_to or applied_to[0] is not schema:
            apply_conventions(schema, max_body_bytes=max_body_bytes)
            applied_to[:] = [schema]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_local_docs(app: FastAPI) -> None:
    """Serve ``/docs`` (Swagger UI) and ``/redoc`` from packaged assets: no CDN, no fonts."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=_ASSETS_DIR), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - API",
            swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            oauth2_redirect_url=None,
            # The default would send the document to an online validator.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - API",
            redoc_js_url=f"{root}{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )
