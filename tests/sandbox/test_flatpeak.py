"""Tests of the simulated Flatpeak API over real HTTP."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from itertools import combinations
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sandbox import DEFAULT_VERSION, Sandbox
from sandbox.flatpeak import EV_AVAILABILITY, HEAT_PUMP_AVAILABILITY
from sandbox.tariff import ALWAYS_AVAILABLE

from .conftest import NOW, Client, basic

ERROR_KEYS = {"object", "live_mode", "context", "type", "code", "message", "time_created"}


def assert_error(body: Any, code: str, error_type: str = "invalid_request") -> None:
    assert set(body) == ERROR_KEYS
    assert body["object"] == "error"
    assert body["code"] == code
    assert body["type"] == error_type
    assert body["time_created"] == "2026-03-28T12:00:00Z"


# ----------------------------------------------------------------------- auth


async def test_login_get_and_post(client: Client, sb: Sandbox) -> None:
    for method, path in (("GET", "/login"), ("POST", "/auth/tokens")):
        answer = await client.request(method, path, auth=basic(sb.account_id, sb.api_key))
        assert answer.status == 200
        assert set(answer.body) == {"bearer_token", "expires_in", "live_mode"}
        assert answer.body["expires_in"] == 3600
        assert answer.body["live_mode"] is False
        assert answer.body["bearer_token"].count(".") == 2
        assert answer.headers["flatpeak-version"] == DEFAULT_VERSION
    assert sb.request_counts["login"] == 2


async def test_live_key_sets_live_mode(client: Client, sb: Sandbox) -> None:
    client.token = await client.login(sb.live_api_key)
    answer = await client.request("GET", f"/devices/{sb.device_id}")
    assert answer.body["live_mode"] is True
    answer = await client.request("GET", "/devices/dev_unknown")
    assert answer.body["live_mode"] is True


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer abc",
        "Basic !!!not-base64",
        "Basic " + "bm9jb2xvbg==",  # "nocolon"
        basic("acc_000000000000000000000000", "sk_test_5f2c9e1b7a3d4c68b0e1f2a3"),
        basic("acc_5b1d5a7e9c0f4e2a8d3b6c71", "sk_test_wrong"),
    ],
)
async def test_login_refuses_bad_credentials(client: Client, header: str | None) -> None:
    answer = await client.request("GET", "/login", auth=header)
    assert answer.status == 401
    assert_error(answer.body, "invalid_credentials")
    assert answer.body["context"] == "api.login"


async def test_revoked_and_added_keys(client: Client, sb: Sandbox) -> None:
    sb.revoke_key(sb.api_key)
    answer = await client.request("GET", "/login", auth=basic(sb.account_id, sb.api_key))
    assert answer.status == 401
    sb.add_key("sk_live_another")
    answer = await client.request("GET", "/login", auth=basic(sb.account_id, "sk_live_another"))
    assert answer.status == 200
    assert answer.body["live_mode"] is True
    with pytest.raises(ValueError, match="start with"):
        sb.add_key("pk_nope")


async def test_bearer_required(client: Client, sb: Sandbox) -> None:
    path = f"/devices/{sb.device_id}"
    for header in (None, "Bearer ", "Token abc", "Bearer not-a-token"):
        answer = await client.request("GET", path, auth=header)
        assert answer.status == 401
        assert_error(answer.body, "unauthorized")


async def test_tokens_expire_with_the_clock(client: Client, sb: Sandbox) -> None:
    sb.token_lifetime_s = 60
    token = await client.login()
    client.token = token
    answer = await client.request("GET", f"/devices/{sb.device_id}")
    assert answer.status == 200
    sb.clock.advance(timedelta(seconds=59))
    assert (await client.request("GET", f"/devices/{sb.device_id}")).status == 200
    sb.clock.advance(timedelta(seconds=1))
    answer = await client.request("GET", f"/devices/{sb.device_id}")
    assert answer.status == 401
    assert "expired" in answer.body["message"]
    answer = await client.request("GET", "/login", auth=basic(sb.account_id, sb.api_key))
    assert answer.body["expires_in"] == 60


async def test_expire_tokens(client: Client, sb: Sandbox) -> None:
    client.token = await client.login()
    sb.expire_tokens()
    assert (await client.request("GET", f"/devices/{sb.device_id}")).status == 401
    client.token = await client.login()
    assert (await client.request("GET", f"/devices/{sb.device_id}")).status == 200


# ------------------------------------------------------------------ versions


@pytest.mark.parametrize(
    ("requested", "status", "echoed"),
    [
        (None, 200, DEFAULT_VERSION),
        ("2026-08-01.busbar", 200, "2026-08-01.busbar"),
        ("2025-09-14.anode", 422, DEFAULT_VERSION),
        ("2024-08-24.zero", 422, DEFAULT_VERSION),
        ("2031-01-01.future", 422, DEFAULT_VERSION),
    ],
)
async def test_versions(
    client: Client, sb: Sandbox, requested: str | None, status: int, echoed: str
) -> None:
    headers = {} if requested is None else {"Flatpeak-Version": requested}
    answer = await client.request("GET", f"/devices/{sb.device_id}", headers=headers)
    assert answer.status == status
    assert answer.headers["flatpeak-version"] == echoed
    if status == 422:
        code = "api_version_invalid" if "future" in str(requested) else "api_version_not_supported"
        assert_error(answer.body, code)
        assert answer.body["context"] == "api"


async def test_newer_known_version_is_echoed(client: Client, sb: Sandbox) -> None:
    sb.flatpeak.default_version = "2025-09-14.anode"
    answer = await client.request(
        "GET", f"/devices/{sb.device_id}", headers={"Flatpeak-Version": "2026-08-01.busbar"}
    )
    assert answer.status == 200
    assert answer.headers["flatpeak-version"] == "2026-08-01.busbar"


# -------------------------------------------------------------------- routes


async def test_unknown_route_and_method(client: Client) -> None:
    answer = await client.request("GET", "/nowhere")
    assert answer.status == 404
    assert_error(answer.body, "not_found")
    assert answer.headers["flatpeak-version"] == DEFAULT_VERSION
    answer = await client.request("GET", "/schedules/soc")
    assert answer.status == 405
    assert_error(answer.body, "method_not_allowed")
    assert answer.headers["Allow"] == "POST"
    assert client.sb.request_counts["unmatched"] == 2


# ------------------------------------------------------------------- devices

DEVICE_BODY: dict[str, Any] = {
    "reference_id": "DEV1234567890",
    "type": "BATTERY_SYSTEM",
    "locations": ["loc_5b1d5a7e9c0f4e2a8d3b6c73"],
    "manufacturer": "Nova Systems",
    "model_code": "PICOXN2",
    "model_name": "Pico Ultimate",
    "properties": {
        "power_rating_import_kwh": 14.2,
        "capacity_kwh": 123,
        "power_rating_export_kwh": 7,
        "pv_azimuth": 0,
        "pv_tilt": 23,
        "pv_terrain_shading": False,
        "pv_forecasts_enabled": False,
        "install_date": "2022-03-22T11:12:21Z",
    },
}


async def test_demo_device_in_yotta_shape(client: Client, sb: Sandbox) -> None:
    answer = await client.request("GET", f"/devices/{sb.device_id}")
    assert answer.status == 200
    device = answer.body
    assert set(device) == {
        "id",
        "object",
        "live_mode",
        "controlled",
        "type",
        "locations",
        "properties",
        "consents",
        "timezone",
        "geo_location",
        "vpp_participation",
        "time_created",
        "reference_id",
        "last_seen",
    }
    assert device["type"] == "BATTERY_SYSTEM"
    assert device["locations"] == [sb.location_id]
    assert device["properties"]["battery"] == {
        "capacity_kwh": 13.5,
        "power_kw": 5.0,
        "charge_power_kw": 5.0,
        "discharge_power_kw": 5.0,
        "round_trip_efficiency": 0.9,
    }
    assert "pv" not in device["properties"]
    assert device["properties"]["inverter"] == {"ac_export_limit_kw": 5.0}
    assert device["vpp_participation"]["current_state"] == "ACTIVE"
    assert device["timezone"] == "Europe/London"


async def test_create_device(client: Client, sb: Sandbox) -> None:
    answer = await client.request("POST", "/devices", json=DEVICE_BODY)
    assert answer.status == 201
    created = answer.body
    assert created["id"].startswith("dev_")
    assert len(created["id"]) == 28
    assert created["object"] == "device"
    assert created["account_id"] == sb.account_id
    assert created["properties"] == DEVICE_BODY["properties"]
    assert created["time_created"] == "2026-03-28T12:00:00Z"
    for key in ("reference_id", "type", "locations", "manufacturer", "model_code", "model_name"):
        assert created[key] == DEVICE_BODY[key]
    fetched = (await client.request("GET", f"/devices/{created['id']}")).body
    assert fetched["properties"]["battery"]["capacity_kwh"] == 123
    assert fetched["properties"]["battery"]["charge_power_kw"] == 14.2
    assert fetched["properties"]["pv"]["tilt"] == 23
    assert fetched["vpp_participation"] is None
    # The same seed creates the same ids.
    other = Sandbox(seed=1, now=NOW)
    assert other.flatpeak._add_device(DEVICE_BODY).id == created["id"]


async def test_create_other_device_types(client: Client) -> None:
    charger = {
        "reference_id": "EVSE-1",
        "type": "EV_CHARGER",
        "locations": ["loc_5b1d5a7e9c0f4e2a8d3b6c73"],
        "properties": {"power_rating_import_kwh": 7.4},
    }
    created = (await client.request("POST", "/devices", json=charger)).body
    fetched = (await client.request("GET", f"/devices/{created['id']}")).body
    assert fetched["properties"]["ev_charger"]["max_power_kw"] == 7.4
    assert fetched["properties"]["ev_charger"]["v2g_capable"] is False
    assert "battery" not in fetched["properties"]
    assert created["manufacturer"] is None
    solar = {"reference_id": "PV-1", "type": "PV_SYSTEM", "locations": charger["locations"]}
    created = (await client.request("POST", "/devices", json=solar)).body
    fetched = (await client.request("GET", f"/devices/{created['id']}")).body
    assert fetched["properties"]["pv"]["peak_power_kw"] is None
    assert "inverter" not in fetched["properties"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"reference_id": None}, "reference_id_missing"),
        ({"reference_id": ""}, "reference_id_invalid"),
        ({"type": None}, "type_missing"),
        ({"type": "battery_system"}, "type_invalid"),
        ({"locations": None}, "locations_missing"),
        ({"locations": []}, "locations_invalid"),
        ({"locations": "loc_5b1d5a7e9c0f4e2a8d3b6c73"}, "locations_invalid"),
        ({"locations": ["LOC-1"]}, "locations_invalid"),
        ({"locations": ["loc_000000000000000000000000"]}, "locations_invalid"),
        ({"manufacturer": 7}, "manufacturer_invalid"),
        ({"properties": []}, "properties_invalid"),
        ({"properties": {"capacity_kwh": -1}}, "capacity_kwh_invalid"),
        ({"properties": {"capacity_kwh": "big"}}, "capacity_kwh_invalid"),
        ({"properties": {"pv_terrain_shading": "no"}}, "pv_terrain_shading_invalid"),
        ({"properties": {"install_date": "2022-03-22"}}, "install_date_invalid"),
    ],
)
async def test_create_device_validation(client: Client, change: dict[str, Any], code: str) -> None:
    body = {**DEVICE_BODY, **change}
    body = {key: value for key, value in body.items() if value is not None}
    answer = await client.request("POST", "/devices", json=body)
    assert answer.status == 422
    assert_error(answer.body, code)
    assert answer.body["context"] == "api.device_create"


async def test_bad_bodies(client: Client) -> None:
    answer = await client.request(
        "POST", "/devices", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert answer.status == 400
    assert_error(answer.body, "invalid_json")
    answer = await client.request("POST", "/devices", json=[1, 2])
    assert answer.status == 422
    assert_error(answer.body, "body_invalid")
    answer = await client.request("POST", "/devices")
    assert answer.status == 422
    assert_error(answer.body, "reference_id_missing")


async def test_device_ids_are_checked(client: Client) -> None:
    answer = await client.request("GET", "/devices/dev_000000000000000000000000")
    assert answer.status == 404
    assert_error(answer.body, "not_found")
    answer = await client.request("GET", "/devices/DEV-1")
    assert answer.status == 422
    assert_error(answer.body, "device_id_invalid")


async def test_list_devices_and_pagination(client: Client, sb: Sandbox) -> None:
    # The account's three devices, then four more.
    ids = list(sb.device_ids)
    for index in range(4):
        body = {**DEVICE_BODY, "reference_id": f"REF-{index % 2}"}
        ids.append((await client.request("POST", "/devices", json=body)).body["id"])
    newest_first = ids[::-1]
    answer = await client.request("GET", "/devices")
    assert answer.body["object"] == "list"
    assert answer.body["url"] == "/devices"
    assert answer.body["has_more"] is False
    assert [d["id"] for d in answer.body["data"]] == newest_first
    assert answer.body["data"][0]["object"] == "device"
    page = (await client.request("GET", "/devices?limit=2")).body
    assert [d["id"] for d in page["data"]] == newest_first[:2]
    assert page["has_more"] is True
    page = (await client.request("GET", f"/devices?limit=2&starting_after={newest_first[1]}")).body
    assert [d["id"] for d in page["data"]] == newest_first[2:4]
    assert page["has_more"] is True
    page = (await client.request("GET", f"/devices?limit=2&starting_after={newest_first[3]}")).body
    assert [d["id"] for d in page["data"]] == newest_first[4:6]
    assert page["has_more"] is True
    page = (await client.request("GET", f"/devices?limit=2&starting_after={newest_first[5]}")).body
    assert [d["id"] for d in page["data"]] == newest_first[6:]
    assert page["has_more"] is False
    page = (await client.request("GET", f"/devices?limit=2&ending_before={newest_first[4]}")).body
    assert [d["id"] for d in page["data"]] == newest_first[2:4]
    assert page["has_more"] is True
    page = (await client.request("GET", f"/devices?limit=2&ending_before={newest_first[1]}")).body
    assert [d["id"] for d in page["data"]] == newest_first[:1]
    assert page["has_more"] is False
    page = (await client.request("GET", "/devices?reference_id=REF-1")).body
    assert [d["id"] for d in page["data"]] == [ids[6], ids[4]]


async def test_the_account_holds_a_battery_an_ev_charger_and_a_heat_pump(
    client: Client, sb: Sandbox
) -> None:
    answer = await client.request("GET", "/devices")
    assert answer.body["has_more"] is False
    devices = {device["id"]: device for device in answer.body["data"]}
    # Newest first: the battery was registered first.
    assert list(devices) == [sb.heat_pump_id, sb.ev_charger_id, sb.device_id]
    assert sb.device_ids == (sb.device_id, sb.ev_charger_id, sb.heat_pump_id)
    assert all(device["locations"] == [sb.location_id] for device in devices.values())
    assert len({device["reference_id"] for device in devices.values()}) == 3
    battery, charger, heat_pump = (devices[device_id] for device_id in sb.device_ids)
    assert battery["type"] == "BATTERY_SYSTEM"
    assert battery["properties"]["model_name"] == "Pico Ultimate"
    assert charger["type"] == "EV_CHARGER"
    assert (charger["properties"]["manufacturer"], charger["properties"]["model_name"]) == (
        "Voltline",
        "Sprint 7",
    )
    assert charger["properties"]["ev_charger"] == {
        "max_power_kw": 7.4,
        "min_power_kw": 1.4,
        "phases": 1,
        "phase_switching": False,
        "v2g_capable": False,
    }
    assert heat_pump["type"] == "OTHER"
    assert (heat_pump["properties"]["manufacturer"], heat_pump["properties"]["model_name"]) == (
        "Borealis Heat",
        "Aurora 6",
    )
    assert heat_pump["properties"]["heat_pump"] == {
        "max_power_kw": 3.0,
        "min_power_kw": 0.8,
        "thermal_storage_litres": 200,
    }
    # Each has only its own subsystem; only the battery is in a VPP programme.
    for device, block in ((charger, "ev_charger"), (heat_pump, "heat_pump")):
        blocks = {"battery", "pv", "inverter", "ev_charger", "heat_pump"} & set(
            device["properties"]
        )
        assert blocks == {block}
        assert device["vpp_participation"] is None
        assert (await client.request("GET", f"/devices/{device['id']}")).body == device


async def test_paging_through_the_three_devices(client: Client, sb: Sandbox) -> None:
    seen: list[str] = []
    query = "limit=1"
    while True:
        page = (await client.request("GET", f"/devices?{query}")).body
        seen += [device["id"] for device in page["data"]]
        if not page["has_more"]:
            break
        query = f"limit=1&starting_after={seen[-1]}"
    assert seen == [sb.heat_pump_id, sb.ev_charger_id, sb.device_id]
    page = (await client.request("GET", "/devices?reference_id=SANDBOX-EV-CHARGER-1")).body
    assert [device["id"] for device in page["data"]] == [sb.ev_charger_id]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("limit=0", "limit_invalid"),
        ("limit=101", "limit_invalid"),
        ("limit=ten", "limit_invalid"),
        ("starting_after=dev_x&ending_before=dev_y", "pagination_invalid"),
        ("starting_after=dev_unknown", "starting_after_invalid"),
        ("ending_before=dev_unknown", "ending_before_invalid"),
    ],
)
async def test_list_devices_validation(client: Client, query: str, code: str) -> None:
    answer = await client.request("GET", f"/devices?{query}")
    assert answer.status == 422
    assert_error(answer.body, code)


# --------------------------------------------------------------- device state


def state_body(**change: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "time": "2026-03-28T12:00:00Z",
        "state_of_charge_percent": 60,
        "target_state_of_charge_percent": 80,
        "location_id": "loc_5b1d5a7e9c0f4e2a8d3b6c73",
        "record_reference_id": "rec-1",
        "energy_flow_direction": "IMPORT",
        "battery_power_kw": -1.5,
        "energy_remaining_kwh": 8.1,
        "backup_reserve_percent": 10,
    }
    body.update(change)
    return {key: value for key, value in body.items() if value is not None}


async def test_submit_device_state(client: Client, sb: Sandbox) -> None:
    sb.clock.advance(timedelta(minutes=3))
    answer = await client.request("PUT", f"/devices/{sb.device_id}/state", json=state_body())
    assert answer.status == 200
    assert set(answer.body) == {"id", "object", "device_id", "account_id", "time_created"}
    assert answer.body["id"].startswith("dsr_")
    assert answer.body["object"] == "device_state"
    assert answer.body["device_id"] == sb.device_id
    state = sb.state()["device_state"]
    assert state["soc_percent"] == 60
    assert state["target_percent"] == 80
    assert state["record_reference_id"] == "rec-1"
    device = (await client.request("GET", f"/devices/{sb.device_id}")).body
    assert device["last_seen"] == "2026-03-28T12:03:00Z"
    # The schedule now needs 20 % of 13.5 kWh.
    schedule = await client.request(
        "POST", f"/schedules/soc/{sb.device_id}", json={"location_id": sb.location_id}
    )
    assert schedule.body["data"][0]["energy"]["value"] == 2700
    minimal = state_body(
        location_id=None,
        record_reference_id=None,
        energy_flow_direction=None,
        battery_power_kw=None,
        energy_remaining_kwh=None,
        backup_reserve_percent=None,
    )
    answer = await client.request("PUT", f"/devices/{sb.device_id}/state", json=minimal)
    assert answer.status == 200


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"time": None}, "time_missing"),
        ({"time": "2026-03-28T12:00:00"}, "time_invalid"),
        ({"state_of_charge_percent": None}, "state_of_charge_percent_missing"),
        ({"state_of_charge_percent": 101}, "state_of_charge_percent_invalid"),
        ({"state_of_charge_percent": True}, "state_of_charge_percent_invalid"),
        ({"target_state_of_charge_percent": None}, "target_state_of_charge_percent_missing"),
        ({"target_state_of_charge_percent": "90"}, "target_state_of_charge_percent_invalid"),
        ({"location_id": "loc_000000000000000000000000"}, "location_id_invalid"),
        ({"location_id": "somewhere"}, "location_id_invalid"),
        ({"record_reference_id": 5}, "record_reference_id_invalid"),
        ({"energy_flow_direction": "import"}, "energy_flow_direction_invalid"),
        ({"battery_power_kw": "fast"}, "battery_power_kw_invalid"),
        ({"energy_remaining_kwh": -1}, "energy_remaining_kwh_invalid"),
        ({"backup_reserve_percent": -5}, "backup_reserve_percent_invalid"),
    ],
)
async def test_device_state_validation(
    client: Client, sb: Sandbox, change: dict[str, Any], code: str
) -> None:
    body = state_body(**change)
    for key, value in change.items():
        if value is None:
            body.pop(key, None)
    answer = await client.request("PUT", f"/devices/{sb.device_id}/state", json=body)
    assert answer.status == 422
    assert_error(answer.body, code)


def test_set_device_state_checks_values(sb: Sandbox) -> None:
    with pytest.raises(ValueError, match="0 to 100"):
        sb.set_device_state(soc_percent=120, target_percent=90)
    sb.set_device_state(soc_percent=50, target_percent=70)
    assert sb.state()["device_state"]["submitted"] is True


# ----------------------------------------------------------------- locations


async def test_location(client: Client, sb: Sandbox) -> None:
    answer = await client.request("GET", f"/locations/{sb.location_id}")
    assert answer.status == 200
    location = answer.body
    assert location["object"] == "location"
    assert location["timezone"] == "Europe/London"
    assert location["currency_code"] == "GBP"
    assert location["postal_address"]["country_code"] == "GB"
    assert set(location["geo_location"]) == {"lat", "lng"}
    assert location["tariff_status"] == {
        "commodity_import": "CONNECTED",
        "commodity_export": "CONNECTED",
        "non_commodity_import": "NOT_CONNECTED",
        "non_commodity_export": "NOT_SUPPORTED",
        "local": "NOT_SUPPORTED",
    }
    assert len(location["tariff_elements"]) == 2
    assert all(element.startswith("trf_") for element in location["tariff_elements"])
    answer = await client.request("GET", "/locations/loc_000000000000000000000000")
    assert answer.status == 404
    assert_error(answer.body, "not_found")


async def test_location_status_shape(client: Client, sb: Sandbox) -> None:
    answer = await client.request("GET", f"/locations/{sb.location_id}/status")
    assert answer.status == 200
    status = answer.body
    assert set(status) == {
        "id",
        "object",
        "live_mode",
        "time_created",
        "account_id",
        "tariff_status",
    }
    assert status["object"] == "location_status"
    elements = status["tariff_status"]
    assert elements["commodity_import"] == {
        "status": "CONNECTED",
        "connection_type": "DIRECT",
        "provider": {
            "id": "prv_63a6087272921ef075a8fd3e",
            "display_name": "Octopus Energy",
            "logo_url": "https://s.flatpeak.com/83b06a60e38c2.png",
        },
        "tariff": {
            "id": "trf_5b1d5a7e9c0f4e2a8d3b6c81",
            "display_name": "Intelligent Night 2026",
            "structure_type": "TIME_OF_DAY",
            "contract_end_date": "2027-03-28T00:00:00Z",
        },
    }
    assert elements["commodity_export"]["connection_type"] == "MANUAL"
    assert elements["commodity_export"]["provider"]["display_name"] == "E.ON Next"
    assert elements["commodity_export"]["tariff"]["structure_type"] == "FIXED"
    assert elements["non_commodity_import"] == {"status": "NOT_CONNECTED"}
    assert elements["non_commodity_export"] == {"status": "NOT_SUPPORTED"}
    assert elements["local"] == {"status": "NOT_SUPPORTED"}


async def test_tariff_status_changes(client: Client, sb: Sandbox) -> None:
    sb.set_tariff_status("commodity_export", "CONNECTED ")
    sb.set_tariff_status("non_commodity_import", "ERROR")
    sb.set_tariff_status("commodity_import", "PENDING")
    elements = (await client.request("GET", f"/locations/{sb.location_id}/status")).body[
        "tariff_status"
    ]
    assert elements["commodity_export"]["status"] == "CONNECTED "
    assert "tariff" in elements["commodity_export"]
    assert elements["non_commodity_import"]["tariff"]["display_name"] == "Network Fee"
    assert elements["commodity_import"] == {"status": "PENDING"}
    with pytest.raises(ValueError, match="unknown tariff element"):
        sb.set_tariff_status("gas", "CONNECTED")


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("NOT_CONNECTED", "no_tariff_connected"),
        ("NOT_SUPPORTED", "no_tariff_connected"),
        ("PENDING", "pending_connect"),
        ("ERROR", "no_price_data"),
        ("WEIRD", "no_tariff_connected"),
    ],
)
async def test_price_endpoints_need_a_tariff(
    client: Client, sb: Sandbox, status: str, code: str
) -> None:
    sb.set_tariff_status("commodity_import", status)
    answer = await client.request(
        "POST", f"/schedules/soc/{sb.device_id}", json={"location_id": sb.location_id}
    )
    assert answer.status == 422
    assert_error(answer.body, code)
    answer = await client.request(
        "POST", f"/prices/{sb.location_id}", json={"end_time": "2026-03-29T00:00:00Z"}
    )
    assert answer.status == 422
    assert_error(answer.body, code)
    # Export is a separate element and still connected.
    answer = await client.request(
        "POST",
        f"/prices/{sb.location_id}",
        json={"end_time": "2026-03-29T00:00:00Z", "tariff_direction": "EXPORT"},
    )
    assert answer.status == 200


# ----------------------------------------------------------------- schedules


async def test_schedule_by_soc_shape(client: Client, sb: Sandbox) -> None:
    answer = await client.request(
        "POST",
        f"/schedules/soc/{sb.device_id}",
        json={"location_id": sb.location_id, "schedule_horizon": 48},
    )
    assert answer.status == 200
    body = answer.body
    assert set(body) == {
        "id",
        "object",
        "live_mode",
        "device_id",
        "location_id",
        "location_timezone",
        "currency_code",
        "time_created",
        "account_id",
        "data",
        "request",
    }
    assert body["id"].startswith("ssc_")
    assert body["object"] == "schedule_soc"
    assert body["location_timezone"] == "Europe/London"
    assert body["currency_code"] == "GBP"
    assert body["request"] == {"schedule_horizon": "48"}
    assert len(body["data"]) == 3
    session = body["data"][0]
    assert set(session) == {"start_time", "end_time", "energy", "cost", "schedule"}
    assert session["start_time"] == "2026-03-28T12:00:00Z"
    assert session["end_time"] == "2026-03-29T06:00:00Z"
    assert session["energy"] == {"units": "WH", "value": 9450}
    assert set(session["cost"]) == {"value", "confidence"}
    assert session["cost"]["confidence"] == 1
    slot = session["schedule"][0]
    assert set(slot) == {"start_time", "end_time", "power", "vpp_event"}
    assert slot["power"] == {"units": "W", "value": 5000}
    assert slot["vpp_event"] is False
    assert slot["start_time"].endswith("Z")
    assert sb.request_counts["schedule_soc"] == 1


async def test_schedule_variant_with_device_in_body(client: Client, sb: Sandbox) -> None:
    answer = await client.request(
        "POST", "/schedules/soc", json={"device_id": sb.device_id, "schedule_horizon": 12.5}
    )
    assert answer.status == 200
    assert answer.body["location_id"] == sb.location_id
    assert answer.body["request"] == {"schedule_horizon": "12.5"}
    assert answer.body["data"][0]["end_time"] == "2026-03-29T00:30:00Z"
    answer = await client.request("POST", "/schedules/soc", json={})
    assert answer.status == 422
    assert_error(answer.body, "device_id_missing")
    answer = await client.request(
        "POST", "/schedules/soc", json={"device_id": sb.device_id, "schedule_horizon": "24"}
    )
    assert answer.body["request"] == {"schedule_horizon": "24"}
    answer = await client.request("POST", "/schedules/soc", json={"device_id": sb.device_id})
    assert answer.body["request"] == {"schedule_horizon": "24"}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 422, "location_id_missing"),
        ({"location_id": "loc_000000000000000000000000"}, 404, "not_found"),
        ({"location_id": "home"}, 422, "location_id_invalid"),
        (
            {"location_id": "loc_5b1d5a7e9c0f4e2a8d3b6c73", "schedule_horizon": 0},
            422,
            "schedule_horizon_invalid",
        ),
        (
            {"location_id": "loc_5b1d5a7e9c0f4e2a8d3b6c73", "schedule_horizon": "x"},
            422,
            "schedule_horizon_invalid",
        ),
        (
            {"location_id": "loc_5b1d5a7e9c0f4e2a8d3b6c73", "schedule_horizon": True},
            422,
            "schedule_horizon_invalid",
        ),
        (
            {"location_id": "loc_5b1d5a7e9c0f4e2a8d3b6c73", "schedule_horizon": "inf"},
            422,
            "schedule_horizon_invalid",
        ),
        (
            {"location_id": "loc_5b1d5a7e9c0f4e2a8d3b6c73", "schedule_horizon": [1]},
            422,
            "schedule_horizon_invalid",
        ),
    ],
)
async def test_schedule_validation(
    client: Client, sb: Sandbox, body: dict[str, Any], status: int, code: str
) -> None:
    answer = await client.request("POST", f"/schedules/soc/{sb.device_id}", json=body)
    assert answer.status == status
    assert_error(answer.body, code)
    assert answer.body["context"] == "api.schedule_soc"


async def test_schedule_for_devices_without_what_it_needs(client: Client, sb: Sandbox) -> None:
    other_location = "loc_5b1d5a7e9c0f4e2a8d3b6c99"
    sb.flatpeak.locations[other_location] = replace(
        sb.flatpeak.locations[sb.location_id], id=other_location
    )
    answer = await client.request(
        "POST", f"/schedules/soc/{sb.device_id}", json={"location_id": other_location}
    )
    assert answer.status == 422
    assert_error(answer.body, "location_id_invalid")
    charger = {"reference_id": "EVSE", "type": "EV_CHARGER", "locations": [sb.location_id]}
    created = (await client.request("POST", "/devices", json=charger)).body
    answer = await client.request(
        "POST", f"/schedules/soc/{created['id']}", json={"location_id": sb.location_id}
    )
    assert answer.status == 422
    assert_error(answer.body, "device_properties_missing")
    no_power = {
        "reference_id": "BAT",
        "type": "BATTERY_SYSTEM",
        "locations": [sb.location_id],
        "properties": {"capacity_kwh": 10},
    }
    created = (await client.request("POST", "/devices", json=no_power)).body
    answer = await client.request(
        "POST", f"/schedules/soc/{created['id']}", json={"location_id": sb.location_id}
    )
    assert answer.status == 422
    assert_error(answer.body, "device_properties_missing")


async def test_schedule_empty_when_charged(client: Client, sb: Sandbox) -> None:
    sb.set_device_state(soc_percent=95, target_percent=90)
    answer = await client.request(
        "POST", f"/schedules/soc/{sb.device_id}", json={"location_id": sb.location_id}
    )
    assert answer.status == 200
    assert answer.body["data"] == []


async def test_schedule_override_and_shift(client: Client, sb: Sandbox) -> None:
    override: list[Any] = [
        {
            "start_time": "2026-03-28T12:00:00Z",
            "end_time": "2026-03-28T18:00:00Z",
            "energy": {"units": "WH", "value": 1000},
            "cost": {"value": 0.1, "confidence": 1},
            "schedule": [
                {
                    "start_time": "2026-03-28T12:05:00Z",
                    "end_time": "not a time",
                    "power": {"units": "W", "value": 3000},
                    "vpp_event": True,
                }
            ],
        },
        "junk",
    ]
    sb.set_schedule_override(override)
    override[0]["energy"] = "changed after the fact"
    path, body = f"/schedules/soc/{sb.device_id}", {"location_id": sb.location_id}
    data = (await client.request("POST", path, json=body)).body["data"]
    assert data[0]["energy"] == {"units": "WH", "value": 1000}
    assert data[1] == "junk"
    sb.shift_schedule(timedelta(minutes=-10))
    data = (await client.request("POST", path, json=body)).body["data"]
    assert data[0]["start_time"] == "2026-03-28T11:50:00Z"
    assert data[0]["schedule"][0]["start_time"] == "2026-03-28T11:55:00Z"
    assert data[0]["schedule"][0]["end_time"] == "not a time"
    sb.set_schedule_override(None)
    data = (await client.request("POST", path, json=body)).body["data"]
    assert data[0]["start_time"] == "2026-03-28T11:50:00Z"
    assert data[0]["energy"]["value"] == 9450
    sb.shift_schedule(timedelta(0))
    data = (await client.request("POST", path, json=body)).body["data"]
    assert data[0]["start_time"] == "2026-03-28T12:00:00Z"


async def schedule_of(client: Client, device_id: str) -> list[Any]:
    answer = await client.request(
        "POST", f"/schedules/soc/{device_id}", json={"location_id": client.sb.location_id}
    )
    assert answer.status == 200, answer.text
    assert answer.body["device_id"] == device_id
    data: list[Any] = answer.body["data"]
    return data


def local_time(text: str) -> str:
    moment = datetime.fromisoformat(text).astimezone(ZoneInfo("Europe/London"))
    return f"{moment:%H:%M}"


def slots_of(data: list[Any]) -> list[tuple[str, str, int]]:
    return [
        (slot["start_time"], slot["end_time"], slot["power"]["value"])
        for session in data
        for slot in session["schedule"]
    ]


async def test_each_device_has_a_plan_of_its_own(client: Client, sb: Sandbox) -> None:
    battery, charger, heat_pump = [await schedule_of(client, d) for d in sb.device_ids]

    # The battery: available now, charged by 07:00, 9.45 kWh a session at 5 kW. (The
    # last session of each ends with the 24-hour horizon, at 13:00 in summer time.)
    assert [local_time(session["end_time"]) for session in battery] == ["07:00", "13:00"]
    assert battery[0]["start_time"] == "2026-03-28T12:00:00Z"
    assert {session["energy"]["value"] for session in battery} == {9450}
    assert {power for _, _, power in slots_of(battery)} == {5000}
    # The car: plugged in from 18:00 to 07:30, 27 kWh (35 % to 80 % of 60 kWh) at 7.4 kW.
    assert [(local_time(s["start_time"]), local_time(s["end_time"])) for s in charger] == [
        ("18:00", "07:30")
    ]
    assert charger[0]["energy"] == {"units": "WH", "value": 27000}
    assert {power for _, _, power in slots_of(charger)} == {7400}
    # The heat pump: its store hot by 17:30 and by 06:30, 2.6 kWh a session at 3 kW.
    assert [local_time(session["end_time"]) for session in heat_pump] == [
        "17:30",
        "06:30",
        "13:00",
    ]
    assert {session["energy"]["value"] for session in heat_pump} == {2616}
    assert {power for _, _, power in slots_of(heat_pump)} == {3000}
    # Three different plans, and no slot in common.
    plans = [set(slots_of(plan)) for plan in (battery, charger, heat_pump)]
    assert all(not a & b for a, b in combinations(plans, 2))


async def test_an_ev_charger_registered_with_its_car_gets_an_evening_plan(
    client: Client, sb: Sandbox
) -> None:
    charger = {
        "reference_id": "EVSE-2",
        "type": "EV_CHARGER",
        "locations": [sb.location_id],
        "properties": {"power_rating_import_kwh": 11, "capacity_kwh": 40},
    }
    created = (await client.request("POST", "/devices", json=charger)).body
    (session,) = await schedule_of(client, created["id"])
    assert (local_time(session["start_time"]), local_time(session["end_time"])) == (
        "18:00",
        "07:30",
    )
    assert session["energy"]["value"] == 28000  # 20 % to 90 % of the car's 40 kWh
    assert {power for _, _, power in slots_of([session])} == {11000}


def test_charge_specs(sb: Sandbox) -> None:
    devices = sb.flatpeak.devices
    battery, charger, heat_pump = (devices[device_id] for device_id in sb.device_ids)
    assert battery.charge_spec() == (13.5, 5.0, ALWAYS_AVAILABLE)
    assert charger.charge_spec() == (60.0, 7.4, EV_AVAILABILITY)
    spec = heat_pump.charge_spec()
    assert spec is not None
    assert spec.capacity_kwh == pytest.approx(3.488, abs=1e-3)
    assert (spec.power_kw, spec.availability) == (3.0, HEAT_PUMP_AVAILABILITY)
    # A heat pump whose store or power is unknown, and a solar system: nothing to plan.
    for name, value in (("thermal_storage_litres", None), ("max_power_kw", 0)):
        changed = replace(heat_pump, blocks={"heat_pump": {**heat_pump.blocks["heat_pump"]}})
        changed.blocks["heat_pump"][name] = value
        assert changed.charge_spec() is None
    solar = {"reference_id": "PV", "type": "PV_SYSTEM", "locations": [sb.location_id]}
    assert sb.flatpeak._add_device(solar).charge_spec() is None


async def test_device_state_is_per_device(client: Client, sb: Sandbox) -> None:
    before = {device_id: await schedule_of(client, device_id) for device_id in sb.device_ids}
    answer = await client.request(
        "PUT",
        f"/devices/{sb.ev_charger_id}/state",
        json=state_body(state_of_charge_percent=70, target_state_of_charge_percent=80),
    )
    assert answer.status == 200
    sb.set_device_state(soc_percent=0, target_percent=100, device_id=sb.heat_pump_id)

    after = {device_id: await schedule_of(client, device_id) for device_id in sb.device_ids}
    assert after[sb.device_id] == before[sb.device_id]
    assert after[sb.ev_charger_id][0]["energy"]["value"] == 6000  # 10 % of 60 kWh
    assert after[sb.heat_pump_id][0]["energy"]["value"] == 3488  # the whole store
    assert sb.flatpeak.device_state(sb.ev_charger_id)["record_reference_id"] == "rec-1"
    assert sb.state()["device_state"] == {
        "submitted": False,
        "soc_percent": 20,
        "target_percent": 90,
    }
    assert sb.state()["device_states"][sb.heat_pump_id]["submitted"] is True
    with pytest.raises(ValueError, match="unknown device"):
        sb.set_device_state(10, 20, device_id="dev_000000000000000000000000")


def session_at(start: str, slot_start: str, power_w: int) -> dict[str, Any]:
    return {
        "start_time": start,
        "end_time": "2026-03-28T18:00:00Z",
        "energy": {"units": "WH", "value": 1000},
        "cost": {"value": 0.1, "confidence": 1},
        "schedule": [
            {
                "start_time": slot_start,
                "end_time": "2026-03-28T13:00:00Z",
                "power": {"units": "W", "value": power_w},
                "vpp_event": False,
            }
        ],
    }


async def test_a_schedule_override_for_one_device(client: Client, sb: Sandbox) -> None:
    computed = {device_id: await schedule_of(client, device_id) for device_id in sb.device_ids}
    mine = [session_at("2026-03-28T12:00:00Z", "2026-03-28T12:30:00Z", 7400)]
    shared = [session_at("2026-03-28T12:00:00Z", "2026-03-28T12:10:00Z", 2000)]

    sb.set_schedule_override(mine, device_id=sb.ev_charger_id)
    assert await schedule_of(client, sb.ev_charger_id) == mine
    for device_id in (sb.device_id, sb.heat_pump_id):
        assert await schedule_of(client, device_id) == computed[device_id]

    # One for every device, then one of the device's own: that comes first.
    sb.set_schedule_override(shared)
    sb.set_schedule_override(mine, device_id=sb.ev_charger_id)
    assert await schedule_of(client, sb.ev_charger_id) == mine
    assert await schedule_of(client, sb.device_id) == shared
    # Dropping the device's own: it is served what every device is.
    sb.set_schedule_override(None, device_id=sb.ev_charger_id)
    assert await schedule_of(client, sb.ev_charger_id) == shared

    # Without a device, an override is for every device and replaces their own.
    sb.set_schedule_override(mine, device_id=sb.heat_pump_id)
    sb.set_schedule_override(shared)
    for device_id in sb.device_ids:
        assert await schedule_of(client, device_id) == shared
    sb.set_schedule_override(None)
    for device_id in sb.device_ids:
        assert await schedule_of(client, device_id) == computed[device_id]
    assert sb.schedule_state() == {"override": False, "shift_s": 0, "devices": {}}
    with pytest.raises(ValueError, match="unknown device"):
        sb.set_schedule_override(mine, device_id="dev_000000000000000000000000")


async def test_each_device_can_be_given_its_own_windows(client: Client, sb: Sandbox) -> None:
    windows = {
        sb.device_id: [session_at("2026-03-28T12:00:00Z", "2026-03-28T12:15:00Z", 5000)],
        sb.ev_charger_id: [session_at("2026-03-28T12:00:00Z", "2026-03-28T12:30:00Z", 7400)],
        sb.heat_pump_id: [session_at("2026-03-28T12:00:00Z", "2026-03-28T12:45:00Z", 3000)],
    }
    for device_id, data in windows.items():
        sb.set_schedule_override(data, device_id=device_id)
    for device_id, data in windows.items():
        assert await schedule_of(client, device_id) == data
    assert sb.schedule_state()["devices"] == {
        device_id: {"override": True, "shift_s": 0} for device_id in windows
    }


async def test_a_shift_for_one_device(client: Client, sb: Sandbox) -> None:
    computed = {device_id: await schedule_of(client, device_id) for device_id in sb.device_ids}
    sb.shift_schedule(timedelta(minutes=-10), device_id=sb.heat_pump_id)
    shifted = await schedule_of(client, sb.heat_pump_id)
    assert shifted[0]["start_time"] == "2026-03-28T11:50:00Z"
    assert shifted[0]["end_time"] == "2026-03-28T17:20:00Z"
    assert await schedule_of(client, sb.device_id) == computed[sb.device_id]

    # A shift for every device replaces each device's own.
    sb.shift_schedule(timedelta(minutes=5))
    for device_id in sb.device_ids:
        data = await schedule_of(client, device_id)
        assert data[0]["end_time"] != computed[device_id][0]["end_time"]
    sb.shift_schedule(timedelta(0))
    for device_id in sb.device_ids:
        assert await schedule_of(client, device_id) == computed[device_id]
    sb.shift_schedule(timedelta(minutes=1), device_id=sb.device_id)
    sb.flatpeak.forget_device_schedule(sb.device_id)
    assert await schedule_of(client, sb.device_id) == computed[sb.device_id]
    with pytest.raises(ValueError, match="unknown device"):
        sb.shift_schedule(timedelta(0), device_id="dev_000000000000000000000000")


async def test_demo_sandbox_dips_soon(socket_enabled: None) -> None:
    import aiohttp

    demo = Sandbox(seed=1, now=NOW, demo=True)
    async with demo.serve() as base_url, aiohttp.ClientSession() as session:
        client = Client(session, base_url, demo)
        answer = await client.request("POST", "/schedules/soc", json={"device_id": demo.device_id})
    first = answer.body["data"][0]["schedule"][0]
    assert first["start_time"] == "2026-03-28T12:02:00Z"
    assert first["end_time"] == "2026-03-28T12:12:00Z"


@pytest.mark.parametrize(("hour", "charger_dips"), [(12, False), (20, True)])
async def test_demo_dips_for_each_device_available(
    socket_enabled: None, hour: int, charger_dips: bool
) -> None:
    import aiohttp

    demo = Sandbox(seed=1, now=NOW.replace(hour=hour), demo=True)
    dip = NOW.replace(hour=hour, minute=2)  # two minutes after the sandbox starts
    async with demo.serve() as base_url, aiohttp.ClientSession() as session:
        client = Client(session, base_url, demo)
        plans = {device_id: await schedule_of(client, device_id) for device_id in demo.device_ids}
    starts = {
        device_id: {datetime.fromisoformat(start) for start, _, _ in slots_of(plan)}
        for device_id, plan in plans.items()
    }
    assert dip in starts[demo.device_id]
    assert dip in starts[demo.heat_pump_id]
    # The car is plugged in from 18:00 only.
    assert (dip in starts[demo.ev_charger_id]) is charger_dips


# -------------------------------------------------------------------- prices


async def test_prices_both_variants(client: Client, sb: Sandbox) -> None:
    body = {
        "location_id": sb.location_id,
        "start_time": "2026-03-28T12:00:00Z",
        "end_time": "2026-03-30T12:00:00Z",
    }
    answer = await client.request("POST", "/prices", json=body)
    assert answer.status == 200
    prices = answer.body
    assert set(prices) == {
        "id",
        "object",
        "live_mode",
        "location_id",
        "location_timezone",
        "currency_code",
        "tariff_direction",
        "last_updated",
        "next_update",
        "request",
        "data",
        "time_created",
        "account_id",
    }
    assert prices["id"].startswith("prs_")
    assert prices["object"] == "price"
    assert prices["tariff_direction"] == "IMPORT"
    assert prices["request"] == {**body, "tariff_direction": "IMPORT"}
    assert len(prices["data"]) == 96
    first = prices["data"][0]
    assert set(first) == {"valid_from", "valid_to", "price"}
    assert first["valid_from"] == "2026-03-28T12:00:00Z"
    assert first["valid_to"] == "2026-03-28T12:30:00Z"
    assert first["price"]["confidence"] == 1
    assert prices["data"][48]["price"]["confidence"] == 0.8
    path_variant = await client.request(
        "POST", f"/prices/{sb.location_id}", json={"end_time": body["end_time"]}
    )
    assert [p["price"] for p in path_variant.body["data"]] == [p["price"] for p in prices["data"]]
    assert "location_id" not in path_variant.body["request"]
    exported = await client.request(
        "POST",
        f"/prices/{sb.location_id}",
        json={"end_time": "2026-03-28T14:00:00Z", "tariff_direction": "EXPORT"},
    )
    assert {p["price"]["value"] for p in exported.body["data"]} == {0.15}
    with_device = await client.request("POST", "/prices", json={**body, "device_id": sb.device_id})
    assert with_device.status == 200


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"location_id": None}, 422, "location_id_missing"),
        ({"location_id": "loc_000000000000000000000000"}, 404, "not_found"),
        ({"end_time": None}, 422, "end_time_missing"),
        ({"end_time": "tomorrow"}, 422, "end_time_invalid"),
        ({"start_time": "2026-03-28"}, 422, "start_time_invalid"),
        ({"end_time": "2026-03-28T11:00:00Z"}, 422, "end_time_invalid"),
        ({"end_time": "2026-07-01T00:00:00Z"}, 422, "end_time_invalid"),
        ({"tariff_direction": "LOCAL"}, 422, "tariff_direction_not_supported"),
        ({"tariff_direction": "import"}, 422, "tariff_direction_invalid"),
        ({"device_id": "dev_000000000000000000000000"}, 404, "not_found"),
    ],
)
async def test_prices_validation(
    client: Client, sb: Sandbox, change: dict[str, Any], status: int, code: str
) -> None:
    body = {"location_id": sb.location_id, "end_time": "2026-03-29T12:00:00Z", **change}
    body = {key: value for key, value in body.items() if value is not None}
    answer = await client.request("POST", "/prices", json=body)
    assert answer.status == status
    assert_error(answer.body, code)


async def test_prices_device_at_another_location(client: Client, sb: Sandbox) -> None:
    other = "loc_5b1d5a7e9c0f4e2a8d3b6c99"
    sb.flatpeak.locations[other] = replace(sb.flatpeak.locations[sb.location_id], id=other)
    answer = await client.request(
        "POST",
        f"/prices/{other}",
        json={"end_time": "2026-03-29T12:00:00Z", "device_id": sb.device_id},
    )
    assert answer.status == 422
    assert_error(answer.body, "device_id_invalid")
