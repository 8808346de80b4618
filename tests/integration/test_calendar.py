"""The calendar makes each event once per schedule and time zone, and lists only those asked for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.calendar import DOMAIN as CALENDAR_DOMAIN
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.flatpeak.calendar import FlatpeakCalendar
from sandbox import Sandbox

from .common import CALENDAR, device_of, session, setup_entry

NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def windows(first: datetime, count: int) -> list[tuple[datetime, datetime]]:
    """count half-hour windows, an hour apart."""
    return [(first + i * HOUR, first + i * HOUR + HOUR / 2) for i in range(count)]


async def test_events_follow_the_schedule_and_the_time_zone(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    mock_config_entry: MockConfigEntry,
) -> None:
    freezer.move_to(NOW)
    await hass.config.async_set_time_zone("Europe/London")
    sandbox.set_schedule_override([session(NOW, NOW + 6 * HOUR, *windows(NOW + HOUR, 4))])
    await setup_entry(hass, mock_config_entry)
    entity = hass.data[CALENDAR_DOMAIN].get_entity(CALENDAR)
    assert isinstance(entity, FlatpeakCalendar)

    listed = await entity.async_get_events(hass, NOW, NOW + 6 * HOUR)
    assert [event.start for event in listed] == [start for start, _ in windows(NOW + HOUR, 4)]
    again = await entity.async_get_events(hass, NOW + 2 * HOUR, NOW + 3 * HOUR)
    assert again == listed[1:2]
    assert entity.event == listed[0]  # the next window
    assert listed[0].start.isoformat() == "2026-03-28T13:00:00+00:00"

    # Another time zone: the same instants, in its wall time.
    await hass.config.async_set_time_zone("Asia/Tokyo")
    moved = await entity.async_get_events(hass, NOW, NOW + 6 * HOUR)
    assert [event.start for event in moved] == [event.start for event in listed]
    assert moved[0].start.utcoffset() == timedelta(hours=9)

    # A new schedule: new events.
    sandbox.set_schedule_override(
        [session(NOW, NOW + 6 * HOUR, *windows(NOW + HOUR, 2), power_w=3000)]
    )
    await device_of(mock_config_entry).schedule.async_refresh()
    renewed = await entity.async_get_events(hass, NOW, NOW + 6 * HOUR)
    assert [event.summary for event in renewed] == ["Charging 3.0 kW", "Charging 3.0 kW"]


async def test_slots_that_run_on_at_the_same_power_are_one_event(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    mock_config_entry: MockConfigEntry,
) -> None:
    freezer.move_to(NOW)
    half = HOUR / 2
    slots = [(NOW + HOUR + i * half, NOW + HOUR + (i + 1) * half) for i in range(6)]
    later = session(
        NOW + 4 * HOUR,
        NOW + 6 * HOUR,
        (NOW + 4 * HOUR, NOW + 5 * HOUR),
        (NOW + 5 * HOUR, NOW + 6 * HOUR),
    )
    later["schedule"][1]["power"]["value"] = 7000
    sandbox.set_schedule_override([session(NOW, NOW + 4 * HOUR, *slots), later])
    await setup_entry(hass, mock_config_entry)
    entity = hass.data[CALENDAR_DOMAIN].get_entity(CALENDAR)

    listed = await entity.async_get_events(hass, NOW, NOW + 6 * HOUR)

    # Six half-hour slots back to back: one event, from the first start to the last end.
    # The next session's slot touches it, and a slot at another power touches that:
    # each is an event of its own.
    assert [(e.start, e.end, e.summary) for e in listed] == [
        (NOW + HOUR, NOW + 4 * HOUR, "Charging 5.0 kW"),
        (NOW + 4 * HOUR, NOW + 5 * HOUR, "Charging 5.0 kW"),
        (NOW + 5 * HOUR, NOW + 6 * HOUR, "Charging 7.0 kW"),
    ]
    # Asked for a part of the run, the whole event; in the middle of it, it is the one shown.
    assert await entity.async_get_events(hass, NOW + 2 * HOUR, NOW + 2 * HOUR + half) == listed[:1]
    freezer.move_to(NOW + 2 * HOUR)
    assert entity.event == listed[0]
