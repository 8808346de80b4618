"""A calendar of a Flatpeak device's charging windows, one event per slot."""

from __future__ import annotations

from datetime import datetime

from homeassistant.components.calendar import (
    CalendarEntity,
    CalendarEntityDescription,
    CalendarEvent,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.util import dt as dt_util

from .api import ChargingSession, ChargingSlot
from .coordinator import FlatpeakConfigEntry, FlatpeakData
from .entity import FlatpeakEntity
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


class FlatpeakCalendar(FlatpeakEntity, CalendarEntity):
    """Each charging slot of the schedule as a calendar event."""

    def __init__(self, data: FlatpeakData) -> None:
        """Create the calendar."""
        super().__init__(data, "schedule", DESCRIPTION)

    @property
    def plan(self) -> ChargingPlan | None:
        """The schedule's meaning."""
        return self.runtime.schedule.plan

    @property
    def event(self) -> CalendarEvent | None:
        """Return the slot in force now, or else the next one."""
        if (plan := self.plan) is None:
            return None
        now = dt_util.utcnow()
        slot = plan.current_slot(now) or next((s for s in plan.slots if s.start > now), None)
        return None if slot is None else self._event(plan, slot)

    async def async_get_events(
        self, hass: HomeAssistant, start_date: datetime, end_date: datetime
    ) -> list[CalendarEvent]:
        """Return the slots that overlap the requested range."""
        if (plan := self.plan) is None:
            return []
        return [self._event(plan, slot) for slot in plan.slots_between(start_date, end_date)]

    def _event(self, plan: ChargingPlan, slot: ChargingSlot) -> CalendarEvent:
        power = f" {slot.power_w / 1000:.1f} kW" if slot.power_w is not None else ""
        return CalendarEvent(
            start=dt_util.as_local(slot.start),
            end=dt_util.as_local(slot.end),
            summary=f"Charging{power}",
            description=_describe(plan.session_of(slot), slot, plan.schedule.currency_code),
            uid=f"{slot.start.isoformat()}/{slot.end.isoformat()}",
        )


def _describe(session: ChargingSession | None, slot: ChargingSlot, currency: str | None) -> str:
    """Say what the slot is part of: its session's energy, cost and certainty."""
    lines = []
    if session is not None:
        start = dt_util.as_local(session.start).strftime("%a %H:%M")
        end = dt_util.as_local(session.end).strftime("%a %H:%M")
        lines.append(f"Charging session {start} to {end}.")
        if session.energy_wh is not None:
            lines.append(f"Planned energy: {session.energy_wh / 1000:.2f} kWh.")
        if session.cost is not None:
            lines.append(f"Planned cost: {session.cost:.2f} {currency or ''}".rstrip() + ".")
        if session.cost_confidence is not None:
            if session.cost_confidence >= 1:
                lines.append("Prices confirmed.")
            else:
                lines.append(f"Forecast prices ({session.cost_confidence:.0%} confidence).")
    if slot.vpp_event:
        lines.append("Part of a virtual power plant event.")
    return "\n".join(lines)
