"""The account's flows, end to end against the sandbox over real HTTP.

Setting up the account (its devices picked, searched or registered, each
placed), adding a device to it, reconfiguring a device, the options,
re-authenticating and reconfiguring the account.
"""

from __future__ import annotations

from collections.abc import Iterator
import json
import logging
from pathlib import Path
import re
from typing import Any
from unittest.mock import AsyncMock, patch

from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_API_KEY, CONF_URL, PERCENTAGE
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
    CONF_SOC_ENTITY,
    DEVICE_INTERVAL,
    DOMAIN,
    LEAD_TIME,
    PRICE_INTERVAL,
    SCHEDULE_HORIZON,
    SCHEDULE_INTERVAL,
    STATUS_INTERVAL,
    SUBENTRY_DEVICE,
)
from custom_components.flatpeak.migration import VERSION
from sandbox import Fault, Sandbox

from .common import BATTERY_NAME, account_entry, device_subentry

TRANSLATIONS = json.loads(
    (
        Path(__file__).parents[2] / "custom_components" / "flatpeak" / "translations" / "en.json"
    ).read_text(encoding="utf-8")
)
CONFIG = TRANSLATIONS["config"]
OPTIONS = TRANSLATIONS["options"]
DEVICE_FLOW = TRANSLATIONS["config_subentries"][SUBENTRY_DEVICE]

EV_NAME = "Voltline Sprint 7"
HEAT_PUMP_NAME = "Borealis Heat Aurora 6"

# Well-formed identifiers that the sandbox does not know.
OTHER_LOCATION = "loc_0000000000000000000000aa"
UNKNOWN_DEVICE = "dev_0000000000000000000000bb"
NEW_KEY = "sk_live_0a1b2c3d4e5f60718293a4b5"
# A well-formed key of another account: Flatpeak refuses it for this account.
OTHER_ACCOUNT_KEY = "sk_live_ffffeeeeddddccccbbbbaaaa"


@pytest.fixture(autouse=True)
def mock_setup_entry() -> Iterator[AsyncMock]:
    """Stand in for setting up an entry: these tests are about the flows."""
    with patch(
        "custom_components.flatpeak.async_setup_entry",
        new_callable=AsyncMock,
        return_value=True,
        create=True,
    ) as mock:
        yield mock


def requests_made(sandbox: Sandbox) -> int:
    return sum(sandbox.request_counts.values())


def check_translated(result: Any, texts: dict[str, Any] = CONFIG) -> Any:
    """Fail when a flow shows something en.json does not explain.

    Every step needs a title, every field a label and a description, every
    menu option, error and abort reason a sentence, every placeholder of a
    text a value.
    """
    if result["type"] in (FlowResultType.MENU, FlowResultType.FORM):
        step = texts["step"][result["step_id"]]
        assert step["title"]
        shown = [step["title"], step.get("description", "")]
        if result["type"] is FlowResultType.MENU:
            assert set(result["menu_options"]) == set(step["menu_options"])
            shown += step["menu_options"].values()
        else:
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
            shown += step.get("data_description", {}).values()
            for error in (result["errors"] or {}).values():
                assert error in texts["error"], error
        for name in re.findall(r"{(\w+)}", " ".join(shown)):
            assert name in (result["description_placeholders"] or {}), name
    if result["type"] is FlowResultType.ABORT:
        assert result["reason"] in texts["abort"], result["reason"]
    return result


async def configure(hass: HomeAssistant, result: Any, user_input: dict[str, Any]) -> Any:
    return check_translated(
        await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    )


def credentials(sandbox: Sandbox, base_url: str, **changes: str) -> dict[str, Any]:
    values = {
        CONF_API_KEY: sandbox.api_key,
        CONF_ACCOUNT_ID: sandbox.account_id,
        CONF_URL: base_url,
    } | changes
    return {
        CONF_API_KEY: values[CONF_API_KEY],
        CONF_ACCOUNT_ID: values[CONF_ACCOUNT_ID],
        "advanced": {CONF_URL: values[CONF_URL]},
    }


