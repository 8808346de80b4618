"""An event entity that fires when a new revision of the schedule moves the windows."""

from __future__ import annotations

from typing import Any

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .api import ChargingSlot
from .coordinator import ScheduleCoordinator
from .data import DeviceData, FlatpeakConfigEntry
from .entity import FlatpeakEntity, async_add_device_entities
from .presentation import window_data
from .schedule import ScheduleDiff, WindowChange, diff_windows

PARALLEL_UPDATES = 0

SCHEDULE_CHANGED = "schedule_changed"

# The soonest windows of each kind that the event lists. A whole new week can move
# hundreds; listing them all would cost milliseconds per fetch and exceed what the
# recorder keeps of an entity's attributes (16 KiB), so it would keep none.
LISTED = 10


async def async_setup_entry(
    hass: HomeAssistant,
    entry: FlatpeakConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the schedule-change event of each Flatpeak device."""
    async_add_device_entities(
        entry, async_add_entities, lambda device, _: [ScheduleChangeEvent(device)]
    )


def _shifted_data(change: WindowChange) -> dict[str, Any]:
    before = window_data(change.previous) if change.previous else {}
    return {
        **window_data(change.slot),
        "previous_start": before.get("start"),
        "previous_end": before.get("end"),
        "previous_power_kw": before.get("power_kw"),
    }


def describe(diff: ScheduleDiff) -> dict[str, Any]:
    """Return the event's data: the soonest windows added, removed and shifted, and a summary.

    The summary counts every window; `not_listed` says how many the lists leave out.
    """
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
    total = len(diff.added) + len(diff.removed) + len(diff.shifted)
    listed = (diff.added[:LISTED], diff.removed[:LISTED], diff.shifted[:LISTED])
    return {
        "added": [window_data(slot) for slot in listed[0]],
        "removed": [window_data(slot) for slot in listed[1]],
        "shifted": [_shifted_data(change) for change in listed[2]],
        "not_listed": total - sum(map(len, listed)),
        "late_notice": diff.late_notice,
        "summary": summary,
    }


class ScheduleChangeEvent(FlatpeakEntity[ScheduleCoordinator], EventEntity):
    """Fires `schedule_changed` when a fetched schedule's windows differ from the last.

    Windows that have already ended are not compared. The first schedule
    fetched after a restart is compared with the one cached before it.
    """

    _attr_event_types = [SCHEDULE_CHANGED]  # noqa: RUF012  (as Home Assistant declares it)

    def __init__(self, data: DeviceData) -> None:
        """Create the event entity, starting from the schedule held now."""
        super().__init__(
            data,
            data.schedule,
            EventEntityDescription(key="schedule_change", translation_key="schedule_change"),
            changes_at=(),
            triggers=True,
        )
        plan = data.schedule.plan
        self._windows: tuple[ChargingSlot, ...] = plan.slots if plan else ()
        self._schedule = data.schedule.latest

    @property
    def available(self) -> bool:
        """An event entity is always there to fire."""
        return True

    @callback
    def handle_update(self) -> None:
        """Compare a newly fetched schedule with the last one."""
        schedule = self.coordinator.data
        if schedule is None or schedule is self._schedule:
            return  # a failed fetch, or the same schedule: nothing new
        plan = self.coordinator.plan
        windows = plan.slots if plan else ()
        had_schedule = self._schedule is not None
        self._schedule = schedule
        diff = diff_windows(self._windows, windows, dt_util.utcnow(), self.coordinator.lead_time)
        self._windows = windows
        if had_schedule and diff:
            self._trigger_event(SCHEDULE_CHANGED, describe(diff))
            self.async_write_ha_state()
