"""Asynchronous clients of the Flatpeak API and the Flip Utility API.

This package does not depend on Home Assistant: it needs only aiohttp, and
could be published on its own.

Lists are read whole but bounded. `FlatpeakClient.list_devices` follows the
pages of `GET /devices` (optionally filtered by reference ID) and returns a
`DeviceList`; past `MAX_DEVICES` devices or `MAX_DEVICE_PAGES` pages (each of
at most `MAX_DEVICE_PAGE_BYTES`) it stops and sets `DeviceList.truncated`
rather than read on, so that a server that always says there is more cannot
keep a client busy.
"""

from ._http import MAX_JSON_DEPTH, MAX_RESPONSE_BYTES, MAX_RETRY_AFTER
from .exceptions import (
    ApiError,
    AuthenticationError,
    CommunicationError,
    InvalidIdError,
    InvalidResponseError,
    NotFoundError,
    RateLimitError,
    RequestError,
)
from .flatpeak import (
    DEFAULT_FLATPEAK_URL,
    DEVICE_PAGE_LIMIT,
    FLATPEAK_API_VERSION,
    MAX_DEVICE_PAGE_BYTES,
    MAX_DEVICE_PAGES,
    MAX_DEVICES,
    FlatpeakClient,
)
from .flip import (
    DEFAULT_FLIP_URL,
    FLIP_SANDBOX_URL,
    FlipAction,
    FlipClient,
    FlipEvent,
    FlipMode,
    FlipPowerMode,
    FlipTargetType,
)
from .models import (
    BatteryProperties,
    ChargingSession,
    ChargingSlot,
    ConnectionType,
    Consents,
    Device,
    DeviceList,
    DevicePage,
    DeviceStateRecord,
    DeviceType,
    EvChargerProperties,
    HeatPumpProperties,
    LocationStatus,
    PricePeriod,
    Prices,
    Provider,
    SocSchedule,
    StructureType,
    Tariff,
    TariffDirection,
    TariffElement,
    TariffStatus,
    Token,
    VppParticipation,
    by_time,
)
from .timefmt import utc_text
from .validation import (
    MAX_ID_LENGTH,
    MAX_REFERENCE_ID_LENGTH,
    check_base_url,
    check_id,
    check_reference_id,
    is_loopback_host,
)

__all__ = [
    "DEFAULT_FLATPEAK_URL",
    "DEFAULT_FLIP_URL",
    "DEVICE_PAGE_LIMIT",
    "FLATPEAK_API_VERSION",
    "FLIP_SANDBOX_URL",
    "MAX_DEVICES",
    "MAX_DEVICE_PAGES",
    "MAX_DEVICE_PAGE_BYTES",
    "MAX_ID_LENGTH",
    "MAX_JSON_DEPTH",
    "MAX_REFERENCE_ID_LENGTH",
    "MAX_RESPONSE_BYTES",
    "MAX_RETRY_AFTER",
    "ApiError",
    "AuthenticationError",
    "BatteryProperties",
    "ChargingSession",
    "ChargingSlot",
    "CommunicationError",
    "ConnectionType",
    "Consents",
    "Device",
    "DeviceList",
    "DevicePage",
    "DeviceStateRecord",
    "DeviceType",
    "EvChargerProperties",
    "FlatpeakClient",
    "FlipAction",
    "FlipClient",
    "FlipEvent",
    "FlipMode",
    "FlipPowerMode",
    "FlipTargetType",
    "HeatPumpProperties",
    "InvalidIdError",
    "InvalidResponseError",
    "LocationStatus",
    "NotFoundError",
    "PricePeriod",
    "Prices",
    "Provider",
    "RateLimitError",
    "RequestError",
    "SocSchedule",
    "StructureType",
    "Tariff",
    "TariffDirection",
    "TariffElement",
    "TariffStatus",
    "Token",
    "VppParticipation",
    "by_time",
    "check_base_url",
    "check_id",
    "check_reference_id",
    "is_loopback_host",
    "utc_text",
]
