"""The Flatpeak integration: charging schedules and tariff status from Flatpeak."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN, PLATFORMS
from .data import AccountData, FlatpeakConfigEntry
from .dispatch import TARGETS
from .migration import async_migrate_entries
from .repairs import async_delete_issues, async_follow_issues
from .services import async_setup_services
from .store import ResponseCache

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the integration's actions, and bring entries of the released shape together.

    Several released entries of one account become one before any is set up.
    """
    async_setup_services(hass)
    await async_migrate_entries(hass)
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: FlatpeakConfigEntry) -> bool:
    """Make a released entry its account's entry (when set up without the others)."""
    if entry.version < 2:
        await async_migrate_entries(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: FlatpeakConfigEntry) -> bool:
    """Set up a Flatpeak account and its devices."""
    entry.runtime_data = account = AccountData(hass, entry)
    await account.async_start()
    async_follow_issues(hass, entry)
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    for device in account.devices.values():
        device.soc.async_start()
    return True


async def async_unload_entry(hass: HomeAssistant, entry: FlatpeakConfigEntry) -> bool:
    """Unload a config entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: FlatpeakConfigEntry) -> None:
    """Forget the cached answers, dispatched events and repair issues of a removed entry."""
    await ResponseCache(hass, entry).async_remove()
    for subentry in entry.subentries.values():
        if (kind := TARGETS.get(subentry.subentry_type)) is not None:
            await kind.async_remove(hass, entry, subentry)
    async_delete_issues(hass, entry)


async def _async_entry_updated(hass: HomeAssistant, entry: FlatpeakConfigEntry) -> None:
    """Reload for new credentials or a new URL; follow everything else in place.

    Home Assistant calls this at every change of the entry, its subentries
    included: new options, a device added, changed or removed, a dispatch
    added, changed or removed, interrupt no entity of the other devices.
    """
    if entry.state is not ConfigEntryState.LOADED:
        return
    if entry.runtime_data.credentials_changed():
        await hass.config_entries.async_reload(entry.entry_id)
    else:
        await entry.runtime_data.async_sync()
