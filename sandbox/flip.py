"""The simulated Flip Utility API: demand-response events.

The published reference documents the shapes but no validation rules. Every
rule enforced in `_validate_event` is sandbox policy, chosen to catch client
mistakes early; none of it is confirmed behaviour of the real API. Validation
failures answer 422 with FastAPI/pydantic-style `detail` entries, and are a
little stricter than pydantic's lax mode (a number in a string is refused).

The API promises no read-after-write: `list_lag_s` makes `GET /v1/events`
leave out the events created less than that many seconds ago (sandbox clock),
as a list served by a lagging replica would. Reads by ID and cancels see them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
import uuid

from aiohttp import web

from .clock import Clock
from .common import ApiError, IdFactory, JsonDict, Reply, RouteSpec, is_number, iso_z, read_json

FLIP_API_KEY = "fl_5b1d5a7e9c0f_4e2a8d3b6c71e5a09f1c2d3e"
FLIP_PROGRAM_ID = "prg-sandbox-home"

MODES: tuple[str, ...] = (
    "CHARGE",
    "DISCHARGE",
    "STANDBY",
    "BACKUP",
    "SELF_CONSUMPTION",
    "SAVINGS",
)
TARGET_TYPES: tuple[str, ...] = ("DEVICE", "GROUP", "PROGRAM", "SITE")
POWER_MODES: tuple[str, ...] = ("SETPOINT", "FOLLOW_LOAD")
SETPOINT_MODES: tuple[str, ...] = ("EVEN",)
MAX_DURATION_S = 86400
START_GRACE = timedelta(minutes=5)


@dataclass
class FlipEvent:
    """An event as created, when, and whether it has been cancelled."""

    wire: JsonDict
    ends_at: datetime
    created_at: datetime
    cancelled: bool = False


def _enum_message(options: tuple[str, ...]) -> str:
    """Return pydantic's wording: Input should be 'A', 'B' or 'C'."""
    quoted = [f"'{option}'" for option in options]
    if len(quoted) == 1:
        return f"Input should be {quoted[0]}"
    return f"Input should be {', '.join(quoted[:-1])} or {quoted[-1]}"


class _Problems:
    """Collects validation failures the way pydantic reports them."""

    def __init__(self) -> None:
        self.detail: list[JsonDict] = []

    def add(self, loc: tuple[str | int, ...], msg: str, kind: str) -> None:
        self.detail.append({"loc": ["body", *loc], "msg": msg, "type": kind})

    def enum(self, loc: tuple[str | int, ...], value: object, options: tuple[str, ...]) -> None:
        if value not in options:
            self.add(loc, _enum_message(options), "enum")

    def integer(
        self,
        loc: tuple[str | int, ...],
        value: object,
        *,
        minimum: int | None = None,
        exclusive: bool = False,
        maximum: int | None = None,
    ) -> int | None:
        """Check an integer and its bounds; return it when valid."""
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, float):
            self.add(
                loc,
                "Input should be a valid integer, got a number with a fractional part",
                "int_from_float",
            )
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(loc, "Input should be a valid integer", "int_type")
            return None
        if minimum is not None and exclusive and value <= minimum:
            self.add(loc, f"Input should be greater than {minimum}", "greater_than")
            return None
        if minimum is not None and not exclusive and value < minimum:
            self.add(
                loc,
                f"Input should be greater than or equal to {minimum}",
                "greater_than_equal",
            )
            return None
        if maximum is not None and value > maximum:
            self.add(
                loc,
                f"Input should be less than or equal to {maximum}",
                "less_than_equal",
            )
            return None
        return value


