"""Flip dispatch against the sandbox: each charging window becomes one Flip event, once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta
import logging
from types import MappingProxyType
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er, issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.flatpeak.api import FlipAction, FlipClient, FlipMode, FlipPowerMode
from custom_components.flatpeak.const import DOMAIN
from custom_components.flatpeak.diagnostics import async_get_config_entry_diagnostics
from custom_components.flatpeak.dispatch.flip.const import SUBENTRY_TYPE
from custom_components.flatpeak.dispatch.flip.listing import SETTLE_TIME
from sandbox import Fault, Sandbox

from .common import device_of, session, setup_entry, state
from .dispatch_common import (
    FLIP_COUNT,
    FLIP_SENSORS,
    FLIP_STATUS,
    HOUR,
    MINUTE,
    NEXT_FLIP_EVENT,
    NOW,
    TARGET,
    Watch,
    advance,
    devices_of,
    dispatch_key,
    flip_counts,
    flip_data,
    flip_subentry,
    live,
    live_keys,
    owners,
    refresh_schedule,
    restart,
    window,
    with_flip,
    z,
)

A = (NOW + HOUR, NOW + 2 * HOUR)
B = (NOW + 3 * HOUR, NOW + 4 * HOUR)
C = (NOW + 5 * HOUR, NOW + 6 * HOUR)


def plan(*slots: tuple[datetime, datetime], power_w: float = 5000) -> list[dict[str, Any]]:
    """One session over the next day, holding the given slots."""
    return [session(NOW, NOW + 24 * HOUR, *slots, power_w=power_w)]


@pytest.fixture
def scheduled(sandbox: Sandbox, freezer: FrozenDateTimeFactory) -> Sandbox:
    """The sandbox at NOW, with windows A, B and C."""
    freezer.move_to(NOW)
    sandbox.set_schedule_override(plan(A, B, C))
    return sandbox


@pytest.fixture
def settings(sandbox: Sandbox, sandbox_url: str) -> dict[str, Any]:
    """The Flip dispatch's subentry data; tests may change it before setup."""
    return flip_data(sandbox, sandbox_url)


@pytest.fixture
def entry(mock_config_entry: MockConfigEntry, settings: dict[str, Any]) -> MockConfigEntry:
    """The sandbox battery's entry, with a Flip dispatch."""
    return with_flip(mock_config_entry, settings)


