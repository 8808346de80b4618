"""The Flip client against the sandbox, over real HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from custom_components.flatpeak.api import (
    AuthenticationError,
    FlipAction,
    FlipClient,
    FlipEvent,
    FlipMode,
    FlipPowerMode,
    FlipTargetType,
    InvalidIdError,
    InvalidResponseError,
    NotFoundError,
    RequestError,
)
from custom_components.flatpeak.api._http import MAX_FIELD_ERRORS
from sandbox import Fault, Sandbox
from tests.common import fixture_json

from .conftest import NOW


def charge(start_in: timedelta = timedelta(hours=2), **overrides: Any) -> FlipAction:
    values: dict[str, Any] = {
        "mode": FlipMode.CHARGE,
        "starts_at": NOW + start_in,
        "duration_s": 3600,
        "power_mode": FlipPowerMode.SETPOINT,
        "setpoint_w": 5000,
        "enable_grid_import": True,
        "backup_reserve_percentage": 20,
    }
    values.update(overrides)
    return FlipAction(**values)


async def create(flip: FlipClient, sandbox: Sandbox, *actions: FlipAction) -> FlipEvent:
    return await flip.create_event(
        program_id=sandbox.flip_program_id,
        target_type=FlipTargetType.DEVICE,
        target_ids=["device-1"],
        actions=list(actions) or [charge()],
    )


async def test_create_list_and_cancel_an_event(flip: FlipClient, sandbox: Sandbox) -> None:
    event = await create(flip, sandbox)

    assert event.program_id == sandbox.flip_program_id
    assert event.target_type is FlipTargetType.DEVICE
    assert event.target_ids == ("device-1",)
    (action,) = event.actions
    assert action.mode is FlipMode.CHARGE
    assert action.starts_at == NOW + timedelta(hours=2)
    assert action.duration_s == 3600
    assert action.power_mode is FlipPowerMode.SETPOINT
    assert action.setpoint_w == 5000
    assert action.enable_grid_import is True
    assert action.backup_reserve_percentage == 20
    assert event.starts_at == NOW + timedelta(hours=2)
    assert event.ends_at == NOW + timedelta(hours=3)
    assert event.created_at is not None

    assert [e.id for e in await flip.list_events()] == [event.id]
    assert await flip.cancel_event(event.id) is None
    assert await flip.list_events() == ()
    assert sandbox.request_counts["flip_event_cancel"] == 1


async def test_validation_errors_name_each_field(flip: FlipClient, sandbox: Sandbox) -> None:
    with pytest.raises(RequestError) as caught:
        await flip.create_event(
            program_id=sandbox.flip_program_id,
            target_type=FlipTargetType.DEVICE,
            target_ids=["device-1"],
            actions=[charge(mode="charge"), charge(setpoint_w=-5)],
        )

    error = caught.value
    assert error.status == 422
    assert error.service == "Flip"
    fields = dict(error.field_errors)
    assert "actions[0].mode" in fields
    assert "CHARGE" in fields["actions[0].mode"]
    assert "actions[1].setpoint_w" in fields
    assert str(error).startswith("Flip answered HTTP 422")
    assert "actions[0].mode: " in str(error)


async def test_an_event_in_the_past_is_refused(flip: FlipClient, sandbox: Sandbox) -> None:
    with pytest.raises(RequestError) as caught:
        await create(flip, sandbox, charge(start_in=-timedelta(hours=1)))
    assert "actions[0].starts_at" in dict(caught.value.field_errors)


async def test_an_unknown_key_is_refused(sandbox: Sandbox, base_url: str, session: Any) -> None:
    client = FlipClient(session, "fl_nobody_secret", base_url=base_url)

    with pytest.raises(AuthenticationError) as caught:
        await client.list_events()

    assert caught.value.status == 401
    assert "fl_nobody_secret" not in str(caught.value)
    assert "fl_nobody_secret" not in repr(client)


async def test_cancel_unknown_and_completed_events(flip: FlipClient, sandbox: Sandbox) -> None:
    with pytest.raises(NotFoundError):
        await flip.cancel_event("497f6eca-6276-4993-bfeb-53cbbbba6f08")

    event = await create(flip, sandbox, charge(start_in=timedelta(minutes=10)))
    sandbox.clock.advance(timedelta(hours=2))
    with pytest.raises(RequestError) as caught:
        await flip.cancel_event(event.id)
    assert caught.value.status == 409
    assert caught.value.code == "event_completed"


async def test_event_ids_are_checked_before_any_request(flip: FlipClient, sandbox: Sandbox) -> None:
    for bad in ("../programs", "a b", "", "x" * 200):
        with pytest.raises(InvalidIdError):
            await flip.cancel_event(bad)
    assert sandbox.request_counts.get("flip_event_cancel", 0) == 0


async def test_a_list_that_is_not_a_list(flip: FlipClient, sandbox: Sandbox) -> None:
    await create(flip, sandbox)
    sandbox.inject(Fault(route="flip_event_list", kind="wrong_type", field="0", value="event"))
    with pytest.raises(InvalidResponseError) as caught:
        await flip.list_events()
    assert caught.value.path == "[0]"
    assert caught.value.service == "Flip"

    sandbox.inject(Fault(route="flip_event_list", kind="wrong_type", field="", value={"a": 1}))
    with pytest.raises(InvalidResponseError, match="expected a list, got an object"):
        await flip.list_events()


def test_actions_leave_unset_fields_out() -> None:
    action = FlipAction(mode=FlipMode.STANDBY, starts_at=NOW, duration_s=60)
    assert action.to_json() == {
        "mode": "STANDBY",
        "starts_at": "2026-03-28T12:00:00Z",
        "duration_s": 60,
    }


def test_the_documented_event_is_read() -> None:
    event = FlipEvent.from_json(fixture_json("flip/event.json"))
    assert event.id == "497f6eca-6276-4993-bfeb-53cbbbba6f08"
    assert event.actions[0].setpoint_mode == "EVEN"


@pytest.mark.parametrize(
    ("body", "code", "reason", "fields"),
    [
        (
            fixture_json("flip/error_422.json"),
            "validation_error",
            "actions[0].mode: Input should be 'CHARGE', 'DISCHARGE', 'STANDBY', 'BACKUP', "
            "'SELF_CONSUMPTION' or 'SAVINGS'; target_ids: List should have at least 1 item "
            "after validation, not 0",
            2,
        ),
        ({"detail": "Event not found"}, None, "Event not found", 0),
        ({"message": "Nope", "detail": [], "errors": []}, None, "Nope", 0),
        ({"errors": ["junk", {"message": "bad", "path": None}]}, None, "bad", 1),
        ({"detail": [{"loc": "body", "msg": "broken"}, "junk"]}, None, "body: broken", 1),
        ("not an object", None, "", 0),
    ],
)
def test_flip_error_envelopes(
    flip: FlipClient, body: Any, code: str | None, reason: str, fields: int
) -> None:
    assert flip.describe_error(body)[:2] == (code, reason)
    assert len(flip.describe_error(body)[2]) == fields


def test_only_the_first_rejected_fields_are_read(flip: FlipClient) -> None:
    many = [{"loc": ["body", f"f{n}"], "msg": "bad"} for n in range(30)]
    assert len(flip.describe_error({"detail": many})[2]) == MAX_FIELD_ERRORS
    others = [{"path": f"p{n}", "message": "bad"} for n in range(30)]
    described = flip.describe_error({"detail": many[:5], "errors": others})[2]
    assert len(described) == MAX_FIELD_ERRORS
    assert described[5] == ("p0", "bad")


async def test_an_error_page_that_is_not_json(flip: FlipClient, sandbox: Sandbox) -> None:
    sandbox.inject(Fault(route="flip_event_list", kind="html_error", status=503))
    with pytest.raises(RequestError, match=r"^Flip answered HTTP 503$"):
        await flip.list_events()


def test_action_times_must_be_aware() -> None:
    action = FlipAction(mode=FlipMode.CHARGE, starts_at=NOW.replace(tzinfo=None), duration_s=60)
    with pytest.raises(ValueError, match="timezone-aware"):
        action.to_json()
