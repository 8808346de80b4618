"""The Home Assistant devices of an entry: the Flatpeak device, and its Flip dispatch.

Since Home Assistant 2026.8 a device belongs to one config entry and at most one
subentry. The Flip dispatch's entities belong to its subentry, so they sit on a
device of their own, linked to the Flatpeak device through `via_device`.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo

from .api import Device
from .const import CONF_DEVICE_ID, DOMAIN, LOGGER


def flatpeak_identifier(entry: ConfigEntry) -> tuple[str, str]:
    """Return the registry identifier of the entry's Flatpeak device."""
    return (DOMAIN, entry.data[CONF_DEVICE_ID])


def flip_identifier(entry: ConfigEntry) -> tuple[str, str]:
    """Return the registry identifier of the entry's Flip dispatch device."""
    return (DOMAIN, f"{entry.data[CONF_DEVICE_ID]}_flip_dispatch")


def device_info(entry: ConfigEntry, device: Device | None) -> DeviceInfo:
    """Return the Home Assistant device of a Flatpeak device, as far as it is known."""
    return DeviceInfo(
        identifiers={flatpeak_identifier(entry)},
        name=entry.title,
        manufacturer=(device.manufacturer if device else None) or "Flatpeak",
        model=device.model_name if device else None,
        model_id=device.model_code if device else None,
        serial_number=entry.data[CONF_DEVICE_ID],
    )


def flip_device_info(entry: ConfigEntry) -> DeviceInfo:
    """Return the device of the entry's Flip dispatch: a service for the Flatpeak device."""
    return DeviceInfo(
        identifiers={flip_identifier(entry)},
        name=f"{entry.title} Flip dispatch",
        manufacturer="Flip",
        model="Utility API dispatch",
        entry_type=DeviceEntryType.SERVICE,
        via_device=flatpeak_identifier(entry),
    )


# Since 2026.8 a device has one `config_subentry_id`; before, a set per config entry.
SINGLE_OWNER = "config_subentry_id"


def _subentries(device: dr.DeviceEntry, entry_id: str) -> set[str | None]:
    """Return the subentries of the entry that own a device, on any Home Assistant version."""
    if hasattr(device, SINGLE_OWNER):
        return {getattr(device, SINGLE_OWNER)}
    return set(device.config_entries_subentries.get(entry_id, set()))


@callback
def async_own_flatpeak_device(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Give the Flatpeak device back to the main entry, out of any subentry.

    Versions before 0.2 put the Flip dispatch's entities on the Flatpeak device
    under the Flip subentry, which adds (before 2026.8) or moves (since) the
    device into that subentry. Run before the platforms, it leaves nothing for
    Home Assistant to move or warn about.
    """
    registry = dr.async_get(hass)
    identifier = flatpeak_identifier(entry)
    device = next(
        (
            item
            for item in dr.async_entries_for_config_entry(registry, entry.entry_id)
            if identifier in item.identifiers
        ),
        None,
    )
    if device is None:
        return
    wrong = _subentries(device, entry.entry_id) - {None}
    if not wrong:
        return
    LOGGER.info("Moving the device of %s out of its Flip dispatch", entry.title)
    if hasattr(device, SINGLE_OWNER):
        updater: Any = registry.async_update_device  # new_config_subentry_id: 2026.8
        updater(device.id, new_config_subentry_id=None)
        return
    # Before 2026.8: add the main entry first, so that the device always has an owner.
    registry.async_update_device(
        device.id, add_config_entry_id=entry.entry_id, add_config_subentry_id=None
    )
    for subentry_id in wrong:
        registry.async_update_device(
            device.id, remove_config_entry_id=entry.entry_id, remove_config_subentry_id=subentry_id
        )
