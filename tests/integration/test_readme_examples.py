"""The automation examples in the README, loaded from it and run against the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
import re
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from homeassistant.util.yaml import parse_yaml
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_mock_service

from sandbox import Fault, Sandbox

from .common import account_entry, at, device_of, device_subentry, session, setup_entry

README = Path(__file__).parents[2] / "README.md"

# The README's time-triggered automation keeps its daily timer until Home Assistant stops.
pytestmark = pytest.mark.parametrize("expected_lingering_timers", [True])
NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
START, END = NOW + timedelta(minutes=40), NOW + timedelta(minutes=70)


def readme_automations() -> list[dict[str, Any]]:
    """Every automation in the README's YAML blocks."""
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), re.DOTALL)
    automations = [auto for block in blocks for auto in parse_yaml(block)["automation"]]
    # The walkthrough's blueprint automation runs in test_blueprints.py, with the blueprints.
    return [auto for auto in automations if "use_blueprint" not in auto]


@pytest.fixture
async def home_battery(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    entry_data: dict[str, Any],
) -> MockConfigEntry:
    """The sandbox battery, named "Home battery" as in the README, with one window."""
    freezer.move_to(NOW)
    sandbox.set_schedule_override([session(NOW, NOW + timedelta(hours=3), (START, END))])
    entry = account_entry(
        entry_data, device_subentry(sandbox.device_id, sandbox.location_id, "Home battery")
    )
    await setup_entry(hass, entry)
    assert await async_setup_component(hass, "automation", {"automation": readme_automations()})
    await hass.async_block_till_done()
    return entry


def services(calls: list[ServiceCall]) -> list[str]:
    return [call.service for call in calls]


async def test_charge_in_windows(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_battery: MockConfigEntry
) -> None:
    turned_on = async_mock_service(hass, "switch", "turn_on")
    turned_off = async_mock_service(hass, "switch", "turn_off")

    await at(hass, freezer, START)
    assert services(turned_on) == ["turn_on"]
    assert turned_on[0].data["entity_id"] == ["switch.battery_grid_charging"]
    await at(hass, freezer, END)
    assert services(turned_off) == ["turn_off"]


async def test_charging_stops_when_the_schedule_expires(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    home_battery: MockConfigEntry,
) -> None:
    turned_off = async_mock_service(hass, "switch", "turn_off")
    sandbox.inject(Fault(route="flatpeak:*", status=503, times=None))

    await at(hass, freezer, NOW + timedelta(minutes=35))  # a failed fetch: cached
    assert hass.states.get("sensor.home_battery_schedule_status").state == "cached"  # type: ignore[union-attr]
    await at(hass, freezer, NOW + timedelta(hours=3))  # the last session ends: expired
    assert hass.states.get("sensor.home_battery_schedule_status").state == "expired"  # type: ignore[union-attr]
    assert "turn_off" in services(turned_off)


async def test_notification_before_charging(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_battery: MockConfigEntry
) -> None:
    await hass.config.async_set_time_zone("UTC")
    notified = async_mock_service(hass, "notify", "notify")

    await at(hass, freezer, START - timedelta(minutes=15))

    assert [call.data["message"] for call in notified] == ["Charging starts at 12:40."]


async def test_notification_when_the_plan_changes_at_short_notice(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    home_battery: MockConfigEntry,
) -> None:
    notified = async_mock_service(hass, "notify", "notify")
    # A window added well ahead: no notification.
    later = (NOW + timedelta(hours=2), NOW + timedelta(hours=2, minutes=30))
    sandbox.set_schedule_override([session(NOW, NOW + timedelta(hours=3), (START, END), later)])
    await device_of(home_battery).schedule.async_refresh()
    await hass.async_block_till_done()
    assert notified == []

    soon = (NOW + timedelta(minutes=5), NOW + timedelta(minutes=20))
    sandbox.set_schedule_override(
        [session(NOW, NOW + timedelta(hours=3), soon, (START, END), later)]
    )
    await device_of(home_battery).schedule.async_refresh()
    await hass.async_block_till_done()
    changes = [call.data["message"] for call in notified if "plan" in call.data["message"]]
    assert changes == ["Flatpeak changed the plan: 1 window added (at short notice)."]


async def test_tonights_plan_from_get_schedule(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    home_battery: MockConfigEntry,
) -> None:
    notified = async_mock_service(hass, "notify", "notify")
    evening = dt_util.as_local(NOW).replace(hour=20)  # in Home Assistant's time zone
    night = evening + timedelta(hours=2)
    sandbox.set_schedule_override(
        [
            session(
                NOW,
                night + timedelta(hours=8),
                (night, night + timedelta(hours=1)),
                (night + timedelta(hours=3), night + timedelta(hours=4)),
                energy_wh=9500,
                cost=1.234,
            )
        ]
    )
    await device_of(home_battery).schedule.async_refresh()

    await at(hass, freezer, evening)

    assert [call.data["message"] for call in notified] == [
        "2 charging windows, 9.5 kWh for 1.23 GBP."
    ]


async def test_send_the_cars_state_of_charge_when_plugged_in(
    hass: HomeAssistant, sandbox: Sandbox, home_battery: MockConfigEntry
) -> None:
    hass.states.async_set("sensor.car_battery", "42.5")
    hass.states.async_set("binary_sensor.car_plugged_in", "off")
    await hass.async_block_till_done()
    hass.states.async_set("binary_sensor.car_plugged_in", "on")
    await hass.async_block_till_done(wait_background_tasks=True)

    device_state = sandbox.flatpeak.device_state()
    assert (device_state["soc_percent"], device_state["target_percent"]) == (42.5, 80)
