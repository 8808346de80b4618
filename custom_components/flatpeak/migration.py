"""Entries of the released shape become the account entry with its devices.

Released versions (entry VERSION 1) made one config entry per Flatpeak device:
the credentials and the device in its data, the device ID as its unique ID,
the battery sensor in its options, and the Flip dispatch as a subentry. Now
the entry is the account (VERSION 2) and each device a subentry. Every entry
of one account becomes one: the first keeps its ID (or an account entry that
exists already takes them all), the others' devices become its subentries,
their entities, devices, cached answers and dispatched events move with them,
and the extra entries are removed. Entity IDs, renamed ones included, and
restored states stay, since entities keep their unique IDs.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.storage import Store

from .const import (
    CONF_ACCOUNT_ID,
    CONF_DEVICE_ID,
    CONF_LOCATION_ID,
    CONF_SOC_ENTITY,
    DOMAIN,
    LOGGER,
    SUBENTRY_DEVICE,
)
from .devices import async_move_device
from .dispatch import TARGETS
from .dispatch.flip.store import store_key

VERSION = 2
# The kinds of answer a released entry cached, and what each is about.
_DEVICE_ANSWERS = ("device", "schedule")
_LOCATION_ANSWERS = ("status", "import_prices", "export_prices")
_RETRY_AFTER = "retry_after"


def account_title(account_id: str) -> str:
    """Return the title of an account's entry."""
    return f"Flatpeak {account_id}"


async def async_migrate_entries(hass: HomeAssistant) -> None:
    """Make every entry of the released shape part of its account's entry."""
    released = [entry for entry in hass.config_entries.async_entries(DOMAIN) if entry.version < 2]
    accounts: dict[str, list[ConfigEntry]] = {}
    for entry in released:
        accounts.setdefault(entry.data[CONF_ACCOUNT_ID], []).append(entry)
    for account_id, entries in accounts.items():
        await _async_migrate_account(hass, account_id, entries)


async def _async_migrate_account(
    hass: HomeAssistant, account_id: str, entries: list[ConfigEntry]
) -> None:
    existing = next(
        (
            entry
            for entry in hass.config_entries.async_entries(DOMAIN)
            if entry.version >= VERSION and entry.unique_id == account_id
        ),
        None,
    )
    if existing is None:
        existing, *others = entries
        await _async_become_account(hass, existing)
    else:
        others = entries
    for entry in others:
        await _async_merge(hass, existing, entry)
    LOGGER.info(
        "Flatpeak: %d device entr%s of account %s now under one account entry",
        len(entries),
        "y" if len(entries) == 1 else "ies",
        account_id,
    )


def _device_data(entry: ConfigEntry) -> dict[str, Any]:
    """Return the device subentry's data of a released entry."""
    data = {
        CONF_DEVICE_ID: entry.data[CONF_DEVICE_ID],
        CONF_LOCATION_ID: entry.data[CONF_LOCATION_ID],
    }
    if soc_entity := entry.options.get(CONF_SOC_ENTITY):
        data[CONF_SOC_ENTITY] = soc_entity
    return data


