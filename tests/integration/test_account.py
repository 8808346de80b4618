"""One account, all its devices: shared answers, devices that come and go, actions by device."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er, issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.flatpeak.const import DOMAIN
from custom_components.flatpeak.dispatch.flip.const import SUBENTRY_TYPE
from sandbox import Fault, Sandbox

from .common import (
    QUIET,
    add_device,
    at,
    batteries_entry,
    device_of,
    make_devices,
    session,
    setup_entry,
    state,
)
from .dispatch_common import Watch, flip_data, live, z

NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def charging_window(hass: HomeAssistant, entry: MockConfigEntry, device_id: str) -> str:
    """The entity ID of a device's Charging window."""
    found = er.async_get(hass).async_get_entity_id(
        "binary_sensor", DOMAIN, f"{device_id}_charging_window"
    )
    assert found is not None
    return found


@pytest.fixture
async def three(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    entry_data: dict[str, Any],
) -> tuple[MockConfigEntry, list[str]]:
    """The account with three devices at one location, each on windows of its own."""
    freezer.move_to(NOW)
    device_ids = await make_devices(hass, sandbox, entry_data, 3)
    for number, device_id in enumerate(device_ids):
        start = NOW + (number + 1) * HOUR
        sandbox.set_schedule_override(
            [session(NOW, NOW + 6 * HOUR, (start, start + HOUR / 2))], device_id=device_id
        )
    sandbox.reset_counts()
    entry = batteries_entry(entry_data, sandbox.location_id, device_ids, options=QUIET)
    await setup_entry(hass, entry)
    return entry, device_ids


async def test_devices_share_one_login_one_status_and_one_price_fetch(
    hass: HomeAssistant, sandbox: Sandbox, three: tuple[MockConfigEntry, list[str]]
) -> None:
    entry, device_ids = three
    counts = sandbox.request_counts
    assert counts["login"] == 1
    assert counts["location_status"] == 1
    assert counts["prices"] == 2  # import and export, for the one location
    assert counts["schedule_soc"] == 3
    assert counts["device_get"] == 3
    # Three Home Assistant devices, each in its own subentry, under the one account.
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert {next(iter(d.identifiers))[1] for d in devices} == set(device_ids)
    assert len(entry.runtime_data.locations) == 1


async def test_each_device_switches_at_its_own_windows(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    three: tuple[MockConfigEntry, list[str]],
) -> None:
    entry, device_ids = three
    windows = [charging_window(hass, entry, device_id) for device_id in device_ids]

    for number in range(3):
        start = NOW + (number + 1) * HOUR
        await at(hass, freezer, start)
        assert [state(hass, w) for w in windows] == [
            "on" if other == number else "off" for other in range(3)
        ]
        await at(hass, freezer, start + HOUR / 2)
        assert [state(hass, w) for w in windows] == ["off"] * 3


