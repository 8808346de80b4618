"""Tests of the /_sandbox admin routes."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox import Sandbox

from .conftest import Answer, Client


async def admin(client: Client, method: str, path: str, body: Any = None) -> Answer:
    return await client.request(method, f"/_sandbox{path}", json=body, auth=None)


async def test_state(client: Client, sb: Sandbox) -> None:
    state = (await admin(client, "GET", "/state")).body
    assert state["seed"] == 1
    assert state["demo"] is False
    assert state["clock"] == {"now": "2026-03-28T12:00:00Z", "frozen": True}
    assert state["flatpeak"]["account_id"] == sb.account_id
    assert state["flatpeak"]["api_key"] == sb.api_key
    assert state["flatpeak"]["live_api_key"] == sb.live_api_key
    assert state["flatpeak"]["device_id"] == sb.device_id
    assert state["flatpeak"]["ev_charger_id"] == sb.ev_charger_id
    assert state["flatpeak"]["heat_pump_id"] == sb.heat_pump_id
    assert state["flatpeak"]["location_id"] == sb.location_id
    assert state["flatpeak"]["token_lifetime_s"] == 3600
    assert state["flip"] == {
        "api_key": sb.flip_api_key,
        "keys": [sb.flip_api_key],
        "program_id": sb.flip_program_id,
    }
    assert state["device_state"] == {"submitted": False, "soc_percent": 20, "target_percent": 90}
    assert state["device_states"] == {
        sb.device_id: {"submitted": False, "soc_percent": 20, "target_percent": 90},
        sb.ev_charger_id: {"submitted": False, "soc_percent": 35, "target_percent": 80},
        sb.heat_pump_id: {"submitted": False, "soc_percent": 25, "target_percent": 100},
    }
    assert state["schedule"] == {"override": False, "shift_s": 0, "devices": {}}
    assert state["faults"] == []
    assert state["request_counts"]["schedule_soc"] == 0
    assert sb.requests == []  # admin requests are not recorded


async def test_faults(client: Client, sb: Sandbox) -> None:
    answer = await admin(
        client, "POST", "/faults", {"route": "prices", "status": 429, "retry_after": 10}
    )
    assert answer.status == 201
    assert answer.body["fault"]["retry_after"] == "10"
    listed = (await admin(client, "GET", "/faults")).body["faults"]
    assert [fault["route"] for fault in listed] == ["prices"]
    answer = await admin(client, "POST", "/faults", {"kind": "boom"})
    assert answer.status == 400
    assert "unknown fault kind" in answer.body["error"]
    answer = await admin(client, "POST", "/faults", {"colour": "red"})
    assert answer.status == 400
    answer = await admin(client, "POST", "/faults", [1])
    assert answer.status == 400
    assert (await admin(client, "DELETE", "/faults")).body == {"cleared": 1}
    assert sb.faults == []


async def test_requests(client: Client, sb: Sandbox) -> None:
    await client.login()
    await client.request("GET", "/nowhere")
    body = (await admin(client, "GET", "/requests")).body
    assert body["counts"]["login"] == 1
    assert body["counts"]["unmatched"] == 1
    assert body["requests"][0] == {
        "route": "login",
        "method": "GET",
        "path": "/login",
        "time": "2026-03-28T12:00:00Z",
        "status": 200,
    }
    body = (await admin(client, "DELETE", "/requests")).body
    assert body["counts"]["login"] == 0
    assert "unmatched" not in body["counts"]
    assert sb.requests == []


async def test_clock(client: Client, sb: Sandbox) -> None:
    answer = await admin(client, "POST", "/clock", {"advance_s": 90})
    assert answer.body == {"now": "2026-03-28T12:01:30Z"}
    answer = await admin(client, "POST", "/clock", {"now": "2026-10-25T01:30:00+01:00"})
    assert answer.body == {"now": "2026-10-25T00:30:00Z"}
    for bad in ({"now": "2026-10-25T01:30:00"}, {"advance_s": "1"}, {}):
        answer = await admin(client, "POST", "/clock", bad)
        assert answer.status == 400


async def test_expire_tokens(client: Client, sb: Sandbox) -> None:
    await client.login()
    assert (await admin(client, "POST", "/tokens/expire")).body == {"expired": True}
    answer = await client.request("GET", f"/devices/{sb.device_id}")
    assert answer.status == 401


async def test_tariff(client: Client, sb: Sandbox) -> None:
    answer = await admin(
        client, "POST", "/tariff", {"element": "commodity_import", "status": "NOT_CONNECTED"}
    )
    assert answer.body["tariff_status"]["commodity_import"] == "NOT_CONNECTED"
    answer = await admin(client, "POST", "/tariff", {"element": "gas", "status": "CONNECTED"})
    assert answer.status == 400
    answer = await admin(client, "POST", "/tariff", {"element": "local"})
    assert answer.status == 400


async def test_device_state(client: Client, sb: Sandbox) -> None:
    answer = await admin(
        client, "POST", "/device_state", {"soc_percent": 30, "target_percent": 100}
    )
    assert answer.body["device_state"]["soc_percent"] == 30
    assert answer.body["device_state"]["target_percent"] == 100
    answer = await admin(
        client,
        "POST",
        "/device_state",
        {"soc_percent": 50, "target_percent": 60, "device_id": sb.heat_pump_id},
    )
    assert answer.body["device_state"]["soc_percent"] == 50
    assert sb.flatpeak.device_state(sb.device_id)["soc_percent"] == 30
    answer = await admin(
        client,
        "POST",
        "/device_state",
        {"soc_percent": 30, "target_percent": 100, "device_id": "dev_unknown"},
    )
    assert answer.status == 400
    answer = await admin(client, "POST", "/device_state", {"soc_percent": 30})
    assert answer.status == 400
    answer = await admin(
        client, "POST", "/device_state", {"soc_percent": 300, "target_percent": 100}
    )
    assert answer.status == 400


async def test_schedule(client: Client, sb: Sandbox) -> None:
    answer = await admin(client, "POST", "/schedule", {"data": [], "shift_s": 600})
    assert answer.body == {"override": True, "shift_s": 600, "devices": {}}
    answer = await client.request(
        "POST", f"/schedules/soc/{sb.device_id}", json={"location_id": sb.location_id}
    )
    assert answer.body["data"] == []
    answer = await admin(client, "DELETE", "/schedule")
    assert answer.body == {"override": False, "shift_s": 0, "devices": {}}
    bad: dict[str, Any]
    for bad in (
        {},
        {"data": {}},
        {"shift_s": "1"},
        {"data": [], "device_id": "dev_unknown"},
        {"device_id": sb.device_id},
        {"data": [], "shift_s": "1", "device_id": sb.device_id},
    ):
        assert (await admin(client, "POST", "/schedule", bad)).status == 400
    # A refused request changes nothing.
    assert sb.schedule_state() == {"override": False, "shift_s": 0, "devices": {}}


async def test_schedule_of_one_device(client: Client, sb: Sandbox) -> None:
    path, body = f"/schedules/soc/{sb.ev_charger_id}", {"location_id": sb.location_id}
    computed = (await client.request("POST", path, json=body)).body["data"]
    answer = await admin(
        client, "POST", "/schedule", {"data": [], "shift_s": 60, "device_id": sb.ev_charger_id}
    )
    assert answer.body == {
        "override": False,
        "shift_s": 0,
        "devices": {sb.ev_charger_id: {"override": True, "shift_s": 60}},
    }
    assert (await client.request("POST", path, json=body)).body["data"] == []
    battery = f"/schedules/soc/{sb.device_id}"
    assert (await client.request("POST", battery, json=body)).body["data"]
    answer = await admin(client, "DELETE", f"/schedule?device_id={sb.ev_charger_id}")
    assert answer.body == {"override": False, "shift_s": 0, "devices": {}}
    assert (await client.request("POST", path, json=body)).body["data"] == computed
    answer = await admin(client, "DELETE", "/schedule?device_id=dev_unknown")
    assert answer.status == 400
    # A shift alone, or an override alone.
    await admin(client, "POST", "/schedule", {"shift_s": 30, "device_id": sb.heat_pump_id})
    answer = await admin(client, "POST", "/schedule", {"data": [], "device_id": sb.device_id})
    assert answer.body["devices"] == {
        sb.device_id: {"override": True, "shift_s": 0},
        sb.heat_pump_id: {"override": False, "shift_s": 30},
    }


async def test_keys(client: Client, sb: Sandbox) -> None:
    answer = await admin(client, "POST", "/keys", {"add": "sk_test_other"})
    assert "sk_test_other" in answer.body["flatpeak"]
    answer = await admin(client, "POST", "/keys", {"revoke": sb.flip_api_key})
    assert answer.body["flip"] == []
    assert (await admin(client, "POST", "/keys", {"add": "nope"})).status == 400
    assert (await admin(client, "POST", "/keys", {})).status == 400


async def test_flip_events(client: Client, sb: Sandbox) -> None:
    assert (await admin(client, "GET", "/flip/events")).body == []


async def test_flip_list_lag(client: Client, sb: Sandbox) -> None:
    answer = await admin(client, "POST", "/flip/list_lag", {"list_lag_s": 90})
    assert answer.body == {"list_lag_s": 90}
    assert sb.flip.list_lag_s == 90
    for bad in ({}, {"list_lag_s": -1}, {"list_lag_s": "90"}):
        answer = await admin(client, "POST", "/flip/list_lag", bad)
        assert answer.status == 400
        assert "error" in answer.body
    assert sb.flip.list_lag_s == 90


@pytest.mark.parametrize(("method", "path"), [("GET", "/nothing"), ("PUT", "/state")])
async def test_unknown_admin_routes(client: Client, method: str, path: str) -> None:
    answer = await admin(client, method, path)
    assert answer.status in (404, 405)
    assert "error" in answer.body
    assert client.sb.requests == []
