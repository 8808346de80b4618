"""An event entity that fires when a new revision of the schedule moves the windows."""

from __future__ import annotations

from typing import Any

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.util import dt as dt_util

from .api import ChargingSlot
from .coordinator import ScheduleCoordinator
from .data import FlatpeakConfigEntry, FlatpeakData
from .entity import FlatpeakEntity
from .presentation import window_data
from .schedule import ScheduleDiff, diff_windows

PARALLEL_UPDATES = 0

SCHEDULE_CHANGED = "schedule_changed"


async def async_setup_entry(
    hass: HomeAssistant,
    entry: FlatpeakConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add the schedule-change event of a Flatpeak device."""
    async_add_entities([ScheduleChangeEvent(entry.runtime_data)])


def describe(diff: ScheduleDiff) -> dict[str, Any]:
    """Return the event's data: the windows added, removed and shifted, and a summary."""
    shifted = []
    for change in diff.shifted:
        before = window_data(change.previous) if change.previous else {}
        shifted.append(
            {
                **window_data(change.slot),
                "previous_start": before.get("start"),
                "previous_end": before.get("end"),
                "previous_power_kw": before.get("power_kw"),
            }
        )
    parts = [
        f"{count} {what}"
        for count, what in (
            (len(diff.added), "added"),
            (len(diff.removed), "removed"),
            (len(diff.shifted), "shifted"),
        )
        if count
    ]
    # "1 window added, 2 removed": the noun once, with the first count.
    first, _, rest = parts[0].partition(" ")
    parts[0] = f"{first} window{'' if first == '1' else 's'} {rest}"
    summary = ", ".join(parts)
    if diff.late_notice:
        summary += " (at short notice)"
    return {
        "added": [window_data(slot) for slot in diff.added],
        "removed": [window_data(slot) for slot in diff.removed],
        "shifted": shifted,
        "late_notice": diff.late_notice,
        "summary": summary,
    }


class ScheduleChangeEvent(FlatpeakEntity[ScheduleCoordinator], EventEntity):
    """Fires `schedule_changed` when a fetched schedule's windows differ from the last.

    Windows that have already ended are not compared. The first schedule
    fetched after a restart is compared with the one cached before it.
    """

    _attr_event_types = [SCHEDULE_CHANGED]  # noqa: RUF012  (as Home Assistant declares it)

    def __init__(self, data: FlatpeakData) -> None:
        """Create the event entity, starting from the schedule held now."""
        super().__init__(
            data,
            data.schedule,
            EventEntityDescription(key="schedule_change", translation_key="schedule_change"),
        )
        plan = data.schedule.plan
        self._windows: tuple[ChargingSlot, ...] = plan.slots if plan else ()
        self._schedule = data.schedule.latest

    @property
    def available(self) -> bool:
        """An event entity is always there to fire."""
        return True

    @callback
    def _handle_coordinator_update(self) -> None:
        """Compare a newly fetched schedule with the last one."""
        schedule = self.coordinator.data
        if schedule is None or schedule is self._schedule:
            return  # a boundary or a failed fetch: nothing new
        plan = self.coordinator.plan
        windows = plan.slots if plan else ()
        had_schedule = self._schedule is not None
        self._schedule = schedule
        diff = diff_windows(self._windows, windows, dt_util.utcnow(), self.coordinator.lead_time)
        self._windows = windows
        if had_schedule and diff:
            self._trigger_event(SCHEDULE_CHANGED, describe(diff))
            self.async_write_ha_state()
