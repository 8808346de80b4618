"""Time-window logic on a charging schedule: pure functions, no I/O.

A schedule holds charging sessions (when the device is available and how much
energy it needs) and, inside them, slots: the charging windows, when to draw
power. Everything here works in aware UTC datetimes on half-open windows
`[start, end)`. Touching or overlapping slots merge into one `ActivePeriod` for
on/off decisions, so a switch never blinks off between two adjacent slots,
while the calendar shows each `Run` of one session's slots.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cached_property
from itertools import accumulate, pairwise
from operator import attrgetter
from typing import Protocol

from .api import ChargingSession, ChargingSlot, PricePeriod, Prices, SocSchedule, by_time


class Timed(Protocol):
    """Anything in force from a start up to an end: a slot, a session, a period."""

    @property
    def start(self) -> datetime:
        """When it begins."""

    @property
    def end(self) -> datetime:
        """When it is over (not included)."""


class TimeIndex[T: Timed]:
    """Items sorted by start, indexed to answer what holds at a moment in O(log n).

    Starts are sorted, so a bisection finds the items started by a moment. Ends
    are not, so the index also keeps, at each position, the latest end so far:
    a list that never decreases, where a bisection skips every item over by a
    moment. Between the two are the candidates: one or two, unless items overlap.
    """

    def __init__(self, items: Sequence[T]) -> None:
        """Index items, which must be sorted by start; their ends may come in any order."""
        self.items = items
        self._starts = [item.start for item in items]
        if any(later < earlier for earlier, later in pairwise(self._starts)):
            raise ValueError("a TimeIndex needs its items sorted by start")
        self._reach = list(accumulate((item.end for item in items), max))

    def _first_not_over(self, moment: datetime) -> int:
        """Return the position of the first item that ends after moment."""
        return bisect_right(self._reach, moment)

    def at(self, moment: datetime) -> T | None:
        """Return the item in force at moment; of overlapping ones, the last in order."""
        started = bisect_right(self._starts, moment)
        for item in reversed(self.items[self._first_not_over(moment) : started]):
            if moment < item.end:
                return item
        return None

    def first_after(self, moment: datetime) -> T | None:
        """Return the first item that starts after moment."""
        index = bisect_right(self._starts, moment)
        return self.items[index] if index < len(self.items) else None

    def overlapping(self, start: datetime, end: datetime) -> list[T]:
        """Return the items that overlap [start, end), in order."""
        candidates = self.items[self._first_not_over(start) : bisect_left(self._starts, end)]
        return [item for item in candidates if item.end > start]

    def ending_after(self, moment: datetime) -> list[T]:
        """Return the items that end after moment, in order."""
        return [item for item in self.items[self._first_not_over(moment) :] if item.end > moment]

    def any_ending_after(self, moment: datetime) -> bool:
        """Say whether any item ends after moment."""
        return self._first_not_over(moment) < len(self.items)


def first_after(instants: Sequence[datetime], moment: datetime) -> datetime | None:
    """Return the first of sorted instants after moment."""
    index = bisect_right(instants, moment)
    return instants[index] if index < len(instants) else None


@dataclass(frozen=True, slots=True)
class ActivePeriod:
    """Touching or overlapping slots merged: the device charges throughout."""

    start: datetime
    end: datetime
    slots: tuple[ChargingSlot, ...]


def _merge(slots: Iterable[ChargingSlot]) -> tuple[ActivePeriod, ...]:
    """Merge slots sorted by start into active periods."""
    groups: list[list[ChargingSlot]] = []
    ends: list[datetime] = []
    for slot in slots:
        if slot.end <= slot.start:
            continue
        if groups and slot.start <= ends[-1]:
            groups[-1].append(slot)
            ends[-1] = max(ends[-1], slot.end)
        else:
            groups.append([slot])
            ends.append(slot.end)
    return tuple(
        ActivePeriod(group[0].start, end, tuple(group))
        for group, end in zip(groups, ends, strict=True)
    )


@dataclass(frozen=True, slots=True)
class Run:
    """Slots of one session that follow each other without a gap, at the same power.

    To a person, and to a calendar trigger, a run is one charging window: it
    starts once and ends once.
    """

    start: datetime
    end: datetime
    slots: tuple[ChargingSlot, ...]
    session: ChargingSession

    @property
    def first(self) -> ChargingSlot:
        """The run's first slot: its power and whether it is a VPP event."""
        return self.slots[0]