class FlipCloud:
    """State and routes of the simulated Flip Utility API."""

    def __init__(self, clock: Clock, ids: IdFactory) -> None:
        """Create the organisation with one program and one API key."""
        self.clock = clock
        self.ids = ids
        self.keys: set[str] = {FLIP_API_KEY}
        self.program_ids: set[str] = {FLIP_PROGRAM_ID}
        self.events: dict[str, FlipEvent] = {}
        self._list_lag = timedelta(0)

    @property
    def list_lag_s(self) -> float:
        """How long, in seconds, a new event stays out of `GET /v1/events`."""
        return self._list_lag.total_seconds()

    @list_lag_s.setter
    def list_lag_s(self, value: float) -> None:
        if not is_number(value) or value < 0:
            raise ValueError("the list lag must be a number of seconds, 0 or more")
        self._list_lag = timedelta(seconds=value)

    def snapshot(self) -> list[JsonDict]:
        """Return every event held, cancelled ones flagged, oldest first."""
        return [
            {**_copy(event.wire), "cancelled": event.cancelled} for event in self.events.values()
        ]

    # ------------------------------------------------------------- API surface

    def routes(self) -> list[RouteSpec]:
        """Return every Flip route with its name."""
        return [
            RouteSpec("POST", "/v1/events", "flip_event_create", self._create),
            RouteSpec("GET", "/v1/events", "flip_event_list", self._list),
            RouteSpec("GET", "/v1/events/{event_id}", "flip_event_get", self._get),
            RouteSpec("DELETE", "/v1/events/{event_id}", "flip_event_cancel", self._cancel),
        ]

    def before(self, request: web.Request) -> None:
        """Flip has no per-request preconditions besides auth."""

    def extra_headers(self, request: web.Request) -> dict[str, str]:
        """Flip adds no headers of its own."""
        return {}

    def render_error(self, request: web.Request, route: str, error: ApiError) -> Reply:
        """Return Flip's five-key error envelope for `error`."""
        errors = [
            {
                "message": item["msg"],
                "path": ".".join(str(part) for part in item["loc"][1:]),
            }
            for item in error.detail
        ]
        body = {
            "code": error.code,
            "detail": error.detail,
            "errors": errors,
            "message": error.message,
            "status_code": error.status,
        }
        return Reply(error.status, body, dict(error.headers))

    # ----------------------------------------------------------------- helpers

    def _auth(self, request: web.Request) -> None:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ApiError(401, "unauthorized", "Missing API key")
        if value.strip() not in self.keys:
            raise ApiError(401, "unauthorized", "Invalid API key")

    def _event(self, request: web.Request) -> FlipEvent:
        raw = request.match_info["event_id"]
        try:
            event_id = str(uuid.UUID(raw))
        except ValueError:
            detail = [
                {
                    "loc": ["path", "event_id"],
                    "msg": "Input should be a valid UUID",
                    "type": "uuid_parsing",
                }
            ]
            raise ApiError(
                422, "validation_error", "Request validation failed", detail=detail
            ) from None
        event = self.events.get(event_id)
        if event is None or event.cancelled:
            raise ApiError(404, "not_found", f"Event {raw} not found")
        return event

    def _validate_event(self, body: Any) -> list[JsonDict]:
        """Return pydantic-style problems with an event body (sandbox policy)."""
        problems = _Problems()
        if not isinstance(body, dict):
            problems.add(
                (),
                "Input should be a valid dictionary or object to extract fields from",
                "model_attributes_type",
            )
            return problems.detail
        actions = body.get("actions")
        if "actions" not in body:
            problems.add(("actions",), "Field required", "missing")
        elif not isinstance(actions, list):
            problems.add(("actions",), "Input should be a valid list", "list_type")
        elif not actions:
            problems.add(
                ("actions",),
                "List should have at least 1 item after validation, not 0",
                "too_short",
            )
        else:
            for index, action in enumerate(actions):
                self._validate_action(problems, index, action)
        if "program_id" not in body:
            problems.add(("program_id",), "Field required", "missing")
        elif not isinstance(body["program_id"], str):
            problems.add(("program_id",), "Input should be a valid string", "string_type")
        elif body["program_id"] not in self.program_ids:
            problems.add(
                ("program_id",),
                f"Value error, unknown program_id {body['program_id']!r}",
                "value_error",
            )
        if "target_type" not in body:
            problems.add(("target_type",), "Field required", "missing")
        else:
            problems.enum(("target_type",), body["target_type"], TARGET_TYPES)
        target_ids = body.get("target_ids")
        if "target_ids" not in body:
            problems.add(("target_ids",), "Field required", "missing")
        elif not isinstance(target_ids, list):
            problems.add(("target_ids",), "Input should be a valid list", "list_type")
        elif not target_ids:
            problems.add(
                ("target_ids",),
                "List should have at least 1 item after validation, not 0",
                "too_short",
            )
        else:
            for index, target in enumerate(target_ids):
                if not isinstance(target, str):
                    problems.add(
                        ("target_ids", index),
                        "Input should be a valid string",
                        "string_type",
                    )
        return problems.detail

    def _validate_action(self, problems: _Problems, index: int, action: Any) -> None:
        loc: tuple[str | int, ...] = ("actions", index)
        if not isinstance(action, dict):
            problems.add(
                loc,
                "Input should be a valid dictionary or object to extract fields from",
                "model_attributes_type",
            )
            return
        for name in ("mode", "starts_at", "duration_s"):
            if name not in action:
                problems.add((*loc, name), "Field required", "missing")
        if "mode" in action:
            problems.enum((*loc, "mode"), action["mode"], MODES)
        if "starts_at" in action:
            self._validate_start(problems, (*loc, "starts_at"), action["starts_at"])
        if "duration_s" in action:
            problems.integer(
                (*loc, "duration_s"),
                action["duration_s"],
                minimum=0,
                exclusive=True,
                maximum=MAX_DURATION_S,
            )
        power_mode = action.get("power_mode")
        if power_mode is not None:
            problems.enum((*loc, "power_mode"), power_mode, POWER_MODES)
        setpoint = action.get("setpoint_w")
        if setpoint is not None:
            problems.integer((*loc, "setpoint_w"), setpoint, minimum=0)
        elif power_mode == "SETPOINT":
            problems.add(
                (*loc, "setpoint_w"),
                "Value error, setpoint_w is required when power_mode is SETPOINT",
                "value_error",
            )
        if action.get("setpoint_mode") is not None:
            problems.enum((*loc, "setpoint_mode"), action["setpoint_mode"], SETPOINT_MODES)
        reserve = action.get("backup_reserve_percentage")
        if reserve is not None:
            problems.integer((*loc, "backup_reserve_percentage"), reserve, minimum=0, maximum=100)
        grid = action.get("enable_grid_import")
        if grid is not None and not isinstance(grid, bool):
            problems.add(
                (*loc, "enable_grid_import"),
                "Input should be a valid boolean",
                "bool_type",
            )

    def _validate_start(
        self, problems: _Problems, loc: tuple[str | int, ...], value: object
    ) -> None:
        if not isinstance(value, str):
            problems.add(loc, "Input should be a valid datetime", "datetime_type")
            return
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            problems.add(loc, "Input should be a valid datetime", "datetime_parsing")
            return
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            problems.add(loc, "Input should have timezone info", "timezone_aware")
            return
        if parsed < self.clock.now() - START_GRACE:
            problems.add(
                loc,
                "Value error, starts_at must not be more than 5 minutes in the past",
                "value_error",
            )

    # ---------------------------------------------------------------- handlers

    async def _create(self, request: web.Request) -> Reply:
        self._auth(request)
        ok, body = await read_json(request)
        if not ok:
            detail = [{"loc": ["body"], "msg": "JSON decode error", "type": "json_invalid"}]
            raise ApiError(422, "validation_error", "Request validation failed", detail=detail)
        detail = self._validate_event(body)
        if detail:
            raise ApiError(422, "validation_error", "Request validation failed", detail=detail)
        now = self.clock.now()
        actions: list[JsonDict] = []
        bounds: list[tuple[datetime, datetime]] = []
        for action in body["actions"]:
            starts = datetime.fromisoformat(action["starts_at"]).astimezone(UTC)
            duration = int(action["duration_s"])
            bounds.append((starts, starts + timedelta(seconds=duration)))
            actions.append(
                {
                    "backup_reserve_percentage": _optional_int(action, "backup_reserve_percentage"),
                    "duration_s": duration,
                    "enable_grid_import": action.get("enable_grid_import"),
                    "mode": action["mode"],
                    "power_mode": action.get("power_mode"),
                    "setpoint_mode": action.get("setpoint_mode"),
                    "setpoint_w": _optional_int(action, "setpoint_w"),
                    "starts_at": iso_z(starts),
                }
            )
        starts_at = min(start for start, _end in bounds)
        ends_at = max(end for _start, end in bounds)
        event_id = self.ids.uuid4("flip-event")
        wire: JsonDict = {
            "actions": actions,
            "created_at": iso_z(now),
            "duration_s": int((ends_at - starts_at).total_seconds()),
            "ends_at": iso_z(ends_at),
            "id": event_id,
            "program_id": body["program_id"],
            "starts_at": iso_z(starts_at),
            "target_ids": list(body["target_ids"]),
            "target_type": body["target_type"],
            "updated_at": iso_z(now),
        }
        self.events[event_id] = FlipEvent(wire, ends_at, now)
        return Reply(200, _copy(wire))

    async def _list(self, request: web.Request) -> Reply:
        self._auth(request)
        # Created at or before this instant: old enough to be listed.
        listed_until = self.clock.now() - self._list_lag
        return Reply(
            200,
            [
                _copy(event.wire)
                for event in self.events.values()
                if not event.cancelled and event.created_at <= listed_until
            ],
        )

    async def _get(self, request: web.Request) -> Reply:
        self._auth(request)
        return Reply(200, _copy(self._event(request).wire))

    async def _cancel(self, request: web.Request) -> Reply:
        self._auth(request)
        event = self._event(request)
        now = self.clock.now()
        if event.ends_at <= now:
            # 409 is sandbox policy: the reference only says completed events
            # cannot be cancelled.
            raise ApiError(409, "event_completed", "The event has already completed")
        event.cancelled = True
        event.wire["updated_at"] = iso_z(now)
        return Reply(204, None)


def _optional_int(action: JsonDict, name: str) -> int | None:
    """Return a validated optional integer field (integral floats included)."""
    value = action.get(name)
    return None if value is None else int(value)


def _copy(wire: JsonDict) -> JsonDict:
    """Return a copy deep enough that callers cannot change the stored event."""
    return {
        **wire,
        "actions": [dict(action) for action in wire["actions"]],
        "target_ids": list(wire["target_ids"]),
    }
