"""Tests of the pure price and schedule functions."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from sandbox.tariff import (
    EXPORT_FLAT,
    IMPORT_DAY,
    IMPORT_NIGHT,
    IMPORT_PEAK,
    LOCAL_TZ,
    Availability,
    PriceModel,
    PricePeriod,
    Session,
    clamp_horizon,
    grid_price,
    import_base_price,
    last_local_time,
    next_local_time,
    plan_session,
    price_periods,
    schedule_by_soc,
    session_bounds,
)

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
MODEL = PriceModel(seed=1)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def battery_schedule(now: datetime, model: PriceModel = MODEL, **kwargs: float) -> list[Session]:
    params: dict[str, float] = {
        "soc_percent": 20,
        "target_percent": 90,
        "capacity_kwh": 13.5,
        "power_kw": 5,
        "horizon_h": 24,
    }
    params.update(kwargs)
    return schedule_by_soc(model, now, **params)


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (time(0, 0), IMPORT_DAY),
        (time(0, 30), IMPORT_NIGHT),
        (time(5, 0), IMPORT_NIGHT),
        (time(5, 30), IMPORT_DAY),
        (time(15, 30), IMPORT_DAY),
        (time(16, 0), IMPORT_PEAK),
        (time(18, 30), IMPORT_PEAK),
        (time(19, 0), IMPORT_DAY),
    ],
)
def test_import_bands(local: time, expected: float) -> None:
    assert import_base_price(local) == expected


def test_grid_price_is_deterministic_and_near_its_band() -> None:
    night = utc(2026, 3, 28, 1, 0)
    peak = utc(2026, 3, 28, 16, 30)
    assert grid_price(MODEL, "IMPORT", night) == grid_price(PriceModel(seed=1), "IMPORT", night)
    assert 0.069 <= grid_price(MODEL, "IMPORT", night) <= 0.081
    assert 0.33 <= grid_price(MODEL, "IMPORT", peak) <= 0.39
    assert grid_price(MODEL, "EXPORT", peak) == EXPORT_FLAT
    starts = [utc(2026, 3, 28, 8, 0) + timedelta(minutes=30 * i) for i in range(16)]
    seed1 = [grid_price(MODEL, "IMPORT", start) for start in starts]
    seed2 = [grid_price(PriceModel(seed=2), "IMPORT", start) for start in starts]
    assert seed1 != seed2
    assert len(set(seed1)) > 1  # the dynamic part varies per half hour


def test_price_periods_grid_clipping_and_confidence() -> None:
    start = utc(2026, 3, 28, 12, 10)
    periods = price_periods(MODEL, start, start + timedelta(hours=30), "IMPORT", NOW)
    assert periods[0].start == start
    assert periods[0].end == utc(2026, 3, 28, 12, 30)
    assert periods[-1].end == start + timedelta(hours=30)
    assert all(a.end == b.start for a, b in pairwise(periods))
    assert all(p.end - p.start <= timedelta(minutes=30) for p in periods)
    confirmed = [p for p in periods if p.confidence == 1]
    forecast = [p for p in periods if p.confidence < 1]
    assert confirmed[-1].start < NOW + timedelta(hours=24) <= forecast[0].start
    assert {p.confidence for p in forecast} == {0.8}
    assert price_periods(MODEL, start, start, "IMPORT", NOW) == []


def test_prices_do_not_depend_on_when_asked() -> None:
    start, end = utc(2026, 4, 2, 0, 0), utc(2026, 4, 2, 6, 0)
    early = price_periods(MODEL, start, end, "IMPORT", NOW)
    late = price_periods(MODEL, start, end, "IMPORT", NOW + timedelta(days=4))
    assert [p.value for p in early] == [p.value for p in late]


def _night_periods(day_start: datetime, day_end: datetime) -> list[PricePeriod]:
    periods = price_periods(MODEL, day_start, day_end, "IMPORT", NOW)
    return [p for p in periods if p.value < 0.1]


def test_night_band_on_spring_forward_night() -> None:
    # 00:30 GMT to 05:30 BST is four hours of real time.
    night = _night_periods(utc(2026, 3, 28, 20, 0), utc(2026, 3, 29, 12, 0))
    assert len(night) == 8
    assert night[0].start == utc(2026, 3, 29, 0, 30)
    assert night[-1].end == utc(2026, 3, 29, 4, 30)


def test_night_band_on_fall_back_night() -> None:
    # 00:30 BST to 05:30 GMT is six hours: 01:00-02:00 local happens twice.
    night = _night_periods(utc(2026, 10, 24, 20, 0), utc(2026, 10, 25, 12, 0))
    assert len(night) == 12
    assert night[0].start == utc(2026, 10, 24, 23, 30)
    assert night[-1].end == utc(2026, 10, 25, 5, 30)
    assert len({p.start for p in night}) == 12


def test_next_local_time_is_strictly_after() -> None:
    seven_bst = utc(2026, 3, 30, 6, 0)
    assert next_local_time(utc(2026, 3, 30, 5, 59), time(7), LONDON) == seven_bst
    assert next_local_time(seven_bst, time(7), LONDON) == utc(2026, 3, 31, 6, 0)


def test_session_bounds_end_at_seven_local() -> None:
    bounds = session_bounds(NOW, 72, LOCAL_TZ)
    assert bounds == [
        (NOW, utc(2026, 3, 29, 6, 0)),
        (utc(2026, 3, 29, 6, 0), utc(2026, 3, 30, 6, 0)),
        (utc(2026, 3, 30, 6, 0), utc(2026, 3, 31, 6, 0)),
        (utc(2026, 3, 31, 6, 0), NOW + timedelta(hours=72)),
    ]
    for _start, end in bounds[:-1]:
        assert end.astimezone(LONDON).time() == time(7)


def test_session_bounds_round_now_down_to_the_minute() -> None:
    bounds = session_bounds(NOW + timedelta(seconds=59, microseconds=5), 1)
    assert bounds == [(NOW, NOW + timedelta(hours=1))]


def test_dst_days_are_23_and_25_hours() -> None:
    spring = session_bounds(utc(2026, 3, 28, 7, 0), 24)
    assert spring[0] == (utc(2026, 3, 28, 7, 0), utc(2026, 3, 29, 6, 0))
    assert spring[0][1] - spring[0][0] == timedelta(hours=23)
    autumn = session_bounds(utc(2026, 10, 24, 6, 0), 26)
    assert autumn[0] == (utc(2026, 10, 24, 6, 0), utc(2026, 10, 25, 7, 0))
    assert autumn[0][1] - autumn[0][0] == timedelta(hours=25)


EVENINGS = Availability(ready_by=(time(7, 30),), plug_in=time(18, 0))
TWICE_A_DAY = Availability(ready_by=(time(6, 30), time(17, 30)))


def test_last_local_time_is_strictly_before() -> None:
    six_gmt = utc(2026, 3, 28, 18, 0)
    assert last_local_time(utc(2026, 3, 28, 18, 1), time(18), LONDON) == six_gmt
    assert last_local_time(six_gmt, time(18), LONDON) == utc(2026, 3, 27, 18, 0)
    # After the clocks go forward, 18:00 is 17:00 UTC.
    assert last_local_time(utc(2026, 3, 30, 12, 0), time(18), LONDON) == utc(2026, 3, 29, 17, 0)


def test_sessions_of_a_device_plugged_in_for_the_evening() -> None:
    # At noon the car is away: its first session starts when it is plugged in, and
    # each ends at half past seven, across the change to summer time.
    assert session_bounds(NOW, 72, LOCAL_TZ, EVENINGS) == [
        (utc(2026, 3, 28, 18, 0), utc(2026, 3, 29, 6, 30)),
        (utc(2026, 3, 29, 17, 0), utc(2026, 3, 30, 6, 30)),
        (utc(2026, 3, 30, 17, 0), utc(2026, 3, 31, 6, 30)),
    ]
    # Plugged in already: the session runs from now; one the horizon cuts is cut short.
    assert session_bounds(utc(2026, 3, 28, 20, 5), 24, LOCAL_TZ, EVENINGS) == [
        (utc(2026, 3, 28, 20, 5), utc(2026, 3, 29, 6, 30)),
        (utc(2026, 3, 29, 17, 0), utc(2026, 3, 29, 20, 5)),
    ]
    # A horizon that ends before the car comes home holds no session.
    assert session_bounds(NOW, 5, LOCAL_TZ, EVENINGS) == []


def test_sessions_of_a_device_ready_twice_a_day() -> None:
    assert session_bounds(NOW, 24, LOCAL_TZ, TWICE_A_DAY) == [
        (NOW, utc(2026, 3, 28, 17, 30)),
        (utc(2026, 3, 28, 17, 30), utc(2026, 3, 29, 5, 30)),
        (utc(2026, 3, 29, 5, 30), NOW + timedelta(hours=24)),
    ]


def test_an_availability_needs_a_ready_by_time() -> None:
    with pytest.raises(ValueError, match="ready_by"):
        Availability(ready_by=())


def test_schedule_follows_the_availability() -> None:
    sessions = schedule_by_soc(
        MODEL,
        NOW,
        soc_percent=35,
        target_percent=80,
        capacity_kwh=60,
        power_kw=7.4,
        availability=EVENINGS,
    )
    (session,) = sessions
    assert (session.start, session.end) == (utc(2026, 3, 28, 18, 0), utc(2026, 3, 29, 6, 30))
    assert session.energy_wh == 27_000
    assert {slot.power_w for slot in session.slots} == {7400}
    # All of it in the cheap night, none in the evening peak.
    for slot in session.slots:
        assert utc(2026, 3, 29, 0, 30) <= slot.start < slot.end <= utc(2026, 3, 29, 5, 30)


def test_horizon_default_and_maximum() -> None:
    assert clamp_horizon(None) == 24
    assert clamp_horizon(10) == 10
    assert clamp_horizon(500) == 72
    assert session_bounds(NOW, clamp_horizon(500))[-1][1] == NOW + timedelta(hours=72)


def _periods(*prices: float, start: datetime = NOW) -> list[PricePeriod]:
    step = timedelta(minutes=30)
    return [
        PricePeriod(start + i * step, start + (i + 1) * step, price, 1.0 if i else 0.8)
        for i, price in enumerate(prices)
    ]


def test_plan_session_picks_cheapest_and_keeps_gaps() -> None:
    periods = _periods(0.1, 0.3, 0.05, 0.2)
    session = plan_session(NOW, NOW + timedelta(hours=2), periods, 4000, 4000)
    assert session is not None
    assert [(s.start, s.end) for s in session.slots] == [
        (NOW, NOW + timedelta(minutes=30)),
        (NOW + timedelta(minutes=60), NOW + timedelta(minutes=90)),
    ]
    assert session.energy_wh == 4000
    assert session.cost == pytest.approx(0.3)
    assert session.confidence == 0.8


def test_plan_session_partial_period_merges_with_neighbour() -> None:
    periods = _periods(0.1, 0.3, 0.05, 0.2)
    session = plan_session(NOW, NOW + timedelta(hours=2), periods, 5000, 4000)
    assert session is not None
    assert [(s.start, s.end) for s in session.slots] == [
        (NOW, NOW + timedelta(minutes=30)),
        (NOW + timedelta(minutes=60), NOW + timedelta(minutes=105)),
    ]
    assert session.cost == pytest.approx(0.05 * 2 + 0.1 * 2 + 0.2 * 1)
    assert {s.power_w for s in session.slots} == {4000}


@pytest.mark.parametrize(("energy", "minutes"), [(1000, 20), (1001, 21), (1, 1)])
def test_partial_slot_whole_minutes_rounded_up(energy: float, minutes: int) -> None:
    session = plan_session(NOW, NOW + timedelta(hours=1), _periods(0.1, 0.2), energy, 3000)
    assert session is not None
    (slot,) = session.slots
    assert slot.end - slot.start == timedelta(minutes=minutes)
    assert session.energy_wh == round(energy)


def test_plan_session_short_session_uses_everything() -> None:
    session = plan_session(
        NOW, NOW + timedelta(hours=2), _periods(0.1, 0.3, 0.05, 0.2), 10000, 4000
    )
    assert session is not None
    assert [(s.start, s.end) for s in session.slots] == [(NOW, NOW + timedelta(hours=2))]
    assert session.energy_wh == 8000


def test_plan_session_without_need() -> None:
    assert plan_session(NOW, NOW + timedelta(hours=1), _periods(0.1), 0, 4000) is None
    assert plan_session(NOW, NOW + timedelta(hours=1), _periods(0.1), 100, 0) is None
    assert plan_session(NOW, NOW, [], 100, 4000) is None


def test_schedule_energy_slots_and_cost() -> None:
    sessions = battery_schedule(NOW, horizon_h=72)
    assert len(sessions) == 4
    for session in sessions:
        assert session.energy_wh == 9450  # 70 % of 13.5 kWh
        for slot in session.slots:
            assert session.start <= slot.start < slot.end <= session.end
            assert slot.power_w == 5000
        for earlier, later in pairwise(session.slots):
            assert earlier.end < later.start  # merged: never two touching slots
        charged = sum((s.end - s.start for s in session.slots), timedelta())
        assert timedelta(minutes=113) <= charged <= timedelta(minutes=114)
    first = sessions[0]
    assert first.start == NOW
    assert first.confidence == 1
    assert sessions[1].confidence == 0.8
    # Recompute the cost from the prices: full periods plus the partial one.
    periods = price_periods(MODEL, first.start, first.end, "IMPORT", NOW)
    cost = 0.0
    remaining = 9450.0
    for slot in first.slots:
        for period in periods:
            overlap = min(slot.end, period.end) - max(slot.start, period.start)
            if overlap > timedelta(0):
                energy = min(5000 * overlap.total_seconds() / 3600, remaining)
                remaining -= energy
                cost += period.value * energy / 1000
    assert first.cost == pytest.approx(cost, abs=1e-5)


def test_schedule_charges_in_the_spring_forward_night() -> None:
    session = battery_schedule(NOW)[0]
    assert session.end == utc(2026, 3, 29, 6, 0)
    for slot in session.slots:
        assert utc(2026, 3, 29, 0, 30) <= slot.start < slot.end <= utc(2026, 3, 29, 4, 30)


def test_schedule_charges_in_the_fall_back_night() -> None:
    sessions = battery_schedule(
        utc(2026, 10, 24, 12, 0), capacity_kwh=40, soc_percent=0, target_percent=75
    )
    session = sessions[0]
    assert session.end - session.start == timedelta(hours=19)
    assert session.end == utc(2026, 10, 25, 7, 0)
    # 30 kWh at 5 kW is 6 hours: exactly the six-hour night of the long day.
    assert [(s.start, s.end) for s in session.slots] == [
        (utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 5, 30))
    ]


def test_schedule_is_deterministic_for_a_seed() -> None:
    assert battery_schedule(NOW, horizon_h=48) == battery_schedule(NOW, horizon_h=48)
    other = battery_schedule(NOW, PriceModel(seed=7), horizon_h=48)
    assert [s.cost for s in other] != [s.cost for s in battery_schedule(NOW, horizon_h=48)]


def test_schedule_needs_no_energy_when_full() -> None:
    assert battery_schedule(NOW, soc_percent=90) == []
    assert battery_schedule(NOW, soc_percent=95) == []


def test_demo_dip_starts_a_slot_two_minutes_in() -> None:
    start = NOW + timedelta(seconds=37)
    model = PriceModel.demo(1, start)
    (session, *_rest) = battery_schedule(start, model)
    first, second = session.slots[:2]
    assert first.start == NOW + timedelta(minutes=2)
    assert first.end - first.start == timedelta(minutes=10)
    assert second.start == NOW + timedelta(minutes=20)
    assert second.end - second.start == timedelta(minutes=10)
    # Prices show the dip too, split at its edges; export is not affected.
    periods = price_periods(model, NOW, NOW + timedelta(minutes=30), "IMPORT", NOW)
    assert [p.start.minute for p in periods] == [0, 2, 12, 20]
    assert periods[1].value < 0.02
    exported = price_periods(model, NOW, NOW + timedelta(minutes=30), "EXPORT", NOW)
    assert [p.value for p in exported] == [EXPORT_FLAT]
