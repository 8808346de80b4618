"""Tests of `scripts/demo.py`, the HTTP steps of `scripts/develop`.

The choreography runs here against a small stand-in for Home Assistant's HTTP API;
`scripts/develop` itself runs it against the real one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
import json
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
import homeassistant
import pytest

from sandbox import ACCOUNT_ID, API_KEY, DEMO_DEVICE_IDS, DEVICE_ID
from scripts import demo

# ---------------------------------------------------------------------------------------
# Requirements and the configuration folder


def write_manifest(root: Path, domain: str, **manifest: Any) -> None:
    (root / domain).mkdir(parents=True)
    (root / domain / "manifest.json").write_text(json.dumps({"domain": domain, **manifest}))


def test_config_domains() -> None:
    configuration: dict[str, Any] = {
        "homeassistant": {},
        "frontend": None,
        "sensor 2": [],
        "logger": {},
    }
    assert demo.config_domains(configuration) == {"frontend", "sensor", "logger"}


def test_collect_requirements_follows_dependencies_custom_first(tmp_path: Path) -> None:
    custom, core = tmp_path / "custom", tmp_path / "core"
    write_manifest(custom, "mine", requirements=["a==1"], dependencies=["http"])
    write_manifest(custom, "http", requirements=["custom-http==1"])  # overrides core's http
    write_manifest(core, "http", requirements=["core-http==1"], after_dependencies=["later"])
    write_manifest(core, "later", requirements=["b==2", "a==1"], dependencies=["mine"])
    write_manifest(core, "plain")

    found = demo.collect_requirements(["mine", "plain", "absent"], [custom, core])

    assert found == ["a==1", "custom-http==1"]
    write_manifest(custom, "other", after_dependencies=["later"])
    assert demo.collect_requirements(["other"], [custom, core]) == [
        "b==2",
        "a==1",
        "custom-http==1",
    ]


def test_always_loaded_reads_the_installed_bootstrap() -> None:
    from homeassistant import bootstrap

    source = (Path(homeassistant.__path__[0]) / "bootstrap.py").read_text(encoding="utf-8")
    assert demo.always_loaded(source) == (
        bootstrap.CORE_INTEGRATIONS | bootstrap.DEFAULT_INTEGRATIONS
    )


def test_always_loaded_annotated_and_missing() -> None:
    source = 'CORE_INTEGRATIONS: set[str] = {"a"}\nDEFAULT_INTEGRATIONS = {"b", "c"}\nX = 1\n'
    assert demo.always_loaded(source) == {"a", "b", "c"}
    with pytest.raises(demo.StepError, match="DEFAULT_INTEGRATIONS"):
        demo.always_loaded('CORE_INTEGRATIONS = {"a"}\n')


def test_always_loaded_unpacks_sets_and_their_differences() -> None:
    source = (
        'OWN = {"x", "y"}\n'
        'CORE_INTEGRATIONS = {"a", *OWN}\n'
        'DEFAULT_INTEGRATIONS = {"b", *(IMPORTED - {"c"}), *(OWN | {"z"})}\n'
        "NOT_A_SET = len(OWN)\n"
    )
    assert demo.always_loaded(source, {"IMPORTED": {"c", "d"}}) == {"a", "b", "d", "x", "y", "z"}
    with pytest.raises(demo.StepError, match="DEFAULT_INTEGRATIONS"):
        demo.always_loaded('CORE_INTEGRATIONS = {"a"}\nDEFAULT_INTEGRATIONS = {*UNKNOWN}\n', {})


def test_missing_requirements(tmp_path: Path) -> None:
    (tmp_path / "configuration.yaml").write_text("logger:\nprobe:\n")
    custom = tmp_path / "custom_components"
    write_manifest(custom, "probe", requirements=["flatpeak-demo-probe-absent==0.0.1"])
    write_manifest(custom, "extra", requirements=["aiohttp>=1"], dependencies=["probe"])

    # Among the rest, Home Assistant's own (the frontend, say) may be missing too.
    missing = demo.missing_requirements(tmp_path)
    assert "flatpeak-demo-probe-absent==0.0.1" in missing
    assert "aiohttp>=1" not in missing


def test_prepare_seeds_onboarding_and_prints_requirements(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "configuration.yaml").write_text("probe:\n")
    write_manifest(tmp_path / "custom_components", "probe", requirements=["zz-absent==1"])

    assert demo.main(["prepare", str(tmp_path)]) == 0

    assert "zz-absent==1" in capsys.readouterr().out.splitlines()
    stored = json.loads((tmp_path / ".storage" / "onboarding").read_text())
    assert stored["key"] == "onboarding"
    assert stored["data"] == {"done": ["core_config"]}


def test_prepare_without_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main(["prepare", str(tmp_path / "nowhere")]) == 1
    assert "reading the demo's configuration" in capsys.readouterr().err
    assert not (tmp_path / "nowhere").exists()


def test_seed_onboarding_leaves_existing_state(tmp_path: Path) -> None:
    assert demo.seed_onboarding(tmp_path) is True
    path = tmp_path / ".storage" / "onboarding"
    path.write_text("kept")
    assert demo.seed_onboarding(tmp_path) is False
    assert path.read_text() == "kept"


# ---------------------------------------------------------------------------------------
# Answering config flows


MENU = {"type": "menu", "flow_id": "f1", "step_id": "user", "menu_options": ["connect", "register"]}
FORM = {
    "type": "form",
    "flow_id": "f1",
    "step_id": "connect",
    "errors": {},
    "data_schema": [
        {"name": "api_key", "type": "string"},
        {"name": "advanced", "type": "expandable", "schema": [{"name": "url", "type": "string"}]},
    ],
}


def test_flatpeak_plan_adds_the_sandbox_account_with_all_its_devices() -> None:
    plan = demo.flatpeak_plan("http://127.0.0.1:8765")
    assert plan == {
        "user": {
            "api_key": API_KEY,
            "account_id": ACCOUNT_ID,
            "advanced": {"url": "http://127.0.0.1:8765"},
        },
        "devices": "pick",
        "pick": {"devices": list(DEMO_DEVICE_IDS)},
    }


def test_next_answer() -> None:
    plan: demo.FlowPlan = {"user": "connect", "connect": {"api_key": "k"}}
    answered: set[str] = set()
    assert demo.next_answer(MENU, plan, answered) == {"next_step_id": "connect"}
    menu_with_labels = {**MENU, "menu_options": {"connect": "Connect", "register": "Register"}}
    assert demo.next_answer(menu_with_labels, plan, answered) == {"next_step_id": "connect"}
    assert demo.next_answer(FORM, plan, answered) == {"api_key": "k"}
    assert answered == {"connect"}


@pytest.mark.parametrize(
    ("result", "plan", "message"),
    [
        (MENU, {"user": "pair"}, r"options \['connect', 'register'\].*'pair'"),
        (MENU, {}, "None"),
        (FORM, {}, r"unexpected form with fields \['api_key', 'advanced.url'\]"),
        ({**FORM, "step_id": "location"}, {"connect": {}}, "step 'location'"),
        ({"type": "external_step", "step_id": "x"}, {}, "unexpected result of type"),
    ],
)
def test_next_answer_explains_surprises(
    result: dict[str, Any], plan: demo.FlowPlan, message: str
) -> None:
    with pytest.raises(demo.StepError, match=message) as caught:
        demo.next_answer(result, plan, set())
    assert json.loads(caught.value.body or "") == result


def test_next_answer_stops_on_rejected_input() -> None:
    rejected = {**FORM, "errors": {"base": "invalid_auth"}}
    plan: demo.FlowPlan = {"connect": {"api_key": "k"}}
    answered: set[str] = set()
    # Errors on a form not yet answered (shown with the first form) are not ours.
    assert demo.next_answer(rejected, plan, answered) == {"api_key": "k"}
    with pytest.raises(demo.StepError, match="rejected the input.*invalid_auth"):
        demo.next_answer(rejected, plan, answered)


def test_step_error_report_truncates_the_body() -> None:
    error = demo.StepError("config flow", "went wrong", "x" * 5000)
    lines = error.report().splitlines()
    assert lines[0] == "demo: config flow: went wrong"
    assert lines[1] == "  response body: " + "x" * demo.BODY_LIMIT + "…"
    assert demo.StepError("s", "m").report() == "demo: s: m"


# ---------------------------------------------------------------------------------------
# The summary


NOW = datetime(2026, 3, 28, 12, 0, 30, tzinfo=UTC)


def calendar(start: str, end: str, state: str = "off") -> dict[str, Any]:
    return {
        "entity_id": "calendar.battery_charging_windows",
        "state": state,
        "attributes": {"start_time": start, "end_time": end},
    }


def test_window_line() -> None:
    soon = demo.window_line(calendar("2026-03-28 12:02:00", "2026-03-28 12:12:00"), NOW)
    assert soon == "  Charging window  12:02 to 12:12 (in 2 min): calendar.battery_charging_windows"
    now = demo.window_line(calendar("2026-03-28 12:00:00", "2026-03-28 12:10:00", "on"), NOW)
    assert now is not None
    assert "now, until 12:10" in now
    tomorrow = demo.window_line(calendar("2026-03-29 01:00:00", "2026-03-29 02:00:00"), NOW)
    assert tomorrow is not None
    assert "Sun 01:00 to 02:00" in tomorrow
    assert demo.window_line({"entity_id": "calendar.x", "state": "off"}, NOW) is None


def test_summary() -> None:
    states = [
        {"entity_id": "sensor.price", "state": "0.12", "attributes": {"unit_of_measurement": "£"}},
        calendar("2026-03-28 12:02:00", "2026-03-28 12:12:00"),
        {"entity_id": "binary_sensor.window", "state": "off"},
    ]
    text = demo.summary("http://ha", {"title": "Battery", "state": "loaded"}, states, ["d1"], NOW)
    assert text.splitlines() == [
        "  Flatpeak entry   'Battery', loaded",
        "  Device page      http://ha/config/devices/device/d1",
        "  Calendar         http://ha/calendar",
        "  Charging window  12:02 to 12:12 (in 2 min): calendar.battery_charging_windows",
        "  Entities",
        "    binary_sensor.window               off",
        "    calendar.battery_charging_windows  off",
        "    sensor.price                       0.12 £",
    ]


# ---------------------------------------------------------------------------------------
# The choreography, against a stand-in for Home Assistant


@dataclass
class FakeHass:
    """Just enough of Home Assistant's HTTP API for the demo's set-up."""

    onboarding_done: list[str] = field(default_factory=lambda: ["core_config"])
    entries: list[dict[str, Any]] = field(default_factory=list)
    flow: list[dict[str, Any]] = field(default_factory=list)
    subentries: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"subentry_id": "s-car", "subentry_type": "device", "unique_id": "dev_car"},
            {"subentry_id": "s-battery", "subentry_type": "device", "unique_id": DEVICE_ID},
        ]
    )
    device_flow: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {
                "type": "form",
                "flow_id": "d1",
                "step_id": "reconfigure",
                "data_schema": [
                    {"name": "location_id", "default": "loc_1"},
                    {"name": "soc_entity", "required": False},
                ],
            },
            {"type": "abort", "flow_id": "d1", "reason": "reconfigure_successful"},
        ]
    )
    states: list[dict[str, Any]] = field(
        default_factory=lambda: [{"entity_id": "sensor.battery_state_of_charge_sync"}]
    )
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    codes: int = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("GET", "/api/websocket", self.websocket)
        app.router.add_route("*", "/{path:.*}", self.handle)
        return app

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        """Home Assistant's websocket API, for the one command the demo sends."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "auth_required"})
        auth = await ws.receive_json()
        if not str(auth.get("access_token")).startswith("token"):
            await ws.send_json({"type": "auth_invalid"})
            return ws
        await ws.send_json({"type": "auth_ok"})
        command = await ws.receive_json()
        self.calls.append(("WS", command["type"], command))
        assert command["type"] == "config_entries/subentries/list"
        await ws.send_json(
            {"id": command["id"], "type": "result", "success": True, "result": self.subentries}
        )
        await ws.close()
        return ws

    def issue_code(self) -> dict[str, str]:
        self.codes += 1
        return {"auth_code": f"code{self.codes}"}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if request.content_type == "application/json":
            body: Any = await request.json()
        else:
            body = dict(await request.post())
        self.calls.append((request.method, path, body))
        authorized = request.headers.get("Authorization", "").startswith("Bearer token")
        steps = ["user", "core_config", "analytics", "integration"]
        if path == "/api/onboarding":
            if set(self.onboarding_done) == set(steps):
                raise web.HTTPNotFound
            return web.json_response(
                [{"step": step, "done": step in self.onboarding_done} for step in steps]
            )
        if path.startswith("/api/onboarding/"):
            step = {"users": "user"}.get(path.rsplit("/", 1)[1], path.rsplit("/", 1)[1])
            if step != "user" and not authorized:
                raise web.HTTPUnauthorized
            self.onboarding_done.append(step)
            return web.json_response(self.issue_code() if step in ("user", "integration") else {})
        if path == "/auth/token":
            assert body["grant_type"] == "authorization_code"
            return web.json_response({"access_token": f"token-{body['code']}"})
        if path == "/auth/login_flow":
            return web.json_response({"type": "form", "flow_id": "login1", "step_id": "init"})
        if path == "/auth/login_flow/login1":
            if (body["username"], body["password"]) != (demo.USERNAME, demo.PASSWORD):
                return web.json_response({"type": "form", "errors": {"base": "invalid_auth"}})
            return web.json_response({"type": "create_entry", "result": "login-code"})
        if not authorized:
            raise web.HTTPUnauthorized
        if path == "/api/config/config_entries/entry":
            assert request.query["domain"] == "flatpeak"
            return web.json_response(self.entries)
        if path.startswith("/api/config/config_entries/subentries/flow"):
            return web.json_response(self.device_flow.pop(0))
        if path == "/api/states":
            return web.json_response(self.states)
        if path.startswith("/api/config/config_entries/flow/") and request.method == "DELETE":
            return web.json_response({"message": "Flow aborted"})
        if path.startswith("/api/config/config_entries/flow"):
            result = self.flow.pop(0)
            if result.get("type") == "create_entry":
                self.entries.append(result["result"])
            return web.json_response(result)
        raise web.HTTPNotFound


