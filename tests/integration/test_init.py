"""Setting up, restarting and unloading a Flatpeak entry; how fetch failures are handled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.flatpeak.const import DOMAIN
from sandbox import Fault, Sandbox

from .common import CHARGING, SCHEDULE_STATUS, device_of, session, setup_entry, state

NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
WINDOW = (NOW + timedelta(minutes=30), NOW + timedelta(hours=2))


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, delta: timedelta) -> None:
    freezer.tick(delta)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.fixture
def scheduled(sandbox: Sandbox, freezer: FrozenDateTimeFactory) -> Sandbox:
    """A sandbox whose schedule has one window, starting in 30 minutes."""
    freezer.move_to(NOW)
    sandbox.set_schedule_override([session(NOW, NOW + timedelta(hours=6), WINDOW)])
    return sandbox


async def test_setup_and_unload(
    hass: HomeAssistant, scheduled: Sandbox, mock_config_entry: MockConfigEntry
) -> None:
    await setup_entry(hass, mock_config_entry)

    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert state(hass, CHARGING) == "off"
    assert state(hass, SCHEDULE_STATUS) == "fresh"
    counts = scheduled.request_counts
    assert (counts["login"], counts["device_get"], counts["location_status"]) == (1, 1, 1)
    assert counts["schedule_soc"] == 1

    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.NOT_LOADED


async def test_restart_with_the_cloud_down_serves_the_cached_schedule(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    scheduled: Sandbox,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    await setup_entry(hass, mock_config_entry)
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    assert f"{DOMAIN}.{mock_config_entry.entry_id}" in hass_storage

    # Restart in the middle of the window, with every request failing.
    freezer.move_to(WINDOW[0] + timedelta(minutes=10))
    scheduled.inject(Fault(route="flatpeak:*", status=503, times=None))
    written: list[str] = []
    hass.bus.async_listen(
        "state_changed",
        lambda event: written.append(event.data["new_state"].state)
        if event.data["entity_id"] == CHARGING
        else None,
    )
    await setup_entry(hass, mock_config_entry)

    assert mock_config_entry.state is ConfigEntryState.LOADED
    # The first state written after the restart is already the right one.
    assert written == ["on"]
    assert state(hass, SCHEDULE_STATUS) == "cached"

    # The outage outlasts the schedule: nothing is known ahead any more.
    await tick(hass, freezer, timedelta(hours=6))
    assert state(hass, CHARGING) == "off"
    assert state(hass, SCHEDULE_STATUS) == "expired"

    # The cloud comes back: one refresh later the schedule is fresh again.
    scheduled.clear_faults()
    await tick(hass, freezer, timedelta(minutes=31))
    assert state(hass, SCHEDULE_STATUS) == "fresh"


async def test_no_device_and_no_cache_is_not_ready(
    hass: HomeAssistant, scheduled: Sandbox, mock_config_entry: MockConfigEntry
) -> None:
    scheduled.inject(Fault(route="device_get", status=503, times=None))
    mock_config_entry.add_to_hass(hass)

    await hass.config_entries.async_setup(mock_config_entry.entry_id)

    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY


async def test_a_schedule_failure_at_setup_is_shown_not_fatal(
    hass: HomeAssistant, scheduled: Sandbox, mock_config_entry: MockConfigEntry
) -> None:
    scheduled.set_tariff_status("commodity_import", "NOT_CONNECTED")

    await setup_entry(hass, mock_config_entry)

    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert state(hass, SCHEDULE_STATUS) == "expired"
    assert state(hass, CHARGING) == "unavailable"
    coordinator = device_of(mock_config_entry).schedule
    assert coordinator.error == "no_tariff_connected"


async def test_tariff_problems_are_retried_no_sooner_than_every_15_minutes(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    scheduled: Sandbox,
    mock_config_entry: MockConfigEntry,
) -> None:
    await setup_entry(hass, mock_config_entry)
    scheduled.set_tariff_status("commodity_import", "PENDING")
    await tick(hass, freezer, timedelta(minutes=33))
    assert scheduled.request_counts["schedule_soc"] == 2
    assert device_of(mock_config_entry).schedule.error == "pending_connect"

    await tick(hass, freezer, timedelta(minutes=14))
    assert scheduled.request_counts["schedule_soc"] == 2
    scheduled.set_tariff_status("commodity_import", "CONNECTED")
    await tick(hass, freezer, timedelta(minutes=2))
    assert scheduled.request_counts["schedule_soc"] == 3
    assert state(hass, SCHEDULE_STATUS) == "fresh"


@pytest.mark.parametrize(("retry_after", "wait"), [("3600", 3600), (None, 60)])
async def test_rate_limits_are_honoured(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    scheduled: Sandbox,
    mock_config_entry: MockConfigEntry,
    retry_after: str | None,
    wait: int,
) -> None:
    await setup_entry(hass, mock_config_entry)
    scheduled.inject(Fault(route="schedule_soc", status=429, retry_after=retry_after, times=None))
    await tick(hass, freezer, timedelta(minutes=33))
    assert scheduled.request_counts["schedule_soc"] == 2

    await tick(hass, freezer, timedelta(seconds=wait - 5))
    assert scheduled.request_counts["schedule_soc"] == 2
    await tick(hass, freezer, timedelta(seconds=10))
    assert scheduled.request_counts["schedule_soc"] == 3
    # A rate limit is never mistaken for an authentication failure.
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)


async def test_a_refused_key_starts_reauthentication_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    scheduled: Sandbox,
    mock_config_entry: MockConfigEntry,
) -> None:
    await setup_entry(hass, mock_config_entry)
    scheduled.revoke_key(scheduled.api_key)
    scheduled.expire_tokens()

    await tick(hass, freezer, timedelta(minutes=33))
    await tick(hass, freezer, timedelta(hours=3))

    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    # Polling stopped after the refusal: no storm of failing logins.
    assert scheduled.request_counts["schedule_soc"] <= 3


async def test_removing_the_entry_forgets_the_cache(
    hass: HomeAssistant,
    scheduled: Sandbox,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    await setup_entry(hass, mock_config_entry)
    await hass.config_entries.async_unload(mock_config_entry.entry_id)
    assert f"{DOMAIN}.{mock_config_entry.entry_id}" in hass_storage

    await hass.config_entries.async_remove(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert f"{DOMAIN}.{mock_config_entry.entry_id}" not in hass_storage


async def test_an_absurd_retry_after_is_capped_at_a_day(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    scheduled: Sandbox,
    mock_config_entry: MockConfigEntry,
) -> None:
    await setup_entry(hass, mock_config_entry)
    scheduled.inject(Fault(route="schedule_soc", status=429, retry_after="1e14"))

    await tick(hass, freezer, timedelta(minutes=33))

    coordinator = device_of(mock_config_entry).schedule
    assert coordinator.error == "rate_limited"
    assert coordinator.update_interval == timedelta(hours=24)
