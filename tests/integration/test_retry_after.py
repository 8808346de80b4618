"""A Retry-After outlives a restart: nothing is sent before it has passed, to Flatpeak or Flip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.flatpeak.const import CONF_SOC_ENTITY, DOMAIN
from custom_components.flatpeak.diagnostics import async_get_config_entry_diagnostics
from sandbox import Fault, Sandbox

from .common import (
    BATTERY_NAME,
    CHARGING,
    SCHEDULE_STATUS,
    TARIFF_STATUS,
    account_entry,
    device_of,
    device_subentry,
    session,
    setup_entry,
    state,
)
from .dispatch_common import (
    FLIP_STATUS,
    HOUR,
    MINUTE,
    NOW,
    advance,
    flip_data,
    live_keys,
    refresh_schedule,
    restart,
    window,
    with_flip,
)

BATTERY = "sensor.battery_level"
RETRY_AFTER = timedelta(seconds=3600)
A = (NOW + HOUR, NOW + 2 * HOUR)
B = (NOW + 3 * HOUR, NOW + 4 * HOUR)


def plan(*slots: tuple[datetime, datetime]) -> list[dict[str, Any]]:
    """One session over the next day, holding the given slots."""
    return [session(NOW, NOW + 24 * HOUR, *slots)]


def flatpeak_requests(sandbox: Sandbox) -> int:
    """How many requests Flatpeak received."""
    return sum(n for route, n in sandbox.request_counts.items() if not route.startswith("flip_"))


def flip_requests(sandbox: Sandbox) -> int:
    """How many requests Flip received."""
    return sum(n for route, n in sandbox.request_counts.items() if route.startswith("flip_"))


async def cold_restart(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Restart as Home Assistant does, forgetting what only lived in memory (the clients)."""
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.fixture
def scheduled(sandbox: Sandbox, freezer: FrozenDateTimeFactory) -> Sandbox:
    """The sandbox at NOW, with window A."""
    freezer.move_to(NOW)
    sandbox.set_schedule_override(plan(A))
    return sandbox


@pytest.fixture
def linked_entry(
    mock_config_entry: MockConfigEntry, hass: HomeAssistant, sandbox: Sandbox
) -> MockConfigEntry:
    """The sandbox battery's entry, its state of charge read from a sensor."""
    hass.states.async_set(BATTERY, "50")
    return account_entry(
        dict(mock_config_entry.data),
        device_subentry(
            sandbox.device_id, sandbox.location_id, BATTERY_NAME, **{CONF_SOC_ENTITY: BATTERY}
        ),
    )


async def test_a_flatpeak_retry_after_outlives_a_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    scheduled: Sandbox,
    linked_entry: MockConfigEntry,
) -> None:
    await setup_entry(hass, linked_entry)
    await hass.async_block_till_done(wait_background_tasks=True)  # the first send
    assert scheduled.request_counts["device_state"] == 1
    scheduled.inject(Fault(route="schedule_soc", status=429, retry_after="3600"))
    await device_of(linked_entry).schedule.async_refresh()
    deadline = NOW + RETRY_AFTER

    freezer.tick(10 * MINUTE)
    hass.states.async_set(BATTERY, "60")
    scheduled.reset_counts()
    await cold_restart(hass, linked_entry)

    # Loaded from the cache, and saying why it is not fresh.
    assert linked_entry.state is ConfigEntryState.LOADED
    assert flatpeak_requests(scheduled) == 0
    assert state(hass, SCHEDULE_STATUS) == "cached"
    assert state(hass, CHARGING) == "off"
    assert state(hass, TARIFF_STATUS) == "connected"
    status = hass.states.get(SCHEDULE_STATUS)
    assert status is not None
    assert datetime.fromisoformat(status.attributes["retry_after"]) == deadline
    diagnostics = await async_get_config_entry_diagnostics(hass, linked_entry)
    assert diagnostics["entry"]["not_before"] == deadline
    assert diagnostics["devices"][0]["schedule"]["error"] == "rate_limited"

    # The actions refuse, or fail, without a request.
    with pytest.raises(ServiceValidationError) as refused:
        await hass.services.async_call(
            DOMAIN, "refresh", {"config_entry_id": linked_entry.entry_id}, blocking=True
        )
    assert refused.value.translation_key == "refresh_rate_limited"
    assert refused.value.translation_placeholders == {"seconds": "3000"}
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            DOMAIN,
            "set_device_state",
            {"config_entry_id": linked_entry.entry_id, "state_of_charge": 70},
            blocking=True,
        )

    # Nothing at all until the deadline, however the time passes.
    await advance(hass, freezer, 45 * MINUTE, 5 * MINUTE)
    hass.states.async_set(BATTERY, "80")
    await advance(hass, freezer, 4 * MINUTE, MINUTE)
    await advance(hass, freezer, MINUTE - timedelta(seconds=1), timedelta(seconds=1))
    assert datetime.now(UTC) == deadline - timedelta(seconds=1)
    assert flatpeak_requests(scheduled) == 0
    assert state(hass, SCHEDULE_STATUS) == "cached"

    # Then the fetches resume, and the state of charge is sent.
    await advance(hass, freezer, 5 * MINUTE, MINUTE)
    counts = scheduled.request_counts
    assert counts["schedule_soc"] >= 1
    assert counts["location_status"] >= 1
    assert counts["device_get"] >= 1
    assert counts["device_state"] >= 1
    assert state(hass, SCHEDULE_STATUS) == "fresh"
    status = hass.states.get(SCHEDULE_STATUS)
    assert status is not None
    assert "retry_after" not in status.attributes