# The stand-in grants "token-<code>" for an authorization code; the login's code is fixed.
LOGIN_TOKEN = "token-login-code"  # noqa: S105
SOME_TOKEN = "token-code0"  # noqa: S105


@pytest.fixture
async def fake(socket_enabled: None) -> AsyncIterator[tuple[FakeHass, demo.Hass]]:
    fake = FakeHass()
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            yield fake, demo.Hass(session, str(server.make_url("")).rstrip("/"))
    finally:
        await server.close()


async def test_onboard_then_log_in(fake: tuple[FakeHass, demo.Hass]) -> None:
    ha, hass = fake
    assert await demo.onboard(hass) is True
    posts = [(path, body) for method, path, body in ha.calls if method == "POST"]
    assert [path for path, _ in posts] == [
        "/api/onboarding/users",
        "/auth/token",
        "/api/onboarding/analytics",
        "/api/onboarding/integration",
    ]
    assert posts[0][1] == {
        "client_id": f"{hass.url}/",
        "name": demo.NAME,
        "username": "demo",
        "password": "demo-flatpeak",
        "language": "en",
    }
    assert posts[3][1] == {
        "client_id": f"{hass.url}/",
        "redirect_uri": f"{hass.url}/?auth_callback=1",
    }
    assert await demo.onboard(hass) is False  # done: the onboarding API answers 404

    await demo.log_in(hass)
    assert hass.token == LOGIN_TOKEN


