"""Typed, frozen models of what the Flatpeak API returns.

Each model has a `from_json` class method that reads a decoded JSON document
tolerantly (see `_parse.Reader`). All timestamps are aware UTC datetimes,
energies are in Wh and powers in W, whatever units the document used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from operator import attrgetter
import re
from typing import Any, Self

from ._parse import ENERGY_UNITS_WH, POWER_UNITS_W, Reader, clean_token, describe


class TariffStatus(StrEnum):
    """Connection status of one tariff element of a location."""

    CONNECTED = "CONNECTED"
    NOT_CONNECTED = "NOT_CONNECTED"
    ERROR = "ERROR"
    NOT_SUPPORTED = "NOT_SUPPORTED"


class ConnectionType(StrEnum):
    """How a tariff was connected to Flatpeak."""

    DIRECT = "DIRECT"
    MANUAL = "MANUAL"


class StructureType(StrEnum):
    """How a tariff's price is structured."""

    FIXED = "FIXED"
    TIME_OF_DAY = "TIME_OF_DAY"
    MARKET = "MARKET"
    DYNAMIC = "DYNAMIC"


class DeviceType(StrEnum):
    """Kind of device registered with Flatpeak."""

    EV_CHARGER = "EV_CHARGER"
    ELECTRIC_VEHICLE = "ELECTRIC_VEHICLE"
    BATTERY_SYSTEM = "BATTERY_SYSTEM"
    PV_SYSTEM = "PV_SYSTEM"
    OTHER = "OTHER"


class TariffDirection(StrEnum):
    """Direction of energy flow a tariff applies to."""

    IMPORT = "IMPORT"
    EXPORT = "EXPORT"
    LOCAL = "LOCAL"


# What a bearer token may hold: visible ASCII, as a header value allows,
# and a sane length (real ones are under 2 kB).
BEARER_TOKEN = re.compile(r"[\x21-\x7e]{1,8192}")

