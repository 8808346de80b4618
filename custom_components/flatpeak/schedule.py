"""Time-window logic on a charging schedule: pure functions, no I/O.

A schedule holds charging sessions (when the device is available and how much
energy it needs) and, inside them, slots: the charging windows, when to draw
power. Everything here works in aware UTC datetimes on half-open windows
`[start, end)`. Touching or overlapping slots merge into one `ActivePeriod` for
on/off decisions, so a switch never blinks off between two adjacent slots,
while the calendar still shows each slot.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from .api import ChargingSession, ChargingSlot, SocSchedule


@dataclass(frozen=True, slots=True)
class ActivePeriod:
    """Touching or overlapping slots merged: the device charges throughout."""

    start: datetime
    end: datetime
    slots: tuple[ChargingSlot, ...]

    def contains(self, moment: datetime) -> bool:
        """Say whether moment lies in [start, end)."""
        return self.start <= moment < self.end


def merge_slots(slots: Iterable[ChargingSlot]) -> tuple[ActivePeriod, ...]:
    """Merge slots that touch or overlap into active periods, in time order."""
    periods: list[ActivePeriod] = []
    for slot in sorted(slots, key=lambda s: (s.start, s.end)):
        if slot.end <= slot.start:
            continue
        if periods and slot.start <= periods[-1].end:
            last = periods[-1]
            periods[-1] = ActivePeriod(last.start, max(last.end, slot.end), (*last.slots, slot))
        else:
            periods.append(ActivePeriod(slot.start, slot.end, (slot,)))
    return tuple(periods)


class ChargingPlan:
    """What a schedule means at any moment: the questions entities ask."""

    def __init__(self, schedule: SocSchedule) -> None:
        """Index the schedule's sessions and slots."""
        self.schedule = schedule
        self.sessions = schedule.sessions
        self.slots = schedule.slots
        self.periods = merge_slots(self.slots)

    @cached_property
    def _session_of_slot(self) -> dict[int, ChargingSession]:
        return {id(slot): session for session in self.sessions for slot in session.slots}

    def session_of(self, slot: ChargingSlot) -> ChargingSession | None:
        """Return the session a slot belongs to."""
        return self._session_of_slot.get(id(slot))

    # Windows

    def active_period(self, now: datetime) -> ActivePeriod | None:
        """Return the merged period the device should be charging in, if any."""
        return next((p for p in self.periods if p.contains(now)), None)

    def current_slot(self, now: datetime) -> ChargingSlot | None:
        """Return the slot in force now; of overlapping slots, the latest to start."""
        current = None
        for slot in self.slots:
            if slot.start > now:
                break
            if now < slot.end:
                current = slot
        return current

    def next_period(self, now: datetime) -> ActivePeriod | None:
        """Return the first merged period that has not started yet."""
        return next((p for p in self.periods if p.start > now), None)

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
        return [slot for slot in self.slots if slot.start < end and slot.end > start]

    # Totals

    def remaining_sessions(self, now: datetime) -> tuple[ChargingSession, ...]:
        """Return the sessions that have not ended yet."""
        return tuple(session for session in self.sessions if session.end > now)

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

    # Time

    def covers_future(self, now: datetime) -> bool:
        """Say whether the schedule still says anything about now or later."""
        return any(s.end > now for s in self.sessions) or any(s.end > now for s in self.slots)

    def next_boundary(self, now: datetime, lead: timedelta = timedelta(0)) -> datetime | None:
        """Return the next instant after now at which any answer above can change.

        That is every slot start and end, every session end, and every
        "starting soon" instant (a period's start less the lead time).
        """
        instants = [s.start for s in self.slots]
        instants += [s.end for s in self.slots]
        instants += [s.end for s in self.sessions]
        if lead > timedelta(0):
            instants += [p.start - lead for p in self.periods]
        return min((moment for moment in instants if moment > now), default=None)
