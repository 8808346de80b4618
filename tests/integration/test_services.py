"""The integration's actions, against the sandbox: what they do, and how they refuse."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
import re
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
import voluptuous as vol
import yaml

from custom_components.flatpeak.const import DOMAIN
from sandbox import Fault, Sandbox
from sandbox.tariff import price_periods

from .common import device_of, session, setup_entry

NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
INTEGRATION = Path(__file__).parents[2] / "custom_components" / DOMAIN
TRANSLATIONS = json.loads((INTEGRATION / "translations" / "en.json").read_text())
SERVICES = yaml.safe_load((INTEGRATION / "services.yaml").read_text())
ACTIONS = ("refresh", "get_schedule", "get_prices", "set_device_state")
RESPONDING = ("get_schedule", "get_prices")


async def call(
    hass: HomeAssistant, action: str, entry: MockConfigEntry | str, **data: Any
) -> dict[str, Any] | None:
    """Perform an action on an entry, returning its response if it gives one."""
    entry_id = entry if isinstance(entry, str) else entry.entry_id
    response = await hass.services.async_call(
        DOMAIN,
        action,
        {"config_entry_id": entry_id, **data},
        blocking=True,
        return_response=action in RESPONDING,
    )
    return response if action in RESPONDING else None


def assert_translated(err: HomeAssistantError, key: str) -> str:
    """Check that err is the translated error key, fully rendered; return its message."""
    assert err.translation_domain == DOMAIN
    assert err.translation_key == key
    message = str(err)
    template: str = TRANSLATIONS["exceptions"][key]["message"]
    # As Home Assistant renders it: en.json's text, filled in, without its final stop.
    assert message == template.rstrip(".").format(**(err.translation_placeholders or {}))
    assert not re.search(r"\{\w+\}", message), message
    return message


def local(moment: datetime) -> str:
    return dt_util.as_local(moment).isoformat()


type Period = tuple[datetime, datetime, float, float | None]


def sandbox_prices(
    sandbox: Sandbox, start: datetime, end: datetime, direction: str = "IMPORT"
) -> list[Period]:
    """What the sandbox's POST /prices answers at NOW for [start, end)."""
    periods = price_periods(sandbox.flatpeak.prices, start, end, direction, NOW)  # type: ignore[arg-type]
    return [(p.start, p.end, p.value, p.confidence) for p in periods]


def periods_of(response: dict[str, Any] | None) -> list[Period]:
    """The prices of an action's response: (start, end, price, confidence)."""
    assert response is not None
    return [
        (
            datetime.fromisoformat(p["start"]),
            datetime.fromisoformat(p["end"]),
            p["price"],
            p["confidence"],
        )
        for p in response["prices"]
    ]


@pytest.fixture
async def loaded(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, mock_config_entry: MockConfigEntry
) -> MockConfigEntry:
    """The entry of the sandbox's demo battery, set up at NOW."""
    freezer.move_to(NOW)
    await setup_entry(hass, mock_config_entry)
    return mock_config_entry


# The actions' descriptions


def test_every_action_and_field_is_described_and_nothing_else() -> None:
    described = TRANSLATIONS["services"]
    assert set(described) == set(SERVICES)
    for action, spec in SERVICES.items():
        text = described[action]
        assert text["name"], action
        assert text["description"], action
        fields = spec.get("fields", {})
        assert set(text.get("fields", {})) == set(fields), action
        for name, field in fields.items():
            assert text["fields"][name]["name"], (action, name)
            assert text["fields"][name]["description"], (action, name)
            select = (field.get("selector") or {}).get("select")
            if select and "translation_key" in select:
                options = TRANSLATIONS["selector"][select["translation_key"]]["options"]
                assert set(options) == set(select["options"]), (action, name)


async def test_the_actions_registered_are_those_described(
    hass: HomeAssistant, loaded: MockConfigEntry
) -> None:
    registered = set(hass.services.async_services()[DOMAIN])
    # The Flip dispatch's actions come with a Flip dispatch.
    assert set(ACTIONS) <= registered <= set(SERVICES)


# Config entries


