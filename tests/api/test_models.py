"""Tolerant parsing of Flatpeak documents into models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from custom_components.flatpeak.api import (
    ConnectionType,
    Device,
    DevicePage,
    DeviceStateRecord,
    DeviceType,
    InvalidResponseError,
    LocationStatus,
    Prices,
    SocSchedule,
    StructureType,
    TariffDirection,
    TariffStatus,
    Token,
)
from custom_components.flatpeak.api._parse import Reader, describe, parse_datetime, parse_enum
from tests.common import fixture_json


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def schedule_doc() -> dict[str, Any]:
    return fixture_json("flatpeak/schedule_soc.json")


def parse_error(parse: Any, data: Any) -> InvalidResponseError:
    with pytest.raises(InvalidResponseError) as caught:
        parse(data)
    return caught.value


# Schedules


def test_schedule_from_the_documented_example() -> None:
    schedule = SocSchedule.from_json(schedule_doc())

    assert schedule.id == "ssc_65ea3fb185c1541f247c251e"
    assert schedule.device_id == "dev_6563a6757360a6d6a628e839"
    assert schedule.location_id == "loc_641b90b758fb8e6293716e40"
    assert schedule.timezone == "Europe/London"
    assert schedule.currency_code == "GBP"
    assert schedule.live_mode is True
    assert schedule.time_created == utc(2022, 1, 24, 14, 15, 22)
    (session,) = schedule.sessions
    assert (session.start, session.end) == (utc(2022, 2, 1, 20, 14), utc(2022, 2, 2, 6))
    assert session.energy_wh == 34000
    assert (session.cost, session.cost_confidence) == (928.372, 1)
    (slot,) = session.slots
    assert (slot.start, slot.end) == (utc(2022, 2, 2, 2), utc(2022, 2, 2, 4, 30))
    assert slot.power_w == 11000
    assert slot.vpp_event is False
    assert slot.duration == timedelta(hours=2, minutes=30)
    assert schedule.slots == (slot,)


def test_schedule_units_in_kwh_and_kw_are_converted() -> None:
    doc = schedule_doc()
    doc["data"][0]["energy"] = {"units": "KWH", "value": 34}
    doc["data"][0]["schedule"][0]["power"] = {"units": " kw ", "value": "11"}

    schedule = SocSchedule.from_json(doc)

    assert schedule.sessions[0].energy_wh == 34000
    assert schedule.sessions[0].slots[0].power_w == 11000


def test_a_timestamp_padded_beyond_any_timestamps_length_is_still_read() -> None:
    doc = schedule_doc()
    doc["data"][0]["schedule"][0]["start_time"] = " " * 60 + "2022-02-02T02:00:00Z "

    (slot,) = SocSchedule.from_json(doc).sessions[0].slots

    assert slot.start == utc(2022, 2, 2, 2)


def test_schedule_tolerates_strings_offsets_and_naive_times() -> None:
    doc = schedule_doc()
    session = doc["data"][0]
    session["start_time"] = "2022-02-01T21:14:00+01:00"
    session["end_time"] = "2022-02-02T06:00:00"  # no offset: the API's times are UTC
    session["cost"] = {"value": "928.372", "confidence": "0.9"}
    session["schedule"][0]["vpp_event"] = "true"
    doc["currency_code"] = "gbp"

    schedule = SocSchedule.from_json(doc)

    parsed = schedule.sessions[0]
    assert (parsed.start, parsed.end) == (utc(2022, 2, 1, 20, 14), utc(2022, 2, 2, 6))
    assert (parsed.cost, parsed.cost_confidence) == (928.372, 0.9)
    assert parsed.slots[0].vpp_event is True
    assert schedule.currency_code == "GBP"


def test_schedule_sorts_sessions_and_slots_and_drops_empty_slots() -> None:
    doc = schedule_doc()
    first = doc["data"][0]
    second = {
        "start_time": "2022-02-01T08:00:00Z",
        "end_time": "2022-02-01T12:00:00Z",
        "schedule": [
            {"start_time": "2022-02-01T11:00:00Z", "end_time": "2022-02-01T11:30:00Z"},
            {"start_time": "2022-02-01T09:00:00Z", "end_time": "2022-02-01T09:00:00Z"},
            {"start_time": "2022-02-01T08:30:00Z", "end_time": "2022-02-01T09:00:00Z"},
        ],
    }
    doc["data"] = [first, second]

    schedule = SocSchedule.from_json(doc)

    assert [s.start.hour for s in schedule.sessions] == [8, 20]
    early = schedule.sessions[0]
    assert [(s.start.hour, s.start.minute) for s in early.slots] == [(8, 30), (11, 0)]
    assert early.energy_wh is None
    assert early.cost is None
    assert early.slots[0].power_w is None
    assert [s.start.hour for s in schedule.slots] == [8, 11, 2]


def test_schedule_without_data_has_no_sessions() -> None:
    doc = schedule_doc()
    del doc["data"]
    assert SocSchedule.from_json(doc).sessions == ()


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (
            lambda d: d["data"][0]["schedule"][0].update(end_time="2022-02-02T01:00:00Z"),
            "data[0].schedule[0].end_time",
        ),
        (lambda d: d["data"][0]["schedule"][0].pop("start_time"), "data[0].schedule[0].start_time"),
        (
            lambda d: d["data"][0]["schedule"][0].update(start_time="tomorrow"),
            "data[0].schedule[0].start_time",
        ),
        (
            lambda d: d["data"][0]["schedule"][0].update(start_time=1643767200),
            "data[0].schedule[0].start_time",
        ),
        (lambda d: d["data"][0]["schedule"][0].update(power="fast"), "data[0].schedule[0].power"),
        (
            lambda d: d["data"][0]["schedule"][0]["power"].update(units="BTU"),
            "data[0].schedule[0].power.units",
        ),
        (
            lambda d: d["data"][0]["schedule"][0]["power"].pop("units"),
            "data[0].schedule[0].power.units",
        ),
        (
            lambda d: d["data"][0]["schedule"][0]["power"].update(value="lots"),
            "data[0].schedule[0].power.value",
        ),
        (
            lambda d: d["data"][0]["schedule"][0]["power"].update(value=True),
            "data[0].schedule[0].power.value",
        ),
        (
            lambda d: d["data"][0]["schedule"][0]["power"].update(value=float("nan")),
            "data[0].schedule[0].power.value",
        ),
        (
            lambda d: d["data"][0]["schedule"][0]["power"].update(value=10**400),
            "data[0].schedule[0].power.value",
        ),
        (
            lambda d: d["data"][0]["schedule"][0]["power"].update(units="MW", value=1e307),
            "data[0].schedule[0].power.value",
        ),
        (
            lambda d: d["data"][0]["schedule"][0].update(vpp_event="maybe"),
            "data[0].schedule[0].vpp_event",
        ),
        (lambda d: d["data"][0].update(schedule={"a": 1}), "data[0].schedule"),
        (lambda d: d["data"].append("session"), "data[1]"),
        (lambda d: d.update(data="none"), "data"),
        (lambda d: d.update(location_timezone=["Europe/London"]), "location_timezone"),
    ],
)
def test_schedule_errors_name_the_field(mutate: Any, path: str) -> None:
    doc = schedule_doc()
    mutate(doc)

    error = parse_error(SocSchedule.from_json, doc)

    assert error.path == path
    assert path in str(error)
    assert error.service == "Flatpeak"


def test_a_document_that_is_not_an_object_is_rejected_at_the_top_level() -> None:
    error = parse_error(SocSchedule.from_json, ["not", "an", "object"])
    assert error.path == ""
    assert "the top level" in str(error)
    assert "a list" in str(error)


# Location status


def test_location_status_from_the_documented_example() -> None:
    status = LocationStatus.from_json(fixture_json("flatpeak/location_status.json"))

    assert status.id == "loc_641b90b758fb8e6293716e40"
    assert status.live_mode is True
    assert set(status.elements) == {
        "commodity_import",
        "commodity_export",
        "non_commodity_import",
        "non_commodity_export",
        "local",
    }
    imported = status.commodity_import
    assert imported is not None
    assert imported.status is TariffStatus.CONNECTED
    assert imported.connection_type is ConnectionType.DIRECT
    assert imported.provider is not None
    assert imported.provider.display_name == "Octopus Energy"
    assert imported.tariff is not None
    assert imported.tariff.display_name == "Flexible Go 2023"
    assert imported.tariff.structure_type is StructureType.FIXED
    assert imported.tariff.contract_end_date == utc(2024, 1, 1)
    # The documented example says "CONNECTED " with a trailing space.
    exported = status.commodity_export
    assert exported is not None
    assert exported.status is TariffStatus.CONNECTED
    assert status.elements["non_commodity_import"].status is TariffStatus.ERROR
    unsupported = status.elements["local"]
    assert unsupported.status is TariffStatus.NOT_SUPPORTED
    assert (unsupported.provider, unsupported.tariff, unsupported.connection_type) == (
        None,
        None,
        None,
    )


def test_location_status_keeps_unknown_values_and_missing_elements() -> None:
    doc = fixture_json("flatpeak/location_status.json")
    doc["tariff_status"]["commodity_import"]["status"] = "paused"
    doc["tariff_status"]["commodity_import"]["tariff"]["structure_type"] = "time-of-day"
    del doc["tariff_status"]["commodity_export"]

    status = LocationStatus.from_json(doc)

    assert status.commodity_import is not None
    assert status.commodity_import.status == "PAUSED"
    assert status.commodity_import.tariff is not None
    assert status.commodity_import.tariff.structure_type is StructureType.TIME_OF_DAY
    assert status.commodity_export is None


def test_location_status_needs_its_tariff_status_and_each_status() -> None:
    doc = fixture_json("flatpeak/location_status.json")
    doc["tariff_status"]["local"] = {}
    assert parse_error(LocationStatus.from_json, doc).path == "tariff_status.local.status"
    del doc["tariff_status"]
    assert parse_error(LocationStatus.from_json, doc).path == "tariff_status"


# Devices


def test_device_in_the_grouped_shape() -> None:
    device = Device.from_json(fixture_json("flatpeak/device.json"))

    assert device.id == "dev_63a6087272941ef077a8fd3e"
    assert device.controlled is True
    assert (device.manufacturer, device.model_code, device.model_name) == (
        "Nova Systems",
        "PICOXN2",
        "Pico Ultimate",
    )
    assert device.battery is not None
    assert device.battery.capacity_kwh == 14.2
    assert device.battery.charge_power_kw == 5
    assert device.battery.discharge_power_kw == 7.2
    assert device.battery.round_trip_efficiency == 0.9
    assert device.ev_charger is not None
    assert device.ev_charger.phases == 1
    assert device.ev_charger.v2g_capable is False
    assert device.heat_pump is not None
    assert device.heat_pump.thermal_storage_litres == 200
    assert device.consents is not None
    assert device.consents.control is False
    assert device.vpp_participation is not None
    assert device.vpp_participation.current_state == "ACTIVE"
    assert device.vpp_participation.programme_name == "Home Powerflex"
    assert device.timezone == "Europe/London"
    assert device.locations == ()
    assert device.type is None
    assert device.last_seen == utc(2022, 3, 22, 11, 12, 21)


def test_device_in_the_flat_shape() -> None:
    doc = fixture_json("flatpeak/device_created.json")
    assert Device.from_json(doc).type is None  # the documented answer leaves it out
    doc["type"] = "battery_system"
    device = Device.from_json(doc)

    assert device.type is DeviceType.BATTERY_SYSTEM
    assert device.locations == ("loc_641b90b758fb8e6293716e40",)
    assert device.manufacturer == "Nova Systems"
    assert device.battery is not None
    assert device.battery.capacity_kwh == 123
    assert device.battery.charge_power_kw == 14.2
    assert device.battery.discharge_power_kw == 7
    assert device.ev_charger is None
    assert device.heat_pump is None
    assert device.consents is None
    assert device.vpp_participation is None


def test_device_without_properties_or_battery() -> None:
    minimal = Device.from_json({"id": "dev_1", "properties": {"install_date": None}})
    assert minimal.battery is None
    assert minimal.live_mode is False
    bare = Device.from_json({"id": "dev_1"})
    assert (bare.battery, bare.ev_charger, bare.heat_pump) == (None, None, None)


def device_page(**fields: Any) -> dict[str, Any]:
    created = fixture_json("flatpeak/device_created.json")
    created["id"] = "dev_641b90b758fb8e6293716e3c"
    page = {
        "object": "list",
        "url": "/devices",
        "has_more": True,
        "data": [fixture_json("flatpeak/device.json"), created],
    }
    page.update(fields)
    return {key: value for key, value in page.items() if value is not None}


def test_a_page_of_devices() -> None:
    page = DevicePage.from_json(device_page())

    assert [device.id for device in page.devices] == [
        "dev_63a6087272941ef077a8fd3e",
        "dev_641b90b758fb8e6293716e3c",
    ]
    assert page.devices[0] == Device.from_json(fixture_json("flatpeak/device.json"))
    assert page.has_more is True


def test_a_page_of_devices_read_tolerantly() -> None:
    # No `object`, or one in another case; no `has_more`: the last page.
    last = DevicePage.from_json(device_page(object=None, has_more=None, data=[]))
    assert (last.devices, last.has_more) == ((), False)
    spaced = DevicePage.from_json(device_page(object=" List ", has_more="false"))
    assert (len(spaced.devices), spaced.has_more) == (2, False)


@pytest.mark.parametrize(
    ("doc", "path"),
    [
        ([], ""),
        (device_page(object="device"), "object"),
        (device_page(data=None), "data"),
        (device_page(data={"id": "dev_1"}), "data"),
        (device_page(data=[{"id": "dev_1"}, "dev_2"]), "data[1]"),
        (device_page(data=[{"id": "dev_1"}, {"id": "dev_2", "consents": 1}]), "data[1].consents"),
        (device_page(has_more=2), "has_more"),
    ],
)
def test_a_page_of_devices_that_cannot_be_read(doc: Any, path: str) -> None:
    assert parse_error(DevicePage.from_json, doc).path == path


def test_device_rejects_a_fractional_phase_count() -> None:
    doc = fixture_json("flatpeak/device.json")
    doc["properties"]["ev_charger"]["phases"] = 1.5
    assert parse_error(Device.from_json, doc).path == "properties.ev_charger.phases"


def test_device_rejects_non_string_locations() -> None:
    doc = fixture_json("flatpeak/device_created.json")
    doc["locations"] = ["loc_1", 7]
    assert parse_error(Device.from_json, doc).path == "locations[1]"


def test_device_needs_an_id() -> None:
    assert parse_error(Device.from_json, {"id": "  "}).path == "id"


def test_device_state_record() -> None:
    record = DeviceStateRecord.from_json(
        {"id": "dsr_1", "object": "device_state", "device_id": "dev_1", "time_created": None}
    )
    assert (record.id, record.device_id, record.time_created) == ("dsr_1", "dev_1", None)


# Prices and tokens


def test_prices_are_sorted_and_numbers_accepted_as_text() -> None:
    prices = Prices.from_json(fixture_json("flatpeak/prices.json"))

    assert prices.currency_code == "GBP"
    assert prices.direction is TariffDirection.IMPORT
    assert prices.timezone == "Europe/London"
    assert [p.start.minute for p in prices.periods] == [0, 30, 0]
    assert [p.value for p in prices.periods] == [0.26305, 0.2712, 0.28]
    assert prices.periods[2].confidence == 0.8
    assert prices.next_update == utc(2026, 3, 28, 16)


def test_prices_in_the_older_rate_shape() -> None:
    doc = fixture_json("flatpeak/prices.json")
    doc["data"] = [
        {
            "valid_from": "2026-03-28T12:00:00Z",
            "valid_to": "2026-03-28T12:30:00Z",
            "tariff": {"rate": 0.25, "confidence": 1},
        }
    ]
    (period,) = Prices.from_json(doc).periods
    assert (period.value, period.confidence) == (0.25, 1)


def test_a_price_period_without_a_price_is_rejected() -> None:
    doc = fixture_json("flatpeak/prices.json")
    del doc["data"][1]["price"]
    assert parse_error(Prices.from_json, doc).path == "data[1].price"


def test_token_hides_itself_and_needs_a_positive_lifetime() -> None:
    token = Token.from_json({"bearer_token": "eyJ.secret.token", "expires_in": "3600"})
    assert token.expires_in == 3600
    assert token.live_mode is False
    assert "secret" not in repr(token)
    error = parse_error(Token.from_json, {"bearer_token": "x", "expires_in": 0})
    assert error.path == "expires_in"


# The reader's own rules


def test_describe_never_shows_long_strings() -> None:
    assert describe("short") == "'short'"
    assert describe("sk_live_" + "a" * 40) == "a string of 48 characters"
    assert describe(None) == "null"
    assert describe(True) == "true"
    assert describe(False) == "false"
    assert describe(3.5) == "3.5"
    assert describe([1]) == "a list"
    assert describe({}) == "an object"
    assert describe(object()) == "object"


def test_enum_values_are_cleaned() -> None:
    assert parse_enum(" not connected ", TariffStatus) is TariffStatus.NOT_CONNECTED
    assert parse_enum("Not-Connected", TariffStatus) is TariffStatus.NOT_CONNECTED
    assert parse_enum("suspended", TariffStatus) == "SUSPENDED"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-02-02T02:00:00+01:00", utc(2022, 2, 2, 1)),
        ("2022-02-02t02:00:00z", utc(2022, 2, 2, 2)),
        ("2022-02-02T02:00:00", utc(2022, 2, 2, 2)),
        (" " * 60 + "2022-02-02T02:00:00Z" + " " * 60, utc(2022, 2, 2, 2)),
        ("0001-01-01T00:00:00+01:00", None),
        ("2022-02-30T00:00:00Z", None),
        ("x" * 100, None),
    ],
)
def test_timestamps_read_the_same_every_time(text: str, expected: datetime | None) -> None:
    """Parsed strings are remembered (long ones are not): a repeat gives the same answer."""
    assert parse_datetime(text) == expected
    assert parse_datetime(text) == expected


def test_reader_scalars() -> None:
    doc = Reader({"n": "3", "x": 2.5, "s": 42, "e": "", "b": "FALSE", "obj": {"k": 1}})
    assert doc.opt_int("n") == 3
    assert doc.opt_int("missing") is None
    assert doc.opt_string("s") == "42"
    assert doc.opt_enum("e", TariffStatus) is None
    assert doc.boolean("b", default=True) is False
    assert doc.obj("obj").number("k") == 1
    assert doc.raw("x") == 2.5
    for key, method in [("e", doc.enum), ("missing", doc.enum)]:
        with pytest.raises(InvalidResponseError, match="missing"):
            method(key, TariffStatus)
    with pytest.raises(InvalidResponseError, match="whole number"):
        doc.opt_int("x")
    with pytest.raises(InvalidResponseError, match="the field is missing"):
        doc.number("missing")
    with pytest.raises(InvalidResponseError, match="expected a string"):
        Reader({"s": {"a": 1}}).opt_string("s")
