"""Outages, repairs and secrets: the integration's behaviour when things go wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import logging

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.flatpeak.const import DOMAIN, STATUS_INTERVAL
from sandbox import Fault, Sandbox

from .common import (
    CHARGING,
    PREFIX,
    SCHEDULE_STATUS,
    TARIFF_STATUS,
    device_of,
    session,
    setup_entry,
    state,
)

NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
CAPACITY = f"sensor.{PREFIX}_battery_capacity"

# The most requests a device makes while the cloud is down for 72 hours: the
# schedule and device fetches each back off from 1 minute to their normal
# interval (30 min, 24 h), the status to 1 h, about 3 an hour in all; import and
# export prices likewise to 1 h, but only once those held end within a day,
# 2 an hour more from then on. Measured: 337.
OUTAGE_HOURS = 72
OUTAGE_REQUEST_BOUND = 360


async def advance(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, total: timedelta, step: timedelta
) -> None:
    """Let time pass in steps, running every timer that falls due."""
    end = datetime.now(UTC) + total
    while datetime.now(UTC) < end:
        freezer.tick(step)
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)


def issues(hass: HomeAssistant) -> set[str]:
    """The translation keys of the integration's open repair issues."""
    return {
        issue.translation_key or ""
        for (domain, _), issue in ir.async_get(hass).issues.items()
        if domain == DOMAIN
    }


