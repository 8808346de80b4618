"""Benchmark: the longest callback the integration runs on the event loop.

Every callback the loop runs (`asyncio.Handle._run`: plain callbacks, timers and the
steps of tasks) is timed while Home Assistant, in real time against the sandbox, sets
up an account with 50 devices, takes in a week's schedule of 7 x 48 slots for each from the sandbox,
lists each calendar's week and passes 20 window edges. A callback counts as the
integration's when the integration's code is in it: its function, the job or partial
it calls, or the chain of coroutines a task step resumes. The sandbox runs in the same
loop; its callbacks are timed too, but are not the integration's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
import contextlib
from datetime import UTC, datetime, timedelta
import functools
import gc
import inspect
from pathlib import Path
import time
from typing import Any

from homeassistant.components.calendar import DOMAIN as CALENDAR
from homeassistant.core import HassJob, HomeAssistant
from homeassistant.setup import async_setup_component

import custom_components.flatpeak
from sandbox import Sandbox
from tests.integration.common import make_devices, session

from .bench_cpu import week
from .common import entity_ids, load, make_entries, write_result

PACKAGE = custom_components.flatpeak.__name__
ROOT = str(Path(custom_components.flatpeak.__file__).parents[2])
SLOW = 0.001  # seconds: callbacks longer than this are kept with their description
# A slow callback: its time, what it ran, and how much of its time garbage collections took.
type Slow = tuple[float, list[str], float]
ENTRIES = 50
EDGES = 20


def _where(code: Any) -> str:
    filename = str(code.co_filename)
    short = filename.removeprefix(ROOT + "/")
    if "site-packages/" in short:
        short = short.split("site-packages/", 1)[1]
    return f"{short}:{code.co_qualname}"


def _owner(value: Any) -> str:
    """An object of the integration's that a callback was handed, as `file:Class`."""
    kind = type(value)
    return f"{kind.__module__.replace('.', '/')}.py:{kind.__qualname__} (argument)"


def _coroutine_chain(coro: Any) -> list[str]:
    """The coroutines a task step resumes, outermost first.

    A coroutine that has not started awaits nothing yet: the coroutine it was
    handed to run (Home Assistant's `async_request_call(coro)`, say) is found
    among its arguments.
    """
    chain = []
    for _ in range(30):
        code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
        if code is None:
            break
        chain.append(_where(code))
        awaited = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
        if awaited is None and inspect.iscoroutine(coro) and not coro.cr_running:
            arguments = list(coro.cr_frame.f_locals.values())
            owners = [_owner(v) for v in arguments if type(v).__module__.startswith(PACKAGE)]
            chain += [owner for owner in owners if owner not in chain]
            handed = [v for v in arguments if inspect.iscoroutine(v)]
            awaited = handed[0] if handed else None
        coro = awaited
    return chain


def describe(callback: Callable[..., Any], args: tuple[Any, ...]) -> list[str]:
    """The code a callback runs, as `file:function`, outermost first."""
    found: list[str] = []
    pending: list[Any] = [callback, *args]
    for _ in range(12):
        if not pending:
            break
        item = pending.pop(0)
        if isinstance(item, functools.partial):
            pending += [item.func, *item.args]
            continue
        if isinstance(item, HassJob):
            pending.append(item.target)
            continue
        owner = getattr(item, "__self__", None)
        if isinstance(owner, asyncio.Task):
            found += _coroutine_chain(owner.get_coro())
            continue
        function = getattr(item, "__func__", item)
        code = getattr(function, "__code__", None)
        if code is not None:
            found.append(_where(code))
        elif isinstance(getattr(item, "job", None), HassJob):  # a time tracker of Home Assistant
            found.append(f"{type(item).__module__}:{type(item).__qualname__}")
            pending.append(item.job)
        elif not found:
            found.append(
                f"{type(item).__module__}:{getattr(item, '__qualname__', type(item).__qualname__)}"
            )
    return found


def is_ours(chain: list[str]) -> bool:
    """Say whether the integration's code is in what a callback ran."""
    return any(step.startswith("custom_components/flatpeak/") for step in chain)


def distinct(slow: list[Slow], count: int) -> list[dict[str, Any]]:
    """The slowest of each kind of callback (the same code run), slowest first."""
    kinds: dict[tuple[str, ...], dict[str, Any]] = {}
    for took, chain, collecting in slow:
        kind = kinds.setdefault(
            tuple(chain),
            {"ms": took * 1000, "gc_ms": collecting * 1000, "times": 0, "runs": chain},
        )
        kind["times"] += 1
    return sorted(kinds.values(), key=lambda kind: -kind["ms"])[:count]


