"""The target state of charge that Flatpeak plans the charging towards."""

from __future__ import annotations

from homeassistant.components.number import NumberMode, RestoreNumber
from homeassistant.const import PERCENTAGE, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import DeviceData, FlatpeakConfigEntry
from .entity import FlatpeakDeviceEntity, async_add_device_entities

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: FlatpeakConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the target state of charge of each Flatpeak device."""
    async_add_device_entities(
        entry, async_add_entities, lambda device, _: [TargetStateOfChargeNumber(device)]
    )


class TargetStateOfChargeNumber(FlatpeakDeviceEntity, RestoreNumber):
    """The state of charge the battery should reach; kept across restarts.

    A new value is sent to Flatpeak with the battery's state of charge (when
    one is known), and the schedule is planned again.
    """

    _attr_native_min_value = 0
    _attr_native_max_value = 100
    _attr_native_step = 1
    _attr_native_unit_of_measurement = PERCENTAGE
    _attr_mode = NumberMode.SLIDER
    _attr_entity_category = EntityCategory.CONFIG

    def __init__(self, data: DeviceData) -> None:
        """Create the number for the entry's state-of-charge link."""
        super().__init__(data, "target_state_of_charge")
        self.link = data.soc

    async def async_added_to_hass(self) -> None:
        """Restore the last target, and follow targets set by the action."""
        await super().async_added_to_hass()
        last = await self.async_get_last_number_data()
        if last is not None and last.native_value is not None:
            self.link.set_target(last.native_value)
        self.async_on_remove(self.link.async_add_listener(self.async_write_ha_state))

    @property
    def native_value(self) -> float:
        """The target held by the link."""
        return self.link.target

    async def async_set_native_value(self, value: float) -> None:
        """Take a new target; it is sent with the next state of charge."""
        self.link.set_target(value)
        self.async_write_ha_state()
