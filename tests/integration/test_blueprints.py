"""The automation blueprints in blueprints/automation/flatpeak, run against the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
import re
import shutil
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import persistent_notification
from homeassistant.components.automation.helpers import async_get_blueprints
from homeassistant.components.blueprint.models import Blueprint
from homeassistant.core import CoreState, HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import parse_yaml
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_mock_service,
)

from sandbox import Fault, Sandbox

from .common import (
    CHARGING,
    PREFIX,
    SCHEDULE_STATUS,
    account_entry,
    device_of,
    device_subentry,
    session,
    setup_entry,
    state,
)

SOURCE = Path(__file__).parents[2] / "blueprints" / "automation" / "flatpeak"
README = Path(__file__).parents[2] / "README.md"
BATTERY = "flatpeak/charge_battery_during_windows.yaml"
EV_CHARGER = "flatpeak/switch_ev_charger.yaml"
NOTIFY = "flatpeak/notify_on_schedule_change.yaml"

NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
START, END = NOW + timedelta(minutes=40), NOW + timedelta(minutes=70)
# The sandbox's schedule: one session from NOW to SESSION_END, one window in it.
SESSION_END = NOW + timedelta(hours=3)

# The devices the blueprints command: template entities over helpers, real enough to
# validate each action's data and to change state when commanded.
SWITCH = "switch.battery_grid_charging"
SELECT = "select.inverter_mode"
NUMBER = "number.inverter_charge_power"
CHARGER = "switch.ev_charger"
PLUGGED_IN = "binary_sensor.car_plugged_in"
SCHEDULE_CHANGE = f"event.{PREFIX}_schedule_change"


async def settle(hass: HomeAssistant) -> None:
    """Let everything started run, including the template entities' state updates."""
    await hass.async_block_till_done(wait_background_tasks=True)
    # A template entity writes its new state in a call scheduled after its helper's.
    await hass.async_block_till_done()


async def at(hass: HomeAssistant, freezer: FrozenDateTimeFactory, moment: datetime) -> None:
    """Move the clock to moment and let every timer due by then run."""
    freezer.move_to(moment)
    async_fire_time_changed(hass)
    await settle(hass)


