"""How each kind of failed fetch is recorded and explained, and the options that shape fetching."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.flatpeak.const import DOMAIN, LEAD_TIME, SCHEDULE_HORIZON, SCHEDULE_INTERVAL
from sandbox import Fault, Sandbox

from .common import CHARGING, SCHEDULE_STATUS, device_of, setup_entry, state

NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen(freezer: FrozenDateTimeFactory) -> None:
    freezer.move_to(NOW)


@pytest.mark.parametrize(
    ("fault", "error", "words"),
    [
        (Fault(route="schedule_soc", status=503), "api_error", "Flatpeak refused the request"),
        (
            Fault(route="schedule_soc", kind="disconnect", times=None),
            "cannot_connect",
            "Could not reach",
        ),
        (
            Fault(route="schedule_soc", kind="malformed_json"),
            "invalid_response",
            "could not be understood",
        ),
        (Fault(route="schedule_soc", status=404), "not_found", "no longer knows this device"),
        (Fault(route="schedule_soc", status=429), "rate_limited", "fewer requests"),
        (
            Fault(route="schedule_soc", status=422, code="account_disabled"),
            "account_disabled",
            "account is disabled",
        ),
        (
            Fault(route="schedule_soc", status=422, code="no_price_data"),
            "no_price_data",
            "no prices",
        ),
    ],
)
async def test_each_failure_is_recorded_and_explained(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    fault: Fault,
    error: str,
    words: str,
) -> None:
    await setup_entry(hass, mock_config_entry)
    coordinator = device_of(mock_config_entry).schedule
    sandbox.inject(fault)

    freezer.tick(timedelta(minutes=34))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert coordinator.error == error
    assert coordinator.failures == 1
    assert not coordinator.fresh
    assert words in caplog.text
    # The schedule fetched before keeps serving.
    assert state(hass, SCHEDULE_STATUS) == "cached"
    assert state(hass, CHARGING) == "off"


async def test_a_corrupt_cache_is_ignored(
    hass: HomeAssistant,
    sandbox: Sandbox,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    hass_storage[f"{DOMAIN}.{mock_config_entry.entry_id}"] = {
        "version": 1,
        "key": f"{DOMAIN}.{mock_config_entry.entry_id}",
        "data": {
            f"schedule:{sandbox.device_id}": {
                "document": {"data": "nonsense"},
                "fetched": NOW.isoformat(),
            },
            f"status:{sandbox.location_id}": "not even an object",
        },
    }

    await setup_entry(hass, mock_config_entry)

    assert "Ignoring the cached Flatpeak schedule" in caplog.text
    assert state(hass, SCHEDULE_STATUS) == "fresh"
    assert sandbox.request_counts["schedule_soc"] == 1


async def test_options_shape_fetching_and_a_change_reloads(
    hass: HomeAssistant, sandbox: Sandbox, mock_config_entry: MockConfigEntry
) -> None:
    await setup_entry(hass, mock_config_entry)
    assert device_of(mock_config_entry).schedule.horizon_hours == 24

    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            **result["data_schema"]({}),
            SCHEDULE_HORIZON.key: 48,
            SCHEDULE_INTERVAL.key: 60,
            LEAD_TIME.key: 5,
        },
    )
    # The reloaded entry starts from its cache and refreshes in the background.
    await hass.async_block_till_done(wait_background_tasks=True)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert mock_config_entry.state is ConfigEntryState.LOADED
    schedule = device_of(mock_config_entry).schedule
    assert schedule.horizon_hours == 48
    assert schedule.lead_time == timedelta(minutes=5)
    assert timedelta(minutes=54) <= schedule.update_interval <= timedelta(minutes=66)  # type: ignore[operator]
    assert sandbox.request_counts["schedule_soc"] == 2
