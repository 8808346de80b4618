"""Flip's event list lags behind its creates: each window still ends up as one event.

The sandbox leaves events created less than LAG ago out of `GET /v1/events`,
as a list served by a lagging replica does. A listing is conclusive about an
event only after the settle time, which is longer than LAG here.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.flatpeak.api import (
    CommunicationError,
    FlipAction,
    FlipClient,
    FlipMode,
    FlipPowerMode,
)
from custom_components.flatpeak.dispatch.flip.listing import SETTLE_TIME
from sandbox import Fault, Sandbox

from .common import at, device_of, setup_entry, state
from .dispatch_common import (
    FLIP_COUNT,
    FLIP_STATUS,
    HOUR,
    MINUTE,
    NOW,
    TARGET,
    day_plan,
    dispatch_key,
    flip_counts,
    flip_data,
    live,
    live_keys,
    restart,
    stored_dispatch,
    window,
    with_flip,
    z,
)

A = (NOW + HOUR, NOW + 2 * HOUR)
LAG = 4 * MINUTE


@pytest.fixture
def lagging(sandbox: Sandbox, freezer: FrozenDateTimeFactory) -> Sandbox:
    """The sandbox at NOW, with window A, and a list that lags LAG behind creates."""
    freezer.move_to(NOW)
    sandbox.set_schedule_override(day_plan(A))
    sandbox.flip.list_lag_s = LAG.total_seconds()
    return sandbox


@pytest.fixture
def entry(
    mock_config_entry: MockConfigEntry, sandbox: Sandbox, sandbox_url: str
) -> MockConfigEntry:
    """The sandbox battery's entry, with a Flip dispatch."""
    return with_flip(mock_config_entry, flip_data(sandbox, sandbox_url))


