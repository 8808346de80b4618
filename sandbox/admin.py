"""Admin routes under /_sandbox: the Python controls over HTTP.

    GET    /_sandbox/state          credentials, ids, clock, device state, counts
    GET    /_sandbox/faults         faults still queued
    POST   /_sandbox/faults         queue a fault: the Fault fields as JSON
    DELETE /_sandbox/faults         clear every fault
    GET    /_sandbox/requests       {"counts": {...}, "requests": [...]}
    DELETE /_sandbox/requests       forget them
    POST   /_sandbox/clock          {"now": "<ISO 8601>"} or {"advance_s": n}
    POST   /_sandbox/tokens/expire  every bearer issued so far answers 401
    POST   /_sandbox/tariff         {"element": "commodity_import", "status": "PENDING"}
    POST   /_sandbox/device_state   {"soc_percent": n, "target_percent": n, "device_id"?}
    POST   /_sandbox/schedule       {"data": [sessions]} and/or {"shift_s": n}, for
                                    every device, or one with "device_id"
    DELETE /_sandbox/schedule       computed sessions again, no shift, for every
                                    device; with ?device_id= that device's own
                                    override and shift are dropped
    POST   /_sandbox/keys           {"add": key} or {"revoke": key}
    GET    /_sandbox/flip/events    Flip events held, cancelled ones flagged
    POST   /_sandbox/flip/list_lag  {"list_lag_s": n}: GET /v1/events leaves out
                                    events created less than n seconds ago

Admin requests are never counted and never faulted. Every answer is JSON;
a bad request answers 400 with `{"error": "..."}`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .common import is_number, iso_z, parse_aware, read_json
from .faults import Fault

if TYPE_CHECKING:
    from .app import Sandbox

ADMIN_PREFIX = "/_sandbox"

type AdminHandler = Callable[[web.Request], Awaitable[web.Response]]


class AdminError(Exception):
    """A bad admin request; answered with 400."""


async def _object(request: web.Request) -> dict[str, Any]:
    ok, body = await read_json(request)
    if not ok or not isinstance(body, dict):
        raise AdminError("the body must be a JSON object")
    return body


def _guarded(handler: AdminHandler) -> AdminHandler:
    """Turn AdminError and ValueError into 400 answers."""

    async def guarded(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except (AdminError, ValueError, TypeError, KeyError) as err:
            return web.json_response({"error": str(err)}, status=400)

    return guarded


def admin_routes(sb: Sandbox) -> list[web.RouteDef]:
    """Return the admin routes bound to `sb`."""

    async def get_state(request: web.Request) -> web.Response:
        return web.json_response(sb.state())

    async def add_fault(request: web.Request) -> web.Response:
        fault = Fault.from_dict(await _object(request))
        sb.inject(fault)
        return web.json_response({"fault": fault.to_dict()}, status=201)

    async def list_faults(request: web.Request) -> web.Response:
        return web.json_response({"faults": [f.to_dict() for f in sb.faults]})

    async def clear_faults(request: web.Request) -> web.Response:
        return web.json_response({"cleared": sb.clear_faults()})

    async def get_requests(request: web.Request) -> web.Response:
        recorded = [{**asdict(item), "time": iso_z(item.time)} for item in sb.requests]
        return web.json_response({"counts": sb.request_counts, "requests": recorded})

    async def reset_requests(request: web.Request) -> web.Response:
        sb.reset_counts()
        return web.json_response({"counts": sb.request_counts})

    async def set_clock(request: web.Request) -> web.Response:
        body = await _object(request)
        if "now" in body:
            moment = parse_aware(body["now"])
            if moment is None:
                raise AdminError("now must be an ISO 8601 time with an offset")
            sb.clock.set(moment)
        elif is_number(body.get("advance_s")):
            sb.clock.advance(timedelta(seconds=body["advance_s"]))
        else:
            raise AdminError("give now (ISO 8601) or advance_s (seconds)")
        return web.json_response({"now": iso_z(sb.clock.now())})

    async def expire_tokens(request: web.Request) -> web.Response:
        sb.expire_tokens()
        return web.json_response({"expired": True})

    async def set_tariff(request: web.Request) -> web.Response:
        body = await _object(request)
        element, status = body.get("element"), body.get("status")
        if not isinstance(element, str) or not isinstance(status, str):
            raise AdminError("give element and status as strings")
        sb.set_tariff_status(element, status)
        return web.json_response({"tariff_status": sb.state()["flatpeak"]["tariff_status"]})

    async def set_device_state(request: web.Request) -> web.Response:
        body = await _object(request)
        device_id = body.get("device_id")
        if device_id is not None and device_id not in sb.flatpeak.devices:
            raise AdminError(f"unknown device {device_id}")
        sb.set_device_state(body["soc_percent"], body["target_percent"], device_id)
        return web.json_response(
            {"device_state": sb.flatpeak.device_state(device_id or sb.device_id)}
        )

    def known_device(value: object) -> str | None:
        if value is not None and value not in sb.flatpeak.devices:
            raise AdminError(f"unknown device {value}")
        return value if isinstance(value, str) else None

    async def set_schedule(request: web.Request) -> web.Response:
        body = await _object(request)
        device_id = known_device(body.get("device_id"))
        if "data" not in body and "shift_s" not in body:
            raise AdminError("give data (sessions) and/or shift_s (seconds)")
        if "data" in body and not isinstance(body["data"], list):
            raise AdminError("data must be a list of sessions")
        if "shift_s" in body and not is_number(body["shift_s"]):
            raise AdminError("shift_s must be a number of seconds")
        if "data" in body:
            sb.set_schedule_override(body["data"], device_id)
        if "shift_s" in body:
            sb.shift_schedule(timedelta(seconds=body["shift_s"]), device_id)
        return web.json_response(sb.schedule_state())

    async def reset_schedule(request: web.Request) -> web.Response:
        device_id = known_device(request.query.get("device_id"))
        if device_id is None:
            sb.set_schedule_override(None)
            sb.shift_schedule(timedelta(0))
        else:
            sb.flatpeak.forget_device_schedule(device_id)
        return web.json_response(sb.schedule_state())

    async def change_keys(request: web.Request) -> web.Response:
        body = await _object(request)
        if isinstance(body.get("add"), str):
            sb.add_key(body["add"])
        elif isinstance(body.get("revoke"), str):
            sb.revoke_key(body["revoke"])
        else:
            raise AdminError("give add or revoke with an API key")
        return web.json_response(
            {"flatpeak": sorted(sb.flatpeak.keys), "flip": sorted(sb.flip.keys)}
        )

    async def flip_events(request: web.Request) -> web.Response:
        return web.json_response(sb.flip_events)

    async def set_flip_list_lag(request: web.Request) -> web.Response:
        sb.flip.list_lag_s = (await _object(request))["list_lag_s"]
        return web.json_response({"list_lag_s": sb.flip.list_lag_s})

    table: list[tuple[str, str, AdminHandler]] = [
        ("GET", "/state", get_state),
        ("GET", "/faults", list_faults),
        ("POST", "/faults", add_fault),
        ("DELETE", "/faults", clear_faults),
        ("GET", "/requests", get_requests),
        ("DELETE", "/requests", reset_requests),
        ("POST", "/clock", set_clock),
        ("POST", "/tokens/expire", expire_tokens),
        ("POST", "/tariff", set_tariff),
        ("POST", "/device_state", set_device_state),
        ("POST", "/schedule", set_schedule),
        ("DELETE", "/schedule", reset_schedule),
        ("POST", "/keys", change_keys),
        ("GET", "/flip/events", flip_events),
        ("POST", "/flip/list_lag", set_flip_list_lag),
    ]
    return [
        web.route(method, f"{ADMIN_PREFIX}{path}", _guarded(handler))
        for method, path, handler in table
    ]