async def advance_until_fresh(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Let minutes pass until the schedule is fetched again (within one refresh interval)."""
    for _ in range(40):
        if state(hass, SCHEDULE_STATUS) == "fresh":
            return
        freezer.tick(timedelta(minutes=1))
        async_fire_time_changed(hass)
        await settle(hass)
    pytest.fail("the schedule was not fetched again within 40 minutes")


@pytest.fixture
async def blueprint_folder(hass: HomeAssistant, tmp_path: Path) -> Path:
    """The blueprints, copied where Home Assistant looks for them.

    The test configuration folder belongs to the test package, so this test's
    Home Assistant gets a configuration folder of its own.
    """
    hass.config.config_dir = str(tmp_path)
    target = Path(hass.config.path("blueprints", "automation", "flatpeak"))
    await hass.async_add_executor_job(partial(shutil.copytree, SOURCE, target))
    return target


def use(path: str, alias: str, **inputs: Any) -> dict[str, Any]:
    """An automation made from a blueprint."""
    return {"alias": alias, "use_blueprint": {"path": path, "input": inputs}}


async def set_up_automations(hass: HomeAssistant, *automations: dict[str, Any]) -> None:
    assert await async_setup_component(hass, "automation", {"automation": list(automations)})
    await hass.async_block_till_done()


async def set_up_devices(hass: HomeAssistant) -> None:
    """A battery (switch, inverter select and number) and an EV charger (switch)."""
    helpers = {
        "input_boolean": {"grid_charging": {"initial": False}, "ev_charger": {"initial": False}},
        "input_select": {
            "inverter_mode": {"options": ["Self use", "Force charge"], "initial": "Self use"}
        },
        "input_number": {
            "charge_power": {"min": 0, "max": 10000, "step": 1, "initial": 0, "mode": "box"}
        },
    }
    for domain, config in helpers.items():
        assert await async_setup_component(hass, domain, {domain: config})

    def switch(name: str, helper: str) -> dict[str, Any]:
        target = {"entity_id": helper}
        return {
            "name": name,
            "state": f"{{{{ is_state('{helper}', 'on') }}}}",
            "turn_on": [{"action": "input_boolean.turn_on", "target": target}],
            "turn_off": [{"action": "input_boolean.turn_off", "target": target}],
        }

    mode = "input_select.inverter_mode"
    power = "input_number.charge_power"
    template = {
        "switch": [
            switch("Battery grid charging", "input_boolean.grid_charging"),
            switch("EV charger", "input_boolean.ev_charger"),
        ],
        "select": [
            {
                "name": "Inverter mode",
                "state": f"{{{{ states('{mode}') }}}}",
                "options": f"{{{{ state_attr('{mode}', 'options') }}}}",
                "select_option": [
                    {
                        "action": "input_select.select_option",
                        "target": {"entity_id": mode},
                        "data": {"option": "{{ option }}"},
                    }
                ],
            }
        ],
        "number": [
            {
                "name": "Inverter charge power",
                "state": f"{{{{ states('{power}') }}}}",
                "min": 0,
                "max": 10000,
                "step": 1,
                "set_value": [
                    {
                        "action": "input_number.set_value",
                        "target": {"entity_id": power},
                        "data": {"value": "{{ value }}"},
                    }
                ],
            }
        ],
    }
    assert await async_setup_component(hass, "template", {"template": [template]})
    await hass.async_block_till_done()
    for entity_id in (SWITCH, SELECT, NUMBER, CHARGER):
        assert hass.states.get(entity_id) is not None, entity_id


@pytest.fixture
async def flatpeak(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    mock_config_entry: MockConfigEntry,
    blueprint_folder: Path,
) -> MockConfigEntry:
    """The sandbox battery with one window, the devices to command, and the blueprints."""
    freezer.move_to(NOW)
    sandbox.set_schedule_override([session(NOW, SESSION_END, (START, END))])
    await setup_entry(hass, mock_config_entry)
    await set_up_devices(hass)
    return mock_config_entry


def readme_walkthrough() -> dict[str, Any]:
    """The automation of the README's "first automation in two minutes"."""
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), re.DOTALL)
    (automation,) = (
        automation
        for block in blocks
        for automation in parse_yaml(block)["automation"]
        if "use_blueprint" in automation
    )
    return automation


async def test_the_readmes_first_automation(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    entry_data: dict[str, Any],
    blueprint_folder: Path,
) -> None:
    """The walkthrough's automation, as the README shows it, on a device named as there."""
    freezer.move_to(NOW)
    sandbox.set_schedule_override([session(NOW, SESSION_END, (START, END))])
    entry = account_entry(
        entry_data, device_subentry(sandbox.device_id, sandbox.location_id, "Home battery")
    )
    await setup_entry(hass, entry)
    await set_up_devices(hass)
    await set_up_automations(hass, readme_walkthrough())

    assert state(hass, SWITCH) == "off"
    await at(hass, freezer, START)
    assert state(hass, SWITCH) == "on"
    await at(hass, freezer, END)
    assert state(hass, SWITCH) == "off"


async def turn(hass: HomeAssistant, entity_id: str, on: bool) -> None:
    """Operate a switch by hand, as its owner would."""
    service = "turn_on" if on else "turn_off"
    await hass.services.async_call("switch", service, {"entity_id": entity_id}, blocking=True)
    await settle(hass)


