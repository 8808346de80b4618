"""Adding and changing the Flip dispatch of a device (a config subentry), against the sandbox."""

from __future__ import annotations

from collections import Counter
import json
from pathlib import Path
import re
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER, ConfigSubentry
from homeassistant.const import CONF_API_KEY, CONF_URL, PERCENTAGE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.flatpeak.api import DEFAULT_FLIP_URL
from custom_components.flatpeak.const import CONF_DEVICE_ID, CONF_SOC_ENTITY, DOMAIN
from custom_components.flatpeak.dispatch.flip.const import SUBENTRY_TYPE
from sandbox import Fault, Sandbox

from .common import (
    BATTERY_NAME,
    PREFIX,
    account_entry,
    device_of,
    device_subentry,
    session,
    setup_entry,
    state,
)
from .dispatch_common import (
    FLIP_SENSORS,
    FLIP_STATUS,
    HOUR,
    NEXT_FLIP_EVENT,
    NOW,
    TARGET,
    Watch,
    devices_of,
    flip_data,
    live,
    live_keys,
    owners,
    window,
    with_flip,
)

TEXTS = json.loads(
    (
        Path(__file__).parents[2] / "custom_components" / "flatpeak" / "translations" / "en.json"
    ).read_text(encoding="utf-8")
)["config_subentries"][SUBENTRY_TYPE]

A = (NOW + HOUR, NOW + 2 * HOUR)
EV_NAME = "Voltline Sprint 7"
BATTERY = "sensor.home_battery_state_of_charge"
SOC_SYNC = f"sensor.{PREFIX}_state_of_charge_sync"


def checked(result: Any) -> Any:
    """Fail when the flow shows something en.json does not explain."""
    if result["type"] is FlowResultType.FORM:
        step = TEXTS["step"][result["step_id"]]
        assert step["title"]
        for marker in result["data_schema"].schema:
            assert marker in step["data"], marker
            assert marker in step["data_description"], marker
        for text in (step["title"], step["description"], *step["data_description"].values()):
            for name in re.findall(r"{(\w+)}", text):
                assert name in (result["description_placeholders"] or {}), name
        for error in (result["errors"] or {}).values():
            assert error in TEXTS["error"], error
    if result["type"] is FlowResultType.ABORT:
        assert result["reason"] in TEXTS["abort"], result["reason"]
    return result


def form_input(sandbox: Sandbox, base_url: str, **changes: Any) -> dict[str, Any]:
    return {
        CONF_API_KEY: sandbox.flip_api_key,
        CONF_URL: base_url,
        "program_id": sandbox.flip_program_id,
        "target_type": "device",
        "target_ids": TARGET,
        "auto_dispatch": True,
        "min_lead_time": 10,
        "min_duration": 15,
    } | changes


async def start(hass: HomeAssistant, entry: MockConfigEntry) -> Any:
    return checked(
        await hass.config_entries.subentries.async_init(
            (entry.entry_id, SUBENTRY_TYPE), context={"source": SOURCE_USER}
        )
    )


async def submit(hass: HomeAssistant, result: Any, user_input: dict[str, Any]) -> Any:
    return checked(
        await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)
    )


def flips(entry: MockConfigEntry) -> list[ConfigSubentry]:
    """The Flip dispatches of an account."""
    return [s for s in entry.subentries.values() if s.subentry_type == SUBENTRY_TYPE]


def flip_requests(sandbox: Sandbox) -> int:
    return sum(count for route, count in sandbox.request_counts.items() if "flip" in route)


@pytest.fixture
def scheduled(sandbox: Sandbox, freezer: FrozenDateTimeFactory) -> Sandbox:
    freezer.move_to(NOW)
    sandbox.set_schedule_override([session(NOW, NOW + 24 * HOUR, A)])
    return sandbox


@pytest.fixture
def linked_entry(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, sandbox: Sandbox
) -> MockConfigEntry:
    """The entry with a battery sensor linked: it has a state-of-charge sync entity."""
    hass.states.async_set(BATTERY, "40", {"unit_of_measurement": PERCENTAGE})
    return account_entry(
        dict(mock_config_entry.data),
        device_subentry(
            sandbox.device_id, sandbox.location_id, BATTERY_NAME, **{CONF_SOC_ENTITY: BATTERY}
        ),
    )


