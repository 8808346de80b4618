"""The one back-off rule shared by fetches, state-of-charge sends and Flip dispatch."""

from __future__ import annotations

from datetime import timedelta

from custom_components.flatpeak.const import MAX_RETRY_AFTER, retry_delay

M = timedelta(minutes=1)


def test_doubles_up_to_the_cap() -> None:
    assert [retry_delay(n, 30 * M) for n in range(1, 8)] == [
        M,
        2 * M,
        4 * M,
        8 * M,
        16 * M,
        30 * M,
        30 * M,
    ]
    assert retry_delay(10_000, 30 * M) == 30 * M


def test_waits_at_least_a_retry_after_capped_at_a_day() -> None:
    assert retry_delay(1, 30 * M, retry_after=300) == 5 * M
    assert retry_delay(5, 30 * M, retry_after=30) == 16 * M
    assert retry_delay(1, 30 * M, retry_after=1e12) == MAX_RETRY_AFTER
