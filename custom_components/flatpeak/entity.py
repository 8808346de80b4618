"""The base of every Flatpeak entity."""

from __future__ import annotations

from typing import Literal

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity
from homeassistant.util import dt as dt_util

from . import devices
from .coordinator import FlatpeakCoordinator
from .data import FlatpeakData

type Source = Literal["device", "status", "schedule", "import_prices", "export_prices"]


def device_info(data: FlatpeakData) -> DeviceInfo:
    """Return the Home Assistant device of a Flatpeak device.

    Setup makes sure the device is known (fetched, or from the cache).
    """
    return devices.device_info(data.device.config_entry, data.device.latest)


class FlatpeakEntity(CoordinatorEntity[FlatpeakCoordinator]):  # type: ignore[type-arg]
    """An entity of one Flatpeak device, fed by one of its coordinators.

    It stays available while its coordinator holds a usable answer, fresh
    or cached: a schedule fetched before an outage still says when to charge,
    while a tariff status is shown for a few hours only (see `stale_after`).
    """

    _attr_has_entity_name = True

    def __init__(self, data: FlatpeakData, source: Source, description: EntityDescription) -> None:
        """Attach the entity to the coordinator it reads from."""
        super().__init__(getattr(data, source))
        self.entity_description = description
        self.runtime = data
        self._attr_unique_id = f"{self.coordinator.config_entry.unique_id}_{description.key}"
        self._attr_device_info = device_info(data)

    @property
    def available(self) -> bool:
        """Available while there is an answer worth showing."""
        return self.coordinator.usable(dt_util.utcnow())
