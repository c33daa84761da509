"""In-process rate limits for the HTTP edge: token buckets per key, a penalty box per address.

Hand-written rather than taken from ``limits``: its in-memory storage keeps every key it has
seen until its window passes, with no bound on how many, and an address-keyed limiter must
not grow with the number of addresses an attacker can send from. Here each table keeps at
most ``max_entries`` and drops the least recently seen.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable


def address_key(host: str) -> str:
    """The unit an address limit applies to: an IPv4 address, or an IPv6 address's /64.

    One IPv6 subscriber holds a whole /64, so counting single IPv6 addresses would let one
    client rotate through 2**64 of them.
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def retry_after_header(wait_seconds: float) -> dict[str, str]:
    """``Retry-After`` in whole seconds, never 0 (0 would invite an immediate retry)."""
    return {"Retry-After": str(max(1, math.ceil(wait_seconds)))}


class TokenBuckets:
    """A token bucket per key: ``burst`` requests at once, refilled at ``rate_per_second``."""

    def __init__(
        self,
        rate_per_second: float,
        burst: int,
        *,
        max_entries: int,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        assert rate_per_second > 0
        assert burst >= 1
        assert max_entries >= 1
        self._rate = rate_per_second
        self._burst = float(burst)
        self._max_entries = max_entries
        self._monotonic = monotonic
        # key -> (tokens, when counted); dict order is recency order, oldest first.
        self._buckets: dict[str, tuple[float, float]] = {}

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str) -> float:
        """Take one token for ``key``: 0.0 when taken, else the seconds until one is there."""
        now = self._monotonic()
        tokens, counted_at = self._buckets.pop(key, (self._burst, now))
        tokens = min(self._burst, tokens + (now - counted_at) * self._rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self._rate
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self._max_entries:
            del self._buckets[next(iter(self._buckets))]
        return wait

    def empty(self, key: str) -> bool:
        """Whether ``key``'s next take would have to wait."""
        tokens, counted_at = self._buckets.get(key, (self._burst, self._monotonic()))
        return tokens + (self._monotonic() - counted_at) * self._rate < 1


class PenaltyBox:
    """Addresses that failed too often: ``max_failures`` per ``window_seconds`` are allowed,
    and the address that uses them up is refused for ``block_seconds``.
    """

    def __init__(
        self,
        max_failures: int,
        window_seconds: float,
        block_seconds: float,
        *,
        max_entries: int,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._failures = TokenBuckets(
            max_failures / window_seconds,
            max_failures,
            max_entries=max_entries,
            monotonic=monotonic,
        )
        self._block_seconds = block_seconds
        self._max_entries = max_entries
        self._monotonic = monotonic
        self._blocked_until: dict[str, float] = {}

    def blocked_for(self, address: str) -> float:
        """Seconds ``address`` stays refused; 0.0 when it is not."""
        until = self._blocked_until.get(address)
        if until is None:
            return 0.0
        remaining = until - self._monotonic()
        if remaining <= 0:
            del self._blocked_until[address]
            return 0.0
        return remaining

    def failed(self, address: str) -> None:
        """Count one failure of ``address``; the one that uses up its allowance blocks it."""
        self._failures.take(address)
        if self._failures.empty(address):
            self._blocked_until.pop(address, None)
            self._blocked_until[address] = self._monotonic() + self._block_seconds
            if len(self._blocked_until) > self._max_entries:
                del self._blocked_until[next(iter(self._blocked_until))]