async def test_onboard_resumes_after_the_user_step(fake: tuple[FakeHass, demo.Hass]) -> None:
    ha, hass = fake
    ha.onboarding_done = ["user", "analytics"]
    assert await demo.onboard(hass) is True
    assert [path for _, path, _ in ha.calls if path.startswith("/api/onboarding/")] == [
        "/api/onboarding/core_config",
        "/api/onboarding/integration",
    ]


async def test_add_integration_through_the_flow(
    fake: tuple[FakeHass, demo.Hass], capsys: pytest.CaptureFixture[str]
) -> None:
    ha, hass = fake
    hass.token = SOME_TOKEN
    entry = {"entry_id": "e1", "title": "Battery", "state": "loaded"}
    ha.flow = [
        {**FORM, "step_id": "user"},
        {**MENU, "step_id": "devices", "menu_options": ["pick", "register_device"]},
        {**FORM, "step_id": "pick", "data_schema": [{"name": "devices"}]},
        {"type": "create_entry", "flow_id": "f1", "result": entry},
    ]

    assert await demo.add_integration(hass, "http://127.0.0.1:8765") == entry

    plan = demo.flatpeak_plan("http://127.0.0.1:8765")
    flow_posts = [body for _, path, body in ha.calls if "config_entries/flow" in path]
    assert flow_posts == [
        {"handler": "flatpeak", "show_advanced_options": False},
        plan["user"],
        {"next_step_id": "pick"},
        plan["pick"],
    ]
    output = capsys.readouterr().out
    assert "added the Flatpeak integration ('Battery')" in output
    # The demo battery's device is reconfigured: its sensor linked, its location kept.
    device_posts = [body for _, path, body in ha.calls if "subentries/flow" in path]
    assert device_posts == [
        {"handler": ["e1", "device"], "subentry_id": "s-battery"},
        {"location_id": "loc_1", "soc_entity": demo.DEMO_BATTERY},
    ]
    assert f"linked {demo.DEMO_BATTERY}" in output
    # A second run finds the entry and does not start a flow.
    ha.calls.clear()
    assert await demo.add_integration(hass, "http://127.0.0.1:8765") == entry
    assert [path for _, path, _ in ha.calls] == ["/api/config/config_entries/entry"]