TARIFF_ELEMENTS = (
    "commodity_import",
    "commodity_export",
    "non_commodity_import",
    "non_commodity_export",
    "local",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Token:
    """A bearer token and how long it stays valid."""

    bearer_token: str
    expires_in: float
    live_mode: bool

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Read a `GET /login` answer."""
        doc = Reader(data)
        expires_in = doc.number("expires_in")
        if expires_in <= 0:
            raise doc.error("expires_in", "expected a positive number of seconds")
        bearer_token = doc.string("bearer_token")
        if not BEARER_TOKEN.fullmatch(bearer_token):
            # It goes into a header: a line break there would be refused by
            # aiohttp at the next request, or inject a header. Not quoted.
            raise doc.error("bearer_token", "expected a token of printable ASCII characters")
        return cls(
            bearer_token=bearer_token,
            expires_in=expires_in,
            live_mode=doc.boolean("live_mode", default=False),
        )

    def __repr__(self) -> str:
        """Never show the token itself."""
        return f"Token(expires_in={self.expires_in}, live_mode={self.live_mode})"


# Locations


@dataclass(frozen=True, slots=True, kw_only=True)
class Provider:
    """The energy supplier behind a tariff element."""

    id: str | None
    display_name: str | None
    logo_url: str | None

    @classmethod
    def from_reader(cls, doc: Reader) -> Self:
        """Read a provider object."""
        return cls(
            id=doc.opt_identifier("id"),
            display_name=doc.opt_string("display_name"),
            logo_url=doc.opt_string("logo_url"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Tariff:
    """The tariff of a tariff element."""

    id: str | None
    display_name: str | None
    structure_type: StructureType | str | None
    contract_end_date: datetime | None

    @classmethod
    def from_reader(cls, doc: Reader) -> Self:
        """Read a tariff object."""
        return cls(
            id=doc.opt_identifier("id"),
            display_name=doc.opt_string("display_name"),
            structure_type=doc.opt_enum("structure_type", StructureType),
            contract_end_date=doc.opt_timestamp("contract_end_date"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class TariffElement:
    """Status of one tariff element (for example the commodity import)."""

    status: TariffStatus | str
    connection_type: ConnectionType | str | None
    provider: Provider | None
    tariff: Tariff | None

    @classmethod
    def from_reader(cls, doc: Reader) -> Self:
        """Read a tariff element; only `status` is always present."""
        provider = doc.opt_obj("provider")
        tariff = doc.opt_obj("tariff")
        return cls(
            status=doc.enum("status", TariffStatus),
            connection_type=doc.opt_enum("connection_type", ConnectionType),
            provider=Provider.from_reader(provider) if provider else None,
            tariff=Tariff.from_reader(tariff) if tariff else None,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationStatus:
    """Tariff connection status of a location (`GET /locations/{id}/status`)."""

    id: str
    live_mode: bool
    time_created: datetime | None
    elements: dict[str, TariffElement]
    source: Any = field(default=None, repr=False, compare=False)
    """The document this was read from, for a cache to store as it came."""

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Read a location status; elements not in the answer are left out."""
        doc = Reader(data)
        statuses = doc.obj("tariff_status")
        elements = {}
        for name in TARIFF_ELEMENTS:
            element = statuses.opt_obj(name)
            if element is not None:
                elements[name] = TariffElement.from_reader(element)
        return cls(
            source=data,
            id=doc.identifier("id"),
            live_mode=doc.boolean("live_mode", default=False),
            time_created=doc.opt_timestamp("time_created"),
            elements=elements,
        )

    @property
    def commodity_import(self) -> TariffElement | None:
        """The element for energy bought from the grid."""
        return self.elements.get("commodity_import")

    @property
    def commodity_export(self) -> TariffElement | None:
        """The element for energy sold to the grid."""
        return self.elements.get("commodity_export")


# Devices


@dataclass(frozen=True, slots=True, kw_only=True)
class BatteryProperties:
    """Battery characteristics of a device."""

    capacity_kwh: float | None
    power_kw: float | None
    charge_power_kw: float | None
    discharge_power_kw: float | None
    round_trip_efficiency: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class EvChargerProperties:
    """EV charger characteristics of a device."""

    max_power_kw: float | None
    min_power_kw: float | None
    phases: int | None
    v2g_capable: bool | None


@dataclass(frozen=True, slots=True, kw_only=True)
class HeatPumpProperties:
    """Heat pump characteristics of a device."""

    max_power_kw: float | None
    min_power_kw: float | None
    thermal_storage_litres: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Consents:
    """What the customer allowed for a device."""

    information: bool | None
    telemetry: bool | None
    control: bool | None
    geo_location: bool | None

    @classmethod
    def from_reader(cls, doc: Reader) -> Self:
        """Read a consents object."""
        return cls(
            information=doc.opt_boolean("information"),
            telemetry=doc.opt_boolean("telemetry"),
            control=doc.opt_boolean("control"),
            geo_location=doc.opt_boolean("geo_location"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class VppParticipation:
    """The virtual power plant programme a device is enrolled in."""

    id: str | None
    provider_name: str | None
    programme_name: str | None
    current_state: str | None
    control_active: bool | None

    @classmethod
    def from_reader(cls, doc: Reader) -> Self:
        """Read a VPP participation object."""
        state = doc.opt_string("current_state")
        return cls(
            id=doc.opt_identifier("id"),
            provider_name=doc.opt_string("provider_name"),
            programme_name=doc.opt_string("programme_name"),
            current_state=state.upper() if state else None,
            control_active=doc.opt_boolean("control_active"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Device:
    """A device registered with Flatpeak (`GET /devices/{id}`, `POST /devices`).

    Both documented shapes are read: properties grouped by subsystem
    (`properties.battery.capacity_kwh`) and flat (`properties.capacity_kwh`,
    with the maker and model at the top level).
    """

    id: str
    live_mode: bool
    controlled: bool | None
    reference_id: str | None
    type: DeviceType | str | None
    manufacturer: str | None
    model_code: str | None
    model_name: str | None
    locations: tuple[str, ...]
    timezone: str | None
    battery: BatteryProperties | None
    ev_charger: EvChargerProperties | None
    heat_pump: HeatPumpProperties | None
    consents: Consents | None
    vpp_participation: VppParticipation | None
    time_created: datetime | None
    last_seen: datetime | None
    source: Any = field(default=None, repr=False, compare=False)
    """The document this was read from, for a cache to store as it came."""

    @classmethod
    def from_json(cls, data: Any, path: str = "") -> Self:
        """Read a device in either documented shape.

        path is where the device is in a larger document (`data[3]` of a
        list), for the path an error names.
        """
        doc = Reader(data, path)
        properties = doc.opt_obj("properties")
        consents = doc.opt_obj("consents")
        vpp = doc.opt_obj("vpp_participation")

        def text(key: str) -> str | None:
            return doc.opt_string(key) or (properties.opt_string(key) if properties else None)

        return cls(
            source=data,
            id=doc.identifier("id"),
            live_mode=doc.boolean("live_mode", default=False),
            controlled=doc.opt_boolean("controlled"),
            reference_id=doc.opt_string("reference_id"),
            type=doc.opt_enum("type", DeviceType),
            manufacturer=text("manufacturer"),
            model_code=text("model_code"),
            model_name=text("model_name"),
            locations=doc.strings("locations"),
            timezone=doc.opt_string("timezone"),
            battery=_battery(properties) if properties else None,
            ev_charger=_ev_charger(properties) if properties else None,
            heat_pump=_heat_pump(properties) if properties else None,
            consents=Consents.from_reader(consents) if consents else None,
            vpp_participation=VppParticipation.from_reader(vpp) if vpp else None,
            time_created=doc.opt_timestamp("time_created"),
            last_seen=doc.opt_timestamp("last_seen"),
        )


def _battery(properties: Reader) -> BatteryProperties | None:
    battery = properties.opt_obj("battery")
    if battery is not None:
        return BatteryProperties(
            capacity_kwh=battery.opt_number("capacity_kwh"),
            power_kw=battery.opt_number("power_kw"),
            charge_power_kw=battery.opt_number("charge_power_kw"),
            discharge_power_kw=battery.opt_number("discharge_power_kw"),
            round_trip_efficiency=battery.opt_number("round_trip_efficiency"),
        )
    # The flat shape names power ratings "_kwh"; they are powers in kW.
    capacity = properties.opt_number("capacity_kwh")
    if capacity is None:
        return None
    charge = properties.opt_number("power_rating_import_kwh")
    return BatteryProperties(
        capacity_kwh=capacity,
        power_kw=charge,
        charge_power_kw=charge,
        discharge_power_kw=properties.opt_number("power_rating_export_kwh"),
        round_trip_efficiency=None,
    )


def _ev_charger(properties: Reader) -> EvChargerProperties | None:
    charger = properties.opt_obj("ev_charger")
    if charger is None:
        return None
    return EvChargerProperties(
        max_power_kw=charger.opt_number("max_power_kw"),
        min_power_kw=charger.opt_number("min_power_kw"),
        phases=charger.opt_int("phases"),
        v2g_capable=charger.opt_boolean("v2g_capable"),
    )


def _heat_pump(properties: Reader) -> HeatPumpProperties | None:
    heat_pump = properties.opt_obj("heat_pump")
    if heat_pump is None:
        return None
    return HeatPumpProperties(
        max_power_kw=heat_pump.opt_number("max_power_kw"),
        min_power_kw=heat_pump.opt_number("min_power_kw"),
        thermal_storage_litres=heat_pump.opt_number("thermal_storage_litres"),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class DevicePage:
    """One page of the account's devices (`GET /devices`).

    The list envelope is `{"object": "list", "has_more": …, "data": […]}`.
    A missing `has_more` is taken as the last page. Anything that is not such
    an envelope, or a device in it that cannot be read, is an
    InvalidResponseError naming the field (`data[3].id`): as with every list
    this package reads, one unreadable item makes the whole answer unreadable.
    """

    devices: tuple[Device, ...]
    has_more: bool

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Read a page of the device list, devices in the order the API sent them."""
        doc = Reader(data)
        kind = doc.opt_string("object")
        if kind and clean_token(kind) != "LIST":
            raise doc.error("object", f"expected a list, got {describe(kind)}")
        items = doc.raw("data")
        if items is None:
            raise doc.error("data", "the field is missing")
        if not isinstance(items, list):
            raise doc.error("data", f"expected a list, got {describe(items)}")
        return cls(
            devices=tuple(
                Device.from_json(item, f"data[{index}]") for index, item in enumerate(items)
            ),
            has_more=doc.boolean("has_more", default=False),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceList:
    """The devices of an account, newest first, as `FlatpeakClient.list_devices` read them.

    `truncated` is true when the listing stopped before the API said it was
    complete: at the caller's `max_devices`, at the client's cap on pages, or
    because a page brought only devices already read (a server going round
    in circles). `pages` is the number of pages read.
    """

    devices: tuple[Device, ...]
    truncated: bool
    pages: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceStateRecord:
    """Flatpeak's receipt for a submitted device state."""

    id: str
    device_id: str | None
    time_created: datetime | None

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Read a `PUT /devices/{id}/state` answer."""
        doc = Reader(data)
        return cls(
            id=doc.identifier("id"),
            device_id=doc.opt_identifier("device_id"),
            time_created=doc.opt_timestamp("time_created"),
        )


# Schedules


def _period(doc: Reader, start_key: str, end_key: str) -> tuple[datetime, datetime]:
    start = doc.timestamp(start_key)
    end = doc.timestamp(end_key)
    if end < start:
        raise doc.error(end_key, f"ends before it starts ({end.isoformat()} < {start.isoformat()})")
    return start, end


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargingSlot:
    """A charging window: when to draw power, and how much.

    Half-open: the device charges from `start` up to, not including, `end`.
    `power_w` is None when the schedule did not say.
    """

    start: datetime
    end: datetime
    power_w: float | None
    vpp_event: bool

    @property
    def duration(self) -> timedelta:
        """Length of the slot."""
        return self.end - self.start

    @classmethod
    def from_reader(cls, doc: Reader) -> Self:
        """Read one `schedule[]` entry."""
        start, end = _period(doc, "start_time", "end_time")
        return cls(
            start=start,
            end=end,
            power_w=doc.opt_quantity("power", POWER_UNITS_W),
            vpp_event=doc.boolean("vpp_event", default=False),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargingSession:
    """A period in which the device is available and needs energy.

    The slots inside it say when to actually charge. `cost` is in major
    currency units; `cost_confidence` is 1 for confirmed prices and less for
    forecasts.
    """

    start: datetime
    end: datetime
    energy_wh: float | None
    cost: float | None
    cost_confidence: float | None
    slots: tuple[ChargingSlot, ...]

    @classmethod
    def from_reader(cls, doc: Reader) -> Self:
        """Read one `data[]` entry; zero-length slots are left out, the rest sorted."""
        start, end = _period(doc, "start_time", "end_time")
        cost = doc.opt_obj("cost")
        slots = (ChargingSlot.from_reader(item) for item in doc.objects("schedule"))
        return cls(
            start=start,
            end=end,
            energy_wh=doc.opt_quantity("energy", ENERGY_UNITS_WH),
            cost=cost.opt_number("value") if cost else None,
            cost_confidence=cost.opt_number("confidence") if cost else None,
            slots=tuple(sorted((s for s in slots if s.end > s.start), key=by_time)),
        )


# Orders anything with a start and an end by start, then end.
by_time = attrgetter("start", "end")


@dataclass(frozen=True, slots=True, kw_only=True)
class SocSchedule:
    """A charging schedule computed from a device's state of charge."""

    id: str | None
    device_id: str | None
    location_id: str | None
    timezone: str | None
    currency_code: str | None
    live_mode: bool
    time_created: datetime | None
    sessions: tuple[ChargingSession, ...]
    source: Any = field(default=None, repr=False, compare=False)
    """The document this was read from, for a cache to store as it came."""

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Read a `POST /schedules/soc` answer; sessions are sorted by time."""
        doc = Reader(data)
        currency = doc.opt_string("currency_code")
        sessions = (ChargingSession.from_reader(item) for item in doc.objects("data"))
        return cls(
            source=data,
            id=doc.opt_identifier("id"),
            device_id=doc.opt_identifier("device_id"),
            location_id=doc.opt_identifier("location_id"),
            timezone=doc.opt_string("location_timezone") or doc.opt_string("timezone"),
            currency_code=currency.upper() if currency else None,
            live_mode=doc.boolean("live_mode", default=False),
            time_created=doc.opt_timestamp("time_created"),
            sessions=tuple(sorted(sessions, key=by_time)),
        )

    @property
    def slots(self) -> tuple[ChargingSlot, ...]:
        """Every charging slot of every session, sorted by time."""
        return tuple(sorted((s for session in self.sessions for s in session.slots), key=by_time))


# Prices


@dataclass(frozen=True, slots=True, kw_only=True)
class PricePeriod:
    """The price of energy over one period, in major currency units per kWh."""

    start: datetime
    end: datetime
    value: float
    confidence: float | None

    @classmethod
    def from_reader(cls, doc: Reader) -> Self:
        """Read one `data[]` entry (`price.value`, or the older `tariff.rate`)."""
        start, end = _period(doc, "valid_from", "valid_to")
        legacy = doc.opt_obj("tariff") if doc.raw("price") is None else None
        if legacy is not None:
            value, confidence = legacy.number("rate"), legacy.opt_number("confidence")
        else:
            price = doc.obj("price")
            value, confidence = price.number("value"), price.opt_number("confidence")
        return cls(start=start, end=end, value=value, confidence=confidence)


@dataclass(frozen=True, slots=True, kw_only=True)
class Prices:
    """Prices of a location over a period (`POST /prices`)."""

    id: str | None
    location_id: str | None
    timezone: str | None
    currency_code: str | None
    direction: TariffDirection | str | None
    periods: tuple[PricePeriod, ...]
    next_update: datetime | None
    source: Any = field(default=None, repr=False, compare=False)
    """The document this was read from, for a cache to store as it came."""

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Read a price answer; periods are sorted by time."""
        doc = Reader(data)
        currency = doc.opt_string("currency_code")
        periods = (PricePeriod.from_reader(item) for item in doc.objects("data"))
        return cls(
            source=data,
            id=doc.opt_identifier("id"),
            location_id=doc.opt_identifier("location_id"),
            timezone=doc.opt_string("location_timezone") or doc.opt_string("timezone"),
            currency_code=currency.upper() if currency else None,
            direction=doc.opt_enum("tariff_direction", TariffDirection),
            periods=tuple(sorted(periods, key=by_time)),
            next_update=doc.opt_timestamp("next_update"),
        )
