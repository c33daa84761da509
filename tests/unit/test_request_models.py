"""Every text field of every request body refuses control characters (NUL, ESC, DEL…)."""

from __future__ import annotations

import copy
import importlib
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

SCHEMA_MODULES = [
    f"services.{s}.entrypoints.schemas"
    for s in ("intake", "budget", "milestones", "notify", "outcomes")
]

# A valid body of each request model; the test spoils one text field at a time.
VALID: dict[str, dict[str, Any]] = {
    "CallIn": {
        "title": "CIMIS II",
        "districts": ["Chemnitz"],
        "opens_at": "2024-06-01",
        "closes_at": "2024-09-20",
        "total_budget": "500000.00",
        "max_team_budget": "50000.00",
        "tranches": [{"milestone": None, "percent": 100}],
        "phase_plan": [{"key": "final", "title": "Ende", "days_after_acceptance": 90}],
    },
    "TrancheIn": {"milestone": None, "percent": 100},
    "PhaseIn": {"key": "final", "title": "Ende", "days_after_acceptance": 90},
    "ApplicationIn": {
        "call_id": "c1",
        "kind": "company",
        "name": "Firma",
        "contact_email": "kontakt@example.org",
        "district": "Chemnitz",
        "challenge": "Termine",
        "expertise": "Design",
    },
    "TeamIn": {
        "call_id": "c1",
        "title": "Team",
        "challenge": "Termine",
        "company_application_id": "a1",
        "creative_application_ids": ["a2"],
        "agent_id": "agent-anna",
        "budget": "1.00",
    },
    "WithdrawIn": {"reason": "raus"},
    "BlueprintIn": {
        "title": "Online-Terminbuchung",
        "problem": "Anrufe zu Stoßzeiten",
        "solution": "Buchungskalender",
        "tools": ["Cal.com"],
        "lessons": "Früh testen",
        "sector": "Handwerk",
        "licence": "CC-BY-4.0",
        "contacts": [{"name": "Anna Berger", "role": "Designerin", "consent": True}],
    },
    "ContactIn": {"name": "Anna Berger", "role": "Designerin", "consent": True},
    "CommentIn": {"comment": "Bitte Kosten ergänzen"},
    "ReassignIn": {"agent_id": "agent-ben", "reason": "Agentin in Elternzeit"},
    "ExpenseIn": {
        "position": "other",
        "net": "1.00",
        "vat": "0.00",
        "receipt_number": "RE-1",
        "receipt_date": "2024-07-01",
        "payee": "Payee",
        "purpose": "Zweck",
    },
    "RejectIn": {"reason": "nein"},
    "CostPlanIn": {
        "lines": [{"position": "travel", "planned": "100.00"}],
        "reason": "Erster Kostenplan",
    },
    "CostPlanLineIn": {"position": "travel", "planned": "100.00"},
    "BankAccountIn": {
        "account_holder": "Möbel-Konfigurator GbR",
        "iban": "DE02 1203 0000 0000 2020 51",
        "bic": "BYLADEM1001",
    },
    "PaymentRunIn": {"execution_date": "2024-10-02"},
    "PaidIn": {"value_date": "2024-10-02"},
    "ReasonIn": {"reason": "Workshop entfällt"},
    "FundingStartIn": {"starts_on": "2024-07-01", "reason": "vorzeitiger Maßnahmebeginn"},
    "BudgetIncreaseIn": {"amount": "90000.00", "reason": "Restmittel umgeschichtet"},
    "CompleteIn": {"note": "fertig", "evidence_url": "https://example.org/x"},
    "RescheduleIn": {"due_date": "2030-01-02", "reason": "Urlaub"},
    "QuietHoursIn": {"start": "20:00", "end": "07:00"},
    "DigestIn": {"weekday": "monday", "time": "08:00"},
    "AgentIn": {
        "name": "Anna",
        "email": "anna@example.org",
        "webhook_url": "https://chat.example.org/h",
        "quiet_hours": {"start": "20:00", "end": "07:00"},
        "language": "de",
        "digest": {"weekday": "monday", "time": "08:00"},
    },
}


def request_models() -> list[type[BaseModel]]:
    found = []
    for name in SCHEMA_MODULES:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseModel)
                and value.__name__.endswith("In")
                and value.__module__ == name
            ):
                found.append(value)
    return found


def text_paths(body: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(body, str):
        return [path]
    if isinstance(body, dict):
        return [p for k, v in body.items() for p in text_paths(v, (*path, k))]
    if isinstance(body, list):
        return [p for i, v in enumerate(body) for p in text_paths(v, (*path, i))]
    return []


def spoiled(body: dict[str, Any], path: tuple[Any, ...], char: str) -> dict[str, Any]:
    copied = copy.deepcopy(body)
    where: Any = copied
    for part in path[:-1]:
        where = where[part]
    where[path[-1]] = where[path[-1]][:1] + char + where[path[-1]][1:]
    return copied


def test_every_request_model_has_a_valid_example() -> None:
    names = {m.__name__ for m in request_models()}
    assert names == set(VALID), "add the new request model to VALID"


@pytest.mark.parametrize("model", request_models(), ids=lambda m: m.__name__)
def test_every_text_field_refuses_control_characters(model: type[BaseModel]) -> None:
    body = VALID[model.__name__]
    model.model_validate(body)
    free_text = [p for p in text_paths(body) if not _is_choice(model, p)]
    assert free_text or model.__name__ in {"TrancheIn"}
    for path in free_text:
        for char in ("\x00", "\x1b", "\x7f"):
            with pytest.raises(ValidationError) as raised:
                model.model_validate(spoiled(body, path, char))
            assert raised.value.errors()[0]["loc"][: len(path)] == path, (path, char)


def _is_choice(model: type[BaseModel], path: tuple[Any, ...]) -> bool:
    """Literal fields (positions, kinds, keys) and formatted ones refuse any odd value anyway."""
    return path[-1] in {"kind", "position", "key", "language", "milestone"}
