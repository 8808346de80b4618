"""Benchmark: how late after a window boundary the charging-window state changes.

Run by `scripts/bench`, not by `scripts/test`: it runs in real time and reports figures,
it does not assert them. Home Assistant runs with the integration against the sandbox
(whose clock is the real one here); the schedule holds short windows a second apart, and
each state change of the Charging window sensor is compared with the boundary it is for.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
import statistics

from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from sandbox import Sandbox

from .common import CHARGING, session, setup_entry

WINDOWS = 15
SECOND = timedelta(seconds=1)


async def test_boundary_latency(
    hass: HomeAssistant, sandbox: Sandbox, mock_config_entry: MockConfigEntry
) -> None:
    start = dt_util.utcnow().replace(microsecond=0) + 3 * SECOND
    windows = [(start + 2 * i * SECOND, start + (2 * i + 1) * SECOND) for i in range(WINDOWS)]
    boundaries = [moment for window in windows for moment in window]
    sandbox.set_schedule_override([session(start, boundaries[-1] + SECOND, *windows)])
    changes: list[tuple[str, float]] = []

    def record(event: Event) -> None:
        if event.data["entity_id"] == CHARGING and event.data["new_state"] is not None:
            changes.append((event.data["new_state"].state, event.time_fired_timestamp))

    hass.bus.async_listen(EVENT_STATE_CHANGED, record)
    await setup_entry(hass, mock_config_entry)
    calls = sum(sandbox.request_counts.values())
    changes.clear()
    await asyncio.sleep((boundaries[-1] - dt_util.utcnow()).total_seconds() + 0.5)

    made = sum(sandbox.request_counts.values()) - calls
    latencies = [
        (fired - boundary.timestamp()) * 1000
        for (state, fired), boundary in zip(changes, boundaries, strict=False)
    ]
    states = [state for state, _ in changes]
    quantiles = statistics.quantiles(latencies, n=20)
    print(  # noqa: T201  (the figures are what the benchmark is for)
        f"\nboundary latency over {len(latencies)} boundaries (ms):"
        f" median {statistics.median(latencies):.2f}, p95 {quantiles[18]:.2f},"
        f" max {max(latencies):.2f}, min {min(latencies):.2f}"
        f"\nstates in order: {''.join('1' if s == 'on' else '0' for s in states)}"
        f" (expected {'10' * WINDOWS}); requests during the boundaries: {made}"
    )
