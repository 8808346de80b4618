"""Fixtures for the benchmarks: the integration tests' Home Assistant against the sandbox.

Measured as Home Assistant runs for its users, not as tests run it: without asyncio's
debug mode (which the test plugin turns on, and which slows every callback) and logging
warnings only (the tests log everything, formatted on every event).
"""

from __future__ import annotations

import asyncio
import logging

from homeassistant.const import EVENT_LOGGING_CHANGED
from homeassistant.core import HomeAssistant
import pytest

from tests.integration.conftest import (  # noqa: F401
    auto_enable_custom_integrations,
    entry_data,
    sandbox,
    sandbox_url,
)


@pytest.fixture(autouse=True)
async def enable_event_loop_debug() -> None:
    """Leave asyncio's debug mode off, as in a Home Assistant installation."""
    asyncio.get_running_loop().set_debug(False)


@pytest.fixture(autouse=True)
def log_warnings_only(caplog: pytest.LogCaptureFixture, hass: HomeAssistant) -> None:
    """Log at Home Assistant's default level, not the tests' DEBUG.

    The event bus reads the level when told that logging changed, as the logger
    integration tells it: otherwise it keeps describing every event for a debug
    line that is never written.
    """
    caplog.set_level(logging.WARNING)
    hass.bus.async_fire(EVENT_LOGGING_CHANGED)
