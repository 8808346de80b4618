"""The request budget: what an account asks of Flatpeak in a steady day, all included."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
import random

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.flatpeak.const import PRICE_MARGIN
from sandbox import Sandbox

from .common import batteries_entry, make_devices, session, setup_entry

NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SCHEDULE_INTERVAL = timedelta(minutes=30)
WARM_UP = timedelta(hours=6)

# At most this many requests a day for one device, logins included, and for each further
# device at the same location.
BUDGET = 80
FURTHER_BUDGET = 50
DEVICES = 3

KINDS = {
    "login": ("login",),
    "device": ("device_get",),
    "status": ("location_status",),
    "prices": ("prices",),
    "schedule": ("schedule_soc",),
    "device_list": ("device_list",),
}


async def steady_day(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    entry: MockConfigEntry,
) -> dict[str, int]:
    """Run a steady day of the account, and return its requests by kind."""
    random.seed(1)  # the polling jitter
    freezer.move_to(NOW)
    window = (NOW + timedelta(hours=13), NOW + timedelta(hours=15))
    sandbox.set_schedule_override([session(NOW, NOW + timedelta(days=3), window)])
    await setup_entry(hass, entry)
    devices = list(entry.runtime_data.devices.values())
    assert all(data.export_prices is not None for data in devices)  # both directions count

    # One-minute steps; each schedule is never older than its interval. The day
    # counted starts six hours after the setup, so that the daily fetches (the
    # device, the prices, the device list) fall inside it rather than at the setup.
    oldest = timedelta(0)
    start = NOW + WARM_UP
    while datetime.now(UTC) < start + DAY:
        if datetime.now(UTC) == start:
            sandbox.reset_counts()
        freezer.tick(timedelta(minutes=1))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
        now = datetime.now(UTC)
        for data in devices:
            fetched = data.schedule.last_success_time
            assert fetched is not None
            oldest = max(oldest, now - fetched)
        assert all(data.schedule.status(now) == "fresh" for data in devices)
        # The prices held always cover most of a day ahead (checked hourly, ±10 %).
        for prices in (devices[0].import_prices, devices[0].export_prices):
            assert prices is not None
            assert prices.curve is not None
            assert prices.curve.covers(now, now + PRICE_MARGIN - timedelta(hours=2))

    counts = Counter(sandbox.request_counts)
    kinds = {kind: sum(counts[route] for route in routes) for kind, routes in KINDS.items()}
    kinds["other"] = sum(counts.values()) - sum(kinds.values())
    kinds["total"] = sum(counts.values())
    assert all(r.status == 200 for r in sandbox.requests)
    # Jitter stretches an interval by up to a tenth; the one-minute step adds one.
    assert oldest <= SCHEDULE_INTERVAL * 1.1 + timedelta(minutes=1)
    return kinds


async def test_a_steady_day_of_one_device_stays_within_the_budget(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    mock_config_entry: MockConfigEntry,
) -> None:
    kinds = await steady_day(hass, freezer, sandbox, mock_config_entry)

    print(f"\nrequests in a steady day, one device: {kinds}")  # noqa: T201
    assert kinds["total"] <= BUDGET
    assert kinds["login"] <= 24
    assert kinds["status"] <= 5  # every 6 hours (± a tenth)
    assert 2 <= kinds["prices"] <= 4  # about once a day in each direction
    assert kinds["device"] == 1
    assert kinds["device_list"] == 1


async def test_each_further_device_at_the_location_costs_at_most_50(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    entry_data: dict[str, str],
) -> None:
    """Logins, the tariff status, the prices and the device list are the account's."""
    device_ids = await make_devices(hass, sandbox, entry_data, DEVICES)
    entry = batteries_entry(entry_data, sandbox.location_id, device_ids)

    kinds = await steady_day(hass, freezer, sandbox, entry)

    further = (kinds["total"] - BUDGET) / (DEVICES - 1)
    print(f"\nrequests in a steady day, {DEVICES} devices: {kinds}")  # noqa: T201
    assert kinds["total"] <= BUDGET + (DEVICES - 1) * FURTHER_BUDGET
    assert further <= FURTHER_BUDGET
    assert kinds["login"] <= 24
    assert kinds["status"] <= 5
    assert 2 <= kinds["prices"] <= 4
    assert kinds["device"] == DEVICES
    assert kinds["device_list"] == 1