@contextlib.contextmanager
def timed_handles(slow: list[Slow], totals: dict[str, float]) -> Iterator[None]:
    """Time every callback the loop runs; keep the slow ones with what they ran.

    Python's garbage collections are timed too: each slow callback keeps how much of
    its time went to collections, which run wherever allocations happen to trigger them.
    """
    original = asyncio.Handle._run
    collecting = {"began": 0.0, "total": 0.0}

    def collection(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collecting["began"] = time.perf_counter()
        else:
            took = time.perf_counter() - collecting["began"]
            collecting["total"] += took
            totals["gc_max"] = max(totals["gc_max"], took)
            totals["gc_full"] += info["generation"] == 2

    def run(handle: asyncio.Handle) -> None:
        chain = describe(handle._callback, handle._args)
        gc_before = collecting["total"]
        began = time.perf_counter()
        try:
            original(handle)
        finally:
            took = time.perf_counter() - began
            totals["count"] += 1
            totals["max_any"] = max(totals["max_any"], took)
            if took >= SLOW:
                slow.append((took, chain, collecting["total"] - gc_before))

    gc.callbacks.append(collection)
    asyncio.Handle._run = run  # type: ignore[method-assign]
    try:
        yield
    finally:
        asyncio.Handle._run = original  # type: ignore[method-assign]
        gc.callbacks.remove(collection)


async def test_longest_callback(
    hass: HomeAssistant, sandbox: Sandbox, entry_data: dict[str, Any]
) -> None:
    load_before = load()
    device_ids = await make_devices(hass, sandbox, entry_data, ENTRIES)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    sandbox.set_schedule_override(week(start, 5000)["data"])
    config_entries = make_entries(entry_data, sandbox.location_id, device_ids)
    slow: list[Slow] = []
    totals = {"count": 0.0, "max_any": 0.0, "gc_max": 0.0, "gc_full": 0.0}
    phases: dict[str, float] = {}

    with timed_handles(slow, totals):
        began = time.perf_counter()
        for entry in config_entries:
            entry.add_to_hass(hass)
        assert await async_setup_component(hass, "flatpeak", {})
        await hass.async_block_till_done()
        phases["setup"] = time.perf_counter() - began

        # A new week's schedule for every entry, fetched from the sandbox.
        began = time.perf_counter()
        sandbox.set_schedule_override(week(start + timedelta(minutes=30), 3600)["data"])
        await asyncio.gather(
            *(
                d.schedule.async_refresh()
                for e in config_entries
                for d in e.runtime_data.devices.values()
            )
        )
        await hass.async_block_till_done()
        phases["week_schedule"] = time.perf_counter() - began

        began = time.perf_counter()
        calendars = entity_ids(hass, device_ids, "calendar", "charging_windows")
        await hass.services.async_call(
            CALENDAR,
            "get_events",
            {"entity_id": calendars, "duration": {"days": 7}},
            blocking=True,
            return_response=True,
        )
        phases["calendars"] = time.perf_counter() - began

        # Window edges half a second apart, at every entry at once.
        began = time.perf_counter()
        first = datetime.now(UTC) + timedelta(seconds=2)
        edges = [first + timedelta(seconds=0.5 * i) for i in range(EDGES)]
        slots = list(zip(edges[::2], edges[1::2], strict=True))
        sandbox.set_schedule_override([session(first, edges[-1] + timedelta(minutes=1), *slots)])
        await asyncio.gather(
            *(
                d.schedule.async_refresh()
                for e in config_entries
                for d in e.runtime_data.devices.values()
            )
        )
        await asyncio.sleep((edges[-1] - datetime.now(UTC)).total_seconds() + 1)
        await hass.async_block_till_done()
        phases["edges"] = time.perf_counter() - began

    ours = sorted((item for item in slow if is_ours(item[1])), reverse=True)
    others = sorted((item for item in slow if not is_ours(item[1])), reverse=True)
    own = sorted((took - collecting for took, _, collecting in ours), reverse=True)
    write_result(
        "loop",
        {
            "entries": ENTRIES,
            "callbacks": int(totals["count"]),
            "threshold_ms": SLOW * 1000,
            "max_any_ms": totals["max_any"] * 1000,
            "ours_over_threshold": len(ours),
            "ours_over_10ms": sum(1 for took, _, _ in ours if took > 0.010),
            "max_ours_ms": ours[0][0] * 1000 if ours else 0.0,
            "ours_over_10ms_without_gc": sum(1 for took in own if took > 0.010),
            "max_ours_without_gc_ms": own[0] * 1000 if own else 0.0,
            "gc_max_ms": totals["gc_max"] * 1000,
            "gc_full": int(totals["gc_full"]),
            "slowest_ours": distinct(ours, 8),
            # The same, each callback's time without the collections in it.
            "slowest_ours_without_gc": distinct(
                sorted(((took - gc_ms, chain, 0.0) for took, chain, gc_ms in ours), reverse=True),
                8,
            ),
            "slowest_others": distinct(others, 5),
            "phases_s": phases,
            "load_before": load_before,
        },
    )
