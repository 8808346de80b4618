"""The request budget: what one device asks of Flatpeak in a steady day, all included."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
import random

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.flatpeak.const import PRICE_MARGIN
from sandbox import Sandbox

from .common import SCHEDULE_STATUS, session, setup_entry, state

NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SCHEDULE_INTERVAL = timedelta(minutes=30)
WARM_UP = timedelta(hours=6)

# At most this many requests per device per day, logins included.
BUDGET = 80

KINDS = {
    "login": ("login",),
    "device": ("device_get",),
    "status": ("location_status",),
    "prices": ("prices",),
    "schedule": ("schedule_soc",),
}


async def test_a_steady_day_stays_within_the_request_budget(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    mock_config_entry: MockConfigEntry,
) -> None:
    random.seed(1)  # the polling jitter
    freezer.move_to(NOW)
    window = (NOW + timedelta(hours=13), NOW + timedelta(hours=15))
    sandbox.set_schedule_override([session(NOW, NOW + timedelta(days=3), window)])
    await setup_entry(hass, mock_config_entry)
    data = mock_config_entry.runtime_data
    assert data.export_prices is not None  # both directions are in the count

    # One-minute steps; the schedule is never older than its interval. The day
    # counted starts six hours after the setup, so that the daily fetches (the
    # device, the prices) fall inside it rather than at the setup.
    oldest = timedelta(0)
    start = NOW + WARM_UP
    while datetime.now(UTC) < start + DAY:
        if datetime.now(UTC) == start:
            sandbox.reset_counts()
        freezer.tick(timedelta(minutes=1))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
        fetched = data.schedule.last_success_time
        assert fetched is not None
        oldest = max(oldest, datetime.now(UTC) - fetched)
        assert state(hass, SCHEDULE_STATUS) == "fresh"
        # The prices held always cover most of a day ahead (checked hourly, ±10 %).
        now = datetime.now(UTC)
        for prices in (data.import_prices, data.export_prices):
            assert prices.curve is not None
            assert prices.curve.covers(now, now + PRICE_MARGIN - timedelta(hours=2))

    counts = Counter(sandbox.request_counts)
    kinds = {kind: sum(counts[route] for route in routes) for kind, routes in KINDS.items()}
    kinds["other"] = sum(counts.values()) - sum(kinds.values())
    total = sum(kinds.values())
    print(f"\nrequests in a steady day: {total}, {kinds}")  # noqa: T201
    assert all(r.status == 200 for r in sandbox.requests)
    # Jitter stretches an interval by up to a tenth; the one-minute step adds one.
    assert oldest <= SCHEDULE_INTERVAL * 1.1 + timedelta(minutes=1)
    assert total <= BUDGET
    assert kinds["login"] <= 24
    assert kinds["status"] <= 5  # every 6 hours (± a tenth)
    assert 2 <= kinds["prices"] <= 4  # about once a day in each direction
    assert kinds["device"] == 1