async def test_adding_a_flip_dispatch_starts_dispatching_without_a_reload(
    hass: HomeAssistant, scheduled: Sandbox, sandbox_url: str, linked_entry: MockConfigEntry
) -> None:
    await setup_entry(hass, linked_entry)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get(FLIP_STATUS) is None
    watch = Watch(hass, linked_entry)
    assert SOC_SYNC in watch.flatpeak

    result = await start(hass, linked_entry)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    result = await submit(
        hass, result, form_input(scheduled, sandbox_url, backup_reserve=25, target_ids=" a-1, b_2 ")
    )
    await hass.async_block_till_done(wait_background_tasks=True)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Flip prg-sandbox-home"
    (subentry,) = flips(linked_entry)
    assert subentry.subentry_type == SUBENTRY_TYPE
    assert dict(subentry.data) == {
        CONF_DEVICE_ID: scheduled.device_id,
        CONF_API_KEY: scheduled.flip_api_key,
        CONF_URL: sandbox_url,
        "program_id": "prg-sandbox-home",
        "target_type": "DEVICE",
        "target_ids": ["a-1", "b_2"],
        "auto_dispatch": True,
        "min_lead_time": 10,
        "min_duration": 15,
        "backup_reserve": 25,
    }
    # The dispatch started at once and sent the window; the rest of the entry ran on.
    watch.assert_untouched()
    assert state(hass, FLIP_STATUS) == "dispatched"
    (event,) = live(scheduled)
    assert event["target_ids"] == ["a-1", "b_2"]
    assert event["actions"][0]["backup_reserve_percentage"] == 25
    assert state(hass, NEXT_FLIP_EVENT) == A[0].isoformat()
    assert hass.states.get(NEXT_FLIP_EVENT).attributes["event_id"] == event["id"]  # type: ignore[union-attr]
    # On the dispatch's own device, in its subentry, linked to the Flatpeak device.
    flip = devices_of(hass, linked_entry)[f"{scheduled.device_id}_flip_dispatch"]
    assert owners(flip, linked_entry) == {subentry.subentry_id}
    assert flip.via_device_id == device_of(linked_entry).registry_device_id
    for entity_id in FLIP_SENSORS:
        registered = er.async_get(hass).async_get(entity_id)
        assert registered is not None
        assert registered.device_id == flip.id
        assert registered.config_subentry_id == subentry.subentry_id


async def test_the_form_offers_flips_addresses(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)
    result = await start(hass, mock_config_entry)

    url = result["data_schema"].schema[CONF_URL]
    assert url.config["options"] == [
        "https://api-utility.flip.energy",
        "https://api-utility-sandbox.flip.energy",
    ]
    assert url.config["custom_value"] is True
    defaults = result["data_schema"]({CONF_API_KEY: "fl_x", "program_id": "p"})
    assert defaults[CONF_URL] == DEFAULT_FLIP_URL
    assert defaults["target_type"] == "device"
    assert defaults["auto_dispatch"] is True
    assert (defaults["min_lead_time"], defaults["min_duration"]) == (10, 15)


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({CONF_API_KEY: "sk_test_5f2c9e1b"}, {CONF_API_KEY: "invalid_api_key_format"}),
        ({CONF_API_KEY: "fl_with space"}, {CONF_API_KEY: "invalid_api_key_format"}),
        ({CONF_URL: "http://flip.example.com"}, {CONF_URL: "invalid_url"}),
        ({CONF_URL: "ftp://api-utility.flip.energy"}, {CONF_URL: "invalid_url"}),
        ({"program_id": "my program"}, {"program_id": "invalid_program_id"}),
        ({"target_ids": " , "}, {"target_ids": "target_ids_required"}),
        ({"target_ids": "ok-1, not/ok"}, {"target_ids": "invalid_target_ids"}),
        ({"min_lead_time": 2000}, {"min_lead_time": "out_of_range"}),
        ({"min_duration": 0}, {"min_duration": "out_of_range"}),
        ({"backup_reserve": 150}, {"backup_reserve": "out_of_range"}),
        ({"min_duration": 7.5}, {"min_duration": "out_of_range"}),
        # Every error at once, each on its field.
        (
            {CONF_API_KEY: "nope", "program_id": "my program", "backup_reserve": 150},
            {
                CONF_API_KEY: "invalid_api_key_format",
                "program_id": "invalid_program_id",
                "backup_reserve": "out_of_range",
            },
        ),
    ],
)
async def test_malformed_input_is_named_before_any_request(
    hass: HomeAssistant,
    sandbox: Sandbox,
    sandbox_url: str,
    mock_config_entry: MockConfigEntry,
    changes: dict[str, Any],
    errors: dict[str, str],
) -> None:
    mock_config_entry.add_to_hass(hass)
    result = await start(hass, mock_config_entry)

    result = await submit(hass, result, form_input(sandbox, sandbox_url, **changes))

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert flip_requests(sandbox) == 0


