"""The one table a chaos run prints, with every difference on its own line."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Result:
    seed: int
    profile: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    workdir: str = ""

    @property
    def ok(self) -> bool:
        return not self.differences


def render(result: Result) -> str:
    rows = [
        *result.rows,
        ("differences", str(len(result.differences)) if result.differences else "none"),
        ("seed", f"{result.seed} (profile {result.profile}; replay with --seed {result.seed})"),
    ]
    width = max(len(name) for name, _ in rows)
    rule = "-" * (width + 2) + "+" + "-" * 60
    lines = [rule, *(f" {name:<{width}} | {value}" for name, value in rows), rule]
    lines.extend(f"  - {difference}" for difference in result.differences)
    if result.workdir:
        lines.append(f"logs and state: {result.workdir}")
    return "\n".join(lines)
