"""A person sets the integration up in the UI, against the sandbox, and gets live entities."""

from __future__ import annotations

from datetime import UTC, datetime

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.flatpeak.const import DOMAIN
from sandbox import Sandbox

from .common import CHARGING, NEXT_START, SCHEDULE_STATUS, state


async def test_set_up_through_the_config_flow(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, sandbox: Sandbox, sandbox_url: str
) -> None:
    freezer.move_to(datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "connect"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            "api_key": sandbox.api_key,
            "account_id": sandbox.account_id,
            "device_id": sandbox.device_id,
            "advanced": {"url": sandbox_url},
        },
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.title == "Nova Systems Pico Ultimate"
    assert entry.state is ConfigEntryState.LOADED
    assert state(hass, SCHEDULE_STATUS) == "fresh"
    assert state(hass, CHARGING) == "off"
    assert state(hass, NEXT_START) == "2026-03-29T00:30:00+00:00"
