"""Sensors of a Flatpeak device: the next windows, the plan's totals, the tariff."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfEnergy, UnitOfPower
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .api import BatteryProperties, StructureType, TariffElement, TariffStatus
from .coordinator import (
    DeviceCoordinator,
    FlatpeakCoordinator,
    PriceCoordinator,
    ScheduleCoordinator,
    StatusCoordinator,
)
from .data import DeviceData, FlatpeakConfigEntry
from .devices import dispatch_device_info
from .dispatch import DispatchTarget, TargetKind
from .entity import (
    EXPORT_PRICE_EDGES,
    IMPORT_PRICE_EDGES,
    SESSION_ENDS,
    WINDOW_EDGES,
    AddLater,
    FlatpeakDeviceEntity,
    FlatpeakEntity,
    Moment,
    async_add_device_entities,
    unique_id,
)
from .schedule import ChargingPlan, PriceCurve, savings
from .soc import SYNC_STATUSES

# Entities only read coordinator data.
PARALLEL_UPDATES = 0

SCHEDULE_STATUSES = ["fresh", "cached", "expired"]
TARIFF_STATUSES = [status.lower() for status in TariffStatus]
STRUCTURE_TYPES = [structure.lower() for structure in StructureType]

type Value = StateType | datetime


@dataclass(frozen=True, kw_only=True)
class FlatpeakSensorDescription[C: FlatpeakCoordinator[Any]](SensorEntityDescription):
    """A sensor: the coordinator it reads, and how it computes its value from it."""

    source: Callable[[DeviceData], C | None]
    value_fn: Callable[[C, datetime], Value]
    # When the value moves without a new answer; () when only a new answer moves it.
    changes_at: tuple[Moment, ...]
    unit_fn: Callable[[C], str | None] | None = None
    # Known even without an answer (the schedule status is then `expired`).
    always_available: bool = False
    attributes_fn: Callable[[C], dict[str, Any] | None] | None = None


def _schedule(data: DeviceData) -> ScheduleCoordinator:
    return data.schedule


def _status(data: DeviceData) -> StatusCoordinator:
    return data.status


def _device(data: DeviceData) -> DeviceCoordinator:
    return data.device


def _retry_after(coordinator: FlatpeakCoordinator[Any]) -> dict[str, Any] | None:
    """Until when Flatpeak asked not to be called, while that is ahead."""
    deadline = coordinator.not_before
    return None if deadline is None else {"retry_after": dt_util.as_local(deadline).isoformat()}


def _plan(
    fn: Callable[[ChargingPlan, datetime], Value],
) -> Callable[[ScheduleCoordinator, datetime], Value]:
    """Adapt a function of the charging plan; no plan means no value."""

    def value(schedule: ScheduleCoordinator, now: datetime) -> Value:
        plan = schedule.plan
        return None if plan is None else fn(plan, now)

    return value


def _element(
    name: str, fn: Callable[[TariffElement], Value]
) -> Callable[[StatusCoordinator, datetime], Value]:
    """Adapt a function of one tariff element; an absent element has no value."""

    def value(status: StatusCoordinator, _now: datetime) -> Value:
        element = status.latest.elements.get(name) if status.latest else None
        return None if element is None else fn(element)

    return value


def _known(value: object, options: list[str]) -> str | None:
    """Lower-case an enum value for an enum sensor; values it does not know are unknown."""
    text = str(value).lower() if value is not None else None
    return text if text in options else None


def _currency(schedule: ScheduleCoordinator) -> str | None:
    return schedule.latest.currency_code if schedule.latest else None


def _per_kwh(currency: str | None) -> str | None:
    return f"{currency}/{UnitOfEnergy.KILO_WATT_HOUR}" if currency else None


def _price_unit(prices: PriceCoordinator) -> str | None:
    return _per_kwh(prices.latest.currency_code if prices.latest else None)


def _prices(
    fn: Callable[[PriceCurve, datetime], Value],
) -> Callable[[PriceCoordinator, datetime], Value]:
    """Adapt a function of the prices in one direction."""

    def value(prices: PriceCoordinator, now: datetime) -> Value:
        curve = prices.curve
        return None if curve is None else fn(curve, now)

    return value


def _next_price(curve: PriceCurve, now: datetime) -> float | None:
    change = curve.next_change(now)
    return change[1] if change else None


def _next_price_change(curve: PriceCurve, now: datetime) -> datetime | None:
    change = curve.next_change(now)
    return change[0] if change else None


def _next_start(plan: ChargingPlan, now: datetime) -> datetime | None:
    period = plan.next_period(now)
    return period.start if period else None


def _next_end(plan: ChargingPlan, now: datetime) -> datetime | None:
    period = plan.next_period(now)
    return period.end if period else None


def _current_power(plan: ChargingPlan, now: datetime) -> float | None:
    slot = plan.current_slot(now)
    return 0.0 if slot is None else slot.power_w


def _next_power(plan: ChargingPlan, now: datetime) -> float | None:
    period = plan.next_period(now)
    return period.slots[0].power_w if period else None


def _battery(
    fn: Callable[[BatteryProperties], float | None],
) -> Callable[[DeviceCoordinator, datetime], Value]:
    """Adapt a function of the device's battery; a device without one has no value."""

    def value(device: DeviceCoordinator, _now: datetime) -> Value:
        battery = device.latest.battery if device.latest else None
        return None if battery is None else fn(battery)

    return value