async def test_a_stored_deadline_is_capped_at_a_day(
    hass: HomeAssistant,
    scheduled: Sandbox,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    await setup_entry(hass, mock_config_entry)
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    stored = hass_storage[f"{DOMAIN}.{mock_config_entry.entry_id}"]["data"]
    stored["retry_after"] = {"until": (NOW + timedelta(days=365)).isoformat()}
    scheduled.reset_counts()

    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert mock_config_entry.runtime_data.client.not_before == NOW + timedelta(hours=24)
    assert flatpeak_requests(scheduled) == 0


async def test_without_a_cache_the_setup_waits_for_the_deadline(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    scheduled: Sandbox,
    mock_config_entry: MockConfigEntry,
) -> None:
    scheduled.inject(Fault(route="device_get", status=429, retry_after="3600"))
    mock_config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY

    freezer.tick(10 * MINUTE)
    scheduled.reset_counts()
    await cold_restart(hass, mock_config_entry)

    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert "rate limit" in (mock_config_entry.reason or "")
    # Home Assistant's own retries of the setup send nothing either.
    await advance(hass, freezer, NOW + RETRY_AFTER - MINUTE - datetime.now(UTC), MINUTE)
    assert sum(scheduled.request_counts.values()) == 0
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY

    await advance(hass, freezer, 10 * MINUTE, MINUTE)
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert scheduled.request_counts["device_get"] == 1


@pytest.mark.parametrize("route", ["flip_event_create", "flip_event_list"])
async def test_a_flip_retry_after_outlives_a_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    scheduled: Sandbox,
    sandbox_url: str,
    mock_config_entry: MockConfigEntry,
    route: str,
) -> None:
    entry = with_flip(mock_config_entry, flip_data(scheduled, sandbox_url))
    await setup_entry(hass, entry)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert live_keys(scheduled) == {window(*A): 1}
    scheduled.inject(Fault(route=route, status=429, retry_after="3600"))
    scheduled.set_schedule_override(plan(A, B))
    if route == "flip_event_create":
        await refresh_schedule(hass, entry)
    else:
        await restart(hass, entry)  # a restart lists Flip's events first
    assert scheduled.request_counts[route] >= 1
    deadline = datetime.now(UTC) + RETRY_AFTER

    freezer.tick(10 * MINUTE)
    scheduled.reset_counts()
    await restart(hass, entry)
    await advance(hass, freezer, 5 * MINUTE, MINUTE)  # past the start grace

    assert flip_requests(scheduled) == 0
    assert state(hass, FLIP_STATUS) == "error"
    dispatch = (await async_get_config_entry_diagnostics(hass, entry))["devices"][0]["dispatch"]
    assert dispatch["error"] == "rate_limited"
    assert dispatch["not_before"] == deadline
    with pytest.raises(HomeAssistantError) as refused:
        await hass.services.async_call(
            DOMAIN, "dispatch_window", {"config_entry_id": entry.entry_id}, blocking=True
        )
    assert refused.value.translation_key == "flip_rate_limited"

    await advance(hass, freezer, 40 * MINUTE, 5 * MINUTE)
    await advance(hass, freezer, 4 * MINUTE, MINUTE)
    await advance(hass, freezer, MINUTE - timedelta(seconds=1), timedelta(seconds=1))
    assert datetime.now(UTC) == deadline - timedelta(seconds=1)
    assert flip_requests(scheduled) == 0
    # Flatpeak, another service, was asked all along.
    assert scheduled.request_counts["schedule_soc"] >= 1

    await advance(hass, freezer, 5 * MINUTE, MINUTE)
    assert scheduled.request_counts["flip_event_list"] == 1
    assert live_keys(scheduled) == {window(*A): 1, window(*B): 1}
    assert state(hass, FLIP_STATUS) == "dispatched"