@pytest.mark.parametrize("action", ACTIONS)
async def test_an_unknown_or_foreign_entry_is_refused(
    hass: HomeAssistant, loaded: MockConfigEntry, action: str
) -> None:
    data = {"state_of_charge": 50} if action == "set_device_state" else {}
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, action, "0123456789", **data)
    assert "0123456789" in assert_translated(err.value, "entry_not_found")

    other = MockConfigEntry(domain="sun", title="Sun")
    other.add_to_hass(hass)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, action, other, **data)
    assert_translated(err.value, "entry_not_found")


@pytest.mark.parametrize("action", ACTIONS)
async def test_an_unloaded_entry_is_refused(
    hass: HomeAssistant, sandbox: Sandbox, loaded: MockConfigEntry, action: str
) -> None:
    assert await hass.config_entries.async_unload(loaded.entry_id)
    await hass.async_block_till_done()
    sandbox.reset_counts()
    data = {"state_of_charge": 50} if action == "set_device_state" else {}

    with pytest.raises(ServiceValidationError) as err:
        await call(hass, action, loaded, **data)

    assert loaded.title in assert_translated(err.value, "entry_not_loaded")
    assert sum(sandbox.request_counts.values()) == 0


# refresh


async def test_refresh_fetches_the_schedule_and_prices_now(
    hass: HomeAssistant, sandbox: Sandbox, loaded: MockConfigEntry
) -> None:
    sandbox.reset_counts()

    await call(hass, "refresh", loaded)

    counts = sandbox.request_counts
    assert counts["schedule_soc"] == 1
    assert counts["prices"] == 2  # import and export
    assert counts["device_get"] == 0  # the device is not what a refresh is for
    data = loaded.runtime_data
    assert all(c.last_update_success for c in data.coordinators)


async def test_refresh_fetches_the_tariff_status_now(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, sandbox: Sandbox, loaded: MockConfigEntry
) -> None:
    freezer.tick(timedelta(minutes=5))
    sandbox.set_tariff_status("non_commodity_export", "ERROR")
    sandbox.reset_counts()

    await call(hass, "refresh", loaded)

    assert sandbox.request_counts["location_status"] == 1
    status = device_of(loaded).status.latest
    assert status is not None
    assert status.elements["non_commodity_export"].status == "ERROR"


async def test_a_refresh_within_a_minute_joins_the_last(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, sandbox: Sandbox, loaded: MockConfigEntry
) -> None:
    await hass.async_block_till_done(wait_background_tasks=True)
    sandbox.reset_counts()
    # Two at once: one fetch, both answered when it has.
    await asyncio.gather(call(hass, "refresh", loaded), call(hass, "refresh", loaded))
    assert sandbox.request_counts["schedule_soc"] == 1
    sandbox.reset_counts()

    # A minute on, no error either, and no request: the answers are that fresh.
    freezer.tick(timedelta(seconds=59))
    await call(hass, "refresh", loaded)
    assert sum(sandbox.request_counts.values()) == 0

    freezer.tick(timedelta(seconds=1))
    await call(hass, "refresh", loaded)
    assert sandbox.request_counts["schedule_soc"] == 1


async def test_beyond_ten_an_hour_a_refresh_joins_the_next_fetch(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, sandbox: Sandbox, loaded: MockConfigEntry
) -> None:
    for _ in range(10):
        await call(hass, "refresh", loaded)
        freezer.tick(timedelta(minutes=1))
    sandbox.reset_counts()

    # (Not a task of Home Assistant's: waiting until it is idle must not wait for it.)
    joining = asyncio.ensure_future(call(hass, "refresh", loaded))
    await hass.async_block_till_done()
    assert not joining.done()
    assert sum(sandbox.request_counts.values()) == 0

    # The schedule's next regular fetch (every 30 minutes) answers it; no error.
    freezer.tick(timedelta(minutes=35))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert joining.done()
    await joining
    assert sandbox.request_counts["schedule_soc"] == 1


