"""What a listing of Flip's events proves, while the list may lag: pure functions, no I/O.

Flip's list may show an event only some minutes after creating it. A listing
is therefore conclusive about an event only once its settle time has passed:
a create whose answer was lost is not taken as failed, and an event created
just before a restart is not taken as cancelled, until then. And since a
create may happen after all, a listing may show two events for one window:
the twins of ours are cancelled before they start.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from ...api import FlipEvent
from .plan import ORIGIN_WINDOW, Dispatched, EventKey, Intent

# How long Flip's list may take to show an event it created ("some minutes").
# No more than half of Flip's ten-minute lead time (the dispatch's default
# minimum): a window sent as late as that, whose answer was lost, is still
# found, or sent again, five minutes before it starts.
SETTLE_TIME: Final = timedelta(minutes=5)


def settled(since: datetime, now: datetime) -> bool:
    """Say whether Flip's list must show by now what was created at since."""
    return now >= since + SETTLE_TIME


@dataclass(frozen=True, slots=True)
class Listing:
    """What the store holds after a listing, and what is left to do."""

    # The events that are ours: listed, adopted, or too recent to be missed.
    events: dict[str, Dispatched]
    # Creates whose answer was lost, not yet settled: their keys are in flight.
    intents: tuple[Intent, ...]
    # Creates whose answer was lost and which Flip did not make: their windows
    # are sent again, if still wanted, before they start.
    given_up: tuple[Intent, ...]
    # Listed twins of events of ours, not started yet: to cancel.
    duplicates: tuple[Dispatched, ...]
    # When Flip must be listed again, to settle what this listing could not.
    list_again_at: datetime | None


def read_listing(
    listed: Collection[FlipEvent],
    events: Mapping[str, Dispatched],
    intents: Iterable[Intent],
    wanted: Iterable[EventKey],
    now: datetime,
) -> Listing:
    """Compare Flip's events with the store's.

    A stored event Flip does not list is forgotten (cancelled by someone else,
    or ended) once settled. An intent is adopted by a listed event with its
    key, and given up once settled without one. A wanted window is adopted by
    a listed event with its key. Of several listed events with one key of
    ours, the store's is kept (else the first), the others are duplicates.
    """
    present = {event.id for event in listed}
    by_key: dict[EventKey, list[FlipEvent]] = {}
    for event in listed:
        key = EventKey.of_event(event)
        if key is not None and key.ends_at > now:
            by_key.setdefault(key, []).append(event)

    kept: dict[str, Dispatched] = {}
    waits: list[datetime] = []
    for item in events.values():
        if item.event_id in present:
            kept[item.event_id] = item
        elif item.created_at is not None and not settled(item.created_at, now):
            kept[item.event_id] = item
            waits.append(item.created_at + SETTLE_TIME)
    held: dict[EventKey, str] = {}
    for item in kept.values():
        held.setdefault(item.key, item.event_id)

    def adopt(key: EventKey, origin: str, sent_at: datetime | None) -> bool:
        """Make the first listed event with key ours, unless one is already; say if one is."""
        if key in held:
            return True
        if not (candidates := by_key.get(key)):
            return False
        event = candidates[0]
        created_at = sent_at if sent_at is not None else event.created_at
        kept[event.id] = Dispatched(event.id, key, origin, created_at)
        held[key] = event.id
        return True

    in_flight: list[Intent] = []
    given_up: list[Intent] = []
    for intent in intents:
        if intent.key.ends_at <= now or adopt(intent.key, intent.origin, intent.sent_at):
            continue
        if intent.sent_at is not None and not settled(intent.sent_at, now):
            in_flight.append(intent)
            waits.append(intent.sent_at + SETTLE_TIME)
        else:
            given_up.append(intent)
    for key in wanted:
        adopt(key, ORIGIN_WINDOW, None)

    # A running twin is left to end: cancelling it could stop the battery.
    duplicates = tuple(
        Dispatched(event.id, key, kept[held[key]].origin)
        for key, twins in by_key.items()
        if key in held and key.starts_at > now
        for event in twins
        if event.id != held[key]
    )
    return Listing(
        events=kept,
        intents=tuple(in_flight),
        given_up=tuple(given_up),
        duplicates=duplicates,
        list_again_at=min(waits, default=None),
    )
