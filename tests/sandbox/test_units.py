"""Tests of the clock, the fault definitions and the answer reshaping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import uuid

import pytest

from sandbox import Clock, Fault
from sandbox.common import IdFactory, floor_to, iso_z, json_number, parse_aware
from sandbox.faults import (
    FaultQueue,
    add_trailing_spaces,
    drop_path,
    reshape,
    set_path,
    to_kilo_units,
)

NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)


def test_fixed_clock() -> None:
    clock = Clock(NOW)
    assert clock.frozen
    assert clock.now() == NOW
    clock.advance(timedelta(minutes=5))
    assert clock.now() == NOW + timedelta(minutes=5)
    clock.set(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.now() == datetime(2026, 1, 1, tzinfo=UTC)


def test_running_clock_keeps_an_offset() -> None:
    clock = Clock()
    assert not clock.frozen
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)
    clock.set(NOW)
    assert abs(clock.now() - NOW) < timedelta(seconds=5)
    clock.advance(timedelta(days=1))
    assert abs(clock.now() - (NOW + timedelta(days=1))) < timedelta(seconds=5)


def test_clock_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Clock(datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="timezone-aware"):
        Clock(NOW).set(datetime(2026, 1, 1))  # noqa: DTZ001


def test_common_helpers() -> None:
    assert iso_z(datetime(2026, 3, 28, 13, 0, 5, 999, tzinfo=UTC)) == "2026-03-28T13:00:05Z"
    assert parse_aware("2026-03-28T13:00:00+01:00") == NOW
    assert parse_aware("2026-03-28T12:00:00") is None
    assert parse_aware("yesterday") is None
    assert parse_aware(5) is None
    assert floor_to(NOW + timedelta(minutes=44), timedelta(minutes=30)) == NOW + timedelta(
        minutes=30
    )
    assert json_number(1.0) == 1
    assert isinstance(json_number(1.0), int)
    assert json_number(0.8) == 0.8
    ids, again = IdFactory(3), IdFactory(3)
    first = ids.hex_id("dev")
    assert first == again.hex_id("dev")
    assert first != ids.hex_id("dev")
    assert len(first) == 28
    assert uuid.UUID(ids.uuid4()).version == 4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "explode"}, "unknown fault kind"),
        ({"route": "schedule"}, "unknown route"),
        ({"kind": "drop_field"}, "needs a field"),
        ({"kind": "wrong_type"}, "needs a field"),
        ({"kind": "drop_field", "field": ""}, "needs a field"),
        ({"status": 200}, "400 to 599"),
        ({"times": 0}, "at least 1"),
        ({"delay_s": -1}, "not be negative"),
    ],
)
def test_fault_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Fault(**kwargs)  # type: ignore[arg-type]


def test_fault_from_and_to_dict() -> None:
    fault = Fault.from_dict({"route": "prices", "status": 429, "retry_after": 30})
    assert fault.retry_after == "30"
    assert fault.to_dict()["route"] == "prices"
    with pytest.raises(ValueError, match="unknown fault keys: colour"):
        Fault.from_dict({"colour": "red"})


def test_fault_matching() -> None:
    assert Fault().matches("prices", "flatpeak")
    assert Fault(route="flatpeak:*").matches("login", "flatpeak")
    assert not Fault(route="flatpeak:*").matches("flip_event_list", "flip")
    assert Fault(route="flip:*").matches("flip_event_list", "flip")
    assert not Fault(route="prices").matches("login", "flatpeak")


def test_fault_queue_order_and_times() -> None:
    queue = FaultQueue()
    mine = Fault(route="prices", status=503, times=2)
    queue.add(mine)
    queue.add(Fault(status=500, times=None))
    assert queue.take("prices", "flatpeak") is not None
    assert mine.times == 2  # the caller's object is left alone
    taken = queue.take("prices", "flatpeak")
    assert taken is not None
    assert taken.status == 503
    taken = queue.take("prices", "flatpeak")
    assert taken is not None
    assert taken.status == 500
    assert [fault.status for fault in queue.active()] == [500]
    assert queue.clear() == 1
    assert queue.take("prices", "flatpeak") is None


def test_trailing_spaces() -> None:
    payload = {
        "object": "location",
        "tariff_status": {"commodity_import": "CONNECTED", "local": "NOT_SUPPORTED"},
        "data": [{"energy": {"units": "WH", "value": 1}, "type": "BATTERY_SYSTEM"}],
        "display_name": "Octopus Energy",
    }
    spaced = add_trailing_spaces(payload)
    assert spaced["object"] == "location"
    assert spaced["display_name"] == "Octopus Energy"
    assert spaced["tariff_status"] == {"commodity_import": "CONNECTED ", "local": "NOT_SUPPORTED "}
    assert spaced["data"][0]["energy"]["units"] == "WH "
    assert spaced["data"][0]["type"] == "BATTERY_SYSTEM "


def test_kilo_units() -> None:
    payload = {
        "energy": {"units": "WH", "value": 9450},
        "power": [{"units": "W", "value": 5000}],
        "other": {"units": "GBP", "value": 3},
        "odd": {"units": "WH", "value": "many"},
    }
    assert to_kilo_units(payload) == {
        "energy": {"units": "KWH", "value": 9.45},
        "power": [{"units": "KW", "value": 5.0}],
        "other": {"units": "GBP", "value": 3},
        "odd": {"units": "WH", "value": "many"},
    }


def test_paths() -> None:
    payload = {"data": [{"schedule": [{"end_time": "x", "start_time": "y"}]}], "a": 1}
    assert drop_path(payload, "data.0.schedule.0.end_time") == {
        "data": [{"schedule": [{"start_time": "y"}]}],
        "a": 1,
    }
    assert drop_path(payload, "data.5.schedule") == payload
    assert drop_path(payload, "a.b") == payload
    assert drop_path({"data": [1, 2]}, "data.0") == {"data": [2]}
    assert set_path(payload, "data.0.schedule", "nope") == {"data": [{"schedule": "nope"}], "a": 1}
    assert set_path({"data": [1, 2]}, "data.1", {"x": []}) == {"data": [1, {"x": []}]}
    assert set_path({"a": 1}, "missing.x", 2) == {"a": 1}
    assert set_path({"a": 1}, "b", None) == {"a": 1, "b": None}
    assert set_path([{"a": 1}], "", {"b": 2}) == {"b": 2}


def test_reshape_leaves_other_kinds_alone() -> None:
    assert reshape(Fault(kind="timeout"), {"a": 1}) == {"a": 1}
    assert reshape(Fault(kind="drop_field", field="a"), {"a": 1}) == {}