async def test_refresh_waits_as_long_as_flatpeak_asked(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, sandbox: Sandbox, loaded: MockConfigEntry
) -> None:
    sandbox.inject(Fault(route="schedule_soc", status=429, retry_after=300))
    with pytest.raises(HomeAssistantError) as failed:
        await call(hass, "refresh", loaded)
    assert "schedule" in assert_translated(failed.value, "refresh_failed")

    freezer.tick(timedelta(minutes=2))
    sandbox.reset_counts()
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "refresh", loaded)
    assert "Try again in 180 s" in assert_translated(err.value, "refresh_rate_limited")
    assert sum(sandbox.request_counts.values()) == 0

    freezer.tick(timedelta(minutes=3))
    await call(hass, "refresh", loaded)
    assert sandbox.request_counts["schedule_soc"] == 1


async def test_a_failed_refresh_says_what_failed_and_keeps_the_last_answers(
    hass: HomeAssistant, sandbox: Sandbox, loaded: MockConfigEntry
) -> None:
    before = device_of(loaded).schedule.latest
    sandbox.inject(Fault(route="prices", status=503, times=2))

    with pytest.raises(HomeAssistantError) as err:
        await call(hass, "refresh", loaded)

    message = assert_translated(err.value, "refresh_failed")
    assert not isinstance(err.value, ServiceValidationError)
    assert "import_prices" in message
    assert "export_prices" in message
    assert "schedule:" not in message  # the schedule was fetched
    assert "503" in message
    assert device_of(loaded).schedule.latest is not before
    assert device_of(loaded).import_prices.latest is not None


# get_schedule


async def test_get_schedule_returns_the_plan_held_without_a_request(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    mock_config_entry: MockConfigEntry,
) -> None:
    freezer.move_to(NOW)
    running = (NOW - HOUR / 2, NOW + HOUR / 2)
    later = (NOW + 2 * HOUR, NOW + 3 * HOUR)
    tomorrow = (NOW + 8 * HOUR, NOW + 9 * HOUR)
    sandbox.set_schedule_override(
        [
            session(NOW - 3 * HOUR, NOW - HOUR, (NOW - 2 * HOUR, NOW - HOUR), cost=0.2),
            session(NOW - HOUR, NOW + 5 * HOUR, running, later, energy_wh=7500, cost=0.9),
            session(
                NOW + 5 * HOUR, NOW + 12 * HOUR, tomorrow, energy_wh=5000, cost=0.4, power_w=3600
            ),
        ]
    )
    await setup_entry(hass, mock_config_entry)
    sandbox.reset_counts()

    response = await call(hass, "get_schedule", mock_config_entry)

    def window(times: tuple[datetime, datetime], power_kw: float = 5.0) -> dict[str, Any]:
        return {
            "start": local(times[0]),
            "end": local(times[1]),
            "power_kw": power_kw,
            "vpp_event": False,
        }

    assert response == {
        "status": "fresh",
        "updated": local(NOW),
        "currency": "GBP",
        "planned_energy_kwh": 12.5,
        "planned_cost": pytest.approx(1.3),
        "average_price": pytest.approx(1.3 / 12.5),
        # The windows still to end; the session that has ended is left out.
        "windows": [window(running), window(later), window(tomorrow, 3.6)],
        "sessions": [
            {
                "start": local(NOW - HOUR),
                "end": local(NOW + 5 * HOUR),
                "energy_kwh": 7.5,
                "cost": 0.9,
                "windows": [window(running), window(later)],
            },
            {
                "start": local(NOW + 5 * HOUR),
                "end": local(NOW + 12 * HOUR),
                "energy_kwh": 5.0,
                "cost": 0.4,
                "windows": [window(tomorrow, 3.6)],
            },
        ],
    }
    assert sum(sandbox.request_counts.values()) == 0


async def test_get_schedule_without_a_schedule(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    mock_config_entry: MockConfigEntry,
) -> None:
    freezer.move_to(NOW)
    sandbox.inject(Fault(route="schedule_soc", status=503, times=None))
    await setup_entry(hass, mock_config_entry)

    response = await call(hass, "get_schedule", mock_config_entry)

    assert response == {"status": "expired", "windows": [], "sessions": []}


# get_prices