async def test_run_flow_reports_an_abort(fake: tuple[FakeHass, demo.Hass]) -> None:
    ha, hass = fake
    hass.token = SOME_TOKEN
    ha.flow = [MENU, {"type": "abort", "flow_id": "f1", "reason": "cannot_connect"}]
    with pytest.raises(demo.StepError, match="aborted with reason 'cannot_connect'"):
        await demo.run_flow(hass, "flatpeak", {"user": "connect"})


async def test_run_flow_removes_a_flow_it_cannot_answer(fake: tuple[FakeHass, demo.Hass]) -> None:
    ha, hass = fake
    hass.token = SOME_TOKEN
    ha.flow = [MENU, FORM, {**FORM, "errors": {"base": "invalid_auth"}}]
    plan: demo.FlowPlan = {"user": "connect", "connect": {"api_key": "k"}}
    with pytest.raises(demo.StepError, match="rejected the input"):
        await demo.run_flow(hass, "flatpeak", plan)
    assert ha.calls[-1][:2] == ("DELETE", "/api/config/config_entries/flow/f1")


async def test_request_reports_the_status_and_body(fake: tuple[FakeHass, demo.Hass]) -> None:
    _, hass = fake
    with pytest.raises(
        demo.StepError,
        match=r"GET /api/config/config_entries/entry\?domain=flatpeak answered HTTP 401",
    ) as caught:
        await demo.entries(hass)
    assert caught.value.body is not None
    assert "Unauthorized" in caught.value.body


async def test_wait_for_gives_up(fake: tuple[FakeHass, demo.Hass]) -> None:
    _, hass = fake
    with pytest.raises(demo.StepError, match=r"waiting for nothing: .* \(HTTP 401\)"):
        await demo.wait_for(hass.session, f"{hass.url}/nothing", 0, "nothing")
