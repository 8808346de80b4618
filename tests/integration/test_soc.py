"""The state-of-charge loop: a linked battery sensor is sent to Flatpeak and the plan follows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import logging

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import ATTR_ENTITY_ID, PERCENTAGE
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.flatpeak.const import CONF_SOC_ENTITY
from sandbox import Fault, Sandbox

from .common import BATTERY_NAME, PREFIX, account_entry, device_subentry, setup_entry, state

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
BATTERY = "sensor.home_battery_state_of_charge"
SYNC = f"sensor.{PREFIX}_state_of_charge_sync"
TARGET = f"number.{PREFIX}_target_state_of_charge"
PLANNED_ENERGY = f"sensor.{PREFIX}_planned_energy"


@pytest.fixture
def linked_entry(mock_config_entry: MockConfigEntry, sandbox: Sandbox) -> MockConfigEntry:
    """The entry with a battery sensor linked."""
    return account_entry(
        dict(mock_config_entry.data),
        device_subentry(
            sandbox.device_id, sandbox.location_id, BATTERY_NAME, **{CONF_SOC_ENTITY: BATTERY}
        ),
    )


def battery(hass: HomeAssistant, value: str) -> None:
    """Set the linked battery sensor's state."""
    hass.states.async_set(BATTERY, value, {"unit_of_measurement": PERCENTAGE})


async def settle(hass: HomeAssistant, freezer: FrozenDateTimeFactory, by: timedelta) -> None:
    """Move the clock and let every timer and background task due by then run."""
    freezer.tick(by)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def sent(sandbox: Sandbox) -> tuple[float, float]:
    """The state of charge and target Flatpeak holds."""
    device_state = sandbox.flatpeak.device_state()
    assert device_state["submitted"]
    return device_state["soc_percent"], device_state["target_percent"]


@pytest.fixture(autouse=True)
def _now(freezer: FrozenDateTimeFactory) -> None:
    freezer.move_to(NOW)


async def test_readings_are_sent_and_the_schedule_follows(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    linked_entry: MockConfigEntry,
) -> None:
    battery(hass, "20")
    await setup_entry(hass, linked_entry)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert sent(sandbox) == (20, 100)
    assert state(hass, SYNC) == "synced"
    energy_at_20 = float(state(hass, PLANNED_ENERGY))
    puts, schedules = sandbox.request_counts["device_state"], sandbox.request_counts["schedule_soc"]
    assert puts == 1

    # A change under 2 points is not worth a request yet.
    battery(hass, "21.5")
    await settle(hass, freezer, timedelta(minutes=2))
    assert sandbox.request_counts["device_state"] == puts
    assert state(hass, SYNC) == "pending"

    # Two points or more: sent, and the plan is asked for again and follows.
    battery(hass, "70")
    await settle(hass, freezer, timedelta(seconds=1))
    assert sent(sandbox) == (70, 100)
    assert sandbox.request_counts["device_state"] == puts + 1
    assert sandbox.request_counts["schedule_soc"] > schedules
    assert float(state(hass, PLANNED_ENERGY)) < energy_at_20
    assert state(hass, SYNC) == "synced"
    attributes = hass.states.get(SYNC).attributes  # type: ignore[union-attr]
    assert attributes["sent_state_of_charge"] == 70
    assert attributes["source"] == BATTERY


async def test_small_changes_are_sent_after_15_minutes_and_never_more_than_once_a_minute(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    linked_entry: MockConfigEntry,
) -> None:
    battery(hass, "50")
    await setup_entry(hass, linked_entry)
    await hass.async_block_till_done(wait_background_tasks=True)
    puts = sandbox.request_counts["device_state"]

    battery(hass, "51")
    await settle(hass, freezer, timedelta(minutes=14))
    assert sandbox.request_counts["device_state"] == puts
    await settle(hass, freezer, timedelta(minutes=1, seconds=1))
    assert sent(sandbox) == (51, 100)
    assert sandbox.request_counts["device_state"] == puts + 1

    # A burst of big changes within a minute: one request, with the last value.
    for value in ("60", "70", "80"):
        battery(hass, value)
        await settle(hass, freezer, timedelta(seconds=5))
    assert sandbox.request_counts["device_state"] == puts + 1
    await settle(hass, freezer, timedelta(minutes=1))
    assert sent(sandbox) == (80, 100)
    assert sandbox.request_counts["device_state"] == puts + 2


