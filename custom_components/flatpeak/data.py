"""What a loaded config entry holds: built once at setup, read by every platform.

Only the dispatch changes while the entry runs: its slot holds the target in
force.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.util import dt as dt_util

from .api import FlatpeakClient, TariffDirection, TariffStatus
from .const import CONF_ACCOUNT_ID, DOMAIN
from .coordinator import (
    DeviceCoordinator,
    FlatpeakCoordinator,
    PriceCoordinator,
    ScheduleCoordinator,
    StatusCoordinator,
)
from .devices import async_register_flatpeak_device
from .dispatch import DispatchSlot
from .shared import async_get_client
from .soc import StateOfChargeLink
from .store import ResponseCache
from .writer import StateWriter

type FlatpeakConfigEntry = ConfigEntry[FlatpeakData]


@dataclass(frozen=True, slots=True, kw_only=True)
class FlatpeakData:
    """The coordinators, links, writer and dispatch of one entry."""

    client: FlatpeakClient
    device: DeviceCoordinator
    status: StatusCoordinator
    schedule: ScheduleCoordinator
    import_prices: PriceCoordinator
    # Only when the location has an export tariff connected (a change reloads).
    export_prices: PriceCoordinator | None
    soc: StateOfChargeLink
    # Writes the entities after each answer and at each instant they declared.
    writer: StateWriter
    # The dispatch, added, changed and removed in place.
    dispatch: DispatchSlot
    # The registry ID of the Flatpeak device, registered before the platforms.
    registry_device_id: str

    @property
    def coordinators(self) -> tuple[FlatpeakCoordinator[Any], ...]:
        """All coordinators, the device first."""
        prices = (self.import_prices, self.export_prices)
        return (self.device, self.status, self.schedule, *(p for p in prices if p))


def export_connected(status: StatusCoordinator) -> bool:
    """Say whether the location's export tariff is connected."""
    latest = status.latest
    element = latest.commodity_export if latest else None
    return element is not None and element.status == TariffStatus.CONNECTED


async def async_build_runtime_data(hass: HomeAssistant, entry: FlatpeakConfigEntry) -> FlatpeakData:
    """Build what the entry runs on, from the answers cached before the last shutdown.

    A restart while the cloud is down keeps serving the known schedule; only
    the device must be known, for it names the Home Assistant device. A
    Retry-After deadline kept from before the restart holds the client back
    until it passes, the first fetches included. Answers without a cached
    copy are fetched before the entities appear; the others are refreshed in
    the background.
    """
    client = async_get_client(
        hass, entry.data[CONF_URL], entry.data[CONF_ACCOUNT_ID], entry.data[CONF_API_KEY]
    )
    cache = ResponseCache(hass, entry)
    await cache.async_load()
    if (deadline := cache.not_before(dt_util.utcnow())) is not None:
        client.hold_until(deadline)
    # Any deadline the shared client meets from now on is kept with this entry's answers.
    entry.async_on_unload(client.add_hold_listener(cache.hold))
    entry.async_on_unload(cache.async_flush)

    device = DeviceCoordinator(hass, entry, client, cache)
    if not device.restore():
        if (deadline := client.not_before) is not None:
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="rate_limited_until",
                translation_placeholders={"time": dt_util.as_local(deadline).isoformat()},
            )
        await device.async_config_entry_first_refresh()
    else:
        _refresh_in_background(entry, device)

    status = StatusCoordinator(hass, entry, client, cache)
    schedule = ScheduleCoordinator(hass, entry, client, cache)
    import_prices = PriceCoordinator(hass, entry, client, cache, TariffDirection.IMPORT, status)
    # A tariff problem met by the schedule or the prices asks for the tariff status.
    schedule.on_tariff_problem = import_prices.on_tariff_problem = status.request_check
    # Each new schedule is reconciled with the dispatch: it follows before the first fetch.
    dispatch = DispatchSlot(hass, entry, schedule)
    await dispatch.async_apply()
    entry.async_on_unload(dispatch.async_unload)
    await _async_start(entry, status, schedule, import_prices)
    # Export prices only mean something with an export tariff.
    export_prices = None
    if export_connected(status):
        export_prices = PriceCoordinator(hass, entry, client, cache, TariffDirection.EXPORT, status)
        export_prices.on_tariff_problem = status.request_check
        await _async_start(entry, export_prices)

    coordinators: list[FlatpeakCoordinator[Any]] = [device, status, schedule, import_prices]
    writer = StateWriter(hass, [*coordinators, *([export_prices] if export_prices else [])])
    entry.async_on_unload(writer.stop)
    return FlatpeakData(
        client=client,
        device=device,
        status=status,
        schedule=schedule,
        import_prices=import_prices,
        export_prices=export_prices,
        soc=StateOfChargeLink(hass, entry, client, schedule.async_request_refresh),
        writer=writer,
        dispatch=dispatch,
        registry_device_id=async_register_flatpeak_device(hass, entry, device.latest),
    )


async def _async_start(entry: ConfigEntry, *coordinators: FlatpeakCoordinator[Any]) -> None:
    """Start from cached answers, refreshed in the background; fetch the others now.

    A failed fetch (no tariff connected, say) is shown by the entities, not fatal.
    """
    cached = [coordinator for coordinator in coordinators if coordinator.restore()]
    await asyncio.gather(*(c.async_refresh() for c in coordinators if c not in cached))
    for coordinator in cached:
        _refresh_in_background(entry, coordinator)


def _refresh_in_background(entry: ConfigEntry, coordinator: FlatpeakCoordinator[Any]) -> None:
    entry.async_create_background_task(
        coordinator.hass, coordinator.async_refresh(), f"{coordinator.name} refresh"
    )
