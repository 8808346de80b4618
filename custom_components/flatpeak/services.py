"""Actions of the Flatpeak integration: refresh, read the plan and prices, send a state."""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import datetime, timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey
import voluptuous as vol

from .api import ApiError, PricePeriod, TariffDirection
from .const import DOMAIN, LOGGER
from .coordinator import FlatpeakCoordinator
from .data import AccountData, DeviceData, FlatpeakConfigEntry
from .devices import owner_entries
from .dispatch import TARGETS, DispatchedEvent, DispatchTarget
from .presentation import local_iso, window_data
from .schedule import ChargingPlan

ATTR_CONFIG_ENTRY_ID = "config_entry_id"
ATTR_DEVICE_ID = "device_id"
ATTR_DIRECTION = "direction"
ATTR_START = "start"
ATTR_END = "end"
ATTR_STATE_OF_CHARGE = "state_of_charge"
ATTR_TARGET_STATE_OF_CHARGE = "target_state_of_charge"

# A manual refresh is refused within a minute of the last one, and beyond
# ten an hour: automations calling it in a loop must not flood Flatpeak.
REFRESH_COOLDOWN = timedelta(minutes=1)
REFRESH_BUDGET = 10
REFRESH_BUDGET_PERIOD = timedelta(hours=1)
DEFAULT_PRICE_SPAN = timedelta(hours=24)
MAX_PRICE_SPAN = timedelta(days=90)

# Which device: a Home Assistant device of the integration, or an account with one device.
ENTRY_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_DEVICE_ID): cv.string,
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
    }
)
PERCENT = vol.All(vol.Coerce(float), vol.Range(min=0, max=100))
PRICES_SCHEMA = ENTRY_SCHEMA.extend(
    {
        vol.Optional(ATTR_DIRECTION, default="import"): vol.In(["import", "export"]),
        vol.Optional(ATTR_START): cv.datetime,
        vol.Optional(ATTR_END): cv.datetime,
    }
)
STATE_SCHEMA = ENTRY_SCHEMA.extend(
    {
        vol.Required(ATTR_STATE_OF_CHARGE): PERCENT,
        vol.Optional(ATTR_TARGET_STATE_OF_CHARGE): PERCENT,
    }
)

# The manual refreshes of each Flatpeak device, lately.
REFRESHES: HassKey[dict[str, Refreshes]] = HassKey("flatpeak_refreshes")


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions."""
    hass.services.async_register(DOMAIN, "refresh", _async_refresh, schema=ENTRY_SCHEMA)
    hass.services.async_register(
        DOMAIN,
        "get_schedule",
        _async_get_schedule,
        schema=ENTRY_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    hass.services.async_register(
        DOMAIN,
        "get_prices",
        _async_get_prices,
        schema=PRICES_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    hass.services.async_register(
        DOMAIN, "set_device_state", _async_set_device_state, schema=STATE_SCHEMA
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_DISPATCH_WINDOW,
        _async_dispatch_window,
        schema=DISPATCH_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_CANCEL_DISPATCH,
        _async_cancel_dispatch,
        schema=CANCEL_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )


def _loaded(call: ServiceCall, entry: FlatpeakConfigEntry) -> AccountData:
    """Return a loaded account's runtime data, or explain why it is not loaded."""
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"title": entry.title},
        )
    return entry.runtime_data


def device_data(call: ServiceCall) -> DeviceData:
    """Return the Flatpeak device an action names, or explain which field to give.

    `device_id` names a Home Assistant device of the integration (a Flatpeak
    device, or its dispatch); `config_entry_id` an account, which will do
    when it has exactly one device.
    """
    hass = call.hass
    entry_id: str | None = call.data.get(ATTR_CONFIG_ENTRY_ID)
    registry_id: str | None = call.data.get(ATTR_DEVICE_ID)
    if registry_id is not None:
        found = dr.async_get(hass).async_get(registry_id)
        for candidate in hass.config_entries.async_entries(DOMAIN):
            if found is None or (entry_id is not None and candidate.entry_id != entry_id):
                continue
            if candidate.entry_id in owner_entries(found):
                account = _loaded(call, candidate)
                for device in account.devices.values():
                    if device.registry_device_id in (found.id, found.via_device_id):
                        return device
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="device_not_found",
            translation_placeholders={"device_id": registry_id},
        )
    if entry_id is None:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="device_required")
    entry: FlatpeakConfigEntry | None = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_found",
            translation_placeholders={"entry_id": entry_id},
        )
    devices = list(_loaded(call, entry).devices.values())
    if len(devices) != 1:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="device_ambiguous",
            translation_placeholders={
                "title": entry.title,
                "count": str(len(devices)),
                "names": ", ".join(device.name for device in devices),
            },
        )
    return devices[0]


