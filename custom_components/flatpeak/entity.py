"""The bases of every Flatpeak entity: one that follows a coordinator, one that does not."""

from __future__ import annotations

from typing import Any

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity
from homeassistant.util import dt as dt_util

from . import devices
from .coordinator import FlatpeakCoordinator
from .data import FlatpeakData
from .listeners import LATER


def device_info(data: FlatpeakData) -> DeviceInfo:
    """Return the Home Assistant device of a Flatpeak device.

    Setup makes sure the device is known (fetched, or from the cache).
    """
    return devices.device_info(data.device.config_entry, data.device.latest)


def unique_id(data: FlatpeakData, key: str) -> str:
    """Return the unique ID of an entity of the entry's device."""
    return f"{data.device.config_entry.unique_id}_{key}"


class FlatpeakEntity[C: FlatpeakCoordinator[Any]](CoordinatorEntity[C]):
    """An entity of one Flatpeak device, fed by one of its coordinators.

    It stays available while its coordinator holds a usable answer, fresh
    or cached: a schedule fetched before an outage still says when to charge,
    while a tariff status is shown for a few hours only (see `stale_after`).

    Told of a new answer or a boundary, it writes its state only when what it
    shows (`shown`) has changed: at a window's edge most entities stay as they
    are, and the ones that switch must not wait behind them.
    """

    _attr_has_entity_name = True
    # When the entity hears of a boundary (see listeners.py).
    boundary_stage = LATER
    _written: tuple[object, ...] | None = None

    def __init__(self, data: FlatpeakData, coordinator: C, description: EntityDescription) -> None:
        """Attach the entity to the coordinator it reads from."""
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = unique_id(data, description.key)
        self._attr_device_info = device_info(data)

    @property
    def available(self) -> bool:
        """Available while there is an answer worth showing."""
        return self.coordinator.usable(dt_util.utcnow())

    def shown(self) -> tuple[object, ...]:
        """Return what the state shows besides availability: value, unit, attributes.

        By default something new each time: the state is written at every update.
        """
        return (object(),)

    def _showing(self) -> tuple[object, ...]:
        available = self.available
        return (available, *self.shown()) if available else (available,)

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state if what it shows has changed."""
        if (showing := self._showing()) != self._written:
            self._write(showing)

    @callback
    def async_write_ha_state(self) -> None:
        """Write the state, and remember what it shows."""
        self._write(self._showing())

    @callback
    def _write(self, showing: tuple[object, ...]) -> None:
        self._written = showing
        super().async_write_ha_state()


class FlatpeakDeviceEntity(Entity):
    """An entity of one Flatpeak device that follows something else than a coordinator."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, data: FlatpeakData, key: str) -> None:
        """Attach the entity to the entry's device."""
        self._attr_translation_key = key
        self._attr_unique_id = unique_id(data, key)
        self._attr_device_info = device_info(data)