async def test_get_prices_from_the_prices_held(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, sandbox: Sandbox, loaded: MockConfigEntry
) -> None:
    freezer.tick(timedelta(minutes=10))
    sandbox.reset_counts()

    response = await call(hass, "get_prices", loaded)

    assert response is not None
    assert (response["direction"], response["currency"], response["unit"]) == (
        "import",
        "GBP",
        "GBP/kWh",
    )
    # The periods of the next 24 hours, whole, from the one in force now.
    now = NOW + timedelta(minutes=10)
    held = sandbox_prices(sandbox, NOW, NOW + 48 * HOUR)
    assert periods_of(response) == [p for p in held if p[0] < now + 24 * HOUR]
    assert response["prices"][0]["start"] == local(NOW)

    exported = await call(hass, "get_prices", loaded, direction="export", end=now + HOUR)
    exports = sandbox_prices(sandbox, NOW, NOW + 48 * HOUR, "EXPORT")
    assert periods_of(exported) == [p for p in exports if p[0] < now + HOUR]
    assert sum(sandbox.request_counts.values()) == 0


async def test_get_prices_beyond_those_held_asks_flatpeak_once(
    hass: HomeAssistant, sandbox: Sandbox, loaded: MockConfigEntry
) -> None:
    sandbox.reset_counts()
    start, end = NOW + 40 * HOUR, NOW + 60 * HOUR

    response = await call(hass, "get_prices", loaded, start=start, end=end)

    assert periods_of(response) == sandbox_prices(sandbox, start, end)
    assert sandbox.request_counts["prices"] == 1
    assert sum(sandbox.request_counts.values()) == 1


async def test_get_prices_reads_times_without_a_zone_as_local(
    hass: HomeAssistant, sandbox: Sandbox, loaded: MockConfigEntry
) -> None:
    # As the UI's date-time selector sends them: local wall-clock time, no offset.
    start = dt_util.as_local(NOW + 50 * HOUR)
    text = start.replace(tzinfo=None).isoformat(sep=" ")

    response = await call(hass, "get_prices", loaded, start=text)

    assert periods_of(response) == sandbox_prices(sandbox, NOW + 50 * HOUR, NOW + 74 * HOUR)


@pytest.mark.parametrize(
    ("start", "end", "key"),
    [
        (NOW + 2 * HOUR, NOW + HOUR, "end_before_start"),
        (NOW + HOUR, NOW + HOUR, "end_before_start"),
        (NOW, NOW + timedelta(days=90, seconds=1), "span_too_long"),
    ],
)
async def test_get_prices_refuses_a_period_that_makes_no_sense(
    hass: HomeAssistant,
    sandbox: Sandbox,
    loaded: MockConfigEntry,
    start: datetime,
    end: datetime,
    key: str,
) -> None:
    sandbox.reset_counts()
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "get_prices", loaded, start=start, end=end)
    assert_translated(err.value, key)
    assert sum(sandbox.request_counts.values()) == 0


async def test_get_prices_over_the_longest_period(
    hass: HomeAssistant, sandbox: Sandbox, loaded: MockConfigEntry
) -> None:
    response = await call(hass, "get_prices", loaded, end=NOW + timedelta(days=90))
    assert response is not None
    assert len(response["prices"]) == 90 * 48


async def test_get_export_prices_without_an_export_tariff(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    mock_config_entry: MockConfigEntry,
) -> None:
    freezer.move_to(NOW)
    sandbox.set_tariff_status("commodity_export", "NOT_CONNECTED")
    await setup_entry(hass, mock_config_entry)

    with pytest.raises(HomeAssistantError) as err:
        await call(hass, "get_prices", mock_config_entry, direction="export")

    message = assert_translated(err.value, "prices_failed")
    assert "No tariff is connected for export" in message


async def test_get_prices_when_flatpeak_fails(
    hass: HomeAssistant, sandbox: Sandbox, loaded: MockConfigEntry
) -> None:
    sandbox.inject(Fault(route="prices", kind="malformed_json"))
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, "get_prices", loaded, start=NOW + 50 * HOUR)
    assert_translated(err.value, "prices_failed")


# set_device_state