# refresh


async def _async_refresh(call: ServiceCall) -> None:
    """Fetch the schedule, tariff status and prices now, within the request budget.

    Asked for too soon, it is no error: it joins the fetch already due and
    answers when that one has. Within a minute of the last refresh, that is
    the refresh under way, or done (its answers are that fresh); beyond ten an
    hour, the schedule's next regular fetch. No request is added either way:
    an automation calling it in a loop cannot flood Flatpeak.
    """
    data = device_data(call)
    now = dt_util.utcnow()
    refreshes = call.hass.data.setdefault(REFRESHES, {})
    recent = refreshes.setdefault(data.device_id, Refreshes())
    recent.forget_before(now - REFRESH_BUDGET_PERIOD)
    if recent.last is not None and now - recent.last < REFRESH_COOLDOWN:
        LOGGER.debug("A refresh of %s within a minute of the last joins it", data.name)
        if recent.under_way is not None:
            await asyncio.shield(recent.under_way)
        return
    if len(recent.times) >= REFRESH_BUDGET:
        LOGGER.debug("A refresh of %s beyond the budget joins its next fetch", data.name)
        await _async_next_fetch(data.schedule)
        return
    # Flatpeak's Retry-After holds back every request of the account's client.
    if (deadline := data.client.not_before) is not None:
        _refuse("refresh_rate_limited", deadline - now)
    recent.times.append(now)
    recent.under_way = call.hass.async_create_task(_async_fetch_all(data))
    try:
        await recent.under_way
    finally:
        recent.under_way = None


class Refreshes:
    """A device's manual refreshes in the last hour, and the one under way."""

    def __init__(self) -> None:
        """Start with none."""
        self.times: deque[datetime] = deque()
        self.under_way: asyncio.Task[None] | None = None

    @property
    def last(self) -> datetime | None:
        """When the last refresh was asked for."""
        return self.times[-1] if self.times else None

    def forget_before(self, moment: datetime) -> None:
        """Forget the refreshes asked for before moment."""
        while self.times and self.times[0] < moment:
            self.times.popleft()


async def _async_fetch_all(data: DeviceData) -> None:
    """Fetch what a refresh fetches: all but the device; a failure says what failed."""
    coordinators = [c for c in data.coordinators if c is not data.device]
    for coordinator in coordinators:
        await coordinator.async_refresh_now()
    failed = [c for c in coordinators if not c.last_update_success]
    if failed:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="refresh_failed",
            translation_placeholders={
                "error": "; ".join(f"{c.kind}: {c.last_exception}" for c in failed)
            },
        )


