"""Fixtures for the integration's tests: Home Assistant against the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from unittest.mock import PropertyMock, patch

# Diagnostics import the Supervisor client, whose models are compiled when the
# module is imported; under frozen time that fails, so import it up front.
import homeassistant.components.hassio  # noqa: F401
from homeassistant.const import CONF_API_KEY, CONF_URL
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.flatpeak.const import (
    CONF_ACCOUNT_ID,
    CONF_DEVICE_ID,
    CONF_LOCATION_ID,
    DOMAIN,
)
from sandbox import Sandbox

from .common import QUIET


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
    """Config entry data for the sandbox's demo battery."""
    return {
        CONF_API_KEY: sandbox.api_key,
        CONF_ACCOUNT_ID: sandbox.account_id,
        CONF_DEVICE_ID: sandbox.device_id,
        CONF_LOCATION_ID: sandbox.location_id,
        CONF_URL: sandbox_url,
    }


@pytest.fixture
def mock_config_entry(entry_data: dict[str, Any], sandbox: Sandbox) -> MockConfigEntry:
    """A config entry for the sandbox's demo battery, not yet added to hass."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Nova Systems Pico Ultimate",
        data=entry_data,
        unique_id=sandbox.device_id,
    )


@pytest.fixture
def quiet_entry(mock_config_entry: MockConfigEntry) -> MockConfigEntry:
    """An entry that polls rarely, so that polling stays out of the way of boundaries."""
    return MockConfigEntry(
        domain=mock_config_entry.domain,
        title=mock_config_entry.title,
        data=mock_config_entry.data,
        unique_id=mock_config_entry.unique_id,
        options=QUIET,
    )