async def _async_become_account(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Turn a released entry into its account's entry, with its device as a subentry."""
    device_id, location_id = entry.data[CONF_DEVICE_ID], entry.data[CONF_LOCATION_ID]
    device = ConfigSubentry(
        data=MappingProxyType(_device_data(entry)),
        subentry_type=SUBENTRY_DEVICE,
        title=entry.title,
        unique_id=device_id,
    )
    hass.config_entries.async_update_entry(
        entry,
        data={key: entry.data[key] for key in (CONF_API_KEY, CONF_ACCOUNT_ID, CONF_URL)},
        options={key: value for key, value in entry.options.items() if key != CONF_SOC_ENTITY},
        title=account_title(entry.data[CONF_ACCOUNT_ID]),
        unique_id=entry.data[CONF_ACCOUNT_ID],
        version=VERSION,
    )
    hass.config_entries.async_add_subentry(entry, device)
    dispatches: dict[str, str] = {}
    for subentry in list(entry.subentries.values()):
        if subentry.subentry_type in TARGETS:
            hass.config_entries.async_update_subentry(
                entry, subentry, data={**subentry.data, CONF_DEVICE_ID: device_id}
            )
            dispatches[subentry.subentry_id] = subentry.subentry_id
    _move_registries(hass, entry, entry, device_id, device.subentry_id, dispatches)
    await _async_move_answers(hass, entry.entry_id, entry.entry_id, device_id, location_id)
    await _async_move_store(
        hass, f"{DOMAIN}.{entry.entry_id}.dispatch", store_key(entry.entry_id, device_id)
    )


async def _async_merge(hass: HomeAssistant, account: ConfigEntry, entry: ConfigEntry) -> None:
    """Move a released entry's device, dispatch and all they hold into the account's entry."""
    device_id = entry.data[CONF_DEVICE_ID]
    device = ConfigSubentry(
        data=MappingProxyType(_device_data(entry)),
        subentry_type=SUBENTRY_DEVICE,
        title=entry.title,
        unique_id=device_id,
    )
    hass.config_entries.async_add_subentry(account, device)
    dispatches: dict[str, str] = {}
    for subentry in list(entry.subentries.values()):
        if subentry.subentry_type in TARGETS:
            moved = ConfigSubentry(
                data=MappingProxyType({**subentry.data, CONF_DEVICE_ID: device_id}),
                subentry_type=subentry.subentry_type,
                title=subentry.title,
                unique_id=subentry.unique_id,
            )
            hass.config_entries.async_add_subentry(account, moved)
            dispatches[subentry.subentry_id] = moved.subentry_id
    _move_registries(hass, entry, account, device_id, device.subentry_id, dispatches)
    await _async_move_answers(
        hass, account.entry_id, entry.entry_id, device_id, entry.data[CONF_LOCATION_ID]
    )
    await _async_move_store(
        hass, f"{DOMAIN}.{entry.entry_id}.dispatch", store_key(account.entry_id, device_id)
    )
    # Nothing of it is left: its removal withdraws, forgets and deletes nothing more.
    for subentry_id in list(entry.subentries):
        hass.config_entries.async_remove_subentry(entry, subentry_id)
    await hass.config_entries.async_remove(entry.entry_id)


def _move_registries(
    hass: HomeAssistant,
    entry: ConfigEntry,
    account: ConfigEntry,
    device_id: str,
    device_subentry_id: str,
    dispatches: dict[str, str],
) -> None:
    """Give a released entry's entities and devices to the account and the right subentry.

    What belonged to a dispatch subentry goes to that dispatch (`dispatches`
    maps its old subentry ID to its new one); the rest to the device.
    """
    entities = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(entities, entry.entry_id):
        subentry_id = dispatches.get(entity.config_subentry_id or "", device_subentry_id)
        entities.async_update_entity(
            entity.entity_id, config_entry_id=account.entry_id, config_subentry_id=subentry_id
        )
    devices = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(devices, entry.entry_id):
        subentry_id = device_subentry_id
        if (DOMAIN, device_id) not in device.identifiers:
            held = _subentries_of(device, entry.entry_id)
            subentry_id = next((dispatches[s] for s in held if s in dispatches), device_subentry_id)
        async_move_device(hass, device, account.entry_id, subentry_id)


def _subentries_of(device: dr.DeviceEntry, entry_id: str) -> Iterable[str]:
    """Return the subentries of an entry that hold a device, on any Home Assistant version."""
    single = getattr(device, "config_subentry_id", None)
    if single is not None:
        return [single]
    held: set[str | None] = set(device.config_entries_subentries.get(entry_id, set()))
    return [subentry for subentry in held if subentry is not None]


async def _async_move_answers(
    hass: HomeAssistant, account_id: str, entry_id: str, device_id: str, location_id: str
) -> None:
    """Move a released entry's cached answers into the account's, keyed as the account keys them.

    (`account_id` and `entry_id` are config entry IDs; they are the same entry's for
    the entry that becomes the account's.)
    """
    old: Store[dict[str, Any]] = Store(hass, 1, f"{DOMAIN}.{entry_id}")
    stored = await old.async_load()
    if not isinstance(stored, dict):
        return
    new: Store[dict[str, Any]] = Store(hass, 1, f"{DOMAIN}.{account_id}")
    held = await new.async_load() if account_id != entry_id else None
    answers: dict[str, Any] = held if isinstance(held, dict) else {}
    for kind, document in stored.items():
        if kind in _DEVICE_ANSWERS:
            answers[f"{kind}:{device_id}"] = document
        elif kind in _LOCATION_ANSWERS:
            answers.setdefault(f"{kind}:{location_id}", document)
        elif kind == _RETRY_AFTER and isinstance(document, dict):
            known = answers.get(kind)
            later = not isinstance(known, dict) or str(document.get("until")) > str(
                known.get("until")
            )
            answers[kind] = document if later else known
    if account_id != entry_id:
        await old.async_remove()
    await new.async_save(answers)


async def _async_move_store(hass: HomeAssistant, old_key: str, new_key: str) -> None:
    """Move a store's contents to another key."""
    old: Store[dict[str, Any]] = Store(hass, 1, old_key)
    stored = await old.async_load()
    if stored is None:
        return
    await Store[dict[str, Any]](hass, 1, new_key).async_save(stored)
    await old.async_remove()
