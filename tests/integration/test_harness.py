"""The test harness itself: Home Assistant reaches the sandbox over loopback."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from custom_components.flatpeak.api import FlatpeakClient
from sandbox import Sandbox


async def test_home_assistant_session_reaches_the_sandbox(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    client = FlatpeakClient(
        async_get_clientsession(hass), sandbox.account_id, sandbox.api_key, base_url=sandbox_url
    )
    device = await client.get_device(sandbox.device_id)
    assert device.id == sandbox.device_id
