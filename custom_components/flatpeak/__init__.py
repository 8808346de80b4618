"""The Flatpeak integration: charging schedules and tariff status from Flatpeak."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType
from homeassistant.util import dt as dt_util

from .api import TariffDirection, TariffStatus
from .const import CONF_ACCOUNT_ID, DOMAIN, PLATFORMS
from .coordinator import (
    DeviceCoordinator,
    FlatpeakCoordinator,
    PriceCoordinator,
    ScheduleCoordinator,
    StatusCoordinator,
    TimedCoordinator,
)
from .data import FlatpeakConfigEntry, FlatpeakData
from .devices import async_register_flatpeak_device
from .dispatch_slot import DispatchSlot
from .dispatcher import async_remove_dispatch
from .repairs import async_delete_issues, async_update_issues
from .services import async_setup_services
from .shared import async_get_client
from .soc import StateOfChargeLink
from .store import ResponseCache

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the integration's actions, once for all entries."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: FlatpeakConfigEntry) -> bool:
    """Set up a Flatpeak device from a config entry.

    Entities start from the answers cached before the last shutdown, so that
    a restart while the cloud is down keeps serving the known schedule. Only
    the device must be known: it names the Home Assistant device.

    A Retry-After deadline kept from before the restart holds the client back
    until it passes: until then, nothing is asked of Flatpeak, the setup's
    first fetches included.
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
    status = StatusCoordinator(hass, entry, client, cache)
    schedule = ScheduleCoordinator(hass, entry, client, cache)
    import_prices = PriceCoordinator(hass, entry, client, cache, TariffDirection.IMPORT, status)
    # A tariff problem met by the schedule or the prices asks for the tariff status.
    schedule.on_tariff_problem = status.request_check
    import_prices.on_tariff_problem = status.request_check

    if not device.restore():
        if (deadline := client.not_before) is not None:
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="rate_limited_until",
                translation_placeholders={"time": dt_util.as_local(deadline).isoformat()},
            )
        await device.async_config_entry_first_refresh()
    else:
        _refresh_in_background(hass, entry, device)
    # Before the schedule is fetched: each new schedule is reconciled with Flip.
    dispatch = DispatchSlot(hass, entry, schedule)
    await dispatch.async_apply()
    entry.async_on_unload(dispatch.async_unload)
    await _async_start(hass, entry, status, schedule, import_prices)
    # Export prices only mean something with an export tariff; a change of
    # that connection reloads the entry (see _watch_export).
    export_prices = None
    if _export_connected(status):
        export_prices = PriceCoordinator(hass, entry, client, cache, TariffDirection.EXPORT, status)
        export_prices.on_tariff_problem = status.request_check
        await _async_start(hass, entry, export_prices)

    entry.runtime_data = data = FlatpeakData(
        client=client,
        device=device,
        status=status,
        schedule=schedule,
        import_prices=import_prices,
        export_prices=export_prices,
        soc=StateOfChargeLink(hass, entry, client, schedule.async_request_refresh),
        dispatch=dispatch,
        registry_device_id=async_register_flatpeak_device(hass, entry, device.latest),
    )
    # The repairs follow every fetch and the dispatch; the fetch layer knows nothing of them.
    update_issues = partial(async_update_issues, hass, entry)
    for coordinator in data.coordinators:
        entry.async_on_unload(coordinator.async_add_refresh_listener(update_issues))
    entry.async_on_unload(dispatch.async_add_listener(update_issues))
    update_issues()
    entry.async_on_unload(status.async_add_listener(lambda: _watch_export(hass, entry)))

    entry.async_on_unload(
        entry.add_update_listener(partial(_async_entry_updated, _own_settings(entry)))
    )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    data.soc.async_start()
    return True


async def _async_start(
    hass: HomeAssistant, entry: FlatpeakConfigEntry, *coordinators: FlatpeakCoordinator[Any]
) -> None:
    """Start from cached answers, refreshed in the background; fetch the others now.

    Without a cached answer, the fetch happens before the entities appear; a
    failure (no tariff connected, say) is shown by the entities, not fatal.
    """
    cached = [coordinator for coordinator in coordinators if coordinator.restore()]
    await asyncio.gather(*(c.async_refresh() for c in coordinators if c not in cached))
    for coordinator in cached:
        _refresh_in_background(hass, entry, coordinator)
    for coordinator in coordinators:
        if isinstance(coordinator, TimedCoordinator):
            coordinator.schedule_boundary()


def _refresh_in_background(
    hass: HomeAssistant, entry: FlatpeakConfigEntry, coordinator: FlatpeakCoordinator[Any]
) -> None:
    entry.async_create_background_task(
        hass, coordinator.async_refresh(), f"{coordinator.name} refresh"
    )


def _export_connected(status: StatusCoordinator) -> bool:
    latest = status.latest
    element = latest.commodity_export if latest else None
    return element is not None and element.status == TariffStatus.CONNECTED


@callback
def _watch_export(hass: HomeAssistant, entry: FlatpeakConfigEntry) -> None:
    """Reload when an export tariff is connected, to add its prices."""
    data = entry.runtime_data
    if data.status.fresh and data.export_prices is None and _export_connected(data.status):
        hass.config_entries.async_schedule_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: FlatpeakConfigEntry) -> bool:
    """Unload a config entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: FlatpeakConfigEntry) -> None:
    """Forget the cached answers, Flip events and repair issues of a removed entry."""
    await ResponseCache(hass, entry).async_remove()
    await async_remove_dispatch(hass, entry)
    async_delete_issues(hass, entry)


def _own_settings(entry: FlatpeakConfigEntry) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Return what the entry's setup is built from: everything but its Flip dispatch."""
    return dict(entry.data), dict(entry.options), entry.title


async def _async_entry_updated(
    settings: tuple[dict[str, Any], dict[str, Any], str],
    hass: HomeAssistant,
    entry: FlatpeakConfigEntry,
) -> None:
    """Reload for changed credentials or options; follow the Flip dispatch in place.

    Home Assistant calls this at every change of the entry, its subentries
    included: adding, changing or removing the Flip dispatch must not
    interrupt the other entities.
    """
    if _own_settings(entry) != settings:
        await hass.config_entries.async_reload(entry.entry_id)
    elif entry.state is ConfigEntryState.LOADED:
        await entry.runtime_data.dispatch.async_apply()
