"""The bases of every Flatpeak entity, and the instants at which their values move."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from . import devices
from .coordinator import FlatpeakCoordinator, PriceCoordinator
from .data import DeviceData, FlatpeakConfigEntry
from .writer import NextInstant


@dataclass(frozen=True, slots=True)
class Moment:
    """A kind of instant at which an entity's value moves without a new answer.

    Each entity declares its moments; the device's writer wakes at the next of
    them, so that a value that moves with time is written when it moves.
    """

    name: str
    # The device's function that gives the next such instant after a moment.
    of: Callable[[DeviceData], NextInstant]


def _never(_now: datetime) -> datetime | None:
    return None


def _price_edges(prices: PriceCoordinator | None) -> NextInstant:
    return _never if prices is None else prices.next_price_edge


WINDOW_EDGES = Moment(
    "a charging window starts or ends", lambda data: data.schedule.next_window_edge
)
LEAD_STARTS = Moment(
    "a charging window comes within the lead time", lambda data: data.schedule.next_lead_start
)
SESSION_ENDS = Moment("a charging session ends", lambda data: data.schedule.next_session_end)
IMPORT_PRICE_EDGES = Moment(
    "an import price starts or ends", lambda data: _price_edges(data.import_prices)
)
EXPORT_PRICE_EDGES = Moment(
    "an export price starts or ends", lambda data: _price_edges(data.export_prices)
)


# Adds more of a device's entities, to a subentry.
type AddLater = Callable[[list[Entity], str], None]


@callback
def async_add_device_entities(
    entry: FlatpeakConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    make: Callable[[DeviceData, AddLater], Iterable[Entity]],
) -> None:
    """Add each device's entities to its subentry: now, and for each device added later.

    `make` may add more of the device's entities later (its dispatch's, to
    the dispatch's subentry) with the `AddLater` it is given. A device that
    restarts (at another location) has all its entities removed first; they
    come back with it, with their IDs.
    """
    made: dict[str, list[Entity]] = {}

    @callback
    def add(device: DeviceData) -> None:
        def add_later(entities: list[Entity], subentry_id: str) -> None:
            made[device.subentry_id].extend(entities)
            async_add_entities(entities, config_subentry_id=subentry_id)

        made[device.subentry_id] = []
        add_later(list(make(device, add_later)), device.subentry_id)

    async def remove(device: DeviceData) -> None:
        for entity in made.pop(device.subentry_id, []):
            if entity.hass is not None:  # (those disabled in the registry were never added)
                await entity.async_remove()

    account = entry.runtime_data
    entry.async_on_unload(account.async_for_each_device(add))
    entry.async_on_unload(account.async_on_restart(remove))


def device_info(data: DeviceData) -> DeviceInfo:
    """Return the Home Assistant device of a Flatpeak device, as far as it is known."""
    return devices.device_info(data.device_id, data.name, data.device.latest)


def unique_id(data: DeviceData, key: str) -> str:
    """Return the unique ID of an entity of a Flatpeak device."""
    return f"{data.device_id}_{key}"


class FlatpeakEntity[C: FlatpeakCoordinator[Any]](Entity):
    """An entity of one Flatpeak device that shows what one of its coordinators holds.

    The device's writer writes it after each new answer it reads, and at each
    of its moments. It stays available while its coordinator holds a usable
    answer, fresh or cached: a schedule fetched before an outage still says
    when to charge, while a tariff status is shown for a few hours only (see
    `stale_after`).
    """

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(
        self,
        data: DeviceData,
        coordinator: C,
        description: EntityDescription,
        *,
        changes_at: Iterable[Moment],
        also_reads: Iterable[FlatpeakCoordinator[Any]] = (),
        triggers: bool = False,
    ) -> None:
        """Attach the entity to the coordinators it reads and the moments it moves at.

        `triggers`: automations are triggered by it, so that it is written
        after the device's other entities, whose new values they read.
        """
        self.coordinator = coordinator
        self.entity_description = description
        self.reads: tuple[FlatpeakCoordinator[Any], ...] = (coordinator, *also_reads)
        self.changes_at = tuple(moment.of(data) for moment in changes_at)
        self.triggers = triggers
        self._writer = data.writer
        self._attr_unique_id = unique_id(data, description.key)
        self._attr_device_info = device_info(data)

    async def async_added_to_hass(self) -> None:
        """Be written by the device's writer from now on."""
        await super().async_added_to_hass()
        self.async_on_remove(self._writer.add(self))

    @callback
    def handle_update(self) -> None:
        """Write the state: an answer it reads is new, or one of its moments has come."""
        self.async_write_ha_state()

    @property
    def available(self) -> bool:
        """Available while there is an answer worth showing."""
        return self.coordinator.usable(dt_util.utcnow())

    async def async_update(self) -> None:
        """Ask for a new answer (the `homeassistant.update_entity` action)."""
        await self.coordinator.async_request_refresh()


class FlatpeakDeviceEntity(Entity):
    """An entity of one Flatpeak device that follows something else than a coordinator."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, data: DeviceData, key: str) -> None:
        """Attach the entity to its Flatpeak device."""
        self._attr_translation_key = key
        self._attr_unique_id = unique_id(data, key)
        self._attr_device_info = device_info(data)
