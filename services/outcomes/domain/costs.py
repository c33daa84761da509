"""What a team's work cost, per budget line: the fundable amounts finance approved."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# The budget lines in the order a cost plan lists them (budget's positions).
POSITIONS = ("personnel", "material", "external_services", "travel", "other")


@dataclass(frozen=True)
class CostLine:
    position: str
    approved_cents: int


def line_order(position: str) -> tuple[int, str]:
    """Sorts budget lines in cost-plan order, an unknown line last, by name."""
    known = POSITIONS.index(position) if position in POSITIONS else len(POSITIONS)
    return known, position


def cost_lines(approved: Mapping[str, int]) -> list[CostLine]:
    """Every line with money on it, in cost-plan order."""
    lines = [CostLine(p, c) for p, c in approved.items() if c]
    return sorted(lines, key=lambda line: line_order(line.position))
