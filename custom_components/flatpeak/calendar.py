"""A calendar of a Flatpeak device's charging windows.

One event per run of slots: slots of one session that follow each other without a gap, at
the same power, are one event. A calendar trigger then fires once at the run's start and
once at its end, not an end and a start at the same instant at every slot in between.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Self

from homeassistant.components.calendar import (
    CalendarEntity,
    CalendarEntityDescription,
    CalendarEvent,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.util import dt as dt_util

from .api import ChargingSession, ChargingSlot
from .coordinator import ScheduleCoordinator
from .data import FlatpeakConfigEntry, FlatpeakData
from .entity import FlatpeakEntity
from .listeners import FOLLOW
from .schedule import ChargingPlan

# Entities only read coordinator data.
PARALLEL_UPDATES = 0

# The calendar platform reads its own description's fields (initial_color since 2026.x).
DESCRIPTION = CalendarEntityDescription(key="charging_windows", translation_key="charging_windows")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: FlatpeakConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add the charging-window calendar of a Flatpeak device."""
    async_add_entities([FlatpeakCalendar(entry.runtime_data)])


def wall_time(moment: datetime) -> datetime:
    """Return moment in Home Assistant's time zone, with a fixed offset of its own.

    It reads and prints as the local time (`01:20:00+00:00`), but it compares
    and subtracts as the instant it is. Two datetimes in the same zone object
    compare by wall-clock time, ignoring their offsets, so across the autumn
    change 01:20 GMT (after) reads earlier than 01:50 BST (before): a fixed
    offset is a zone of its own, which Python compares in absolute time.
    """
    local = dt_util.as_local(moment)
    fixed = local.astimezone(timezone(local.utcoffset() or timedelta()))
    return WallTime.combine(fixed.date(), fixed.timetz())


class WallTime(datetime):
    """A `wall_time`: a datetime that deep-copies as itself, as an immutable value may.

    Home Assistant deep-copies each event it lists (`dataclasses.asdict`), and a
    datetime's own deep copy rebuilds it and its time zone: that was most of
    the time it took to list a week of events.
    """

    __slots__ = ()

    def __deepcopy__(self, memo: dict[int, object]) -> Self:
        """Return this very datetime: it cannot change."""
        return self


@dataclass
class SlotEvent(CalendarEvent):
    """A run of charging slots as a calendar event, correct across a clock change.

    Home Assistant's own checks and state turn an event's times into local
    datetimes of one zone, and so compare wall-clock times: a slot that ends in
    the repeated autumn hour before the local time it started at fails to
    validate (the calendar is not added), and one in the second pass of that
    hour reads as in force during the first. This event holds and gives its
    times as `wall_time`s, which compare as instants in every version.
    """

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        """Check what Home Assistant checks, in absolute time."""
        times = (self.start, self.end)
        if any(not isinstance(t, datetime) or t.utcoffset() is None for t in times):
            raise HomeAssistantError(f"Charging slot times must be aware: {times}")
        if self.end < self.start:
            raise HomeAssistantError(f"Charging slot ends before it starts: {times}")
        self.start, self.end = wall_time(self.start), wall_time(self.end)

    @property
    def start_datetime_local(self) -> datetime:
        """The start in local time, comparing as an instant."""
        return self.start

    @property
    def end_datetime_local(self) -> datetime:
        """The end in local time, comparing as an instant."""
        return self.end


type Run = tuple[ChargingSlot, ...]


def _continues(last: ChargingSlot, slot: ChargingSlot) -> bool:
    """Say whether slot, of the same session, runs on from last as one event."""
    return (
        slot.start == last.end and slot.power_w == last.power_w and slot.vpp_event == last.vpp_event
    )