@pytest.fixture
def scheduled(sandbox: Sandbox, freezer: FrozenDateTimeFactory) -> Sandbox:
    """The sandbox with one window in the next six hours."""
    freezer.move_to(NOW)
    window = (NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    sandbox.set_schedule_override([session(NOW, NOW + timedelta(hours=6), window)])
    return sandbox


async def test_a_72_hour_outage(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    scheduled: Sandbox,
    mock_config_entry: MockConfigEntry,
) -> None:
    await setup_entry(hass, mock_config_entry)
    scheduled.reset_counts()
    scheduled.inject(Fault(route="flatpeak:*", status=503, times=None))

    # The known window is still served during the outage.
    await advance(hass, freezer, timedelta(hours=1, minutes=30), timedelta(minutes=5))
    assert state(hass, CHARGING) == "on"
    assert state(hass, SCHEDULE_STATUS) == "cached"
    assert "unreachable" in issues(hass)
    # The tariff status is shown for its grace period (two of its 6-hour
    # intervals), then no longer.
    assert state(hass, TARIFF_STATUS) == "connected"
    await advance(hass, freezer, timedelta(hours=5), timedelta(minutes=5))
    assert state(hass, SCHEDULE_STATUS) == "expired"
    assert state(hass, CHARGING) == "off"
    assert state(hass, TARIFF_STATUS) == "connected"
    # Entities learn of it at the next failed retry, hourly.
    await advance(hass, freezer, timedelta(hours=7), timedelta(minutes=5))
    assert state(hass, TARIFF_STATUS) == "unavailable"

    await advance(
        hass,
        freezer,
        timedelta(hours=OUTAGE_HOURS) - timedelta(hours=13, minutes=30),
        timedelta(minutes=5),
    )
    made = sum(scheduled.request_counts.values())
    print(f"\nrequests in the outage: {made}, {dict(scheduled.request_counts)}")  # noqa: T201
    assert made <= OUTAGE_REQUEST_BOUND
    assert state(hass, CAPACITY) == "unavailable"

    # Recovery within one refresh of the schedule, and the repair goes away.
    scheduled.clear_faults()
    await advance(hass, freezer, timedelta(minutes=33), timedelta(minutes=1))
    assert state(hass, SCHEDULE_STATUS) == "fresh"
    assert "unreachable" not in issues(hass)
    await advance(hass, freezer, timedelta(hours=1), timedelta(minutes=5))
    assert state(hass, TARIFF_STATUS) == "connected"


@pytest.mark.parametrize(
    ("cause", "issue"),
    [
        (Fault(route="device_get", status=404, times=None), "device_not_found"),
        (
            Fault(route="flatpeak:*", status=422, code="account_disabled", times=None),
            "account_disabled",
        ),
    ],
)
async def test_problems_the_user_must_solve_raise_a_repair_that_clears_itself(
    hass: HomeAssistant,
    scheduled: Sandbox,
    mock_config_entry: MockConfigEntry,
    cause: Fault,
    issue: str,
) -> None:
    await setup_entry(hass, mock_config_entry)
    data = device_of(mock_config_entry)
    scheduled.inject(cause)

    for coordinator in data.coordinators:
        await coordinator.async_refresh()
    assert issue in issues(hass)

    scheduled.clear_faults()
    for coordinator in data.coordinators:
        await coordinator.async_refresh()
    assert issues(hass) == set()


async def test_tariff_problems_raise_repairs(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    scheduled: Sandbox,
    mock_config_entry: MockConfigEntry,
) -> None:
    await setup_entry(hass, mock_config_entry)
    data = device_of(mock_config_entry)
    scheduled.set_tariff_status("commodity_import", "NOT_CONNECTED")
    scheduled.set_tariff_status("commodity_export", "ERROR")
    # The location's status is shared for one interval, but the schedule's tariff
    # problem asks for it again once it is older than TARIFF_PROBLEM_RETRY.
    freezer.tick(timedelta(hours=1))

    await data.schedule.async_refresh()
    await data.import_prices.async_refresh()
    await data.status.async_refresh()

    assert issues(hass) == {"no_tariff_connected", "tariff_error"}
    scheduled.set_tariff_status("commodity_import", "CONNECTED")
    scheduled.set_tariff_status("commodity_export", "CONNECTED")
    # Nothing fails now: the status is asked for again once its interval has passed.
    freezer.tick(STATUS_INTERVAL.default_duration)
    await data.schedule.async_refresh()
    await data.import_prices.async_refresh()
    await data.status.async_refresh()
    assert issues(hass) == set()


async def test_a_contract_ending_within_14_days_raises_a_repair(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    scheduled: Sandbox,
    mock_config_entry: MockConfigEntry,
) -> None:
    await hass.config.async_set_time_zone("Europe/London")
    await setup_entry(hass, mock_config_entry)
    end = "tariff_status.commodity_import.tariff.contract_end_date"
    scheduled.inject(
        Fault(route="location_status", kind="wrong_type", field=end, value="2026-04-07T12:00:00Z")
    )
    freezer.tick(STATUS_INTERVAL.default_duration)  # past the location's shared status

    await device_of(mock_config_entry).status.async_refresh()

    (contract,) = [i for i in ir.async_get(hass).issues.values() if i.domain == DOMAIN]
    assert contract.translation_key == "contract_ending"
    assert contract.translation_placeholders == {
        "name": "Nova Systems Pico Ultimate",
        "date": "2026-04-07",
    }


async def test_removing_the_entry_removes_its_repairs(
    hass: HomeAssistant, scheduled: Sandbox, mock_config_entry: MockConfigEntry
) -> None:
    scheduled.set_tariff_status("commodity_import", "NOT_CONNECTED")
    await setup_entry(hass, mock_config_entry)
    assert issues(hass) == {"no_tariff_connected"}

    await hass.config_entries.async_remove(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert issues(hass) == set()


async def test_no_secret_reaches_any_log_line(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    scheduled: Sandbox,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await setup_entry(hass, mock_config_entry)
    faults = [
        Fault(route="schedule_soc", status=503),
        Fault(route="schedule_soc", status=429, retry_after="60"),
        Fault(route="schedule_soc", kind="disconnect"),  # a POST: aiohttp does not retry it
        Fault(route="schedule_soc", kind="malformed_json"),
        Fault(route="schedule_soc", kind="drop_field", field="data.0.end_time"),
        Fault(route="schedule_soc", status=422, code="no_price_data"),
    ]
    for fault in faults:
        scheduled.inject(fault)
        await device_of(mock_config_entry).schedule.async_refresh()
        freezer.tick(timedelta(minutes=1))  # past the Retry-After, which holds every request
    scheduled.expire_tokens()
    await device_of(mock_config_entry).schedule.async_refresh()
    scheduled.revoke_key(scheduled.api_key)
    scheduled.expire_tokens()
    await device_of(mock_config_entry).schedule.async_refresh()
    await hass.async_block_till_done()

    secrets = [scheduled.api_key, *scheduled.issued_tokens]
    assert len(secrets) >= 3
    logged = "\n".join(
        f"{record.getMessage()} {record.exc_text or ''}" for record in caplog.records
    )
    assert "Flatpeak" in logged
    for secret in secrets:
        assert secret not in logged
        assert secret not in caplog.text
