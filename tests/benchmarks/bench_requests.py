"""Benchmark: requests to Flatpeak per device per simulated day, by kind.

Time travels (freezer and `async_fire_time_changed`) through a day against the sandbox,
whose request counters say what each device asked. Three days: one device on a steady
day (the schedule never changes), one device on a day whose schedule changes every
hour, and fifty devices at one location on a steady day. Entries keep the default
options; no state-of-charge sensor is linked, so no states are sent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import random
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from sandbox import Sandbox
from tests.integration.common import make_devices, session

from .common import load, make_entries, write_result

NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)

KINDS = {
    "login": ("login",),
    "device": ("device_get", "device_list", "device_create"),
    "status": ("location_status", "location_get"),
    "prices": ("prices",),
    "schedule": ("schedule_soc",),
    "state sends": ("device_state",),
}


def by_kind(counts: dict[str, int]) -> dict[str, int]:
    """Requests by kind; whatever no kind names is `other` (Flip, unmatched paths)."""
    named = {route for routes in KINDS.values() for route in routes}
    kinds = {kind: sum(counts.get(route, 0) for route in routes) for kind, routes in KINDS.items()}
    kinds["other"] = sum(count for route, count in counts.items() if route not in named)
    return kinds


def schedule(hour: int) -> list[dict[str, Any]]:
    """Two days of nightly windows, moved by `hour` minutes: a different schedule each hour."""
    start = NOW.replace(hour=0) + timedelta(minutes=hour)
    days = [start + timedelta(days=d) for d in range(3)]
    return [
        session(
            day,
            day + timedelta(hours=8),
            (day + timedelta(hours=1), day + timedelta(hours=2, minutes=30)),
            (day + timedelta(hours=4), day + timedelta(hours=5)),
        )
        for day in days
    ]


@pytest.mark.parametrize(
    ("devices", "changes", "step_minutes"),
    [(1, False, 1), (1, True, 1), (50, False, 5)],
    ids=["one-steady", "one-hourly-change", "fifty-steady"],
)
async def test_requests_per_day(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    entry_data: dict[str, Any],
    devices: int,
    changes: bool,
    step_minutes: int,
) -> None:
    load_before = load()
    random.seed(1)  # the polling jitter
    freezer.move_to(NOW)
    sandbox.set_schedule_override(schedule(0))
    device_ids = await make_devices(hass, sandbox, entry_data, devices)
    sandbox.reset_counts()
    for entry in make_entries(entry_data, sandbox.location_id, device_ids):
        entry.add_to_hass(hass)
    assert await async_setup_component(hass, "flatpeak", {})
    await hass.async_block_till_done()
    at_setup = by_kind(sandbox.request_counts)
    sandbox.reset_counts()

    end = NOW + DAY
    hour = 0
    while datetime.now(UTC) < end:
        freezer.tick(timedelta(minutes=step_minutes))
        now = datetime.now(UTC)
        if changes and (now - NOW) // timedelta(hours=1) > hour:
            hour = (now - NOW) // timedelta(hours=1)
            sandbox.set_schedule_override(schedule(hour))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)

    counts = sandbox.request_counts
    kinds = by_kind(counts)
    failed = sum(1 for r in sandbox.requests if r.status != 200)
    name = "fifty-steady" if devices > 1 else ("one-hourly-change" if changes else "one-steady")
    write_result(
        f"requests_{name}",
        {
            "scenario": name,
            "devices": devices,
            "schedule_changes_hourly": changes,
            "step_minutes": step_minutes,
            "per_device_per_day": {k: v / devices for k, v in kinds.items()},
            "total_per_device_per_day": sum(kinds.values()) / devices,
            "total": kinds,
            "at_setup": at_setup,
            "routes": counts,
            "failed": failed,
            "load_before": load_before,
        },
    )
