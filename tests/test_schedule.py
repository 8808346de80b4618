"""The pure time-window logic of a charging plan."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from custom_components.flatpeak.api import ChargingSession, ChargingSlot, SocSchedule
from custom_components.flatpeak.schedule import ChargingPlan, diff_windows

T0 = datetime(2026, 3, 28, 22, 0, tzinfo=UTC)
M = timedelta(minutes=1)


def slot(start: int, end: int, power: float | None = 5000, vpp: bool = False) -> ChargingSlot:
    return ChargingSlot(start=T0 + start * M, end=T0 + end * M, power_w=power, vpp_event=vpp)


def plan(
    *sessions: tuple[int, int, tuple[ChargingSlot, ...], float | None, float | None],
) -> ChargingPlan:
    return ChargingPlan(
        SocSchedule(
            id="ssc_1",
            device_id="dev_1",
            location_id="loc_1",
            timezone="Europe/London",
            currency_code="GBP",
            live_mode=False,
            time_created=T0,
            sessions=tuple(
                ChargingSession(
                    start=T0 + a * M,
                    end=T0 + b * M,
                    energy_wh=energy,
                    cost=cost,
                    cost_confidence=1,
                    slots=slots,
                )
                for a, b, slots, energy, cost in sessions
            ),
        )
    )


def test_touching_and_overlapping_slots_are_one_period() -> None:
    found = (slot(0, 30), slot(30, 60), slot(50, 70), slot(90, 100), slot(95, 95))
    periods = plan((0, 180, found, None, None)).periods
    assert [(p.start, p.end, len(p.slots)) for p in periods] == [
        (T0, T0 + 70 * M, 3),
        (T0 + 90 * M, T0 + 100 * M, 1),
    ]


def test_windows_at_each_moment() -> None:
    p = plan((0, 180, (slot(30, 60, 3000), slot(60, 90, 7000), slot(120, 150)), 10_000, 1.5))

    assert p.active_period(T0) is None
    assert p.active_period(T0 + 30 * M) is not None
    assert p.active_period(T0 + 89 * M).end == T0 + 90 * M  # type: ignore[union-attr]
    assert p.active_period(T0 + 90 * M) is None
    assert p.current_slot(T0 + 60 * M).power_w == 7000  # type: ignore[union-attr]
    assert p.current_slot(T0 + 100 * M) is None
    assert p.next_period(T0).start == T0 + 30 * M  # type: ignore[union-attr]
    assert p.next_period(T0 + 45 * M).start == T0 + 120 * M  # type: ignore[union-attr]
    assert p.next_period(T0 + 120 * M) is None
    assert [s.start for s in p.slots_between(T0 + 59 * M, T0 + 121 * M)] == [
        T0 + 30 * M,
        T0 + 60 * M,
        T0 + 120 * M,
    ]


def test_overlapping_slots_the_latest_started_is_current() -> None:
    p = plan((0, 100, (slot(0, 60, 2000), slot(30, 90, 4000)), 1, 1))
    assert p.current_slot(T0 + 45 * M).power_w == 4000  # type: ignore[union-attr]
    assert p.current_slot(T0 + 75 * M).power_w == 4000  # type: ignore[union-attr]


def test_starting_soon() -> None:
    p = plan((0, 180, (slot(30, 60), slot(75, 90)), 1, 1))
    lead = timedelta(minutes=15)
    assert p.starting_within(T0 + 14 * M, lead) is None
    assert p.starting_within(T0 + 15 * M, lead).start == T0 + 30 * M  # type: ignore[union-attr]
    # Not while charging, even if the next window is near.
    assert p.starting_within(T0 + 59 * M, lead) is None
    assert p.starting_within(T0 + 60 * M, lead).start == T0 + 75 * M  # type: ignore[union-attr]
    assert p.starting_within(T0 + 15 * M, timedelta(0)) is None
    # Touching windows are one stretch of charging: never "soon" between them.
    touching = plan((0, 180, (slot(30, 60), slot(60, 90)), 1, 1))
    assert touching.starting_within(T0 + 59 * M, lead) is None
    assert touching.starting_within(T0 + 60 * M, lead) is None


def test_totals_count_sessions_not_yet_ended() -> None:
    p = plan((0, 60, (slot(0, 30),), 4000, 1.0), (60, 180, (slot(90, 120),), 6000, 0.5))
    assert p.planned_energy_kwh(T0) == 10
    assert p.planned_cost(T0) == 1.5
    assert p.average_price(T0) == 0.15
    assert p.planned_energy_kwh(T0 + 60 * M) == 6
    assert p.average_price(T0 + 180 * M) is None  # nothing left


def test_totals_are_unknown_when_flatpeak_did_not_say() -> None:
    p = plan((0, 60, (slot(0, 30),), None, None), (60, 180, (), 6000, 0.5))
    assert p.planned_energy_kwh(T0) is None
    assert p.planned_cost(T0) is None
    assert p.average_price(T0) is None
    assert p.planned_energy_kwh(T0 + 90 * M) == 6


def walk(next_fn: Callable[[datetime], datetime | None]) -> list[int]:
    """Every instant next_fn gives from T0 on, in minutes from T0."""
    moments = []
    now = T0
    while (instant := next_fn(now)) is not None:
        moments.append(int((instant - T0) / M))
        now = instant
    return moments


def test_the_instants_at_which_the_answers_change_and_coverage() -> None:
    p = plan((0, 180, (slot(30, 60), slot(120, 150)), 1, 1))
    lead = timedelta(minutes=10)
    assert walk(p.next_slot_edge) == [30, 60, 120, 150]
    assert walk(p.next_session_end) == [180]
    assert walk(lambda now: p.next_lead_start(now, lead)) == [20, 110]
    assert p.next_lead_start(T0, timedelta(0)) is None
    assert p.next_slot_edge(T0 + 45 * M) == T0 + 60 * M
    assert p.covers_future(T0 + 179 * M)
    assert not p.covers_future(T0 + 180 * M)


# Differences between two revisions of a schedule

LEAD = timedelta(minutes=15)
MS = timedelta(milliseconds=1)


def test_the_same_windows_are_no_change() -> None:
    windows = [slot(30, 60), slot(90, 120, 3000)]
    diff = diff_windows(windows, [slot(90, 120, 3000), slot(30, 60)], T0, LEAD)
    assert not diff
    assert (diff.added, diff.removed, diff.shifted, diff.late_notice) == ((), (), (), False)


def test_a_window_added_and_one_removed() -> None:
    kept, gone, new = slot(30, 60), slot(90, 120), slot(200, 230)
    diff = diff_windows([kept, gone], [kept, new], T0, LEAD)
    assert diff
    assert diff.added == (new,)
    assert diff.removed == (gone,)
    assert diff.shifted == ()
    assert not diff.late_notice


def test_overlapping_windows_are_one_window_shifted_paired_in_time_order() -> None:
    first, second = slot(60, 120), slot(120, 180)
    # Each new window overlaps the old one it replaces; the first also overlaps the second.
    moved_first, moved_second = slot(90, 150), slot(150, 210)
    diff = diff_windows([second, first], [moved_second, moved_first], T0, LEAD)
    assert [(c.slot, c.previous) for c in diff.shifted] == [
        (moved_first, first),
        (moved_second, second),
    ]
    assert diff.added == diff.removed == ()


def test_a_window_that_only_touches_an_old_one_is_not_it_shifted() -> None:
    old, new = slot(60, 90), slot(90, 120)
    diff = diff_windows([old], [new], T0, LEAD)
    assert (diff.added, diff.removed, diff.shifted) == ((new,), (old,), ())


def test_a_power_change_counts_as_shifted() -> None:
    old, new = slot(60, 90, 3000), slot(60, 90, 7000)
    diff = diff_windows([old], [new], T0, LEAD)
    assert [(c.slot.power_w, c.previous.power_w) for c in diff.shifted] == [  # type: ignore[union-attr]
        (7000, 3000)
    ]


def test_windows_ended_by_now_are_not_compared() -> None:
    now = T0 + 60 * M
    ended, ending_now, future = slot(0, 30), slot(30, 60), slot(90, 120)
    # Gone from the new revision, but over already (half-open: ending now is over).
    assert not diff_windows([ended, ending_now, future], [future], now, LEAD)
    # A window in progress still counts.
    running = slot(50, 70)
    assert diff_windows([running, future], [future], now, LEAD).removed == (running,)


def test_zero_length_windows_are_ignored() -> None:
    future = slot(90, 120)
    assert not diff_windows([future], [future, slot(100, 100)], T0, LEAD)
    assert not diff_windows([future, slot(40, 40)], [future], T0, LEAD)


def test_late_notice_is_less_notice_than_the_lead_time() -> None:
    start = T0 + LEAD
    # Exactly the lead time ahead: full notice.
    assert not diff_windows([], [slot(15, 45)], T0, LEAD).late_notice
    assert diff_windows([], [slot(15, 45)], T0 + MS, LEAD).late_notice
    assert diff_windows([], [slot(15, 45)], start, LEAD).late_notice  # starts now
    # A shift into the lead time is late too; a shift well ahead is not.
    assert diff_windows([slot(60, 90)], [slot(14, 61)], T0, LEAD).late_notice
    assert not diff_windows([slot(60, 90)], [slot(40, 61)], T0, LEAD).late_notice
    # A window taken away is not late notice: nothing new to act on.
    assert not diff_windows([slot(10, 40)], [], T0, LEAD).late_notice


# Across a clock change: everything here is in UTC, so local wall times never matter.

AUTUMN = datetime(2026, 10, 25, 1, 0, tzinfo=UTC)  # London: 02:00 BST becomes 01:00 GMT


def at(minutes: int) -> datetime:
    return AUTUMN + minutes * M


def autumn_plan(*windows: tuple[int, int]) -> ChargingPlan:
    slots = tuple(
        ChargingSlot(start=at(a), end=at(b), power_w=5000, vpp_event=False) for a, b in windows
    )
    return ChargingPlan(
        SocSchedule(
            id="ssc_1",
            device_id="dev_1",
            location_id="loc_1",
            timezone="Europe/London",
            currency_code="GBP",
            live_mode=False,
            time_created=at(-180),
            sessions=(
                ChargingSession(
                    start=at(-120),
                    end=at(120),
                    energy_wh=5000,
                    cost=0.5,
                    cost_confidence=1,
                    slots=slots,
                ),
            ),
        )
    )


def test_a_window_whose_local_end_reads_earlier_than_its_start() -> None:
    # 00:50Z to 01:20Z is 01:50 BST to 01:20 GMT; then the second 01:30 to 02:00 GMT.
    p = autumn_plan((-10, 20), (30, 60))

    assert p.active_period(at(-11)) is None
    assert p.active_period(at(-10)) is not None
    assert p.active_period(at(19)).end == at(20)  # type: ignore[union-attr]
    assert p.active_period(at(20)) is None
    # The first 01:40 (BST) is in the first window, not the second 01:30-02:00 (GMT).
    assert p.current_slot(at(-20)) is None
    assert p.current_slot(at(-20 + 60)).start == at(30)  # type: ignore[union-attr]
    assert p.next_period(at(-60)).start == at(-10)  # type: ignore[union-attr]
    assert p.starting_within(at(-25), timedelta(minutes=15)).start == at(-10)  # type: ignore[union-attr]
    lead = timedelta(minutes=15)
    assert [p.next_slot_edge(at(m)) for m in (-30, -10, 20, 30)] == [
        at(-10),
        at(20),
        at(30),
        at(60),
    ]
    # The second window's "starting soon" begins as the first ends.
    assert [p.next_lead_start(at(m), lead) for m in (-30, -10)] == [at(-25), at(15)]
    assert p.slots_between(at(15), at(35)) == list(p.slots)


def test_a_window_moved_across_the_autumn_change_is_shifted() -> None:
    before = autumn_plan((-30, 0)).slots  # 01:30 BST to 01:00 GMT (02:00 BST)
    after = autumn_plan((-10, 20)).slots  # 01:50 BST to 01:20 GMT
    diff = diff_windows(before, after, at(-120), timedelta(minutes=15))
    assert (diff.added, diff.removed, diff.late_notice) == ((), (), False)
    (change,) = diff.shifted
    assert (change.slot.start, change.slot.end, change.previous) == (at(-10), at(20), before[0])


def test_a_running_window_planned_again_from_now_keeps_its_start() -> None:
    before = plan((0, 180, (slot(30, 90), slot(120, 150)), 1, 1))
    now = T0 + 50 * M
    again = ChargingPlan(
        plan((0, 180, (slot(50, 90), slot(120, 150)), 1, 1)).schedule, previous=before, now=now
    )
    assert [s.start for s in again.slots] == [T0 + 30 * M, T0 + 120 * M]
    assert again.active_period(now).start == T0 + 30 * M  # type: ignore[union-attr]
    assert diff_windows(before.slots, again.slots, now, timedelta(minutes=15)).added == ()

    # Another end, another power, or a window not yet begun: not the same window.
    for changed in (slot(50, 100), slot(50, 90, power=3000)):
        moved = ChargingPlan(plan((0, 180, (changed,), 1, 1)).schedule, previous=before, now=now)
        assert moved.slots[0].start == T0 + 50 * M
    early = ChargingPlan(
        plan((0, 180, (slot(25, 90),), 1, 1)).schedule, previous=before, now=T0 + 20 * M
    )
    assert early.slots[0].start == T0 + 25 * M
