"""The schedule-change event: what moved between two revisions of the schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import json
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from sandbox import Sandbox

from .common import CALENDAR, CHARGING, PREFIX, at, device_of, session, setup_entry, state

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
EVENT = f"event.{PREFIX}_schedule_change"
H = timedelta(hours=1)
M = timedelta(minutes=1)


def attributes(hass: HomeAssistant) -> dict[str, Any]:
    current = hass.states.get(EVENT)
    assert current is not None
    return dict(current.attributes)


def local(moment: datetime) -> str:
    return dt_util.as_local(moment).isoformat()


def window(start: datetime, end: datetime, power_kw: float = 5.0) -> dict[str, Any]:
    """A window as the event shows it, in Home Assistant's time zone."""
    return {
        "start": local(start),
        "end": local(end),
        "power_kw": power_kw,
        "vpp_event": False,
    }


@pytest.fixture(autouse=True)
def _now(freezer: FrozenDateTimeFactory) -> None:
    freezer.move_to(NOW)


async def refetch(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await device_of(entry).schedule.async_refresh()
    await hass.async_block_till_done()


async def test_fires_with_the_windows_added_removed_and_shifted(
    hass: HomeAssistant, sandbox: Sandbox, mock_config_entry: MockConfigEntry
) -> None:
    kept = (NOW + 2 * H, NOW + 3 * H)
    moved = (NOW + 4 * H, NOW + 5 * H)
    dropped = (NOW + 8 * H, NOW + 9 * H)
    sandbox.set_schedule_override([session(NOW, NOW + 12 * H, kept, moved, dropped)])
    await setup_entry(hass, mock_config_entry)
    assert state(hass, EVENT) == "unknown"

    # The same schedule again: no event.
    await refetch(hass, mock_config_entry)
    assert state(hass, EVENT) == "unknown"

    shifted_to = (NOW + 4 * H + 30 * M, NOW + 5 * H + 30 * M)
    added = (NOW + 10 * H, NOW + 11 * H)
    sandbox.set_schedule_override([session(NOW, NOW + 12 * H, kept, shifted_to, added)])
    await refetch(hass, mock_config_entry)

    assert state(hass, EVENT) == NOW.isoformat(timespec="milliseconds")
    data = attributes(hass)
    assert data["event_type"] == "schedule_changed"
    assert data["added"] == [window(*added)]
    assert data["removed"] == [window(*dropped)]
    assert data["shifted"] == [
        {
            **window(*shifted_to),
            "previous_start": local(moved[0]),
            "previous_end": local(moved[1]),
            "previous_power_kw": 5.0,
        }
    ]
    assert data["not_listed"] == 0
    assert data["late_notice"] is False
    assert data["summary"] == "1 window added, 1 removed, 1 shifted"


async def test_a_window_published_at_short_notice_is_flagged(
    hass: HomeAssistant, sandbox: Sandbox, mock_config_entry: MockConfigEntry
) -> None:
    sandbox.set_schedule_override([session(NOW, NOW + 12 * H, (NOW + 6 * H, NOW + 7 * H))])
    await setup_entry(hass, mock_config_entry)

    soon = (NOW + 10 * M, NOW + 40 * M)  # within the 15-minute lead time
    sandbox.set_schedule_override([session(NOW, NOW + 12 * H, soon, (NOW + 6 * H, NOW + 7 * H))])
    await refetch(hass, mock_config_entry)
    data = attributes(hass)
    assert data["added"] == [window(*soon)]
    assert data["late_notice"] is True
    assert data["summary"] == "1 window added (at short notice)"


async def test_a_change_of_power_is_a_shift_and_ended_windows_do_not_count(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    mock_config_entry: MockConfigEntry,
) -> None:
    past = (NOW - 2 * H, NOW - H)
    later = (NOW + 2 * H, NOW + 3 * H)
    sandbox.set_schedule_override([session(NOW - 3 * H, NOW + 6 * H, past, later)])
    await setup_entry(hass, mock_config_entry)

    # The ended window disappears and the later one draws less power.
    sandbox.set_schedule_override([session(NOW, NOW + 6 * H, later, power_w=3000)])
    await refetch(hass, mock_config_entry)
    data = attributes(hass)
    assert data["removed"] == []
    assert data["added"] == []
    assert [(s["power_kw"], s["previous_power_kw"]) for s in data["shifted"]] == [(3.0, 5.0)]
    assert data["summary"] == "1 window shifted"


async def test_after_a_restart_the_cached_schedule_is_compared_with_the_new_one(
    hass: HomeAssistant, sandbox: Sandbox, mock_config_entry: MockConfigEntry
) -> None:
    first = (NOW + 2 * H, NOW + 3 * H)
    sandbox.set_schedule_override([session(NOW, NOW + 6 * H, first)])
    await setup_entry(hass, mock_config_entry)
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)

    second = (NOW + 4 * H, NOW + 5 * H)
    sandbox.set_schedule_override([session(NOW, NOW + 6 * H, first, second)])
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    data = attributes(hass)
    assert data["added"] == [window(*second)]
    assert data["summary"] == "1 window added"


