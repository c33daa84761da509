"""Crafted input to budget gets a clear 4xx and changes nothing; exports stay inert."""

from __future__ import annotations

import csv
import io
from typing import Any, ClassVar

import openpyxl
import pytest

from tests.api.budget.conftest import accepted_team, expense_body
from tests.api.crafted import CONTROL_CHARACTERS, FORGED_CURSORS, NUL
from tests.api.intake.steps import assert_problem
from tests.support.service_app import RunningService


async def submit(svc: RunningService, team_id: str, **overrides: Any) -> Any:
    return await svc.client.post(
        f"/api/v1/teams/{team_id}/expenses",
        json=expense_body(**overrides),
        headers=svc.auth("agent-anna"),
    )


async def pending(svc: RunningService, team_id: str) -> str:
    figures = await svc.client.get(f"/api/v1/teams/{team_id}/budget", headers=svc.auth("staff"))
    return figures.json()["pending"]  # type: ignore[no-any-return]


def csv_rows(response: Any, delimiter: str = ",") -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    text = response.text.lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))


class TestLedgerQuery:
    @pytest.mark.parametrize(
        "cursor",
        ["99999999999999999999999", "9223372036854775808", "١٢", "１２", "-1", "0", "1e3", " 1"],
    )
    async def test_a_forged_ledger_cursor_is_400(self, budget: RunningService, cursor: str) -> None:
        response = await budget.client.get(
            "/api/v1/ledger", params={"cursor": cursor}, headers=budget.auth("finance")
        )
        assert_problem(response, 400, "invalid-cursor")

    async def test_the_largest_position_is_a_valid_cursor(self, budget: RunningService) -> None:
        response = await budget.client.get(
            "/api/v1/ledger",
            params={"cursor": str(2**63 - 1)},
            headers=budget.auth("finance"),
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"items": [], "next_cursor": None}

    @pytest.mark.parametrize(
        "since",
        ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2026-03-01T00:00:00"],
    )
    async def test_a_since_that_cannot_be_a_utc_time_is_422(
        self, budget: RunningService, since: str
    ) -> None:
        response = await budget.client.get(
            "/api/v1/ledger", params={"since": since}, headers=budget.auth("finance")
        )
        assert_problem(response, 422, "validation-error")

    async def test_since_in_another_zone_is_compared_in_utc(self, budget: RunningService) -> None:
        call_id, _ = await accepted_team(budget)
        response = await budget.client.get(
            "/api/v1/ledger",
            params={"call_id": call_id, "since": "2024-08-01T09:59:00+02:00"},
            headers=budget.auth("finance"),
        )
        assert len(response.json()["items"]) == 3  # booked at 08:00Z, i.e. 10:00 in Berlin

    @pytest.mark.parametrize("limit", ["0", "201", "-1", "1e3", "99999999999999999999"])
    async def test_the_limit_is_1_to_200(self, budget: RunningService, limit: str) -> None:
        response = await budget.client.get(
            "/api/v1/ledger", params={"limit": limit}, headers=budget.auth("finance")
        )
        assert_problem(response, 422, "validation-error")

    async def test_a_filter_id_with_nul_is_422(self, budget: RunningService) -> None:
        response = await budget.client.get(
            "/api/v1/ledger", params={"team_id": f"a{NUL}"}, headers=budget.auth("finance")
        )
        assert_problem(response, 422, "validation-error")


