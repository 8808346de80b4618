"""The Sandbox: both simulated clouds on one aiohttp server, with controls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus
import json
import logging
from typing import Any, Protocol, cast

from aiohttp import web

from .admin import ADMIN_PREFIX, admin_routes
from .clock import Clock
from .common import Api, ApiError, IdFactory, JsonDict, Reply, RouteSpec, iso_z
from .faults import FLATPEAK_ROUTES, FLIP_ROUTES, TRANSFORM_KINDS, Fault, FaultQueue, reshape
from .flatpeak import (
    API_KEY,
    DEMO_DEVICE_IDS,
    DEVICE_ID,
    EV_CHARGER_ID,
    HEAT_PUMP_ID,
    LIVE_API_KEY,
    LOCATION_ID,
    FlatpeakCloud,
)
from .flip import FLIP_API_KEY, FLIP_PROGRAM_ID, FlipCloud
from .tariff import PriceModel

_LOGGER = logging.getLogger(__name__)

# Set when the app shuts down, so that requests held by a timeout fault end at
# once instead of keeping the server (and a test) waiting.
CLOSING = web.AppKey("sandbox_closing", asyncio.Event)

# Requests for paths no route matches are counted under this name.
UNMATCHED = "unmatched"

_DEFAULT_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    413: "request_too_large",
    422: "invalid_request",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request an API route received (status 0: no answer was sent)."""

    route: str
    method: str
    path: str
    time: datetime
    status: int


class SimulatedApi(Protocol):
    """What the Sandbox needs from each simulated cloud."""

    def routes(self) -> list[RouteSpec]:
        """Return the API's routes."""

    def before(self, request: web.Request) -> None:
        """Check preconditions shared by every route; raise ApiError."""

    def extra_headers(self, request: web.Request) -> dict[str, str]:
        """Return headers every answer carries."""

    def render_error(self, request: web.Request, route: str, error: ApiError) -> Reply:
        """Return the API's error envelope."""


def _fault_error(fault: Fault) -> ApiError:
    status = fault.status
    code = fault.code or _DEFAULT_CODES.get(status, "error")
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:  # a status with no standard reason, such as 599
        phrase = "Error"
    message = fault.message or phrase
    return ApiError(status, code, message, error_type=fault.error_type)