async def test_a_whole_new_week_lists_the_soonest_windows_and_counts_the_rest(
    hass: HomeAssistant, sandbox: Sandbox, mock_config_entry: MockConfigEntry
) -> None:
    hours = [(NOW + i * H, NOW + i * H + 30 * M) for i in range(1, 169, 4)]  # 42 windows
    sandbox.set_schedule_override([session(NOW, NOW + 7 * 24 * H, *hours)])
    await setup_entry(hass, mock_config_entry)

    # Every window moves by a quarter of an hour, and a few are added at the end.
    moved = [(start + 15 * M, end + 15 * M) for start, end in hours]
    added = [(NOW + 169 * H + i * H, NOW + 169 * H + i * H + 10 * M) for i in range(12)]
    sandbox.set_schedule_override([session(NOW, NOW + 8 * 24 * H, *moved, *added)])
    await refetch(hass, mock_config_entry)

    data = attributes(hass)
    assert data["summary"] == "12 windows added, 42 shifted"
    assert data["added"] == [window(*span) for span in added[:10]]
    assert [(s["start"], s["previous_start"]) for s in data["shifted"]] == [
        (local(new[0]), local(old[0])) for new, old in zip(moved[:10], hours[:10], strict=True)
    ]
    assert data["removed"] == []
    assert data["not_listed"] == 2 + 32
    # Well within what the recorder keeps of an entity's attributes.
    assert len(json.dumps(data)) < 16384 // 2


async def test_a_running_window_planned_again_from_now_is_the_same_window(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Flatpeak plans from the moment it is asked: during a window, it starts "now"."""
    start, end = NOW + H, NOW + 3 * H
    sandbox.set_schedule_override([session(NOW, NOW + 6 * H, (start, end))])
    await setup_entry(hass, mock_config_entry)
    await at(hass, freezer, start)
    assert state(hass, CHARGING) == "on"
    before = attributes(hass)

    # Asked again 20 minutes into the window (a refresh, a state of charge, an option).
    await at(hass, freezer, start + 20 * M)
    sandbox.set_schedule_override([session(NOW, NOW + 6 * H, (start + 20 * M, end))])
    await refetch(hass, mock_config_entry)

    assert attributes(hass) == before  # no event
    window_attributes = hass.states.get(CHARGING).attributes  # type: ignore[union-attr]
    assert window_attributes["window_start"] == start
    assert (await calendar_starts(hass, NOW, NOW + 6 * H)) == [start]
    assert device_of(mock_config_entry).schedule.plan.slots[0].start == start  # type: ignore[union-attr]

    # Asked again later, still the same window: it keeps the start it began at.
    await at(hass, freezer, start + 50 * M)
    sandbox.set_schedule_override([session(NOW, NOW + 6 * H, (start + 50 * M, end))])
    await refetch(hass, mock_config_entry)
    assert attributes(hass) == before
    assert hass.states.get(CHARGING).attributes["window_start"] == start  # type: ignore[union-attr]

    # A real change (another end) is reported as such.
    sandbox.set_schedule_override([session(NOW, NOW + 6 * H, (start + 50 * M, end + H))])
    await refetch(hass, mock_config_entry)
    assert attributes(hass)["summary"] == "1 window shifted (at short notice)"


async def calendar_starts(hass: HomeAssistant, start: datetime, end: datetime) -> list[datetime]:
    """The starts of the calendar's events between start and end, as instants."""
    answer = await hass.services.async_call(
        "calendar",
        "get_events",
        {"entity_id": CALENDAR, "start_date_time": start, "end_date_time": end},
        blocking=True,
        return_response=True,
    )
    assert answer is not None
    events: Any = answer[CALENDAR]["events"]
    return [dt_util.as_utc(datetime.fromisoformat(event["start"])) for event in events]
