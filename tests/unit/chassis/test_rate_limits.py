"""The edge's rate limits: token buckets per key, a penalty box per address, bounded memory."""

from __future__ import annotations

import pytest

from cimis_chassis.rate_limits import PenaltyBox, TokenBuckets, address_key, retry_after_header


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_one_request_per_refill() -> None:
    clock = FakeMonotonic()
    buckets = TokenBuckets(2.0, 3, max_entries=10, monotonic=clock)

    assert [buckets.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("k") == pytest.approx(0.5)
    assert buckets.take("other") == 0.0
    clock.now += 0.5
    assert buckets.take("k") == 0.0
    assert buckets.take("k") > 0


def test_a_refilled_bucket_never_holds_more_than_its_burst() -> None:
    clock = FakeMonotonic()
    buckets = TokenBuckets(100.0, 2, max_entries=10, monotonic=clock)
    buckets.take("k")
    clock.now += 3600
    assert [buckets.take("k") > 0 for _ in range(3)] == [False, False, True]


def test_the_tables_keep_only_the_most_recently_seen_entries() -> None:
    clock = FakeMonotonic()
    buckets = TokenBuckets(0.001, 1, max_entries=100, monotonic=clock)
    for n in range(10_000):
        buckets.take(f"10.0.{n // 256}.{n % 256}")
    assert len(buckets) == 100


def test_an_address_is_boxed_after_its_allowance_of_failures_then_let_out() -> None:
    clock = FakeMonotonic()
    box = PenaltyBox(3, 60.0, 300.0, max_entries=100, monotonic=clock)

    box.failed("10.0.0.1")
    box.failed("10.0.0.1")
    assert box.blocked_for("10.0.0.1") == 0.0
    box.failed("10.0.0.1")
    assert box.blocked_for("10.0.0.1") == pytest.approx(300.0)
    assert box.blocked_for("10.0.0.2") == 0.0
    clock.now += 299
    assert box.blocked_for("10.0.0.1") == pytest.approx(1.0)
    clock.now += 1
    assert box.blocked_for("10.0.0.1") == 0.0


def test_failures_spread_wider_than_the_window_never_box_an_address() -> None:
    clock = FakeMonotonic()
    box = PenaltyBox(3, 60.0, 300.0, max_entries=100, monotonic=clock)
    for _ in range(20):
        box.failed("10.0.0.1")
        clock.now += 21
    assert box.blocked_for("10.0.0.1") == 0.0


def test_ipv6_addresses_count_per_64_prefix() -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::2")
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert address_key("192.0.2.7") == "192.0.2.7"
    assert address_key("testclient") == "testclient"


def test_retry_after_is_whole_seconds_and_at_least_one() -> None:
    assert retry_after_header(0.01) == {"Retry-After": "1"}
    assert retry_after_header(99.2) == {"Retry-After": "100"}
