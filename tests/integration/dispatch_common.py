"""Helpers for the Flip dispatch tests."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState, ConfigSubentry, ConfigSubentryData
from homeassistant.const import CONF_API_KEY, CONF_URL, EVENT_STATE_CHANGED
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.flatpeak.const import CONF_DEVICE_ID, DOMAIN, SUBENTRY_DEVICE
from custom_components.flatpeak.dispatch.flip.const import SUBENTRY_TYPE
from custom_components.flatpeak.dispatch.flip.store import store_key
from sandbox import Sandbox

from .common import PREFIX, device_of, session

NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
TARGET = "dev-battery-1"

NEXT_FLIP_EVENT = f"sensor.{PREFIX}_flip_dispatch_next_event"
FLIP_STATUS = f"sensor.{PREFIX}_flip_dispatch_status"
FLIP_COUNT = f"sensor.{PREFIX}_flip_dispatch_dispatched_events"
FLIP_SENSORS = (NEXT_FLIP_EVENT, FLIP_STATUS, FLIP_COUNT)

type Key = tuple[Any, ...]


def flip_data(sandbox: Sandbox, url: str, **changes: Any) -> dict[str, Any]:
    """Subentry data of a Flip dispatch of the sandbox's battery to the sandbox's program."""
    return {
        CONF_DEVICE_ID: sandbox.device_id,
        CONF_API_KEY: sandbox.flip_api_key,
        CONF_URL: url,
        "program_id": sandbox.flip_program_id,
        "target_type": "DEVICE",
        "target_ids": [TARGET],
        "auto_dispatch": True,
        "min_lead_time": 10,
        "min_duration": 15,
        "backup_reserve": None,
    } | changes


def with_flip(entry: MockConfigEntry, data: dict[str, Any]) -> MockConfigEntry:
    """A copy of a config entry that has a Flip dispatch."""
    devices = [
        ConfigSubentryData(
            data=device.data,
            subentry_type=device.subentry_type,
            title=device.title,
            unique_id=device.unique_id,
        )
        for device in entry.subentries.values()
    ]
    return MockConfigEntry(
        domain=DOMAIN,
        title=entry.title,
        data=entry.data,
        options=entry.options,
        unique_id=entry.unique_id,
        version=entry.version,
        subentries_data=[
            *devices,
            ConfigSubentryData(
                data=data,
                subentry_type=SUBENTRY_TYPE,
                title=f"Flip {data['program_id']}",
                unique_id=None,
            ),
        ],
    )


def day_plan(*slots: tuple[datetime, datetime]) -> list[dict[str, Any]]:
    """One session over the day from NOW, holding the given slots, in wire format."""
    return [session(NOW, NOW + 24 * HOUR, *slots)]


def flip_counts(sandbox: Sandbox) -> tuple[int, int, int]:
    """How many creates, cancels and lists Flip received."""
    counts = sandbox.request_counts
    return counts["flip_event_create"], counts["flip_event_cancel"], counts["flip_event_list"]


def dispatch_key(entry: MockConfigEntry) -> str:
    """The storage key of the dispatch of the account's (first) device."""
    device = next(s for s in entry.subentries.values() if s.subentry_type == SUBENTRY_DEVICE)
    return store_key(entry.entry_id, device.data[CONF_DEVICE_ID])


def flip_subentry(entry: MockConfigEntry) -> ConfigSubentry:
    """The account's Flip dispatch subentry."""
    return next(s for s in entry.subentries.values() if s.subentry_type == SUBENTRY_TYPE)


def stored_dispatch(hass_storage: dict[str, Any], entry: MockConfigEntry) -> dict[str, Any]:
    """What the entry's Flip dispatch last saved."""
    data: dict[str, Any] = hass_storage[dispatch_key(entry)]["data"]
    return data


def live(sandbox: Sandbox) -> list[dict[str, Any]]:
    """The events Flip holds that are not cancelled."""
    return [event for event in sandbox.flip_events if not event["cancelled"]]


def key_of(event: dict[str, Any]) -> Key:
    """What identifies an event: target and its one action."""
    (action,) = event["actions"]
    return (
        event["program_id"],
        event["target_type"],
        tuple(sorted(event["target_ids"])),
        action["mode"],
        action["starts_at"],
        action["duration_s"],
        action["power_mode"],
        action["setpoint_w"],
        action["enable_grid_import"],
        action["backup_reserve_percentage"],
    )


def z(moment: datetime) -> str:
    """Format a UTC instant as Flip does."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def window(
    start: datetime,
    end: datetime,
    power_w: int = 5000,
    *,
    target: str = TARGET,
    program: str = "prg-sandbox-home",
    reserve: int | None = None,
) -> Key:
    """The key of the event a window should become."""
    return (
        program,
        "DEVICE",
        (target,),
        "CHARGE",
        z(start),
        int((end - start).total_seconds()),
        "SETPOINT",
        power_w,
        True,
        reserve,
    )


def live_keys(sandbox: Sandbox) -> Counter[Key]:
    """The keys of the live events, counted (a count above one is a duplicate)."""
    return Counter(key_of(event) for event in live(sandbox))


def owners(device: dr.DeviceEntry, entry: MockConfigEntry) -> set[str | None]:
    """The subentries of the entry that own a device, on any Home Assistant version."""
    if hasattr(device, "config_subentry_id"):  # 2026.8 and later
        return {device.config_subentry_id}
    return device.config_entries_subentries[entry.entry_id]


def devices_of(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, dr.DeviceEntry]:
    """The entry's devices by their Flatpeak identifier."""
    registry = dr.async_get(hass)
    return {
        identifier: device
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id)
        for domain, identifier in device.identifiers
        if domain == DOMAIN
    }


async def refresh_schedule(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Fetch the schedule now and let the reconciliation it causes finish."""
    await device_of(entry).schedule.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)


async def advance(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, total: timedelta, step: timedelta
) -> None:
    """Let time pass in steps, running every timer that falls due."""
    end = datetime.now(UTC) + total
    while datetime.now(UTC) < end:
        freezer.tick(step)
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)


async def restart(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Unload the entry and set it up again, as a restart of Home Assistant does."""
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


class Watch:
    """What happens to a running entry and its entities, from now on.

    A reload would set the entry up again (new runtime data) and turn every
    entity of the Flatpeak device unavailable for a moment: both show here.
    """

    def __init__(
        self, hass: HomeAssistant, entry: MockConfigEntry, device_ids: Iterable[str] | None = None
    ) -> None:
        """Start watching a loaded entry: the entities of its devices, or of some of them."""
        self._entry = entry
        self._data = entry.runtime_data
        registry = er.async_get(hass)
        watched = [
            device
            for device in entry.runtime_data.devices.values()
            if device_ids is None or device.device_id in device_ids
        ]
        # The Flatpeak devices' entities, not the Flip dispatch's.
        self.flatpeak = {
            item.entity_id
            for device in watched
            for item in er.async_entries_for_device(registry, device.registry_device_id)
        }
        # Every entity's states since, in order; None once removed.
        self.states: defaultdict[str, list[str | None]] = defaultdict(list)
        hass.bus.async_listen(EVENT_STATE_CHANGED, self._changed)

    @callback
    def _changed(self, event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        self.states[event.data["entity_id"]].append(None if new is None else new.state)

    def assert_untouched(self) -> None:
        """Fail unless the entry ran on without a reload, its Flatpeak entities unchanged."""
        assert self._entry.state is ConfigEntryState.LOADED
        assert self._entry.runtime_data is self._data, "the entry was set up again"
        assert {
            entity: seen for entity, seen in self.states.items() if entity in self.flatpeak
        } == {}