async def set_up(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await setup_entry(hass, entry)
    await hass.async_block_till_done(wait_background_tasks=True)


async def until(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, sandbox: Sandbox, end: datetime
) -> None:
    """Let time pass minute by minute; Flip never holds two live events for one window."""
    while datetime.now(UTC) < end:
        await at(hass, freezer, datetime.now(UTC) + MINUTE)
        assert max(live_keys(sandbox).values(), default=0) <= 1, live_keys(sandbox)


async def create_twin(hass: HomeAssistant, sandbox: Sandbox, url: str) -> str:
    """Create, in Flip, exactly the event window A calls for; return its ID."""
    flip = FlipClient(async_get_clientsession(hass), sandbox.flip_api_key, base_url=url)
    event = await flip.create_event(
        program_id=sandbox.flip_program_id,
        target_type="DEVICE",
        target_ids=[TARGET],
        actions=[
            FlipAction(
                mode=FlipMode.CHARGE,
                starts_at=A[0],
                duration_s=int((A[1] - A[0]).total_seconds()),
                power_mode=FlipPowerMode.SETPOINT,
                setpoint_w=5000,
                enable_grid_import=True,
            )
        ],
    )
    return event.id


def live_ids(sandbox: Sandbox) -> set[str]:
    return {event["id"] for event in live(sandbox)}


@pytest.mark.parametrize("lost", ["unreadable", "timeout"])
async def test_a_lost_create_answer_is_not_sent_again_while_the_list_lags(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    lagging: Sandbox,
    entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    lost: str,
) -> None:
    original = FlipClient.create_event

    async def create_then_time_out(client: FlipClient, **kwargs: Any) -> Any:
        await original(client, **kwargs)
        raise CommunicationError("Flip did not answer POST /v1/events in time", service="Flip")

    # Flip creates the event, but its answer cannot be read, or does not come in time.
    if lost == "unreadable":
        lagging.inject(Fault(route="flip_event_create", kind="malformed_json"))
        await set_up(hass, entry)
    else:
        with patch.object(FlipClient, "create_event", create_then_time_out):
            await set_up(hass, entry)
    assert flip_counts(lagging) == (1, 0, 1)
    assert state(hass, FLIP_STATUS) == "error"
    assert len(stored_dispatch(hass_storage, entry)["intents"]) == 1

    # The retry a minute later sends nothing and lists nothing: A is in flight.
    await until(hass, freezer, lagging, NOW + MINUTE)
    assert flip_counts(lagging) == (1, 0, 1)
    assert state(hass, FLIP_STATUS) == "idle"

    # Once Flip must list the event, it is listed, and the event adopted.
    await until(hass, freezer, lagging, NOW + SETTLE_TIME)
    assert flip_counts(lagging) == (1, 0, 2)
    assert state(hass, FLIP_COUNT) == "1"
    assert stored_dispatch(hass_storage, entry)["intents"] == []

    await until(hass, freezer, lagging, A[0])
    assert live_keys(lagging) == Counter([window(*A)])
    assert flip_counts(lagging) == (1, 0, 2)
    assert state(hass, FLIP_STATUS) == "dispatched"


async def test_a_restart_within_the_lag_creates_nothing_again(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    lagging: Sandbox,
    entry: MockConfigEntry,
) -> None:
    await set_up(hass, entry)
    (created,) = live_ids(lagging)
    await at(hass, freezer, NOW + MINUTE)

    await restart(hass, entry)

    # Flip does not list the event yet; it is kept, and not created again.
    assert flip_counts(lagging) == (1, 0, 2)
    assert state(hass, FLIP_COUNT) == "1"
    await until(hass, freezer, lagging, A[0])
    assert live_ids(lagging) == {created}
    # Listed once more when Flip had to show it, and found.
    assert flip_counts(lagging) == (1, 0, 3)
    assert state(hass, FLIP_COUNT) == "1"


async def test_an_event_flip_no_longer_has_is_created_again_after_the_settle_time(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    lagging: Sandbox,
    entry: MockConfigEntry,
    sandbox_url: str,
) -> None:
    await set_up(hass, entry)
    (created,) = live_ids(lagging)
    # Someone else cancels it in Flip.
    flip = FlipClient(async_get_clientsession(hass), lagging.flip_api_key, base_url=sandbox_url)
    await flip.cancel_event(created)
    await at(hass, freezer, NOW + MINUTE)
    await restart(hass, entry)
    assert flip_counts(lagging)[0] == 1

    await until(hass, freezer, lagging, NOW + SETTLE_TIME)

    # Not listed once it had to be: forgotten, and window A dispatched again.
    (again,) = live_ids(lagging)
    assert again != created
    assert flip_counts(lagging) == (2, 1, 3)
    await until(hass, freezer, lagging, A[0])
    assert live_keys(lagging) == Counter([window(*A)])


async def test_a_twin_of_a_stored_event_is_cancelled_once_listed(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    lagging: Sandbox,
    entry: MockConfigEntry,
    sandbox_url: str,
) -> None:
    await set_up(hass, entry)
    (ours,) = live_ids(lagging)
    twin = await create_twin(hass, lagging, sandbox_url)
    await at(hass, freezer, NOW + MINUTE)
    # Neither is listed at the restart: nothing is done to either.
    await restart(hass, entry)
    assert live_ids(lagging) == {ours, twin}

    # Listed together once Flip must show ours: the twin is cancelled.
    await at(hass, freezer, NOW + SETTLE_TIME)

    assert live_ids(lagging) == {ours}
    assert flip_counts(lagging) == (2, 1, 3)
    assert state(hass, FLIP_COUNT) == "1"


async def test_a_twin_of_an_intended_event_is_cancelled_and_one_is_adopted(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    lagging: Sandbox,
    entry: MockConfigEntry,
    sandbox_url: str,
) -> None:
    lagging.inject(Fault(route="flip_event_create", kind="malformed_json"))
    await set_up(hass, entry)
    (sent,) = live_ids(lagging)
    twin = await create_twin(hass, lagging, sandbox_url)

    # Listed together once Flip must show the one sent: it is adopted, the twin cancelled.
    await at(hass, freezer, NOW + SETTLE_TIME)

    assert live_ids(lagging) == {sent}
    assert [e["id"] for e in lagging.flip_events if e["cancelled"]] == [twin]
    assert state(hass, FLIP_COUNT) == "1"


@pytest.mark.parametrize(
    "fault",
    [
        Fault(route="flip_event_create", status=503),
        Fault(route="flip_event_create", kind="disconnect"),
    ],
    ids=["5xx", "disconnect"],
)
async def test_a_create_that_did_not_happen_is_sent_again_after_the_settle_time(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    lagging: Sandbox,
    entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    fault: Fault,
) -> None:
    lagging.inject(fault)
    await set_up(hass, entry)
    assert live(lagging) == []
    assert len(stored_dispatch(hass_storage, entry)["intents"]) == 1

    await until(hass, freezer, lagging, NOW + SETTLE_TIME - MINUTE)
    assert flip_counts(lagging) == (1, 0, 1)

    await until(hass, freezer, lagging, NOW + SETTLE_TIME)
    assert flip_counts(lagging) == (2, 0, 2)
    assert live_keys(lagging) == Counter([window(*A)])
    assert stored_dispatch(hass_storage, entry)["intents"] == []

    await until(hass, freezer, lagging, A[0])
    assert live_keys(lagging) == Counter([window(*A)])
    assert state(hass, FLIP_COUNT) == "1"


async def test_a_window_sent_at_the_lead_time_is_sent_again_before_it_starts(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    lagging: Sandbox,
    entry: MockConfigEntry,
) -> None:
    """The lead time (10 minutes) was met when it was first sent: it is not applied again."""
    await set_up(hass, entry)
    late = (NOW + 15 * MINUTE, NOW + 45 * MINUTE)
    lagging.set_schedule_override(day_plan(late, A))
    await at(hass, freezer, NOW + 5 * MINUTE)
    lagging.inject(Fault(route="flip_event_create", status=503))

    await device_of(entry).schedule.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert window(*late) not in live_keys(lagging)

    # Five minutes before it starts, Flip shows it did not create it.
    await until(hass, freezer, lagging, late[0])
    assert live_keys(lagging) == Counter([window(*A), window(*late)])
    (resent,) = (e for e in live(lagging) if e["starts_at"] == z(late[0]))
    assert resent["created_at"] == z(late[0] - 5 * MINUTE)


async def test_a_store_of_the_released_version_counts_its_times_from_the_start(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    lagging: Sandbox,
    mock_config_entry: MockConfigEntry,
    sandbox_url: str,
    hass_storage: dict[str, Any],
) -> None:
    """Its events have no creation time: the first listing after the upgrade forgets none."""
    created = await create_twin(hass, lagging, sandbox_url)
    entry = with_flip(mock_config_entry, flip_data(lagging, sandbox_url))
    key = {
        "program_id": lagging.flip_program_id,
        "target_type": "DEVICE",
        "target_ids": [TARGET],
        "mode": "CHARGE",
        "starts_at": z(A[0]),
        "duration_s": 3600,
        "power_mode": "SETPOINT",
        "setpoint_w": 5000,
        "enable_grid_import": True,
        "backup_reserve": None,
    }
    hass_storage[dispatch_key(entry)] = {
        "version": 1,
        "key": dispatch_key(entry),
        "data": {
            "events": [{"id": created, "origin": "window", "key": key}],
            "intents": [],
            "cancelled": [],
            "not_before": None,
        },
    }
    await at(hass, freezer, NOW + MINUTE)

    await set_up(hass, entry)

    assert flip_counts(lagging) == (1, 0, 1)
    assert state(hass, FLIP_COUNT) == "1"
    await until(hass, freezer, lagging, A[0])
    assert live_ids(lagging) == {created}
    assert stored_dispatch(hass_storage, entry)["events"][0]["created_at"] == z(NOW + MINUTE)


def test_flip_lags_less_than_the_settle_time_here() -> None:
    assert timedelta(0) < LAG < SETTLE_TIME
