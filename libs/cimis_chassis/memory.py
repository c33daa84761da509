"""The base of every in-memory repository: the fakes handler tests run on."""

from __future__ import annotations

import copy
from typing import Any


class MemoryRepository:
    """A fake whose whole state is its attributes, so that a rollback can put it back."""

    def snapshot(self) -> dict[str, Any]:
        return copy.deepcopy(vars(self))

    def restore(self, state: dict[str, Any]) -> None:
        vars(self).clear()
        vars(self).update(state)
