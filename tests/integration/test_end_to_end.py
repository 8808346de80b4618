"""A person sets the integration up in the UI, against the sandbox, and gets live entities.

The account is added with two of its devices, the third is added to the
running account, and a device's own settings are changed: nothing is
mocked, the entry is set up for real.
"""

from __future__ import annotations

from datetime import UTC, datetime

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER, ConfigEntryState
from homeassistant.const import PERCENTAGE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.flatpeak.const import (
    CONF_DEVICE_ID,
    CONF_LOCATION_ID,
    CONF_SOC_ENTITY,
    DOMAIN,
    SUBENTRY_DEVICE,
)
from sandbox import Sandbox

from .common import BATTERY_NAME, CHARGING, NEXT_START, SCHEDULE_STATUS, device_of, state
from .dispatch_common import Watch

EV_STATUS = "sensor.voltline_sprint_7_schedule_status"
HEAT_PUMP_STATUS = "sensor.borealis_heat_aurora_6_schedule_status"
CAR_BATTERY = "sensor.car_state_of_charge"


async def test_set_up_through_the_flows(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, sandbox: Sandbox, sandbox_url: str
) -> None:
    freezer.move_to(datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    flows = hass.config_entries.flow
    result = await flows.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    result = await flows.async_configure(
        result["flow_id"],
        {
            "api_key": sandbox.api_key,
            "account_id": sandbox.account_id,
            "advanced": {"url": sandbox_url},
        },
    )
    assert result["type"] is FlowResultType.MENU
    result = await flows.async_configure(result["flow_id"], {"next_step_id": "pick"})
    result = await flows.async_configure(
        result["flow_id"], {"devices": [sandbox.device_id, sandbox.ev_charger_id]}
    )
    await hass.async_block_till_done(wait_background_tasks=True)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.title == f"Flatpeak {sandbox.account_id}"
    assert entry.state is ConfigEntryState.LOADED
    assert sorted(device.name for device in entry.runtime_data.devices.values()) == [
        BATTERY_NAME,
        "Voltline Sprint 7",
    ]
    assert state(hass, SCHEDULE_STATUS) == "fresh"
    assert state(hass, CHARGING) == "off"
    assert state(hass, NEXT_START) == "2026-03-29T00:30:00+00:00"
    assert state(hass, EV_STATUS) == "fresh"
    assert hass.states.get(HEAT_PUMP_STATUS) is None

    # The third device joins the running account: no reload, no new login.
    watch = Watch(hass, entry)
    logins = sandbox.request_counts["login"]
    subentries = hass.config_entries.subentries
    result = await subentries.async_init(
        (entry.entry_id, SUBENTRY_DEVICE), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    result = await subentries.async_configure(result["flow_id"], {"next_step_id": "pick"})
    # Only the device not added yet is offered.
    options = result["data_schema"].schema[CONF_DEVICE_ID].config["options"]
    assert [option["value"] for option in options] == [sandbox.heat_pump_id]
    result = await subentries.async_configure(
        result["flow_id"], {CONF_DEVICE_ID: sandbox.heat_pump_id}
    )
    await hass.async_block_till_done(wait_background_tasks=True)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    watch.assert_untouched()
    assert sandbox.request_counts["login"] == logins
    assert len(entry.runtime_data.devices) == 3
    assert state(hass, HEAT_PUMP_STATUS) == "fresh"

    # A device's own settings: the running account knows the device, so no request reads it.
    hass.states.async_set(CAR_BATTERY, "35", {"unit_of_measurement": PERCENTAGE})
    (charger,) = [s for s in entry.subentries.values() if s.unique_id == sandbox.ev_charger_id]
    reads = sandbox.request_counts["device_get"]
    result = await subentries.async_init(
        (entry.entry_id, SUBENTRY_DEVICE),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": charger.subentry_id},
    )
    assert result["type"] is FlowResultType.FORM
    assert sandbox.request_counts["device_get"] == reads
    result = await subentries.async_configure(
        result["flow_id"],
        {CONF_LOCATION_ID: sandbox.location_id, CONF_SOC_ENTITY: CAR_BATTERY},
    )
    await hass.async_block_till_done(wait_background_tasks=True)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.subentries[charger.subentry_id].data[CONF_SOC_ENTITY] == CAR_BATTERY
    # Changed settings of a device set the account up again, the device with its sensor.
    assert entry.state is ConfigEntryState.LOADED
    assert device_of(entry, sandbox.ev_charger_id).settings[CONF_SOC_ENTITY] == CAR_BATTERY
    assert state(hass, EV_STATUS) == "fresh"