SENSORS: tuple[FlatpeakSensorDescription[Any], ...] = (
    FlatpeakSensorDescription(
        key="next_window_start",
        translation_key="next_window_start",
        device_class=SensorDeviceClass.TIMESTAMP,
        source=_schedule,
        value_fn=_plan(_next_start),
        changes_at=(WINDOW_EDGES,),
    ),
    FlatpeakSensorDescription(
        key="next_window_end",
        translation_key="next_window_end",
        device_class=SensorDeviceClass.TIMESTAMP,
        source=_schedule,
        value_fn=_plan(_next_end),
        changes_at=(WINDOW_EDGES,),
    ),
    FlatpeakSensorDescription(
        key="current_window_power",
        translation_key="current_window_power",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_unit_of_measurement=UnitOfPower.KILO_WATT,
        suggested_display_precision=1,
        source=_schedule,
        value_fn=_plan(_current_power),
        changes_at=(WINDOW_EDGES,),
    ),
    FlatpeakSensorDescription(
        key="next_window_power",
        translation_key="next_window_power",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_unit_of_measurement=UnitOfPower.KILO_WATT,
        suggested_display_precision=1,
        source=_schedule,
        value_fn=_plan(_next_power),
        changes_at=(WINDOW_EDGES,),
    ),
    FlatpeakSensorDescription(
        key="planned_energy",
        translation_key="planned_energy",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        source=_schedule,
        value_fn=_plan(lambda plan, now: plan.planned_energy_kwh(now)),
        changes_at=(SESSION_ENDS,),
    ),
    FlatpeakSensorDescription(
        key="planned_cost",
        translation_key="planned_cost",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        source=_schedule,
        value_fn=_plan(lambda plan, now: plan.planned_cost(now)),
        changes_at=(SESSION_ENDS,),
        unit_fn=_currency,
    ),
    FlatpeakSensorDescription(
        key="average_price",
        translation_key="average_price",
        suggested_display_precision=4,
        source=_schedule,
        value_fn=_plan(lambda plan, now: plan.average_price(now)),
        changes_at=(SESSION_ENDS,),
        unit_fn=lambda schedule: _per_kwh(_currency(schedule)),
    ),
    FlatpeakSensorDescription(
        key="schedule_status",
        translation_key="schedule_status",
        device_class=SensorDeviceClass.ENUM,
        options=SCHEDULE_STATUSES,
        source=_schedule,
        value_fn=lambda schedule, now: schedule.status(now),
        changes_at=(WINDOW_EDGES, SESSION_ENDS),
        always_available=True,
        attributes_fn=_retry_after,
    ),
    FlatpeakSensorDescription(
        key="last_schedule_update",
        translation_key="last_schedule_update",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        source=_schedule,
        value_fn=lambda schedule, _now: schedule.last_success_time,
        changes_at=(),
    ),
    *(
        FlatpeakSensorDescription(
            key=f"{element}_status",
            translation_key=f"{element}_status",
            device_class=SensorDeviceClass.ENUM,
            options=TARIFF_STATUSES,
            entity_registry_enabled_default=element.startswith("commodity"),
            source=_status,
            value_fn=_element(element, lambda e: _known(e.status, TARIFF_STATUSES)),
            changes_at=(),
        )
        for element in (
            "commodity_import",
            "commodity_export",
            "non_commodity_import",
            "non_commodity_export",
        )
    ),
    FlatpeakSensorDescription(
        key="tariff_name",
        translation_key="tariff_name",
        source=_status,
        value_fn=_element(
            "commodity_import", lambda e: e.tariff.display_name if e.tariff else None
        ),
        changes_at=(),
    ),
    FlatpeakSensorDescription(
        key="tariff_provider",
        translation_key="tariff_provider",
        source=_status,
        value_fn=_element(
            "commodity_import", lambda e: e.provider.display_name if e.provider else None
        ),
        changes_at=(),
    ),
    FlatpeakSensorDescription(
        key="tariff_structure",
        translation_key="tariff_structure",
        device_class=SensorDeviceClass.ENUM,
        options=STRUCTURE_TYPES,
        source=_status,
        value_fn=_element(
            "commodity_import",
            lambda e: _known(e.tariff.structure_type, STRUCTURE_TYPES) if e.tariff else None,
        ),
        changes_at=(),
    ),
    FlatpeakSensorDescription(
        key="contract_end",
        translation_key="contract_end",
        device_class=SensorDeviceClass.TIMESTAMP,
        source=_status,
        value_fn=_element(
            "commodity_import", lambda e: e.tariff.contract_end_date if e.tariff else None
        ),
        changes_at=(),
    ),
    FlatpeakSensorDescription(
        key="battery_capacity",
        translation_key="battery_capacity",
        device_class=SensorDeviceClass.ENERGY_STORAGE,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        entity_category=EntityCategory.DIAGNOSTIC,
        source=_device,
        value_fn=_battery(lambda b: b.capacity_kwh),
        changes_at=(),
    ),
    FlatpeakSensorDescription(
        key="charge_power",
        translation_key="charge_power",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        entity_category=EntityCategory.DIAGNOSTIC,
        source=_device,
        value_fn=_battery(lambda b: b.charge_power_kw),
        changes_at=(),
    ),
    FlatpeakSensorDescription(
        key="discharge_power",
        translation_key="discharge_power",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        entity_category=EntityCategory.DIAGNOSTIC,
        source=_device,
        value_fn=_battery(lambda b: b.discharge_power_kw),
        changes_at=(),
    ),
)


