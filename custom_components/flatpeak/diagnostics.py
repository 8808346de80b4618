"""Diagnostics: what the integration holds, with secrets and personal data redacted."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util

from .const import CONF_ACCOUNT_ID
from .coordinator import FlatpeakCoordinator
from .data import DeviceData, FlatpeakConfigEntry, LocationData

TO_REDACT = {
    CONF_API_KEY,
    CONF_ACCOUNT_ID,
    "bearer_token",
    "geo_location",
    "lat",
    "lng",
    "postal_address",
    "reference_id",
}


def _coordinator(coordinator: FlatpeakCoordinator[Any]) -> dict[str, Any]:
    return {
        "fresh": coordinator.fresh,
        "last_update_success": coordinator.last_update_success,
        "last_success_time": coordinator.last_success_time,
        "error": coordinator.error,
        "consecutive_failures": coordinator.failures,
        "next_interval_seconds": (
            coordinator.update_interval.total_seconds() if coordinator.update_interval else None
        ),
        "response": async_redact_data(coordinator.latest.source, TO_REDACT)
        if coordinator.latest is not None
        else None,
    }


def _location(location: LocationData) -> dict[str, Any]:
    """Return what is fetched for a location, shared by its devices."""
    return {
        "status": _coordinator(location.status),
        "import_prices": _coordinator(location.import_prices),
        "export_prices": _coordinator(location.export_prices) if location.export_prices else None,
    }


def _device(data: DeviceData) -> dict[str, Any]:
    """Return one device's settings, the state of its fetches and the plan in force."""
    plan = data.schedule.plan
    now = dt_util.utcnow()
    return {
        "name": data.name,
        "settings": data.settings,
        "location_id": data.location.location_id,
        "device": _coordinator(data.device),
        "schedule": _coordinator(data.schedule),
        "state_of_charge": {
            "source": data.soc.source,
            "status": data.soc.status,
            "reading": data.soc.reading,
            "target": data.soc.target,
            "sent_state_of_charge": data.soc.sent_soc,
            "sent_target": data.soc.sent_target,
            "sent_at": data.soc.sent_at,
            "error": data.soc.error,
        },
        # The dispatch's key is redacted; the dispatch is absent without a subentry.
        "dispatch": async_redact_data(target.diagnostics(), TO_REDACT)
        if (target := data.dispatch.target) is not None
        else None,
        "plan": None
        if plan is None
        else {
            "now": now,
            # When the entities are written next without a new answer.
            "next_instant": data.writer.next_instant,
            "active_periods": [[p.start, p.end] for p in plan.periods],
            "planned_energy_kwh": plan.planned_energy_kwh(now),
            "planned_cost": plan.planned_cost(now),
        },
    }


def _account(entry: FlatpeakConfigEntry) -> dict[str, Any]:
    return {
        "data": async_redact_data(dict(entry.data), TO_REDACT),
        "options": dict(entry.options),
        # Until when Flatpeak asked not to be called (Retry-After), for every request.
        "not_before": entry.runtime_data.client.not_before,
    }


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: FlatpeakConfigEntry
) -> dict[str, Any]:
    """Return the account's settings, its locations, and every device with its plan."""
    account = entry.runtime_data
    return {
        "entry": _account(entry),
        "locations": {
            location_id: _location(location) for location_id, location in account.locations.items()
        },
        "devices": [_device(device) for device in account.devices.values()],
    }


async def async_get_device_diagnostics(
    hass: HomeAssistant, entry: FlatpeakConfigEntry, device: dr.DeviceEntry
) -> dict[str, Any]:
    """Return one Flatpeak device (or the device of its dispatch), with its location."""
    for data in entry.runtime_data.devices.values():
        if data.registry_device_id in (device.id, device.via_device_id):
            return {
                "entry": _account(entry),
                "location": _location(data.location),
                "device": _device(data),
            }
    return {"entry": _account(entry), "device": None}
