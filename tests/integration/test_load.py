"""Fifty Flatpeak devices in one Home Assistant through a simulated day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import logging

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from sandbox import Sandbox

from .common import batteries_entry, make_devices

pytestmark = pytest.mark.slow

DEVICES = 50
NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)

# The request budget of one day. Per device: the schedule every 30 minutes (±10 %)
# and the device once. Per set of credentials: a login when the token is 90 % through
# its hour. Per location, whatever the number of devices: the tariff status every
# 6 hours (each device's timer finds the answer of another within the interval, so a
# few more), and import and export prices once those held end within a day: at most
# twice each in a day.
SCHEDULES_PER_DEVICE = 54
LOGINS = 30
STATUSES_PER_LOCATION = 10
PRICES_PER_LOCATION = 2 * 2


async def test_fifty_devices_through_a_day(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    entry_data: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    freezer.move_to(NOW)
    device_ids = await make_devices(hass, sandbox, entry_data, DEVICES)
    entry = batteries_entry(entry_data, sandbox.location_id, device_ids)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    sandbox.reset_counts()
    caplog.set_level(logging.WARNING)

    end = NOW + timedelta(days=1)
    while datetime.now(UTC) < end:
        freezer.tick(timedelta(minutes=10))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)

    assert entry.state is ConfigEntryState.LOADED
    problems = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.ERROR
        or (r.levelno >= logging.WARNING and r.name.startswith("custom_components.flatpeak"))
    ]
    assert problems == []
    counts = sandbox.request_counts
    per_device = [
        sum(1 for r in sandbox.requests if r.route == "schedule_soc" and device_id in r.path)
        for device_id in device_ids
    ]
    assert max(per_device) <= SCHEDULES_PER_DEVICE
    # Time moves in 10-minute steps, so a fetch due at 30 minutes runs at the next step.
    assert min(per_device) >= 30
    assert counts["device_get"] <= 2 * DEVICES
    assert counts["login"] <= LOGINS
    assert counts["location_status"] <= STATUSES_PER_LOCATION
    assert counts["prices"] <= PRICES_PER_LOCATION
    print(  # noqa: T201  (the figures the README quotes)
        f"\nrequests in the day: {dict(counts)}; schedules per device"
        f" {min(per_device)} to {max(per_device)}"
    )
    assert all(r.status == 200 for r in sandbox.requests)
    for entity in hass.states.async_all("sensor"):
        if entity.entity_id.endswith("_schedule_status"):
            assert entity.state == "fresh"
