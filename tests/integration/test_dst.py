"""Charging windows across both clock changes, in two time zones.

On the autumn change a local hour happens twice, so a window can end at an
earlier local wall time than it starts (00:50Z to 01:20Z on 25 October 2026 in
London reads 01:50 BST to 01:20 GMT). Every entity must still switch at the
exact instants, and the calendar must still be there and right.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import logging
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import CLIENT_ID, MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.flatpeak.binary_sensor import FlatpeakBinarySensor
from sandbox import Sandbox

from .common import (
    CALENDAR,
    CHARGING,
    NEXT_START,
    PREFIX,
    VPP,
    at,
    device_of,
    session,
    setup_entry,
    state,
)

NEXT_END = f"sensor.{PREFIX}_next_window_end"
EVENT = f"event.{PREFIX}_schedule_change"
MS = timedelta(milliseconds=1)
H = timedelta(hours=1)
M = timedelta(minutes=1)


@dataclass(frozen=True)
class Case:
    """A window around a clock change, and how Home Assistant's zone reads it."""

    zone: str
    start: datetime
    end: datetime
    local_start: str  # ISO 8601 with the offset in force, as get_events gives it
    local_end: str

    @property
    def wall(self) -> tuple[str, str]:
        """The wall times the calendar's attributes show."""
        return tuple(  # type: ignore[return-value]
            f"{text[:10]} {text[11:19]}" for text in (self.local_start, self.local_end)
        )


