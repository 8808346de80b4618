"""Binary sensors of a Flatpeak device: whether it is time to charge, and more."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .api import TariffStatus
from .coordinator import (
    DeviceCoordinator,
    FlatpeakCoordinator,
    ScheduleCoordinator,
    StatusCoordinator,
)
from .data import DeviceData, FlatpeakConfigEntry
from .entity import LEAD_STARTS, WINDOW_EDGES, FlatpeakEntity, Moment, async_add_device_entities
from .schedule import ActivePeriod

# Entities only read coordinator data.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class FlatpeakBinarySensorDescription[C: FlatpeakCoordinator[Any]](BinarySensorEntityDescription):
    """A binary sensor: the coordinator it reads, and how it decides from it."""

    source: Callable[[DeviceData], C]
    is_on_fn: Callable[[C, datetime], bool | None]
    # When the state moves without a new answer; () when only a new answer moves it.
    changes_at: tuple[Moment, ...]
    # Automations switch devices on it: written after the device's other entities.
    triggers: bool = False
    attributes_fn: Callable[[C, datetime], Mapping[str, Any]] | None = None


def _period_attributes(period: ActivePeriod | None) -> dict[str, Any]:
    return {
        "window_start": period.start if period else None,
        "window_end": period.end if period else None,
    }


def _charging(schedule: ScheduleCoordinator, now: datetime) -> bool | None:
    plan = schedule.plan
    return None if plan is None else plan.active_period(now) is not None


def _charging_attributes(schedule: ScheduleCoordinator, now: datetime) -> Mapping[str, Any]:
    plan = schedule.plan
    return _period_attributes(plan.active_period(now) if plan else None)


def _starting_soon(schedule: ScheduleCoordinator, now: datetime) -> bool | None:
    plan = schedule.plan
    if plan is None:
        return None
    return plan.starting_within(now, schedule.lead_time) is not None


def _starting_soon_attributes(schedule: ScheduleCoordinator, now: datetime) -> Mapping[str, Any]:
    plan = schedule.plan
    return _period_attributes(plan.next_period(now) if plan else None)


def _vpp_event(schedule: ScheduleCoordinator, now: datetime) -> bool | None:
    plan = schedule.plan
    if plan is None:
        return None
    slot = plan.current_slot(now)
    return slot is not None and slot.vpp_event


def _import_connected(status: StatusCoordinator, _now: datetime) -> bool | None:
    latest = status.latest
    if latest is None:
        return None
    element = latest.commodity_import
    return element is not None and element.status == TariffStatus.CONNECTED


def _control_consent(device: DeviceCoordinator, _now: datetime) -> bool | None:
    latest = device.latest
    return latest.consents.control if latest and latest.consents else None


def _schedule(data: DeviceData) -> ScheduleCoordinator:
    return data.schedule


BINARY_SENSORS: tuple[FlatpeakBinarySensorDescription[Any], ...] = (
    FlatpeakBinarySensorDescription(
        key="charging_window",
        translation_key="charging_window",
        source=_schedule,
        is_on_fn=_charging,
        attributes_fn=_charging_attributes,
        changes_at=(WINDOW_EDGES,),
        triggers=True,
    ),
    FlatpeakBinarySensorDescription(
        key="charging_window_soon",
        translation_key="charging_window_soon",
        source=_schedule,
        is_on_fn=_starting_soon,
        attributes_fn=_starting_soon_attributes,
        changes_at=(WINDOW_EDGES, LEAD_STARTS),
        triggers=True,
    ),
    FlatpeakBinarySensorDescription(
        key="vpp_event",
        translation_key="vpp_event",
        source=_schedule,
        is_on_fn=_vpp_event,
        changes_at=(WINDOW_EDGES,),
        triggers=True,
    ),
    FlatpeakBinarySensorDescription(
        key="import_tariff_connected",
        translation_key="import_tariff_connected",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        source=lambda data: data.status,
        is_on_fn=_import_connected,
        changes_at=(),
    ),
    FlatpeakBinarySensorDescription(
        key="control_consent",
        translation_key="control_consent",
        entity_category=EntityCategory.DIAGNOSTIC,
        source=lambda data: data.device,
        is_on_fn=_control_consent,
        changes_at=(),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: FlatpeakConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the binary sensors of each Flatpeak device."""
    async_add_device_entities(
        entry,
        async_add_entities,
        lambda device, _: [FlatpeakBinarySensor(device, d) for d in BINARY_SENSORS],
    )


class FlatpeakBinarySensor[C: FlatpeakCoordinator[Any]](FlatpeakEntity[C], BinarySensorEntity):
    """An on/off state computed from one coordinator's answer."""

    entity_description: FlatpeakBinarySensorDescription[C]

    def __init__(self, data: DeviceData, description: FlatpeakBinarySensorDescription[C]) -> None:
        """Create the binary sensor."""
        super().__init__(
            data,
            description.source(data),
            description,
            changes_at=description.changes_at,
            triggers=description.triggers,
        )

    @property
    def is_on(self) -> bool | None:
        """Decide at this instant."""
        return self.entity_description.is_on_fn(self.coordinator, dt_util.utcnow())

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """The window the state refers to, where there is one."""
        if self.entity_description.attributes_fn is None:
            return None
        return self.entity_description.attributes_fn(self.coordinator, dt_util.utcnow())