# Prices per kWh, so that the Energy dashboard accepts them as the price of energy.
IMPORT_PRICE_SENSORS: tuple[FlatpeakSensorDescription[Any], ...] = (
    FlatpeakSensorDescription(
        key="import_price",
        translation_key="import_price",
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=4,
        source=lambda data: data.import_prices,
        value_fn=_prices(lambda curve, now: curve.at(now)),
        changes_at=(IMPORT_PRICE_EDGES,),
        unit_fn=_price_unit,
    ),
    FlatpeakSensorDescription(
        key="next_import_price",
        translation_key="next_import_price",
        suggested_display_precision=4,
        source=lambda data: data.import_prices,
        value_fn=_prices(_next_price),
        changes_at=(IMPORT_PRICE_EDGES,),
        unit_fn=_price_unit,
    ),
    FlatpeakSensorDescription(
        key="next_import_price_change",
        translation_key="next_import_price_change",
        device_class=SensorDeviceClass.TIMESTAMP,
        source=lambda data: data.import_prices,
        value_fn=_prices(_next_price_change),
        changes_at=(IMPORT_PRICE_EDGES,),
    ),
)
EXPORT_PRICE_SENSORS: tuple[FlatpeakSensorDescription[Any], ...] = (
    FlatpeakSensorDescription(
        key="export_price",
        translation_key="export_price",
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=4,
        source=lambda data: data.export_prices,
        value_fn=_prices(lambda curve, now: curve.at(now)),
        changes_at=(EXPORT_PRICE_EDGES,),
        unit_fn=_price_unit,
    ),
)


