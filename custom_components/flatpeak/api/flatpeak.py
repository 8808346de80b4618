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
from .exceptions import AuthenticationError
from .models import (
    Device,
    DeviceStateRecord,
    DeviceType,
    LocationStatus,
    Prices,
    SocSchedule,
    TariffDirection,
    Token,
)
from .timefmt import utc_text
from .validation import check_id

DEFAULT_FLATPEAK_URL = "https://api.flatpeak.com"

# The API version whose shapes this client reads. Pinned so that a change
# of the account's default version cannot change what we receive.
FLATPEAK_API_VERSION = "2026-08-01.busbar"

# Renew a token when this share of its lifetime has passed, so that a
# request never leaves with a token about to expire.
TOKEN_RENEWAL_FRACTION = 0.9


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

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        token = await self._bearer()
        try:
            return await self._request(
                method, path, headers=self._headers(f"Bearer {token.bearer_token}"), body=body
            )
        except AuthenticationError as err:
            if err.status != 401:
                raise
        # The token was refused before we expected: renew it once and retry.
        token = await self._bearer(stale=token)
        return await self._request(
            method, path, headers=self._headers(f"Bearer {token.bearer_token}"), body=body
        )

    # Devices

    async def get_device(self, device_id: str) -> Device:
        """Return a device (`GET /devices/{id}`)."""
        check_id(device_id, "dev")
        return self.parse(Device.from_json, await self._call("GET", f"/devices/{device_id}"))

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
