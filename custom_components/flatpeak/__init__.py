"""The Flatpeak integration: charging schedules and tariff status from Flatpeak."""

from __future__ import annotations

import asyncio

from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import HomeAssistant

from .const import CONF_ACCOUNT_ID, PLATFORMS
from .coordinator import (
    DeviceCoordinator,
    FlatpeakConfigEntry,
    FlatpeakData,
    ResponseCache,
    ScheduleCoordinator,
    StatusCoordinator,
)
from .repairs import async_delete_issues, async_update_issues
from .shared import async_get_client


async def async_setup_entry(hass: HomeAssistant, entry: FlatpeakConfigEntry) -> bool:
    """Set up a Flatpeak device from a config entry.

    Entities start from the answers cached before the last shutdown, so that
    a restart while the cloud is down keeps serving the known schedule. Only
    the device must be known: it names the Home Assistant device.
    """
    client = async_get_client(
        hass, entry.data[CONF_URL], entry.data[CONF_ACCOUNT_ID], entry.data[CONF_API_KEY]
    )
    cache = ResponseCache(hass, entry)
    await cache.async_load()
    entry.async_on_unload(cache.async_flush)
    data = FlatpeakData(
        client=client,
        device=DeviceCoordinator(hass, entry, client, cache),
        status=StatusCoordinator(hass, entry, client, cache),
        schedule=ScheduleCoordinator(hass, entry, client, cache),
    )
    # Set at once: the repairs read it after every fetch, the first ones included.
    entry.runtime_data = data

    cached = [coordinator for coordinator in data.coordinators if coordinator.restore()]
    if data.device not in cached:
        await data.device.async_config_entry_first_refresh()
    missing = [c for c in (data.status, data.schedule) if c not in cached]
    # Without a cached answer, fetch before the entities appear; a failure
    # (no tariff connected, say) is shown by the entities, not fatal.
    await asyncio.gather(*(coordinator.async_refresh() for coordinator in missing))
    for coordinator in cached:
        entry.async_create_background_task(
            hass, coordinator.async_refresh(), f"{coordinator.name} refresh"
        )
    data.schedule.schedule_boundary()
    async_update_issues(hass, entry)

    entry.async_on_unload(entry.add_update_listener(_async_reload))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: FlatpeakConfigEntry) -> bool:
    """Unload a config entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: FlatpeakConfigEntry) -> None:
    """Forget the cached answers and the repair issues of a removed entry."""
    await ResponseCache(hass, entry).async_remove()
    async_delete_issues(hass, entry)


async def _async_reload(hass: HomeAssistant, entry: FlatpeakConfigEntry) -> None:
    """Apply changed options or credentials."""
    await hass.config_entries.async_reload(entry.entry_id)