async def test_removing_a_device_leaves_the_others_running(
    hass: HomeAssistant,
    sandbox: Sandbox,
    three: tuple[MockConfigEntry, list[str]],
) -> None:
    entry, device_ids = three
    kept, removed = device_ids[:2], device_ids[2]
    watch = Watch(hass, entry, kept)
    gone = device_of(entry, removed)
    removed_window = charging_window(hass, entry, removed)

    assert hass.config_entries.async_remove_subentry(entry, gone.subentry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    watch.assert_untouched()
    assert hass.states.get(removed_window) is None
    assert er.async_get(hass).async_get(removed_window) is None
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert {next(iter(d.identifiers))[1] for d in devices} == set(kept)
    assert [d.device_id for d in entry.runtime_data.devices.values()] == kept
    # Its schedule is fetched no more; the others' still are.
    sandbox.reset_counts()
    for device in entry.runtime_data.devices.values():
        await device.schedule.async_refresh()
    assert sandbox.request_counts["schedule_soc"] == 2


async def test_adding_a_device_leaves_the_others_running(
    hass: HomeAssistant,
    sandbox: Sandbox,
    entry_data: dict[str, Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(NOW)
    first, second = await make_devices(hass, sandbox, entry_data, 2)
    entry = batteries_entry(entry_data, sandbox.location_id, [first], options=QUIET)
    await setup_entry(hass, entry)
    watch = Watch(hass, entry)
    sandbox.reset_counts()

    await add_device(hass, entry, second, sandbox.location_id, "Garage battery")

    watch.assert_untouched()
    assert state(hass, "binary_sensor.garage_battery_charging_window") in ("on", "off")
    assert device_of(entry, second).location is device_of(entry, first).location
    # Its own device and schedule are fetched; the location's answers are shared.
    counts = sandbox.request_counts
    assert (counts["device_get"], counts["schedule_soc"]) == (1, 1)
    assert counts["location_status"] == counts["prices"] == counts["login"] == 0


async def test_actions_name_a_device_or_an_account_with_one(
    hass: HomeAssistant, three: tuple[MockConfigEntry, list[str]]
) -> None:
    entry, device_ids = three
    registry_id = device_of(entry, device_ids[1]).registry_device_id

    by_device = await hass.services.async_call(
        DOMAIN, "get_schedule", {"device_id": registry_id}, blocking=True, return_response=True
    )
    assert by_device is not None
    # The second device's window, not the first's.
    assert by_device["windows"][0]["start"] == dt_util.as_local(NOW + 2 * HOUR).isoformat()

    with pytest.raises(ServiceValidationError) as ambiguous:
        await hass.services.async_call(
            DOMAIN,
            "get_schedule",
            {"config_entry_id": entry.entry_id},
            blocking=True,
            return_response=True,
        )
    assert ambiguous.value.translation_key == "device_ambiguous"
    assert "Battery 0, Battery 1, Battery 2" in str(ambiguous.value.translation_placeholders)

    with pytest.raises(ServiceValidationError) as missing:
        await hass.services.async_call(
            DOMAIN, "get_schedule", {}, blocking=True, return_response=True
        )
    assert missing.value.translation_key == "device_required"


async def test_a_device_added_in_flatpeak_is_offered_never_added_unasked(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    entry_data: dict[str, Any],
    quiet_entry: MockConfigEntry,
) -> None:
    freezer.move_to(NOW)
    await setup_entry(hass, quiet_entry)
    account = quiet_entry.runtime_data
    # The first look, at the start, notes the account's devices: those not picked are
    # not offered.
    assert sandbox.request_counts["device_list"] == 1
    assert new_device_issues(hass) == []

    (_, added) = await make_devices(hass, sandbox, entry_data, 2)
    await account.async_look_for_new_devices()
    await hass.async_block_till_done()

    (issue,) = new_device_issues(hass)
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["account"] == quiet_entry.title
    assert [d.device_id for d in account.devices.values()] == [sandbox.device_id]

    # Added by the user (as "Add device" does), it is offered no more.
    await add_device(hass, quiet_entry, added, sandbox.location_id, "New battery")
    assert new_device_issues(hass) == []


def new_device_issues(hass: HomeAssistant) -> list[ir.IssueEntry]:
    return [
        issue
        for issue in ir.async_get(hass).issues.values()
        if issue.domain == DOMAIN and issue.translation_key == "new_device"
    ]


async def test_a_device_flatpeak_no_longer_knows_can_be_removed_from_repairs(
    hass: HomeAssistant,
    sandbox: Sandbox,
    three: tuple[MockConfigEntry, list[str]],
) -> None:
    entry, device_ids = three
    gone = device_of(entry, device_ids[2])
    sandbox.inject(Fault(route="device_get", status=404, times=10))
    await gone.device.async_refresh()
    await hass.async_block_till_done()

    (issue,) = [
        issue
        for issue in ir.async_get(hass).issues.values()
        if issue.domain == DOMAIN and issue.translation_key == "device_not_found"
    ]
    assert issue.is_fixable
    assert issue.translation_placeholders == {"name": "Battery 2"}

    assert await async_setup_component(hass, "repairs", {})
    flows = repairs_flow_manager(hass)
    assert flows is not None
    flow = await flows.async_init(DOMAIN, data={"issue_id": issue.issue_id})
    assert flow.get("step_id") == "confirm"
    assert flow.get("description_placeholders") == {"name": "Battery 2"}
    done = await flows.async_configure(flow["flow_id"], {})
    assert done.get("type") == "create_entry"
    await hass.async_block_till_done(wait_background_tasks=True)

    assert [d.device_id for d in entry.runtime_data.devices.values()] == device_ids[:2]
    assert gone.subentry_id not in entry.subentries
    assert [i for i in ir.async_get(hass).issues.values() if i.domain == DOMAIN] == []


async def test_a_flip_dispatch_sends_the_windows_of_its_own_device(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    sandbox_url: str,
    entry_data: dict[str, Any],
) -> None:
    freezer.move_to(NOW)
    first, second = await make_devices(hass, sandbox, entry_data, 2)
    for number, device_id in enumerate((first, second)):
        start = NOW + (number + 1) * HOUR
        sandbox.set_schedule_override(
            [session(NOW, NOW + 6 * HOUR, (start, start + HOUR))], device_id=device_id
        )
    entry = batteries_entry(entry_data, sandbox.location_id, [first, second], options=QUIET)
    await setup_entry(hass, entry)

    hass.config_entries.async_add_subentry(
        entry,
        ConfigSubentry(
            data=MappingProxyType(flip_data(sandbox, sandbox_url) | {"device_id": second}),
            subentry_type=SUBENTRY_TYPE,
            title="Flip prg",
            unique_id=None,
        ),
    )
    await hass.async_block_till_done(wait_background_tasks=True)

    # The second device's window, not the first's, and on the second device's dispatch.
    assert [(e["starts_at"], e["duration_s"]) for e in live(sandbox)] == [(z(NOW + 2 * HOUR), 3600)]
    assert device_of(entry, first).dispatch.target is None
    assert device_of(entry, second).dispatch.target is not None


async def test_a_new_battery_sensor_is_followed_in_place(
    hass: HomeAssistant, sandbox: Sandbox, three: tuple[MockConfigEntry, list[str]]
) -> None:
    entry, device_ids = three
    watch = Watch(hass, entry)
    device = device_of(entry, device_ids[0])
    hass.states.async_set("sensor.battery_level", "55", {"unit_of_measurement": "%"})
    subentry = entry.subentries[device.subentry_id]

    hass.config_entries.async_update_subentry(
        entry, subentry, data={**subentry.data, "soc_entity": "sensor.battery_level"}
    )
    await hass.async_block_till_done(wait_background_tasks=True)

    # Sent at once, with no entity of any device interrupted.
    assert device.soc.source == "sensor.battery_level"
    assert sandbox.flatpeak.device_state(device_ids[0])["soc_percent"] == 55
    assert [s for s in watch.states.values() if None in s or "unavailable" in s] == []
    assert entry.runtime_data is watch._data


async def test_a_device_moved_to_another_location_restarts_alone(
    hass: HomeAssistant, sandbox: Sandbox, three: tuple[MockConfigEntry, list[str]]
) -> None:
    entry, device_ids = three
    moved_id, *kept = device_ids
    sandbox.add_location("loc_holidayhome", moved_id)
    watch = Watch(hass, entry, kept)
    device = device_of(entry, moved_id)
    window = charging_window(hass, entry, moved_id)
    sandbox.reset_counts()

    subentry = entry.subentries[device.subentry_id]
    hass.config_entries.async_update_subentry(
        entry, subentry, data={**subentry.data, "location_id": "loc_holidayhome"}
    )
    await hass.async_block_till_done(wait_background_tasks=True)

    watch.assert_untouched()
    moved = device_of(entry, moved_id)
    assert moved is not device
    assert moved.location.location_id == "loc_holidayhome"
    assert set(entry.runtime_data.locations) == {sandbox.location_id, "loc_holidayhome"}
    # Its entities came back with their IDs; the new location's answers were fetched once.
    assert state(hass, window) in ("on", "off")
    assert sandbox.request_counts["location_status"] == 1