@pytest.mark.parametrize("reading", ["unavailable", "unknown", "not a number", "120", "nan"])
async def test_a_reading_that_is_not_a_state_of_charge_is_never_sent(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    linked_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    reading: str,
) -> None:
    battery(hass, reading)
    with caplog.at_level(logging.WARNING):
        await setup_entry(hass, linked_entry)
        await settle(hass, freezer, timedelta(minutes=30))
    assert sandbox.request_counts["device_state"] == 0
    assert not sandbox.flatpeak.device_state()["submitted"]
    assert state(hass, SYNC) == "source_unavailable"
    if reading not in ("unavailable", "unknown"):
        assert "is not a state of charge" in caplog.text

    # An unavailable sensor after a good reading is not 0 %: nothing is sent.
    battery(hass, "40")
    await settle(hass, freezer, timedelta(seconds=1))
    assert sent(sandbox) == (40, 100)
    battery(hass, "unavailable")
    await settle(hass, freezer, timedelta(hours=1))
    assert sent(sandbox) == (40, 100)
    assert sandbox.request_counts["device_state"] == 1


async def test_a_failed_send_is_shown_and_retried(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    linked_entry: MockConfigEntry,
) -> None:
    sandbox.inject(Fault(route="device_state", status=503, times=None))
    battery(hass, "30")
    await setup_entry(hass, linked_entry)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert state(hass, SYNC) == "error"
    assert "503" in hass.states.get(SYNC).attributes["error"]  # type: ignore[union-attr]

    # Retried after 1, 2, 4 … minutes; once Flatpeak answers, all is well.
    await settle(hass, freezer, timedelta(minutes=1, seconds=1))
    await settle(hass, freezer, timedelta(minutes=2, seconds=1))
    failures = sandbox.request_counts["device_state"]
    assert failures == 3
    sandbox.clear_faults()
    await settle(hass, freezer, timedelta(minutes=4, seconds=1))
    assert sent(sandbox) == (30, 100)
    assert state(hass, SYNC) == "synced"
    assert hass.states.get(SYNC).attributes["error"] is None  # type: ignore[union-attr]


async def test_the_target_is_sent_and_kept_across_restarts(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    linked_entry: MockConfigEntry,
) -> None:
    battery(hass, "35")
    await setup_entry(hass, linked_entry)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert state(hass, TARGET) == "100.0"

    await settle(hass, freezer, timedelta(minutes=1))
    await hass.services.async_call(
        "number", "set_value", {ATTR_ENTITY_ID: TARGET, "value": 80}, blocking=True
    )
    await settle(hass, freezer, timedelta(seconds=1))
    assert sent(sandbox) == (35, 80)

    assert await hass.config_entries.async_unload(linked_entry.entry_id)
    await hass.async_block_till_done()
    await settle(hass, freezer, timedelta(minutes=5))
    assert await hass.config_entries.async_setup(linked_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert state(hass, TARGET) == "80.0"
    assert sent(sandbox) == (35, 80)


async def test_without_a_linked_sensor_nothing_is_sent(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    mock_config_entry: MockConfigEntry,
) -> None:
    await setup_entry(hass, mock_config_entry)
    await hass.services.async_call(
        "number", "set_value", {ATTR_ENTITY_ID: TARGET, "value": 70}, blocking=True
    )
    await settle(hass, freezer, timedelta(hours=1))
    assert sandbox.request_counts["device_state"] == 0
    assert state(hass, SYNC) == "not_linked"
