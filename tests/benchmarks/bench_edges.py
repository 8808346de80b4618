"""Benchmark: how late after a window edge the charging-window state changes, in real time.

Home Assistant runs one account with 1 or 50 devices (all at the same location)
against the sandbox, whose clock is the real one here. The schedule holds
more than 100 edges at irregular sub-second offsets, about a second apart, and each
state change of every device's Charging window sensor is compared with the edge it is
for. Beside it, in the same Home Assistant, a template binary sensor compares `now()`
with the same windows, as one would without the integration: Home Assistant renders
such a template once a minute, so it sees an edge only if a minute starts before the
next edge, and then late.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
import gc
import random
import time
from typing import Any

from homeassistant.components.template import DOMAIN as TEMPLATE
from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE, EVENT_STATE_CHANGED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.setup import async_setup_component
import pytest

from sandbox import Sandbox
from tests.integration.common import QUIET, make_devices, session

from .common import entity_ids, load, make_entries, summary, write_result

EDGES = 120  # 60 windows
TEMPLATE_ENTITY = "binary_sensor.template_charging_window"
LEAD = 8.0  # seconds from planning the edges to the first: time for 50 entries to fetch them
TAIL = 5.0  # seconds from the last edge to the minute after it


@pytest.fixture
def expected_lingering_timers() -> bool:
    """The template's once-a-minute timer outlives the test; Home Assistant is stopped."""
    return True


