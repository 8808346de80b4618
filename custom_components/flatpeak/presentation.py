"""How actions, events and attributes show instants and charging windows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from homeassistant.util import dt as dt_util

from .api import ChargingSlot


def local_iso(moment: datetime) -> str:
    """Return an instant in Home Assistant's time zone, as ISO 8601 with its offset."""
    return dt_util.as_local(moment).isoformat()


def window_data(slot: ChargingSlot) -> dict[str, Any]:
    """Return a charging window as actions and events show it: local times, power in kW."""
    return {
        "start": local_iso(slot.start),
        "end": local_iso(slot.end),
        "power_kw": None if slot.power_w is None else round(slot.power_w / 1000, 3),
        "vpp_event": slot.vpp_event,
    }
