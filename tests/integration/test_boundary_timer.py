"""The boundary timer on its own: several at one instant, a failing one, garbage collection."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
import gc
import logging

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.flatpeak.timer import _INSTANTS, AHEAD, BoundaryTimer

from .common import at

NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
INSTANTS = [NOW + timedelta(minutes=m) for m in (10, 20, 30)]


def next_of(now: datetime) -> datetime | None:
    return next((instant for instant in INSTANTS if instant > now), None)


@pytest.fixture
def entry(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> MockConfigEntry:
    freezer.move_to(NOW)
    entry = MockConfigEntry(domain="flatpeak")
    entry.add_to_hass(hass)
    return entry


def near_the_first_instant(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """1 ms before the first instant, run the timer set 2 ms ahead of it.

    (Time travel under test runs timers as if half a second later: this one is run as
    the event loop would run it.)
    """
    freezer.move_to(INSTANTS[0] - timedelta(milliseconds=1))
    hass.data[_INSTANTS]._near(INSTANTS[0] - AHEAD)


@pytest.fixture
def collections_enabled_after() -> Iterator[None]:
    """Whatever a test does, collections run again after it."""
    yield
    gc.enable()


async def test_a_failing_timer_stops_neither_the_others_nor_itself(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    passed: list[str] = []

    def failing() -> None:
        passed.append("failing")
        raise RuntimeError("boom")

    timers = [
        BoundaryTimer(hass, entry, next_of, failing),
        BoundaryTimer(hass, entry, next_of, lambda: passed.append("other")),
    ]
    for timer in timers:
        timer.arm()

    with caplog.at_level(logging.ERROR):
        await at(hass, freezer, INSTANTS[0])
    assert passed == ["failing", "other"]
    assert "Passing a boundary failed; the next one is still awaited" in caplog.text
    assert [timer.next_boundary for timer in timers] == [INSTANTS[1], INSTANTS[1]]

    await at(hass, freezer, INSTANTS[1])
    assert passed == ["failing", "other", "failing", "other"]
    for timer in timers:
        timer.stop()


async def test_a_timer_cancelled_while_its_instant_nears_lets_collections_run(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> None:
    passed: list[datetime] = []
    timer = BoundaryTimer(hass, entry, next_of, lambda: passed.append(INSTANTS[0]))
    timer.arm()

    # Collections wait while the last stretch is waited out, turn by turn of the loop.
    near_the_first_instant(hass, freezer)
    assert not gc.isenabled()
    timer.stop()
    assert gc.isenabled()

    await at(hass, freezer, INSTANTS[0] + timedelta(seconds=1))
    assert passed == []


@pytest.mark.usefixtures("collections_enabled_after")
async def test_collections_held_off_elsewhere_stay_held_off(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> None:
    passed: list[bool] = []
    timer = BoundaryTimer(hass, entry, next_of, lambda: passed.append(gc.isenabled()))
    timer.arm()

    gc.disable()
    await at(hass, freezer, INSTANTS[0])
    assert passed == [False]
    assert not gc.isenabled()
    timer.stop()


async def test_a_clock_that_stands_still_hands_the_instant_to_a_timer_for_it(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> None:
    passed: list[datetime] = []
    timer = BoundaryTimer(hass, entry, next_of, lambda: passed.append(INSTANTS[0]))
    timer.arm()

    near_the_first_instant(hass, freezer)
    await hass.async_block_till_done()
    # The clock under test did not move between two turns of the loop: the wait is
    # handed to a timer for the instant itself, and collections run meanwhile.
    assert gc.isenabled()
    assert passed == []

    await at(hass, freezer, INSTANTS[0])
    assert passed == [INSTANTS[0]]
    assert timer.next_boundary == INSTANTS[1]
    timer.stop()