SAVINGS = SensorEntityDescription(
    key="savings",
    translation_key="savings",
    device_class=SensorDeviceClass.MONETARY,
    suggested_display_precision=2,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: FlatpeakConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors of each Flatpeak device, and those of its dispatch when it has one."""

    def make(device: DeviceData, add_later: AddLater) -> list[SensorEntity]:
        descriptions = [*SENSORS, *IMPORT_PRICE_SENSORS]
        if device.export_prices is not None:
            descriptions += EXPORT_PRICE_SENSORS
        entities: list[SensorEntity] = [FlatpeakSensor(device, d) for d in descriptions]
        # Always there: a battery sensor linked later is followed in place.
        entities += [SavingsSensor(device), StateOfChargeSyncSensor(device)]
        _add_dispatch_sensors(entry, device, add_later)
        return entities

    async_add_device_entities(entry, async_add_entities, make)


class FlatpeakSensor[C: FlatpeakCoordinator[Any]](FlatpeakEntity[C], SensorEntity):
    """A value computed from one coordinator's answer."""

    entity_description: FlatpeakSensorDescription[C]

    def __init__(self, data: DeviceData, description: FlatpeakSensorDescription[C]) -> None:
        """Create the sensor."""
        coordinator = description.source(data)
        if coordinator is None:
            raise ValueError(f"{description.key} has nothing to read")
        super().__init__(data, coordinator, description, changes_at=description.changes_at)

    @property
    def available(self) -> bool:
        """Available with an answer to show, or always when the sensor says so."""
        return self.entity_description.always_available or super().available

    @property
    def native_value(self) -> Value:
        """Compute the value at this instant."""
        return self.entity_description.value_fn(self.coordinator, dt_util.utcnow())

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Extra attributes, for the sensors that have some."""
        if self.entity_description.attributes_fn is None:
            return None
        return self.entity_description.attributes_fn(self.coordinator)

    @property
    def native_unit_of_measurement(self) -> str | None:
        """The unit, which may depend on the answer's currency."""
        if self.entity_description.unit_fn is not None:
            return self.entity_description.unit_fn(self.coordinator)
        return super().native_unit_of_measurement


class SavingsSensor(FlatpeakEntity[ScheduleCoordinator], SensorEntity):
    """What the plan saves against charging the same energy from now on.

    It reads the plan, the import prices and the device's charge power.
    """

    def __init__(self, data: DeviceData) -> None:
        """Create the sensor on the schedule, following the import prices and device too."""
        super().__init__(
            data,
            data.schedule,
            SAVINGS,
            also_reads=(data.import_prices, data.device),
            changes_at=(SESSION_ENDS, IMPORT_PRICE_EDGES),
        )
        self.prices = data.import_prices
        self.device = data.device

    @property
    def native_value(self) -> Value:
        """Compute the savings at this instant."""
        plan, curve = self.coordinator.plan, self.prices.curve
        if plan is None or curve is None:
            return None
        battery = self.device.latest.battery if self.device.latest else None
        power = battery.charge_power_kw if battery else None
        if not power:
            highest = plan.highest_power_w
            power = highest / 1000 if highest else None
        return None if power is None else savings(plan, curve, dt_util.utcnow(), power)

    @property
    def native_unit_of_measurement(self) -> str | None:
        """The schedule's currency."""
        return _currency(self.coordinator)


class StateOfChargeSyncSensor(FlatpeakDeviceEntity, SensorEntity):
    """Whether Flatpeak knows the battery's state of charge, and what it was told."""

    _attr_device_class = SensorDeviceClass.ENUM
    _attr_options = SYNC_STATUSES
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    def __init__(self, data: DeviceData) -> None:
        """Create the sensor for the entry's state-of-charge link."""
        super().__init__(data, "state_of_charge_sync")
        self.link = data.soc

    async def async_added_to_hass(self) -> None:
        """Follow the link's status."""
        self.async_on_remove(self.link.async_add_listener(self.async_write_ha_state))

    @property
    def native_value(self) -> str:
        """The link's status."""
        return self.link.status

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """What was sent last, when, and the last error."""
        sent_at = self.link.sent_at
        return {
            "source": self.link.source,
            "sent_state_of_charge": self.link.sent_soc,
            "sent_target_state_of_charge": self.link.sent_target,
            "last_sent": sent_at.isoformat() if sent_at else None,
            "error": self.link.error,
        }


# The sensors of a dispatch: what every dispatch target tells.


@dataclass(frozen=True, kw_only=True)
class DispatchSensorDescription(SensorEntityDescription):
    """A sensor of a dispatch: its value and attributes at an instant."""

    value_fn: Callable[[DispatchTarget, datetime], Value]
    attributes_fn: Callable[[DispatchTarget, datetime], dict[str, Any]] | None = None


def _next_event(target: DispatchTarget, now: datetime) -> datetime | None:
    event = target.next_event(now)
    return event.starts_at if event else None


def _next_event_attributes(target: DispatchTarget, now: datetime) -> dict[str, Any]:
    event = target.next_event(now)
    if event is None:
        return {"event_id": None, "ends_at": None, "setpoint_w": None}
    return {
        "event_id": event.event_id,
        "ends_at": event.ends_at.isoformat(),
        "setpoint_w": event.setpoint_w,
    }


def dispatch_sensors(kind: TargetKind) -> tuple[DispatchSensorDescription, ...]:
    """Return the sensors of a kind of dispatch, keyed by the kind."""
    return (
        DispatchSensorDescription(
            key=f"{kind.key}_next_event",
            translation_key=f"{kind.key}_next_event",
            device_class=SensorDeviceClass.TIMESTAMP,
            value_fn=_next_event,
            attributes_fn=_next_event_attributes,
        ),
        DispatchSensorDescription(
            key=f"{kind.key}_dispatch_status",
            translation_key=f"{kind.key}_dispatch_status",
            device_class=SensorDeviceClass.ENUM,
            options=list(kind.statuses),
            value_fn=lambda target, now: target.status(now),
            attributes_fn=lambda target, now: target.status_attributes(now),
        ),
        DispatchSensorDescription(
            key=f"{kind.key}_dispatched_events",
            translation_key=f"{kind.key}_dispatched_events",
            state_class=SensorStateClass.MEASUREMENT,
            value_fn=lambda target, now: len(target.upcoming(now)),
        ),
    )


def _add_dispatch_sensors(
    entry: FlatpeakConfigEntry, device: DeviceData, add_later: AddLater
) -> None:
    """Add a device's dispatch sensors to the dispatch's subentry: now, or once it is added.

    Removing the dispatch removes them and their device: Home Assistant
    removes what belongs to a removed subentry. A changed dispatch keeps them.
    """
    added: set[str] = set()

    @callback
    def add_new() -> None:
        target, kind = device.dispatch.target, device.dispatch.kind
        if target is None or kind is None or target.subentry_id in added:
            return
        added.add(target.subentry_id)
        add_later(
            [DispatchSensor(device, kind, description) for description in dispatch_sensors(kind)],
            target.subentry_id,
        )

    add_new()
    entry.async_on_unload(device.dispatch.async_add_listener(add_new))


class DispatchSensor(SensorEntity):
    """A value of the dispatch, on its own device, written whenever the dispatch changes.

    Available while the dispatch runs, whatever the schedule's state: the
    target knows what it dispatched. A changed dispatch replaces the target,
    which the sensor reads from then on.
    """

    _attr_has_entity_name = True
    _attr_should_poll = False
    entity_description: DispatchSensorDescription

    def __init__(
        self, data: DeviceData, kind: TargetKind, description: DispatchSensorDescription
    ) -> None:
        """Create the sensor on the dispatch's own device."""
        self.entity_description = description
        self._dispatch = data.dispatch
        self._attr_unique_id = unique_id(data, description.key)
        self._attr_device_info = dispatch_device_info(
            data.device_id, data.name, kind, data.registry_device_id
        )

    async def async_added_to_hass(self) -> None:
        """Follow the dispatch."""
        self.async_on_remove(self._dispatch.async_add_listener(self.async_write_ha_state))

    @property
    def available(self) -> bool:
        """Available while the dispatch runs."""
        return self._dispatch.target is not None

    @property
    def native_value(self) -> Value:
        """Compute the value at this instant."""
        target = self._dispatch.target
        if target is None:
            return None
        return self.entity_description.value_fn(target, dt_util.utcnow())

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """What the value refers to, or why it is what it is."""
        target = self._dispatch.target
        if self.entity_description.attributes_fn is None or target is None:
            return None
        return self.entity_description.attributes_fn(target, dt_util.utcnow())