async def _async_next_fetch(coordinator: FlatpeakCoordinator[Any]) -> None:
    """Wait until the coordinator's next fetch has ended."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @callback
    def ended() -> None:
        if not done.done():
            done.set_result(None)

    stop = coordinator.async_add_refresh_listener(ended)
    try:
        await done
    finally:
        stop()


def _refuse(key: str, wait: timedelta) -> None:
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={"seconds": str(max(1, round(wait.total_seconds())))},
    )


# get_schedule


async def _async_get_schedule(call: ServiceCall) -> ServiceResponse:
    """Return the charging plan held now; no request is made."""
    data = device_data(call)
    now = dt_util.utcnow()
    plan = data.schedule.plan
    status = data.schedule.status(now)
    if plan is None:
        return {"status": status, "windows": [], "sessions": []}
    return {"status": status, **_plan_data(plan, now, data)}


def _plan_data(plan: ChargingPlan, now: datetime, data: DeviceData) -> dict[str, Any]:
    updated = data.schedule.last_success_time
    sessions = plan.remaining_sessions(now)
    return {
        "updated": local_iso(updated) if updated else None,
        "currency": plan.schedule.currency_code,
        "planned_energy_kwh": plan.planned_energy_kwh(now),
        "planned_cost": plan.planned_cost(now),
        "average_price": plan.average_price(now),
        "windows": [window_data(slot) for slot in plan.slots if slot.end > now],
        "sessions": [
            {
                "start": local_iso(session.start),
                "end": local_iso(session.end),
                "energy_kwh": None if session.energy_wh is None else session.energy_wh / 1000,
                "cost": session.cost,
                "windows": [window_data(slot) for slot in session.slots],
            }
            for session in sessions
        ],
    }


# get_prices


async def _async_get_prices(call: ServiceCall) -> ServiceResponse:
    """Return prices over a period: from what is held when it covers it, else from Flatpeak."""
    data = device_data(call)
    now = dt_util.utcnow()
    start: datetime = dt_util.as_utc(call.data.get(ATTR_START) or now)
    end: datetime = dt_util.as_utc(call.data.get(ATTR_END) or start + DEFAULT_PRICE_SPAN)
    if end <= start:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="end_before_start")
    if end - start > MAX_PRICE_SPAN:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="span_too_long")
    export = call.data[ATTR_DIRECTION] == "export"
    coordinator = data.export_prices if export else data.import_prices
    curve = coordinator.curve if coordinator else None
    if curve is not None and curve.covers(start, end):
        periods = curve.periods
        currency = curve.prices.currency_code
    else:
        direction = TariffDirection.EXPORT if export else TariffDirection.IMPORT
        try:
            prices = await data.client.get_prices(
                data.location.location_id,
                start=start,
                end=end,
                direction=direction,
            )
        except ApiError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="prices_failed",
                translation_placeholders={"error": str(err)},
            ) from err
        periods, currency = prices.periods, prices.currency_code
    return {
        "direction": call.data[ATTR_DIRECTION],
        "currency": currency,
        "unit": f"{currency}/kWh" if currency else None,
        "prices": [_price_data(p) for p in periods if p.start < end and p.end > start],
    }


def _price_data(period: PricePeriod) -> dict[str, Any]:
    return {
        "start": local_iso(period.start),
        "end": local_iso(period.end),
        "price": period.value,
        "confidence": period.confidence,
    }


# set_device_state


async def _async_set_device_state(call: ServiceCall) -> None:
    """Send a state of charge (and target) to Flatpeak now, then refresh the schedule."""
    data = device_data(call)
    target: float = call.data.get(ATTR_TARGET_STATE_OF_CHARGE, data.soc.target)
    await data.soc.async_send(call.data[ATTR_STATE_OF_CHARGE], target)


# Dispatch

SERVICE_DISPATCH_WINDOW = "dispatch_window"
SERVICE_CANCEL_DISPATCH = "cancel_dispatch"

ATTR_WINDOW_START = "window_start"
ATTR_EVENT_ID = "event_id"

# A window, or an explicit action of the fields every kind of target takes.
DISPATCH_SCHEMA = ENTRY_SCHEMA.extend(
    {
        vol.Optional(ATTR_WINDOW_START): cv.datetime,
        **{
            field: check for kind in TARGETS.values() for field, check in kind.action_fields.items()
        },
    }
)
CANCEL_SCHEMA = ENTRY_SCHEMA.extend({vol.Optional(ATTR_EVENT_ID): cv.string})


def _target(call: ServiceCall) -> DispatchTarget:
    """Return the dispatch of the entry an action names, or say why there is none."""
    data = device_data(call)
    if data.dispatch.target is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="flip_not_configured",
            translation_placeholders={"title": data.name},
        )
    return data.dispatch.target


def _event_data(event: DispatchedEvent) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "mode": event.mode,
        "starts_at": local_iso(event.starts_at),
        "ends_at": local_iso(event.ends_at),
        "duration_s": event.duration_s,
        "setpoint_w": event.setpoint_w,
    }


async def _async_dispatch_window(call: ServiceCall) -> ServiceResponse:
    """Dispatch a charging window (the next one by default), or an explicit action."""
    target = _target(call)
    fields = {
        name: value
        for name, value in call.data.items()
        if name not in (ATTR_CONFIG_ENTRY_ID, ATTR_DEVICE_ID, ATTR_WINDOW_START)
    }
    if fields and ATTR_WINDOW_START in call.data:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="flip_window_or_action"
        )
    if fields:
        event = await target.async_dispatch_action(fields)
    else:
        start: datetime | None = call.data.get(ATTR_WINDOW_START)
        event = await target.async_dispatch_window(start)
    return _event_data(event)


async def _async_cancel_dispatch(call: ServiceCall) -> ServiceResponse:
    """Cancel one dispatched event, or all that have not ended."""
    cancelled = await _target(call).async_cancel(call.data.get(ATTR_EVENT_ID))
    return {"cancelled": list[Any](cancelled)}
