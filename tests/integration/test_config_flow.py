"""The config flow, end to end against the sandbox over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
import json
import logging
from pathlib import Path
import re
from typing import Any
from unittest.mock import AsyncMock, patch

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, section
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol

from custom_components.flatpeak.api import DEFAULT_FLATPEAK_URL, FlatpeakClient
from custom_components.flatpeak.const import (
    CONF_ACCOUNT_ID,
    CONF_DEVICE_ID,
    CONF_LOCATION_ID,
    DEVICE_INTERVAL,
    DOMAIN,
    LEAD_TIME,
    PRICE_INTERVAL,
    SCHEDULE_HORIZON,
    SCHEDULE_INTERVAL,
    STATUS_INTERVAL,
)
from sandbox import Fault, Sandbox

TRANSLATIONS = json.loads(
    (
        Path(__file__).parents[2] / "custom_components" / "flatpeak" / "translations" / "en.json"
    ).read_text(encoding="utf-8")
)

# Well-formed identifiers that the sandbox does not know.
OTHER_LOCATION = "loc_0000000000000000000000aa"
UNKNOWN_DEVICE = "dev_0000000000000000000000bb"
NEW_KEY = "sk_live_0a1b2c3d4e5f60718293a4b5"


@pytest.fixture(autouse=True)
def mock_setup_entry() -> Iterator[AsyncMock]:
    """Stand in for setting up an entry: these tests are about the flow."""
    with patch(
        "custom_components.flatpeak.async_setup_entry",
        new_callable=AsyncMock,
        return_value=True,
        create=True,
    ) as mock:
        yield mock


def requests_made(sandbox: Sandbox) -> int:
    return sum(sandbox.request_counts.values())


def check_translated(result: Any, flow: str = "config") -> Any:
    """Fail when a flow shows something en.json does not explain.

    Every field needs a label and a description, every error and abort
    reason a sentence, every placeholder of a description a value.
    """
    texts = TRANSLATIONS[flow]
    if result["type"] is FlowResultType.MENU:
        step = texts["step"][result["step_id"]]
        assert set(result["menu_options"]) == set(step["menu_options"])
    if result["type"] is FlowResultType.FORM:
        step = texts["step"][result["step_id"]]
        for marker, value in result["data_schema"].schema.items():
            if isinstance(value, section):
                part = step["sections"][marker]
                assert part["name"]
                for inner in value.schema.schema:
                    assert inner in part["data"], inner
                    assert inner in part["data_description"], inner
            else:
                assert marker in step["data"], marker
                assert marker in step["data_description"], marker
        shown = [step.get("description", ""), *step.get("data_description", {}).values()]
        for name in re.findall(r"{(\w+)}", " ".join(shown)):
            assert name in (result["description_placeholders"] or {}), name
        for error in (result["errors"] or {}).values():
            assert error in texts["error"], error
    if result["type"] is FlowResultType.ABORT:
        assert result["reason"] in texts["abort"], result["reason"]
    return result


async def configure(hass: HomeAssistant, result: Any, user_input: dict[str, Any]) -> Any:
    return check_translated(
        await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    )


async def start(hass: HomeAssistant, choice: str) -> Any:
    """Open the user flow and pick a menu entry."""
    result = check_translated(
        await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    )
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "user"
    assert result["menu_options"] == ["connect", "register"]
    return await configure(hass, result, {"next_step_id": choice})


def connect_input(sandbox: Sandbox, base_url: str, **changes: str) -> dict[str, Any]:
    values = {
        CONF_API_KEY: sandbox.api_key,
        CONF_ACCOUNT_ID: sandbox.account_id,
        CONF_DEVICE_ID: sandbox.device_id,
        CONF_URL: base_url,
    } | changes
    return {
        CONF_API_KEY: values[CONF_API_KEY],
        CONF_ACCOUNT_ID: values[CONF_ACCOUNT_ID],
        CONF_DEVICE_ID: values[CONF_DEVICE_ID],
        "advanced": {CONF_URL: values[CONF_URL]},
    }


def register_input(sandbox: Sandbox, base_url: str) -> dict[str, Any]:
    return {
        CONF_API_KEY: sandbox.api_key,
        CONF_ACCOUNT_ID: sandbox.account_id,
        "advanced": {CONF_URL: base_url},
    }


def suggested(result: Any, key: str) -> Any:
    """Return the value a form field shows, as the user last typed it."""
    for marker in result["data_schema"].schema:
        if marker == key:
            return (marker.description or {}).get("suggested_value")
    raise KeyError(key)


def url_section(result: Any) -> Any:
    return result["data_schema"].schema["advanced"]


# Connecting a known device


async def test_connect(hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str) -> None:
    result = await start(hass, "connect")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "connect"
    assert url_section(result).options["collapsed"] is True
    assert requests_made(sandbox) == 0

    result = await configure(hass, result, connect_input(sandbox, sandbox_url))

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Nova Systems Pico Ultimate"
    assert result["data"] == {
        CONF_API_KEY: sandbox.api_key,
        CONF_ACCOUNT_ID: sandbox.account_id,
        CONF_DEVICE_ID: sandbox.device_id,
        CONF_LOCATION_ID: sandbox.location_id,
        CONF_URL: sandbox_url,
    }
    assert result["result"].unique_id == sandbox.device_id
    # One login, one device lookup, nothing else.
    assert sandbox.request_counts["login"] == 1
    assert sandbox.request_counts["device_get"] == 1
    assert requests_made(sandbox) == 2
    await hass.async_block_till_done()
    assert result["result"].state is ConfigEntryState.LOADED


async def test_connect_cleans_up_pasted_values(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    result = await start(hass, "connect")
    result = await configure(
        hass,
        result,
        connect_input(
            sandbox,
            f" {sandbox_url}/ ",
            api_key=f" {sandbox.live_api_key}\n",
            account_id=f"{sandbox.account_id} ",
            device_id=f" {sandbox.device_id}",
        ),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_API_KEY] == sandbox.live_api_key
    assert result["data"][CONF_ACCOUNT_ID] == sandbox.account_id
    assert result["data"][CONF_DEVICE_ID] == sandbox.device_id
    assert result["data"][CONF_URL] == sandbox_url


async def test_connect_device_already_configured(
    hass: HomeAssistant,
    sandbox: Sandbox,
    sandbox_url: str,
    mock_config_entry: MockConfigEntry,
) -> None:
    mock_config_entry.add_to_hass(hass)
    result = await start(hass, "connect")
    result = await configure(hass, result, connect_input(sandbox, sandbox_url))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


# Input that cannot be right is refused before any request.


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({CONF_API_KEY: "pk_test_123"}, {CONF_API_KEY: "invalid_api_key_format"}),
        ({CONF_API_KEY: "sk_test_"}, {CONF_API_KEY: "invalid_api_key_format"}),
        ({CONF_API_KEY: "sk_test_abc def"}, {CONF_API_KEY: "invalid_api_key_format"}),
        ({CONF_ACCOUNT_ID: "12345"}, {CONF_ACCOUNT_ID: "invalid_id_format"}),
        ({CONF_ACCOUNT_ID: "dev_5b1d5a7e9c0f"}, {CONF_ACCOUNT_ID: "invalid_id_format"}),
        ({CONF_DEVICE_ID: "../login"}, {CONF_DEVICE_ID: "invalid_id_format"}),
        ({CONF_DEVICE_ID: "loc_5b1d5a7e9c0f"}, {CONF_DEVICE_ID: "invalid_id_format"}),
        ({CONF_URL: "http://api.flatpeak.com"}, {"advanced": "invalid_url"}),
        ({CONF_URL: "ftp://127.0.0.1"}, {"advanced": "invalid_url"}),
        ({CONF_URL: "api.flatpeak.com"}, {"advanced": "invalid_url"}),
        (
            {CONF_API_KEY: "secret", CONF_DEVICE_ID: "dev-1", CONF_URL: "https://a.b/?x=1"},
            {
                CONF_API_KEY: "invalid_api_key_format",
                CONF_DEVICE_ID: "invalid_id_format",
                "advanced": "invalid_url",
            },
        ),
    ],
)
async def test_connect_bad_format(
    hass: HomeAssistant,
    sandbox: Sandbox,
    sandbox_url: str,
    changes: dict[str, str],
    errors: dict[str, str],
) -> None:
    result = await start(hass, "connect")
    typed = connect_input(sandbox, sandbox_url, **changes)
    result = await configure(hass, result, typed)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "connect"
    assert result["errors"] == errors
    assert requests_made(sandbox) == 0
    # What the user typed stays in the form, the key included.
    assert suggested(result, CONF_API_KEY) == typed[CONF_API_KEY]
    assert suggested(result, CONF_DEVICE_ID) == typed[CONF_DEVICE_ID]
    section = url_section(result)
    # Open with an error in it, or with another address than Flatpeak's typed there.
    expanded = "advanced" in errors or typed["advanced"][CONF_URL] != DEFAULT_FLATPEAK_URL
    assert section.options["collapsed"] is not expanded
    assert suggested({"data_schema": section.schema}, CONF_URL) == typed["advanced"][CONF_URL]

    result = await configure(hass, result, connect_input(sandbox, sandbox_url))
    assert result["type"] is FlowResultType.CREATE_ENTRY


# Errors from Flatpeak, and recovering from each.


@pytest.mark.parametrize(
    ("fault", "changes", "errors"),
    [
        (None, {CONF_API_KEY: "sk_test_0000000000"}, {"base": "invalid_auth"}),
        (None, {CONF_ACCOUNT_ID: "acc_0000000000"}, {"base": "invalid_auth"}),
        (Fault(route="device_get", status=403), {}, {"base": "invalid_auth"}),
        (None, {CONF_DEVICE_ID: UNKNOWN_DEVICE}, {CONF_DEVICE_ID: "device_not_found"}),
        (None, {CONF_URL: "http://127.0.0.1:1"}, {"base": "cannot_connect"}),
        (Fault(route="login", kind="disconnect", times=2), {}, {"base": "cannot_connect"}),
        (Fault(route="login", status=429, retry_after=60), {}, {"base": "rate_limited"}),
        (Fault(route="device_get", status=429), {}, {"base": "rate_limited"}),
        (
            Fault(route="login", status=422, code="account_disabled", error_type="api_error"),
            {},
            {"base": "account_disabled"},
        ),
        (
            Fault(route="device_get", status=403, code="account_disabled"),
            {},
            {"base": "account_disabled"},
        ),
        (Fault(route="device_get", status=500), {}, {"base": "unknown"}),
        (Fault(route="device_get", kind="malformed_json"), {}, {"base": "unknown"}),
        (Fault(route="login", kind="drop_field", field="bearer_token"), {}, {"base": "unknown"}),
    ],
)
async def test_connect_error_and_recovery(
    hass: HomeAssistant,
    sandbox: Sandbox,
    sandbox_url: str,
    caplog: pytest.LogCaptureFixture,
    fault: Fault | None,
    changes: dict[str, str],
    errors: dict[str, str],
) -> None:
    if fault is not None:
        sandbox.inject(fault)
    result = await start(hass, "connect")
    typed = connect_input(sandbox, sandbox_url, **changes)
    with caplog.at_level(logging.DEBUG):
        result = await configure(hass, result, typed)

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert suggested(result, CONF_API_KEY) == typed[CONF_API_KEY]
    assert typed[CONF_API_KEY] not in caplog.text
    if errors == {"base": "unknown"}:
        assert "Unexpected error while talking to Flatpeak" in caplog.text

    result = await configure(hass, result, connect_input(sandbox, sandbox_url))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == sandbox.device_id


async def test_connect_unexpected_exception(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    result = await start(hass, "connect")
    with patch.object(FlatpeakClient, "get_device", side_effect=RuntimeError("boom")):
        result = await configure(hass, result, connect_input(sandbox, sandbox_url))

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "unknown"}
    assert "Unexpected error while talking to Flatpeak" in caplog.text
    assert "RuntimeError: boom" in caplog.text
    assert sandbox.api_key not in caplog.text

    result = await configure(hass, result, connect_input(sandbox, sandbox_url))
    assert result["type"] is FlowResultType.CREATE_ENTRY


# Which location


async def test_device_at_several_locations(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    locations = [sandbox.location_id, OTHER_LOCATION]
    sandbox.inject(Fault(route="device_get", kind="wrong_type", field="locations", value=locations))
    result = await start(hass, "connect")
    result = await configure(hass, result, connect_input(sandbox, sandbox_url))

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "location"
    assert result["description_placeholders"] == {"device": "Nova Systems Pico Ultimate"}
    selector = result["data_schema"].schema[CONF_LOCATION_ID]
    assert selector.config["options"] == locations
    requests = requests_made(sandbox)

    result = await configure(hass, result, {CONF_LOCATION_ID: OTHER_LOCATION})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_LOCATION_ID] == OTHER_LOCATION
    assert requests_made(sandbox) == requests


async def test_device_without_location(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    sandbox.inject(Fault(route="device_get", kind="wrong_type", field="locations", value=[]))
    result = await start(hass, "connect")
    result = await configure(hass, result, connect_input(sandbox, sandbox_url))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "location"

    result = await configure(hass, result, {CONF_LOCATION_ID: "London"})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_LOCATION_ID: "invalid_id_format"}
    assert suggested(result, CONF_LOCATION_ID) == "London"

    result = await configure(hass, result, {CONF_LOCATION_ID: f" {sandbox.location_id} "})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_LOCATION_ID] == sandbox.location_id


# Registering a new device


async def test_register(hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str) -> None:
    result = await start(hass, "register")
    assert result["step_id"] == "register"
    result = await configure(hass, result, register_input(sandbox, sandbox_url))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "register_device"
    assert sandbox.request_counts["login"] == 1
    assert requests_made(sandbox) == 1
    options = result["data_schema"].schema["device_type"].config["options"]
    assert options == ["battery_system", "ev_charger", "electric_vehicle", "other"]

    result = await configure(
        hass,
        result,
        {
            "device_type": "battery_system",
            "manufacturer": " Acme ",
            "model_name": "PowerBox 10",
            CONF_LOCATION_ID: sandbox.location_id,
            "capacity": 10.0,
            "charge_power": 3.6,
            "discharge_power": 3.0,
        },
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Acme PowerBox 10"
    device_id = result["data"][CONF_DEVICE_ID]
    assert device_id != sandbox.device_id
    assert result["result"].unique_id == device_id
    assert result["data"] == {
        CONF_API_KEY: sandbox.api_key,
        CONF_ACCOUNT_ID: sandbox.account_id,
        CONF_DEVICE_ID: device_id,
        CONF_LOCATION_ID: sandbox.location_id,
        CONF_URL: sandbox_url,
    }
    # Still the first login: the token is reused for the registration.
    assert sandbox.request_counts["login"] == 1
    assert sandbox.request_counts["device_create"] == 1
    assert requests_made(sandbox) == 2

    device = sandbox.flatpeak.devices[device_id]
    assert device.reference_id.startswith("home-assistant-")
    assert device.type == "BATTERY_SYSTEM"
    assert device.locations == [sandbox.location_id]
    assert device.manufacturer == "Acme"
    assert device.model_name == "PowerBox 10"
    assert device.properties == {
        "capacity_kwh": 10.0,
        "power_rating_import_kwh": 3.6,
        "power_rating_export_kwh": 3.0,
    }

    # The new device is one Flatpeak serves like any other.
    client = FlatpeakClient(
        async_get_clientsession(hass), sandbox.account_id, sandbox.api_key, base_url=sandbox_url
    )
    assert (await client.get_device(device_id)).locations == (sandbox.location_id,)


async def test_register_refuses_missing_zero_and_negative_amounts(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    """Every wrong amount is named at once, and nothing reaches Flatpeak."""
    result = await start(hass, "register")
    result = await configure(hass, result, register_input(sandbox, sandbox_url))
    # Nothing is filled in for the user: the amounts are not required by the schema.
    for field in ("capacity", "charge_power", "discharge_power"):
        marker = next(key for key in result["data_schema"].schema if key == field)
        assert not isinstance(marker, vol.Required)
        assert marker.default is vol.UNDEFINED
    created = sandbox.request_counts["device_create"]

    result = await configure(
        hass,
        result,
        {"device_type": "battery_system", CONF_LOCATION_ID: sandbox.location_id},
    )
    assert result["errors"] == {"capacity": "amount_required", "charge_power": "amount_required"}

    result = await configure(
        hass,
        result,
        {
            "device_type": "battery_system",
            CONF_LOCATION_ID: sandbox.location_id,
            "capacity": 0,
            "charge_power": 0.0,
            "discharge_power": 0,
        },
    )
    assert result["errors"] == {
        "capacity": "amount_out_of_range",
        "charge_power": "amount_out_of_range",
        "discharge_power": "amount_out_of_range",
    }
    assert sandbox.request_counts["device_create"] == created
    check_translated(result)

    # An empty discharge power stays empty.
    result = await configure(
        hass,
        result,
        {
            "device_type": "battery_system",
            CONF_LOCATION_ID: sandbox.location_id,
            "capacity": 13.5,
            "charge_power": 5,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    device = sandbox.flatpeak.devices[result["data"][CONF_DEVICE_ID]]
    assert "power_rating_export_kwh" not in device.properties or (
        device.properties["power_rating_export_kwh"] is None
    )


async def test_register_device_errors_and_recovery(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    result = await start(hass, "register")
    result = await configure(hass, result, register_input(sandbox, sandbox_url))
    typed = {
        "device_type": "ev_charger",
        CONF_LOCATION_ID: "home",
        "capacity": 60,
        "charge_power": 7.4,
    }

    # A location that cannot be an ID: refused before any request.
    result = await configure(hass, result, typed)
    assert result["errors"] == {CONF_LOCATION_ID: "invalid_id_format"}
    assert sandbox.request_counts["device_create"] == 0
    assert suggested(result, "capacity") == 60

    # A location the account does not have.
    result = await configure(hass, result, typed | {CONF_LOCATION_ID: OTHER_LOCATION})
    assert result["errors"] == {CONF_LOCATION_ID: "location_not_found"}

    # Flatpeak busy.
    sandbox.inject(Fault(route="device_create", status=429))
    result = await configure(hass, result, typed | {CONF_LOCATION_ID: sandbox.location_id})
    assert result["errors"] == {"base": "rate_limited"}
    assert sandbox.request_counts["device_create"] == 2

    # Without a maker or a model, the entry is named after the device ID.
    result = await configure(hass, result, typed | {CONF_LOCATION_ID: sandbox.location_id})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    device_id = result["data"][CONF_DEVICE_ID]
    assert result["title"] == f"Flatpeak {device_id}"
    device = sandbox.flatpeak.devices[device_id]
    assert device.type == "EV_CHARGER"
    assert device.manufacturer is None
    assert device.properties == {"capacity_kwh": 60, "power_rating_import_kwh": 7.4}
    # Two registrations failed, so only one device was made.
    assert len(sandbox.flatpeak.devices) == 2


async def test_register_credentials_refused(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    result = await start(hass, "register")
    result = await configure(
        hass, result, register_input(sandbox, sandbox_url) | {CONF_API_KEY: "sk_test_wrong"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "register"
    assert result["errors"] == {"base": "invalid_auth"}
    assert suggested(result, CONF_API_KEY) == "sk_test_wrong"

    result = await configure(
        hass, result, register_input(sandbox, sandbox_url) | {"advanced": {CONF_URL: "http://x"}}
    )
    assert result["errors"] == {"advanced": "invalid_url"}
    assert url_section(result).options["collapsed"] is False

    result = await configure(hass, result, register_input(sandbox, sandbox_url))
    assert result["step_id"] == "register_device"


# Reauthentication


async def test_reauth(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)
    sandbox.revoke_key(sandbox.api_key)
    sandbox.add_key(NEW_KEY)

    result = check_translated(await mock_config_entry.start_reauth_flow(hass))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert result["description_placeholders"] == {
        "name": "Nova Systems Pico Ultimate",
        "account_id": sandbox.account_id,
    }

    # The old key, which Flatpeak no longer takes.
    result = await configure(hass, result, {CONF_API_KEY: sandbox.api_key})
    assert result["errors"] == {"base": "invalid_auth"}

    # Not a key at all: no request.
    requests = requests_made(sandbox)
    result = await configure(hass, result, {CONF_API_KEY: "8c4e2a6f1b9d3e57"})
    assert result["errors"] == {CONF_API_KEY: "invalid_api_key_format"}
    assert requests_made(sandbox) == requests

    result = await configure(hass, result, {CONF_API_KEY: NEW_KEY})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert mock_config_entry.data == {
        CONF_API_KEY: NEW_KEY,
        CONF_ACCOUNT_ID: sandbox.account_id,
        CONF_DEVICE_ID: sandbox.device_id,
        CONF_LOCATION_ID: sandbox.location_id,
        CONF_URL: sandbox_url,
    }


async def test_reauth_device_gone(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str, mock_config_entry: MockConfigEntry
) -> None:
    """An error about something the form does not show appears above the form."""
    mock_config_entry.add_to_hass(hass)
    sandbox.inject(Fault(route="device_get", status=404))
    result = check_translated(await mock_config_entry.start_reauth_flow(hass))
    result = await configure(hass, result, {CONF_API_KEY: sandbox.live_api_key})
    assert result["errors"] == {"base": "device_not_found"}

    result = await configure(hass, result, {CONF_API_KEY: sandbox.live_api_key})
    assert result["reason"] == "reauth_successful"
    assert mock_config_entry.data[CONF_API_KEY] == sandbox.live_api_key


async def test_reauth_after_failed_setup_sets_the_entry_up(
    hass: HomeAssistant,
    sandbox: Sandbox,
    sandbox_url: str,
    mock_config_entry: MockConfigEntry,
    mock_setup_entry: AsyncMock,
) -> None:
    mock_setup_entry.side_effect = [ConfigEntryAuthFailed("key revoked"), True]
    sandbox.revoke_key(sandbox.api_key)
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR

    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert len(flows) == 1
    assert flows[0]["step_id"] == "reauth_confirm"
    result = await configure(hass, flows[0], {CONF_API_KEY: sandbox.live_api_key})
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()

    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert mock_setup_entry.call_count == 2


async def test_reauth_of_a_running_entry_leaves_reloading_to_its_listener(
    hass: HomeAssistant,
    sandbox: Sandbox,
    sandbox_url: str,
    mock_config_entry: MockConfigEntry,
    mock_setup_entry: AsyncMock,
) -> None:
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED

    result = check_translated(await mock_config_entry.start_reauth_flow(hass))
    result = await configure(hass, result, {CONF_API_KEY: sandbox.live_api_key})
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert mock_setup_entry.call_count == 1
    assert mock_config_entry.data[CONF_API_KEY] == sandbox.live_api_key


# Reconfiguration


def reconfigure_input(device_id: str, location_id: str, url: str) -> dict[str, Any]:
    return {CONF_DEVICE_ID: device_id, CONF_LOCATION_ID: location_id, "advanced": {CONF_URL: url}}


async def test_reconfigure_same_device(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)
    result = check_translated(await mock_config_entry.start_reconfigure_flow(hass))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert suggested(result, CONF_DEVICE_ID) == sandbox.device_id
    assert suggested(result, CONF_LOCATION_ID) == sandbox.location_id
    section = url_section(result)
    assert suggested({"data_schema": section.schema}, CONF_URL) == sandbox_url
    # The address is not the usual one: show it.
    assert section.options["collapsed"] is False

    # A location the device is not registered at.
    result = await configure(
        hass, result, reconfigure_input(sandbox.device_id, OTHER_LOCATION, sandbox_url)
    )
    assert result["errors"] == {CONF_LOCATION_ID: "location_not_linked"}
    assert suggested(result, CONF_LOCATION_ID) == OTHER_LOCATION

    result = await configure(
        hass, result, reconfigure_input(sandbox.device_id, sandbox.location_id, sandbox_url + "/")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.data[CONF_URL] == sandbox_url
    assert mock_config_entry.unique_id == sandbox.device_id
    assert mock_config_entry.title == "Nova Systems Pico Ultimate"


async def test_reconfigure_other_device(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str, mock_config_entry: MockConfigEntry
) -> None:
    client = FlatpeakClient(
        async_get_clientsession(hass), sandbox.account_id, sandbox.api_key, base_url=sandbox_url
    )
    other = await client.create_device(
        reference_id="garage-charger",
        device_type="EV_CHARGER",
        location_ids=[sandbox.location_id],
        manufacturer="Volt",
        model_name="Wallbox 7",
    )
    mock_config_entry.add_to_hass(hass)
    result = check_translated(await mock_config_entry.start_reconfigure_flow(hass))

    result = await configure(
        hass, result, reconfigure_input(UNKNOWN_DEVICE, sandbox.location_id, sandbox_url)
    )
    assert result["errors"] == {CONF_DEVICE_ID: "device_not_found"}

    result = await configure(
        hass, result, reconfigure_input(other.id, sandbox.location_id, "https://")
    )
    assert result["errors"] == {"advanced": "invalid_url"}

    result = await configure(
        hass, result, reconfigure_input(other.id, sandbox.location_id, sandbox_url)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.unique_id == other.id
    assert mock_config_entry.title == "Volt Wallbox 7"
    assert mock_config_entry.data[CONF_DEVICE_ID] == other.id
    assert mock_config_entry.data[CONF_API_KEY] == sandbox.api_key


async def test_reconfigure_to_a_device_of_another_entry(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)
    other_entry = MockConfigEntry(
        domain=DOMAIN,
        title="Another battery",
        data=dict(mock_config_entry.data) | {CONF_DEVICE_ID: UNKNOWN_DEVICE},
        unique_id=UNKNOWN_DEVICE,
    )
    other_entry.add_to_hass(hass)

    result = check_translated(await other_entry.start_reconfigure_flow(hass))
    result = await configure(
        hass, result, reconfigure_input(sandbox.device_id, sandbox.location_id, sandbox_url)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert other_entry.unique_id == UNKNOWN_DEVICE
    assert other_entry.data[CONF_DEVICE_ID] == UNKNOWN_DEVICE


async def test_reconfigure_device_without_location(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    """A device Flatpeak lists at no location accepts any well-formed location."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Nova Systems Pico Ultimate",
        data={
            CONF_API_KEY: sandbox.api_key,
            CONF_ACCOUNT_ID: sandbox.account_id,
            CONF_DEVICE_ID: sandbox.device_id,
            CONF_LOCATION_ID: sandbox.location_id,
            CONF_URL: DEFAULT_FLATPEAK_URL,
        },
        unique_id=sandbox.device_id,
    )
    entry.add_to_hass(hass)
    result = check_translated(await entry.start_reconfigure_flow(hass))
    assert url_section(result).options["collapsed"] is True

    sandbox.inject(Fault(route="device_get", kind="wrong_type", field="locations", value=[]))
    result = await configure(
        hass, result, reconfigure_input(sandbox.device_id, OTHER_LOCATION, sandbox_url)
    )
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_LOCATION_ID] == OTHER_LOCATION
    assert entry.data[CONF_URL] == sandbox_url


