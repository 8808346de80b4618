"""Benchmark: how long setting up an account with 1 and 50 devices takes, and their memory.

The devices are at one location, against the sandbox in real time. The account is
added and set up as Home Assistant does at start; the time runs from the start of the
setup until every entity exists and Home Assistant is idle. It includes the sandbox
answering, which runs in the same process and event loop. Memory is traced
(tracemalloc) in a run of its own: what Python holds after adding 49 devices to the
running account, divided by 49, and after the account with its first device alone
(which also loads the platforms).
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest

from sandbox import Sandbox
from tests.integration.common import add_device, make_devices

from .common import load, make_entries, write_result


@pytest.mark.parametrize("entries", [1, 50])
async def test_setup_time(
    hass: HomeAssistant, sandbox: Sandbox, entry_data: dict[str, Any], entries: int
) -> None:
    load_before = load()
    device_ids = await make_devices(hass, sandbox, entry_data, entries)
    config_entries = make_entries(entry_data, sandbox.location_id, device_ids)
    for entry in config_entries:
        entry.add_to_hass(hass)
    sandbox.reset_counts()

    wall, cpu = time.perf_counter(), time.process_time()
    assert await async_setup_component(hass, "flatpeak", {})
    await hass.async_block_till_done()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu

    assert all(e.state is ConfigEntryState.LOADED for e in config_entries)
    write_result(
        f"setup_{entries}",
        {
            "entries": entries,
            "wall_ms": wall * 1000,
            "cpu_ms": cpu * 1000,
            "entities": len(hass.states.async_all()),
            "requests": sum(sandbox.request_counts.values()),
            "load_before": load_before,
        },
    )


def traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def test_memory_per_entry(
    hass: HomeAssistant, sandbox: Sandbox, entry_data: dict[str, Any]
) -> None:
    load_before = load()
    count = 50
    first_id, *rest = await make_devices(hass, sandbox, entry_data, count)
    (entry,) = make_entries(entry_data, sandbox.location_id, [first_id])
    assert await async_setup_component(hass, "flatpeak", {})
    await hass.async_block_till_done()

    tracemalloc.start()
    try:
        before = traced()
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        after_first = traced()
        # The further devices are added to the running account, as "Add device" does.
        for number, device_id in enumerate(rest, start=1):
            await add_device(hass, entry, device_id, sandbox.location_id, f"Battery {number}")
        after_rest = traced()
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()

    top = [
        {"where": str(stat.traceback[0]), "kib": stat.size / 1024}
        for stat in snapshot.statistics("filename")[:8]
    ]
    write_result(
        "memory",
        {
            "entries": count,
            "first_entry_kib": (after_first - before) / 1024,
            "per_further_entry_kib": (after_rest - after_first) / 1024 / len(rest),
            "per_entry_kib": (after_rest - before) / 1024 / count,
            "entities": len(hass.states.async_all()),
            "top_files": top,
            "load_before": load_before,
        },
    )
