"""A calendar of a Flatpeak device's charging windows.

One event per run of slots: slots of one session that follow each other without a gap, at
the same power, are one event. A calendar trigger then fires once at the run's start and
once at its end, not an end and a start at the same instant at every slot in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from homeassistant.components.calendar import (
    CalendarEntity,
    CalendarEntityDescription,
    CalendarEvent,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .api import ChargingSession
from .coordinator import ScheduleCoordinator
from .data import DeviceData, FlatpeakConfigEntry
from .entity import WINDOW_EDGES, FlatpeakEntity, async_add_device_entities
from .schedule import Run

# Entities only read coordinator data.
PARALLEL_UPDATES = 0

# The calendar platform reads its own description's fields (initial_color since 2026.x).
DESCRIPTION = CalendarEntityDescription(key="charging_windows", translation_key="charging_windows")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: FlatpeakConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the charging-window calendar of each Flatpeak device."""
    async_add_device_entities(
        entry, async_add_entities, lambda device, _: [FlatpeakCalendar(device)]
    )


def wall_time(moment: datetime) -> datetime:
    """Return moment in Home Assistant's time zone, with a fixed offset of its own.

    It reads and prints as the local time (`01:20:00+00:00`), but it compares
    and subtracts as the instant it is. Two datetimes in the same zone object
    compare by wall-clock time, ignoring their offsets, so across the autumn
    change 01:20 GMT (after) reads earlier than 01:50 BST (before): a fixed
    offset is a zone of its own, which Python compares in absolute time.
    """
    local = dt_util.as_local(moment)
    return local.astimezone(timezone(local.utcoffset() or timedelta()))


@dataclass
class RunEvent(CalendarEvent):
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


def run_event(run: Run, currency: str | None) -> CalendarEvent:
    """Return the calendar event of a run: its power, and its session's energy and cost."""
    first = run.first
    power = f" {first.power_w / 1000:.1f} kW" if first.power_w is not None else ""
    lines = _describe(run.session, currency)
    if first.vpp_event:
        lines.append("Part of a virtual power plant event.")
    return RunEvent(
        start=run.start,
        end=run.end,
        summary=f"Charging{power}",
        description="\n".join(lines),
        uid=f"{run.start.isoformat()}/{run.end.isoformat()}",
    )


class FlatpeakCalendar(FlatpeakEntity[ScheduleCoordinator], CalendarEntity):
    """The schedule's charging windows as calendar events, one per run of slots."""

    def __init__(self, data: DeviceData) -> None:
        """Create the calendar."""
        super().__init__(data, data.schedule, DESCRIPTION, changes_at=(WINDOW_EDGES,))

    @property
    def event(self) -> CalendarEvent | None:
        """Return the run in force now, or else the next one."""
        if (plan := self.coordinator.plan) is None:
            return None
        run = plan.run_shown(dt_util.utcnow())
        return None if run is None else run_event(run, plan.schedule.currency_code)

    async def async_get_events(
        self, hass: HomeAssistant, start_date: datetime, end_date: datetime
    ) -> list[CalendarEvent]:
        """Return the runs that overlap the requested range."""
        if (plan := self.coordinator.plan) is None:
            return []
        currency = plan.schedule.currency_code
        return [run_event(run, currency) for run in plan.runs_between(start_date, end_date)]


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