async def expire(hass: HomeAssistant, freezer: FrozenDateTimeFactory, sandbox: Sandbox) -> None:
    """Take Flatpeak down until the known schedule runs out, at SESSION_END."""
    sandbox.inject(Fault(route="flatpeak:*", status=503, times=None))
    await at(hass, freezer, END + timedelta(minutes=20))
    assert state(hass, SCHEDULE_STATUS) == "cached"
    await at(hass, freezer, SESSION_END - timedelta(seconds=1))
    assert state(hass, SCHEDULE_STATUS) == "cached"
    await at(hass, freezer, SESSION_END)
    assert state(hass, SCHEDULE_STATUS) == "expired"
    assert state(hass, CHARGING) == "off"


# The battery: charge in windows, through a switch, a select or a number.

FLATPEAK_INPUTS = {"charging_window": CHARGING, "schedule_status": SCHEDULE_STATUS}
BATTERY_COMMANDS: dict[str, tuple[dict[str, Any], str, str, str]] = {
    # name: (inputs, the entity commanded, its state outside windows, and in them)
    "switch": ({"battery_switch": SWITCH}, SWITCH, "off", "on"),
    "select": (
        {
            "inverter_select": SELECT,
            "select_option_charging": "Force charge",
            "select_option_idle": "Self use",
        },
        SELECT,
        "Self use",
        "Force charge",
    ),
    "number": (
        {"inverter_number": NUMBER, "number_value_charging": 5000, "number_value_idle": 0},
        NUMBER,
        "0.0",
        "5000.0",
    ),
}


def battery(**inputs: Any) -> dict[str, Any]:
    return use(BATTERY, "Battery", **FLATPEAK_INPUTS, **inputs)


@pytest.mark.parametrize("command", list(BATTERY_COMMANDS))
async def test_battery_charges_from_window_start_to_window_end(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, flatpeak: MockConfigEntry, command: str
) -> None:
    inputs, entity_id, idle, charging = BATTERY_COMMANDS[command]
    await set_up_automations(hass, battery(**inputs))
    assert state(hass, entity_id) == idle

    await at(hass, freezer, START - timedelta(milliseconds=1))
    assert state(hass, entity_id) == idle
    await at(hass, freezer, START)
    assert state(hass, entity_id) == charging
    await at(hass, freezer, END - timedelta(milliseconds=1))
    assert state(hass, entity_id) == charging
    await at(hass, freezer, END)
    assert state(hass, entity_id) == idle


async def test_battery_commands_only_what_differs(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, flatpeak: MockConfigEntry
) -> None:
    await set_up_automations(hass, battery(battery_switch=SWITCH))
    await turn(hass, SWITCH, on=True)  # already charging, by hand
    turned_on = async_mock_service(hass, "switch", "turn_on")

    await at(hass, freezer, START)

    assert turned_on == []


async def test_battery_falls_back_to_charging_when_the_schedule_expires_and_recovers(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    flatpeak: MockConfigEntry,
) -> None:
    await set_up_automations(hass, battery(battery_switch=SWITCH, expired_fallback="charge"))

    # Flatpeak goes down before the window: the cached schedule is still followed.
    sandbox.inject(Fault(route="flatpeak:*", status=503, times=None))
    await at(hass, freezer, START)
    assert state(hass, SCHEDULE_STATUS) == "cached"
    assert state(hass, SWITCH) == "on"
    await at(hass, freezer, END)
    assert state(hass, SWITCH) == "off"

    # Nothing known ahead: charge, as chosen.
    await expire(hass, freezer, sandbox)
    assert state(hass, SWITCH) == "on"

    # Flatpeak is back, with no window now: the window sensor is followed again.
    sandbox.clear_faults()
    await advance_until_fresh(hass, freezer)
    assert state(hass, CHARGING) == "off"
    assert state(hass, SWITCH) == "off"


