"""What a listing of Flip's events proves while the list lags: the pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from custom_components.flatpeak.api import ChargingSlot, FlipEvent
from custom_components.flatpeak.dispatch.flip.const import MIN_LEAD_TIME
from custom_components.flatpeak.dispatch.flip.listing import SETTLE_TIME, read_listing, settled
from custom_components.flatpeak.dispatch.flip.plan import (
    ORIGIN_ACTION,
    ORIGIN_WINDOW,
    Dispatched,
    DispatchSettings,
    EventKey,
    Intent,
    window_key,
)

T0 = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
M = timedelta(minutes=1)
SETTINGS = DispatchSettings(program_id="prg-1", target_type="SITE", target_ids=("a",))
# Flip's list lags behind: what was created or sent within this is not proven gone.
YOUNG = T0 - SETTLE_TIME + M
OLD = T0 - SETTLE_TIME


def key(start: int, end: int) -> EventKey:
    found = window_key(
        ChargingSlot(start=T0 + start * M, end=T0 + end * M, power_w=5000, vpp_event=False),
        SETTINGS,
    )
    assert found is not None
    return found


def listed(event_id: str, of: EventKey, created_at: datetime | None = None) -> FlipEvent:
    """An event as Flip lists it."""
    return FlipEvent(
        id=event_id,
        program_id=of.program_id,
        target_type=of.target_type,
        target_ids=of.target_ids,
        actions=(of.action(),),
        starts_at=of.starts_at,
        ends_at=of.ends_at,
        created_at=created_at,
    )


def stored(*items: Dispatched) -> dict[str, Dispatched]:
    return {item.event_id: item for item in items}


def test_a_listing_is_conclusive_once_the_settle_time_has_passed() -> None:
    # A window sent at the default lead time can be sent again before it starts.
    assert MIN_LEAD_TIME.default_duration > SETTLE_TIME
    assert not settled(YOUNG, T0)
    assert settled(OLD, T0)


def test_a_stored_event_flip_does_not_list_is_forgotten_only_once_settled() -> None:
    listed_one = Dispatched("listed", key(30, 90), ORIGIN_WINDOW, OLD)
    young = Dispatched("young", key(100, 160), ORIGIN_WINDOW, YOUNG)
    old = Dispatched("old", key(200, 260), ORIGIN_WINDOW, OLD)
    unknown = Dispatched("unknown", key(300, 360), ORIGIN_ACTION)

    listing = read_listing(
        [listed("listed", key(30, 90))], stored(listed_one, young, old, unknown), [], [], T0
    )

    # Cancelled by someone else (or ended), unless Flip may not list it yet.
    assert listing.events == stored(listed_one, young)
    assert listing.list_again_at == YOUNG + SETTLE_TIME
    assert listing.duplicates == listing.intents == listing.given_up == ()


def test_an_intent_is_adopted_kept_in_flight_or_given_up() -> None:
    found = Intent(key(30, 90), ORIGIN_WINDOW, OLD)
    in_flight = Intent(key(100, 160), ORIGIN_ACTION, YOUNG)
    lost = Intent(key(200, 260), ORIGIN_WINDOW, OLD)
    unknown = Intent(key(300, 360), ORIGIN_WINDOW)
    ended = Intent(key(-60, -1), ORIGIN_WINDOW, YOUNG)

    listing = read_listing(
        [listed("f1", key(30, 90), created_at=T0 - 2 * M), listed("x", key(-60, -1))],
        {},
        [found, in_flight, lost, unknown, ended],
        [],
        T0,
    )

    # Adopted: its age counts from when it was sent.
    assert listing.events == stored(Dispatched("f1", key(30, 90), ORIGIN_WINDOW, OLD))
    assert listing.intents == (in_flight,)
    assert listing.given_up == (lost, unknown)
    assert listing.list_again_at == YOUNG + SETTLE_TIME


def test_a_wanted_window_is_adopted_with_flip_s_creation_time() -> None:
    listing = read_listing(
        [listed("twin", key(30, 90), created_at=YOUNG), listed("other", key(100, 160))],
        {},
        [],
        [key(30, 90)],
        T0,
    )

    assert listing.events == stored(Dispatched("twin", key(30, 90), ORIGIN_WINDOW, YOUNG))
    # An event of no window of ours is left alone.
    assert listing.duplicates == ()
    assert listing.list_again_at is None


def test_twins_of_events_of_ours_are_duplicates_the_store_s_own_is_kept() -> None:
    held = Dispatched("held", key(30, 90), ORIGIN_WINDOW, OLD)
    unlisted = Dispatched("unlisted", key(100, 160), ORIGIN_ACTION, YOUNG)
    intent = Intent(key(200, 260), ORIGIN_WINDOW, YOUNG)

    listing = read_listing(
        [
            listed("twin-a", key(30, 90)),
            listed("held", key(30, 90)),
            listed("twin-b", key(100, 160)),
            listed("first", key(200, 260)),
            listed("second", key(200, 260)),
            listed("wanted", key(300, 360)),
            listed("wanted-twin", key(300, 360)),
        ],
        stored(held, unlisted),
        [intent],
        [key(300, 360)],
        T0,
    )

    assert set(listing.events) == {"held", "unlisted", "first", "wanted"}
    assert listing.duplicates == (
        Dispatched("twin-a", key(30, 90), ORIGIN_WINDOW),
        Dispatched("twin-b", key(100, 160), ORIGIN_ACTION),
        Dispatched("second", key(200, 260), ORIGIN_WINDOW),
        Dispatched("wanted-twin", key(300, 360), ORIGIN_WINDOW),
    )
    assert listing.intents == ()


def test_an_intent_for_a_key_already_held_is_done_and_its_event_a_duplicate() -> None:
    held = Dispatched("held", key(30, 90), ORIGIN_WINDOW, YOUNG)

    listing = read_listing(
        [listed("held", key(30, 90)), listed("late", key(30, 90))],
        stored(held),
        [Intent(key(30, 90), ORIGIN_WINDOW, OLD)],
        [],
        T0,
    )

    assert listing.events == stored(held)
    assert listing.intents == listing.given_up == ()
    assert [item.event_id for item in listing.duplicates] == ["late"]


def test_a_running_twin_is_left_to_end() -> None:
    held = Dispatched("held", key(-10, 50), ORIGIN_WINDOW, OLD)

    listing = read_listing(
        [listed("held", key(-10, 50)), listed("twin", key(-10, 50))], stored(held), [], [], T0
    )

    assert listing.duplicates == ()
    assert listing.events == stored(held)


def test_creation_and_sending_times_are_stored_and_read_back() -> None:
    item = Dispatched("e1", key(30, 90), ORIGIN_WINDOW, YOUNG)
    assert Dispatched.from_json(item.to_json()) == item
    intent = Intent(key(30, 90), ORIGIN_ACTION, YOUNG)
    assert Intent.from_json(intent.to_json()) == intent
    assert intent.to_json()["sent_at"] == "2026-03-28T11:56:00Z"

    # Records of the released version have no times; unreadable ones are left out.
    record = {"id": "e1", "origin": ORIGIN_WINDOW, "key": key(30, 90).to_json()}
    assert Dispatched.from_json(record).created_at is None
    assert Dispatched.from_json(record | {"created_at": "soon"}).created_at is None
    assert Dispatched.from_json(record | {"created_at": "2026-03-28T11:56:00"}).created_at is None
    old_intent = {"origin": ORIGIN_WINDOW, "key": key(30, 90).to_json()}
    assert Intent.from_json(old_intent) == Intent(key(30, 90), ORIGIN_WINDOW)