class TestTeamExpensesPages:
    async def test_the_limit_is_honoured_and_the_cursor_pages_through_every_expense(
        self, budget: RunningService
    ) -> None:
        _, team_id = await accepted_team(budget)
        submitted = {(await submit(budget, team_id, net="10.00")).json()["id"] for _ in range(5)}
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = await budget.client.get(
                f"/api/v1/teams/{team_id}/expenses", params=params, headers=budget.auth("staff")
            )
            assert page.status_code == 200, page.text
            assert len(page.json()["items"]) <= 2
            seen += [e["id"] for e in page.json()["items"]]
            cursor = page.json()["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 5
        assert set(seen) == submitted

    @pytest.mark.parametrize("limit", [0, 201])
    async def test_the_limit_is_bounded(self, budget: RunningService, limit: int) -> None:
        _, team_id = await accepted_team(budget)
        response = await budget.client.get(
            f"/api/v1/teams/{team_id}/expenses",
            params={"limit": limit},
            headers=budget.auth("staff"),
        )
        assert_problem(response, 422, "validation-error")

    @pytest.mark.parametrize("cursor", FORGED_CURSORS.values(), ids=FORGED_CURSORS.keys())
    async def test_a_forged_cursor_is_400(self, budget: RunningService, cursor: str) -> None:
        _, team_id = await accepted_team(budget)
        response = await budget.client.get(
            f"/api/v1/teams/{team_id}/expenses",
            params={"cursor": cursor},
            headers=budget.auth("staff"),
        )
        assert_problem(response, 400, "invalid-cursor")


class TestReceiptNumbers:
    @pytest.mark.parametrize(
        "again",
        ["re-1", "RE\u20101", "RE-\u200b1", "ＲＥ－１", "Re\u20111", "RE\u22121", " RE-1 "],
    )
    async def test_one_receipt_in_another_spelling_is_a_duplicate(
        self, budget: RunningService, again: str
    ) -> None:
        _, team_id = await accepted_team(budget)
        first = await submit(budget, team_id, receipt_number="RE-1")
        assert first.status_code == 201, first.text
        assert first.json()["receipt_number"] == "RE-1"
        response = await submit(budget, team_id, receipt_number=again)
        assert_problem(response, 409, "duplicate-receipt")
        assert await pending(budget, team_id) == "1190.00"

    async def test_the_staffs_spelling_is_kept_for_display(self, budget: RunningService) -> None:
        _, team_id = await accepted_team(budget)
        response = await submit(budget, team_id, receipt_number="Rg\u20102024/17")
        assert response.json()["receipt_number"] == "Rg\u20102024/17"

    async def test_a_receipt_number_that_normalises_to_nothing_is_422(
        self, budget: RunningService
    ) -> None:
        _, team_id = await accepted_team(budget)
        response = await submit(budget, team_id, receipt_number="\u200b\u200b")
        assert_problem(response, 422, "invalid-receipt-number")

    async def test_a_10_kb_receipt_number_is_422(self, budget: RunningService) -> None:
        _, team_id = await accepted_team(budget)
        response = await submit(budget, team_id, receipt_number="R" * 10_000)
        body = assert_problem(response, 422, "validation-error")
        assert "R" * 100 not in str(body)


class TestControlCharactersAndMoney:
    @pytest.mark.parametrize("char", CONTROL_CHARACTERS)
    @pytest.mark.parametrize("field", ["receipt_number", "payee", "purpose"])
    async def test_control_characters_are_422_and_change_nothing(
        self, budget: RunningService, char: str, field: str
    ) -> None:
        _, team_id = await accepted_team(budget)
        response = await submit(budget, team_id, **{field: f"x{char}y"})
        body = assert_problem(response, 422, "validation-error")
        assert "control character" in body["detail"]
        assert await pending(budget, team_id) == "0.00"

    async def test_a_purpose_keeps_its_line_breaks(self, budget: RunningService) -> None:
        _, team_id = await accepted_team(budget)
        response = await submit(budget, team_id, purpose="Interviews\nund Auswertung")
        assert response.json()["purpose"] == "Interviews\nund Auswertung"

    async def test_a_rejection_reason_with_nul_is_422(self, budget: RunningService) -> None:
        _, team_id = await accepted_team(budget)
        expense = (await submit(budget, team_id)).json()
        response = await budget.client.post(
            f"/api/v1/expenses/{expense['id']}/reject",
            json={"reason": f"nein{NUL}"},
            headers=budget.auth("finance"),
        )
        assert_problem(response, 422, "validation-error")

    @pytest.mark.parametrize("amount", ["١.٠٠", "１.００", "1\u0660.00"])
    async def test_money_in_other_digits_is_422(self, budget: RunningService, amount: str) -> None:
        _, team_id = await accepted_team(budget)
        response = await submit(budget, team_id, net=amount)
        assert_problem(response, 422, "validation-error")
        assert await pending(budget, team_id) == "0.00"

    @pytest.mark.parametrize(
        "path",
        [
            "/api/v1/teams/" + "t" * 10_000 + "/budget",
            "/api/v1/expenses/" + "e" * 10_000,
            "/api/v1/calls/a%00b/budget",
        ],
    )
    async def test_an_absurd_path_id_is_422(self, budget: RunningService, path: str) -> None:
        response = await budget.client.get(path, headers=budget.auth("finance"))
        body = assert_problem(response, 422, "validation-error")
        assert len(body["detail"]) < 200


class TestExportsAreInert:
    FORMULAS: ClassVar[dict[str, str]] = {
        "payee": '=HYPERLINK("http://evil.example","Klick")',
        "purpose": "+cmd|' /C calc'!A0",
        "receipt_number": "@SUM(A1:A2)",
    }

    async def test_formula_cells_in_the_receipt_list_are_neutralised(
        self, budget: RunningService
    ) -> None:
        _, team_id = await accepted_team(budget)
        await submit(budget, team_id, **self.FORMULAS)
        await submit(budget, team_id, payee="-2+3", purpose="=1+1", receipt_number="-7")
        response = await budget.client.get(
            f"/api/v1/teams/{team_id}/receipts.csv",
            params={"sep": ";", "decimal": "comma", "status": "all"},
            headers=budget.auth("finance"),
        )
        rows = csv_rows(response, ";")
        columns = {"payee": "Payee", "purpose": "Purpose", "receipt_number": "Receipt no."}
        first = next(r for r in rows if r["Payee"].startswith("'="))
        assert {f: first[c] for f, c in columns.items()} == {
            f: "'" + v for f, v in self.FORMULAS.items()
        }
        second = next(r for r in rows if r["Receipt no."] == "'-7")
        assert (second["Payee"], second["Purpose"]) == ("'-2+3", "'=1+1")
        # Amounts the service writes stay numbers.
        assert first["Net"] == "1000,00"

    async def test_the_spreadsheet_keeps_formula_text_as_text(self, budget: RunningService) -> None:
        _, team_id = await accepted_team(budget)
        await submit(budget, team_id, **self.FORMULAS)
        response = await budget.client.get(
            f"/api/v1/teams/{team_id}/receipts.xlsx",
            params={"status": "all"},
            headers=budget.auth("finance"),
        )
        sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
        assert sheet is not None
        cells = {cell.value: cell.data_type for row in sheet.iter_rows() for cell in row}
        for text in self.FORMULAS.values():
            assert cells[text] == "s"

    async def test_negative_amounts_in_the_call_ledger_stay_numbers(
        self, budget: RunningService
    ) -> None:
        call_id, _ = await accepted_team(budget)
        response = await budget.client.get(
            f"/api/v1/calls/{call_id}/ledger.csv",
            params={"sep": ";", "decimal": "comma"},
            headers=budget.auth("finance"),
        )
        amounts = [r["amount_eur"] for r in csv_rows(response, ";")]
        assert "-18000,00" in amounts
        assert not any(a.startswith("'") for a in amounts)