async def test_battery_stops_charging_when_the_schedule_expires_by_default(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    flatpeak: MockConfigEntry,
) -> None:
    inputs, entity_id, idle, charging = BATTERY_COMMANDS["select"]
    await set_up_automations(hass, battery(**inputs))
    sandbox.inject(Fault(route="flatpeak:*", status=503, times=None))
    await at(hass, freezer, END + timedelta(minutes=30))
    # Someone forces charging by hand after the window.
    await hass.services.async_call(
        "select", "select_option", {"entity_id": entity_id, "option": charging}, blocking=True
    )
    await settle(hass)
    assert state(hass, entity_id) == charging

    await expire(hass, freezer, sandbox)
    assert state(hass, entity_id) == idle

    # Flatpeak is back with a window in force: charging follows it.
    resumed = SESSION_END + timedelta(hours=1)
    sandbox.set_schedule_override(
        [session(SESSION_END, resumed + timedelta(hours=3), (SESSION_END, resumed))]
    )
    sandbox.clear_faults()
    await advance_until_fresh(hass, freezer)
    assert state(hass, CHARGING) == "on"
    assert state(hass, entity_id) == charging
    await at(hass, freezer, resumed)
    assert state(hass, entity_id) == idle


@pytest.mark.parametrize("occasion", ["start", "automations reloaded"])
async def test_battery_is_brought_in_line(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, flatpeak: MockConfigEntry, occasion: str
) -> None:
    if occasion == "start":
        # The automation waits for Home Assistant to have started.
        hass.set_state(CoreState.not_running)
    await set_up_automations(hass, battery(battery_switch=SWITCH))
    if occasion == "automations reloaded":
        # The window starts while the automation is off (or not yet written).
        await hass.services.async_call(
            "automation", "turn_off", {"entity_id": "automation.battery"}, blocking=True
        )
    await at(hass, freezer, START + timedelta(minutes=5))
    assert state(hass, CHARGING) == "on"
    assert state(hass, SWITCH) == "off"

    if occasion == "start":
        await hass.async_start()
    else:
        await hass.services.async_call(
            "automation", "turn_on", {"entity_id": "automation.battery"}, blocking=True
        )
        hass.bus.async_fire("automation_reloaded")
    await settle(hass)

    assert state(hass, SWITCH) == "on"


async def test_battery_is_brought_in_line_when_the_window_sensor_returns(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, flatpeak: MockConfigEntry
) -> None:
    await set_up_automations(hass, battery(battery_switch=SWITCH))
    await at(hass, freezer, START + timedelta(minutes=5))
    assert state(hass, SWITCH) == "on"
    await turn(hass, SWITCH, on=False)
    changes: list[str] = []
    hass.bus.async_listen(
        "state_changed",
        lambda event: changes.append(event.data["new_state"].state)
        if event.data["entity_id"] == CHARGING
        else None,
    )

    # Reloading the integration: the window sensor is unavailable, then on again.
    assert await hass.config_entries.async_reload(flatpeak.entry_id)
    await settle(hass)

    assert changes == ["unavailable", "on"]
    assert state(hass, SWITCH) == "on"


