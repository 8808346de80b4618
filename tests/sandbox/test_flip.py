"""Tests of the simulated Flip Utility API over real HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
import uuid

import pytest

from sandbox import Sandbox

from .conftest import Client

ENVELOPE_KEYS = {"code", "detail", "errors", "message", "status_code"}


def event_body(**change: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "actions": [
            {
                "mode": "CHARGE",
                "starts_at": "2026-03-28T13:00:00+01:00",
                "duration_s": 1800,
                "power_mode": "SETPOINT",
                "setpoint_w": 5000,
            }
        ],
        "program_id": "prg-sandbox-home",
        "target_ids": ["dev_5b1d5a7e9c0f4e2a8d3b6c72"],
        "target_type": "DEVICE",
    }
    body.update(change)
    return body


def with_action(**change: Any) -> dict[str, Any]:
    action = {**event_body()["actions"][0], **change}
    return event_body(actions=[{k: v for k, v in action.items() if v is not None}])


async def test_auth(client: Client, sb: Sandbox) -> None:
    for header in (None, "Bearer ", "Bearer fl_wrong_key", f"Basic {sb.flip_api_key}"):
        answer = await client.request("GET", "/v1/events", auth=header)
        assert answer.status == 401
        assert set(answer.body) == ENVELOPE_KEYS
        assert answer.body["status_code"] == 401
        assert answer.body["code"] == "unauthorized"
        assert answer.body["detail"] == []
        assert answer.body["errors"] == []
        assert "flatpeak-version" not in answer.headers
    sb.revoke_key(sb.flip_api_key)
    assert (await client.request("GET", "/v1/events", auth="flip")).status == 401
    sb.add_key("fl_pub_secret")
    answer = await client.request("GET", "/v1/events", auth="Bearer fl_pub_secret")
    assert answer.status == 200


async def test_create_event(client: Client, sb: Sandbox) -> None:
    answer = await client.request("POST", "/v1/events", json=event_body(), auth="flip")
    assert answer.status == 200
    event = answer.body
    assert set(event) == {
        "actions",
        "created_at",
        "duration_s",
        "ends_at",
        "id",
        "program_id",
        "starts_at",
        "target_ids",
        "target_type",
        "updated_at",
    }
    assert uuid.UUID(event["id"]).version == 4
    assert event["actions"] == [
        {
            "backup_reserve_percentage": None,
            "duration_s": 1800,
            "enable_grid_import": None,
            "mode": "CHARGE",
            "power_mode": "SETPOINT",
            "setpoint_mode": None,
            "setpoint_w": 5000,
            "starts_at": "2026-03-28T12:00:00Z",
        }
    ]
    assert event["starts_at"] == "2026-03-28T12:00:00Z"
    assert event["ends_at"] == "2026-03-28T12:30:00Z"
    assert event["duration_s"] == 1800
    assert event["created_at"] == event["updated_at"] == "2026-03-28T12:00:00Z"
    assert event["program_id"] == sb.flip_program_id
    # Same seed, same event ids.
    again = Sandbox(seed=1)
    assert again.flip.ids.uuid4("flip-event") == event["id"]


async def test_event_spans_all_actions(client: Client) -> None:
    body = event_body(
        actions=[
            {"mode": "DISCHARGE", "starts_at": "2026-03-28T14:00:00Z", "duration_s": 600.0},
            {
                "mode": "CHARGE",
                "starts_at": "2026-03-28T12:30:00Z",
                "duration_s": 900,
                "power_mode": "FOLLOW_LOAD",
                "setpoint_mode": "EVEN",
                "backup_reserve_percentage": 20,
                "enable_grid_import": True,
            },
        ],
        target_type="GROUP",
        target_ids=["LZ_HOUSTON"],
    )
    event = (await client.request("POST", "/v1/events", json=body, auth="flip")).body
    assert event["starts_at"] == "2026-03-28T12:30:00Z"
    assert event["ends_at"] == "2026-03-28T14:10:00Z"
    assert event["duration_s"] == 6000
    assert event["actions"][0]["duration_s"] == 600
    assert event["actions"][1]["backup_reserve_percentage"] == 20
    assert event["actions"][1]["enable_grid_import"] is True


@pytest.mark.parametrize(
    ("body", "loc", "kind"),
    [
        (event_body(actions=None), ["body", "actions"], "list_type"),
        (event_body(actions=[]), ["body", "actions"], "too_short"),
        (event_body(actions=["CHARGE"]), ["body", "actions", 0], "model_attributes_type"),
        (with_action(mode="charge"), ["body", "actions", 0, "mode"], "enum"),
        (with_action(mode=None), ["body", "actions", 0, "mode"], "missing"),
        (with_action(starts_at=None), ["body", "actions", 0, "starts_at"], "missing"),
        (with_action(starts_at=5), ["body", "actions", 0, "starts_at"], "datetime_type"),
        (with_action(starts_at="soon"), ["body", "actions", 0, "starts_at"], "datetime_parsing"),
        (
            with_action(starts_at="2026-03-28T13:00:00"),
            ["body", "actions", 0, "starts_at"],
            "timezone_aware",
        ),
        (
            with_action(starts_at="2026-03-28T11:54:59Z"),
            ["body", "actions", 0, "starts_at"],
            "value_error",
        ),
        (with_action(duration_s=None), ["body", "actions", 0, "duration_s"], "missing"),
        (with_action(duration_s=0), ["body", "actions", 0, "duration_s"], "greater_than"),
        (with_action(duration_s=86401), ["body", "actions", 0, "duration_s"], "less_than_equal"),
        (with_action(duration_s=60.5), ["body", "actions", 0, "duration_s"], "int_from_float"),
        (with_action(duration_s="60"), ["body", "actions", 0, "duration_s"], "int_type"),
        (with_action(duration_s=True), ["body", "actions", 0, "duration_s"], "int_type"),
        (with_action(power_mode="MAX"), ["body", "actions", 0, "power_mode"], "enum"),
        (with_action(setpoint_w=None), ["body", "actions", 0, "setpoint_w"], "value_error"),
        (with_action(setpoint_w=-1), ["body", "actions", 0, "setpoint_w"], "greater_than_equal"),
        (with_action(setpoint_mode="SPLIT"), ["body", "actions", 0, "setpoint_mode"], "enum"),
        (
            with_action(backup_reserve_percentage=101),
            ["body", "actions", 0, "backup_reserve_percentage"],
            "less_than_equal",
        ),
        (
            with_action(enable_grid_import="yes"),
            ["body", "actions", 0, "enable_grid_import"],
            "bool_type",
        ),
        (event_body(program_id=None), ["body", "program_id"], "string_type"),
        (event_body(program_id="prg-other"), ["body", "program_id"], "value_error"),
        (event_body(target_type="HOME"), ["body", "target_type"], "enum"),
        (event_body(target_ids="dev_1"), ["body", "target_ids"], "list_type"),
        (event_body(target_ids=[]), ["body", "target_ids"], "too_short"),
        (event_body(target_ids=[7]), ["body", "target_ids", 0], "string_type"),
        ([1, 2], ["body"], "model_attributes_type"),
    ],
)
async def test_create_event_validation(
    client: Client, body: Any, loc: list[Any], kind: str
) -> None:
    answer = await client.request("POST", "/v1/events", json=body, auth="flip")
    assert answer.status == 422
    assert set(answer.body) == ENVELOPE_KEYS
    assert answer.body["code"] == "validation_error"
    assert answer.body["status_code"] == 422
    assert {"loc": loc, "type": kind} in [
        {"loc": item["loc"], "type": item["type"]} for item in answer.body["detail"]
    ]
    paths = [error["path"] for error in answer.body["errors"]]
    assert ".".join(str(part) for part in loc[1:]) in paths
    assert client.sb.flip_events == []


async def test_missing_top_level_fields(client: Client) -> None:
    answer = await client.request("POST", "/v1/events", json={}, auth="flip")
    detail = answer.body["detail"]
    assert [item["loc"] for item in detail] == [
        ["body", "actions"],
        ["body", "program_id"],
        ["body", "target_type"],
        ["body", "target_ids"],
    ]
    assert {item["msg"] for item in detail} == {"Field required"}


async def test_enum_message_is_pydantic_like(client: Client) -> None:
    answer = await client.request(
        "POST", "/v1/events", json=with_action(mode="charge"), auth="flip"
    )
    assert answer.body["detail"][0]["msg"] == (
        "Input should be 'CHARGE', 'DISCHARGE', 'STANDBY', 'BACKUP', "
        "'SELF_CONSUMPTION' or 'SAVINGS'"
    )
    answer = await client.request(
        "POST", "/v1/events", json=with_action(setpoint_mode="X"), auth="flip"
    )
    assert answer.body["detail"][0]["msg"] == "Input should be 'EVEN'"


async def test_invalid_json(client: Client) -> None:
    answer = await client.request(
        "POST",
        "/v1/events",
        data="{",
        headers={"Content-Type": "application/json"},
        auth="flip",
    )
    assert answer.status == 422
    assert answer.body["detail"][0]["type"] == "json_invalid"


async def test_list_get_and_cancel(client: Client, sb: Sandbox) -> None:
    first = (await client.request("POST", "/v1/events", json=event_body(), auth="flip")).body
    second = (await client.request("POST", "/v1/events", json=event_body(), auth="flip")).body
    assert first["id"] != second["id"]
    listed = await client.request("GET", "/v1/events", auth="flip")
    assert isinstance(listed.body, list)
    assert [event["id"] for event in listed.body] == [first["id"], second["id"]]
    fetched = await client.request("GET", f"/v1/events/{first['id']}", auth="flip")
    assert fetched.body == first
    sb.clock.advance(timedelta(minutes=5))
    answer = await client.request("DELETE", f"/v1/events/{first['id']}", auth="flip")
    assert answer.status == 204
    assert answer.text == ""
    listed = await client.request("GET", "/v1/events", auth="flip")
    assert [event["id"] for event in listed.body] == [second["id"]]
    assert (await client.request("GET", f"/v1/events/{first['id']}", auth="flip")).status == 404
    again = await client.request("DELETE", f"/v1/events/{first['id']}", auth="flip")
    assert again.status == 404
    assert again.body["code"] == "not_found"
    held = sb.flip_events
    assert [(event["id"], event["cancelled"]) for event in held] == [
        (first["id"], True),
        (second["id"], False),
    ]
    assert held[0]["updated_at"] == "2026-03-28T12:05:00Z"
    held[0]["actions"].clear()
    assert sb.flip_events[0]["actions"]
    sb.clock.advance(timedelta(minutes=25))
    answer = await client.request("DELETE", f"/v1/events/{second['id']}", auth="flip")
    assert answer.status == 409
    assert answer.body["code"] == "event_completed"
    assert sb.request_counts["flip_event_cancel"] == 3


async def test_event_ids_are_checked(client: Client) -> None:
    answer = await client.request("GET", "/v1/events/not-a-uuid", auth="flip")
    assert answer.status == 422
    assert answer.body["detail"][0]["loc"] == ["path", "event_id"]
    assert answer.body["errors"][0]["path"] == "event_id"
    answer = await client.request("DELETE", f"/v1/events/{uuid.uuid4()}", auth="flip")
    assert answer.status == 404


async def test_unknown_flip_route(client: Client) -> None:
    answer = await client.request("GET", "/v1/programs", auth="flip")
    assert answer.status == 404
    assert set(answer.body) == ENVELOPE_KEYS
    assert answer.body["code"] == "not_found"
    answer = await client.request("PUT", "/v1/events", auth="flip")
    assert answer.status == 405
    assert answer.body["status_code"] == 405


async def test_the_list_lags_behind_creates(client: Client, sb: Sandbox) -> None:
    sb.flip.list_lag_s = 240
    body = with_action(starts_at="2026-03-28T14:00:00Z")
    first = (await client.request("POST", "/v1/events", json=body, auth="flip")).body

    async def listed() -> list[str]:
        answer = await client.request("GET", "/v1/events", auth="flip")
        assert answer.status == 200
        return [event["id"] for event in answer.body]

    # Created, and read or cancelled by its ID, but not listed yet.
    assert await listed() == []
    fetched = await client.request("GET", f"/v1/events/{first['id']}", auth="flip")
    assert fetched.body == first
    sb.clock.advance(timedelta(seconds=239))
    second = (await client.request("POST", "/v1/events", json=body, auth="flip")).body
    assert await listed() == []
    sb.clock.advance(timedelta(seconds=1))
    assert await listed() == [first["id"]]
    sb.clock.advance(timedelta(seconds=240))
    assert await listed() == [first["id"], second["id"]]
    # Without a lag, every event is listed at once.
    sb.flip.list_lag_s = 0
    third = (await client.request("POST", "/v1/events", json=body, auth="flip")).body
    assert await listed() == [first["id"], second["id"], third["id"]]
    assert len(sb.flip_events) == 3


@pytest.mark.parametrize("lag", [-1, "60", True, float("nan")])
def test_the_list_lag_is_a_number_of_seconds(sb: Sandbox, lag: object) -> None:
    with pytest.raises(ValueError, match="list lag"):
        sb.flip.list_lag_s = lag  # type: ignore[assignment]
    assert sb.flip.list_lag_s == 0
