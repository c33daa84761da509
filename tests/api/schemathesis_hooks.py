"""Schemathesis hooks for ``test_schemathesis.py``; the CLI loads them from SCHEMATHESIS_HOOKS.

One check replaces Schemathesis's ``positive_data_acceptance``, which expects every request
that matches the schema to succeed. In this API two refusals of schema-valid requests are part
of the contract (/work/shared/API.md) and cannot be expressed in a JSON schema:

- 422 for a programme rule: a deadline before the opening time, a per-team maximum above the
  pot, quiet hours that start when they end, a call that is closed, a budget that is exceeded.
  Such rules compare fields with each other or with stored state. Their problem ``type`` names
  the rule; ``validation-error`` is the one type that means "the request is not what the schema
  says", and that stays a failure here.
- 400 ``invalid-cursor``: a cursor is an opaque token only the API issues; its schema gives its
  alphabet and length, and any other value of that shape is still not a page anybody was given.

Every other answer is judged exactly as ``positive_data_acceptance`` judges it.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis
from schemathesis import Case, CheckContext, Response
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

from cimis_chassis.problems import PROBLEM_BASE

VALIDATION_ERROR = PROBLEM_BASE + "validation-error"
INVALID_CURSOR = PROBLEM_BASE + "invalid-cursor"


def _problem_type(response: Response) -> str | None:
    try:
        body = response.json()
    except (ValueError, json.JSONDecodeError):
        return None
    kind = body.get("type") if isinstance(body, dict) else None
    return kind if isinstance(kind, str) else None


def refused_by_a_documented_rule(response: Response) -> bool:
    """A refusal of schema-valid data that the API's contract makes (see the module doc)."""
    kind = _problem_type(response)
    if kind is None or not kind.startswith(PROBLEM_BASE):
        return False
    if response.status_code == 422:
        return kind != VALIDATION_ERROR
    return response.status_code == 400 and kind == INVALID_CURSOR


@schemathesis.check
def positive_data_acceptance_beyond_rules(
    ctx: CheckContext, response: Response, case: Case[Any]
) -> bool | None:
    """``positive_data_acceptance``, where a programme rule or an unissued cursor may refuse."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if refused_by_a_documented_rule(response):
            return None
        raise
