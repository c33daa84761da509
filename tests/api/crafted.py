"""Crafted input shared by the services' API tests: cursors and strings a client can forge."""

from __future__ import annotations

import base64
import json


def b64(raw: str | bytes) -> str:
    data = raw.encode() if isinstance(raw, str) else raw
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def json_cursor(value: object) -> str:
    return b64(json.dumps(value))


# Each decodes (base64, then JSON) but is not a cursor any list ever issued.
FORGED_CURSORS: dict[str, str] = {
    "naive time, int id": json_cursor(["2026-01-01", 1]),
    "aware time, int id": json_cursor(["2026-01-01T00:00:00Z", 1]),
    "nested id": json_cursor(["2026-01-01T00:00:00Z", ["x", {"y": 1}]]),
    "nested time": json_cursor([["2026-01-01T00:00:00Z"], "x"]),
    "time out of range in UTC": json_cursor(["9999-12-31T23:59:59-14:00", "x"]),
    "time before year 1 in UTC": json_cursor(["0001-01-01T00:00:00+14:00", "x"]),
    "three items": json_cursor(["2026-01-01T00:00:00Z", "x", "y"]),
    "an object": json_cursor({"at": "2026-01-01T00:00:00Z", "id": "x"}),
    "a huge number": b64("[" + "9" * 5000 + ', "x"]'),
    "infinity": b64('[1e999, "x"]'),
    "deep nesting": b64("[" * 300 + "]" * 300),
    "a NUL in the id": json_cursor(["2026-01-01T00:00:00Z", "a\u0000b"]),
    "not base64 JSON": "garbage!",
    "very long": "A" * 5000,
}

NUL = "\u0000"
CONTROL_CHARACTERS = [NUL, "\u0007", "\u001b[31m", "\u007f", "\u0085"]
