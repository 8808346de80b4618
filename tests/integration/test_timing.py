"""Entities change at the exact boundary instant, without asking the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from sandbox import Sandbox

from .common import (
    CALENDAR,
    CHARGING,
    MINUTE,
    NEXT_START,
    STARTING_SOON,
    VPP,
    at,
    device_of,
    session,
    setup_entry,
    state,
)

NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)


async def test_window_turns_on_and_off_at_the_exact_instant(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    quiet_entry: MockConfigEntry,
) -> None:
    start, end = NOW + timedelta(minutes=40), NOW + timedelta(minutes=70)
    freezer.move_to(NOW)
    sandbox.set_schedule_override([session(NOW, NOW + timedelta(hours=3), (start, end))])
    await setup_entry(hass, quiet_entry)
    calls = dict(sandbox.request_counts)

    await at(hass, freezer, start - MINUTE * 15 - timedelta(milliseconds=1))
    assert state(hass, STARTING_SOON) == "off"
    await at(hass, freezer, start - MINUTE * 15)
    assert state(hass, STARTING_SOON) == "on"

    await at(hass, freezer, start - timedelta(milliseconds=1))
    assert state(hass, CHARGING) == "off"
    await at(hass, freezer, start)
    assert state(hass, CHARGING) == "on"
    assert state(hass, STARTING_SOON) == "off"
    assert hass.states.get(CHARGING).attributes["window_end"] == end  # type: ignore[union-attr]

    await at(hass, freezer, end - timedelta(milliseconds=1))
    assert state(hass, CHARGING) == "on"
    await at(hass, freezer, end)
    assert state(hass, CHARGING) == "off"
    assert state(hass, NEXT_START) == "unknown"

    # Boundaries cost no request at all.
    assert sandbox.request_counts == calls


async def test_touching_slots_never_blink_off(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    quiet_entry: MockConfigEntry,
) -> None:
    a, b, c = (NOW + timedelta(minutes=m) for m in (10, 40, 70))
    freezer.move_to(NOW)
    sandbox.set_schedule_override(
        [
            session(NOW, NOW + timedelta(hours=1), (a, b)),
            session(NOW + timedelta(hours=1), NOW + timedelta(hours=3), (b, c)),
        ]
    )
    await setup_entry(hass, quiet_entry)
    changes: list[str] = []
    hass.bus.async_listen(
        "state_changed",
        lambda event: changes.append(event.data["new_state"].state)
        if event.data["entity_id"] == CHARGING
        else None,
    )

    for moment in (a, b - timedelta(milliseconds=1), b, b + MINUTE, c):
        await at(hass, freezer, moment)

    assert changes == ["on", "off"]
    # The calendar keeps the two slots apart.
    events = await calendar_events(hass, NOW, NOW + timedelta(hours=3))
    assert [(e["start"], e["end"]) for e in events] == [
        (a.isoformat(), b.isoformat()),
        (b.isoformat(), c.isoformat()),
    ]


async def calendar_events(hass: HomeAssistant, start: datetime, end: datetime) -> list[dict]:
    response = await hass.services.async_call(
        "calendar",
        "get_events",
        {"entity_id": CALENDAR, "start_date_time": start, "end_date_time": end},
        blocking=True,
        return_response=True,
    )
    return [
        {**event, "start": _utc(event["start"]), "end": _utc(event["end"])}
        for event in response[CALENDAR]["events"]  # type: ignore[index]
    ]


def _utc(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(UTC).isoformat()


async def test_vpp_slot(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    quiet_entry: MockConfigEntry,
) -> None:
    start, end = NOW + MINUTE * 5, NOW + MINUTE * 35
    freezer.move_to(NOW)
    sandbox.set_schedule_override([session(NOW, NOW + timedelta(hours=1), (start, end), vpp=True)])
    await setup_entry(hass, quiet_entry)

    assert state(hass, VPP) == "off"
    await at(hass, freezer, start)
    assert state(hass, VPP) == "on"
    events = await calendar_events(hass, NOW, end)
    assert "virtual power plant" in events[0]["description"]
    await at(hass, freezer, end)
    assert state(hass, VPP) == "off"


@pytest.mark.parametrize(
    ("day", "slot_start", "slot_end", "local"),
    [
        # 23-hour day: clocks go from 01:00 GMT to 02:00 BST; the slot spans the jump.
        (
            "2026-03-29",
            datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
            datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
            ("00:30", "02:30"),
        ),
        # 25-hour day: 01:30 happens twice; the slot is the second 01:30 (GMT).
        (
            "2026-10-25",
            datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
            datetime(2026, 10, 25, 2, 0, tzinfo=UTC),
            ("01:30", "02:00"),
        ),
    ],
)
async def test_dst_days(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    quiet_entry: MockConfigEntry,
    day: str,
    slot_start: datetime,
    slot_end: datetime,
    local: tuple[str, str],
) -> None:
    await hass.config.async_set_time_zone("Europe/London")
    begin = slot_start - timedelta(hours=2)
    freezer.move_to(begin)
    sandbox.set_schedule_override(
        [session(begin, slot_end + timedelta(hours=3), (slot_start, slot_end))]
    )
    await setup_entry(hass, quiet_entry)

    # An hour before the slot, the same local wall-clock time (on the 25-hour day) is not it.
    await at(hass, freezer, slot_start - timedelta(hours=1))
    assert state(hass, CHARGING) == "off"
    await at(hass, freezer, slot_start)
    assert state(hass, CHARGING) == "on"
    await at(hass, freezer, slot_end - timedelta(milliseconds=1))
    assert state(hass, CHARGING) == "on"
    await at(hass, freezer, slot_end)
    assert state(hass, CHARGING) == "off"

    events = await calendar_events(hass, begin, slot_end + timedelta(hours=1))
    (event,) = events
    response = await hass.services.async_call(
        "calendar",
        "get_events",
        {"entity_id": CALENDAR, "start_date_time": begin, "end_date_time": slot_end},
        blocking=True,
        return_response=True,
    )
    raw = response[CALENDAR]["events"][0]  # type: ignore[index]
    assert raw["start"].startswith(f"{day}T{local[0]}")
    assert raw["end"].startswith(f"{day}T{local[1]}")


async def test_a_window_published_at_short_notice(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    mock_config_entry: MockConfigEntry,
) -> None:
    freezer.move_to(NOW)
    sandbox.set_schedule_override([session(NOW, NOW + timedelta(hours=3))])
    await setup_entry(hass, mock_config_entry)
    assert state(hass, NEXT_START) == "unknown"

    # The next fetch (about 30 minutes later) brings a window starting 5 minutes after it.
    refresh = datetime.now(UTC) + device_of(mock_config_entry).schedule.update_interval  # type: ignore[operator]
    start, end = refresh + MINUTE * 5, refresh + MINUTE * 20
    sandbox.set_schedule_override([session(NOW, NOW + timedelta(hours=3), (start, end))])
    await at(hass, freezer, refresh)
    assert state(hass, STARTING_SOON) == "on"

    await at(hass, freezer, start)
    assert state(hass, CHARGING) == "on"


async def test_home_assistant_in_another_time_zone_than_the_device(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    quiet_entry: MockConfigEntry,
) -> None:
    await hass.config.async_set_time_zone("America/New_York")
    start, end = NOW + MINUTE * 30, NOW + MINUTE * 90
    freezer.move_to(NOW)
    sandbox.set_schedule_override([session(NOW, NOW + timedelta(hours=3), (start, end))])
    await setup_entry(hass, quiet_entry)

    await at(hass, freezer, start - timedelta(milliseconds=1))
    assert state(hass, CHARGING) == "off"
    await at(hass, freezer, start)
    assert state(hass, CHARGING) == "on"
    events = await calendar_events(hass, NOW, end)
    assert events[0]["start"] == start.isoformat()


async def test_a_wall_clock_jump_past_a_boundary_is_caught_within_a_minute(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    quiet_entry: MockConfigEntry,
) -> None:
    start = NOW + MINUTE * 30
    freezer.move_to(NOW)
    sandbox.set_schedule_override(
        [session(NOW, NOW + timedelta(hours=3), (start, start + timedelta(hours=1)))]
    )
    await setup_entry(hass, quiet_entry)
    writer = device_of(quiet_entry).writer

    # The wall clock jumps, but the writer's timer (monotonic) has not fired yet.
    freezer.move_to(start + MINUTE)
    assert state(hass, CHARGING) == "off"
    writer._timer._check_clock(start + MINUTE)
    await hass.async_block_till_done()

    assert state(hass, CHARGING) == "on"
    assert writer.next_instant is not None
    assert writer.next_instant > start + MINUTE


async def test_overlapping_unsorted_and_zero_length_windows(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    quiet_entry: MockConfigEntry,
) -> None:
    a, b, c, d = (NOW + MINUTE * m for m in (10, 30, 50, 80))
    freezer.move_to(NOW)
    sandbox.set_schedule_override(
        [session(NOW, NOW + timedelta(hours=3), (c, d), (b, b), (a, c), (b, c))]
    )
    await setup_entry(hass, quiet_entry)
    changes: list[str] = []
    hass.bus.async_listen(
        "state_changed",
        lambda event: changes.append(event.data["new_state"].state)
        if event.data["entity_id"] == CHARGING
        else None,
    )

    for moment in (a, b, c, d - timedelta(milliseconds=1), d):
        await at(hass, freezer, moment)

    # One charging period from a to d, whatever the order and overlaps; the empty slot is gone.
    assert changes == ["on", "off"]
    # In the calendar, the overlapping slots stay apart; (b, c) runs on into (c, d).
    events = await calendar_events(hass, NOW, NOW + timedelta(hours=3))
    assert [(e["start"], e["end"]) for e in events] == [
        (a.isoformat(), c.isoformat()),
        (b.isoformat(), d.isoformat()),
    ]
