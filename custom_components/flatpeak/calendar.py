"""A calendar of a Flatpeak device's charging windows, one event per slot."""

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
    """A charging slot as a calendar event, correct across a clock change.

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


class PlanEvents:
    """The calendar events of one plan in one time zone, each made once, when first asked for.

    A plan lasts until the next fetch, while the calendar is listed at every view
    and its event read several times at each write: each event is made once per plan.
    """

    def __init__(self, plan: ChargingPlan, zone: tzinfo) -> None:
        """Start with no event made."""
        self.plan = plan
        self.zone = zone
        self._events: dict[int, CalendarEvent] = {}
        self._sessions: dict[int, list[str]] = {}

    def event(self, slot: ChargingSlot) -> CalendarEvent:
        """Return the event of one of the plan's slots."""
        if (event := self._events.get(id(slot))) is None:
            event = self._events[id(slot)] = self._make(slot)
        return event

    def between(self, start: datetime, end: datetime) -> list[CalendarEvent]:
        """Return the events of the slots that overlap [start, end)."""
        return [self.event(slot) for slot in self.plan.slots_between(start, end)]

    def _make(self, slot: ChargingSlot) -> CalendarEvent:
        power = f" {slot.power_w / 1000:.1f} kW" if slot.power_w is not None else ""
        lines = self._session_lines(self.plan.session_of(slot))
        if slot.vpp_event:
            lines = [*lines, "Part of a virtual power plant event."]
        return SlotEvent(
            start=slot.start,
            end=slot.end,
            summary=f"Charging{power}",
            description="\n".join(lines),
            uid=f"{slot.start.isoformat()}/{slot.end.isoformat()}",
        )

    def _session_lines(self, session: ChargingSession | None) -> list[str]:
        """Say what a slot is part of: its session's energy, cost and certainty."""
        if session is None:
            return []
        if (lines := self._sessions.get(id(session))) is None:
            lines = self._sessions[id(session)] = _describe(
                session, self.plan.schedule.currency_code
            )
        return lines


class FlatpeakCalendar(FlatpeakEntity[ScheduleCoordinator], CalendarEntity):
    """Each charging slot of the schedule as a calendar event."""

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
        """Return the slot shown, its plan (the event says what they say), and if it is on."""
        if (plan := self.plan) is None:
            return (None,)
        now = dt_util.utcnow()
        slot = _slot_shown(plan, now)
        return plan, slot, slot is not None and slot.start <= now

    @property
    def event(self) -> CalendarEvent | None:
        """Return the slot in force now, or else the next one."""
        if (plan := self.plan) is None:
            return None
        slot = _slot_shown(plan, dt_util.utcnow())
        return None if slot is None else self._events(plan).event(slot)

    async def async_get_events(
        self, hass: HomeAssistant, start_date: datetime, end_date: datetime
    ) -> list[CalendarEvent]:
        """Return the slots that overlap the requested range.

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
