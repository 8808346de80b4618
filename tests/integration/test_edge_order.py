"""At a window edge: only what changes is written, the charging windows of every entry first."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
import gc
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.calendar import DOMAIN as CALENDAR_DOMAIN
from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.flatpeak.const import CONF_DEVICE_ID, DOMAIN
from sandbox import Sandbox

from .common import CALENDAR, CHARGING, QUIET, at, make_devices, session, setup_entry, state

NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
START, END = NOW + timedelta(minutes=40), NOW + timedelta(minutes=70)


class Writes:
    """The states written to the state machine, in order: changed or merely reported."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.changed: list[str] = []
        self.reported: list[str] = []
        hass.bus.async_listen(EVENT_STATE_CHANGED, self._changed)
        hass.bus.async_listen(EVENT_STATE_REPORTED, self._reported, event_filter=self._any)

    @staticmethod
    @callback
    def _any(_data: Any) -> bool:
        return True

    @callback
    def _changed(self, event: Event[Any]) -> None:
        self.changed.append(event.data["entity_id"])

    @callback
    def _reported(self, event: Event[Any]) -> None:
        self.reported.append(event.data["entity_id"])

    def clear(self) -> None:
        self.changed.clear()
        self.reported.clear()


def serve_the_window(sandbox: Sandbox) -> None:
    sandbox.set_schedule_override([session(NOW, NOW + timedelta(hours=3), (START, END))])


async def setup_one_entry(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, sandbox: Sandbox, entry: MockConfigEntry
) -> None:
    freezer.move_to(NOW)
    serve_the_window(sandbox)
    await setup_entry(hass, entry)


async def setup_entries(
    hass: HomeAssistant,
    sandbox: Sandbox,
    entry_data: dict[str, Any],
    count: int,
    sessions: list[dict[str, Any]] | None = None,
) -> dict[str, dict[str, str]]:
    """Set up count entries on the same windows; return each device's entity IDs by key.

    The windows are those of sessions, by default the one window from START to END.
    """
    if sessions is None:
        serve_the_window(sandbox)
    else:
        sandbox.set_schedule_override(sessions)
    device_ids = await make_devices(hass, sandbox, entry_data, count)
    for number, device_id in enumerate(device_ids):
        entry = MockConfigEntry(
            domain=DOMAIN,
            title=f"Battery {number}",
            data={**entry_data, CONF_DEVICE_ID: device_id},
            unique_id=device_id,
            options=QUIET,
        )
        await setup_entry(hass, entry)
    registry = er.async_get(hass)
    return {
        device_id: {
            entity.unique_id.removeprefix(f"{device_id}_"): entity.entity_id
            for entity in registry.entities.values()
            if entity.unique_id.startswith(f"{device_id}_")
        }
        for device_id in device_ids
    }


async def test_only_what_changes_at_an_edge_is_written(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    quiet_entry: MockConfigEntry,
) -> None:
    await setup_one_entry(hass, freezer, sandbox, quiet_entry)
    writes = Writes(hass)

    await at(hass, freezer, START)
    assert state(hass, CHARGING) == "on"
    assert state(hass, CALENDAR) == "on"
    assert CHARGING in writes.changed
    # Nothing was written again unchanged: the schedule status, the tariff, the
    # planned totals and the rest stayed as they were, unwritten.
    assert [e for e in writes.reported if e.split(".")[1].startswith("nova")] == []

    writes.clear()
    await at(hass, freezer, START + timedelta(minutes=10))  # no boundary here
    assert writes.changed == writes.reported == []


async def test_every_entrys_charging_window_switches_before_anything_else(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    entry_data: dict[str, Any],
) -> None:
    freezer.move_to(NOW)
    devices = await setup_entries(hass, sandbox, entry_data, 3)
    windows = {ids["charging_window"] for ids in devices.values()}
    ours = {entity_id for ids in devices.values() for entity_id in ids.values()}
    writes = Writes(hass)

    for edge in (START, END):
        await at(hass, freezer, edge - timedelta(milliseconds=1))  # past the price changes
        writes.clear()
        await at(hass, freezer, edge)
        changed = [entity_id for entity_id in writes.changed if entity_id in ours]
        assert set(changed[:3]) == windows, changed
        # The calendar and the power changed too, after every charging window.
        assert {ids["charging_windows"] for ids in devices.values()} <= set(changed[3:])
        assert {ids["current_window_power"] for ids in devices.values()} <= set(changed[3:])


