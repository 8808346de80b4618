"""Sensors of a Flip dispatch: the next event, the status, how many events are to come."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.core import callback
from homeassistant.helpers.entity_platform import (
    AddConfigEntryEntitiesCallback,
    AddEntitiesCallback,
)
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .data import FlatpeakConfigEntry, FlatpeakData
from .devices import flip_device_info
from .dispatcher import STATUSES, FlipDispatcher
from .entity import unique_id

type Value = StateType | datetime


@dataclass(frozen=True, kw_only=True)
class FlipSensorDescription(SensorEntityDescription):
    """A sensor of the dispatch: its value and attributes at an instant."""

    value_fn: Callable[[FlipDispatcher, datetime], Value]
    attributes_fn: Callable[[FlipDispatcher, datetime], dict[str, Any]] | None = None


def _next_event(dispatcher: FlipDispatcher, now: datetime) -> datetime | None:
    item = dispatcher.next_event(now)
    return item.key.starts_at if item else None


def _next_event_attributes(dispatcher: FlipDispatcher, now: datetime) -> dict[str, Any]:
    item = dispatcher.next_event(now)
    if item is None:
        return {"event_id": None, "ends_at": None, "setpoint_w": None}
    return {
        "event_id": item.event_id,
        "ends_at": item.key.ends_at.isoformat(),
        "setpoint_w": item.key.setpoint_w,
    }


def _status_attributes(dispatcher: FlipDispatcher, _now: datetime) -> dict[str, Any]:
    # Why it is in error, only while it is.
    error = (
        {"reason": dispatcher.error, "detail": dispatcher.error_detail}
        if dispatcher.error is not None
        else {}
    )
    return {
        **error,
        "automatic": dispatcher.settings.auto_dispatch,
        "skipped": [
            {"start": item.start.isoformat(), "end": item.end.isoformat(), "reason": item.reason}
            for item in dispatcher.skipped
        ],
    }


FLIP_SENSORS: tuple[FlipSensorDescription, ...] = (
    FlipSensorDescription(
        key="flip_next_event",
        translation_key="flip_next_event",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_next_event,
        attributes_fn=_next_event_attributes,
    ),
    FlipSensorDescription(
        key="flip_dispatch_status",
        translation_key="flip_dispatch_status",
        device_class=SensorDeviceClass.ENUM,
        options=STATUSES,
        value_fn=lambda dispatcher, now: dispatcher.status(now),
        attributes_fn=_status_attributes,
    ),
    FlipSensorDescription(
        key="flip_dispatched_events",
        translation_key="flip_dispatched_events",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda dispatcher, now: len(dispatcher.upcoming(now)),
    ),
)


def async_add_dispatch_sensors(
    entry: FlatpeakConfigEntry, async_add_entities: AddEntitiesCallback
) -> None:
    """Add the dispatch's sensors to its subentry: now if there is one, else once it is added.

    Removing the dispatch removes them and their device: Home Assistant
    removes what belongs to a removed subentry. A changed dispatch keeps them.
    """
    data = entry.runtime_data
    # Home Assistant passes config entry platforms a callback that takes a subentry.
    add = cast(AddConfigEntryEntitiesCallback, async_add_entities)
    added: set[str] = set()

    @callback
    def add_new() -> None:
        dispatcher = data.dispatcher
        if dispatcher is None or dispatcher.subentry_id in added:
            return
        added.add(dispatcher.subentry_id)
        add(
            [FlipSensor(data, description) for description in FLIP_SENSORS],
            config_subentry_id=dispatcher.subentry_id,
        )

    add_new()
    entry.async_on_unload(data.dispatch.async_add_listener(add_new))


class FlipSensor(SensorEntity):
    """A value of the Flip dispatch, on its own device, written whenever the dispatch changes.

    Available while the dispatch has a dispatcher, whatever the schedule's
    state: the dispatcher knows what it dispatched. A changed dispatch
    replaces the dispatcher, which the sensor reads from then on.
    """

    _attr_has_entity_name = True
    _attr_should_poll = False
    entity_description: FlipSensorDescription

    def __init__(self, data: FlatpeakData, description: FlipSensorDescription) -> None:
        """Create the sensor on the dispatch's own device."""
        self.entity_description = description
        self._dispatch = data.dispatch
        self._attr_unique_id = unique_id(data, description.key)
        self._attr_device_info = flip_device_info(data.device.config_entry, data.registry_device_id)

    async def async_added_to_hass(self) -> None:
        """Follow the dispatch."""
        self.async_on_remove(self._dispatch.async_add_listener(self.async_write_ha_state))

    @property
    def available(self) -> bool:
        """Available while the dispatch has a dispatcher."""
        return self._dispatch.dispatcher is not None

    @property
    def native_value(self) -> Value:
        """Compute the value at this instant."""
        dispatcher = self._dispatch.dispatcher
        if dispatcher is None:
            return None
        return self.entity_description.value_fn(dispatcher, dt_util.utcnow())

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The event ID of the next event; the reason of an error and the skipped windows."""
        dispatcher = self._dispatch.dispatcher
        if self.entity_description.attributes_fn is None or dispatcher is None:
            return None
        return self.entity_description.attributes_fn(dispatcher, dt_util.utcnow())
