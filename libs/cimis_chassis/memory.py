"""The base of every in-memory repository: the fakes handler tests run on."""

from __future__ import annotations

import copy
from typing import Any, ClassVar


class MemoryRepository:
    """A fake whose whole state is its attributes, so that a rollback can put it back.

    ``LINKS`` names attributes that refer to other fakes of the same unit: those snapshot
    themselves, and a copy here would cut the link at the first rollback.
    """

    LINKS: ClassVar[frozenset[str]] = frozenset()

    def begin(self) -> None:
        """Called as each unit of work begins, e.g. to forget what the last one read."""

    def snapshot(self) -> dict[str, Any]:
        return copy.deepcopy({k: v for k, v in vars(self).items() if k not in self.LINKS})

    def restore(self, state: dict[str, Any]) -> None:
        links = {k: v for k, v in vars(self).items() if k in self.LINKS}
        vars(self).clear()
        vars(self).update(state)
        vars(self).update(links)