def _continues(last: ChargingSlot, slot: ChargingSlot) -> bool:
    """Say whether slot, of the same session, runs on from last as one window."""
    return (
        slot.start == last.end and slot.power_w == last.power_w and slot.vpp_event == last.vpp_event
    )


def _runs(sessions: Iterable[ChargingSession]) -> tuple[Run, ...]:
    """Group each session's slots into runs, sorted by start."""
    runs: list[Run] = []
    for session in sessions:
        group: list[ChargingSlot] = []
        for slot in (*session.slots, None):
            if group and (slot is None or not _continues(group[-1], slot)):
                runs.append(Run(group[0].start, group[-1].end, tuple(group), session))
                group = []
            if slot is not None:
                group.append(slot)
    return tuple(sorted(runs, key=by_time))


def same_window(before: ChargingSlot, after: ChargingSlot) -> bool:
    """Say whether a slot of a new schedule is a window of the last one, its start aside.

    Flatpeak plans from the moment it is asked, so the window in force comes
    back starting then: with the same end, power and kind, it is the window
    already running, not a new one.
    """
    return (before.end, before.power_w, before.vpp_event) == (
        after.end,
        after.power_w,
        after.vpp_event,
    )


def _carry_over(
    sessions: Iterable[ChargingSession], running: Sequence[ChargingSlot], now: datetime
) -> tuple[ChargingSession, ...]:
    """Give back their start to the windows running now that a new schedule planned again."""

    def carried(slot: ChargingSlot) -> ChargingSlot:
        for before in running:
            if before.start < slot.start <= now and same_window(before, slot):
                return replace(slot, start=before.start)
        return slot

    return tuple(
        replace(session, slots=tuple(sorted(map(carried, session.slots), key=by_time)))
        for session in sessions
    )