async def start(hass: HomeAssistant) -> Any:
    result = check_translated(
        await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    return result


async def signed_in(hass: HomeAssistant, sandbox: Sandbox, base_url: str) -> Any:
    """Open the flow and give the sandbox's credentials: the menu of devices."""
    result = await configure(hass, await start(hass), credentials(sandbox, base_url))
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "devices"
    return result


async def picking(hass: HomeAssistant, sandbox: Sandbox, base_url: str) -> Any:
    """Sign in and choose to pick devices of the account: the list of devices."""
    result = await signed_in(hass, sandbox, base_url)
    result = await configure(hass, result, {"next_step_id": "pick"})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "pick"
    return result


def suggested(result: Any, key: str) -> Any:
    """Return the value a form field shows, as the user last typed it."""
    for marker in result["data_schema"].schema:
        if marker == key:
            return (marker.description or {}).get("suggested_value")
    raise KeyError(key)


def fields(result: Any) -> list[str]:
    return [str(marker) for marker in result["data_schema"].schema]


def url_section(result: Any) -> Any:
    return result["data_schema"].schema["advanced"]


def offered(result: Any, field: str = "devices") -> dict[str, str]:
    """The devices a form lists: label by device ID, in order."""
    selector = result["data_schema"].schema[field]
    return {option["value"]: option["label"] for option in selector.config["options"]}


def entry_data(sandbox: Sandbox, url: str, api_key: str | None = None) -> dict[str, Any]:
    return {
        CONF_API_KEY: api_key or sandbox.api_key,
        CONF_ACCOUNT_ID: sandbox.account_id,
        CONF_URL: url,
    }


def subentries_of(result: Any) -> list[dict[str, Any]]:
    """The device subentries a created entry holds, as plain dicts."""
    return [
        {
            "subentry_type": subentry.subentry_type,
            "title": subentry.title,
            "unique_id": subentry.unique_id,
            "data": dict(subentry.data),
        }
        for subentry in result["result"].subentries.values()
    ]


def device(device_id: str, location_id: str, title: str) -> dict[str, Any]:
    """A device subentry as subentries_of shows it."""
    return {
        "subentry_type": SUBENTRY_DEVICE,
        "title": title,
        "unique_id": device_id,
        "data": {CONF_DEVICE_ID: device_id, CONF_LOCATION_ID: location_id},
    }


async def create_device(hass: HomeAssistant, sandbox: Sandbox, url: str, **details: Any) -> str:
    """Register a device in the sandbox's account through the API; return its ID."""
    client = FlatpeakClient(
        async_get_clientsession(hass), sandbox.account_id, sandbox.api_key, base_url=url
    )
    created = await client.create_device(
        location_ids=[sandbox.location_id],
        **({"reference_id": "garage-battery", "device_type": "BATTERY_SYSTEM"} | details),
    )
    return created.id


async def listed(hass: HomeAssistant, sandbox: Sandbox, url: str) -> dict[str, Any]:
    """The page of devices the sandbox serves now, as its documents, to change and serve."""
    client = FlatpeakClient(
        async_get_clientsession(hass), sandbox.account_id, sandbox.api_key, base_url=url
    )
    listing = await client.list_devices()
    sandbox.reset_counts()
    return {"object": "list", "has_more": False, "data": [d.source for d in listing.devices]}


# Setting up the account


async def test_set_up_an_account_with_one_device(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    result = await start(hass)
    assert fields(result) == [CONF_API_KEY, CONF_ACCOUNT_ID, "advanced"]
    assert url_section(result).options["collapsed"] is True
    assert requests_made(sandbox) == 0

    result = await configure(hass, result, credentials(sandbox, sandbox_url))
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "devices"
    assert result["menu_options"] == ["pick", "register_device"]
    assert result["description_placeholders"]["account_id"] == sandbox.account_id
    assert result["description_placeholders"]["total"] == "3"
    # One login, one page of devices.
    assert sandbox.request_counts["login"] == 1
    assert sandbox.request_counts["device_list"] == 1
    assert requests_made(sandbox) == 2

    result = await configure(hass, result, {"next_step_id": "pick"})
    assert result["step_id"] == "pick"
    # Three devices fit one list: no search field, newest first, each with its
    # name, kind and the end of its ID (short enough for a chip). Nothing is picked yet.
    assert fields(result) == ["devices"]
    assert offered(result) == {
        sandbox.heat_pump_id: f"{HEAT_PUMP_NAME} · Heat pump · …{sandbox.heat_pump_id[-6:]}",
        sandbox.ev_charger_id: f"{EV_NAME} · EV charger · …{sandbox.ev_charger_id[-6:]}",
        sandbox.device_id: f"{BATTERY_NAME} · Home battery · …{sandbox.device_id[-6:]}",
    }
    selector = result["data_schema"].schema["devices"]
    assert selector.config["multiple"] is True
    assert selector.config["mode"] == "dropdown"
    # Nothing is chosen for the user.
    assert suggested(result, "devices") == []  # nothing picked unasked
    assert result["description_placeholders"] == {"shown": "3", "total": "3", "max": "200"}

    result = await configure(hass, result, {"devices": [sandbox.device_id]})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.version == VERSION == 2
    assert entry.title == f"Flatpeak {sandbox.account_id}"
    assert entry.unique_id == sandbox.account_id
    assert dict(entry.data) == entry_data(sandbox, sandbox_url)
    assert dict(entry.options) == {}
    assert subentries_of(result) == [device(sandbox.device_id, sandbox.location_id, BATTERY_NAME)]
    # The devices were listed once: nothing more was asked.
    assert requests_made(sandbox) == 2
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_set_up_an_account_with_several_devices(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    result = await picking(hass, sandbox, sandbox_url)
    result = await configure(
        hass, result, {"devices": [sandbox.ev_charger_id, sandbox.device_id, sandbox.heat_pump_id]}
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert subentries_of(result) == [
        device(sandbox.ev_charger_id, sandbox.location_id, EV_NAME),
        device(sandbox.device_id, sandbox.location_id, BATTERY_NAME),
        device(sandbox.heat_pump_id, sandbox.location_id, HEAT_PUMP_NAME),
    ]
    assert requests_made(sandbox) == 2


async def test_picking_nothing_is_refused(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    result = await picking(hass, sandbox, sandbox_url)
    result = await configure(hass, result, {"devices": []})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"devices": "no_device_chosen"}

    result = await configure(hass, result, {"devices": [sandbox.heat_pump_id]})
    assert subentries_of(result) == [
        device(sandbox.heat_pump_id, sandbox.location_id, HEAT_PUMP_NAME)
    ]


async def test_devices_of_the_same_name_are_told_apart(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    twin = await create_device(
        hass,
        sandbox,
        sandbox_url,
        reference_id="SANDBOX-BATTERY-2",
        manufacturer="Nova Systems",
        model_name="Pico Ultimate",
        capacity_kwh=13.5,
        charge_power_kw=5,
    )
    unnamed = await create_device(hass, sandbox, sandbox_url, reference_id="home-assistant-1a2b")
    result = await picking(hass, sandbox, sandbox_url)
    # A reference this integration made up names nothing: the kind and the end of the ID do.
    assert offered(result)[unnamed] == f"Home battery {unnamed[-6:]}"

    result = await configure(hass, result, {"devices": [sandbox.device_id, twin, unnamed]})

    assert [subentry["title"] for subentry in subentries_of(result)] == [
        BATTERY_NAME,
        f"{BATTERY_NAME} (SANDBOX-BATTERY-2)",
        f"Home battery {unnamed[-6:]}",
    ]


async def test_set_up_cleans_up_pasted_values(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    result = await start(hass)
    result = await configure(
        hass,
        result,
        credentials(
            sandbox,
            f" {sandbox_url}/ ",
            api_key=f" {sandbox.live_api_key}\n",
            account_id=f"{sandbox.account_id} ",
        ),
    )
    result = await configure(hass, result, {"next_step_id": "pick"})
    result = await configure(hass, result, {"devices": [sandbox.device_id]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert dict(result["result"].data) == entry_data(sandbox, sandbox_url, sandbox.live_api_key)
    assert result["result"].unique_id == sandbox.account_id


async def test_an_account_is_set_up_once(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)
    result = await configure(hass, await start(hass), credentials(sandbox, sandbox_url))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    # Its devices were not listed.
    assert sandbox.request_counts["device_list"] == 0


# Input that cannot be right is refused before any request.


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({CONF_API_KEY: "pk_test_123"}, {CONF_API_KEY: "invalid_api_key_format"}),
        ({CONF_API_KEY: "sk_test_"}, {CONF_API_KEY: "invalid_api_key_format"}),
        ({CONF_API_KEY: "sk_test_abc def"}, {CONF_API_KEY: "invalid_api_key_format"}),
        ({CONF_ACCOUNT_ID: "12345"}, {CONF_ACCOUNT_ID: "invalid_id_format"}),
        ({CONF_ACCOUNT_ID: "dev_5b1d5a7e9c0f"}, {CONF_ACCOUNT_ID: "invalid_id_format"}),
        ({CONF_ACCOUNT_ID: "acc_../login"}, {CONF_ACCOUNT_ID: "invalid_id_format"}),
        ({CONF_URL: "http://api.flatpeak.com"}, {"advanced": "invalid_url"}),
        ({CONF_URL: "ftp://127.0.0.1"}, {"advanced": "invalid_url"}),
        ({CONF_URL: "api.flatpeak.com"}, {"advanced": "invalid_url"}),
        (
            {CONF_API_KEY: "secret", CONF_ACCOUNT_ID: "acc-1", CONF_URL: "https://a.b/?x=1"},
            {
                CONF_API_KEY: "invalid_api_key_format",
                CONF_ACCOUNT_ID: "invalid_id_format",
                "advanced": "invalid_url",
            },
        ),
    ],
)
async def test_credentials_of_a_wrong_format(
    hass: HomeAssistant,
    sandbox: Sandbox,
    sandbox_url: str,
    changes: dict[str, str],
    errors: dict[str, str],
) -> None:
    typed = credentials(sandbox, sandbox_url, **changes)
    result = await configure(hass, await start(hass), typed)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == errors
    assert requests_made(sandbox) == 0
    # What the user typed stays in the form, the key included.
    assert suggested(result, CONF_API_KEY) == typed[CONF_API_KEY]
    assert suggested(result, CONF_ACCOUNT_ID) == typed[CONF_ACCOUNT_ID]
    part = url_section(result)
    # Open with an error in it, or with another address than Flatpeak's typed there.
    expanded = "advanced" in errors or typed["advanced"][CONF_URL] != DEFAULT_FLATPEAK_URL
    assert part.options["collapsed"] is not expanded
    assert suggested({"data_schema": part.schema}, CONF_URL) == typed["advanced"][CONF_URL]

    result = await configure(hass, result, credentials(sandbox, sandbox_url))
    assert result["step_id"] == "devices"


# Errors from Flatpeak, and recovering from each.


@pytest.mark.parametrize(
    ("fault", "changes", "errors"),
    [
        (None, {CONF_API_KEY: "sk_test_0000000000"}, {"base": "invalid_auth"}),
        (None, {CONF_API_KEY: OTHER_ACCOUNT_KEY}, {"base": "invalid_auth"}),
        (None, {CONF_ACCOUNT_ID: "acc_0000000000"}, {"base": "invalid_auth"}),
        (Fault(route="device_list", status=403), {}, {"base": "invalid_auth"}),
        (None, {CONF_URL: "http://127.0.0.1:1"}, {"base": "cannot_connect"}),
        (Fault(route="login", kind="disconnect", times=2), {}, {"base": "cannot_connect"}),
        (Fault(route="device_list", kind="disconnect", times=2), {}, {"base": "cannot_connect"}),
        (Fault(route="login", status=429, retry_after=60), {}, {"base": "rate_limited"}),
        (Fault(route="device_list", status=429), {}, {"base": "rate_limited"}),
        (
            Fault(route="login", status=422, code="account_disabled", error_type="api_error"),
            {},
            {"base": "account_disabled"},
        ),
        (
            Fault(route="device_list", status=403, code="account_disabled"),
            {},
            {"base": "account_disabled"},
        ),
        (Fault(route="device_list", status=500), {}, {"base": "unknown"}),
        (Fault(route="device_list", kind="malformed_json"), {}, {"base": "unknown"}),
        (Fault(route="login", kind="drop_field", field="bearer_token"), {}, {"base": "unknown"}),
    ],
)
async def test_credentials_refused_and_recovery(
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
    typed = credentials(sandbox, sandbox_url, **changes)
    with caplog.at_level(logging.DEBUG):
        result = await configure(hass, await start(hass), typed)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == errors
    assert suggested(result, CONF_API_KEY) == typed[CONF_API_KEY]
    assert typed[CONF_API_KEY] not in caplog.text
    if errors == {"base": "unknown"}:
        assert "Unexpected error while talking to Flatpeak" in caplog.text

    result = await configure(hass, result, credentials(sandbox, sandbox_url))
    assert result["step_id"] == "devices"


async def test_unexpected_exception_while_listing(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with patch.object(FlatpeakClient, "list_devices", side_effect=RuntimeError("boom")):
        result = await configure(hass, await start(hass), credentials(sandbox, sandbox_url))

    assert result["errors"] == {"base": "unknown"}
    assert "Unexpected error while talking to Flatpeak" in caplog.text
    assert "RuntimeError: boom" in caplog.text
    assert sandbox.api_key not in caplog.text

    result = await configure(hass, result, credentials(sandbox, sandbox_url))
    assert result["step_id"] == "devices"


async def test_every_page_of_devices_is_listed(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    client = FlatpeakClient(
        async_get_clientsession(hass), sandbox.account_id, sandbox.api_key, base_url=sandbox_url
    )
    for number in range(100):
        await client.create_device(
            reference_id=f"fleet-{number:03}",
            device_type="BATTERY_SYSTEM",
            location_ids=[sandbox.location_id],
        )
    result = await picking(hass, sandbox, sandbox_url)
    # 103 devices: two pages of at most 100.
    assert sandbox.request_counts["device_list"] == 2
    assert len(offered(result)) == 103
    assert result["description_placeholders"]["total"] == "103"


# Searching a long list


@pytest.fixture
def short_lists() -> Iterator[None]:
    """Lists of two devices at most: the sandbox's three need the search."""
    with patch("custom_components.flatpeak.device_forms.MAX_CHOICES", 2):
        yield


@pytest.mark.usefixtures("short_lists")
async def test_search_narrows_a_long_list(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    result = await picking(hass, sandbox, sandbox_url)
    # The newest two are listed, and a search field says how to find the rest.
    assert fields(result) == ["devices", "search"]
    assert list(offered(result)) == [sandbox.heat_pump_id, sandbox.ev_charger_id]
    assert result["description_placeholders"] == {"shown": "2", "total": "3", "max": "2"}
    assert not isinstance(
        next(m for m in result["data_schema"].schema if m == "devices"), vol.Required
    )
    requests = requests_made(sandbox)

    # A search keeps what was picked, and lists what matches: every word, any case.
    result = await configure(
        hass, result, {"devices": [sandbox.ev_charger_id], "search": " nova  PICO "}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "pick"
    assert result["errors"] == {}
    assert list(offered(result)) == [sandbox.ev_charger_id, sandbox.device_id]
    assert suggested(result, "devices") == [sandbox.ev_charger_id]
    assert suggested(result, "search") == "nova  PICO"
    assert result["description_placeholders"]["shown"] == "2"
    # Searching what was listed asks Flatpeak nothing.
    assert requests_made(sandbox) == requests

    # By reference, by type, by ID.
    for query, found in (
        ("sandbox-heat", sandbox.heat_pump_id),
        ("ev_charger", sandbox.ev_charger_id),
        (sandbox.device_id[-8:], sandbox.device_id),
    ):
        result = await configure(hass, result, {"search": query})
        assert list(offered(result)) == [found], query

    # Nothing matches: said on the field, and the list stays.
    result = await configure(hass, result, {"search": "solar roof"})
    assert result["errors"] == {"search": "no_match"}
    assert list(offered(result)) == [sandbox.device_id]
    assert suggested(result, "search") == "solar roof"

    # Submitted with the search unchanged, the devices picked are added.
    result = await configure(
        hass, result, {"devices": [sandbox.device_id], "search": sandbox.device_id[-8:]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert subentries_of(result) == [device(sandbox.device_id, sandbox.location_id, BATTERY_NAME)]


@pytest.mark.usefixtures("short_lists")
async def test_search_finds_a_device_the_list_does_not_hold(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    result = await picking(hass, sandbox, sandbox_url)
    # Registered after the listing: only Flatpeak knows it.
    late = await create_device(hass, sandbox, sandbox_url, reference_id="late-battery")

    result = await configure(hass, result, {"search": late})
    assert result["errors"] == {}
    assert list(offered(result)) == [late]
    assert sandbox.request_counts["device_get"] == 1

    # An ID Flatpeak does not know: the unknown device is named on the search.
    result = await configure(hass, result, {"search": UNKNOWN_DEVICE})
    assert result["errors"] == {"search": "device_not_found"}

    result = await configure(hass, result, {"devices": [late], "search": late})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert subentries_of(result) == [device(late, sandbox.location_id, "late-battery")]


@pytest.mark.usefixtures("short_lists")
async def test_search_by_reference_when_the_listing_was_cut_short(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    # A server that always says there is more: the listing stops, cut short.
    sandbox.inject(
        Fault(route="device_list", kind="wrong_type", field="has_more", value=True, times=2)
    )
    result = await picking(hass, sandbox, sandbox_url)
    assert result["description_placeholders"]["total"] == "3+"
    late = await create_device(hass, sandbox, sandbox_url, reference_id="late-battery")
    listings = sandbox.request_counts["device_list"]

    result = await configure(hass, result, {"search": "late-battery"})
    assert result["errors"] == {}
    assert list(offered(result)) == [late]
    # Flatpeak was asked for the reference.
    assert sandbox.request_counts["device_list"] == listings + 1


# Registering a device


async def register(hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str) -> Any:
    result = await signed_in(hass, sandbox, sandbox_url)
    result = await configure(hass, result, {"next_step_id": "register_device"})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "register_device"
    return result


async def test_register_a_device(hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str) -> None:
    result = await register(hass, sandbox, sandbox_url)
    options = result["data_schema"].schema["device_type"].config["options"]
    assert options == ["battery_system", "ev_charger", "electric_vehicle", "other"]
    # The location of the account's devices is offered.
    assert suggested(result, CONF_LOCATION_ID) == sandbox.location_id
    assert requests_made(sandbox) == 2

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
    entry = result["result"]
    assert entry.unique_id == sandbox.account_id
    assert dict(entry.data) == entry_data(sandbox, sandbox_url)
    (subentry,) = subentries_of(result)
    device_id = subentry["unique_id"]
    assert device_id not in sandbox.device_ids
    assert subentry == device(device_id, sandbox.location_id, "Acme PowerBox 10")
    # Still the first login: the token is reused for the registration.
    assert sandbox.request_counts["login"] == 1
    assert sandbox.request_counts["device_create"] == 1
    assert requests_made(sandbox) == 3

    registered = sandbox.flatpeak.devices[device_id]
    assert registered.reference_id.startswith("home-assistant-")
    assert registered.type == "BATTERY_SYSTEM"
    assert registered.locations == [sandbox.location_id]
    assert registered.manufacturer == "Acme"
    assert registered.model_name == "PowerBox 10"
    assert registered.properties == {
        "capacity_kwh": 10.0,
        "power_rating_import_kwh": 3.6,
        "power_rating_export_kwh": 3.0,
    }

    # The new device is one Flatpeak serves like any other.
    client = FlatpeakClient(
        async_get_clientsession(hass), sandbox.account_id, sandbox.api_key, base_url=sandbox_url
    )
    assert (await client.get_device(device_id)).locations == (sandbox.location_id,)


async def test_an_account_without_devices_goes_straight_to_registration(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    sandbox.flatpeak.devices.clear()
    result = await configure(hass, await start(hass), credentials(sandbox, sandbox_url))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "register_device"
    # No device to take a location from: nothing is filled in.
    assert suggested(result, CONF_LOCATION_ID) is None

    result = await configure(
        hass,
        result,
        {
            "device_type": "ev_charger",
            "manufacturer": "Volt",
            "model_name": "Wallbox 7",
            CONF_LOCATION_ID: sandbox.location_id,
            "capacity": 60,
            "charge_power": 7.4,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    (subentry,) = subentries_of(result)
    assert subentry["title"] == "Volt Wallbox 7"
    assert sandbox.flatpeak.devices[subentry["unique_id"]].type == "EV_CHARGER"


async def test_register_refuses_missing_zero_and_negative_amounts(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    """Every wrong amount is named at once, and nothing reaches Flatpeak."""
    result = await register(hass, sandbox, sandbox_url)
    # Nothing is filled in for the user: the amounts are not required by the schema.
    for field in ("capacity", "charge_power", "discharge_power"):
        marker = next(key for key in result["data_schema"].schema if key == field)
        assert not isinstance(marker, vol.Required)
        assert marker.default is vol.UNDEFINED

    result = await configure(
        hass, result, {"device_type": "battery_system", CONF_LOCATION_ID: sandbox.location_id}
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
            "discharge_power": -1,
        },
    )
    assert result["errors"] == {
        "capacity": "amount_out_of_range",
        "charge_power": "amount_out_of_range",
        "discharge_power": "amount_out_of_range",
    }
    result = await configure(
        hass,
        result,
        {
            "device_type": "battery_system",
            CONF_LOCATION_ID: sandbox.location_id,
            "capacity": 1001,
            "charge_power": 5,
        },
    )
    assert result["errors"] == {"capacity": "amount_out_of_range"}
    assert sandbox.request_counts["device_create"] == 0

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
    (subentry,) = subentries_of(result)
    registered = sandbox.flatpeak.devices[subentry["unique_id"]]
    assert "power_rating_export_kwh" not in registered.properties


async def test_register_errors_and_recovery(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    result = await register(hass, sandbox, sandbox_url)
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
    assert suggested(result, CONF_LOCATION_ID) == "home"

    # A location the account does not have.
    result = await configure(hass, result, typed | {CONF_LOCATION_ID: OTHER_LOCATION})
    assert result["errors"] == {CONF_LOCATION_ID: "location_not_found"}

    # Flatpeak busy, unreachable, or the account disabled.
    for fault, error in (
        (Fault(route="device_create", status=429), "rate_limited"),
        (Fault(route="device_create", kind="disconnect"), "cannot_connect"),
        (Fault(route="device_create", status=403, code="account_disabled"), "account_disabled"),
        (Fault(route="device_create", status=403), "invalid_auth"),
    ):
        sandbox.inject(fault)
        result = await configure(hass, result, typed | {CONF_LOCATION_ID: sandbox.location_id})
        assert result["errors"] == {"base": error}

    # Without a maker or a model, the device is named after its kind and ID.
    result = await configure(hass, result, typed | {CONF_LOCATION_ID: sandbox.location_id})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    (subentry,) = subentries_of(result)
    device_id = subentry["unique_id"]
    assert subentry["title"] == f"EV charger {device_id[-6:]}"
    registered = sandbox.flatpeak.devices[device_id]
    assert registered.type == "EV_CHARGER"
    assert registered.manufacturer is None
    assert registered.properties == {"capacity_kwh": 60, "power_rating_import_kwh": 7.4}
    # The failed registrations made no device: one was added to the three.
    assert len(sandbox.flatpeak.devices) == 4


# Which location


async def test_a_device_at_several_locations_is_asked_where(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    locations = [sandbox.location_id, OTHER_LOCATION]
    # The battery is the oldest device: the last of the list.
    sandbox.inject(
        Fault(route="device_list", kind="wrong_type", field="data.2.locations", value=locations)
    )
    result = await picking(hass, sandbox, sandbox_url)
    requests = requests_made(sandbox)

    result = await configure(hass, result, {"devices": [sandbox.device_id, sandbox.ev_charger_id]})

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "location"
    assert result["description_placeholders"]["device"].startswith(BATTERY_NAME)
    selector = result["data_schema"].schema[CONF_LOCATION_ID]
    assert selector.config["options"] == locations

    result = await configure(hass, result, {CONF_LOCATION_ID: OTHER_LOCATION})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert subentries_of(result) == [
        device(sandbox.device_id, OTHER_LOCATION, BATTERY_NAME),
        device(sandbox.ev_charger_id, sandbox.location_id, EV_NAME),
    ]
    assert requests_made(sandbox) == requests


async def test_devices_without_location_are_asked_one_by_one(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    # The heat pump and the EV charger are listed at no location.
    page = await listed(hass, sandbox, sandbox_url)
    for document in page["data"][:2]:
        document["locations"] = []
    sandbox.inject(Fault(route="device_list", kind="wrong_type", field="", value=page))
    result = await picking(hass, sandbox, sandbox_url)
    result = await configure(
        hass, result, {"devices": [sandbox.heat_pump_id, sandbox.ev_charger_id]}
    )
    assert result["step_id"] == "location"
    assert result["description_placeholders"]["device"].startswith(HEAT_PUMP_NAME)

    result = await configure(hass, result, {CONF_LOCATION_ID: "London"})
    assert result["errors"] == {CONF_LOCATION_ID: "invalid_id_format"}
    assert suggested(result, CONF_LOCATION_ID) == "London"

    result = await configure(hass, result, {CONF_LOCATION_ID: f" {sandbox.location_id} "})
    assert result["step_id"] == "location"
    assert result["errors"] == {}
    assert result["description_placeholders"]["device"].startswith(EV_NAME)
    assert suggested(result, CONF_LOCATION_ID) is None

    result = await configure(hass, result, {CONF_LOCATION_ID: OTHER_LOCATION})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert subentries_of(result) == [
        device(sandbox.heat_pump_id, sandbox.location_id, HEAT_PUMP_NAME),
        device(sandbox.ev_charger_id, OTHER_LOCATION, EV_NAME),
    ]


# Adding a device to the account


def battery_account(sandbox: Sandbox, url: str, *more: Any) -> MockConfigEntry:
    return account_entry(
        entry_data(sandbox, url),
        device_subentry(sandbox.device_id, sandbox.location_id, BATTERY_NAME),
        *more,
    )


async def add_device(hass: HomeAssistant, entry: MockConfigEntry) -> Any:
    return check_translated(
        await hass.config_entries.subentries.async_init(
            (entry.entry_id, SUBENTRY_DEVICE), context={"source": SOURCE_USER}
        ),
        DEVICE_FLOW,
    )


async def submit(hass: HomeAssistant, result: Any, user_input: dict[str, Any]) -> Any:
    return check_translated(
        await hass.config_entries.subentries.async_configure(result["flow_id"], user_input),
        DEVICE_FLOW,
    )


async def test_add_a_device(hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str) -> None:
    entry = battery_account(sandbox, sandbox_url)
    entry.add_to_hass(hass)

    result = await add_device(hass, entry)
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "user"
    assert result["menu_options"] == ["pick", "register_device"]
    # Two devices of the account are not added yet.
    assert result["description_placeholders"]["total"] == "2"

    result = await submit(hass, result, {"next_step_id": "pick"})
    assert result["step_id"] == "pick"
    assert fields(result) == [CONF_DEVICE_ID]
    assert list(offered(result, CONF_DEVICE_ID)) == [sandbox.heat_pump_id, sandbox.ev_charger_id]
    selector = result["data_schema"].schema[CONF_DEVICE_ID]
    # One device, typed or picked from a searchable list.
    assert selector.config["multiple"] is False
    assert selector.config["custom_value"] is True

    result = await submit(hass, result, {CONF_DEVICE_ID: sandbox.ev_charger_id})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == EV_NAME
    assert result["unique_id"] == sandbox.ev_charger_id
    assert result["data"] == {
        CONF_DEVICE_ID: sandbox.ev_charger_id,
        CONF_LOCATION_ID: sandbox.location_id,
    }
    added = [s for s in entry.subentries.values() if s.unique_id == sandbox.ev_charger_id]
    assert [(s.subentry_type, s.title) for s in added] == [(SUBENTRY_DEVICE, EV_NAME)]
    assert requests_made(sandbox) == 2


async def test_add_a_device_by_its_reference_or_id(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    entry = battery_account(sandbox, sandbox_url)
    entry.add_to_hass(hass)

    result = await submit(hass, await add_device(hass, entry), {"next_step_id": "pick"})
    result = await submit(hass, result, {CONF_DEVICE_ID: " SANDBOX-HEAT-PUMP-1 "})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["unique_id"] == sandbox.heat_pump_id

    # Neither a device of the account nor one Flatpeak knows.
    result = await submit(hass, await add_device(hass, entry), {"next_step_id": "pick"})
    for typed in ("garage", UNKNOWN_DEVICE):
        result = await submit(hass, result, {CONF_DEVICE_ID: typed})
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {CONF_DEVICE_ID: "device_not_found"}
    result = await submit(hass, result, {CONF_DEVICE_ID: sandbox.ev_charger_id})
    assert result["title"] == EV_NAME


async def test_a_device_already_added_ends_the_flow(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    entry = battery_account(sandbox, sandbox_url)
    entry.add_to_hass(hass)
    result = await submit(hass, await add_device(hass, entry), {"next_step_id": "pick"})

    result = await submit(hass, result, {CONF_DEVICE_ID: sandbox.device_id})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert len(entry.subentries) == 1


async def test_a_device_added_meanwhile_ends_the_flow(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    entry = battery_account(sandbox, sandbox_url)
    entry.add_to_hass(hass)
    first = await submit(hass, await add_device(hass, entry), {"next_step_id": "pick"})
    second = await submit(hass, await add_device(hass, entry), {"next_step_id": "pick"})
    assert (await submit(hass, first, {CONF_DEVICE_ID: sandbox.ev_charger_id}))["type"] is (
        FlowResultType.CREATE_ENTRY
    )

    result = await submit(hass, second, {CONF_DEVICE_ID: sandbox.ev_charger_id})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert len(entry.subentries) == 2


async def test_add_device_when_every_device_is_added(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    entry = battery_account(
        sandbox,
        sandbox_url,
        device_subentry(sandbox.ev_charger_id, sandbox.location_id, EV_NAME),
        device_subentry(sandbox.heat_pump_id, sandbox.location_id, HEAT_PUMP_NAME),
    )
    entry.add_to_hass(hass)
    result = await add_device(hass, entry)
    assert result["description_placeholders"]["total"] == "0"

    result = await submit(hass, result, {"next_step_id": "pick"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_other_devices"

    # A new device can still be registered.
    result = await submit(hass, await add_device(hass, entry), {"next_step_id": "register_device"})
    assert result["step_id"] == "register_device"
    result = await submit(
        hass,
        result,
        {
            "device_type": "battery_system",
            "manufacturer": "Nova Systems",
            "model_name": "Pico Ultimate",
            CONF_LOCATION_ID: sandbox.location_id,
            "capacity": 13.5,
            "charge_power": 5,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    # The same maker and model as the battery already added: told apart by its ID.
    assert result["title"] == f"{BATTERY_NAME} ({result['unique_id'][-6:]})"
    assert result["data"] == {
        CONF_DEVICE_ID: result["unique_id"],
        CONF_LOCATION_ID: sandbox.location_id,
    }


@pytest.mark.usefixtures("short_lists")
async def test_add_device_searches_a_long_list(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    entry = account_entry(entry_data(sandbox, sandbox_url))
    entry.add_to_hass(hass)
    result = await submit(hass, await add_device(hass, entry), {"next_step_id": "pick"})
    assert fields(result) == [CONF_DEVICE_ID, "search"]

    result = await submit(hass, result, {"search": sandbox.device_id})
    assert list(offered(result, CONF_DEVICE_ID)) == [sandbox.device_id]
    result = await submit(hass, result, {"search": sandbox.device_id})
    assert result["errors"] == {CONF_DEVICE_ID: "no_device_chosen"}

    result = await submit(
        hass, result, {CONF_DEVICE_ID: sandbox.device_id, "search": sandbox.device_id}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["unique_id"] == sandbox.device_id


async def test_add_device_search_names_a_device_already_added(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    entry = battery_account(sandbox, sandbox_url)
    entry.add_to_hass(hass)
    with patch("custom_components.flatpeak.device_forms.MAX_CHOICES", 1):
        result = await submit(hass, await add_device(hass, entry), {"next_step_id": "pick"})
        assert fields(result) == [CONF_DEVICE_ID, "search"]
        for query in ("nova", sandbox.device_id):
            result = await submit(hass, result, {"search": query})
            assert result["errors"] == {"search": "already_added"}


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Fault(route="login", status=401), "invalid_auth"),
        (Fault(route="device_list", status=429), "rate_limited"),
        (Fault(route="device_list", kind="disconnect", times=2), "cannot_connect"),
        (Fault(route="device_list", status=403, code="account_disabled"), "account_disabled"),
        (Fault(route="device_list", status=500), "unknown"),
    ],
)
async def test_add_device_ends_when_the_devices_cannot_be_listed(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str, fault: Fault, reason: str
) -> None:
    entry = battery_account(sandbox, sandbox_url)
    entry.add_to_hass(hass)
    sandbox.inject(fault)
    result = await add_device(hass, entry)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == reason


async def test_add_device_asks_where_a_device_of_several_locations_is(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    entry = battery_account(sandbox, sandbox_url)
    entry.add_to_hass(hass)
    locations = [OTHER_LOCATION, sandbox.location_id]
    sandbox.inject(
        Fault(route="device_list", kind="wrong_type", field="data.1.locations", value=locations)
    )
    result = await submit(hass, await add_device(hass, entry), {"next_step_id": "pick"})
    result = await submit(hass, result, {CONF_DEVICE_ID: sandbox.ev_charger_id})
    assert result["step_id"] == "location"
    assert result["data_schema"].schema[CONF_LOCATION_ID].config["options"] == locations

    result = await submit(hass, result, {CONF_LOCATION_ID: OTHER_LOCATION})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        CONF_DEVICE_ID: sandbox.ev_charger_id,
        CONF_LOCATION_ID: OTHER_LOCATION,
    }


# Reconfiguring a device

BATTERY_SENSOR = "sensor.home_battery_state_of_charge"


async def reconfigure_device(hass: HomeAssistant, entry: MockConfigEntry, device_id: str) -> Any:
    (subentry,) = [s for s in entry.subentries.values() if s.unique_id == device_id]
    return check_translated(
        await hass.config_entries.subentries.async_init(
            (entry.entry_id, SUBENTRY_DEVICE),
            context={"source": SOURCE_RECONFIGURE, "subentry_id": subentry.subentry_id},
        ),
        DEVICE_FLOW,
    )


def device_data(entry: MockConfigEntry, device_id: str) -> dict[str, Any]:
    (subentry,) = [s for s in entry.subentries.values() if s.unique_id == device_id]
    return dict(subentry.data)


async def test_reconfigure_a_device(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    hass.states.async_set(BATTERY_SENSOR, "40", {"unit_of_measurement": PERCENTAGE})
    hass.states.async_set("sensor.battery_energy", "4", {"unit_of_measurement": "kWh"})
    locations = [sandbox.location_id, OTHER_LOCATION]
    sandbox.inject(Fault(route="device_get", kind="wrong_type", field="locations", value=locations))
    entry = battery_account(sandbox, sandbox_url)
    entry.add_to_hass(hass)

    result = await reconfigure_device(hass, entry, sandbox.device_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["description_placeholders"] == {
        "name": BATTERY_NAME,
        "device_id": sandbox.device_id,
    }
    assert fields(result) == [CONF_LOCATION_ID, CONF_SOC_ENTITY]
    # The device's own locations, the current one shown.
    assert result["data_schema"].schema[CONF_LOCATION_ID].config["options"] == locations
    assert suggested(result, CONF_LOCATION_ID) == sandbox.location_id
    assert suggested(result, CONF_SOC_ENTITY) is None

    for soc_entity, error in (
        ("sensor.missing", "soc_entity_not_found"),
        ("sensor.battery_energy", "soc_entity_not_percent"),
    ):
        result = await submit(
            hass, result, {CONF_LOCATION_ID: OTHER_LOCATION, CONF_SOC_ENTITY: soc_entity}
        )
        assert result["errors"] == {CONF_SOC_ENTITY: error}
        assert suggested(result, CONF_LOCATION_ID) == OTHER_LOCATION

    result = await submit(
        hass, result, {CONF_LOCATION_ID: OTHER_LOCATION, CONF_SOC_ENTITY: BATTERY_SENSOR}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert device_data(entry, sandbox.device_id) == {
        CONF_DEVICE_ID: sandbox.device_id,
        CONF_LOCATION_ID: OTHER_LOCATION,
        CONF_SOC_ENTITY: BATTERY_SENSOR,
    }

    # Opened again it shows what is stored; emptied, the sensor is unlinked.
    sandbox.inject(Fault(route="device_get", kind="wrong_type", field="locations", value=locations))
    result = await reconfigure_device(hass, entry, sandbox.device_id)
    assert suggested(result, CONF_SOC_ENTITY) == BATTERY_SENSOR
    result = await submit(hass, result, {CONF_LOCATION_ID: sandbox.location_id})
    assert result["reason"] == "reconfigure_successful"
    assert device_data(entry, sandbox.device_id) == {
        CONF_DEVICE_ID: sandbox.device_id,
        CONF_LOCATION_ID: sandbox.location_id,
    }
    # The account is left as it was.
    assert dict(entry.data) == entry_data(sandbox, sandbox_url)


async def test_reconfigure_a_device_flatpeak_lists_nowhere(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    """A device Flatpeak lists at no location accepts any well-formed location."""
    sandbox.inject(Fault(route="device_get", kind="wrong_type", field="locations", value=[]))
    entry = battery_account(sandbox, sandbox_url)
    entry.add_to_hass(hass)
    result = await reconfigure_device(hass, entry, sandbox.device_id)
    assert "options" not in result["data_schema"].schema[CONF_LOCATION_ID].config

    result = await submit(hass, result, {CONF_LOCATION_ID: "London"})
    assert result["errors"] == {CONF_LOCATION_ID: "invalid_id_format"}
    result = await submit(hass, result, {CONF_LOCATION_ID: f" {OTHER_LOCATION}"})
    assert result["reason"] == "reconfigure_successful"
    assert device_data(entry, sandbox.device_id)[CONF_LOCATION_ID] == OTHER_LOCATION


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Fault(route="device_get", status=404), "device_not_found"),
        (Fault(route="device_get", status=429), "rate_limited"),
        (Fault(route="login", status=401), "invalid_auth"),
        (Fault(route="device_get", kind="disconnect", times=2), "cannot_connect"),
    ],
)
async def test_reconfigure_a_device_flatpeak_does_not_give(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str, fault: Fault, reason: str
) -> None:
    sandbox.inject(fault)
    entry = battery_account(sandbox, sandbox_url)
    entry.add_to_hass(hass)
    result = await reconfigure_device(hass, entry, sandbox.device_id)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == reason


# Options


async def test_options(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> None:
    mock_config_entry.add_to_hass(hass)
    result = check_translated(
        await hass.config_entries.options.async_init(mock_config_entry.entry_id), OPTIONS
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    defaults = {
        marker.schema: marker.default()
        for marker in result["data_schema"].schema
        if marker.default is not vol.UNDEFINED
    }
    # The account-wide settings only: a device's own are in its subentry.
    assert fields(result) == list(defaults)
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
    check_translated(result, OPTIONS)
    assert mock_config_entry.options == {}


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
    assert fields(result) == [CONF_API_KEY]
    assert result["description_placeholders"] == {
        "name": f"Flatpeak {sandbox.account_id}",
        "account_id": sandbox.account_id,
    }

    # The old key, which Flatpeak no longer takes.
    result = await configure(hass, result, {CONF_API_KEY: sandbox.api_key})
    assert result["errors"] == {"base": "invalid_auth"}

    # A key of another account: the account stays, so Flatpeak refuses it.
    result = await configure(hass, result, {CONF_API_KEY: OTHER_ACCOUNT_KEY})
    assert result["errors"] == {"base": "invalid_auth"}
    assert mock_config_entry.data[CONF_API_KEY] == sandbox.api_key

    # Not a key at all: no request.
    requests = requests_made(sandbox)
    result = await configure(hass, result, {CONF_API_KEY: "8c4e2a6f1b9d3e57"})
    assert result["errors"] == {CONF_API_KEY: "invalid_api_key_format"}
    assert requests_made(sandbox) == requests

    # Flatpeak busy.
    sandbox.inject(Fault(route="login", status=429))
    result = await configure(hass, result, {CONF_API_KEY: NEW_KEY})
    assert result["errors"] == {"base": "rate_limited"}

    result = await configure(hass, result, {CONF_API_KEY: f" {NEW_KEY} "})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert dict(mock_config_entry.data) == entry_data(sandbox, sandbox_url, NEW_KEY)
    # One entry for the account, its devices untouched.
    assert mock_config_entry.unique_id == sandbox.account_id
    assert [s.unique_id for s in mock_config_entry.subentries.values()] == [sandbox.device_id]
    # One login per check, and nothing else.
    assert {name for name, count in sandbox.request_counts.items() if count} == {"login"}


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


# Reconfiguring the account


def reconfigure_input(url: str, api_key: str | None = None) -> dict[str, Any]:
    typed: dict[str, Any] = {"advanced": {CONF_URL: url}}
    if api_key is not None:
        typed[CONF_API_KEY] = api_key
    return typed


async def test_reconfigure_the_account(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str
) -> None:
    entry = battery_account(sandbox, DEFAULT_FLATPEAK_URL)
    entry.add_to_hass(hass)
    result = check_translated(await entry.start_reconfigure_flow(hass))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert fields(result) == [CONF_API_KEY, "advanced"]
    # The key is not shown; the usual address is tucked away.
    assert suggested(result, CONF_API_KEY) is None
    assert url_section(result).options["collapsed"] is True
    assert result["description_placeholders"] == {
        "name": f"Flatpeak {sandbox.account_id}",
        "account_id": sandbox.account_id,
    }

    # Checked as at set-up: formats first, then one login.
    result = await configure(hass, result, reconfigure_input("https://", "sk_test_ok"))
    assert result["errors"] == {"advanced": "invalid_url"}
    assert url_section(result).options["collapsed"] is False
    assert requests_made(sandbox) == 0
    result = await configure(hass, result, reconfigure_input(sandbox_url, "sk_nope"))
    assert result["errors"] == {CONF_API_KEY: "invalid_api_key_format"}
    result = await configure(hass, result, reconfigure_input(sandbox_url, OTHER_ACCOUNT_KEY))
    assert result["errors"] == {"base": "invalid_auth"}
    result = await configure(hass, result, reconfigure_input("http://127.0.0.1:1"))
    assert result["errors"] == {"base": "cannot_connect"}

    # An empty key keeps the current one.
    result = await configure(hass, result, reconfigure_input(sandbox_url + "/", ""))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert dict(entry.data) == entry_data(sandbox, sandbox_url)
    assert entry.unique_id == sandbox.account_id
    assert entry.title == f"Flatpeak {sandbox.account_id}"

    result = check_translated(await entry.start_reconfigure_flow(hass))
    # Another address than Flatpeak's: shown.
    assert url_section(result).options["collapsed"] is False
    result = await configure(hass, result, reconfigure_input(sandbox_url, sandbox.live_api_key))
    assert result["reason"] == "reconfigure_successful"
    assert dict(entry.data) == entry_data(sandbox, sandbox_url, sandbox.live_api_key)
    assert [s.unique_id for s in entry.subentries.values()] == [sandbox.device_id]
