"""Diagnostics: what the integration holds, with secrets and personal data redacted."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .const import CONF_ACCOUNT_ID
from .coordinator import FlatpeakCoordinator
from .data import FlatpeakConfigEntry

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


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: FlatpeakConfigEntry
) -> dict[str, Any]:
    """Return the entry's settings, the state of each fetch and the plan in force."""
    data = entry.runtime_data
    plan = data.schedule.plan
    now = dt_util.utcnow()
    return {
        "entry": {
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": dict(entry.options),
        },
        # Until when Flatpeak asked not to be called (Retry-After), for every request.
        "not_before": data.client.not_before,
        "device": _coordinator(data.device),
        "status": _coordinator(data.status),
        "schedule": _coordinator(data.schedule),
        "import_prices": _coordinator(data.import_prices),
        "export_prices": _coordinator(data.export_prices) if data.export_prices else None,
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