async def test_a_calendar_alarm_before_the_timer_still_switches_the_windows_first(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    entry_data: dict[str, Any],
) -> None:
    """Home Assistant's own alarm for a calendar event may run before the edge's timer."""
    freezer.move_to(NOW)
    devices = await setup_entries(hass, sandbox, entry_data, 2)
    first, second = devices.values()
    writes = Writes(hass)

    freezer.move_to(START)  # the instant has come; no timer has run yet
    calendar = hass.data[CALENDAR_DOMAIN].get_entity(second["charging_windows"])
    calendar.async_write_ha_state()  # as the calendar's alarm does

    assert writes.changed[:3] == [
        first["charging_window"],
        second["charging_window"],
        second["charging_windows"],
    ]
    assert state(hass, first["charging_window"]) == "on"
    await hass.async_block_till_done(wait_background_tasks=True)
    assert state(hass, first["charging_windows"]) == "on"
    # The timer for the instant was passed with it: nothing runs twice.
    writes.clear()
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [e for e in writes.changed if e in first.values() or e in second.values()] == []


async def test_timers_fired_before_their_instant_wait_for_it(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    quiet_entry: MockConfigEntry,
) -> None:
    """A timer run early (as time travel under test can) arms again for the same instant."""
    await setup_one_entry(hass, freezer, sandbox, quiet_entry)

    async_fire_time_changed(hass, START, fire_all=True)  # the clock still reads NOW
    await hass.async_block_till_done(wait_background_tasks=True)
    assert state(hass, CHARGING) == "off"

    await at(hass, freezer, START)
    assert state(hass, CHARGING) == "on"


async def test_collections_wait_while_the_instant_passes(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    entry_data: dict[str, Any],
) -> None:
    """Garbage collection is held from just before an instant until every entry switched."""
    freezer.move_to(NOW)
    devices = await setup_entries(hass, sandbox, entry_data, 3)
    windows = {ids["charging_window"] for ids in devices.values()}
    collecting: list[bool] = []

    @callback
    def switched(event: Event[Any]) -> None:
        if event.data["entity_id"] in windows:
            collecting.append(gc.isenabled())

    hass.bus.async_listen(EVENT_STATE_CHANGED, switched)
    assert gc.isenabled()

    # A millisecond before the instant: nothing has switched, and collections run.
    await at(hass, freezer, START - timedelta(milliseconds=1))
    assert collecting == []
    assert gc.isenabled()

    await at(hass, freezer, START)
    assert collecting == [False, False, False]
    assert gc.isenabled()

    # Approached and passed at once, as when the timer comes late.
    await at(hass, freezer, END + timedelta(seconds=1))
    assert collecting[3:] == [False, False, False]
    assert gc.isenabled()


async def test_in_real_time_each_entry_switches_at_the_instant_never_before(
    hass: HomeAssistant, sandbox: Sandbox, entry_data: dict[str, Any]
) -> None:
    """On the real clock: every charging window switches at its edge, none ahead of it."""
    now = dt_util.utcnow()
    edges = [now + timedelta(seconds=second) for second in (2.0, 2.3, 2.6, 2.9)]
    edges = [edge.replace(microsecond=edge.microsecond // 1000 * 1000) for edge in edges]
    windows = (edges[0], edges[1]), (edges[2], edges[3])
    devices = await setup_entries(
        hass, sandbox, entry_data, 2, [session(now, now + timedelta(hours=1), *windows)]
    )
    charging = {ids["charging_window"] for ids in devices.values()}
    changes: list[tuple[str, str, float]] = []

    @callback
    def record(event: Event[Any]) -> None:
        if event.data["entity_id"] in charging and event.data["new_state"]:
            changes.append(
                (event.data["entity_id"], event.data["new_state"].state, event.time_fired_timestamp)
            )

    assert dt_util.utcnow() < edges[0], "set-up took longer than the lead given"
    hass.bus.async_listen(EVENT_STATE_CHANGED, record)
    await asyncio.sleep((edges[-1] - dt_util.utcnow()).total_seconds() + 0.2)
    await hass.async_block_till_done()

    for entity_id in charging:
        seen = [(value, fired) for known, value, fired in changes if known == entity_id]
        assert [value for value, _ in seen] == ["on", "off", "on", "off"]
        for (_, fired), edge, following in zip(seen, edges, [*edges[1:], None], strict=True):
            assert fired >= edge.timestamp(), "switched before its instant"
            assert following is None or fired < following.timestamp()
    assert gc.isenabled()
