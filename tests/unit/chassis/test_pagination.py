"""Cursors decode to exactly what was issued; anything else is a 400, never a server error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from cimis_chassis.pagination import (
    decode_cursor,
    decode_position_cursor,
    encode_cursor,
)
from cimis_chassis.problems import Problem
from tests.api.crafted import FORGED_CURSORS, b64, json_cursor


@given(
    st.datetimes(
        min_value=datetime(1970, 1, 1),
        max_value=datetime(2999, 12, 31),
        timezones=st.just(UTC),
    ),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Zs", "Cf")),
        min_size=1,
        max_size=36,
    ),
)
# Found by hypothesis: letters beyond the BMP, \u-escaped, made the cursor too long to accept.
@example(moment=datetime(2000, 1, 1, tzinfo=UTC), ident="0000" + "¡" * 18 + "\U00010000" * 13)
def test_an_issued_cursor_decodes_to_its_key(moment: datetime, ident: str) -> None:
    assert decode_cursor(encode_cursor(moment, ident)) == (moment, ident)


def test_a_time_with_an_offset_comes_back_in_utc() -> None:
    moment = datetime(2026, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=1)))
    at, _ = decode_cursor(encode_cursor(moment, "x"))
    assert (at, at.tzinfo) == (datetime(2026, 1, 1, tzinfo=UTC), UTC)


@pytest.mark.parametrize("cursor", FORGED_CURSORS.values(), ids=FORGED_CURSORS.keys())
def test_a_forged_cursor_is_an_invalid_cursor_problem(cursor: str) -> None:
    with pytest.raises(Problem) as raised:
        decode_cursor(cursor)
    assert (raised.value.status, raised.value.slug) == (400, "invalid-cursor")


@pytest.mark.parametrize(
    "cursor",
    [
        json_cursor(["2026-01-01T00:00:00Z", ""]),
        json_cursor(["2026-01-01T00:00:00Z", "x" * 201]),
        json_cursor(["2026-01-01T00:00:00Z", None]),
        json_cursor([None, "x"]),
        json_cursor(["2026-01-01T00:00:00Z", True]),
        json_cursor(["", "x"]),
        json_cursor([]),
        b64(b"\xff\xfe"),
        "é" * 10,
    ],
)
def test_other_malformed_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(Problem):
        decode_cursor(cursor)


@pytest.mark.parametrize(
    ("cursor", "position"), [("1", 1), ("42", 42), (str(2**63 - 1), 2**63 - 1)]
)
def test_a_position_cursor_is_a_positive_bigint(cursor: str, position: int) -> None:
    assert decode_position_cursor(cursor) == position


@pytest.mark.parametrize(
    "cursor",
    ["0", "-1", "+1", " 1", "1 ", "1.0", "1e3", "١", "１", str(2**63), "9" * 30, "", "0x10"],
)
def test_a_forged_position_cursor_is_400(cursor: str) -> None:
    with pytest.raises(Problem) as raised:
        decode_position_cursor(cursor)
    assert raised.value.status == 400
