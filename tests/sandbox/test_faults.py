"""Tests of every fault kind over real HTTP."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from sandbox import Fault, Sandbox

from .conftest import Client


async def schedule(client: Client) -> tuple[int, object, str]:
    answer = await client.request(
        "POST",
        f"/schedules/soc/{client.sb.device_id}",
        json={"location_id": client.sb.location_id},
    )
    return answer.status, answer.body, answer.text


@pytest.mark.parametrize(
    ("fault", "error_type", "code"),
    [
        (Fault(route="schedule_soc", status=429, retry_after="30"), "rate_limit", "rate_limited"),
        (Fault(route="schedule_soc", status=503), "api_error", "service_unavailable"),
        (Fault(route="schedule_soc", status=418), "invalid_request", "error"),
        (Fault(route="schedule_soc", status=599), "api_error", "error"),
        (
            Fault(route="flatpeak:*", status=422, code="no_price_data", message="stale"),
            "invalid_request",
            "no_price_data",
        ),
        (
            Fault(status=422, code="account_disabled", error_type="api_error"),
            "api_error",
            "account_disabled",
        ),
    ],
)
async def test_status_fault_flatpeak(
    client: Client, fault: Fault, error_type: str, code: str
) -> None:
    await client.login()  # before the fault: login is a route too
    client.sb.inject(fault)
    answer = await client.request(
        "POST",
        f"/schedules/soc/{client.sb.device_id}",
        json={"location_id": client.sb.location_id},
    )
    assert answer.status == fault.status
    assert answer.body["object"] == "error"
    assert answer.body["type"] == error_type
    assert answer.body["code"] == code
    assert answer.body["context"] == "api.schedule_soc"
    assert answer.headers.get("Retry-After") == fault.retry_after
    assert answer.headers["flatpeak-version"] == "2026-08-01.busbar"
    if fault.message:
        assert answer.body["message"] == fault.message
    status, _body, _text = await schedule(client)
    assert status == 200  # used up
    assert client.sb.request_counts["schedule_soc"] == 2


async def test_status_fault_with_http_date(client: Client, sb: Sandbox) -> None:
    date = "Sat, 28 Mar 2026 12:05:00 GMT"
    sb.inject(Fault(route="login", status=429, retry_after=date))
    answer = await client.request("GET", "/login", auth=None)
    assert answer.status == 429
    assert answer.headers["Retry-After"] == date


async def test_status_fault_flip(client: Client, sb: Sandbox) -> None:
    sb.inject(Fault(route="flip:*", status=503, times=None))
    for _ in range(3):
        answer = await client.request("GET", "/v1/events", auth="flip")
        assert answer.status == 503
        assert answer.body == {
            "code": "service_unavailable",
            "detail": [],
            "errors": [],
            "message": "Service Unavailable",
            "status_code": 503,
        }
    status, _body, _text = await schedule(client)
    assert status == 200  # flip:* leaves Flatpeak alone
    assert sb.clear_faults() == 1
    assert (await client.request("GET", "/v1/events", auth="flip")).status == 200


async def test_faults_in_injection_order(client: Client, sb: Sandbox) -> None:
    await client.login()
    sb.inject(Fault(route="schedule_soc", status=500))
    sb.inject(Fault(route="schedule_soc", status=502, times=2))
    statuses = [(await schedule(client))[0] for _ in range(4)]
    assert statuses == [500, 502, 502, 200]
    assert [r.status for r in sb.requests if r.route == "schedule_soc"] == statuses


async def test_timeout_fault_delays_then_answers(client: Client, sb: Sandbox) -> None:
    await client.login()
    sb.inject(Fault(route="schedule_soc", kind="timeout", delay_s=0.3))
    started = time.monotonic()
    status, body, _text = await schedule(client)
    assert time.monotonic() - started >= 0.3
    assert status == 200
    assert isinstance(body, dict)
    assert body["object"] == "schedule_soc"


async def test_timeout_fault_ends_on_shutdown(socket_enabled: None) -> None:
    sb = Sandbox(seed=1)
    sb.inject(Fault(route="device_list", kind="timeout", delay_s=600))
    started = time.monotonic()
    async with sb.serve() as base_url, aiohttp.ClientSession() as session:
        with pytest.raises(asyncio.TimeoutError):
            await session.get(f"{base_url}/devices", timeout=aiohttp.ClientTimeout(total=0.2))
    assert time.monotonic() - started < 5
    assert sb.request_counts["device_list"] == 1


async def test_disconnect_fault(client: Client, sb: Sandbox) -> None:
    await client.login()
    sb.inject(Fault(route="schedule_soc", kind="disconnect"))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await schedule(client)
    assert sb.requests[-1].route == "schedule_soc"
    assert sb.requests[-1].status == 0
    status, _body, _text = await schedule(client)
    assert status == 200


async def test_disconnect_fault_and_the_client_retry(client: Client, sb: Sandbox) -> None:
    await client.login()
    # aiohttp retries an idempotent request once after a disconnect.
    sb.inject(Fault(route="device_get", kind="disconnect"))
    answer = await client.request("GET", f"/devices/{sb.device_id}")
    assert answer.status == 200
    assert [r.status for r in sb.requests if r.route == "device_get"] == [0, 200]
    sb.inject(Fault(route="device_get", kind="disconnect", times=2))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.request("GET", f"/devices/{sb.device_id}")
    assert sb.request_counts["device_get"] == 4


async def test_malformed_json_fault(client: Client, sb: Sandbox) -> None:
    await client.login()
    sb.inject(Fault(route="schedule_soc", kind="malformed_json"))
    status, body, text = await schedule(client)
    assert status == 200
    assert body is None
    assert text.startswith('{"id": "ssc_')
    with pytest.raises(ValueError):  # noqa: PT011
        json.loads(text)
    sb.inject(Fault(route="flip_event_cancel", kind="malformed_json"))
    answer = await client.request(
        "DELETE", "/v1/events/0b6f4bd5-8c5f-4c70-9d3a-1a0f3c3f0f6e", auth="flip"
    )
    assert answer.status == 200
    assert answer.body is None


async def test_trailing_space_fault(client: Client, sb: Sandbox) -> None:
    await client.login()
    sb.inject(Fault(route="location_status", kind="trailing_space"))
    answer = await client.request("GET", f"/locations/{sb.location_id}/status")
    element = answer.body["tariff_status"]["commodity_import"]
    assert element["status"] == "CONNECTED "
    assert element["connection_type"] == "DIRECT "
    assert element["tariff"]["structure_type"] == "TIME_OF_DAY "
    assert element["provider"]["display_name"] == "Octopus Energy"
    sb.inject(Fault(route="location_get", kind="trailing_space"))
    answer = await client.request("GET", f"/locations/{sb.location_id}")
    assert answer.body["tariff_status"]["commodity_import"] == "CONNECTED "
    sb.inject(Fault(route="schedule_soc", kind="trailing_space"))
    _status, body, _text = await schedule(client)
    assert isinstance(body, dict)
    assert body["data"][0]["energy"]["units"] == "WH "
    assert body["data"][0]["schedule"][0]["power"]["units"] == "W "


async def test_kwh_units_fault(client: Client, sb: Sandbox) -> None:
    await client.login()
    sb.inject(Fault(route="schedule_soc", kind="kwh_units"))
    _status, body, _text = await schedule(client)
    assert isinstance(body, dict)
    assert body["data"][0]["energy"] == {"units": "KWH", "value": 9.45}
    assert body["data"][0]["schedule"][0]["power"] == {"units": "KW", "value": 5.0}


async def test_drop_field_fault(client: Client, sb: Sandbox) -> None:
    await client.login()
    sb.inject(Fault(route="schedule_soc", kind="drop_field", field="data.0.schedule.0.end_time"))
    _status, body, _text = await schedule(client)
    assert isinstance(body, dict)
    assert "end_time" not in body["data"][0]["schedule"][0]
    assert "start_time" in body["data"][0]["schedule"][0]
    sb.inject(Fault(route="location_get", kind="drop_field", field="tariff_status"))
    answer = await client.request("GET", f"/locations/{sb.location_id}")
    assert "tariff_status" not in answer.body


async def test_wrong_type_fault(client: Client, sb: Sandbox) -> None:
    await client.login()
    sb.inject(
        Fault(route="schedule_soc", kind="wrong_type", field="data.0.energy.value", value="lots")
    )
    _status, body, _text = await schedule(client)
    assert isinstance(body, dict)
    assert body["data"][0]["energy"]["value"] == "lots"
    sb.inject(Fault(route="flip_event_list", kind="wrong_type", field="x", value=1))
    answer = await client.request("GET", "/v1/events", auth="flip")
    assert answer.body == []  # a list has no key "x": nothing to replace
    sb.inject(Fault(route="flip_event_list", kind="wrong_type", field="", value={"a": 1}))
    answer = await client.request("GET", "/v1/events", auth="flip")
    assert answer.body == {"a": 1}
    sb.inject(Fault(route="flip_event_list", kind="wrong_type", field="", value=None))
    answer = await client.request("GET", "/v1/events", auth="flip")
    assert answer.status == 200
    assert answer.text == "null"


async def test_transform_on_an_empty_answer(client: Client, sb: Sandbox) -> None:
    created = await client.request(
        "POST",
        "/v1/events",
        auth="flip",
        json={
            "actions": [{"mode": "CHARGE", "starts_at": "2026-03-28T12:10:00Z", "duration_s": 60}],
            "program_id": sb.flip_program_id,
            "target_ids": ["x"],
            "target_type": "DEVICE",
        },
    )
    sb.inject(Fault(route="flip_event_cancel", kind="trailing_space"))
    answer = await client.request("DELETE", f"/v1/events/{created.body['id']}", auth="flip")
    assert answer.status == 204


async def test_faults_list_and_admin_routes_are_never_faulted(client: Client, sb: Sandbox) -> None:
    sb.inject(Fault(status=500, times=None))
    assert [fault.status for fault in sb.faults] == [500]
    answer = await client.request("GET", "/_sandbox/state", auth=None)
    assert answer.status == 200
    assert sb.request_counts["login"] == 0
    assert sb.requests == []


async def test_retry_after_given_as_seconds(client: Client, sb: Sandbox) -> None:
    sb.inject(Fault(route="login", status=429, retry_after=30))
    answer = await client.request("GET", "/login", auth=None)
    assert answer.headers["Retry-After"] == "30"


async def test_body_over_the_size_limit(client: Client, sb: Sandbox) -> None:
    await client.login()
    answer = await client.request("POST", "/devices", data="x" * (1024**2 + 1))
    assert answer.status == 413
    assert answer.body["object"] == "error"
    assert answer.body["code"] == "request_too_large"


async def test_unexpected_error_keeps_the_envelope(
    client: Client, sb: Sandbox, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(device_id: str) -> None:
        raise RuntimeError("bug")

    await client.login()
    monkeypatch.setattr(sb.flatpeak, "device_state", broken)
    status, body, _text = await schedule(client)
    assert status == 500
    assert isinstance(body, dict)
    assert body["type"] == "api_error"
    assert body["code"] == "internal_error"
    assert "Unexpected error answering POST" in caplog.text


async def test_html_error_answers_a_page_not_json(client: Client) -> None:
    client.sb.inject(Fault(route="location_status", kind="html_error", status=502))
    answer = await client.request("GET", f"/locations/{client.sb.location_id}/status")
    assert answer.status == 502
    assert answer.headers["Content-Type"].startswith("text/html")
    assert "502 Bad Gateway" in answer.text
