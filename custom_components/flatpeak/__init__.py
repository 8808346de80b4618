"""The Flatpeak integration: charging schedules and tariff status from Flatpeak."""

from __future__ import annotations

from functools import partial
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN, PLATFORMS
from .data import FlatpeakConfigEntry, async_build_runtime_data, export_connected
from .dispatch import TARGETS
from .repairs import async_delete_issues, async_follow_issues
from .services import async_setup_services
from .store import ResponseCache

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the integration's actions, once for all entries."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: FlatpeakConfigEntry) -> bool:
    """Set up a Flatpeak device from a config entry."""
    entry.runtime_data = data = await async_build_runtime_data(hass, entry)
    async_follow_issues(hass, entry)
    entry.async_on_unload(data.status.async_add_listener(lambda: _watch_export(hass, entry)))
    entry.async_on_unload(
        entry.add_update_listener(partial(_async_entry_updated, _own_settings(entry)))
    )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    data.soc.async_start()
    return True


@callback
def _watch_export(hass: HomeAssistant, entry: FlatpeakConfigEntry) -> None:
    """Reload when an export tariff is connected, to add its prices."""
    data = entry.runtime_data
    if data.status.fresh and data.export_prices is None and export_connected(data.status):
        hass.config_entries.async_schedule_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: FlatpeakConfigEntry) -> bool:
    """Unload a config entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: FlatpeakConfigEntry) -> None:
    """Forget the cached answers, dispatched events and repair issues of a removed entry."""
    await ResponseCache(hass, entry).async_remove()
    for kind in TARGETS.values():
        subentries = entry.subentries.values()
        subentry = next((s for s in subentries if s.subentry_type == kind.subentry_type), None)
        await kind.async_remove(hass, entry, subentry)
    async_delete_issues(hass, entry)


def _own_settings(entry: FlatpeakConfigEntry) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Return what the entry's setup is built from: everything but its dispatch."""
    return dict(entry.data), dict(entry.options), entry.title


async def _async_entry_updated(
    settings: tuple[dict[str, Any], dict[str, Any], str],
    hass: HomeAssistant,
    entry: FlatpeakConfigEntry,
) -> None:
    """Reload for changed credentials or options; follow the dispatch in place.

    Home Assistant calls this at every change of the entry, its subentries
    included: adding, changing or removing the dispatch must not interrupt
    the other entities.
    """
    if _own_settings(entry) != settings:
        await hass.config_entries.async_reload(entry.entry_id)
    elif entry.state is ConfigEntryState.LOADED:
        await entry.runtime_data.dispatch.async_apply()
