"""Fixtures for the integration's tests: Home Assistant against the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from unittest.mock import PropertyMock, patch

# Diagnostics import the Supervisor client, whose models are compiled when the
# module is imported; under frozen time that fails, so import it up front.
import homeassistant.components.hassio  # noqa: F401
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import CONF_API_KEY, CONF_URL
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.flatpeak.const import CONF_ACCOUNT_ID
from sandbox import Sandbox

from .common import BATTERY_NAME, QUIET, account_entry, device_subentry


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load the integration from custom_components."""


@pytest.fixture
def entity_registry_enabled_by_default() -> Iterator[None]:
    """Create every entity enabled, including those disabled by default."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        return_value=True,
        new_callable=PropertyMock,
    ):
        yield


@pytest.fixture
def sandbox() -> Sandbox:
    """The simulated clouds; their clock follows Home Assistant's (frozen) time."""
    return Sandbox(seed=1)


@pytest.fixture
async def sandbox_url(sandbox: Sandbox, socket_enabled: None) -> AsyncIterator[str]:
    """Serve the sandbox on loopback for the duration of a test."""
    async with sandbox.serve() as url:
        yield url


@pytest.fixture
def entry_data(sandbox: Sandbox, sandbox_url: str) -> dict[str, Any]:
    """The data of a config entry for the sandbox's account."""
    return {
        CONF_API_KEY: sandbox.api_key,
        CONF_ACCOUNT_ID: sandbox.account_id,
        CONF_URL: sandbox_url,
    }


@pytest.fixture
def battery(sandbox: Sandbox) -> ConfigSubentryData:
    """The device subentry of the sandbox's demo battery."""
    return device_subentry(sandbox.device_id, sandbox.location_id, BATTERY_NAME)


@pytest.fixture
def mock_config_entry(entry_data: dict[str, Any], battery: ConfigSubentryData) -> MockConfigEntry:
    """The sandbox's account with its demo battery, not yet added to hass."""
    return account_entry(entry_data, battery)


@pytest.fixture
def quiet_entry(entry_data: dict[str, Any], battery: ConfigSubentryData) -> MockConfigEntry:
    """The account, polling rarely, so that polling stays out of the way of boundaries."""
    return account_entry(entry_data, battery, options=QUIET)
