"""JSON log lines that carry the correlation id of the request or event being handled."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime

correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self._service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        correlation_id = correlation_id_var.get()
        if correlation_id:
            entry["correlation_id"] = correlation_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO", json_lines: bool = True) -> None:
    """Route every logger (ours, uvicorn's, FastStream's) through one stderr handler."""
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "faststream", "aiokafka"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))


class ThrottledLog:
    """Logs a repeating problem once per ``interval_seconds`` with a count, not once per retry.

    A consumer that retries a dead database every few seconds would otherwise write a stack
    trace per attempt and fill the disk long before anyone reads the log.
    """

    def __init__(
        self,
        logger: logging.Logger,
        interval_seconds: float = 60.0,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._logger = logger
        self._interval = interval_seconds
        self._clock = clock or time.monotonic
        # problem key -> (when it was last written, occurrences since then)
        self._seen: dict[str, tuple[float, int]] = {}

    def report(
        self,
        key: str,
        message: str,
        *args: object,
        level: int = logging.WARNING,
        exc_info: BaseException | None = None,
    ) -> None:
        """Write ``message`` now if ``key`` was quiet for an interval, else only count it."""
        now = self._clock()
        last = self._seen.get(key)
        if last is not None and now - last[0] < self._interval:
            self._seen[key] = (last[0], last[1] + 1)
            return
        suppressed = last[1] if last is not None else 0
        if suppressed:
            message += f" (and {suppressed} more time(s) in the last {self._interval:.0f} s)"
        self._logger.log(level, message, *args, exc_info=exc_info)
        self._seen[key] = (now, 0)

    def resolve(self, key: str) -> None:
        """Forget ``key``: the problem is over, and its next occurrence is news again."""
        self._seen.pop(key, None)