async def set_up(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await setup_entry(hass, entry)
    await hass.async_block_till_done(wait_background_tasks=True)


async def call(hass: HomeAssistant, service: str, entry: MockConfigEntry, **data: Any) -> Any:
    return await hass.services.async_call(
        DOMAIN,
        service,
        {"config_entry_id": entry.entry_id, **data},
        blocking=True,
        return_response=True,
    )


# Mapping


async def test_each_window_becomes_one_charge_event(
    hass: HomeAssistant, scheduled: Sandbox, entry: MockConfigEntry
) -> None:
    await set_up(hass, entry)

    (first, *_) = live(scheduled)
    assert first["program_id"] == "prg-sandbox-home"
    assert first["target_type"] == "DEVICE"
    assert first["target_ids"] == [TARGET]
    assert first["actions"] == [
        {
            "mode": "CHARGE",
            "starts_at": z(A[0]),
            "duration_s": 3600,
            "power_mode": "SETPOINT",
            "setpoint_w": 5000,
            "setpoint_mode": None,
            "enable_grid_import": True,
            "backup_reserve_percentage": None,
        }
    ]
    assert live_keys(scheduled) == Counter([window(*A), window(*B), window(*C)])
    assert flip_counts(scheduled) == (3, 0, 1)

    assert state(hass, FLIP_STATUS) == "dispatched"
    assert state(hass, FLIP_COUNT) == "3"
    # All is well: no reason or detail to show.
    status = hass.states.get(FLIP_STATUS)
    assert status is not None
    assert "reason" not in status.attributes
    assert "detail" not in status.attributes
    assert state(hass, NEXT_FLIP_EVENT) == A[0].isoformat()
    next_event = hass.states.get(NEXT_FLIP_EVENT)
    assert next_event is not None
    assert next_event.attributes["event_id"] == first["id"]
    assert next_event.attributes["setpoint_w"] == 5000


@pytest.mark.parametrize("settings_changes", [{"backup_reserve": 20}])
async def test_the_backup_reserve_is_sent_when_configured(
    hass: HomeAssistant,
    scheduled: Sandbox,
    mock_config_entry: MockConfigEntry,
    sandbox_url: str,
    settings_changes: dict[str, Any],
) -> None:
    entry = with_flip(mock_config_entry, flip_data(scheduled, sandbox_url, **settings_changes))
    await set_up(hass, entry)

    assert {event["actions"][0]["backup_reserve_percentage"] for event in live(scheduled)} == {20}
    assert window(*A, reserve=20) in live_keys(scheduled)


async def test_short_soon_and_powerless_windows_are_skipped_and_reported(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    freezer.move_to(NOW)
    soon = (NOW + 5 * MINUTE, NOW + 45 * MINUTE)
    short = (NOW + HOUR, NOW + HOUR + 10 * MINUTE)
    powerless = (NOW + 2 * HOUR, NOW + 3 * HOUR)
    good = (NOW + 4 * HOUR, NOW + 5 * HOUR)
    sandbox.set_schedule_override(
        [
            session(NOW, NOW + 90 * MINUTE, soon, short),
            session(NOW + 2 * HOUR, NOW + 3 * HOUR, powerless, power_w=0),
            session(NOW + 4 * HOUR, NOW + 5 * HOUR, good),
        ]
    )
    await set_up(hass, entry)

    assert live_keys(sandbox) == Counter([window(*good)])
    status = hass.states.get(FLIP_STATUS)
    assert status is not None
    assert status.state == "dispatched"
    assert status.attributes["skipped"] == [
        {"start": soon[0].isoformat(), "end": soon[1].isoformat(), "reason": "too_soon"},
        {"start": short[0].isoformat(), "end": short[1].isoformat(), "reason": "too_short"},
        {"start": powerless[0].isoformat(), "end": powerless[1].isoformat(), "reason": "no_power"},
    ]
    assert "Not dispatching the window from 2026-03-28T12:05:00+00:00" in caplog.text
    # Reported once, not at every refresh.
    await refresh_schedule(hass, entry)
    assert caplog.text.count("Not dispatching the window from 2026-03-28T12:05:00") == 1


# Devices


async def test_the_dispatch_has_a_device_of_its_own_in_its_subentry(
    hass: HomeAssistant, scheduled: Sandbox, entry: MockConfigEntry
) -> None:
    await set_up(hass, entry)

    subentry_id = flip_subentry(entry).subentry_id
    devices = devices_of(hass, entry)
    battery = devices[scheduled.device_id]
    flip = devices[f"{scheduled.device_id}_flip_dispatch"]
    assert owners(battery, entry) == {device_of(entry).subentry_id}
    assert owners(flip, entry) == {subentry_id}
    assert flip.via_device_id == battery.id
    assert flip.entry_type is dr.DeviceEntryType.SERVICE
    entities = er.async_get(hass)
    for entity_id in (FLIP_STATUS, FLIP_COUNT, NEXT_FLIP_EVENT):
        registered = entities.async_get(entity_id)
        assert registered is not None
        assert registered.device_id == flip.id
        assert registered.config_subentry_id == subentry_id


async def test_a_new_schedule_moves_withdraws_and_adds_events(
    hass: HomeAssistant, scheduled: Sandbox, entry: MockConfigEntry
) -> None:
    await set_up(hass, entry)
    kept = {event["id"] for event in live(scheduled) if event["starts_at"] == z(A[0])}

    moved = (B[0] + 30 * MINUTE, B[1] + 30 * MINUTE)
    added = (NOW + 8 * HOUR, NOW + 9 * HOUR)
    scheduled.set_schedule_override(plan(A, moved, added))
    await refresh_schedule(hass, entry)

    assert live_keys(scheduled) == Counter([window(*A), window(*moved), window(*added)])
    assert kept <= {event["id"] for event in live(scheduled)}
    cancelled = [event["starts_at"] for event in scheduled.flip_events if event["cancelled"]]
    assert sorted(cancelled) == [z(B[0]), z(C[0])]
    assert flip_counts(scheduled) == (5, 2, 1)

    # The same windows again: nothing to say to Flip.
    await refresh_schedule(hass, entry)
    assert flip_counts(scheduled) == (5, 2, 1)
    assert state(hass, FLIP_COUNT) == "3"


async def test_a_change_of_power_is_a_new_event(
    hass: HomeAssistant, scheduled: Sandbox, entry: MockConfigEntry
) -> None:
    await set_up(hass, entry)

    scheduled.set_schedule_override(plan(A, B, C, power_w=3300.4))
    await refresh_schedule(hass, entry)

    assert live_keys(scheduled) == Counter(
        [window(*A, power_w=3300), window(*B, power_w=3300), window(*C, power_w=3300)]
    )
    assert flip_counts(scheduled) == (6, 3, 1)


async def test_a_running_event_is_kept_unless_its_window_is_withdrawn(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    scheduled: Sandbox,
    entry: MockConfigEntry,
) -> None:
    scheduled.set_schedule_override(plan(A))
    await set_up(hass, entry)
    (running,) = live(scheduled)

    # Inside the window, Flatpeak plans from now: the window seems to move.
    freezer.move_to(A[0] + 20 * MINUTE)
    replanned = (A[0] + 20 * MINUTE, A[1] + 20 * MINUTE)
    scheduled.set_schedule_override(plan(replanned))
    await refresh_schedule(hass, entry)
    assert [event["id"] for event in live(scheduled)] == [running["id"]]
    assert state(hass, FLIP_COUNT) == "1"
    assert state(hass, NEXT_FLIP_EVENT) == "unknown"

    # The window is withdrawn: the running event is cancelled.
    later = (NOW + 6 * HOUR, NOW + 7 * HOUR)
    scheduled.set_schedule_override(plan(later))
    await refresh_schedule(hass, entry)
    assert live_keys(scheduled) == Counter([window(*later)])
    assert [e["id"] for e in scheduled.flip_events if e["cancelled"]] == [running["id"]]


async def test_ended_events_are_forgotten_without_a_request(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    scheduled: Sandbox,
    entry: MockConfigEntry,
) -> None:
    scheduled.set_schedule_override(plan(A))
    await set_up(hass, entry)
    before = flip_counts(scheduled)

    await advance(hass, freezer, A[1] - NOW + MINUTE, timedelta(minutes=10))

    assert state(hass, FLIP_COUNT) == "0"
    assert state(hass, FLIP_STATUS) == "idle"
    assert flip_counts(scheduled) == before
    assert device_of(entry).dispatch.target is not None
    assert device_of(entry).dispatch.target.upcoming(A[1]) == []


# Exactly once


async def test_a_restart_sends_nothing_twice(
    hass: HomeAssistant, scheduled: Sandbox, entry: MockConfigEntry
) -> None:
    await set_up(hass, entry)
    await restart(hass, entry)

    assert live_keys(scheduled) == Counter([window(*A), window(*B), window(*C)])
    # One listing at each start, and nothing else.
    assert flip_counts(scheduled) == (3, 0, 2)
    assert state(hass, FLIP_COUNT) == "3"


@pytest.mark.parametrize("window_kept", [True, False])
async def test_a_crash_between_create_and_save(
    hass: HomeAssistant,
    scheduled: Sandbox,
    entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    window_kept: bool,
) -> None:
    """Home Assistant stops right after Flip answered a create, before it was saved."""
    scheduled.set_schedule_override(plan(A))
    await set_up(hass, entry)
    original = FlipClient.create_event

    async def create_then_stop(client: FlipClient, **kwargs: Any) -> Any:
        await original(client, **kwargs)
        # Flip has the event; the reconciliation is cancelled by the unload
        # before it can save the event's ID.
        hass.async_create_task(hass.config_entries.async_unload(entry.entry_id))
        await asyncio.Event().wait()

    scheduled.set_schedule_override(plan(A, B))
    with patch.object(FlipClient, "create_event", create_then_stop):
        await refresh_schedule(hass, entry)
    stored = hass_storage[dispatch_key(entry)]["data"]
    assert len(stored["events"]) == 1
    assert [intent["key"]["starts_at"] for intent in stored["intents"]] == [z(B[0])]
    assert live_keys(scheduled) == Counter([window(*A), window(*B)])

    if not window_kept:
        scheduled.set_schedule_override(plan(A))
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    if window_kept:
        # Adopted, not created again.
        assert live_keys(scheduled) == Counter([window(*A), window(*B)])
        assert flip_counts(scheduled) == (2, 0, 2)
        assert state(hass, FLIP_COUNT) == "2"
    else:
        # Ours by its intent, and no longer wanted: cancelled.
        assert live_keys(scheduled) == Counter([window(*A)])
        assert flip_counts(scheduled) == (2, 1, 2)
    stored = hass_storage[dispatch_key(entry)]["data"]
    assert stored["intents"] == []


async def test_a_lost_answer_is_recovered_by_listing(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    scheduled: Sandbox,
    entry: MockConfigEntry,
) -> None:
    scheduled.set_schedule_override(plan(A))
    await set_up(hass, entry)
    # Flip creates the event, but its answer cannot be read.
    scheduled.inject(Fault(route="flip_event_create", kind="malformed_json"))
    scheduled.set_schedule_override(plan(A, B))
    await refresh_schedule(hass, entry)
    assert state(hass, FLIP_STATUS) == "error"
    assert hass.states.get(FLIP_STATUS).attributes["reason"] == "invalid_response"  # type: ignore[union-attr]

    # The retry, a minute later, sends nothing again: B is in flight.
    await advance(hass, freezer, MINUTE, MINUTE)
    assert flip_counts(scheduled) == (2, 0, 1)
    assert state(hass, FLIP_STATUS) == "dispatched"

    # Once Flip's list must show the event, Flip is listed and the event adopted.
    await advance(hass, freezer, SETTLE_TIME - MINUTE, MINUTE)

    assert live_keys(scheduled) == Counter([window(*A), window(*B)])
    assert flip_counts(scheduled) == (2, 0, 2)
    assert state(hass, FLIP_COUNT) == "2"


async def test_events_the_integration_did_not_create_are_never_cancelled(
    hass: HomeAssistant, scheduled: Sandbox, entry: MockConfigEntry, sandbox_url: str
) -> None:
    flip = FlipClient(async_get_clientsession(hass), scheduled.flip_api_key, base_url=sandbox_url)
    program = scheduled.flip_program_id

    async def create(target: str, action: FlipAction) -> str:
        event = await flip.create_event(
            program_id=program, target_type="DEVICE", target_ids=[target], actions=[action]
        )
        return event.id

    def charge(start: datetime, end: datetime, power: int = 5000) -> FlipAction:
        return FlipAction(
            mode=FlipMode.CHARGE,
            starts_at=start,
            duration_s=int((end - start).total_seconds()),
            power_mode=FlipPowerMode.SETPOINT,
            setpoint_w=power,
            enable_grid_import=True,
        )

    others = {
        await create("dev-neighbour", charge(*A)),  # another target
        await create(TARGET, FlipAction(mode="DISCHARGE", starts_at=C[1], duration_s=1800)),
        await create(TARGET, charge(NOW + 9 * HOUR, NOW + 10 * HOUR)),  # no window of ours
    }
    twin = await create(TARGET, charge(*B))  # exactly what window B calls for
    scheduled.reset_counts()

    await set_up(hass, entry)
    # B's twin is adopted instead of creating a duplicate.
    assert live_keys(scheduled)[window(*B)] == 1
    assert flip_counts(scheduled) == (2, 0, 1)

    scheduled.set_schedule_override(plan(A))
    await refresh_schedule(hass, entry)

    live_ids = {event["id"] for event in live(scheduled)}
    assert others <= live_ids
    assert twin not in live_ids
    assert flip_counts(scheduled) == (2, 2, 1)


# Automatic dispatch off, and the actions


@pytest.mark.parametrize("settings_changes", [{"auto_dispatch": False}])
async def test_without_automatic_dispatch_only_the_action_sends_windows(
    hass: HomeAssistant,
    scheduled: Sandbox,
    mock_config_entry: MockConfigEntry,
    sandbox_url: str,
    settings_changes: dict[str, Any],
) -> None:
    entry = with_flip(mock_config_entry, flip_data(scheduled, sandbox_url, **settings_changes))
    await set_up(hass, entry)
    assert live(scheduled) == []
    assert state(hass, FLIP_STATUS) == "idle"

    sent = await call(hass, "dispatch_window", entry)
    assert datetime.fromisoformat(sent["starts_at"]) == A[0]
    again = await call(hass, "dispatch_window", entry, window_start=A[0].isoformat())
    assert again["event_id"] == sent["event_id"]
    assert live_keys(scheduled) == Counter([window(*A)])
    assert state(hass, FLIP_STATUS) == "dispatched"

    # Still not sent automatically; withdrawn windows are still cancelled.
    scheduled.set_schedule_override(plan(B, C))
    await refresh_schedule(hass, entry)
    assert live(scheduled) == []
    assert flip_counts(scheduled) == (1, 1, 1)


async def test_the_actions_dispatch_and_cancel(
    hass: HomeAssistant, scheduled: Sandbox, entry: MockConfigEntry
) -> None:
    await set_up(hass, entry)
    by_start = {event["starts_at"]: event["id"] for event in live(scheduled)}

    # A cancelled window is not sent again when the schedule still has it.
    result = await call(hass, "cancel_dispatch", entry, event_id=by_start[z(A[0])])
    assert result == {"cancelled": [by_start[z(A[0])]]}
    await refresh_schedule(hass, entry)
    assert window(*A) not in live_keys(scheduled)
    skipped = hass.states.get(FLIP_STATUS).attributes["skipped"]  # type: ignore[union-attr]
    assert {"start": A[0].isoformat(), "end": A[1].isoformat(), "reason": "cancelled"} in skipped

    # ... unless the action sends it.
    sent = await call(hass, "dispatch_window", entry, window_start=A[0] + 10 * MINUTE)
    assert datetime.fromisoformat(sent["starts_at"]) == A[0]
    assert live_keys(scheduled)[window(*A)] == 1

    # An explicit action, left alone by the reconciliation.
    action = await call(
        hass,
        "dispatch_window",
        entry,
        mode="discharge",
        starts_at=(NOW + 10 * HOUR).isoformat(),
        duration_s=1800,
        power_mode="setpoint",
        setpoint_w=2500,
        backup_reserve_percentage=30,
    )
    assert action["mode"] == "DISCHARGE"
    scheduled.set_schedule_override(plan(B))
    await refresh_schedule(hass, entry)
    assert {event["id"] for event in live(scheduled)} == {by_start[z(B[0])], action["event_id"]}

    # Cancel everything not yet ended.
    result = await call(hass, "cancel_dispatch", entry)
    assert sorted(result["cancelled"]) == sorted([by_start[z(B[0])], action["event_id"]])
    assert live(scheduled) == []
    assert state(hass, FLIP_STATUS) == "idle"

    with pytest.raises(ServiceValidationError) as caught:
        await call(hass, "cancel_dispatch", entry, event_id=by_start[z(C[0])])
    assert caught.value.translation_key == "flip_event_not_dispatched"


async def test_the_actions_explain_what_is_missing(
    hass: HomeAssistant,
    scheduled: Sandbox,
    entry: MockConfigEntry,
    mock_config_entry: MockConfigEntry,
) -> None:
    await set_up(hass, entry)

    cases: list[tuple[dict[str, Any], str]] = [
        ({"window_start": (NOW + 30 * HOUR).isoformat()}, "flip_window_not_found"),
        ({"setpoint_w": 100}, "flip_action_incomplete"),
        ({"mode": "charge", "duration_s": 60}, "flip_action_incomplete"),
        (
            {
                "mode": "charge",
                "starts_at": A[0].isoformat(),
                "duration_s": 60,
                "window_start": A[0],
            },
            "flip_window_or_action",
        ),
    ]
    for data, key in cases:
        with pytest.raises(ServiceValidationError) as caught:
            await call(hass, "dispatch_window", entry, **data)
        assert caught.value.translation_key == key, data

    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            DOMAIN,
            "cancel_dispatch",
            {"config_entry_id": "nope"},
            blocking=True,
            return_response=True,
        )
    assert caught.value.translation_key == "entry_not_found"


async def test_an_entry_without_flip_says_so(
    hass: HomeAssistant, scheduled: Sandbox, mock_config_entry: MockConfigEntry
) -> None:
    await set_up(hass, mock_config_entry)
    assert hass.states.get(FLIP_STATUS) is None

    with pytest.raises(ServiceValidationError) as caught:
        await call(hass, "dispatch_window", mock_config_entry)
    assert caught.value.translation_key == "flip_not_configured"
    assert live(scheduled) == []


# Flip's refusals, readable


REFUSED = [
    ({"setpoint_w": -5}, "actions[0].setpoint_w: Input should be greater than or equal to 0"),
    (
        {"mode": "fly"},
        "actions[0].mode: Input should be 'CHARGE', 'DISCHARGE', 'STANDBY', 'BACKUP', "
        "'SELF_CONSUMPTION' or 'SAVINGS'",
    ),
    (
        {"power_mode": "turbo"},
        "actions[0].power_mode: Input should be 'SETPOINT' or 'FOLLOW_LOAD'",
    ),
    (
        {"starts_at": (NOW - HOUR).isoformat()},
        "actions[0].starts_at: Value error, starts_at must not be more than 5 minutes in the past",
    ),
    ({"duration_s": 0}, "actions[0].duration_s: Input should be greater than 0"),
    ({"duration_s": 100_000}, "actions[0].duration_s: Input should be less than or equal to 86400"),
    (
        {"backup_reserve_percentage": 150},
        "actions[0].backup_reserve_percentage: Input should be less than or equal to 100",
    ),
    (
        {"setpoint_w": None},
        "actions[0].setpoint_w: Value error, setpoint_w is required when power_mode is SETPOINT",
    ),
]


@pytest.mark.parametrize(("change", "message"), REFUSED)
async def test_flip_refusing_an_action_names_the_field_and_why(
    hass: HomeAssistant,
    scheduled: Sandbox,
    entry: MockConfigEntry,
    change: dict[str, Any],
    message: str,
) -> None:
    await set_up(hass, entry)
    action: dict[str, Any] = {
        "mode": "charge",
        "starts_at": (NOW + 10 * HOUR).isoformat(),
        "duration_s": 1800,
        "power_mode": "setpoint",
        "setpoint_w": 2000,
    }
    action.update(change)
    action = {name: value for name, value in action.items() if value is not None}

    with pytest.raises(ServiceValidationError) as caught:
        await call(hass, "dispatch_window", entry, **action)

    assert caught.value.translation_key == "flip_rejected"
    assert caught.value.translation_placeholders == {"detail": message}
    # Home Assistant drops the final full stop of a translated message.
    assert str(caught.value) == f"Flip refused the event: {message}"


@pytest.mark.parametrize("settings_changes", [{"program_id": "prg-unknown"}])
async def test_flip_refusing_automatic_events_shows_in_the_status(
    hass: HomeAssistant,
    scheduled: Sandbox,
    mock_config_entry: MockConfigEntry,
    sandbox_url: str,
    settings_changes: dict[str, Any],
) -> None:
    entry = with_flip(mock_config_entry, flip_data(scheduled, sandbox_url, **settings_changes))
    await set_up(hass, entry)

    status = hass.states.get(FLIP_STATUS)
    assert status is not None
    assert status.state == "error"
    assert status.attributes["reason"] == "rejected"
    assert (
        status.attributes["detail"] == "program_id: Value error, unknown program_id 'prg-unknown'"
    )
    # Refused for good: not sent again at the next refresh.
    await refresh_schedule(hass, entry)
    assert flip_counts(scheduled) == (3, 0, 1)


async def test_a_window_flip_refuses_is_reported_and_the_others_are_sent(
    hass: HomeAssistant, scheduled: Sandbox, entry: MockConfigEntry
) -> None:
    day_long = (NOW + 2 * HOUR, NOW + 27 * HOUR)
    scheduled.set_schedule_override(
        [session(NOW, NOW + 6 * HOUR, A), session(NOW + 2 * HOUR, NOW + 30 * HOUR, day_long)]
    )
    await set_up(hass, entry)

    assert live_keys(scheduled) == Counter([window(*A)])
    status = hass.states.get(FLIP_STATUS)
    assert status is not None
    assert status.state == "error"
    assert status.attributes["detail"] == (
        "actions[0].duration_s: Input should be less than or equal to 86400"
    )
    # Once the window is gone, so is the error.
    scheduled.set_schedule_override(plan(A))
    await refresh_schedule(hass, entry)
    assert state(hass, FLIP_STATUS) == "dispatched"


# Failures, back-off and the repair


def issues(hass: HomeAssistant) -> set[str]:
    return {
        issue.translation_key or ""
        for (domain, _), issue in ir.async_get(hass).issues.items()
        if domain == DOMAIN
    }


async def test_a_refused_key_raises_a_repair_that_clears_itself(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    scheduled: Sandbox,
    entry: MockConfigEntry,
) -> None:
    await set_up(hass, entry)
    scheduled.revoke_key(scheduled.flip_api_key)
    late = (NOW + 7 * HOUR, NOW + 8 * HOUR)
    scheduled.set_schedule_override(plan(A, B, late))
    await refresh_schedule(hass, entry)
    assert state(hass, FLIP_STATUS) == "error"
    assert hass.states.get(FLIP_STATUS).attributes["reason"] == "invalid_auth"  # type: ignore[union-attr]
    assert "flip_invalid_auth" not in issues(hass)

    # Retried after 1, then 2 minutes: refused three times in a row.
    await advance(hass, freezer, 3 * MINUTE, MINUTE)
    assert "flip_invalid_auth" in issues(hass)
    with pytest.raises(HomeAssistantError) as caught:
        await call(hass, "dispatch_window", entry, window_start=late[0])
    assert caught.value.translation_key == "flip_invalid_auth"
    assert scheduled.flip_api_key not in str(caught.value)

    scheduled.add_key(scheduled.flip_api_key)
    await advance(hass, freezer, 4 * MINUTE, MINUTE)
    assert "flip_invalid_auth" not in issues(hass)
    assert state(hass, FLIP_STATUS) == "dispatched"
    assert live_keys(scheduled) == Counter([window(*A), window(*B), window(*late)])


async def test_flip_down_backs_off_then_catches_up(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    scheduled: Sandbox,
    entry: MockConfigEntry,
) -> None:
    await set_up(hass, entry)
    scheduled.inject(Fault(route="flip:*", status=503, times=None))
    scheduled.set_schedule_override(plan(A, C))
    scheduled.reset_counts()
    await refresh_schedule(hass, entry)
    assert hass.states.get(FLIP_STATUS).attributes["reason"] == "api_error"  # type: ignore[union-attr]

    # 1, 2, 4, 8, 16, 30 minutes apart, whatever the schedule does meanwhile:
    # six attempts in an hour.
    await advance(hass, freezer, HOUR, MINUTE)
    assert sum(flip_counts(scheduled)) == 6

    scheduled.clear_faults()
    await advance(hass, freezer, 31 * MINUTE, MINUTE)
    assert live_keys(scheduled) == Counter([window(*A), window(*C)])
    assert state(hass, FLIP_STATUS) == "dispatched"


# Removal, diagnostics, secrets


async def test_removing_the_dispatch_withdraws_its_events_and_entities(
    hass: HomeAssistant,
    scheduled: Sandbox,
    entry: MockConfigEntry,
    settings: dict[str, Any],
    hass_storage: dict[str, Any],
) -> None:
    await set_up(hass, entry)
    registry = er.async_get(hass)
    assert registry.async_get(FLIP_STATUS) is not None
    subentry_id = flip_subentry(entry).subentry_id
    watch = Watch(hass, entry)

    assert hass.config_entries.async_remove_subentry(entry, subentry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert live(scheduled) == []
    for entity_id in FLIP_SENSORS:
        assert registry.async_get(entity_id) is None
        assert hass.states.get(entity_id) is None
    assert set(devices_of(hass, entry)) == {scheduled.device_id}
    assert dispatch_key(entry) not in hass_storage
    assert device_of(entry).dispatch.target is None
    # The rest of the entry ran on.
    watch.assert_untouched()

    # Added again: a new subentry, its device and entities, its events.
    new = ConfigSubentry(
        data=MappingProxyType(settings),
        subentry_type=SUBENTRY_TYPE,
        title="Flip again",
        unique_id=None,
    )
    assert hass.config_entries.async_add_subentry(entry, new)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert live_keys(scheduled) == Counter([window(*A), window(*B), window(*C)])
    assert state(hass, FLIP_COUNT) == "3"
    flip = devices_of(hass, entry)[f"{scheduled.device_id}_flip_dispatch"]
    assert owners(flip, entry) == {new.subentry_id}
    watch.assert_untouched()


async def test_a_change_during_a_create_sends_the_event_once(
    hass: HomeAssistant,
    scheduled: Sandbox,
    entry: MockConfigEntry,
    settings: dict[str, Any],
    hass_storage: dict[str, Any],
) -> None:
    """The dispatch is changed after Flip created an event and before its answer came back."""
    scheduled.set_schedule_override(plan(A))
    await set_up(hass, entry)
    original = FlipClient.create_event
    created = asyncio.Event()

    async def create_then_hang(client: FlipClient, **kwargs: Any) -> Any:
        await original(client, **kwargs)
        created.set()
        await asyncio.Event().wait()

    scheduled.set_schedule_override(plan(A, B))
    with patch.object(FlipClient, "create_event", create_then_hang):
        await device_of(entry).schedule.async_refresh()
        await created.wait()
    stored = hass_storage[dispatch_key(entry)]["data"]
    assert [intent["key"]["starts_at"] for intent in stored["intents"]] == [z(B[0])]

    # A setting that leaves the events as they are.
    subentry = flip_subentry(entry)
    hass.config_entries.async_update_subentry(entry, subentry, data=settings | {"min_duration": 30})
    await hass.async_block_till_done(wait_background_tasks=True)

    # The new dispatcher listed Flip once and adopted the event by its intent.
    assert live_keys(scheduled) == Counter([window(*A), window(*B)])
    assert flip_counts(scheduled) == (2, 0, 2)
    assert state(hass, FLIP_COUNT) == "2"
    stored = hass_storage[dispatch_key(entry)]["data"]
    assert stored["intents"] == []
    assert len(stored["events"]) == 2


async def test_a_dispatch_that_cannot_start_shows_as_unavailable(
    hass: HomeAssistant,
    scheduled: Sandbox,
    entry: MockConfigEntry,
    settings: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Settings edited by hand, which the flow would refuse."""
    await set_up(hass, entry)
    watch = Watch(hass, entry)
    subentry = flip_subentry(entry)

    hass.config_entries.async_update_subentry(
        entry, subentry, data=settings | {"url": "ftp://flip.example.com"}
    )
    await hass.async_block_till_done(wait_background_tasks=True)

    assert f"The Flip dispatch {subentry.title} cannot start" in caplog.text
    assert device_of(entry).dispatch.target is None
    for entity_id in FLIP_SENSORS:
        assert state(hass, entity_id) == "unavailable"

    # Put right, it starts again and sends nothing twice.
    hass.config_entries.async_update_subentry(entry, subentry, data=settings)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert state(hass, FLIP_STATUS) == "dispatched"
    assert live_keys(scheduled) == Counter([window(*A), window(*B), window(*C)])
    watch.assert_untouched()


async def test_removing_the_entry_withdraws_its_events(
    hass: HomeAssistant,
    scheduled: Sandbox,
    entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    await set_up(hass, entry)

    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert live(scheduled) == []
    assert dispatch_key(entry) not in hass_storage


async def test_diagnostics_show_the_dispatch_without_the_key(
    hass: HomeAssistant, scheduled: Sandbox, entry: MockConfigEntry
) -> None:
    await set_up(hass, entry)

    diagnostics = await async_get_config_entry_diagnostics(hass, entry)

    dispatch = diagnostics["devices"][0]["dispatch"]
    assert dispatch["settings"]["api_key"] == "**REDACTED**"
    assert dispatch["status"] == "dispatched"
    assert len(dispatch["events"]) == 3
    assert scheduled.flip_api_key not in repr(diagnostics)


async def test_no_flip_key_reaches_a_log_line(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    scheduled: Sandbox,
    entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await set_up(hass, entry)
    scheduled.inject(Fault(route="flip_event_create", status=503))
    scheduled.inject(Fault(route="flip_event_list", kind="malformed_json"))
    scheduled.set_schedule_override(plan(A, B, C, (NOW + 7 * HOUR, NOW + 8 * HOUR)))
    await refresh_schedule(hass, entry)
    scheduled.revoke_key(scheduled.flip_api_key)
    await advance(hass, freezer, 4 * MINUTE, MINUTE)

    assert "Flip" in caplog.text
    assert scheduled.flip_api_key not in caplog.text