def _to_response(reply: Reply, headers: dict[str, str], *, malformed: bool) -> web.Response:
    merged = {**headers, **reply.headers}
    if malformed:
        # Cut the JSON in half: a body that starts well and never parses.
        text = json.dumps(reply.body)
        return web.Response(
            status=200,
            text=text[: max(1, len(text) // 2)],
            content_type="application/json",
            headers=merged,
        )
    if reply.body is None and reply.status == 204:
        return web.Response(status=reply.status, headers=merged)
    return web.Response(
        status=reply.status,
        text=json.dumps(reply.body),
        content_type="application/json",
        headers=merged,
    )


class Sandbox:
    """A local Flatpeak and Flip Utility API with scenario and fault controls.

    Both APIs are served under one base URL: Flatpeak paths at the root
    (`/login`, `/devices`...), Flip paths under `/v1`, and the admin routes
    under `/_sandbox`. The credentials and ids are constants (see the package
    docstring); ids created at run time are derived from `seed`.
    """

    def __init__(
        self,
        seed: int = 0,
        now: datetime | None = None,
        *,
        demo: bool = False,
        token_lifetime_s: int = 3600,
    ) -> None:
        """Create the sandbox; `now` fixes the clock, None follows the wall clock.

        With `demo` the import prices dip a couple of minutes after creation,
        so that a charging slot starts soon after the sandbox does.
        """
        self.seed = seed
        self.demo = demo
        self.clock = Clock(now)
        self._ids = IdFactory(seed)
        prices = PriceModel.demo(seed, self.clock.now()) if demo else PriceModel(seed=seed)
        self.flatpeak = FlatpeakCloud(self.clock, self._ids, prices, token_lifetime_s)
        self.flip = FlipCloud(self.clock, self._ids)
        self._faults = FaultQueue()
        self._counts: dict[str, int] = {}
        self._requests: list[RecordedRequest] = []

    # -------------------------------------------------------- credentials, ids

    @property
    def account_id(self) -> str:
        """Return the Flatpeak account id."""
        return self.flatpeak.account_id

    @property
    def api_key(self) -> str:
        """Return a valid test-mode Flatpeak API key."""
        return API_KEY

    @property
    def live_api_key(self) -> str:
        """Return a valid live-mode Flatpeak API key."""
        return LIVE_API_KEY

    @property
    def device_id(self) -> str:
        """Return the id of the demo battery."""
        return DEVICE_ID

    @property
    def ev_charger_id(self) -> str:
        """Return the id of the demo EV charger."""
        return EV_CHARGER_ID

    @property
    def heat_pump_id(self) -> str:
        """Return the id of the demo heat pump."""
        return HEAT_PUMP_ID

    @property
    def device_ids(self) -> tuple[str, ...]:
        """Return the ids of the account's demo devices: battery, EV charger, heat pump."""
        return DEMO_DEVICE_IDS

    @property
    def location_id(self) -> str:
        """Return the id of the demo location."""
        return LOCATION_ID

    @property
    def flip_api_key(self) -> str:
        """Return a valid Flip API key."""
        return FLIP_API_KEY

    @property
    def flip_program_id(self) -> str:
        """Return the Flip program the keys may dispatch to."""
        return FLIP_PROGRAM_ID

    @property
    def token_lifetime_s(self) -> int:
        """Return `expires_in` for new bearer tokens."""
        return self.flatpeak.token_lifetime_s

    @token_lifetime_s.setter
    def token_lifetime_s(self, value: int) -> None:
        self.flatpeak.token_lifetime_s = value

    # ---------------------------------------------------------------- controls

    def expire_tokens(self) -> None:
        """Make every bearer token issued so far answer 401."""
        self.flatpeak.expire_tokens()

    @property
    def issued_tokens(self) -> list[str]:
        """Every bearer token issued so far, for tests that look for leaks."""
        return self.flatpeak.issued_tokens

    def revoke_key(self, key: str) -> None:
        """Revoke a Flatpeak or Flip API key."""
        self.flatpeak.keys.discard(key)
        self.flip.keys.discard(key)

    def add_key(self, key: str) -> None:
        """Accept another API key: `sk_test_`/`sk_live_` for Flatpeak, `fl_` for Flip."""
        if key.startswith("fl_"):
            self.flip.keys.add(key)
        elif key.startswith(("sk_test_", "sk_live_")):
            self.flatpeak.keys.add(key)
        else:
            raise ValueError("API keys start with sk_test_, sk_live_ or fl_")

    def inject(self, fault: Fault) -> None:
        """Queue a fault; faults are matched in injection order."""
        self._faults.add(fault)

    def clear_faults(self) -> int:
        """Remove every queued fault; return how many there were."""
        return self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        """Return copies of the faults still queued."""
        return self._faults.active()

    @property
    def request_counts(self) -> dict[str, int]:
        """Return how many requests each route received, zeros included."""
        counts = dict.fromkeys((*FLATPEAK_ROUTES, *FLIP_ROUTES), 0)
        counts.update(self._counts)
        return counts

    @property
    def requests(self) -> list[RecordedRequest]:
        """Return every API request received since the last reset, in order."""
        return list(self._requests)

    def reset_counts(self) -> None:
        """Forget the requests received so far."""
        self._counts.clear()
        self._requests.clear()

    def add_location(self, location_id: str, *devices: str) -> None:
        """Add a second location on the same tariff, where the given devices are too."""
        self.flatpeak.add_location(location_id, *devices)

    def set_tariff_status(self, element: str, status: str) -> None:
        """Set a tariff element's status, verbatim (a trailing space is kept)."""
        self.flatpeak.set_tariff_status(element, status)

    def set_device_state(
        self,
        soc_percent: float,
        target_percent: float,
        device_id: str | None = None,
    ) -> None:
        """Store a device state (the demo battery unless `device_id` is given)."""
        self.flatpeak.set_device_state(soc_percent, target_percent, device_id or DEVICE_ID)

    def set_schedule_override(self, data: list[Any] | None, device_id: str | None = None) -> None:
        """Serve these sessions (wire format) verbatim; None computes them again.

        Without `device_id`, every device is served them (and loses an
        override of its own); with it, only that device, whatever the others get.
        """
        self.flatpeak.set_schedule_override(data, device_id)

    def shift_schedule(self, offset: timedelta, device_id: str | None = None) -> None:
        """Move served session and slot times by `offset` (not cumulative).

        Without `device_id`, every device's (and a shift of its own is
        dropped); with it, only that device's.
        """
        self.flatpeak.shift_schedule(offset, device_id)

    @property
    def flip_events(self) -> list[JsonDict]:
        """Return the Flip events held, with a `cancelled` flag on each."""
        return self.flip.snapshot()

    def state(self) -> JsonDict:
        """Return a JSON-able summary: credentials, ids, clock, state and counts."""
        location = self.flatpeak.locations[LOCATION_ID]
        return {
            "seed": self.seed,
            "demo": self.demo,
            "clock": {"now": iso_z(self.clock.now()), "frozen": self.clock.frozen},
            "flatpeak": {
                "account_id": self.account_id,
                "api_key": self.api_key,
                "live_api_key": self.live_api_key,
                "keys": sorted(self.flatpeak.keys),
                "device_id": self.device_id,
                "ev_charger_id": self.ev_charger_id,
                "heat_pump_id": self.heat_pump_id,
                "location_id": self.location_id,
                "default_version": self.flatpeak.default_version,
                "token_lifetime_s": self.token_lifetime_s,
                "tariff_status": dict(location.tariff_status),
            },
            "flip": {
                "api_key": self.flip_api_key,
                "keys": sorted(self.flip.keys),
                "program_id": self.flip_program_id,
            },
            "device_state": self.flatpeak.device_state(),
            "device_states": {
                device_id: self.flatpeak.device_state(device_id)
                for device_id in self.flatpeak.devices
            },
            "schedule": self.schedule_state(),
            "faults": [fault.to_dict() for fault in self.faults],
            "request_counts": self.request_counts,
        }

    def schedule_state(self) -> JsonDict:
        """Return the override and shift served to every device, then to each device with its own."""
        flatpeak = self.flatpeak
        own = sorted({*flatpeak.device_overrides, *flatpeak.device_shifts})
        return {
            "override": flatpeak.schedule_override is not None,
            "shift_s": flatpeak.schedule_shift.total_seconds(),
            "devices": {
                device_id: {
                    "override": flatpeak.override_for(device_id) is not None,
                    "shift_s": flatpeak.shift_for(device_id).total_seconds(),
                }
                for device_id in own
            },
        }

    # ----------------------------------------------------------------- serving

    def make_app(self) -> web.Application:
        """Return an aiohttp application serving both APIs and the admin routes."""
        apis: list[tuple[Api, SimulatedApi]] = [
            ("flatpeak", self.flatpeak),
            ("flip", self.flip),
        ]

        @web.middleware
        async def unmatched(
            request: web.Request,
            handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
        ) -> web.StreamResponse:
            problem = request.match_info.http_exception
            if problem is None:
                return await handler(request)
            return self._unmatched(request, problem)

        app = web.Application(middlewares=[unmatched])
        app[CLOSING] = asyncio.Event()
        for api_name, api in apis:
            for spec in api.routes():
                app.router.add_route(spec.method, spec.path, self._endpoint(api_name, api, spec))
        app.router.add_routes(admin_routes(self))
        # aiohttp 3.11's signal annotation disagrees with aiosignal 1.4's, so
        # the checker cannot match a correct callback; the cast sidesteps that.
        app.on_shutdown.append(cast(Any, self._on_shutdown))
        return app

    @contextlib.asynccontextmanager
    async def serve(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        access_log: logging.Logger | None = None,
    ) -> AsyncIterator[str]:
        """Serve over real HTTP for the duration of the block; yield the base URL.

        Everything is stopped on exit: the listening socket, open connections
        and any request held by a timeout fault.
        """
        runner = web.AppRunner(
            self.make_app(), handle_signals=False, access_log=access_log, shutdown_timeout=5.0
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
            bound = runner.addresses[0][1]
            shown = f"[{host}]" if ":" in host else host
            yield f"http://{shown}:{bound}"
        finally:
            await runner.cleanup()

    @staticmethod
    async def _on_shutdown(app: web.Application) -> None:
        app[CLOSING].set()

    def _record(self, route: str, request: web.Request, arrived: datetime, status: int) -> None:
        self._requests.append(RecordedRequest(route, request.method, request.path, arrived, status))

    def _endpoint(
        self, api_name: Api, api: SimulatedApi, spec: RouteSpec
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def endpoint(request: web.Request) -> web.StreamResponse:
            arrived = self.clock.now()
            self._counts[spec.name] = self._counts.get(spec.name, 0) + 1
            status = 0
            try:
                response, status = await self._answer(request, api_name, api, spec)
            finally:
                self._record(spec.name, request, arrived, status)
            return response

        return endpoint

    async def _answer(
        self, request: web.Request, api_name: Api, api: SimulatedApi, spec: RouteSpec
    ) -> tuple[web.StreamResponse, int]:
        fault = self._faults.take(spec.name, api_name)
        headers = api.extra_headers(request)
        if fault is not None and fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        if fault is not None and fault.kind == "disconnect":
            if request.transport is not None:
                request.transport.close()
            # Never reaches the client: the connection is already closed.
            return web.Response(status=500), 0
        if fault is not None and fault.kind == "status":
            reply = api.render_error(request, spec.name, _fault_error(fault))
            response = _to_response(reply, headers, malformed=False)
            return response, response.status
        if fault is not None and fault.kind == "html_error":
            phrase = HTTPStatus(fault.status).phrase
            page = f"<html><body><h1>{fault.status} {phrase}</h1></body></html>"
            response = web.Response(
                status=fault.status, text=page, content_type="text/html", headers=headers
            )
            return response, response.status
        if fault is not None and fault.kind == "timeout":
            await self._pause(request, fault.delay_s)
        try:
            api.before(request)
            reply = await spec.handler(request)
        except ApiError as error:
            reply = api.render_error(request, spec.name, error)
        except web.HTTPException as problem:
            # Raised by aiohttp itself, e.g. 413 for a body over the size limit.
            code = _DEFAULT_CODES.get(problem.status, "error")
            reply = api.render_error(
                request, spec.name, ApiError(problem.status, code, problem.reason)
            )
        except Exception:
            # A sandbox bug still answers in the API's envelope, and is logged.
            _LOGGER.exception("Unexpected error answering %s %s", request.method, request.path)
            reply = api.render_error(
                request, spec.name, ApiError(500, "internal_error", "Internal Server Error")
            )
        if fault is not None and fault.kind in TRANSFORM_KINDS and reply.body is not None:
            reply.body = reshape(fault, reply.body)
        malformed = fault is not None and fault.kind == "malformed_json"
        response = _to_response(reply, headers, malformed=malformed)
        return response, response.status

    @staticmethod
    async def _pause(request: web.Request, delay_s: float) -> None:
        """Wait `delay_s`, or less if the server shuts down meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(request.app[CLOSING].wait(), delay_s)

    def _unmatched(self, request: web.Request, problem: web.HTTPException) -> web.Response:
        """Answer a path or method no route serves, in the right API's envelope."""
        path = request.path
        if path == ADMIN_PREFIX or path.startswith(f"{ADMIN_PREFIX}/"):
            return web.json_response({"error": problem.reason}, status=problem.status)
        arrived = self.clock.now()
        self._counts[UNMATCHED] = self._counts.get(UNMATCHED, 0) + 1
        api: SimulatedApi = self.flatpeak
        if path == "/v1" or path.startswith("/v1/"):
            api = self.flip
        if problem.status == 405:
            code, message = "method_not_allowed", f"{request.method} is not allowed here"
        else:
            code, message = "not_found", f"No route for {request.method} {path}"
        error = ApiError(problem.status, code, message, context="api")
        reply = api.render_error(request, UNMATCHED, error)
        headers = api.extra_headers(request)
        if "Allow" in problem.headers:
            headers["Allow"] = problem.headers["Allow"]
        response = _to_response(reply, headers, malformed=False)
        self._record(UNMATCHED, request, arrived, response.status)
        return response
