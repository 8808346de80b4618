"""Every entity's state and attributes, and the diagnostics, as snapshots."""

from __future__ import annotations

from datetime import UTC, datetime

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
    get_diagnostics_for_device,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.flatpeak.const import DOMAIN, PLATFORMS
from sandbox import Sandbox

from .common import setup_entry

# In the middle of the first charging window of the sandbox's night.
NOW = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen(freezer: FrozenDateTimeFactory) -> None:
    freezer.move_to(NOW)


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("platform", PLATFORMS)
async def test_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    mock_config_entry: MockConfigEntry,
    sandbox: Sandbox,
    platform: Platform,
) -> None:
    sandbox.set_device_state(soc_percent=40, target_percent=90)
    await hass.config.async_set_time_zone("Europe/London")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("custom_components.flatpeak.PLATFORMS", [platform])
        await setup_entry(hass, mock_config_entry)

    await snapshot_platform(hass, entity_registry, snapshot, mock_config_entry.entry_id)


async def test_device(
    hass: HomeAssistant,
    device_registry: dr.DeviceRegistry,
    snapshot: SnapshotAssertion,
    mock_config_entry: MockConfigEntry,
    sandbox: Sandbox,
) -> None:
    await setup_entry(hass, mock_config_entry)

    (device,) = (
        device
        for device in dr.async_entries_for_config_entry(device_registry, mock_config_entry.entry_id)
        if ("flatpeak", sandbox.device_id) in device.identifiers
    )
    assert device == snapshot(
        exclude=lambda prop, path: prop
        in (
            "id",
            "config_entries",
            "config_entries_subentries",
            "config_entry_id",
            "created_at",
            "modified_at",
            "primary_config_entry",
        )
    )


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    snapshot: SnapshotAssertion,
    mock_config_entry: MockConfigEntry,
    sandbox: Sandbox,
) -> None:
    await setup_entry(hass, mock_config_entry)

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, mock_config_entry)

    text = str(diagnostics)
    assert sandbox.api_key not in text
    assert sandbox.account_id not in text
    # What changes from run to run: the sandbox's port, and the jittered intervals.
    assert diagnostics["entry"]["data"].pop("url").startswith("http://127.0.0.1:")
    (device,) = diagnostics["devices"]
    location = diagnostics["locations"][sandbox.location_id]
    for answers, kind, hours in (
        (device, "device", 24),
        (location, "status", 6),
        (device, "schedule", 0.5),
        (location, "import_prices", 1),
        (location, "export_prices", 1),
    ):
        interval = answers[kind].pop("next_interval_seconds")
        assert 0.9 * hours * 3600 <= interval <= 1.1 * hours * 3600
    assert diagnostics == snapshot

    # One device's own diagnostics: it, and its location.
    found = next(
        device
        for device in dr.async_entries_for_config_entry(
            dr.async_get(hass), mock_config_entry.entry_id
        )
        if (DOMAIN, sandbox.device_id) in device.identifiers
    )
    one = await get_diagnostics_for_device(hass, hass_client, mock_config_entry, found)
    assert one["device"]["settings"]["device_id"] == sandbox.device_id
    assert set(one["location"]) == {"status", "import_prices", "export_prices"}
    assert sandbox.api_key not in str(one)