async def test_set_device_state_sends_it_and_refreshes_the_schedule(
    hass: HomeAssistant, sandbox: Sandbox, loaded: MockConfigEntry
) -> None:
    sandbox.reset_counts()

    await call(hass, "set_device_state", loaded, state_of_charge=42, target_state_of_charge=80)

    state = sandbox.flatpeak.device_state()
    assert (state["submitted"], state["soc_percent"], state["target_percent"]) == (True, 42, 80)
    assert sandbox.request_counts["device_state"] == 1
    assert sandbox.request_counts["schedule_soc"] == 1
    # The schedule fetched afterwards is planned from that state: 38 % of 13.5 kWh a session.
    plan = device_of(loaded).schedule.plan
    assert plan is not None
    assert {s.energy_wh for s in plan.sessions} == {0.38 * 13_500}


async def test_set_device_state_without_a_target_sends_the_target_held(
    hass: HomeAssistant, sandbox: Sandbox, loaded: MockConfigEntry
) -> None:
    device_of(loaded).soc.set_target(90)
    await call(hass, "set_device_state", loaded, state_of_charge="55.5")

    state = sandbox.flatpeak.device_state()
    assert (state["soc_percent"], state["target_percent"]) == (55.5, 90)


@pytest.mark.parametrize(
    "data",
    [
        {"state_of_charge": 150},
        {"state_of_charge": -1},
        {"state_of_charge": "full"},
        {"state_of_charge": 50, "target_state_of_charge": 101},
        {},
    ],
)
async def test_set_device_state_refuses_what_is_not_a_state_of_charge(
    hass: HomeAssistant, sandbox: Sandbox, loaded: MockConfigEntry, data: dict[str, Any]
) -> None:
    sandbox.reset_counts()
    with pytest.raises(vol.Invalid):
        await call(hass, "set_device_state", loaded, **data)
    assert sum(sandbox.request_counts.values()) == 0


async def test_set_device_state_when_flatpeak_fails(
    hass: HomeAssistant, sandbox: Sandbox, loaded: MockConfigEntry
) -> None:
    sandbox.inject(Fault(route="device_state", status=422, code="invalid_request", times=None))
    sandbox.reset_counts()

    with pytest.raises(HomeAssistantError) as err:
        await call(hass, "set_device_state", loaded, state_of_charge=42)

    message = assert_translated(err.value, "state_not_sent")
    assert "422" in message
    assert sandbox.flatpeak.device_state()["submitted"] is False
    assert sandbox.request_counts["schedule_soc"] == 0


async def test_a_refresh_too_soon_from_the_ui_is_no_error(
    hass: HomeAssistant,
    hass_ws_client: Any,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """As the UI calls it, twice in a row: answered, and nothing logged as an error.

    (Real time here: the websocket's login checks its token against the clock.)
    """
    loaded = mock_config_entry
    await setup_entry(hass, loaded)
    await call(hass, "refresh", loaded)
    client = await hass_ws_client(hass)
    caplog.clear()
    await client.send_json_auto_id(
        {
            "type": "call_service",
            "domain": DOMAIN,
            "service": "refresh",
            "service_data": {"config_entry_id": loaded.entry_id},
        }
    )
    answer = await client.receive_json()

    assert answer["success"] is True
    assert [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")] == []


async def test_a_refresh_during_flatpeaks_wait_from_the_ui_is_an_error(
    hass: HomeAssistant,
    hass_ws_client: Any,
    sandbox: Sandbox,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A real refusal stays one: Flatpeak asked to wait, and the message says how long."""
    loaded = mock_config_entry
    await setup_entry(hass, loaded)
    sandbox.inject(Fault(route="schedule_soc", status=429, retry_after=300))
    await device_of(loaded).schedule.async_refresh()
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "call_service",
            "domain": DOMAIN,
            "service": "refresh",
            "service_data": {"config_entry_id": loaded.entry_id},
        }
    )
    answer = await client.receive_json()

    assert answer["success"] is False
    assert answer["error"]["code"] == "service_validation_error"
    assert re.search(r"Try again in \d+ s", answer["error"]["message"])
