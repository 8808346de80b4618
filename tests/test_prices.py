"""The pure logic of a price answer: the price at a moment, the next change, a cost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.flatpeak.api import Prices, SocSchedule
from custom_components.flatpeak.schedule import ChargingPlan, PriceCurve, savings

from .common import fixture_json

T0 = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
M = timedelta(minutes=1)
MS = timedelta(milliseconds=1)


def z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def curve(*periods: tuple[int, int, float]) -> PriceCurve:
    """A price answer in wire format with these (start, end, price) periods, in minutes."""
    document = fixture_json("flatpeak/prices.json")
    document["data"] = [
        {
            "valid_from": z(T0 + start * M),
            "valid_to": z(T0 + end * M),
            "price": {"value": value, "confidence": 1},
        }
        for start, end, value in periods
    ]
    return PriceCurve(Prices.from_json(document))


def plan(energy_wh: float | None, cost: float | None, end: int = 600) -> ChargingPlan:
    """A plan of one session from T0 to end (minutes), with one window."""
    document = fixture_json("flatpeak/schedule_soc.json")
    session = document["data"][0]
    session["start_time"], session["end_time"] = z(T0), z(T0 + end * M)
    session["energy"] = None if energy_wh is None else {"units": "WH", "value": energy_wh}
    session["cost"] = None if cost is None else {"value": cost, "confidence": 1}
    session["schedule"][0]["start_time"] = z(T0 + 60 * M)
    session["schedule"][0]["end_time"] = z(T0 + 90 * M)
    return ChargingPlan(SocSchedule.from_json(document))


def test_the_fixture_reads_sorted_and_the_string_price_as_a_number() -> None:
    prices = PriceCurve(Prices.from_json(fixture_json("flatpeak/prices.json")))
    assert [p.value for p in prices.periods] == [0.26305, 0.2712, 0.28]
    assert prices.at(T0 + 60 * M) == 0.28


def test_price_at_a_moment_on_half_open_periods() -> None:
    prices = curve((0, 30, 0.2), (30, 60, 0.3))
    assert prices.at(T0 - MS) is None
    assert prices.at(T0) == 0.2
    assert prices.at(T0 + 30 * M - MS) == 0.2
    assert prices.at(T0 + 30 * M) == 0.3
    assert prices.period_at(T0 + 30 * M).start == T0 + 30 * M  # type: ignore[union-attr]
    assert prices.at(T0 + 60 * M - MS) == 0.3
    assert prices.at(T0 + 60 * M) is None


def test_of_overlapping_periods_the_latest_to_start_is_in_force() -> None:
    prices = curve((0, 60, 0.2), (20, 40, 0.5))
    assert prices.at(T0 + 19 * M) == 0.2
    assert prices.at(T0 + 20 * M) == 0.5
    assert prices.at(T0 + 40 * M - MS) == 0.5
    # When the later period ends, the longer one is in force again.
    assert prices.at(T0 + 40 * M) == 0.2


def test_gaps_have_no_price_and_empty_or_inverted_periods_are_left_out() -> None:
    prices = curve((0, 30, 0.2), (60, 90, 0.3), (45, 45, 9.0))
    assert prices.at(T0 + 45 * M) is None
    assert prices.period_at(T0 + 59 * M) is None
    assert [p.value for p in prices.periods] == [0.2, 0.3]


def test_next_change_merges_consecutive_equal_prices() -> None:
    prices = curve((0, 30, 0.2), (30, 60, 0.2), (60, 90, 0.3), (90, 120, 0.1))
    assert prices.next_change(T0) == (T0 + 60 * M, 0.3)
    assert prices.next_change(T0 + 45 * M) == (T0 + 60 * M, 0.3)
    assert prices.next_change(T0 + 60 * M) == (T0 + 90 * M, 0.1)


def test_next_change_stops_at_a_gap_and_beyond_the_prices() -> None:
    prices = curve((0, 30, 0.2), (30, 60, 0.2), (90, 120, 0.3))
    assert prices.next_change(T0) is None  # same price up to a gap: no change to act on
    assert prices.next_change(T0 + 70 * M) is None  # in the gap
    assert prices.next_change(T0 + 90 * M) is None  # the last period
    assert prices.next_change(T0 + 120 * M) is None  # beyond


def test_next_change_inside_overlapping_periods() -> None:
    prices = curve((0, 60, 0.2), (20, 40, 0.5))
    # The price changes when the later period starts, not when the first ends.
    assert prices.next_change(T0) == (T0 + 20 * M, 0.5)
    assert prices.next_change(T0 + 30 * M) == (T0 + 40 * M, 0.2)
    assert prices.next_change(T0 + 40 * M) is None


def test_covers() -> None:
    prices = curve((0, 30, 0.2), (30, 60, 0.3), (90, 120, 0.3))
    assert prices.covers(T0, T0 + 60 * M)
    assert prices.covers(T0 + 10 * M, T0 + 20 * M)
    assert not prices.covers(T0 - MS, T0 + 10 * M)
    assert not prices.covers(T0, T0 + 60 * M + MS)
    assert not prices.covers(T0 + 50 * M, T0 + 100 * M)  # across the gap
    assert prices.covers(T0 + 90 * M, T0 + 120 * M)
    assert prices.covers(T0 + 200 * M, T0 + 200 * M)  # nothing to cover


def test_next_edge_is_every_start_and_end() -> None:
    prices = curve((0, 30, 0.2), (30, 60, 0.2), (90, 120, 0.3))
    moments = []
    now = T0 - M
    while (boundary := prices.next_edge(now)) is not None:
        moments.append(int((boundary - T0) / M))
        now = boundary
    assert moments == [0, 30, 60, 90, 120]
    assert prices.next_edge(T0 + 30 * M - MS) == T0 + 30 * M
    assert prices.next_edge(T0 + 120 * M) is None


def test_cost_over_several_periods() -> None:
    prices = curve((0, 30, 0.2), (30, 60, 0.3), (60, 90, 0.1))
    # 6 kWh at 4 kW: 2 kWh in each half hour from T0.
    assert prices.cost_from(T0, 6, 4) == pytest.approx(2 * 0.2 + 2 * 0.3 + 2 * 0.1)


def test_cost_from_inside_a_period_and_ending_inside_one() -> None:
    prices = curve((0, 30, 0.2), (30, 60, 0.3), (60, 90, 0.1))
    # From T0+15: 15 minutes at 4 kW (1 kWh) at 0.2, then 1.5 kWh of the next period.
    assert prices.cost_from(T0 + 15 * M, 2.5, 4) == pytest.approx(1 * 0.2 + 1.5 * 0.3)
    # Less than the first period holds.
    assert prices.cost_from(T0, 0.5, 4) == pytest.approx(0.5 * 0.2)


def test_cost_of_nothing_is_nothing_and_no_power_never_gets_there() -> None:
    prices = curve((0, 30, 0.2))
    assert prices.cost_from(T0, 0, 4) == 0
    assert prices.cost_from(T0, 0, 0) == 0
    assert prices.cost_from(T0, 1, 0) is None
    assert prices.cost_from(T0, 1, -1) is None


def test_cost_is_unknown_when_the_prices_do_not_cover_the_time_it_takes() -> None:
    prices = curve((0, 30, 0.2), (60, 90, 0.3))
    assert prices.cost_from(T0, 2, 4) == pytest.approx(0.4)  # just fits the first period
    assert prices.cost_from(T0, 2.1, 4) is None  # runs into the gap
    assert prices.cost_from(T0 - M, 1, 4) is None  # starts before the prices
    assert prices.cost_from(T0 + 90 * M, 1, 4) is None  # after them


def test_cost_inside_overlapping_periods_uses_the_price_in_force() -> None:
    prices = curve((0, 60, 0.2), (20, 40, 0.5))
    # 4 kWh at 4 kW from T0: 20 min at 0.2, 20 at 0.5, 20 at 0.2.
    expected = 4 / 3 * 0.2 + 4 / 3 * 0.5 + 4 / 3 * 0.2
    assert prices.cost_from(T0, 4, 4) == pytest.approx(expected)


def test_savings_against_charging_from_now() -> None:
    prices = curve((0, 60, 0.3), (60, 120, 0.1))
    # 5 kWh at 5 kW now: an hour at 0.3 = 1.5; the plan says 0.5.
    assert savings(plan(5000, 0.5), prices, T0, 5) == pytest.approx(1.0)
    # Half an hour later, the same energy costs half an hour at each price.
    assert savings(plan(5000, 0.5), prices, T0 + 30 * M, 5) == pytest.approx(
        2.5 * 0.3 + 2.5 * 0.1 - 0.5
    )


def test_savings_are_unknown_without_energy_cost_or_prices_far_enough() -> None:
    prices = curve((0, 60, 0.3))
    assert savings(plan(None, 0.5), prices, T0, 5) is None
    assert savings(plan(5000, None), prices, T0, 5) is None
    assert savings(plan(10_000, 0.5), prices, T0, 5) is None  # two hours, an hour of prices
    assert savings(plan(5000, 0.5), prices, T0, 0) is None
    # Once the session has ended there is nothing left to save.
    assert savings(plan(5000, 0.5, end=30), prices, T0 + 30 * M, 5) == 0
