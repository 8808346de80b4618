"""The Home Assistant devices of an entry: the Flatpeak device, and its dispatch.

Since Home Assistant 2026.8 a device belongs to one config entry and at most one
subentry. The dispatch's entities belong to its subentry, so they sit on a
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
from .dispatch import TargetKind


def flatpeak_identifier(entry: ConfigEntry) -> tuple[str, str]:
    """Return the registry identifier of the entry's Flatpeak device."""
    return (DOMAIN, entry.data[CONF_DEVICE_ID])


def dispatch_identifier(entry: ConfigEntry, kind: TargetKind) -> tuple[str, str]:
    """Return the registry identifier of the entry's dispatch device."""
    return (DOMAIN, f"{entry.data[CONF_DEVICE_ID]}_{kind.subentry_type}")


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


# Since 2026.x a device links to its parent by registry ID; `via_device`, an
# identifier, is deprecated there and the only way before.
LINK_BY_ID = "via_device_id" in DeviceInfo.__annotations__


def dispatch_device_info(
    entry: ConfigEntry, kind: TargetKind, flatpeak_device_id: str
) -> DeviceInfo:
    """Return the device of the entry's dispatch: a service for the Flatpeak device."""
    info = DeviceInfo(
        identifiers={dispatch_identifier(entry, kind)},
        name=f"{entry.title} {kind.title}",
        manufacturer=kind.manufacturer,
        model=kind.model,
        entry_type=DeviceEntryType.SERVICE,
    )
    link: dict[str, Any] = (
        {"via_device_id": flatpeak_device_id}
        if LINK_BY_ID
        else {"via_device": flatpeak_identifier(entry)}
    )
    info.update(link)  # type: ignore[typeddict-item]
    return info


# Since 2026.8 a device has one `config_subentry_id`; before, a set per config entry.
SINGLE_OWNER = "config_subentry_id"


def _subentries(device: dr.DeviceEntry, entry_id: str) -> set[str | None]:
    """Return the subentries of the entry that own a device, on any Home Assistant version."""
    if hasattr(device, SINGLE_OWNER):
        return {getattr(device, SINGLE_OWNER)}
    return set(device.config_entries_subentries.get(entry_id, set()))


@callback
def async_register_flatpeak_device(
    hass: HomeAssistant, entry: ConfigEntry, device: Device | None
) -> str:
    """Register the entry's Flatpeak device in the main entry, and return its registry ID.

    Run before the platforms, so that the dispatch device can link to it.
    Versions before 0.2 put the Flip dispatch's entities on the Flatpeak device
    under the Flip subentry, which adds (before 2026.8) or moves (since) the
    device into that subentry: it is given back to the main entry here, which
    leaves nothing for Home Assistant to move or warn about.
    """
    registry = dr.async_get(hass)
    identifier = flatpeak_identifier(entry)
    known = next(
        (
            item
            for item in dr.async_entries_for_config_entry(registry, entry.entry_id)
            if identifier in item.identifiers
        ),
        None,
    )
    if known is not None and (wrong := _subentries(known, entry.entry_id) - {None}):
        LOGGER.info("Moving the device of %s out of its Flip dispatch", entry.title)
        if hasattr(known, SINGLE_OWNER):
            updater: Any = registry.async_update_device  # new_config_subentry_id: 2026.8
            updater(known.id, new_config_subentry_id=None)
        else:
            # Add the main entry first, so that the device always has an owner.
            registry.async_update_device(
                known.id, add_config_entry_id=entry.entry_id, add_config_subentry_id=None
            )
            for subentry_id in wrong:
                registry.async_update_device(
                    known.id,
                    remove_config_entry_id=entry.entry_id,
                    remove_config_subentry_id=subentry_id,
                )
    return registry.async_get_or_create(
        config_entry_id=entry.entry_id, **device_info(entry, device)
    ).id
