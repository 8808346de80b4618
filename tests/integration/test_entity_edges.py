"""Entities when Flatpeak leaves things out, or nothing is known yet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.flatpeak import binary_sensor, calendar
from sandbox import Sandbox

from .common import CALENDAR, session, setup_entry, z

NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)


async def test_calendar_describes_forecasts_and_missing_figures(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    mock_config_entry: MockConfigEntry,
) -> None:
    freezer.move_to(NOW)
    hour = timedelta(hours=1)
    forecast = session(NOW, NOW + 3 * hour, (NOW + hour, NOW + 2 * hour))
    forecast["cost"]["confidence"] = 0.8
    bare: dict[str, Any] = {
        "start_time": z(NOW + 3 * hour),
        "end_time": z(NOW + 6 * hour),
        "schedule": [{"start_time": z(NOW + 4 * hour), "end_time": z(NOW + 5 * hour)}],
    }
    sandbox.set_schedule_override([forecast, bare])
    await setup_entry(hass, mock_config_entry)

    response = await hass.services.async_call(
        "calendar",
        "get_events",
        {"entity_id": CALENDAR, "start_date_time": NOW, "end_date_time": NOW + 6 * hour},
        blocking=True,
        return_response=True,
    )

    first, second = response[CALENDAR]["events"]  # type: ignore[index]
    assert first["summary"] == "Charging 5.0 kW"
    assert "Forecast prices (80% confidence)." in first["description"]
    assert second["summary"] == "Charging"
    assert "Planned" not in second["description"]
    assert second["description"].startswith("Charging session")


async def test_nothing_known_yet_means_no_value() -> None:
    empty: Any = SimpleNamespace(
        schedule=SimpleNamespace(plan=None, lead_time=timedelta(minutes=15)),
        status=SimpleNamespace(latest=None),
        device=SimpleNamespace(latest=None),
    )
    for description in binary_sensor.BINARY_SENSORS:
        source = description.source(empty)
        assert description.is_on_fn(source, NOW) is None
        if description.attributes_fn is not None:
            assert set(description.attributes_fn(source, NOW).values()) == {None}

    entity: Any = SimpleNamespace(coordinator=SimpleNamespace(plan=None))
    assert calendar.FlatpeakCalendar.event.fget(entity) is None  # type: ignore[attr-defined]
    assert await calendar.FlatpeakCalendar.async_get_events(entity, None, NOW, NOW) == []  # type: ignore[arg-type]
