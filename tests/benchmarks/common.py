"""What the benchmarks share: many devices and entries, and the results folder."""

from __future__ import annotations

from collections.abc import Iterable
import json
import math
import os
from pathlib import Path
import platform
import statistics
from typing import Any

from homeassistant.const import __version__ as ha_version
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.flatpeak.const import DOMAIN
from tests.integration.common import batteries_entry

# Where each benchmark writes its JSON; scripts/bench sets it and renders the report.
RESULTS = Path(os.environ.get("FLATPEAK_BENCH_RESULTS", "/tmp/flatpeak-bench"))  # noqa: S108


def load() -> list[float]:
    """The machine's load average over 1, 5 and 15 minutes."""
    return [round(value, 2) for value in os.getloadavg()]


def write_result(name: str, data: dict[str, Any]) -> None:
    """Write one benchmark's figures, with the machine's state, as RESULTS/<name>.json."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    document = {
        "name": name,
        "load_after": load(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "homeassistant": ha_version,
        **data,
    }
    (RESULTS / f"{name}.json").write_text(json.dumps(document, indent=2, sort_keys=True))


def summary(values: Iterable[float]) -> dict[str, float | int | None]:
    """Count, p50, p90, p99, max and min of some figures (nearest-rank percentiles)."""
    ordered = sorted(values)
    if not ordered:
        return {"n": 0, "p50": None, "p90": None, "p99": None, "max": None, "min": None}

    def rank(fraction: float) -> float:
        return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]

    return {
        "n": len(ordered),
        "p50": rank(0.5),
        "p90": rank(0.9),
        "p99": rank(0.99),
        "max": ordered[-1],
        "min": ordered[0],
        "mean": statistics.fmean(ordered),
    }


def make_entries(
    entry_data: dict[str, Any],
    location_id: str,
    device_ids: list[str],
    options: dict[str, Any] | None = None,
) -> list[MockConfigEntry]:
    """One account entry with every device, not yet added to hass."""
    return [batteries_entry(entry_data, location_id, device_ids, options=options)]


def entity_ids(hass: HomeAssistant, device_ids: list[str], platform: str, key: str) -> list[str]:
    """The entity ID of one entity of each device, found by its unique ID."""
    registry = er.async_get(hass)
    found = [registry.async_get_entity_id(platform, DOMAIN, f"{d}_{key}") for d in device_ids]
    assert all(found), found
    return [entity_id for entity_id in found if entity_id]
