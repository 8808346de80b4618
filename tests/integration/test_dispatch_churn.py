"""Seven days of schedule churn and three restarts: Flip ends up holding the windows, once each.

The sandbox computes the schedule from the battery's state of charge and its
prices, so windows move by themselves as time passes (a session is planned
from "now", a running window is planned again from now, the horizon grows).
On top of that the battery's state of charge changes every six hours, the
whole schedule is shifted once a day, and for half a day it is replaced by
one with a short window and one starting too soon. Home Assistant restarts
three times; the second time it stops right after Flip answered a create,
before the event's ID is saved.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
import logging
import random
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.flatpeak.api import ChargingSlot, FlipClient
from custom_components.flatpeak.dispatch.flip.plan import DispatchSettings, EventKey, window_key
from sandbox import Sandbox

from .common import device_of, session
from .dispatch_common import (
    HOUR,
    MINUTE,
    NOW,
    advance,
    dispatch_key,
    flip_data,
    key_of,
    live,
    live_keys,
    restart,
    window,
    with_flip,
)

pytestmark = pytest.mark.slow

DAYS = 7
STEP = timedelta(minutes=15)
LEAD = timedelta(minutes=10)
SHORTEST = timedelta(minutes=15)


def plan_keys(entry: MockConfigEntry, settings: DispatchSettings) -> dict[EventKey, datetime]:
    """Every window of the schedule held now, as event keys, with its end."""
    plan = device_of(entry).schedule.plan
    slots: Iterable[ChargingSlot] = plan.slots if plan is not None else ()
    keys = {}
    for slot in slots:
        key = window_key(slot, settings)
        if key is not None:
            keys[key] = slot.end
    return keys


def qualifying(entry: MockConfigEntry, settings: DispatchSettings, now: datetime) -> set[EventKey]:
    """The windows that may be sent now: long enough, and not starting too soon."""
    plan = device_of(entry).schedule.plan
    slots: Iterable[ChargingSlot] = plan.slots if plan is not None else ()
    return {
        key
        for slot in slots
        if (key := window_key(slot, settings)) is not None
        and slot.end - slot.start >= SHORTEST
        and slot.start >= now + LEAD
    }


class Ledger:
    """Counts, independently of the dispatcher, the creates and cancels a week can need.

    Each time a window appears that may be sent, one create may be needed;
    each time a window vanishes from the schedule before it ends, one cancel.
    """

    def __init__(self) -> None:
        self.seen: set[EventKey] = set()
        self.held: dict[EventKey, datetime] = {}
        self.appearances = 0
        self.vanishings = 0

    def observe(self, entry: MockConfigEntry, settings: DispatchSettings, now: datetime) -> None:
        sendable = qualifying(entry, settings, now)
        self.appearances += len(sendable - self.seen)
        self.seen = sendable
        held = plan_keys(entry, settings)
        self.vanishings += sum(1 for key, end in self.held.items() if key not in held and end > now)
        self.held = held


def assert_no_duplicates(sandbox: Sandbox) -> None:
    counts = live_keys(sandbox)
    assert not [key for key, count in counts.items() if count > 1], counts


async def crash_after_next_create(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    entry: MockConfigEntry,
    observe: Callable[[], None],
) -> dict[str, Any]:
    """Stop Home Assistant right after Flip answers the next create; return that event."""
    original = FlipClient.create_event
    created: list[dict[str, Any]] = []

    async def create_then_stop(client: FlipClient, **kwargs: Any) -> Any:
        observe()  # the schedule being reconciled
        event = await original(client, **kwargs)
        created.append({"id": event.id})
        hass.async_create_task(hass.config_entries.async_unload(entry.entry_id))
        await asyncio.Event().wait()  # cancelled by the unload, before the save

    with patch.object(FlipClient, "create_event", create_then_stop):
        # New windows are created at the next schedule refresh.
        sandbox.shift_schedule(timedelta(hours=2))
        while not created:
            await advance(hass, freezer, STEP, STEP)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.NOT_LOADED
    return created[0]


async def test_a_week_of_churn_and_restarts_leaves_flip_holding_the_windows_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    sandbox_url: str,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    freezer.move_to(NOW)
    data = flip_data(sandbox, sandbox_url)
    settings = DispatchSettings.from_data(data)
    entry = with_flip(mock_config_entry, data)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    rng = random.Random(7)
    ledger = Ledger()
    ledger.observe(entry, settings, NOW)
    stored_at = dispatch_key(entry)
    restarts = 0

    def churn(at: timedelta) -> None:
        """Change the schedule at some instants of the week."""
        if at % (6 * HOUR) == timedelta(0):
            sandbox.set_device_state(rng.uniform(5, 60), rng.choice([80, 90, 100]))
        if at % timedelta(days=1) == 9 * HOUR:
            sandbox.shift_schedule(timedelta(minutes=rng.choice([-60, -30, 0, 30, 60])))
        if at == 60 * HOUR:
            # Half a day of a schedule with a short window and one about to start.
            now = NOW + at
            sandbox.set_schedule_override(
                [
                    session(
                        now,
                        now + 12 * HOUR,
                        (now + 5 * MINUTE, now + 40 * MINUTE),
                        (now + 2 * HOUR, now + 2 * HOUR + 10 * MINUTE),
                        (now + 3 * HOUR, now + 4 * HOUR),
                        (now + 5 * HOUR, now + 6 * HOUR + 30 * MINUTE),
                        power_w=4200,
                    )
                ]
            )
        if at == 72 * HOUR:
            sandbox.set_schedule_override(None)

    elapsed = timedelta(0)
    while elapsed < timedelta(days=DAYS):
        elapsed += STEP
        freezer.move_to(NOW + elapsed)
        churn(elapsed)
        if elapsed in (timedelta(days=2), timedelta(days=6)):
            await restart(hass, entry)
            restarts += 1
        elif elapsed == timedelta(days=4):
            crashed = await crash_after_next_create(
                hass,
                freezer,
                sandbox,
                entry,
                lambda: ledger.observe(entry, settings, datetime.now(UTC)),
            )
            stored = hass_storage[stored_at]["data"]
            # Flip has the event; the store has only the intent.
            assert crashed["id"] in {event["id"] for event in live(sandbox)}
            assert crashed["id"] not in {event["id"] for event in stored["events"]}
            assert len(stored["intents"]) == 1
            # Down for a while, during which the schedule moves back.
            sandbox.shift_schedule(timedelta(0))
            freezer.tick(20 * MINUTE)
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done(wait_background_tasks=True)
            assert hass_storage[stored_at]["data"]["intents"] == []
            restarts += 1
            # Back on the step grid.
            elapsed = -(-(datetime.now(UTC) - NOW) // STEP) * STEP
            freezer.move_to(NOW + elapsed)
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
        ledger.observe(entry, settings, datetime.now(UTC))
        assert_no_duplicates(sandbox)

    assert restarts == 3

    # The last schedule: every live event in Flip is one of its windows, once.
    end = datetime.now(UTC)
    final = [
        (end + 2 * HOUR, end + 3 * HOUR),
        (end + 5 * HOUR, end + 6 * HOUR + 45 * MINUTE),
        (end + 9 * HOUR, end + 9 * HOUR + 20 * MINUTE),
    ]
    final = [
        (a.replace(second=0, microsecond=0), b.replace(second=0, microsecond=0)) for a, b in final
    ]
    sandbox.shift_schedule(timedelta(0))
    sandbox.set_schedule_override([session(end, end + 12 * HOUR, *final)])
    await advance(hass, freezer, 40 * MINUTE, STEP)
    ledger.observe(entry, settings, datetime.now(UTC))
    now = datetime.now(UTC)

    not_ended = [event for event in live(sandbox) if datetime.fromisoformat(event["ends_at"]) > now]
    assert sorted(key_of(event) for event in not_ended) == sorted(window(a, b) for a, b in final)
    # The mapping and Flip agree: no orphan on either side.
    stored = hass_storage[stored_at]["data"]
    assert {item["id"] for item in stored["events"]} == {event["id"] for event in not_ended}

    counts = sandbox.request_counts
    creates, cancels, lists = (
        counts["flip_event_create"],
        counts["flip_event_cancel"],
        counts["flip_event_list"],
    )
    logging.getLogger(__name__).warning(
        "Flip requests in %d days: %d creates, %d cancels, %d lists; "
        "%d windows appeared, %d vanished",
        DAYS,
        creates,
        cancels,
        lists,
        ledger.appearances,
        ledger.vanishings,
    )
    assert lists == 4  # one at each start
    assert counts["flip_event_get"] == 0
    assert 0 < creates <= ledger.appearances
    assert cancels <= ledger.vanishings
    # Every event created is either still live or was cancelled once.
    assert len(sandbox.flip_events) == creates
    assert sum(event["cancelled"] for event in sandbox.flip_events) == cancels
