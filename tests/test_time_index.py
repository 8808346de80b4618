"""The indexed answers of a plan and a price curve equal the plain scans they replace.

Schedules and price answers are drawn at random on a small grid of minutes, so that
windows touch, overlap, nest, repeat and leave gaps; some are empty or even inverted,
as a schedule built by hand may be. Every question is then asked at every minute of
the grid and a little beyond, and compared with a straightforward reading.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.flatpeak.api import (
    ChargingSession,
    ChargingSlot,
    PricePeriod,
    Prices,
    SocSchedule,
)
from custom_components.flatpeak.schedule import ChargingPlan, PriceCurve, Run, TimeIndex

T0 = datetime(2026, 3, 28, 22, 0, tzinfo=UTC)
M = timedelta(minutes=1)
GRID = 120
# Every answer holds from one whole minute to the next, so whole minutes are enough.
MOMENTS = [T0 + minute * M for minute in range(-2, GRID + 62)]
LEADS = (timedelta(0), 15 * M, 31 * M)

EXAMPLES = settings(derandomize=True, database=None, deadline=None, max_examples=100)

pytestmark = pytest.mark.filterwarnings(
    # Raised by hypothesis itself, about its own PRNG, on some setups: not about these tests.
    "ignore:It looks like `register_random`:hypothesis.errors.HypothesisWarning"
)


def minutes(value: int) -> datetime:
    return T0 + value * M


slots = st.builds(
    lambda start, length, power, vpp: ChargingSlot(
        start=minutes(start), end=minutes(start + length), power_w=power, vpp_event=vpp
    ),
    st.integers(0, GRID),
    st.integers(-5, 45),
    st.sampled_from([None, 3000.0, 7000.0]),
    st.booleans(),
)
sessions = st.builds(
    lambda start, length, windows, energy, cost: ChargingSession(
        start=minutes(start),
        end=minutes(start + length),
        energy_wh=energy,
        cost=cost,
        cost_confidence=1,
        slots=tuple(sorted(windows, key=lambda s: (s.start, s.end))),
    ),
    st.integers(0, GRID),
    st.integers(0, 60),
    st.lists(slots, max_size=6),
    st.sampled_from([None, 1500.0, 4000.0]),
    st.sampled_from([None, 0.25, 1.5]),
)
schedules = st.builds(
    lambda found: SocSchedule(
        id=None,
        device_id=None,
        location_id=None,
        timezone=None,
        currency_code="GBP",
        live_mode=False,
        time_created=None,
        sessions=tuple(found),
    ),
    st.lists(sessions, max_size=4),
)
periods = st.builds(
    lambda start, length, value: PricePeriod(
        start=minutes(start), end=minutes(start + length), value=value, confidence=None
    ),
    st.integers(0, GRID),
    st.integers(-5, 60),
    st.sampled_from([0.1, 0.2, 0.3]),
)
price_answers = st.builds(
    lambda found: Prices(
        id=None,
        location_id=None,
        timezone=None,
        currency_code="GBP",
        direction=None,
        periods=tuple(sorted(found, key=lambda p: (p.start, p.end))),
        next_update=None,
    ),
    st.lists(periods, max_size=12),
)


# Plain scans: what each question means.


def in_force[T: (ChargingSlot, PricePeriod, Run)](items: tuple[T, ...], now: datetime) -> T | None:
    """The last item, in order, with start <= now < end."""
    found = None
    for item in items:
        if item.start <= now < item.end:
            found = item
    return found


def first_after(instants: list[datetime], now: datetime) -> datetime | None:
    return min((moment for moment in instants if moment > now), default=None)


@EXAMPLES
@given(schedules)
def test_the_plan_answers_as_a_scan_of_its_windows(schedule: SocSchedule) -> None:
    plan = ChargingPlan(schedule)
    windows, periods, runs = plan.slots, plan.periods, plan.runs
    sessions = sorted(schedule.sessions, key=lambda s: (s.start, s.end))
    ends = [s.end for s in windows] + [s.end for s in sessions]
    for now in MOMENTS:
        assert plan.current_slot(now) is in_force(windows, now)
        assert plan.active_period(now) is next((p for p in periods if p.start <= now < p.end), None)
        assert plan.next_period(now) is next((p for p in periods if p.start > now), None)
        assert plan.next_slot(now) is next((s for s in windows if s.start > now), None)
        assert plan.remaining_sessions(now) == tuple(s for s in sessions if s.end > now)
        assert plan.covers_future(now) == any(end > now for end in ends)
        edges = [s.start for s in windows] + [s.end for s in windows]
        assert plan.next_slot_edge(now) == first_after(edges, now)
        assert plan.next_session_end(now) == first_after([s.end for s in sessions], now)
        for lead in LEADS:
            starts = [p.start - lead for p in periods] if lead else []
            assert plan.next_lead_start(now, lead) == first_after(starts, now)
        shown = in_force(runs, now) or next((r for r in runs if r.start > now), None)
        assert plan.run_shown(now) is shown
        for length in (0, 1, 30):
            later = now + length * M
            assert plan.slots_between(now, later) == [
                s for s in windows if s.start < later and s.end > now
            ]


def schedule_of(found: list[ChargingSlot]) -> SocSchedule:
    """A schedule of one session that holds found."""
    session = ChargingSession(
        start=T0,
        end=minutes(GRID + 60),
        energy_wh=None,
        cost=None,
        cost_confidence=None,
        slots=tuple(sorted(found, key=lambda s: (s.start, s.end))),
    )
    return SocSchedule(
        id=None,
        device_id=None,
        location_id=None,
        timezone=None,
        currency_code=None,
        live_mode=False,
        time_created=None,
        sessions=(session,),
    )


@EXAMPLES
@given(st.lists(slots, max_size=20))
def test_merged_periods_hold_every_window_once_and_never_touch(found: list[ChargingSlot]) -> None:
    periods = ChargingPlan(schedule_of(found)).periods
    kept = sorted((s for s in found if s.end > s.start), key=lambda s: (s.start, s.end))
    assert [s for p in periods for s in p.slots] == kept
    for period in periods:
        assert period.start == min(s.start for s in period.slots)
        assert period.end == max(s.end for s in period.slots)
    for before, after in pairwise(periods):
        assert before.end < after.start


@EXAMPLES
@given(price_answers)
def test_the_price_curve_answers_as_a_scan_of_its_periods(prices: Prices) -> None:
    curve = PriceCurve(prices)
    kept = curve.periods
    instants = [p.start for p in kept] + [p.end for p in kept]
    for now in MOMENTS:
        assert curve.period_at(now) is in_force(kept, now)
        assert curve.next_edge(now) == first_after(instants, now)


@EXAMPLES
@given(price_answers)
def test_a_price_holds_until_the_next_boundary_that_changes_it(prices: Prices) -> None:
    curve = PriceCurve(prices)
    instants = sorted({p.start for p in curve.periods} | {p.end for p in curve.periods})
    for now in MOMENTS:
        change = curve.next_change(now)
        price = curve.at(now)
        if price is None:
            assert change is None
            continue
        # Walk the boundaries: the price stays until one brings another, or a gap.
        expected = None
        for moment in (m for m in instants if m > now):
            following = curve.at(moment)
            if following is None:
                break
            if following != price:
                expected = (moment, following)
                break
        assert change == expected


def test_an_index_refuses_items_out_of_order() -> None:
    later = ChargingSlot(start=T0 + M, end=T0 + 2 * M, power_w=None, vpp_event=False)
    earlier = ChargingSlot(start=T0, end=T0 + 5 * M, power_w=None, vpp_event=False)
    with pytest.raises(ValueError, match="sorted by start"):
        TimeIndex((later, earlier))


def test_an_index_of_nothing_answers_nothing() -> None:
    index: TimeIndex[ChargingSlot] = TimeIndex(())
    assert index.at(T0) is None
    assert index.first_after(T0) is None
    assert index.overlapping(T0, T0 + M) == []
    assert index.ending_after(T0) == []
    assert not index.any_ending_after(T0)


def test_a_window_at_the_start_of_time_has_boundaries() -> None:
    """A lead time before the first instant a datetime holds is no error."""
    first = datetime.min.replace(tzinfo=UTC)
    window = ChargingSlot(start=first, end=first + M, power_w=None, vpp_event=False)
    session = ChargingSession(
        start=first, end=first + M, energy_wh=None, cost=None, cost_confidence=None, slots=(window,)
    )
    plan = ChargingPlan(
        SocSchedule(
            id=None,
            device_id=None,
            location_id=None,
            timezone=None,
            currency_code=None,
            live_mode=False,
            time_created=None,
            sessions=(session,),
        )
    )
    assert plan.next_slot_edge(first) == first + M
    assert plan.next_lead_start(first, 15 * M) is None
    assert plan.next_slot_edge(T0) is None