# Options


async def test_options(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> None:
    mock_config_entry.add_to_hass(hass)
    result = check_translated(
        await hass.config_entries.options.async_init(mock_config_entry.entry_id), "options"
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    defaults = {
        marker.schema: marker.default()
        for marker in result["data_schema"].schema
        if marker.default is not vol.UNDEFINED
    }
    assert defaults == {
        SCHEDULE_HORIZON.key: SCHEDULE_HORIZON.default,
        SCHEDULE_INTERVAL.key: SCHEDULE_INTERVAL.default,
        STATUS_INTERVAL.key: STATUS_INTERVAL.default,
        DEVICE_INTERVAL.key: DEVICE_INTERVAL.default,
        LEAD_TIME.key: LEAD_TIME.default,
        PRICE_INTERVAL.key: PRICE_INTERVAL.default,
    }

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            SCHEDULE_HORIZON.key: 48.0,
            SCHEDULE_INTERVAL.key: 15.0,
            STATUS_INTERVAL.key: 120.0,
            DEVICE_INTERVAL.key: 12.0,
            LEAD_TIME.key: 0.0,
            PRICE_INTERVAL.key: 30.0,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert mock_config_entry.options == {
        SCHEDULE_HORIZON.key: 48,
        SCHEDULE_INTERVAL.key: 15,
        STATUS_INTERVAL.key: 120,
        DEVICE_INTERVAL.key: 12,
        LEAD_TIME.key: 0,
        PRICE_INTERVAL.key: 30,
    }
    assert all(type(value) is int for value in mock_config_entry.options.values())

    # Opened again, the form shows what was stored.
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    assert suggested(result, SCHEDULE_HORIZON.key) == 48


async def test_options_out_of_bounds(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    # Each range is named in its field's description.
    assert result["description_placeholders"][f"{SCHEDULE_HORIZON.key}_range"] == "1\u201372 h"
    assert result["description_placeholders"][f"{LEAD_TIME.key}_range"] == "0\u2013240 min"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {SCHEDULE_HORIZON.key: 1000, SCHEDULE_INTERVAL.key: 2.5, LEAD_TIME.key: -1},
    )
    # Every error at once, each on its field, in the integration's own words.
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {
        SCHEDULE_HORIZON.key: "out_of_range",
        SCHEDULE_INTERVAL.key: "out_of_range",
        LEAD_TIME.key: "out_of_range",
    }
    check_translated(result, "options")
    assert mock_config_entry.options == {}