@pytest.mark.parametrize(
    ("fault", "changes", "errors"),
    [
        (None, {CONF_API_KEY: "fl_0000_unknown"}, {"base": "invalid_auth"}),
        (Fault(route="flip_event_list", status=403), {}, {"base": "invalid_auth"}),
        (None, {"url_suffix": "/somewhere"}, {CONF_URL: "not_flip"}),
        (Fault(route="flip_event_list", kind="malformed_json"), {}, {CONF_URL: "not_flip"}),
        (Fault(route="flip_event_list", status=429), {}, {"base": "rate_limited"}),
        (Fault(route="flip_event_list", status=503), {}, {"base": "cannot_connect"}),
        (
            Fault(route="flip_event_list", kind="disconnect", times=2),
            {},
            {"base": "cannot_connect"},
        ),
        (Fault(route="flip_event_list", status=400), {}, {"base": "unknown"}),
    ],
)
async def test_flip_checks_the_key_and_the_address(
    hass: HomeAssistant,
    sandbox: Sandbox,
    sandbox_url: str,
    mock_config_entry: MockConfigEntry,
    fault: Fault | None,
    changes: dict[str, Any],
    errors: dict[str, str],
) -> None:
    mock_config_entry.add_to_hass(hass)
    if fault is not None:
        sandbox.inject(fault)
    url = sandbox_url + changes.pop("url_suffix", "")
    result = await start(hass, mock_config_entry)

    result = await submit(hass, result, form_input(sandbox, url, **changes))

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert not flips(mock_config_entry)
    # Fixed, the same form goes through.
    sandbox.clear_faults()
    result = await submit(hass, result, form_input(sandbox, sandbox_url))
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_a_program_is_its_own_target(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)
    result = await start(hass, mock_config_entry)

    result = await submit(
        hass, result, form_input(sandbox, sandbox_url, target_type="program", target_ids="")
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    (subentry,) = flips(mock_config_entry)
    assert subentry.data["target_type"] == "PROGRAM"
    assert subentry.data["target_ids"] == ["prg-sandbox-home"]


async def test_a_device_has_one_flip_dispatch_at_most(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str, mock_config_entry: MockConfigEntry
) -> None:
    entry = with_flip(mock_config_entry, flip_data(sandbox, sandbox_url))
    entry.add_to_hass(hass)

    result = await start(hass, entry)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_an_account_without_devices_has_no_dispatch(
    hass: HomeAssistant, entry_data: dict[str, Any]
) -> None:
    entry = account_entry(entry_data)
    entry.add_to_hass(hass)

    result = await start(hass, entry)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_devices"


async def test_with_one_device_the_dispatch_is_its_own(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)
    result = await start(hass, mock_config_entry)
    # Nothing to ask.
    assert CONF_DEVICE_ID not in result["data_schema"].schema

    result = await submit(hass, result, form_input(sandbox, sandbox_url))

    assert result["title"] == "Flip prg-sandbox-home"
    (subentry,) = flips(mock_config_entry)
    assert subentry.data[CONF_DEVICE_ID] == sandbox.device_id


async def test_with_several_devices_the_dispatch_names_its_device(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str, entry_data: dict[str, Any]
) -> None:
    entry = account_entry(
        entry_data,
        device_subentry(sandbox.device_id, sandbox.location_id, BATTERY_NAME),
        device_subentry(sandbox.ev_charger_id, sandbox.location_id, EV_NAME),
    )
    entry.add_to_hass(hass)

    result = await start(hass, entry)
    # The account's devices, each by its title.
    selector = result["data_schema"].schema[CONF_DEVICE_ID]
    assert selector.config["options"] == [
        {"value": sandbox.device_id, "label": BATTERY_NAME},
        {"value": sandbox.ev_charger_id, "label": EV_NAME},
    ]
    # A device must be chosen.
    with pytest.raises(InvalidData):
        await submit(hass, result, form_input(sandbox, sandbox_url))
    result = await submit(
        hass, result, form_input(sandbox, sandbox_url, device_id=sandbox.ev_charger_id)
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"Flip prg-sandbox-home ({EV_NAME})"
    (subentry,) = flips(entry)
    assert subentry.data[CONF_DEVICE_ID] == sandbox.ev_charger_id

    # Only the device without a dispatch is offered next.
    result = await start(hass, entry)
    selector = result["data_schema"].schema[CONF_DEVICE_ID]
    assert selector.config["options"] == [{"value": sandbox.device_id, "label": BATTERY_NAME}]
    result = await submit(
        hass, result, form_input(sandbox, sandbox_url, device_id=sandbox.device_id)
    )
    assert result["title"] == f"Flip prg-sandbox-home ({BATTERY_NAME})"
    assert sorted(s.data[CONF_DEVICE_ID] for s in flips(entry)) == sorted(
        [sandbox.device_id, sandbox.ev_charger_id]
    )

    # Every device has one.
    result = await start(hass, entry)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_a_device_given_a_dispatch_meanwhile_is_refused(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_url: str, entry_data: dict[str, Any]
) -> None:
    entry = account_entry(
        entry_data,
        device_subentry(sandbox.device_id, sandbox.location_id, BATTERY_NAME),
        device_subentry(sandbox.ev_charger_id, sandbox.location_id, EV_NAME),
    )
    entry.add_to_hass(hass)
    first = await start(hass, entry)
    second = await start(hass, entry)
    choice = {"device_id": sandbox.device_id}
    assert (await submit(hass, first, form_input(sandbox, sandbox_url, **choice)))["type"] is (
        FlowResultType.CREATE_ENTRY
    )
    requests = flip_requests(sandbox)

    result = await submit(hass, second, form_input(sandbox, sandbox_url, **choice))

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_DEVICE_ID: "device_unavailable"}
    assert flip_requests(sandbox) == requests
    assert len(flips(entry)) == 1


async def test_reconfiguring_the_dispatch_moves_its_events_without_a_reload(
    hass: HomeAssistant, scheduled: Sandbox, sandbox_url: str, linked_entry: MockConfigEntry
) -> None:
    entry = with_flip(linked_entry, flip_data(scheduled, sandbox_url))
    await setup_entry(hass, entry)
    await hass.async_block_till_done(wait_background_tasks=True)
    ((subentry_id, device_id),) = (
        (subentry.subentry_id, subentry.data[CONF_DEVICE_ID]) for subentry in flips(entry)
    )
    assert live_keys(scheduled) == Counter([window(*A)])
    (old_event,) = live(scheduled)
    assert hass.states.get(NEXT_FLIP_EVENT).attributes["event_id"] == old_event["id"]  # type: ignore[union-attr]
    watch = Watch(hass, entry)
    assert SOC_SYNC in watch.flatpeak

    result = checked(
        await hass.config_entries.subentries.async_init(
            (entry.entry_id, SUBENTRY_TYPE),
            context={"source": SOURCE_RECONFIGURE, "subentry_id": subentry_id},
        )
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    # The form shows what is stored.
    suggested = {
        str(marker): marker.description["suggested_value"]
        for marker in result["data_schema"].schema
        if marker.description and "suggested_value" in marker.description
    }
    assert suggested["target_ids"] == TARGET
    assert suggested["target_type"] == "device"

    result = await submit(
        hass, result, form_input(scheduled, sandbox_url, api_key="fl_not_accepted")
    )
    assert result["errors"] == {"base": "invalid_auth"}

    result = await submit(
        hass, result, form_input(scheduled, sandbox_url, target_ids="dev-battery-2")
    )
    await hass.async_block_till_done(wait_background_tasks=True)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    # Our own wording, not Home Assistant's generic one.
    assert result.get("translation_domain") in (None, DOMAIN)
    assert entry.subentries[subentry_id].data["target_ids"] == ["dev-battery-2"]
    # The dispatch stays with its device.
    assert entry.subentries[subentry_id].data[CONF_DEVICE_ID] == device_id == scheduled.device_id
    # The event for the old target is cancelled, one for the new sent.
    assert live_keys(scheduled) == Counter([window(*A, target="dev-battery-2")])
    (new_event,) = live(scheduled)
    # The dispatch's entities follow the new settings; the rest of the entry ran on.
    watch.assert_untouched()
    assert hass.states.get(NEXT_FLIP_EVENT).attributes["event_id"] == new_event["id"]  # type: ignore[union-attr]
    assert state(hass, FLIP_STATUS) == "dispatched"
    for entity_id in FLIP_SENSORS:
        assert "unavailable" not in watch.states[entity_id]


async def test_changing_the_options_applies_them_in_place(
    hass: HomeAssistant, scheduled: Sandbox, sandbox_url: str, mock_config_entry: MockConfigEntry
) -> None:
    entry = with_flip(mock_config_entry, flip_data(scheduled, sandbox_url))
    await setup_entry(hass, entry)
    await hass.async_block_till_done(wait_background_tasks=True)
    watch = Watch(hass, entry)
    scheduled.reset_counts()

    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**result["data_schema"]({}), "schedule_horizon": 48}
    )
    await hass.async_block_till_done(wait_background_tasks=True)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    watch.assert_untouched()  # no reload, no entity interrupted
    # The new horizon is asked for at once; the dispatch carried on, sending nothing twice.
    assert device_of(entry).schedule.horizon_hours == 48
    assert scheduled.request_counts["schedule_soc"] == 1
    assert scheduled.requests[-1].route == "schedule_soc"
    assert state(hass, FLIP_STATUS) == "dispatched"
    assert live_keys(scheduled) == Counter([window(*A)])
