"""Which Flip events the charging windows call for: the pure rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from custom_components.flatpeak.api import (
    ChargingSlot,
    FlipAction,
    FlipEvent,
    FlipMode,
    FlipPowerMode,
    RequestError,
)
from custom_components.flatpeak.dispatch.flip.plan import (
    ORIGIN_ACTION,
    ORIGIN_WINDOW,
    Dispatched,
    DispatchSettings,
    EventKey,
    changes,
    rejection_text,
    still_covered,
    wanted_windows,
    window_key,
)

T0 = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
M = timedelta(minutes=1)
SETTINGS = DispatchSettings(program_id="prg-1", target_type="SITE", target_ids=("b", "a"))


def slot(start: int, end: int, power: float | None = 5000) -> ChargingSlot:
    return ChargingSlot(start=T0 + start * M, end=T0 + end * M, power_w=power, vpp_event=False)


def key(start: int, end: int, power: int = 5000) -> EventKey:
    found = window_key(slot(start, end, power), SETTINGS)
    assert found is not None
    return found


def test_settings_are_read_from_the_subentry() -> None:
    settings = DispatchSettings.from_data(
        {
            "program_id": "prg-1",
            "target_type": "GROUP",
            "target_ids": ["z", "y"],
            "auto_dispatch": False,
            "min_lead_time": 30,
            "min_duration": 5,
            "backup_reserve": 20.0,
        }
    )
    assert settings == DispatchSettings(
        program_id="prg-1",
        target_type="GROUP",
        target_ids=("y", "z"),
        auto_dispatch=False,
        min_lead_time=30 * M,
        min_duration=5 * M,
        backup_reserve=20,
    )
    defaults = DispatchSettings.from_data(
        {"program_id": "p", "target_type": "PROGRAM", "target_ids": ["p"]}
    )
    assert (defaults.auto_dispatch, defaults.min_lead_time, defaults.min_duration) == (
        True,
        10 * M,
        15 * M,
    )
    assert defaults.backup_reserve is None


def test_a_window_is_one_charge_action_at_its_power_in_whole_watts() -> None:
    odd = ChargingSlot(
        start=T0 + timedelta(microseconds=400_000),
        end=T0 + 90 * M,
        power_w=3300.6,
        vpp_event=True,
    )
    found = window_key(odd, replace(SETTINGS, backup_reserve=15))
    assert found is not None
    assert found.action() == FlipAction(
        mode=FlipMode.CHARGE,
        starts_at=T0,
        duration_s=5400,
        power_mode=FlipPowerMode.SETPOINT,
        setpoint_w=3301,
        enable_grid_import=True,
        backup_reserve_percentage=15,
    )
    assert found.target_ids == ("a", "b")
    assert found.ends_at == T0 + 90 * M
    assert window_key(slot(0, 60, None), SETTINGS) is None
    assert window_key(slot(0, 60, 0.4), SETTINGS) is None


def test_which_windows_are_wanted_and_why_the_others_are_not() -> None:
    now = T0
    slots = [
        slot(-60, -30),  # ended: ignored
        slot(-10, 20),  # running, not dispatched: too soon
        slot(5, 60),  # starts within the lead time
        slot(60, 70),  # shorter than the minimum
        slot(80, 140, None),  # no power
        slot(150, 210),
        slot(150, 210),  # the same window twice: one event
        slot(240, 250),  # short, but already dispatched: kept
        slot(300, 360),  # cancelled by the user
    ]
    wanted = wanted_windows(
        slots, SETTINGS, now, dispatched={key(240, 250)}, cancelled={key(300, 360)}
    )

    assert list(wanted.windows) == [key(150, 210), key(240, 250)]
    assert [(s.start, s.reason) for s in wanted.skipped] == [
        (T0 - 10 * M, "too_soon"),
        (T0 + 5 * M, "too_soon"),
        (T0 + 60 * M, "too_short"),
        (T0 + 80 * M, "no_power"),
        (T0 + 300 * M, "cancelled"),
    ]


def test_changes_cancel_what_moved_or_vanished_and_create_what_is_new() -> None:
    now = T0
    slots = [slot(30, 90), slot(120, 180), slot(300, 330)]
    wanted = wanted_windows(slots, SETTINGS, now)
    dispatched = [
        Dispatched("kept", key(30, 90), ORIGIN_WINDOW),
        Dispatched("moved", key(100, 160), ORIGIN_WINDOW),
        Dispatched("vanished", key(200, 260), ORIGIN_WINDOW),
        Dispatched("action", key(400, 460), ORIGIN_ACTION),
        Dispatched("ended", key(-90, -30), ORIGIN_WINDOW),
    ]

    todo = changes(wanted, dispatched, slots, now, create=True)

    assert [item.event_id for item in todo.cancel] == ["moved", "vanished"]
    assert todo.create == (key(120, 180), key(300, 330))
    assert changes(wanted, dispatched, slots, now, create=False).create == ()


def test_a_running_event_is_cancelled_only_when_its_window_is_withdrawn() -> None:
    now = T0
    running = [Dispatched("running", key(-30, 30), ORIGIN_WINDOW)]
    replanned = [slot(0, 45)]
    wanted = wanted_windows(replanned, SETTINGS, now, dispatched={key(-30, 30)})
    assert changes(wanted, running, replanned, now, create=True).cancel == ()

    withdrawn = [slot(60, 120)]
    wanted = wanted_windows(withdrawn, SETTINGS, now, dispatched={key(-30, 30)})
    todo = changes(wanted, running, withdrawn, now, create=True)
    assert [item.event_id for item in todo.cancel] == ["running"]


def _event(**changes: object) -> FlipEvent:
    fields: dict[str, object] = {
        "id": "e1",
        "program_id": "prg-1",
        "target_type": "SITE",
        "target_ids": ("b", "a"),
        "actions": (key(30, 90).action(),),
        "starts_at": T0 + 30 * M,
        "ends_at": T0 + 90 * M,
        "created_at": T0,
    }
    fields.update(changes)
    return FlipEvent(**fields)  # type: ignore[arg-type]


def test_an_event_as_flip_lists_it_has_the_key_of_its_window() -> None:
    assert EventKey.of_event(_event()) == key(30, 90)
    two = (key(30, 90).action(), key(90, 120).action())
    assert EventKey.of_event(_event(actions=two)) is None
    assert EventKey.of_event(_event(program_id=None)) is None
    assert EventKey.of_event(_event(target_ids=("a",))) != key(30, 90)


def test_stored_records_read_back_and_bad_ones_are_refused() -> None:
    item = Dispatched("e1", key(30, 90), ORIGIN_WINDOW)
    assert Dispatched.from_json(item.to_json()) == item
    action = EventKey.build(
        SETTINGS, FlipAction(mode="DISCHARGE", starts_at=T0 + 5 * M, duration_s=60)
    )
    assert EventKey.from_json(action.to_json()) == action

    bad = [
        None,
        {"id": 3},
        {"id": "e1", "origin": "elsewhere", "key": key(30, 90).to_json()},
        {"id": "e1", "origin": ORIGIN_WINDOW, "key": {"starts_at": "never"}},
        {"id": "e1", "origin": ORIGIN_WINDOW, "key": {"starts_at": "2026-03-28T12:00:00Z"}},
        {"id": "e1", "origin": ORIGIN_WINDOW, "key": ["not", "an", "object"]},
    ]
    for record in bad:
        with pytest.raises(ValueError):  # noqa: PT011 - one error for any unreadable record
            Dispatched.from_json(record)


def test_flips_refusal_names_each_field_once() -> None:
    err = RequestError(
        "Flip answered HTTP 422",
        service="Flip",
        status=422,
        field_errors=(
            ("actions[0].mode", "Input should be 'CHARGE'"),
            ("actions.0.mode", "Input should be 'CHARGE'"),
            ("program_id", "Value error, unknown program_id 'x'"),
            ("", "Request validation failed"),
        ),
    )
    assert rejection_text(err) == (
        "actions[0].mode: Input should be 'CHARGE'; "
        "program_id: Value error, unknown program_id 'x'; Request validation failed"
    )
    plain = RequestError("Flip answered HTTP 409 (conflict)", service="Flip", status=409)
    assert rejection_text(plain) == "Flip answered HTTP 409 (conflict)"


@pytest.mark.parametrize(
    "start",
    [
        datetime(2026, 3, 29, 0, 50, tzinfo=UTC),  # London springs forward at 01:00Z
        datetime(2026, 10, 25, 0, 50, tzinfo=UTC),  # London falls back: 01:50 BST to 01:20 GMT
        datetime(2026, 3, 8, 6, 50, tzinfo=UTC),  # New York springs forward at 07:00Z
        datetime(2026, 11, 1, 5, 50, tzinfo=UTC),  # New York falls back: 01:50 EDT to 01:20 EST
    ],
)
def test_a_window_across_a_clock_change_is_dispatched_for_its_real_length(
    start: datetime,
) -> None:
    end = start + 30 * M
    window = ChargingSlot(start=start, end=end, power_w=5000, vpp_event=False)
    now = start - 2 * timedelta(hours=1)

    wanted = wanted_windows([window], SETTINGS, now)
    assert wanted.skipped == ()
    (found,) = wanted.windows
    assert (found.starts_at, found.ends_at, found.duration_s) == (start, end, 1800)
    assert found.starts_at.utcoffset() == timedelta(0)
    assert found.action().starts_at == start
    assert EventKey.from_json(found.to_json()) == found
    assert still_covered(found, [window], start + 10 * M)
    assert changes(wanted, [], [window], now, create=True).create == (found,)