class ChargingPlan:
    """What a schedule means at any moment: the questions entities ask.

    Each answer about a moment is a bisection or two in lists built once per
    schedule, so entities may ask at every state they write. Built on the last
    plan, a window running now keeps its start when the new schedule plans it
    again from now (see `same_window`): nothing moved, and `window_start`
    still says when it began.
    """

    def __init__(
        self,
        schedule: SocSchedule,
        *,
        previous: ChargingPlan | None = None,
        now: datetime | None = None,
    ) -> None:
        """Index the schedule's sessions, slots and runs, carrying over the running windows."""
        self.schedule = schedule
        sessions: Iterable[ChargingSession] = schedule.sessions
        if previous is not None and now is not None:
            running = [slot for slot in previous.slots if slot.start <= now < slot.end]
            if running:
                sessions = _carry_over(sessions, running, now)
        self.sessions: tuple[ChargingSession, ...] = tuple(sorted(sessions, key=by_time))
        self.slots: tuple[ChargingSlot, ...] = tuple(
            sorted((slot for session in self.sessions for slot in session.slots), key=by_time)
        )
        self.periods = _merge(self.slots)
        self.runs = _runs(self.sessions)
        self._sessions = TimeIndex(self.sessions)
        self._slots = TimeIndex(self.slots)
        self._periods = TimeIndex(self.periods)
        self._runs = TimeIndex(self.runs)

    @cached_property
    def _slot_edges(self) -> list[datetime]:
        """Every slot start and end, in order."""
        return sorted([slot.start for slot in self.slots] + [slot.end for slot in self.slots])

    @cached_property
    def _session_ends(self) -> list[datetime]:
        """Every session end, in order."""
        return sorted(session.end for session in self.sessions)

    @cached_property
    def highest_power_w(self) -> float | None:
        """The highest power any slot asks for, in W; None when none says."""
        return max((slot.power_w for slot in self.slots if slot.power_w), default=None)

    # Windows

    def active_period(self, now: datetime) -> ActivePeriod | None:
        """Return the merged period the device should be charging in, if any."""
        return self._periods.at(now)

    def current_slot(self, now: datetime) -> ChargingSlot | None:
        """Return the slot in force now; of overlapping slots, the latest to start."""
        return self._slots.at(now)

    def next_slot(self, now: datetime) -> ChargingSlot | None:
        """Return the first slot that has not started yet."""
        return self._slots.first_after(now)

    def next_period(self, now: datetime) -> ActivePeriod | None:
        """Return the first merged period that has not started yet."""
        return self._periods.first_after(now)

    def starting_within(self, now: datetime, lead: timedelta) -> ActivePeriod | None:
        """Return the next period if it starts within lead and none is active now."""
        if lead <= timedelta(0) or self.active_period(now) is not None:
            return None
        upcoming = self.next_period(now)
        if upcoming is not None and upcoming.start - lead <= now:
            return upcoming
        return None

    def slots_between(self, start: datetime, end: datetime) -> list[ChargingSlot]:
        """Return the slots that overlap [start, end)."""
        return self._slots.overlapping(start, end)

    def run_shown(self, now: datetime) -> Run | None:
        """Return the run in force now, or else the next one to start."""
        return self._runs.at(now) or self._runs.first_after(now)

    def runs_between(self, start: datetime, end: datetime) -> list[Run]:
        """Return the runs that overlap [start, end)."""
        return self._runs.overlapping(start, end)

    # Totals

    def remaining_sessions(self, now: datetime) -> tuple[ChargingSession, ...]:
        """Return the sessions that have not ended yet."""
        return tuple(self._sessions.ending_after(now))

    def planned_energy_kwh(self, now: datetime) -> float | None:
        """Energy of the sessions not yet ended, in kWh; None if Flatpeak did not say."""
        values = [s.energy_wh for s in self.remaining_sessions(now)]
        if any(value is None for value in values):
            return None
        return sum(v for v in values if v is not None) / 1000

    def planned_cost(self, now: datetime) -> float | None:
        """Cost of the sessions not yet ended; None if Flatpeak did not say."""
        values = [s.cost for s in self.remaining_sessions(now)]
        if any(value is None for value in values):
            return None
        return sum(v for v in values if v is not None)

    def average_price(self, now: datetime) -> float | None:
        """Planned cost per kWh of planned energy; None without both or without energy."""
        energy = self.planned_energy_kwh(now)
        cost = self.planned_cost(now)
        if not energy or cost is None:
            return None
        return cost / energy

    # When the answers above change

    def covers_future(self, now: datetime) -> bool:
        """Say whether the schedule still says anything about now or later."""
        return self._sessions.any_ending_after(now) or self._slots.any_ending_after(now)

    def next_slot_edge(self, now: datetime) -> datetime | None:
        """Return the next slot start or end after now: windows, power and runs change then."""
        return first_after(self._slot_edges, now)

    def next_session_end(self, now: datetime) -> datetime | None:
        """Return the next session end after now: the plan's totals change then."""
        return first_after(self._session_ends, now)

    def next_lead_start(self, now: datetime, lead: timedelta) -> datetime | None:
        """Return the next instant after now at which a period starts within lead.

        That is a period's start less the lead: "starting soon" turns on then.
        """
        if lead <= timedelta(0):
            return None
        # A period's start less the lead is after now when its start is after now + lead.
        upcoming = self._periods.first_after(now + lead)
        return upcoming.start - lead if upcoming else None


class PriceCurve:
    """What a price answer means at any moment: the price now, the next change."""

    def __init__(self, prices: Prices) -> None:
        """Index the periods; empty or inverted periods mean nothing and are left out."""
        self.prices = prices
        self.periods = tuple(p for p in prices.periods if p.end > p.start)
        self._periods = TimeIndex(self.periods)

    @cached_property
    def _changes(self) -> list[datetime]:
        """Every period start and end, in order."""
        return sorted([p.start for p in self.periods] + [p.end for p in self.periods])

    def period_at(self, now: datetime) -> PricePeriod | None:
        """Return the period in force now; of overlapping ones, the latest to start."""
        return self._periods.at(now)

    def at(self, now: datetime) -> float | None:
        """Return the price now, per kWh; None when the prices do not cover now."""
        period = self.period_at(now)
        return None if period is None else period.value

    def _in_force_until(self, period: PricePeriod, moment: datetime) -> datetime:
        """Return when period, in force at moment, gives way: at its end or a later start.

        A period that starts inside it takes over (the latest to start wins).
        """
        following = self._periods.first_after(moment)
        if following is not None and following.start < period.end:
            return following.start
        return period.end

    def covers(self, start: datetime, end: datetime) -> bool:
        """Say whether the periods cover [start, end) without a gap."""
        moment = start
        while moment < end:
            period = self.period_at(moment)
            if period is None:
                return False
            moment = period.end
        return True

    def next_change(self, now: datetime) -> tuple[datetime, float] | None:
        """Return when the price next differs from now's, and the new price.

        Consecutive periods at the same price are one price to a user; a gap
        in the prices is not a change it can act on, so the search stops there.
        """
        current = self.period_at(now)
        if current is None:
            return None
        edge = self._in_force_until(current, now)
        while (following := self.period_at(edge)) is not None:
            if following.value != current.value:
                return edge, following.value
            edge = self._in_force_until(following, edge)
        return None

    def next_edge(self, now: datetime) -> datetime | None:
        """Return the next instant after now at which any period starts or ends."""
        return first_after(self._changes, now)

    def cost_from(self, now: datetime, energy_kwh: float, power_kw: float) -> float | None:
        """Return what energy_kwh would cost drawn at power_kw from now on.

        None when the prices do not cover the whole time it would take.
        """
        if energy_kwh <= 0:
            return 0.0
        if power_kw <= 0:
            return None
        remaining, moment, cost = energy_kwh, now, 0.0
        while remaining > 1e-9:
            period = self.period_at(moment)
            if period is None:
                return None
            until = self._in_force_until(period, moment)
            hours = (until - moment).total_seconds() / 3600
            drawn = min(remaining, hours * power_kw)
            cost += drawn * period.value
            remaining -= drawn
            moment = until
        return cost


