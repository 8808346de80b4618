"""At a window edge: what moves is written in one callback, the charging window last."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.automation import DOMAIN as AUTOMATION_DOMAIN
from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from sandbox import Sandbox

from .common import (
    CALENDAR,
    CHARGING,
    NEXT_START,
    POWER,
    PREFIX,
    QUIET,
    TARIFF_STATUS,
    at,
    batteries_entry,
    make_devices,
    session,
    setup_entry,
    state,
)

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
    """Set up an account with count devices on the same windows; return their entity IDs by key.

    The windows are those of sessions, by default the one window from START to END.
    """
    if sessions is None:
        serve_the_window(sandbox)
    else:
        sandbox.set_schedule_override(sessions)
    device_ids = await make_devices(hass, sandbox, entry_data, count)
    await setup_entry(
        hass, batteries_entry(entry_data, sandbox.location_id, device_ids, options=QUIET)
    )
    registry = er.async_get(hass)
    return {
        device_id: {
            entity.unique_id.removeprefix(f"{device_id}_"): entity.entity_id
            for entity in registry.entities.values()
            if entity.unique_id.startswith(f"{device_id}_")
        }
        for device_id in device_ids
    }


async def test_an_edge_writes_what_moves_at_it_and_nothing_between_edges(
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
    assert {CHARGING, CALENDAR, POWER} <= set(writes.changed)
    written = {*writes.changed, *writes.reported}
    # What does not move at a window's edge is not written: the tariff, the device.
    assert TARIFF_STATUS not in written
    assert f"sensor.{PREFIX}_battery_capacity" not in written

    writes.clear()
    await at(hass, freezer, START + timedelta(minutes=10))  # no instant of ours here
    assert writes.changed == writes.reported == []


async def test_an_automation_on_the_charging_window_reads_the_new_picture(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    quiet_entry: MockConfigEntry,
) -> None:
    """As a user's automation would: triggered by the window, it reads the other entities."""
    await setup_one_entry(hass, freezer, sandbox, quiet_entry)
    read = async_capture_events(hass, "flatpeak_test_read")
    assert await async_setup_component(
        hass,
        AUTOMATION_DOMAIN,
        {
            AUTOMATION_DOMAIN: {
                "triggers": {"trigger": "state", "entity_id": CHARGING},
                "actions": {
                    "event": "flatpeak_test_read",
                    "event_data": {
                        "window": "{{ trigger.to_state.state }}",
                        "power": f"{{{{ states('{POWER}') }}}}",
                        "calendar": f"{{{{ states('{CALENDAR}') }}}}",
                        "window_start": f"{{{{ state_attr('{CHARGING}', 'window_start') }}}}",
                        "window_end": f"{{{{ state_attr('{CHARGING}', 'window_end') }}}}",
                        "next_start": f"{{{{ states('{NEXT_START}') }}}}",
                    },
                },
            }
        },
    )
    await hass.async_block_till_done()

    await at(hass, freezer, START)
    await at(hass, freezer, END)

    assert [event.data for event in read] == [
        {
            "window": "on",
            "power": 5.0,
            "calendar": "on",
            "window_start": str(START),
            "window_end": str(END),
            "next_start": "unknown",
        },
        {
            "window": "off",
            "power": 0.0,
            "calendar": "off",
            "window_start": None,
            "window_end": None,
            "next_start": "unknown",
        },
    ]


async def test_every_entry_switches_at_the_instant_each_after_its_own_picture(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    entry_data: dict[str, Any],
) -> None:
    freezer.move_to(NOW)
    devices = await setup_entries(hass, sandbox, entry_data, 3)
    writes = Writes(hass)

    for edge in (START, END):
        await at(hass, freezer, edge - timedelta(milliseconds=1))  # past the price changes
        writes.clear()
        await at(hass, freezer, edge)
        for ids in devices.values():
            window = writes.changed.index(ids["charging_window"])
            # The calendar and the power changed too, before the window they describe.
            assert writes.changed.index(ids["charging_windows"]) < window
            assert writes.changed.index(ids["current_window_power"]) < window


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