def utc(month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


CASES = {
    # London springs forward at 01:00Z (01:00 GMT becomes 02:00 BST).
    "london-spring": Case(
        "Europe/London",
        utc(3, 29, 0, 30),
        utc(3, 29, 1, 30),
        "2026-03-29T00:30:00+00:00",
        "2026-03-29T02:30:00+01:00",
    ),
    # London falls back at 01:00Z (02:00 BST becomes 01:00 GMT): the end reads earlier.
    "london-autumn-backwards": Case(
        "Europe/London",
        utc(10, 25, 0, 50),
        utc(10, 25, 1, 20),
        "2026-10-25T01:50:00+01:00",
        "2026-10-25T01:20:00+00:00",
    ),
    # A window in the second 01:xx, whose wall times also occur an hour earlier.
    "london-autumn-second-pass": Case(
        "Europe/London",
        utc(10, 25, 1, 30),
        utc(10, 25, 2, 0),
        "2026-10-25T01:30:00+00:00",
        "2026-10-25T02:00:00+00:00",
    ),
    # New York springs forward at 07:00Z (02:00 EST becomes 03:00 EDT).
    "new-york-spring": Case(
        "America/New_York",
        utc(3, 8, 6, 30),
        utc(3, 8, 7, 30),
        "2026-03-08T01:30:00-05:00",
        "2026-03-08T03:30:00-04:00",
    ),
    # New York falls back at 06:00Z (02:00 EDT becomes 01:00 EST).
    "new-york-autumn-backwards": Case(
        "America/New_York",
        utc(11, 1, 5, 50),
        utc(11, 1, 6, 20),
        "2026-11-01T01:50:00-04:00",
        "2026-11-01T01:20:00-05:00",
    ),
    "new-york-autumn-second-pass": Case(
        "America/New_York",
        utc(11, 1, 6, 30),
        utc(11, 1, 7, 0),
        "2026-11-01T01:30:00-05:00",
        "2026-11-01T02:00:00-05:00",
    ),
}


async def get_events(hass: HomeAssistant, start: datetime, end: datetime) -> list[dict[str, Any]]:
    response = await hass.services.async_call(
        "calendar",
        "get_events",
        {"entity_id": CALENDAR, "start_date_time": start, "end_date_time": end},
        blocking=True,
        return_response=True,
    )
    return response[CALENDAR]["events"]  # type: ignore[index,no-any-return]


def calendar(hass: HomeAssistant) -> tuple[str, dict[str, Any]]:
    current = hass.states.get(CALENDAR)
    assert current is not None, "the calendar was not added"
    return current.state, dict(current.attributes)


async def set_up(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    entry: MockConfigEntry,
    case: Case,
    begin: datetime,
) -> None:
    await hass.config.async_set_time_zone(case.zone)
    freezer.move_to(begin)
    sandbox.set_schedule_override(
        [session(begin, case.end + 3 * H, (case.start, case.end), power_w=7000)]
    )
    await setup_entry(hass, entry)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_every_entity_across_the_clock_change(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    quiet_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    hass_client_no_auth: ClientSessionGenerator,
    hass_admin_user: MockUser,
    case: Case,
) -> None:
    begin = case.start - 2 * H
    await set_up(hass, freezer, sandbox, quiet_entry, case, begin)

    # Before: the calendar shows the window to come, the sensors say when it is.
    cal_state, attrs = calendar(hass)
    assert cal_state == "off"
    assert (attrs["start_time"], attrs["end_time"]) == case.wall
    assert attrs["message"] == "Charging 7.0 kW"
    # The session spans the change: its description names the zone at each end.
    begins, ends = dt_util.as_local(begin), dt_util.as_local(case.end + 3 * H)
    assert begins.tzname() != ends.tzname()
    assert f"{begins:%a %H:%M %Z} to {ends:%a %H:%M %Z}." in attrs["description"]
    assert state(hass, NEXT_START) == case.start.isoformat()
    assert state(hass, NEXT_END) == case.end.isoformat()
    assert state(hass, CHARGING) == "off"

    # An hour before the window: on the autumn day, the same wall-clock time.
    await at(hass, freezer, case.start - H)
    assert calendar(hass)[0] == "off"
    assert state(hass, CHARGING) == "off"

    await at(hass, freezer, case.start - MS)
    assert calendar(hass)[0] == "off"
    assert state(hass, CHARGING) == "off"

    await at(hass, freezer, case.start)
    assert calendar(hass)[0] == "on"
    assert state(hass, CHARGING) == "on"
    charging = hass.states.get(CHARGING)
    assert charging is not None
    assert (charging.attributes["window_start"], charging.attributes["window_end"]) == (
        case.start,
        case.end,
    )
    assert state(hass, NEXT_START) == "unknown"

    await at(hass, freezer, case.end - MS)
    assert calendar(hass)[0] == "on"
    assert state(hass, CHARGING) == "on"

    await at(hass, freezer, case.end)
    assert calendar(hass)[0] == "off"
    assert state(hass, CHARGING) == "off"

    await at(hass, freezer, case.end + H)
    assert calendar(hass)[0] == "off"
    assert state(hass, CHARGING) == "off"

    # get_events gives the window with the offset in force at each end.
    (event,) = await get_events(hass, begin, case.end + H)
    assert (event["start"], event["end"]) == (case.local_start, case.local_end)
    assert datetime.fromisoformat(event["start"]) == case.start
    assert datetime.fromisoformat(event["end"]) == case.end
    assert await get_events(hass, case.end, case.end + H) == []

    # The frontend's calendar reads the same through the REST view (with a
    # token issued now: the fixture's was issued at another, real, time).
    refresh_token = await hass.auth.async_create_refresh_token(hass_admin_user, CLIENT_ID)
    token = hass.auth.async_create_access_token(refresh_token)
    client = await hass_client_no_auth()
    response = await client.get(
        f"/api/calendars/{CALENDAR}",
        params={"start": begin.isoformat(), "end": (case.end + H).isoformat()},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status == 200
    (shown,) = await response.json()
    assert (shown["start"], shown["end"]) == (
        {"dateTime": case.local_start},
        {"dateTime": case.local_end},
    )

    # Nothing failed on the way. (The test HTTP server's access log cannot read
    # a frozen clock's local offset on newer aiohttp: that is the test's clock.)
    assert not [
        r for r in caplog.records if r.levelno >= logging.ERROR and r.name != "aiohttp.access"
    ]


@pytest.mark.parametrize(
    "case",
    [CASES["london-autumn-backwards"], CASES["new-york-autumn-backwards"]],
    ids=["london", "new-york"],
)
async def test_a_window_moved_across_the_autumn_change_is_reported(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    quiet_entry: MockConfigEntry,
    case: Case,
) -> None:
    begin = case.start - 3 * H
    earlier = (case.start - 20 * M, case.end - 20 * M)  # overlapping: the same window shifted
    await hass.config.async_set_time_zone(case.zone)
    freezer.move_to(begin)
    sandbox.set_schedule_override([session(begin, case.end + 3 * H, earlier, power_w=7000)])
    await setup_entry(hass, quiet_entry)

    sandbox.set_schedule_override(
        [session(begin, case.end + 3 * H, (case.start, case.end), power_w=7000)]
    )
    await device_of(quiet_entry).schedule.async_refresh()
    await hass.async_block_till_done()

    current = hass.states.get(EVENT)
    assert current is not None
    (shifted,) = current.attributes["shifted"]
    assert (shifted["start"], shifted["end"]) == (case.local_start, case.local_end)
    assert datetime.fromisoformat(shifted["previous_end"]) == earlier[1]
    assert calendar(hass)[1]["start_time"] == case.wall[0]


async def test_a_failing_entity_does_not_stop_the_others(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    quiet_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    case = CASES["london-spring"]
    begin = case.start - 2 * H
    await set_up(hass, freezer, sandbox, quiet_entry, case, begin)
    coordinator = device_of(quiet_entry).schedule

    # The VPP sensor fails, for a while: the entities around it are still written.
    working = FlatpeakBinarySensor.is_on

    def is_on(self: FlatpeakBinarySensor) -> bool | None:
        if self.entity_id == VPP:
            raise RuntimeError("VPP sensor broken")
        return working.fget(self)  # type: ignore[attr-defined,no-any-return]

    with patch.object(FlatpeakBinarySensor, "is_on", property(is_on)):
        await at(hass, freezer, case.start)
        assert state(hass, CHARGING) == "on"
        assert calendar(hass)[0] == "on"
        assert state(hass, NEXT_START) == "unknown"
        await at(hass, freezer, case.end)
        assert state(hass, CHARGING) == "off"
        assert calendar(hass)[0] == "off"
        assert state(hass, NEXT_END) == "unknown"

    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    # The failing entity is logged once, with its traceback, not at every edge.
    assert len([r for r in failures if VPP in r.getMessage()]) == 1
    assert all(r.exc_info for r in failures)

    # Once the sensor works again it is updated, and the log says so.
    caplog.clear()
    coordinator.async_update_listeners()
    await hass.async_block_till_done()
    assert state(hass, VPP) == "off"
    assert any(VPP in r.getMessage() and "again" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and VPP in r.getMessage()]