@dataclass(frozen=True, slots=True)
class WindowChange:
    """A window added, removed or shifted between two revisions of a schedule."""

    slot: ChargingSlot
    previous: ChargingSlot | None = None  # for a shifted window, where it was


@dataclass(frozen=True, slots=True)
class ScheduleDiff:
    """How a new revision of a schedule differs from the last, from now on."""

    added: tuple[ChargingSlot, ...]
    removed: tuple[ChargingSlot, ...]
    shifted: tuple[WindowChange, ...]
    late_notice: bool

    def __bool__(self) -> bool:
        """Say whether anything changed."""
        return bool(self.added or self.removed or self.shifted)


# What makes two windows the same: their times and power.
_same_window = attrgetter("start", "end", "power_w")


def diff_windows(
    old: Iterable[ChargingSlot], new: Iterable[ChargingSlot], now: datetime, lead: timedelta
) -> ScheduleDiff:
    """Compare the windows of two revisions that have not ended by now.

    A window in both, with the same times and power, is unchanged. Of the
    rest, an old and a new window that overlap in time are the same window
    shifted (or at another power), paired in time order; the other new ones
    were added and the other old ones removed. A change is at late notice when
    an added or shifted window starts within the lead time.
    """
    before = sorted((s for s in old if s.end > now and s.end > s.start), key=by_time)
    after = sorted((s for s in new if s.end > now and s.end > s.start), key=by_time)
    kept = set(map(_same_window, before)).intersection(map(_same_window, after))
    gone = [s for s in before if _same_window(s) not in kept]
    came = [s for s in after if _same_window(s) not in kept]
    # Both lists are in time order: an old window that ends before a new one starts
    # cannot overlap any later new one either, so the search starts past it.
    paired = [False] * len(gone)
    first = 0
    shifted: list[WindowChange] = []
    added: list[ChargingSlot] = []
    for slot in came:
        while first < len(gone) and (paired[first] or gone[first].end <= slot.start):
            first += 1
        match = first
        while match < len(gone) and gone[match].start < slot.end:
            if not paired[match] and gone[match].end > slot.start:
                break
            match += 1
        else:
            added.append(slot)
            continue
        paired[match] = True
        shifted.append(WindowChange(slot, gone[match]))
    removed = tuple(slot for slot, taken in zip(gone, paired, strict=True) if not taken)
    late = any(s.start - now < lead for s in (*added, *(c.slot for c in shifted)))
    return ScheduleDiff(tuple(added), removed, tuple(shifted), late)


def savings(plan: ChargingPlan, curve: PriceCurve, now: datetime, power_kw: float) -> float | None:
    """Return what the plan saves against drawing its energy at power_kw from now on.

    None when the plan's energy or cost is unknown, or the prices do not
    reach far enough.
    """
    energy = plan.planned_energy_kwh(now)
    cost = plan.planned_cost(now)
    if energy is None or cost is None:
        return None
    right_now = curve.cost_from(now, energy, power_kw)
    return None if right_now is None else right_now - cost
