"""The simulated Flatpeak API: auth, devices, locations, prices, schedule by SoC.

Shapes follow the vendor's endpoint pages: devices in the "yotta" shape (plus the
busbar `type` and `locations`), location status in the zero/anode shape, the
schedule by state of charge and prices in the busbar shape.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
import hashlib
import hmac
import json
import math
import secrets
from typing import Any, NamedTuple

from aiohttp import web

from .clock import Clock
from .common import (
    ID_PATTERN,
    ApiError,
    IdFactory,
    JsonDict,
    Reply,
    RouteSpec,
    floor_to,
    is_number,
    iso_z,
    json_number,
    parse_aware,
    read_json,
)
from .tariff import (
    ALWAYS_AVAILABLE,
    PERIOD,
    Availability,
    PriceModel,
    Session,
    price_periods,
    schedule_by_soc,
)

ACCOUNT_ID = "acc_5b1d5a7e9c0f4e2a8d3b6c71"
API_KEY = "sk_test_5f2c9e1b7a3d4c68b0e1f2a3"
LIVE_API_KEY = "sk_live_8c4e2a6f1b9d3e57a0c2d4f6"
DEVICE_ID = "dev_5b1d5a7e9c0f4e2a8d3b6c72"
EV_CHARGER_ID = "dev_5b1d5a7e9c0f4e2a8d3b6c77"
HEAT_PUMP_ID = "dev_5b1d5a7e9c0f4e2a8d3b6c78"
# The account's devices as created, battery first (the list shows them newest first).
DEMO_DEVICE_IDS: tuple[str, ...] = (DEVICE_ID, EV_CHARGER_ID, HEAT_PUMP_ID)
LOCATION_ID = "loc_5b1d5a7e9c0f4e2a8d3b6c73"
CUSTOMER_ID = "cus_5b1d5a7e9c0f4e2a8d3b6c74"

KNOWN_VERSIONS: tuple[str, ...] = (
    "2024-08-24.zero",
    "2025-09-14.anode",
    "2026-08-01.busbar",
)
DEFAULT_VERSION = "2026-08-01.busbar"

DEVICE_TYPES: tuple[str, ...] = (
    "EV_CHARGER",
    "ELECTRIC_VEHICLE",
    "BATTERY_SYSTEM",
    "PV_SYSTEM",
    "OTHER",
)
TARIFF_ELEMENTS: tuple[str, ...] = (
    "commodity_import",
    "commodity_export",
    "non_commodity_import",
    "non_commodity_export",
    "local",
)
# Statuses whose element carries its connection, provider and tariff details.
DETAILED_STATUSES = ("CONNECTED", "ERROR")

DEFAULT_SOC_PERCENT = 20.0
DEFAULT_TARGET_PERCENT = 90.0

# An EV charger's car is plugged in from the evening until the morning; it
# must be charged by half past seven.
EV_AVAILABILITY = Availability(ready_by=(time(7, 30),), plug_in=time(18, 0))
# A heat pump's hot-water store must be hot for the morning and the evening.
HEAT_PUMP_AVAILABILITY = Availability(ready_by=(time(6, 30), time(17, 30)))

# How much electricity heats a litre of the hot-water store through its working
# range: 4.186 kJ per litre and kelvin, a 45 K lift, a coefficient of performance of 3.
STORE_KWH_PER_LITRE = 4.186 / 3600 * 45 / 3

MAX_PRICE_WINDOW = timedelta(days=90)
LOGO_URL = "https://s.flatpeak.com/83b06a60e38c2.png"
_TOKEN_SECRET = b"flatpeak-sandbox-signing-key"

_PROVIDER_OCTOPUS = {
    "id": "prv_63a6087272921ef075a8fd3e",
    "display_name": "Octopus Energy",
    "logo_url": LOGO_URL,
}
_PROVIDER_EON = {
    "id": "prv_63374fb151ea87296cd39ced",
    "display_name": "E.ON Next",
    "logo_url": LOGO_URL,
}
_PROVIDER_LOCAL = {
    "id": "prv_5b1d5a7e9c0f4e2a8d3b6c75",
    "display_name": "Sandbox Community Energy",
    "logo_url": LOGO_URL,
}
# Per element: connection type, provider, tariff id, name and structure.
_ELEMENT_DETAILS: dict[str, tuple[str, JsonDict, str, str, str]] = {
    "commodity_import": (
        "DIRECT",
        _PROVIDER_OCTOPUS,
        "trf_5b1d5a7e9c0f4e2a8d3b6c81",
        "Intelligent Night 2026",
        "TIME_OF_DAY",
    ),
    "commodity_export": (
        "MANUAL",
        _PROVIDER_EON,
        "trf_5b1d5a7e9c0f4e2a8d3b6c82",
        "Export Fixed 2026",
        "FIXED",
    ),
    "non_commodity_import": (
        "DIRECT",
        _PROVIDER_OCTOPUS,
        "trf_5b1d5a7e9c0f4e2a8d3b6c83",
        "Network Fee",
        "FIXED",
    ),
    "non_commodity_export": (
        "MANUAL",
        _PROVIDER_EON,
        "trf_5b1d5a7e9c0f4e2a8d3b6c84",
        "Export Network Credit",
        "FIXED",
    ),
    "local": (
        "MANUAL",
        _PROVIDER_LOCAL,
        "trf_5b1d5a7e9c0f4e2a8d3b6c85",
        "Local Share",
        "FIXED",
    ),
}
_DEFAULT_TARIFF_STATUS = {
    "commodity_import": "CONNECTED",
    "commodity_export": "CONNECTED",
    "non_commodity_import": "NOT_CONNECTED",
    "non_commodity_export": "NOT_SUPPORTED",
    "local": "NOT_SUPPORTED",
}
# The code a price-dependent endpoint answers for each (stripped) status.
_TARIFF_ERRORS = {
    "NOT_CONNECTED": ("no_tariff_connected", "No tariff is connected"),
    "NOT_SUPPORTED": ("no_tariff_connected", "No tariff is connected"),
    "PENDING": ("pending_connect", "The tariff is being fetched for the first time"),
    "ERROR": ("no_price_data", "Prices have been unavailable for a long time"),
}

_CREATED = datetime(2025, 11, 7, 5, 31, 56, tzinfo=UTC)

_NUMERIC_PROPERTIES = (
    "power_rating_import_kwh",
    "capacity_kwh",
    "power_rating_export_kwh",
    "pv_azimuth",
    "pv_tilt",
)
_BOOLEAN_PROPERTIES = ("pv_terrain_shading", "pv_forecasts_enabled")


@dataclass
class Token:
    """An issued bearer token."""

    expires_at: datetime
    live_mode: bool


@dataclass
class DeviceState:
    """The last state submitted for a device."""

    time: datetime
    soc_percent: float
    target_percent: float
    extra: JsonDict = field(default_factory=dict)


class ChargeSpec(NamedTuple):
    """What the schedule by state of charge needs to know of a device."""

    capacity_kwh: float
    power_kw: float
    availability: Availability = ALWAYS_AVAILABLE


@dataclass
class Device:
    """A registered device, kept in the busbar input form.

    `blocks` holds yotta property blocks the busbar form has no field for
    (a heat pump's), served as they are. `availability` and `default_state`
    (SoC and target percentages until a state is submitted) shape its
    schedule by state of charge.
    """

    id: str
    seq: int
    reference_id: str
    type: str
    locations: list[str]
    manufacturer: str | None
    model_code: str | None
    model_name: str | None
    properties: JsonDict
    time_created: datetime
    last_seen: datetime
    vpp_participation: JsonDict | None = None
    state: DeviceState | None = None
    blocks: JsonDict = field(default_factory=dict)
    availability: Availability = ALWAYS_AVAILABLE
    default_state: tuple[float, float] = (DEFAULT_SOC_PERCENT, DEFAULT_TARGET_PERCENT)

    def _prop(self, name: str) -> float | None:
        value = self.properties.get(name)
        return float(value) if is_number(value) else None

    def battery(self) -> JsonDict | None:
        """Return the yotta `battery` block derived from the busbar properties.

        An EV charger's capacity is its car's: the charger has no battery.
        """
        capacity = self._prop("capacity_kwh")
        if capacity is None or self.type in ("EV_CHARGER", "PV_SYSTEM"):
            return None
        charge = self._prop("power_rating_import_kwh")
        discharge = self._prop("power_rating_export_kwh")
        ratings = [value for value in (charge, discharge) if value is not None]
        return {
            "capacity_kwh": capacity,
            "power_kw": max(ratings) if ratings else None,
            "charge_power_kw": charge,
            "discharge_power_kw": discharge if discharge is not None else charge,
            "round_trip_efficiency": 0.9,
        }

    def charge_spec(self) -> ChargeSpec | None:
        """Return what its schedule is computed from, when that is known.

        A battery: its capacity and charge power. An EV charger: its car's
        battery (`capacity_kwh`) and its own power. A heat pump: the
        electricity that heats its hot-water store, at its maximum power.
        """
        heat_pump = self.blocks.get("heat_pump")
        capacity: float | None
        power: float | None
        if isinstance(heat_pump, dict):
            litres = heat_pump.get("thermal_storage_litres")
            capacity = litres * STORE_KWH_PER_LITRE if is_number(litres) else None
            power = heat_pump.get("max_power_kw")
        elif self.type == "EV_CHARGER" or self.battery() is not None:
            capacity = self._prop("capacity_kwh")
            power = self._prop("power_rating_import_kwh")
        else:
            return None
        if not capacity or not is_number(power) or power <= 0:
            return None
        return ChargeSpec(capacity, float(power), self.availability)

    def yotta_properties(self) -> JsonDict:
        """Return the yotta `properties`: only the subsystems the device has."""
        props: JsonDict = {
            "manufacturer": self.manufacturer,
            "model_code": self.model_code,
            "model_name": self.model_name,
        }
        battery = self.battery()
        if battery is not None:
            props["battery"] = battery
        has_pv = self.type == "PV_SYSTEM" or any(key.startswith("pv_") for key in self.properties)
        export = self._prop("power_rating_export_kwh")
        if has_pv:
            props["pv"] = {
                "peak_power_kw": export,
                "azimuth": self.properties.get("pv_azimuth"),
                "tilt": self.properties.get("pv_tilt"),
                "terrain_shading": self.properties.get("pv_terrain_shading", False),
                "forecasts_enabled": self.properties.get("pv_forecasts_enabled", False),
            }
        if (battery is not None or has_pv) and export is not None:
            props["inverter"] = {"ac_export_limit_kw": export}
        if self.type == "EV_CHARGER":
            props["ev_charger"] = {
                "max_power_kw": self._prop("power_rating_import_kwh"),
                "min_power_kw": 1.4,
                "phases": 1,
                "phase_switching": False,
                "v2g_capable": bool(export),
            }
        props.update(json.loads(json.dumps(self.blocks)))
        props["install_date"] = self.properties.get("install_date")
        return props


@dataclass
class Location:
    """A location with its tariff element statuses."""

    id: str
    reference_id: str
    customer_id: str
    timezone: str
    currency_code: str
    postal_address: JsonDict
    geo_location: JsonDict
    time_created: datetime
    tariff_status: dict[str, str]


def _basic_credentials(header: str) -> tuple[str, str] | None:
    """Return (user, password) from a Basic Authorization header."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep:
        return None
    return user, password


def _bearer(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _invalid(name: str, message: str) -> ApiError:
    return ApiError(422, f"{name}_invalid", message)


def _missing(name: str) -> ApiError:
    return ApiError(422, f"{name}_missing", f"{name} is required")


def _check_id(value: object, name: str) -> str:
    """Return a well-formed object id or raise a 422 naming the field."""
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise _invalid(name, f"{name} must match ^[a-z]{{2,4}}_[A-Za-z0-9]+$")
    return value


def _percent(value: object, name: str) -> float:
    """Return a percentage from 0 to 100 or raise a 422 naming the field."""
    if not is_number(value) or not 0 <= value <= 100:
        raise _invalid(name, f"{name} must be a number from 0 to 100")
    return float(value)


def _required_percent(body: JsonDict, name: str) -> float:
    if body.get(name) is None:
        raise _missing(name)
    return _percent(body[name], name)


def _format_horizon(value: float) -> str:
    """Echo the horizon as the vendor does: a string, "24" rather than "24.0"."""
    return f"{value:g}"


def shift_wire_sessions(data: list[Any], offset: timedelta) -> list[Any]:
    """Move every session and slot time by `offset`, leaving unparsable ones."""

    def shift(item: Any) -> None:
        if not isinstance(item, dict):
            return
        for key in ("start_time", "end_time"):
            moment = parse_aware(item.get(key))
            if moment is not None:
                item[key] = iso_z(moment + offset)

    for session in data:
        shift(session)
        slots = session.get("schedule") if isinstance(session, dict) else None
        if isinstance(slots, list):
            for slot in slots:
                shift(slot)
    return data


def session_to_wire(session: Session) -> JsonDict:
    """Return a session in the schedule-by-SoC wire shape."""
    return {
        "start_time": iso_z(session.start),
        "end_time": iso_z(session.end),
        "energy": {"units": "WH", "value": session.energy_wh},
        "cost": {
            "value": session.cost,
            "confidence": json_number(session.confidence),
        },
        "schedule": [
            {
                "start_time": iso_z(slot.start),
                "end_time": iso_z(slot.end),
                "power": {"units": "W", "value": slot.power_w},
                "vpp_event": False,
            }
            for slot in session.slots
        ],
    }


class FlatpeakCloud:
    """State and routes of the simulated Flatpeak API."""

    def __init__(
        self,
        clock: Clock,
        ids: IdFactory,
        prices: PriceModel,
        token_lifetime_s: int = 3600,
    ) -> None:
        """Create the account with its demo location, battery, EV charger and heat pump."""
        self.clock = clock
        self.ids = ids
        self.prices = prices
        self.token_lifetime_s = token_lifetime_s
        self.account_id = ACCOUNT_ID
        self.default_version = DEFAULT_VERSION
        self.keys: set[str] = {API_KEY, LIVE_API_KEY}
        # Served to every device; a device's own override or shift comes first.
        self.schedule_override: list[Any] | None = None
        self.schedule_shift = timedelta(0)
        self.device_overrides: dict[str, list[Any]] = {}
        self.device_shifts: dict[str, timedelta] = {}
        self._tokens: dict[str, Token] = {}
        self._seq = 0
        self.locations: dict[str, Location] = {
            LOCATION_ID: Location(
                id=LOCATION_ID,
                reference_id="SANDBOX-HOME",
                customer_id=CUSTOMER_ID,
                timezone="Europe/London",
                currency_code="GBP",
                postal_address={
                    "address_line1": "221B Baker Street",
                    "address_line2": None,
                    "city": "London",
                    "state": None,
                    "post_code": "NW1 6XE",
                    "country_code": "GB",
                },
                geo_location={"lat": 51.5237, "lng": -0.1585},
                time_created=_CREATED,
                tariff_status=dict(_DEFAULT_TARIFF_STATUS),
            )
        }
        self.devices: dict[str, Device] = {}
        demo = self._add_device(
            {
                "reference_id": "SANDBOX-BATTERY-1",
                "type": "BATTERY_SYSTEM",
                "locations": [LOCATION_ID],
                "manufacturer": "Nova Systems",
                "model_code": "PICOXN2",
                "model_name": "Pico Ultimate",
                "properties": {
                    "power_rating_import_kwh": 5.0,
                    "capacity_kwh": 13.5,
                    "power_rating_export_kwh": 5.0,
                    "install_date": "2025-11-07T06:00:00Z",
                },
            },
            device_id=DEVICE_ID,
            created=_CREATED + timedelta(minutes=30),
        )
        demo.vpp_participation = {
            "id": "vpa_5b1d5a7e9c0f4e2a8d3b6c76",
            "provider_name": "Flip",
            "programme_name": "Sandbox Home Flex",
            "current_state": "ACTIVE",
            "telemetry_active": True,
            "control_active": True,
        }
        # A 7.4 kW single-phase charger; its car holds 60 kWh and comes home
        # at 35 %, to leave at 80 %.
        self._add_device(
            {
                "reference_id": "SANDBOX-EV-CHARGER-1",
                "type": "EV_CHARGER",
                "locations": [LOCATION_ID],
                "manufacturer": "Voltline",
                "model_code": "VLSPRINT7",
                "model_name": "Sprint 7",
                "properties": {
                    "power_rating_import_kwh": 7.4,
                    "capacity_kwh": 60.0,
                    "install_date": "2025-11-07T06:10:00Z",
                },
            },
            device_id=EV_CHARGER_ID,
            created=_CREATED + timedelta(minutes=40),
            default_state=(35.0, 80.0),
        )
        # A 3 kW heat pump with a 200-litre hot-water store (about 3.5 kWh of
        # electricity from cold to hot), a quarter hot, to be heated full.
        self._add_device(
            {
                "reference_id": "SANDBOX-HEAT-PUMP-1",
                "type": "OTHER",
                "locations": [LOCATION_ID],
                "manufacturer": "Borealis Heat",
                "model_code": "BHAURORA6",
                "model_name": "Aurora 6",
                "properties": {
                    "power_rating_import_kwh": 3.0,
                    "install_date": "2025-11-07T06:20:00Z",
                },
            },
            device_id=HEAT_PUMP_ID,
            created=_CREATED + timedelta(minutes=50),
            blocks={
                "heat_pump": {
                    "max_power_kw": 3.0,
                    "min_power_kw": 0.8,
                    "thermal_storage_litres": 200,
                }
            },
            availability=HEAT_PUMP_AVAILABILITY,
            default_state=(25.0, 100.0),
        )

    # ------------------------------------------------------------------ controls

    def issue_token(self, live_mode: bool) -> str:
        """Issue a JWT-like bearer token valid for `token_lifetime_s`."""
        now = self.clock.now()
        expires = now + timedelta(seconds=self.token_lifetime_s)
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = {
            "account_id": self.account_id,
            "live_mode": live_mode,
            "iss": "FlatPeakAPI",
            "sub": self.account_id,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            # Makes every token unique, even two issued in the same second.
            "jti": secrets.token_hex(8),
        }
        payload = _b64url(json.dumps(claims).encode())
        signature = hmac.new(_TOKEN_SECRET, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        token = f"{header}.{payload}.{_b64url(signature)}"
        self._tokens[token] = Token(expires, live_mode)
        return token

    @property
    def issued_tokens(self) -> list[str]:
        """Every bearer token issued so far."""
        return list(self._tokens)

    def expire_tokens(self) -> None:
        """Make every issued bearer token answer 401 from now on."""
        now = self.clock.now()
        for token in self._tokens.values():
            token.expires_at = min(token.expires_at, now)

    def add_location(self, location_id: str, *devices: str) -> None:
        """Add a second home on the same tariff (a copy of the first), where devices are too."""
        home = self.locations[LOCATION_ID]
        self.locations[location_id] = dataclasses.replace(
            home,
            id=location_id,
            reference_id=f"SANDBOX-{location_id.upper()}",
            tariff_status=dict(home.tariff_status),
        )
        for device_id in devices:
            self.devices[device_id].locations.append(location_id)

    def set_tariff_status(self, element: str, status: str) -> None:
        """Set a tariff element's status verbatim, on every location."""
        if element not in TARIFF_ELEMENTS:
            raise ValueError(f"unknown tariff element {element!r}")
        for location in self.locations.values():
            location.tariff_status[element] = status

    def set_device_state(
        self,
        soc_percent: float,
        target_percent: float,
        device_id: str = DEVICE_ID,
    ) -> None:
        """Store a device state as `PUT /devices/{id}/state` would."""
        for value in (soc_percent, target_percent):
            if not is_number(value) or not 0 <= value <= 100:
                raise ValueError("percentages must be numbers from 0 to 100")
        device = self._known_device(device_id)
        device.state = DeviceState(self.clock.now(), float(soc_percent), float(target_percent))

    def device_state(self, device_id: str = DEVICE_ID) -> JsonDict:
        """Return the state the schedule is computed from (the device's default until one is sent)."""
        device = self._known_device(device_id)
        state = device.state
        if state is None:
            soc, target = device.default_state
            return {"submitted": False, "soc_percent": soc, "target_percent": target}
        return {
            "submitted": True,
            "time": iso_z(state.time),
            "soc_percent": state.soc_percent,
            "target_percent": state.target_percent,
            **state.extra,
        }

    def set_schedule_override(self, data: list[Any] | None, device_id: str | None = None) -> None:
        """Serve these sessions (wire format) verbatim; None computes them again.

        Without device_id it applies to every device, replacing their own
        overrides; with one, to that device only, before the shared one.
        """
        copied = None if data is None else json.loads(json.dumps(data))
        if device_id is None:
            self.schedule_override = copied
            self.device_overrides.clear()
        elif copied is None:
            self._known_device(device_id)
            self.device_overrides.pop(device_id, None)
        else:
            self._known_device(device_id)
            self.device_overrides[device_id] = copied

    def shift_schedule(self, offset: timedelta, device_id: str | None = None) -> None:
        """Move served session and slot times by `offset` (not cumulative).

        Without device_id it applies to every device, replacing their own
        shifts; with one, to that device only, before the shared one.
        """
        if device_id is None:
            self.schedule_shift = offset
            self.device_shifts.clear()
        else:
            self._known_device(device_id)
            self.device_shifts[device_id] = offset

    def forget_device_schedule(self, device_id: str) -> None:
        """Drop a device's own override and shift: it is served what every device is."""
        self._known_device(device_id)
        self.device_overrides.pop(device_id, None)
        self.device_shifts.pop(device_id, None)

    def override_for(self, device_id: str) -> list[Any] | None:
        """Return the sessions served to a device instead of computed ones, if any."""
        return self.device_overrides.get(device_id, self.schedule_override)

    def shift_for(self, device_id: str) -> timedelta:
        """Return how far a device's served sessions are moved."""
        return self.device_shifts.get(device_id, self.schedule_shift)

    def _known_device(self, device_id: str) -> Device:
        device = self.devices.get(device_id)
        if device is None:
            raise ValueError(f"unknown device {device_id!r}")
        return device

    # ------------------------------------------------------------- API surface

    def routes(self) -> list[RouteSpec]:
        """Return every Flatpeak route with its name."""
        return [
            RouteSpec("GET", "/login", "login", self._login),
            RouteSpec("POST", "/auth/tokens", "login", self._login),
            RouteSpec("POST", "/devices", "device_create", self._device_create),
            RouteSpec("GET", "/devices", "device_list", self._device_list),
            RouteSpec("GET", "/devices/{device_id}", "device_get", self._device_get),
            RouteSpec("PUT", "/devices/{device_id}/state", "device_state", self._device_state),
            RouteSpec("GET", "/locations/{location_id}", "location_get", self._location_get),
            RouteSpec(
                "GET",
                "/locations/{location_id}/status",
                "location_status",
                self._location_status,
            ),
            RouteSpec("POST", "/schedules/soc/{device_id}", "schedule_soc", self._schedule),
            RouteSpec("POST", "/schedules/soc", "schedule_soc", self._schedule),
            RouteSpec("POST", "/prices", "prices", self._prices),
            RouteSpec("POST", "/prices/{location_id}", "prices", self._prices),
        ]

    def _requested_version(self, request: web.Request) -> str | None:
        return request.headers.get("Flatpeak-Version")

    def before(self, request: web.Request) -> None:
        """Refuse an unknown API version, or one older than the account's default."""
        requested = self._requested_version(request)
        if requested is None:
            return
        if requested not in KNOWN_VERSIONS:
            # The code for an unknown version string is the sandbox's choice.
            raise ApiError(
                422,
                "api_version_invalid",
                f"Unknown API version {requested!r}",
                context="api",
            )
        if requested[:10] < self.default_version[:10]:
            raise ApiError(
                422,
                "api_version_not_supported",
                f"API version {requested} is older than the account default {self.default_version}",
                context="api",
            )

    def extra_headers(self, request: web.Request) -> dict[str, str]:
        """Return the `flatpeak-version` header every answer carries."""
        requested = self._requested_version(request)
        version = self.default_version
        if requested in KNOWN_VERSIONS and requested[:10] >= version[:10]:
            version = requested
        return {"flatpeak-version": version}

    def live_mode_of(self, request: web.Request) -> bool:
        """Return the mode of the caller's credentials, False when unknown."""
        header = request.headers.get("Authorization", "")
        token = _bearer(header)
        if token is not None and token in self._tokens:
            return self._tokens[token].live_mode
        credentials = _basic_credentials(header)
        return credentials is not None and credentials[1].startswith("sk_live_")

    def render_error(self, request: web.Request, route: str, error: ApiError) -> Reply:
        """Return Flatpeak's error object for `error`."""
        error_type = error.error_type
        if error_type is None:
            if error.status == 429:
                error_type = "rate_limit"
            elif error.status >= 500:
                error_type = "api_error"
            else:
                error_type = "invalid_request"
        body = {
            "object": "error",
            "live_mode": self.live_mode_of(request),
            "context": error.context or f"api.{route}",
            "type": error_type,
            "code": error.code,
            "message": error.message,
            "time_created": iso_z(self.clock.now()),
        }
        return Reply(error.status, body, dict(error.headers))

    # ----------------------------------------------------------------- helpers

    def _auth(self, request: web.Request) -> Token:
        """Return the caller's token, or raise 401."""
        # "unauthorized" is the sandbox's choice: no code is documented for it.
        value = _bearer(request.headers.get("Authorization", ""))
        if value is None:
            raise ApiError(401, "unauthorized", "A bearer token is required")
        token = self._tokens.get(value)
        if token is None:
            raise ApiError(401, "unauthorized", "The bearer token is not valid")
        if self.clock.now() >= token.expires_at:
            raise ApiError(401, "unauthorized", "The bearer token has expired")
        return token

    async def _body(self, request: web.Request) -> JsonDict:
        ok, body = await read_json(request)
        if not ok:
            raise ApiError(400, "invalid_json", "The request body is not valid JSON")
        if not isinstance(body, dict):
            raise ApiError(422, "body_invalid", "The request body must be an object")
        return body

    def _device(self, value: object, name: str = "device_id") -> Device:
        device_id = _check_id(value, name)
        device = self.devices.get(device_id)
        if device is None:
            raise ApiError(404, "not_found", f"Device {device_id} was not found")
        return device

    def _location(self, value: object, name: str = "location_id") -> Location:
        location_id = _check_id(value, name)
        location = self.locations.get(location_id)
        if location is None:
            raise ApiError(404, "not_found", f"Location {location_id} was not found")
        return location

    def _require_tariff(self, location: Location, element: str) -> None:
        status = location.tariff_status.get(element, "NOT_CONNECTED").strip()
        if status == "CONNECTED":
            return
        code, message = _TARIFF_ERRORS.get(status, _TARIFF_ERRORS["NOT_CONNECTED"])
        direction = "import" if element.endswith("import") else "export"
        raise ApiError(422, code, f"{message} for {direction} at {location.id}")

    def _add_device(
        self,
        body: JsonDict,
        *,
        device_id: str | None = None,
        created: datetime | None = None,
        blocks: JsonDict | None = None,
        availability: Availability | None = None,
        default_state: tuple[float, float] = (DEFAULT_SOC_PERCENT, DEFAULT_TARGET_PERCENT),
    ) -> Device:
        """Register a device; an EV charger is available from the evening unless told otherwise."""
        created = created or self.clock.now()
        if availability is None:
            availability = EV_AVAILABILITY if body["type"] == "EV_CHARGER" else ALWAYS_AVAILABLE
        self._seq += 1
        device = Device(
            id=device_id or self.ids.hex_id("dev"),
            seq=self._seq,
            reference_id=body["reference_id"],
            type=body["type"],
            locations=list(body["locations"]),
            manufacturer=body.get("manufacturer"),
            model_code=body.get("model_code"),
            model_name=body.get("model_name"),
            properties=dict(body.get("properties") or {}),
            time_created=created,
            last_seen=created,
            blocks=dict(blocks or {}),
            availability=availability,
            default_state=default_state,
        )
        self.devices[device.id] = device
        return device

    def _validate_device(self, body: JsonDict) -> None:
        reference_id = body.get("reference_id")
        if reference_id is None:
            raise _missing("reference_id")
        if not isinstance(reference_id, str) or not reference_id.strip():
            raise _invalid("reference_id", "reference_id must be a non-empty string")
        device_type = body.get("type")
        if device_type is None:
            raise _missing("type")
        if device_type not in DEVICE_TYPES:
            raise _invalid("type", f"type must be one of {', '.join(DEVICE_TYPES)}")
        locations = body.get("locations")
        if locations is None:
            raise _missing("locations")
        if not isinstance(locations, list) or not locations:
            raise _invalid("locations", "locations must be a non-empty list")
        for location_id in locations:
            _check_id(location_id, "locations")
            if location_id not in self.locations:
                raise _invalid("locations", f"Location {location_id} was not found")
        for name in ("manufacturer", "model_code", "model_name"):
            if body.get(name) is not None and not isinstance(body[name], str):
                raise _invalid(name, f"{name} must be a string")
        properties = body.get("properties")
        if properties is None:
            return
        if not isinstance(properties, dict):
            raise _invalid("properties", "properties must be an object")
        for name in _NUMERIC_PROPERTIES:
            value = properties.get(name)
            if value is not None and (not is_number(value) or value < 0):
                raise _invalid(name, f"{name} must be a number of at least 0")
        for name in _BOOLEAN_PROPERTIES:
            value = properties.get(name)
            if value is not None and not isinstance(value, bool):
                raise _invalid(name, f"{name} must be a boolean")
        install_date = properties.get("install_date")
        if install_date is not None and parse_aware(install_date) is None:
            raise _invalid("install_date", "install_date must be an RFC 3339 time")

    def _device_wire(self, device: Device, live_mode: bool) -> JsonDict:
        """Return a device in the yotta shape plus busbar `type` and `locations`."""
        location = self.locations[device.locations[0]]
        created = iso_z(device.time_created)
        return {
            "id": device.id,
            "object": "device",
            "live_mode": live_mode,
            "controlled": True,
            "type": device.type,
            "locations": list(device.locations),
            "properties": device.yotta_properties(),
            "consents": {
                "time_updated": created,
                "time_created": created,
                "information": True,
                "telemetry": True,
                "control": True,
                "geo_location": True,
            },
            "timezone": location.timezone,
            "geo_location": dict(location.geo_location),
            "vpp_participation": device.vpp_participation,
            "time_created": created,
            "reference_id": device.reference_id,
            "last_seen": iso_z(device.last_seen),
        }

    # ---------------------------------------------------------------- handlers

    async def _login(self, request: web.Request) -> Reply:
        credentials = _basic_credentials(request.headers.get("Authorization", ""))
        if (
            credentials is None
            or credentials[0] != self.account_id
            or credentials[1] not in self.keys
        ):
            raise ApiError(401, "invalid_credentials", "The account ID or API key is not valid")
        live_mode = credentials[1].startswith("sk_live_")
        return Reply(
            200,
            {
                "bearer_token": self.issue_token(live_mode),
                "expires_in": self.token_lifetime_s,
                "live_mode": live_mode,
            },
        )

    async def _device_create(self, request: web.Request) -> Reply:
        token = self._auth(request)
        body = await self._body(request)
        self._validate_device(body)
        device = self._add_device(body)
        return Reply(
            201,
            {
                "id": device.id,
                "object": "device",
                "live_mode": token.live_mode,
                "reference_id": device.reference_id,
                "type": device.type,
                "locations": list(device.locations),
                "manufacturer": device.manufacturer,
                "model_code": device.model_code,
                "model_name": device.model_name,
                "time_created": iso_z(device.time_created),
                "account_id": self.account_id,
                "properties": dict(device.properties),
                "last_seen": iso_z(device.last_seen),
            },
        )

    async def _device_list(self, request: web.Request) -> Reply:
        token = self._auth(request)
        query = request.query
        raw_limit = query.get("limit", "30")
        try:
            limit = int(raw_limit)
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            raise _invalid("limit", "limit must be an integer from 1 to 100")
        starting_after = query.get("starting_after")
        ending_before = query.get("ending_before")
        if starting_after and ending_before:
            raise ApiError(
                422,
                "pagination_invalid",
                "starting_after and ending_before cannot be used together",
            )
        devices = sorted(self.devices.values(), key=lambda d: d.seq, reverse=True)
        reference_id = query.get("reference_id")
        if reference_id is not None:
            devices = [d for d in devices if d.reference_id == reference_id]
        ids = [device.id for device in devices]
        cursor_name = "starting_after" if starting_after else "ending_before"
        cursor = starting_after or ending_before
        if cursor and cursor not in ids:
            raise _invalid(cursor_name, f"{cursor_name} {cursor} is not in the list")
        if starting_after:
            begin = ids.index(starting_after) + 1
            page = devices[begin : begin + limit]
            has_more = begin + limit < len(devices)
        elif ending_before:
            end = ids.index(ending_before)
            begin = max(0, end - limit)
            page = devices[begin:end]
            has_more = begin > 0
        else:
            page = devices[:limit]
            has_more = len(devices) > limit
        return Reply(
            200,
            {
                "object": "list",
                "url": "/devices",
                "has_more": has_more,
                "data": [self._device_wire(d, token.live_mode) for d in page],
            },
        )

    async def _device_get(self, request: web.Request) -> Reply:
        token = self._auth(request)
        device = self._device(request.match_info["device_id"])
        return Reply(200, self._device_wire(device, token.live_mode))

    async def _device_state(self, request: web.Request) -> Reply:
        self._auth(request)
        device = self._device(request.match_info["device_id"])
        body = await self._body(request)
        if body.get("time") is None:
            raise _missing("time")
        moment = parse_aware(body["time"])
        if moment is None:
            raise _invalid("time", "time must be an RFC 3339 time with an offset")
        soc = _required_percent(body, "state_of_charge_percent")
        target = _required_percent(body, "target_state_of_charge_percent")
        extra: JsonDict = {}
        location_id = body.get("location_id")
        if location_id is not None:
            if _check_id(location_id, "location_id") not in device.locations:
                raise _invalid("location_id", f"Device {device.id} is not at {location_id}")
            extra["location_id"] = location_id
        record_reference_id = body.get("record_reference_id")
        if record_reference_id is not None:
            if not isinstance(record_reference_id, str):
                raise _invalid("record_reference_id", "record_reference_id must be a string")
            extra["record_reference_id"] = record_reference_id
        direction = body.get("energy_flow_direction")
        if direction is not None:
            if direction not in ("IMPORT", "EXPORT"):
                raise _invalid(
                    "energy_flow_direction",
                    "energy_flow_direction must be IMPORT or EXPORT",
                )
            extra["energy_flow_direction"] = direction
        power = body.get("battery_power_kw")
        if power is not None:
            if not is_number(power):
                raise _invalid("battery_power_kw", "battery_power_kw must be a number")
            extra["battery_power_kw"] = power
        remaining = body.get("energy_remaining_kwh")
        if remaining is not None:
            if not is_number(remaining) or remaining < 0:
                raise _invalid(
                    "energy_remaining_kwh",
                    "energy_remaining_kwh must be a number of at least 0",
                )
            extra["energy_remaining_kwh"] = remaining
        reserve = body.get("backup_reserve_percent")
        if reserve is not None:
            extra["backup_reserve_percent"] = _percent(reserve, "backup_reserve_percent")
        now = self.clock.now()
        device.state = DeviceState(moment, soc, target, extra)
        device.last_seen = now
        return Reply(
            200,
            {
                "id": self.ids.hex_id("dsr"),
                "object": "device_state",
                "device_id": device.id,
                "account_id": self.account_id,
                "time_created": iso_z(now),
            },
        )

    async def _location_get(self, request: web.Request) -> Reply:
        token = self._auth(request)
        location = self._location(request.match_info["location_id"])
        elements = [
            _ELEMENT_DETAILS[name][2]
            for name, status in location.tariff_status.items()
            if status.strip() in DETAILED_STATUSES
        ]
        return Reply(
            200,
            {
                "id": location.id,
                "object": "location",
                "live_mode": token.live_mode,
                "time_created": iso_z(location.time_created),
                "account_id": self.account_id,
                "reference_id": location.reference_id,
                "customer_id": location.customer_id,
                "timezone": location.timezone,
                "currency_code": location.currency_code,
                "postal_address": dict(location.postal_address),
                "geo_location": dict(location.geo_location),
                "tariff_status": dict(location.tariff_status),
                "tariff_elements": elements,
            },
        )

    async def _location_status(self, request: web.Request) -> Reply:
        token = self._auth(request)
        location = self._location(request.match_info["location_id"])
        contract_end = floor_to(self.clock.now() + timedelta(days=365), timedelta(1))
        tariff_status: JsonDict = {}
        for name in TARIFF_ELEMENTS:
            status = location.tariff_status[name]
            element: JsonDict = {"status": status}
            if status.strip() in DETAILED_STATUSES:
                connection, provider, tariff_id, title, structure = _ELEMENT_DETAILS[name]
                element["connection_type"] = connection
                element["provider"] = dict(provider)
                element["tariff"] = {
                    "id": tariff_id,
                    "display_name": title,
                    "structure_type": structure,
                    "contract_end_date": iso_z(contract_end),
                }
            tariff_status[name] = element
        return Reply(
            200,
            {
                "id": location.id,
                "object": "location_status",
                "live_mode": token.live_mode,
                "time_created": iso_z(location.time_created),
                "account_id": self.account_id,
                "tariff_status": tariff_status,
            },
        )

    async def _schedule(self, request: web.Request) -> Reply:
        token = self._auth(request)
        body = await self._body(request)
        path_id = request.match_info.get("device_id")
        if path_id is None:
            # The later busbar revision: POST /schedules/soc with device_id in the body.
            if body.get("device_id") is None:
                raise _missing("device_id")
            device = self._device(body["device_id"])
            location_value = body.get("location_id", device.locations[0])
        else:
            device = self._device(path_id)
            location_value = body.get("location_id")
            if location_value is None:
                raise _missing("location_id")
        location = self._location(location_value)
        if location.id not in device.locations:
            raise _invalid("location_id", f"Device {device.id} is not at {location.id}")
        raw_horizon = body.get("schedule_horizon")
        horizon: float | None = None
        if raw_horizon is not None:
            try:
                horizon = float(raw_horizon)
            except (TypeError, ValueError):
                horizon = None
            if (
                isinstance(raw_horizon, bool)
                or horizon is None
                or not math.isfinite(horizon)
                or horizon <= 0
            ):
                raise _invalid("schedule_horizon", "schedule_horizon must be a positive number")
        self._require_tariff(location, "commodity_import")
        spec = device.charge_spec()
        if spec is None:
            # The code is the sandbox's choice: nothing is documented for it.
            raise ApiError(
                422,
                "device_properties_missing",
                f"Device {device.id} has no battery capacity or charge power",
            )
        state = self.device_state(device.id)
        now = self.clock.now()
        sessions = schedule_by_soc(
            self.prices,
            now,
            soc_percent=state["soc_percent"],
            target_percent=state["target_percent"],
            capacity_kwh=spec.capacity_kwh,
            power_kw=spec.power_kw,
            horizon_h=horizon,
            availability=spec.availability,
        )
        data: list[Any]
        override = self.override_for(device.id)
        if override is not None:
            data = json.loads(json.dumps(override))
        else:
            data = [session_to_wire(session) for session in sessions]
        if shift := self.shift_for(device.id):
            data = shift_wire_sessions(data, shift)
        echoed = _format_horizon(horizon if horizon is not None else 24.0)
        return Reply(
            200,
            {
                "id": self.ids.hex_id("ssc"),
                "object": "schedule_soc",
                "live_mode": token.live_mode,
                "device_id": device.id,
                "location_id": location.id,
                "location_timezone": location.timezone,
                "currency_code": location.currency_code,
                "time_created": iso_z(now),
                "account_id": self.account_id,
                "data": data,
                "request": {"schedule_horizon": echoed},
            },
        )

    async def _prices(self, request: web.Request) -> Reply:
        token = self._auth(request)
        body = await self._body(request)
        path_id = request.match_info.get("location_id")
        if path_id is None:
            if body.get("location_id") is None:
                raise _missing("location_id")
            location = self._location(body["location_id"])
        else:
            location = self._location(path_id)
        if body.get("device_id") is not None:
            device = self._device(body["device_id"])
            if location.id not in device.locations:
                raise _invalid("device_id", f"Device {device.id} is not at {location.id}")
        now = self.clock.now()
        if body.get("end_time") is None:
            raise _missing("end_time")
        end = parse_aware(body["end_time"])
        if end is None:
            raise _invalid("end_time", "end_time must be an RFC 3339 time")
        start = now
        if body.get("start_time") is not None:
            parsed = parse_aware(body["start_time"])
            if parsed is None:
                raise _invalid("start_time", "start_time must be an RFC 3339 time")
            start = parsed
        if end <= start:
            raise _invalid("end_time", "end_time must be after start_time")
        if end - start > MAX_PRICE_WINDOW:
            raise _invalid("end_time", "The time window must not exceed 90 days")
        direction = body.get("tariff_direction", "IMPORT")
        if direction == "LOCAL":
            raise ApiError(
                422,
                "tariff_direction_not_supported",
                "tariff_direction LOCAL is not supported",
            )
        if direction not in ("IMPORT", "EXPORT"):
            raise _invalid("tariff_direction", "tariff_direction must be IMPORT or EXPORT")
        element = "commodity_import" if direction == "IMPORT" else "commodity_export"
        self._require_tariff(location, element)
        periods = price_periods(self.prices, start, end, direction, now)
        last_updated = floor_to(now, PERIOD)
        echo: JsonDict = {
            "start_time": iso_z(start),
            "end_time": iso_z(end),
            "tariff_direction": direction,
        }
        if path_id is None:
            echo = {"location_id": location.id, **echo}
        return Reply(
            200,
            {
                "id": self.ids.hex_id("prs"),
                "object": "price",
                "live_mode": token.live_mode,
                "location_id": location.id,
                "location_timezone": location.timezone,
                "currency_code": location.currency_code,
                "tariff_direction": direction,
                "last_updated": iso_z(last_updated),
                "next_update": iso_z(last_updated + PERIOD),
                "request": echo,
                "data": [
                    {
                        "valid_from": iso_z(period.start),
                        "valid_to": iso_z(period.end),
                        "price": {
                            "value": period.value,
                            "confidence": json_number(period.confidence),
                        },
                    }
                    for period in periods
                ],
                "time_created": iso_z(now),
                "account_id": self.account_id,
            },
        )
