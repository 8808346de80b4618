"""Faults the sandbox can inject into its answers, and the reshaping they do."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, fields
from typing import Any

from .common import Api

FLATPEAK_ROUTES: tuple[str, ...] = (
    "login",
    "device_create",
    "device_list",
    "device_get",
    "device_state",
    "location_get",
    "location_status",
    "schedule_soc",
    "prices",
)
FLIP_ROUTES: tuple[str, ...] = (
    "flip_event_create",
    "flip_event_list",
    "flip_event_get",
    "flip_event_cancel",
)
WILDCARDS: tuple[str, ...] = ("*", "flatpeak:*", "flip:*")

KINDS: tuple[str, ...] = (
    "status",
    "html_error",
    "timeout",
    "disconnect",
    "malformed_json",
    "trailing_space",
    "kwh_units",
    "drop_field",
    "wrong_type",
)
# Kinds that let the request be answered normally and then reshape the answer.
TRANSFORM_KINDS: tuple[str, ...] = (
    "trailing_space",
    "kwh_units",
    "drop_field",
    "wrong_type",
)

# Keys whose string values are enumerations on the wire.
ENUM_KEYS = frozenset(
    {
        "status",
        "connection_type",
        "structure_type",
        "units",
        "current_state",
        "type",
        "tariff_direction",
        "energy_flow_direction",
        "mode",
        "power_mode",
        "setpoint_mode",
        "target_type",
    }
)
# Tariff element names; GET /locations/{id} holds their statuses as plain strings.
TARIFF_ELEMENTS = frozenset(
    {
        "commodity_import",
        "commodity_export",
        "non_commodity_import",
        "non_commodity_export",
        "local",
    }
)


@dataclass
class Fault:
    """A misbehaviour to inject into the answers of one or more routes.

    `route` is a route name, "*" for every API route, or "flatpeak:*" /
    "flip:*". `times` is how many requests it affects (None: until cleared).
    Kinds: status, html_error (`status` with an HTML page, as a proxy in front
    of the API would send), timeout, disconnect, malformed_json, trailing_space,
    kwh_units, drop_field and wrong_type (the last two need `field`, a dotted
    path such as "data.0.schedule.0.end_time"; for wrong_type the empty path ""
    replaces the whole body with `value`).

    Note on `disconnect`: aiohttp's client (3.9 and later, following RFC 9112)
    silently retries an idempotent request (GET, PUT, DELETE...) once when the
    server closes the connection without answering. For such a client to see
    the disconnect, use `times=2`: one for the request, one for the retry.
    """

    route: str = "*"
    kind: str = "status"
    status: int = 500
    code: str | None = None
    message: str | None = None
    # Sent verbatim as the Retry-After header: seconds ("30", or 30) or an HTTP date.
    retry_after: str | int | None = None
    delay_s: float = 30.0
    times: int | None = 1
    field: str | None = None
    value: Any = None
    # Overrides the Flatpeak error `type` (e.g. "api_error" for account_disabled).
    error_type: str | None = None

    def __post_init__(self) -> None:
        """Reject faults that could never apply, so typos fail loudly."""
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}")
        if self.route not in (*WILDCARDS, *FLATPEAK_ROUTES, *FLIP_ROUTES):
            raise ValueError(f"unknown route {self.route!r}")
        # An empty path means the whole body, which only wrong_type can replace.
        if (self.kind == "drop_field" and not self.field) or (
            self.kind == "wrong_type" and self.field is None
        ):
            raise ValueError(f"a {self.kind} fault needs a field path")
        if self.kind == "status" and not 400 <= self.status <= 599:
            raise ValueError("a status fault needs an HTTP status from 400 to 599")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1, or None for no limit")
        if self.delay_s < 0:
            raise ValueError("delay_s must not be negative")
        if isinstance(self.retry_after, int):
            # Kept as text, the way it goes on the wire.
            self.retry_after = str(self.retry_after)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        """Build a fault from JSON, rejecting unknown keys."""
        known = {item.name for item in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault keys: {', '.join(sorted(unknown))}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """Return the fault as JSON-able data."""
        return asdict(self)

    def matches(self, route: str, api: Api) -> bool:
        """Return True when this fault applies to a request on `route`."""
        return self.route in ("*", f"{api}:*", route)


class FaultQueue:
    """Active faults in injection order; the first match answers a request."""

    def __init__(self) -> None:
        """Start with no faults."""
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        """Queue a copy of `fault`, so the caller's object is never mutated."""
        queued = copy.deepcopy(fault)
        self._faults.append(queued)
        return queued

    def clear(self) -> int:
        """Remove every fault and return how many there were."""
        count = len(self._faults)
        self._faults.clear()
        return count

    def active(self) -> list[Fault]:
        """Return copies of the faults still queued."""
        return [copy.deepcopy(fault) for fault in self._faults]

    def take(self, route: str, api: Api) -> Fault | None:
        """Return the first fault for this request, using up one of its times."""
        for fault in self._faults:
            if not fault.matches(route, api):
                continue
            if fault.times is not None:
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
            return fault
        return None


def add_trailing_spaces(payload: Any, parent_key: str | None = None) -> Any:
    """Append a space to every enumeration string in `payload`."""
    if isinstance(payload, dict):
        return {key: add_trailing_spaces(value, key) for key, value in payload.items()}
    if isinstance(payload, list):
        return [add_trailing_spaces(item, parent_key) for item in payload]
    # Location objects hold plain status strings under the element names.
    if isinstance(payload, str) and (parent_key in ENUM_KEYS or parent_key in TARIFF_ELEMENTS):
        return payload + " "
    return payload


def to_kilo_units(payload: Any) -> Any:
    """Express every {units: WH|W, value} measure in KWH or KW instead."""
    if isinstance(payload, list):
        return [to_kilo_units(item) for item in payload]
    if not isinstance(payload, dict):
        return payload
    result = {key: to_kilo_units(value) for key, value in payload.items()}
    units = result.get("units")
    value = result.get("value")
    if units in ("WH", "W") and isinstance(value, int | float):
        result["units"] = "KWH" if units == "WH" else "KW"
        result["value"] = round(value / 1000, 6)
    return result


def _walk(payload: Any, parts: list[str]) -> Any:
    """Return the container addressed by `parts`, or None when absent."""
    node = payload
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def drop_path(payload: Any, path: str) -> Any:
    """Remove the value at a dotted path; a missing path changes nothing."""
    *parents, last = path.split(".")
    node = _walk(payload, parents)
    if isinstance(node, dict):
        node.pop(last, None)
    elif isinstance(node, list) and last.isdigit() and int(last) < len(node):
        del node[int(last)]
    return payload


def set_path(payload: Any, path: str, value: Any) -> Any:
    """Replace (or add) the value at a dotted path whose parent exists.

    The empty path replaces the whole payload.
    """
    if not path:
        return copy.deepcopy(value)
    *parents, last = path.split(".")
    node = _walk(payload, parents)
    if isinstance(node, dict):
        node[last] = copy.deepcopy(value)
    elif isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = copy.deepcopy(value)
    return payload


def reshape(fault: Fault, payload: Any) -> Any:
    """Apply a transforming fault to a JSON payload."""
    if fault.kind == "trailing_space":
        return add_trailing_spaces(payload)
    if fault.kind == "kwh_units":
        return to_kilo_units(payload)
    if fault.kind == "drop_field":
        return drop_path(payload, fault.field or "")
    if fault.kind == "wrong_type":
        return set_path(payload, fault.field or "", fault.value)
    return payload