async def test_battery_without_a_command_stops_with_an_error(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    flatpeak: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await set_up_automations(hass, battery())
    assert state(hass, "automation.battery") == "on"

    await at(hass, freezer, START)

    assert "Set a switch, a select or a number to command the battery" in caplog.text
    assert state(hass, SWITCH) == "off"


# The EV charger: on in windows, only while the car is plugged in.


def ev_charger(**inputs: Any) -> dict[str, Any]:
    return use(EV_CHARGER, "EV charger", **FLATPEAK_INPUTS, charger_switch=CHARGER, **inputs)


def plug(hass: HomeAssistant, plugged_in: bool) -> None:
    hass.states.async_set(PLUGGED_IN, "on" if plugged_in else "off")


async def test_ev_charger_is_on_from_window_start_to_window_end(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, flatpeak: MockConfigEntry
) -> None:
    await set_up_automations(hass, ev_charger())

    await at(hass, freezer, START - timedelta(milliseconds=1))
    assert state(hass, CHARGER) == "off"
    await at(hass, freezer, START)
    assert state(hass, CHARGER) == "on"
    await at(hass, freezer, END)
    assert state(hass, CHARGER) == "off"


async def test_ev_charger_is_on_only_while_the_car_is_plugged_in(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, flatpeak: MockConfigEntry
) -> None:
    plug(hass, False)
    await set_up_automations(hass, ev_charger(plugged_in=PLUGGED_IN))

    await at(hass, freezer, START)
    assert state(hass, CHARGING) == "on"
    assert state(hass, CHARGER) == "off"

    for plugged_in, expected in [(True, "on"), (False, "off"), (True, "on")]:
        plug(hass, plugged_in)
        await settle(hass)
        assert state(hass, CHARGER) == expected

    await at(hass, freezer, END)
    assert state(hass, CHARGER) == "off"
    # Outside a window, plugging in does not start charging.
    plug(hass, False)
    await settle(hass)
    plug(hass, True)
    await settle(hass)
    assert state(hass, CHARGER) == "off"


async def test_ev_charger_is_left_off_when_the_schedule_expires_by_default(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    flatpeak: MockConfigEntry,
) -> None:
    plug(hass, True)
    await set_up_automations(hass, ev_charger(plugged_in=PLUGGED_IN))
    sandbox.inject(Fault(route="flatpeak:*", status=503, times=None))
    await at(hass, freezer, END + timedelta(minutes=30))
    await turn(hass, CHARGER, on=True)  # by hand, after the window
    assert state(hass, CHARGER) == "on"

    await expire(hass, freezer, sandbox)

    assert state(hass, CHARGER) == "off"


async def test_ev_charger_falls_back_to_charging_while_plugged_in_and_recovers(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    flatpeak: MockConfigEntry,
) -> None:
    plug(hass, True)
    await set_up_automations(hass, ev_charger(plugged_in=PLUGGED_IN, expired_fallback="charge"))

    await expire(hass, freezer, sandbox)
    assert state(hass, CHARGER) == "on"
    plug(hass, False)
    await settle(hass)
    assert state(hass, CHARGER) == "off"
    plug(hass, True)
    await settle(hass)
    assert state(hass, CHARGER) == "on"

    sandbox.clear_faults()
    await advance_until_fresh(hass, freezer)
    assert state(hass, CHARGING) == "off"
    assert state(hass, CHARGER) == "off"


# Notifications of schedule changes, from the Schedule change event entity.


def window(start: str, end: str, power_kw: float | None) -> dict[str, Any]:
    return {"start": start, "end": end, "power_kw": power_kw}


ADDED = window("2026-03-28T12:40:00+00:00", "2026-03-28T13:10:00+00:00", 5.0)
REMOVED = window("2026-03-29T02:00:00+01:00", "2026-03-29T04:30:00+01:00", 11.0)
SHIFTED = {
    **window("2026-03-28T14:00:00+00:00", "2026-03-28T15:00:00+00:00", 3.5),
    "previous_start": "2026-03-28T13:30:00+00:00",
    "previous_end": "2026-03-28T14:30:00+00:00",
    "previous_power_kw": 5.0,
}


def schedule_change(
    summary: str, late_notice: bool = False, not_listed: int = 0, **windows: list[dict[str, Any]]
) -> dict[str, Any]:
    """The attributes of the Schedule change event entity after it fired."""
    return {
        "event_types": ["schedule_changed"],
        "event_type": "schedule_changed",
        "added": [],
        "removed": [],
        "shifted": [],
        **windows,
        "not_listed": not_listed,
        "late_notice": late_notice,
        "summary": summary,
        "friendly_name": "Nova Systems Pico Ultimate Schedule change",
    }


async def set_up_notifications(hass: HomeAssistant) -> None:
    await hass.config.async_set_time_zone("Europe/London")
    assert await async_setup_component(hass, "persistent_notification", {})


@pytest.fixture
async def event_entity(hass: HomeAssistant, blueprint_folder: Path) -> None:
    """A stand-in for the Schedule change event entity, never fired yet (state unknown)."""
    await set_up_notifications(hass)
    hass.states.async_set(
        SCHEDULE_CHANGE, "unknown", {"event_types": ["schedule_changed"], "event_type": None}
    )


async def fire(hass: HomeAssistant, moment: datetime, attributes: dict[str, Any]) -> None:
    """The event entity firing: its state becomes the time, its attributes the change."""
    hass.states.async_set(SCHEDULE_CHANGE, moment.isoformat(), attributes)
    await hass.async_block_till_done()


def notifications(hass: HomeAssistant) -> list[dict[str, str | None]]:
    return [
        {"id": n["notification_id"], "title": n["title"], "message": n["message"]}
        for n in persistent_notification._async_get_or_create_notifications(hass).values()
    ]


def notify(**inputs: Any) -> dict[str, Any]:
    return use(NOTIFY, "Schedule change", schedule_change=SCHEDULE_CHANGE, **inputs)


async def test_notification_lists_windows_added_removed_and_moved(
    hass: HomeAssistant, event_entity: None
) -> None:
    await set_up_automations(hass, notify())

    summary = "1 window added, 1 removed, 1 shifted"
    await fire(
        hass, NOW, schedule_change(summary, added=[ADDED], removed=[REMOVED], shifted=[SHIFTED])
    )

    assert notifications(hass) == [
        {
            "id": f"flatpeak_schedule_change_{SCHEDULE_CHANGE}",
            "title": "Charging schedule changed",
            "message": "1 window added, 1 removed, 1 shifted\n"
            "Added: Sat 12:40-13:10, 5.0 kW\n"
            "Removed: Sun 02:00-04:30, 11.0 kW\n"
            "Moved: Sat 14:00-15:00, 3.5 kW (was Sat 13:30-14:30, 5.0 kW)",
        }
    ]
    # The next change of the same device replaces it; a window without a power has none.
    unpowered = window(ADDED["start"], ADDED["end"], None)
    await fire(
        hass, NOW + timedelta(minutes=30), schedule_change("1 window removed", removed=[unpowered])
    )
    assert [n["message"] for n in notifications(hass)] == [
        "1 window removed\nRemoved: Sat 12:40-13:10"
    ]


async def test_notification_says_how_many_windows_it_leaves_out(
    hass: HomeAssistant, event_entity: None
) -> None:
    await set_up_automations(hass, notify())

    change = schedule_change("11 windows added", added=[ADDED], not_listed=10)
    await fire(hass, NOW, change)

    assert [n["message"] for n in notifications(hass)] == [
        "11 windows added\nAdded: Sat 12:40-13:10, 5.0 kW\nAnd 10 more."
    ]


async def test_notification_through_an_action_of_ones_own(
    hass: HomeAssistant, event_entity: None
) -> None:
    sent = async_mock_service(hass, "notify", "mobile_app_phone")
    action = {
        "action": "notify.mobile_app_phone",
        "data": {"title": "{{ title }}", "message": "{{ message }}"},
    }
    await set_up_automations(hass, notify(notify_action=[action]))

    await fire(hass, NOW, schedule_change("1 window added", late_notice=True, added=[ADDED]))

    assert [call.data for call in sent] == [
        {
            "title": "Charging schedule changed at short notice",
            "message": "1 window added\nAdded: Sat 12:40-13:10, 5.0 kW",
        }
    ]
    assert notifications(hass) == []


async def test_notification_only_for_late_notice_changes(
    hass: HomeAssistant, event_entity: None
) -> None:
    sent = async_mock_service(hass, "notify", "mobile_app_phone")
    action = {"action": "notify.mobile_app_phone", "data": {"message": "{{ message }}"}}
    await set_up_automations(hass, notify(only_late_notice=True, notify_action=[action]))

    await fire(hass, NOW, schedule_change("1 window added", added=[ADDED]))
    assert sent == []
    late = schedule_change("1 window shifted", late_notice=True, shifted=[SHIFTED])
    await fire(hass, NOW + timedelta(minutes=1), late)
    assert [call.data["message"] for call in sent] == [
        "1 window shifted\nMoved: Sat 14:00-15:00, 3.5 kW (was Sat 13:30-14:30, 5.0 kW)"
    ]


async def test_no_notification_when_the_last_event_is_restored(
    hass: HomeAssistant, event_entity: None
) -> None:
    await set_up_automations(hass, notify())
    await fire(hass, NOW, schedule_change("1 window added", added=[ADDED]))
    assert len(notifications(hass)) == 1
    persistent_notification.async_dismiss_all(hass)

    # A reload or restart: unavailable, then the last event again.
    hass.states.async_set(SCHEDULE_CHANGE, "unavailable", {"restored": True})
    await hass.async_block_till_done()
    await fire(hass, NOW, schedule_change("1 window added", added=[ADDED]))
    # An event of another type is not a schedule change.
    await fire(hass, NOW + timedelta(minutes=1), {"event_type": "something_else"})

    assert notifications(hass) == []


async def test_notification_from_the_integrations_event_entity(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, sandbox: Sandbox, flatpeak: MockConfigEntry
) -> None:
    if hass.states.get(SCHEDULE_CHANGE) is None:
        pytest.skip("the integration has no Schedule change event entity yet")
    await set_up_notifications(hass)
    await set_up_automations(hass, notify())

    # Flatpeak moves the window 20 minutes later.
    later = timedelta(minutes=20)
    sandbox.set_schedule_override([session(NOW, SESSION_END, (START + later, END + later))])
    await device_of(flatpeak).schedule.async_refresh()
    await settle(hass)

    (notification,) = notifications(hass)
    assert notification["title"] == "Nova Systems Pico Ultimate: Charging schedule changed"
    assert str(notification["message"]).splitlines()[1:] == [
        "Moved: Sat 13:00-13:30, 5.0 kW (was Sat 12:40-13:10, 5.0 kW)"
    ]


# Every blueprint in the folder.

MINIMAL_INPUTS: dict[str, dict[str, Any]] = {
    "charge_battery_during_windows.yaml": {**FLATPEAK_INPUTS, "battery_switch": SWITCH},
    "switch_ev_charger.yaml": {**FLATPEAK_INPUTS, "charger_switch": CHARGER},
    "notify_on_schedule_change.yaml": {"schedule_change": SCHEDULE_CHANGE},
}


async def test_every_blueprint_in_the_folder_is_valid(
    hass: HomeAssistant, blueprint_folder: Path
) -> None:
    shipped = sorted(path.name for path in SOURCE.glob("*.yaml"))
    assert shipped == sorted(MINIMAL_INPUTS)
    assert await async_setup_component(hass, "automation", {})

    loaded = await async_get_blueprints(hass).async_get_blueprints()

    assert sorted(loaded) == [f"flatpeak/{name}" for name in shipped]
    for path, blueprint in loaded.items():
        assert isinstance(blueprint, Blueprint), f"{path}: {blueprint}"
        assert blueprint.validate() is None, path  # the minimum version is met
        assert blueprint.metadata["source_url"].endswith(f"/blueprints/automation/{path}")
        for name, spec in blueprint.inputs.items():
            assert spec.get("name"), f"{path}: input {name} has no name"
            assert "selector" in spec, f"{path}: input {name} has no selector"


async def test_every_blueprint_makes_a_working_automation_from_its_required_inputs(
    hass: HomeAssistant, blueprint_folder: Path
) -> None:
    await set_up_automations(
        hass,
        *(
            use(f"flatpeak/{name}", f"Minimal {index}", **inputs)
            for index, (name, inputs) in enumerate(MINIMAL_INPUTS.items())
        ),
    )

    for index in range(len(MINIMAL_INPUTS)):
        assert state(hass, f"automation.minimal_{index}") == "on"
