"""Helpers for the integration's tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigSubentry, ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.flatpeak.api import DeviceType, FlatpeakClient
from custom_components.flatpeak.const import (
    CONF_ACCOUNT_ID,
    CONF_DEVICE_ID,
    CONF_LOCATION_ID,
    DOMAIN,
    LEAD_TIME,
    PRICE_INTERVAL,
    SCHEDULE_INTERVAL,
    STATUS_INTERVAL,
    SUBENTRY_DEVICE,
)
from custom_components.flatpeak.data import DeviceData
from custom_components.flatpeak.migration import VERSION, account_title
from sandbox import Sandbox

# The sandbox's demo battery, as its device subentry is titled.
BATTERY_NAME = "Nova Systems Pico Ultimate"
PREFIX = "nova_systems_pico_ultimate"
CHARGING = f"binary_sensor.{PREFIX}_charging_window"
STARTING_SOON = f"binary_sensor.{PREFIX}_charging_window_starting_soon"
VPP = f"binary_sensor.{PREFIX}_vpp_event"
SCHEDULE_STATUS = f"sensor.{PREFIX}_schedule_status"
NEXT_START = f"sensor.{PREFIX}_next_window_start"
CALENDAR = f"calendar.{PREFIX}_charging_schedule"
POWER = f"sensor.{PREFIX}_charging_power"
TARIFF_STATUS = f"sensor.{PREFIX}_import_tariff_status"


def z(moment: datetime) -> str:
    """Format a UTC datetime as the API does."""
    return moment.isoformat().replace("+00:00", "Z")


def session(
    start: datetime,
    end: datetime,
    *slots: tuple[datetime, datetime],
    energy_wh: float = 5000,
    cost: float = 0.5,
    power_w: float = 5000,
    vpp: bool = False,
) -> dict[str, Any]:
    """A session in wire format, holding the given slots."""
    return {
        "start_time": z(start),
        "end_time": z(end),
        "energy": {"units": "WH", "value": energy_wh},
        "cost": {"value": cost, "confidence": 1},
        "schedule": [
            {
                "start_time": z(a),
                "end_time": z(b),
                "power": {"units": "W", "value": power_w},
                "vpp_event": vpp,
            }
            for a, b in slots
        ],
    }


def device_subentry(
    device_id: str, location_id: str, title: str, **settings: Any
) -> ConfigSubentryData:
    """The subentry of one Flatpeak device, with its own settings."""
    return ConfigSubentryData(
        data={CONF_DEVICE_ID: device_id, CONF_LOCATION_ID: location_id, **settings},
        subentry_type=SUBENTRY_DEVICE,
        title=title,
        unique_id=device_id,
    )


async def add_device(
    hass: HomeAssistant, entry: MockConfigEntry, device_id: str, location_id: str, title: str
) -> None:
    """Add a device to a running account, as "Add device" does, and wait for it."""
    device = device_subentry(device_id, location_id, title)
    hass.config_entries.async_add_subentry(
        entry,
        ConfigSubentry(
            data=MappingProxyType(dict(device["data"])),
            subentry_type=device["subentry_type"],
            title=device["title"],
            unique_id=device["unique_id"],
        ),
    )
    await hass.async_block_till_done(wait_background_tasks=True)


def account_entry(
    data: dict[str, Any],
    *devices: ConfigSubentryData,
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """The entry of a Flatpeak account with its devices, not yet added to hass."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=account_title(data[CONF_ACCOUNT_ID]),
        data=data,
        unique_id=data[CONF_ACCOUNT_ID],
        options=options or {},
        version=VERSION,
        subentries_data=devices,
    )


def batteries_entry(
    data: dict[str, Any],
    location_id: str,
    device_ids: list[str],
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """An account with the given devices at one location, titled "Battery 0", "Battery 1" …"""
    devices = [
        device_subentry(device_id, location_id, f"Battery {number}")
        for number, device_id in enumerate(device_ids)
    ]
    return account_entry(data, *devices, options=options)


def device_of(entry: MockConfigEntry, device_id: str | None = None) -> DeviceData:
    """The running device of an account: its only one, or the one with device_id."""
    devices = list(entry.runtime_data.devices.values())
    if device_id is None:
        (device,) = devices
        return device
    return next(device for device in devices if device.device_id == device_id)


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Add and set up a config entry, and wait for it."""
    if entry.entry_id not in {e.entry_id for e in hass.config_entries.async_entries()}:
        entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


def state(hass: HomeAssistant, entity_id: str) -> str:
    """The state of an entity, which must exist."""
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.state


MINUTE = timedelta(minutes=1)

# Options that poll rarely, so that polling stays out of the way of boundaries.
QUIET = {
    SCHEDULE_INTERVAL.key: 240,
    STATUS_INTERVAL.key: 1440,
    PRICE_INTERVAL.key: 1440,
    LEAD_TIME.key: 15,
}


async def at(hass: HomeAssistant, freezer: FrozenDateTimeFactory, moment: datetime) -> None:
    """Move the clock to moment and let every timer due by then run."""
    freezer.move_to(moment)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def make_devices(
    hass: HomeAssistant, sandbox: Sandbox, entry_data: dict[str, Any], count: int
) -> list[str]:
    """The demo battery and count - 1 more batteries at the same location, in the sandbox."""
    client = FlatpeakClient(
        async_get_clientsession(hass),
        sandbox.account_id,
        sandbox.api_key,
        base_url=entry_data["url"],
    )
    device_ids = [sandbox.device_id]
    for number in range(1, count):
        device = await client.create_device(
            reference_id=f"battery-{number}",
            device_type=DeviceType.BATTERY_SYSTEM,
            location_ids=[sandbox.location_id],
            capacity_kwh=10,
            charge_power_kw=3.6,
        )
        device_ids.append(device.id)
    return device_ids