def plan_edges(now: float) -> list[float]:
    """EDGES edge instants (epoch seconds) from now + LEAD to 5 s before a minute starts.

    Ending just before a minute starts lets the template catch the last edge
    without waiting most of a minute for it.
    """
    first = now + LEAD
    end = (int((first + 100 + TAIL) // 60) + 1) * 60 - TAIL
    rng = random.Random(int(now))
    gaps = [rng.uniform(0.5, 1.5) for _ in range(EDGES - 1)]
    scale = (end - first) / sum(gaps)
    edges = [first]
    for gap in gaps:
        edges.append(edges[-1] + gap * scale)
    return [round(edge, 3) for edge in edges]


def template_config(windows: list[tuple[float, float]]) -> dict[str, Any]:
    """A template binary sensor that is on while now() lies in one of the windows."""
    listed = ", ".join(f"[{a}, {b}]" for a, b in windows)
    state = (
        "{% set t = now().timestamp() %}{% set ns = namespace(on=false) %}"
        f"{{% for w in [{listed}] %}}"
        "{% if w[0] <= t < w[1] %}{% set ns.on = true %}{% endif %}"
        "{% endfor %}{{ ns.on }}"
    )
    return {
        TEMPLATE: [
            {
                "binary_sensor": [
                    {
                        "name": "Template charging window",
                        "unique_id": "bench",
                        "state": state,
                        # Changes at each rendering, so that every rendering is seen.
                        "attributes": {"rendered": "{{ now().isoformat() }}"},
                    }
                ]
            }
        ]
    }


def integration_latencies(
    changes: list[tuple[str, float]], edges: list[float]
) -> tuple[list[float], int]:
    """The latency (ms) of each edge from one entity's changes, and how many were missed."""
    latencies, missed, index = [], 0, 0
    for number, edge in enumerate(edges):
        wanted = "on" if number % 2 == 0 else "off"
        limit = edges[number + 1] if number + 1 < len(edges) else edge + 60
        while index < len(changes) and changes[index][1] < edge - 0.5:
            index += 1
        if index < len(changes) and changes[index][0] == wanted and changes[index][1] < limit:
            latencies.append((changes[index][1] - edge) * 1000)
            index += 1
        else:
            missed += 1
    return latencies, missed


def template_latencies(
    changes: list[tuple[str, float]], edges: list[float]
) -> tuple[list[float], int]:
    """For the template: the edges it showed before the next one, with their delay (ms).

    Each rendering writes the template's state (an attribute holds the time of
    rendering). An edge counts as shown when a rendering after it and before
    the next edge gave the state the edge brings; otherwise it was missed.
    """
    latencies, missed = [], 0
    for number, edge in enumerate(edges):
        wanted = "on" if number % 2 == 0 else "off"
        limit = edges[number + 1] if number + 1 < len(edges) else edge + 120
        shown = [fired for state, fired in changes if state == wanted and edge <= fired < limit]
        if shown:
            latencies.append((shown[0] - edge) * 1000)
        else:
            missed += 1
    return latencies, missed


@contextmanager
def collections_seen() -> Iterator[list[tuple[float, float, int]]]:
    """Record each garbage collection meanwhile: its start and end (epoch s), its generation."""
    seen: list[tuple[float, float, int]] = []
    started: list[float] = []

    def collection(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started.append(time.time())
        elif started:
            seen.append((started.pop(), time.time(), info["generation"]))

    gc.callbacks.append(collection)
    try:
        yield seen
    finally:
        gc.callbacks.remove(collection)


def collections_at_edges(
    per_edge: list[list[float]], edges: list[float], seen: list[tuple[float, float, int]]
) -> dict[int, float]:
    """The edges garbage collections overlapped (from just before each to its last change).

    For each, how long those collections took, in ms.
    """
    touched = {}
    for number, (edge, found) in enumerate(zip(edges, per_edge, strict=True)):
        begin, end = edge - 0.005, edge + (max(found) if found else 0) / 1000
        took = sum(stop - start for start, stop, _ in seen if start < end and stop > begin)
        if took:
            touched[number] = took * 1000
    return touched


@pytest.mark.parametrize("entries", [1, 50])
async def test_edge_latency(
    hass: HomeAssistant, sandbox: Sandbox, entry_data: dict[str, Any], entries: int
) -> None:
    load_before = load()
    device_ids = await make_devices(hass, sandbox, entry_data, entries)
    far = datetime.now(UTC) + timedelta(days=1)
    sandbox.set_schedule_override([session(far, far + timedelta(hours=2), (far, far))])
    config_entries = make_entries(entry_data, sandbox.location_id, device_ids, QUIET)
    for entry in config_entries:
        entry.add_to_hass(hass)
    assert await async_setup_component(hass, "flatpeak", {})
    await hass.async_block_till_done()
    charging = entity_ids(hass, device_ids, "binary_sensor", "charging_window")
    watched = {*charging, TEMPLATE_ENTITY}

    edges = plan_edges(time.time())
    windows = list(zip(edges[::2], edges[1::2], strict=True))
    moment = [datetime.fromtimestamp(edge, UTC) for edge in edges]
    slots = list(zip(moment[::2], moment[1::2], strict=True))
    sandbox.set_schedule_override(
        [session(moment[0] - timedelta(minutes=1), moment[-1] + timedelta(minutes=1), *slots)]
    )
    assert await async_setup_component(hass, TEMPLATE, template_config(windows))
    await hass.async_block_till_done()

    changes: dict[str, list[tuple[str, float]]] = {entity_id: [] for entity_id in watched}

    @callback
    def record(event: Event) -> None:
        entity_id = event.data["entity_id"]
        new = event.data["new_state"]
        if entity_id in watched and new is not None:
            changes[entity_id].append((new.state, event.time_fired_timestamp))

    hass.bus.async_listen(EVENT_STATE_CHANGED, record)
    # Each entry fetches the new schedule now, as it would on its next poll.
    await asyncio.gather(
        *(
            d.schedule.async_refresh()
            for e in config_entries
            for d in e.runtime_data.devices.values()
        )
    )
    # What the set-up and the fetches left to store is written now, not during the edges:
    # under test, the stand-in for Home Assistant's storage encodes it on the event loop.
    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done()
    assert time.time() < edges[0] - 0.5, "the schedule arrived after the first edge"
    requests = sum(sandbox.request_counts.values())
    with collections_seen() as seen:
        await asyncio.sleep(edges[-1] + TAIL + 2 - time.time())
    made = sum(sandbox.request_counts.values()) - requests

    latencies: list[float] = []
    per_edge_spread: list[list[float]] = [[] for _ in edges]
    missed = 0
    for entity_id in charging:
        found, lost = integration_latencies(changes[entity_id], edges)
        missed += lost
        latencies += found
        if not lost:
            for number, value in enumerate(found):
                per_edge_spread[number].append(value)
    spread = [max(v) - min(v) for v in per_edge_spread if v]
    touched = collections_at_edges(per_edge_spread, edges, seen)
    without_gc = [
        value
        for number, found in enumerate(per_edge_spread)
        if number not in touched
        for value in found
    ]
    template, template_missed = template_latencies(changes[TEMPLATE_ENTITY], edges)
    write_result(
        f"edges_{entries}",
        {
            "entries": entries,
            "edges": len(edges),
            "window_seconds": summary(b - a for a, b in windows),
            "span_seconds": edges[-1] - edges[0],
            "integration_ms": summary(latencies),
            "integration_missed": missed,
            "integration_samples": sorted(latencies),
            "spread_across_entries_ms": summary(spread),
            "edges_with_gc": len(touched),
            "gc_at_edges_ms": sorted(touched.values()),
            "collections": len(seen),
            "integration_without_gc_ms": summary(without_gc),
            "template_ms": summary(template),
            "template_shown": len(template),
            "template_missed": template_missed,
            "template_samples": sorted(template),
            "template_renders": [
                fired for _, fired in changes[TEMPLATE_ENTITY] if edges[0] <= fired
            ],
            "requests_during_edges": made,
            "load_before": load_before,
        },
    )
