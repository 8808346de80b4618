"""The Home Assistant devices of an account: each Flatpeak device, and its dispatch.

Each Flatpeak device is a config subentry of the account's entry, and its Home
Assistant device belongs to that subentry. Since Home Assistant 2026.8 a device
belongs to one config entry and at most one subentry: a dispatch's entities
belong to the dispatch's own subentry, so they sit on a device of their own,
linked to the Flatpeak device.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo

from .api import Device
from .const import DOMAIN
from .dispatch import TargetKind


def flatpeak_identifier(device_id: str) -> tuple[str, str]:
    """Return the registry identifier of a Flatpeak device."""
    return (DOMAIN, device_id)


def dispatch_identifier(device_id: str, kind: TargetKind) -> tuple[str, str]:
    """Return the registry identifier of a Flatpeak device's dispatch device."""
    return (DOMAIN, f"{device_id}_{kind.subentry_type}")


def device_info(device_id: str, name: str, device: Device | None) -> DeviceInfo:
    """Return the Home Assistant device of a Flatpeak device, as far as it is known."""
    return DeviceInfo(
        identifiers={flatpeak_identifier(device_id)},
        name=name,
        manufacturer=(device.manufacturer if device else None) or "Flatpeak",
        model=device.model_name if device else None,
        model_id=device.model_code if device else None,
        serial_number=device_id,
    )


# Since 2026.x a device links to its parent by registry ID; `via_device`, an
# identifier, is deprecated there and the only way before.
LINK_BY_ID = "via_device_id" in DeviceInfo.__annotations__


def dispatch_device_info(
    device_id: str, name: str, kind: TargetKind, flatpeak_registry_id: str
) -> DeviceInfo:
    """Return the device of a Flatpeak device's dispatch: a service for that device."""
    info = DeviceInfo(
        identifiers={dispatch_identifier(device_id, kind)},
        name=f"{name} {kind.title}",
        manufacturer=kind.manufacturer,
        model=kind.model,
        entry_type=DeviceEntryType.SERVICE,
    )
    link: dict[str, Any] = (
        {"via_device_id": flatpeak_registry_id}
        if LINK_BY_ID
        else {"via_device": flatpeak_identifier(device_id)}
    )
    info.update(link)  # type: ignore[typeddict-item]
    return info


@callback
def async_register_flatpeak_device(
    hass: HomeAssistant, entry: ConfigEntry, subentry_id: str, info: DeviceInfo
) -> str:
    """Register a Flatpeak device in its subentry, and return its registry ID.

    Run before the platforms, so that the dispatch device can link to it.
    """
    return (
        dr.async_get(hass)
        .async_get_or_create(config_entry_id=entry.entry_id, config_subentry_id=subentry_id, **info)
        .id
    )


# Since 2026.8 a device has one `config_subentry_id`; before, a set per config entry.
SINGLE_OWNER = "config_subentry_id"


def owner_entries(device: dr.DeviceEntry) -> set[str]:
    """Return the config entries a device belongs to, on any Home Assistant version."""
    if hasattr(device, SINGLE_OWNER):
        owner: str | None = getattr(device, "config_entry_id", None)
        return {owner} if owner else set()
    return set(device.config_entries)


@callback
def async_move_device(
    hass: HomeAssistant, device: dr.DeviceEntry, entry_id: str, subentry_id: str | None
) -> None:
    """Give a device to an entry and one of its subentries only, on any Home Assistant version."""
    registry = dr.async_get(hass)
    if hasattr(device, SINGLE_OWNER):
        updater: Any = registry.async_update_device  # new_config_*: 2026.8
        updater(device.id, new_config_entry_id=entry_id, new_config_subentry_id=subentry_id)
        return
    # Add the new owner first, so that the device always has one.
    registry.async_update_device(
        device.id, add_config_entry_id=entry_id, add_config_subentry_id=subentry_id
    )
    owners = registry.async_get(device.id)
    held = owners.config_entries_subentries if owners else {}
    for owner, subentries in list(held.items()):
        for held_subentry in list(subentries):
            if (owner, held_subentry) != (entry_id, subentry_id):
                registry.async_update_device(
                    device.id,
                    remove_config_entry_id=owner,
                    remove_config_subentry_id=held_subentry,
                )
