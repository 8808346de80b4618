"""Asynchronous client of the Flatpeak API."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Mapping
from datetime import datetime
import time
from typing import Any

import aiohttp

from ._http import DEFAULT_TIMEOUT, HttpClient, text_of
from .exceptions import AuthenticationError, InvalidResponseError
from .models import (
    Device,
    DeviceList,
    DevicePage,
    DeviceStateRecord,
    DeviceType,
    LocationStatus,
    Prices,
    SocSchedule,
    TariffDirection,
    Token,
)
from .timefmt import utc_text
from .validation import check_id, check_reference_id

DEFAULT_FLATPEAK_URL = "https://api.flatpeak.com"

# The API version whose shapes this client reads. Pinned so that a change
# of the account's default version cannot change what we receive.
FLATPEAK_API_VERSION = "2026-08-01.busbar"

# Renew a token when this share of its lifetime has passed, so that a
# request never leaves with a token about to expire.
TOKEN_RENEWAL_FRACTION = 0.9

# The largest page of a list the API serves (`limit`).
DEVICE_PAGE_LIMIT = 100

# Bounds on one listing of devices, so that a server that always answers
# `has_more` cannot keep a client reading: at most this many pages, and at
# most this many devices (100 full pages), far more than a household holds
# and room for a business account's thousands.
MAX_DEVICE_PAGES = 100
MAX_DEVICES = MAX_DEVICE_PAGES * DEVICE_PAGE_LIMIT

# The largest page of devices accepted, once decompressed: a full page of
# real devices is under 200 kB. With the page cap, what one listing can make
# a client read and hold is bounded (100 MiB at most).
MAX_DEVICE_PAGE_BYTES = 1024 * 1024


def _without_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


class FlatpeakClient(HttpClient):
    """Talks to the Flatpeak API for one account.

    The bearer token is obtained from the account ID and API key on first
    use, renewed before it expires, and renewed once more when a request is
    answered 401. The aiohttp session belongs to the caller.
    """

    service = "Flatpeak"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        account_id: str,
        api_key: str,
        *,
        base_url: str = DEFAULT_FLATPEAK_URL,
        request_timeout: float = DEFAULT_TIMEOUT,
        api_version: str = FLATPEAK_API_VERSION,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """Prepare a client; nothing is sent until the first call."""
        super().__init__(session, base_url, request_timeout)
        self.account_id = check_id(account_id, "acc")
        credentials = f"{account_id}:{api_key}".encode()
        self._api_key = api_key
        self._basic = "Basic " + base64.b64encode(credentials).decode("ascii")
        self._api_version = api_version
        # Looked up at each call (not bound once), so that a patched clock applies.
        self._clock = clock or (lambda: time.monotonic())
        self._token: Token | None = None
        # The token before the current one: a server may still quote it.
        self._previous_token: str | None = None
        self._renew_at = 0.0
        self._token_lock = asyncio.Lock()

    def __repr__(self) -> str:
        """Show the account, never the key."""
        return f"FlatpeakClient(account_id={self.account_id!r}, base_url={self.base_url!r})"

    @property
    def live_mode(self) -> bool | None:
        """Whether the key is a live key; None until the first login."""
        return self._token.live_mode if self._token else None

    def secrets(self) -> tuple[str, ...]:
        """Return the API key, the Basic credentials and the bearer tokens."""
        tokens = (self._token.bearer_token if self._token else None, self._previous_token)
        return (
            self._api_key,
            self._basic.removeprefix("Basic "),
            *(token for token in tokens if token),
        )

    def describe_error(self, data: Any) -> tuple[str | None, str, tuple[tuple[str, str], ...]]:
        """Read Flatpeak's error object (`code`, `message`)."""
        if not isinstance(data, dict):
            return None, "", ()
        return text_of(data.get("code")), text_of(data.get("message")) or "", ()

    def _headers(self, authorization: str) -> dict[str, str]:
        return {
            "Authorization": authorization,
            "Accept": "application/json",
            "Flatpeak-Version": self._api_version,
        }

    # Authentication

    async def authenticate(self) -> Token:
        """Exchange the account ID and API key for a new bearer token."""
        async with self._token_lock:
            return await self._login()

    async def _login(self) -> Token:
        data = await self._request("GET", "/login", headers=self._headers(self._basic))
        sent = data.get("bearer_token") if isinstance(data, dict) else None
        token = self.parse(Token.from_json, data, *([sent] if isinstance(sent, str) else []))
        if self._token is not None:
            self._previous_token = self._token.bearer_token
        self._token = token
        self._renew_at = self._clock() + token.expires_in * TOKEN_RENEWAL_FRACTION
        return token

    async def _bearer(self, stale: Token | None = None) -> Token:
        """Return a usable token, logging in when there is none, it is due, or it is stale."""
        async with self._token_lock:
            token = self._token
            if token is None or token is stale or self._clock() >= self._renew_at:
                token = await self._login()
            return token

    async def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        max_bytes: int | None = None,
    ) -> Any:
        token = await self._bearer()
        try:
            return await self._request(
                method,
                path,
                headers=self._headers(f"Bearer {token.bearer_token}"),
                body=body,
                params=params,
                max_bytes=max_bytes,
            )
        except AuthenticationError as err:
            if err.status != 401:
                raise
        # The token was refused before we expected: renew it once and retry.
        token = await self._bearer(stale=token)
        return await self._request(
            method,
            path,
            headers=self._headers(f"Bearer {token.bearer_token}"),
            body=body,
            params=params,
            max_bytes=max_bytes,
        )

    # Devices

    async def get_device(self, device_id: str) -> Device:
        """Return a device (`GET /devices/{id}`)."""
        check_id(device_id, "dev")
        return self.parse(Device.from_json, await self._call("GET", f"/devices/{device_id}"))

    async def list_devices(
        self, *, reference_id: str | None = None, max_devices: int = MAX_DEVICES
    ) -> DeviceList:
        """Return the account's devices, newest first, reading every page of `GET /devices`.

        Pages of up to DEVICE_PAGE_LIMIT devices are requested, each after
        the last ID of the one before (`starting_after`), while the API says
        `has_more`. With reference_id, only the devices registered under that
        reference ID are listed (the API's filter, an exact match).

        The listing is bounded: it stops after max_devices devices (at most
        MAX_DEVICES) or MAX_DEVICE_PAGES pages, whichever comes first, and
        when a page brings no device it has not already read. It then returns
        what it read with `truncated` set, so that a caller can say the list
        is incomplete (and, say, ask for a reference ID to search by). A
        device listed twice (the list moved between two pages) is kept once.

        Any error ends the listing with that error: a page that is not a list
        envelope, holds a device that cannot be read, or is larger than
        MAX_DEVICE_PAGE_BYTES, is an InvalidResponseError naming the field (if
        any) and the page.
        """
        if reference_id is not None:
            check_reference_id(reference_id)
        if not 1 <= max_devices <= MAX_DEVICES:
            raise ValueError(f"max_devices must be from 1 to {MAX_DEVICES}, not {max_devices}")
        query = {"limit": str(min(DEVICE_PAGE_LIMIT, max_devices))}
        if reference_id is not None:
            query["reference_id"] = reference_id
        found: dict[str, Device] = {}
        pages = 0
        while True:
            page = await self._device_page(query, pages + 1)
            pages += 1
            fresh = [device for device in page.devices if device.id not in found]
            room = max_devices - len(found)
            found.update((device.id, device) for device in fresh[:room])
            if len(fresh) > room:
                truncated = True
            elif not page.has_more:
                truncated = False
            else:
                # More to read, unless the caller's count or the page cap is
                # reached, or a page brought nothing new to continue from.
                truncated = not fresh or len(found) >= max_devices or pages >= MAX_DEVICE_PAGES
                if not truncated:
                    query["starting_after"] = page.devices[-1].id
                    continue
            return DeviceList(devices=tuple(found.values()), truncated=truncated, pages=pages)

    async def _device_page(self, query: Mapping[str, str], number: int) -> DevicePage:
        """Read one page of `GET /devices`; an error names the page."""
        try:
            data = await self._call(
                "GET", "/devices", params=query, max_bytes=MAX_DEVICE_PAGE_BYTES
            )
            return self.parse(DevicePage.from_json, data)
        except InvalidResponseError as err:
            err.args = (f"{err} (page {number} of GET /devices)",)
            raise

    async def create_device(
        self,
        *,
        reference_id: str,
        device_type: DeviceType | str,
        location_ids: list[str],
        manufacturer: str | None = None,
        model_code: str | None = None,
        model_name: str | None = None,
        capacity_kwh: float | None = None,
        charge_power_kw: float | None = None,
        discharge_power_kw: float | None = None,
    ) -> Device:
        """Register a device at one or more locations (`POST /devices`)."""
        for location_id in location_ids:
            check_id(location_id, "loc")
        properties = _without_none(
            {
                "capacity_kwh": capacity_kwh,
                # Flatpeak names these power ratings "_kwh"; they are kW.
                "power_rating_import_kwh": charge_power_kw,
                "power_rating_export_kwh": discharge_power_kw,
            }
        )
        body = _without_none(
            {
                "reference_id": reference_id,
                "type": str(device_type),
                "locations": list(location_ids),
                "manufacturer": manufacturer,
                "model_code": model_code,
                "model_name": model_name,
                "properties": properties or None,
            }
        )
        return self.parse(Device.from_json, await self._call("POST", "/devices", body))

    async def submit_device_state(
        self,
        device_id: str,
        *,
        state_of_charge_percent: float,
        target_state_of_charge_percent: float,
        time: datetime,
        location_id: str | None = None,
        record_reference_id: str | None = None,
        battery_power_kw: float | None = None,
        energy_remaining_kwh: float | None = None,
        backup_reserve_percent: float | None = None,
    ) -> DeviceStateRecord:
        """Tell Flatpeak the device's state of charge (`PUT /devices/{id}/state`).

        Later schedules by state of charge start from this state.
        """
        check_id(device_id, "dev")
        if location_id is not None:
            check_id(location_id, "loc")
        for name, percent in (
            ("state_of_charge_percent", state_of_charge_percent),
            ("target_state_of_charge_percent", target_state_of_charge_percent),
        ):
            if not 0 <= percent <= 100:
                raise ValueError(f"{name} must be between 0 and 100, not {percent}")
        body = _without_none(
            {
                "time": utc_text(time),
                "state_of_charge_percent": state_of_charge_percent,
                "target_state_of_charge_percent": target_state_of_charge_percent,
                "location_id": location_id,
                "record_reference_id": record_reference_id,
                "battery_power_kw": battery_power_kw,
                "energy_remaining_kwh": energy_remaining_kwh,
                "backup_reserve_percent": backup_reserve_percent,
            }
        )
        data = await self._call("PUT", f"/devices/{device_id}/state", body)
        return self.parse(DeviceStateRecord.from_json, data)

    # Locations, schedules, prices

    async def get_location_status(self, location_id: str) -> LocationStatus:
        """Return the tariff connection status of a location."""
        check_id(location_id, "loc")
        data = await self._call("GET", f"/locations/{location_id}/status")
        return self.parse(LocationStatus.from_json, data)

    async def schedule_by_soc(
        self, device_id: str, location_id: str, horizon_hours: float | None = None
    ) -> SocSchedule:
        """Return the charging schedule Flatpeak computes from the device's state of charge.

        Without a horizon, Flatpeak uses the longest it can.
        """
        check_id(device_id, "dev")
        check_id(location_id, "loc")
        body = _without_none({"location_id": location_id, "schedule_horizon": horizon_hours})
        data = await self._call("POST", f"/schedules/soc/{device_id}", body)
        return self.parse(SocSchedule.from_json, data)

    async def get_prices(
        self,
        location_id: str,
        *,
        start: datetime,
        end: datetime,
        direction: TariffDirection = TariffDirection.IMPORT,
    ) -> Prices:
        """Return the location's prices from start to end (at most 90 days)."""
        check_id(location_id, "loc")
        if end <= start:
            raise ValueError("the end of a price period must come after its start")
        body = {
            "location_id": location_id,
            "start_time": utc_text(start),
            "end_time": utc_text(end),
            "tariff_direction": str(direction),
        }
        return self.parse(Prices.from_json, await self._call("POST", "/prices", body))