class PlanEvents:
    """The calendar events of one plan in one time zone, each made once, when first asked for.

    A plan lasts until the next fetch, while the calendar is listed at every view
    and its event read several times at each write: each event is made once per plan.
    """

    def __init__(self, plan: ChargingPlan, zone: tzinfo) -> None:
        """Group the plan's slots into runs; no event made yet."""
        self.plan = plan
        self.zone = zone
        self._run_of: dict[int, Run] = {}
        self._events: dict[int, CalendarEvent] = {}
        self._sessions: dict[int, list[str]] = {}
        for session in plan.sessions:
            run: list[ChargingSlot] = []
            for slot in session.slots:
                if run and not _continues(run[-1], slot):
                    self._close(run)
                    run = []
                run.append(slot)
            self._close(run)

    def _close(self, slots: list[ChargingSlot]) -> None:
        run = tuple(slots)
        for slot in run:
            self._run_of[id(slot)] = run

    def run(self, slot: ChargingSlot) -> Run:
        """Return the run one of the plan's slots is part of."""
        return self._run_of[id(slot)]

    def event(self, slot: ChargingSlot) -> CalendarEvent:
        """Return the event of the run one of the plan's slots is part of."""
        run = self.run(slot)
        if (event := self._events.get(id(run))) is None:
            event = self._events[id(run)] = self._make(run)
        return event

    def between(self, start: datetime, end: datetime) -> list[CalendarEvent]:
        """Return the events of the runs that overlap [start, end)."""
        runs = {id(self.run(slot)): slot for slot in self.plan.slots_between(start, end)}
        return [self.event(slot) for slot in runs.values()]

    def _make(self, run: Run) -> CalendarEvent:
        first, last = run[0], run[-1]
        power = f" {first.power_w / 1000:.1f} kW" if first.power_w is not None else ""
        lines = self._session_lines(self.plan.session_of(first))
        if first.vpp_event:
            lines = [*lines, "Part of a virtual power plant event."]
        return SlotEvent(
            start=first.start,
            end=last.end,
            summary=f"Charging{power}",
            description="\n".join(lines),
            uid=f"{first.start.isoformat()}/{last.end.isoformat()}",
        )

    def _session_lines(self, session: ChargingSession | None) -> list[str]:
        """Say what a run is part of: its session's energy, cost and certainty."""
        if session is None:
            return []
        if (lines := self._sessions.get(id(session))) is None:
            lines = self._sessions[id(session)] = _describe(
                session, self.plan.schedule.currency_code
            )
        return lines


class FlatpeakCalendar(FlatpeakEntity[ScheduleCoordinator], CalendarEntity):
    """The schedule's charging windows as calendar events, one per run of slots."""

    boundary_stage = FOLLOW

    def __init__(self, data: FlatpeakData) -> None:
        """Create the calendar."""
        super().__init__(data, data.schedule, DESCRIPTION)
        self._made: PlanEvents | None = None

    @callback
    def async_write_ha_state(self) -> None:
        """Write the state, after passing the schedule's boundary if it is due.

        Home Assistant's own alarm for the start or end of the event shown can run
        just before the boundary timer for the same instant: the charging windows
        of every entry still switch before the calendars are written.
        """
        self.coordinator.boundary.pass_due()
        super().async_write_ha_state()

    @property
    def plan(self) -> ChargingPlan | None:
        """The schedule's meaning."""
        return self.coordinator.plan

    def shown(self) -> tuple[object, ...]:
        """Return the run shown, its plan (the event says what they say), and if it is on."""
        if (plan := self.plan) is None:
            return (None,)
        now = dt_util.utcnow()
        if (slot := _slot_shown(plan, now)) is None:
            return plan, None
        run = self._events(plan).run(slot)
        return plan, run, run[0].start <= now

    @property
    def event(self) -> CalendarEvent | None:
        """Return the run in force now, or else the next one."""
        if (plan := self.plan) is None:
            return None
        slot = _slot_shown(plan, dt_util.utcnow())
        return None if slot is None else self._events(plan).event(slot)

    async def async_get_events(
        self, hass: HomeAssistant, start_date: datetime, end_date: datetime
    ) -> list[CalendarEvent]:
        """Return the runs that overlap the requested range.

        The event loop turns first: Home Assistant converts each calendar's answer
        as it comes, so that listing many calendars at once is many short steps.
        """
        await asyncio.sleep(0)
        if (plan := self.plan) is None:
            return []
        return self._events(plan).between(start_date, end_date)

    def _events(self, plan: ChargingPlan) -> PlanEvents:
        """Return the events of plan in Home Assistant's time zone, made anew when either changes."""
        zone = dt_util.get_default_time_zone()
        if self._made is None or self._made.plan is not plan or self._made.zone is not zone:
            self._made = PlanEvents(plan, zone)
        return self._made


def _slot_shown(plan: ChargingPlan, now: datetime) -> ChargingSlot | None:
    """Return the slot in force now, or else the next one."""
    return plan.current_slot(now) or plan.next_slot(now)


def _describe(session: ChargingSession, currency: str | None) -> list[str]:
    """Say what a session is: when, its energy, cost and certainty."""
    begins, ends = dt_util.as_local(session.start), dt_util.as_local(session.end)
    # Across a clock change wall times alone mislead (the end may read
    # earlier than the start): name the zone in force at each.
    shown = "%a %H:%M" if begins.utcoffset() == ends.utcoffset() else "%a %H:%M %Z"
    lines = [f"Charging session {begins.strftime(shown)} to {ends.strftime(shown)}."]
    if session.energy_wh is not None:
        lines.append(f"Planned energy: {session.energy_wh / 1000:.2f} kWh.")
    if session.cost is not None:
        lines.append(f"Planned cost: {session.cost:.2f} {currency or ''}".rstrip() + ".")
    if session.cost_confidence is not None:
        if session.cost_confidence >= 1:
            lines.append("Prices confirmed.")
        else:
            lines.append(f"Forecast prices ({session.cost_confidence:.0%} confidence).")
    return lines
