"""The steps of `scripts/develop` that talk to Home Assistant and the sandbox.

Run from the repository root with the project's virtual environment:

    .venv/bin/python -m scripts.demo prepare config
    .venv/bin/python -m scripts.demo setup [--manual]

`prepare` gets the configuration folder ready before Home Assistant starts (see
`seed_onboarding`), and prints, one per line, the requirements Home Assistant would
otherwise install at start-up: those of the integrations named in `configuration.yaml`,
of the ones Home Assistant always loads, of the custom integrations, and of all their
(after-)dependencies, less what is installed. `setup` waits for the sandbox and Home
Assistant, completes the onboarding with the demo user, logs in as that user the way the
web UI does, adds the Flatpeak integration through its config flow with the sandbox's
credentials, and prints where to look. A failing step says which it was, with the
response that surprised it.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
from collections.abc import Iterable, Mapping
import contextlib
from dataclasses import dataclass
from datetime import datetime
import json
from pathlib import Path
import sys
import time
from typing import Any, Final
from zoneinfo import ZoneInfo

import aiohttp

DOMAIN: Final = "flatpeak"
HASS_URL: Final = "http://127.0.0.1:8123"
SANDBOX_URL: Final = "http://127.0.0.1:8765"

# The documented login of the demo.
NAME: Final = "Demo"
USERNAME: Final = "demo"
PASSWORD: Final = "demo-flatpeak"  # noqa: S105 - the demo's published local password
LANGUAGE: Final = "en"

# Onboarding steps, as Home Assistant 2025.4 names them (homeassistant.components.onboarding).
ONBOARDING_STORAGE_VERSION: Final = 4
STEP_USER: Final = "user"
STEP_CORE_CONFIG: Final = "core_config"
STEP_ANALYTICS: Final = "analytics"
STEP_INTEGRATION: Final = "integration"
DISCOVERY_NOTIFICATION_ID: Final = "config_entry_discovery"

# Entry states in which the integration will not come up without a change.
FAILED_ENTRY_STATES: Final = frozenset({"setup_error", "migration_error", "failed_unload"})

# The demo battery's state of charge (an input_number of config/configuration.yaml),
# linked in the battery device's settings so that moving it re-plans the charging.
DEMO_BATTERY: Final = "input_number.demo_battery_state_of_charge"
SOC_OPTION: Final = "soc_entity"
SYNC_SUFFIX: Final = "_state_of_charge_sync"

BODY_LIMIT: Final = 2000
MAX_FLOW_STEPS: Final = 10

type Json = Any
# What to answer at each step of a config flow: the option to pick at a menu, the input
# to submit at a form.
type FlowPlan = Mapping[str, str | Mapping[str, Any]]


class StepError(Exception):
    """A step of the demo set-up failed; the message says which and why."""

    def __init__(self, step: str, message: str, body: str | None = None) -> None:
        """Name the step, what went wrong, and the response body if there was one."""
        super().__init__(f"{step}: {message}")
        self.step = step
        self.body = body

    def report(self) -> str:
        """Return the text to show the user."""
        text = f"demo: {self}"
        if self.body:
            body = self.body if len(self.body) <= BODY_LIMIT else f"{self.body[:BODY_LIMIT]}…"
            text += f"\n  response body: {body}"
        return text


# ---------------------------------------------------------------------------------------
# Requirements


def config_domains(configuration: Mapping[str, Any]) -> set[str]:
    """Return the integrations a configuration names (`sensor 2:` counts as `sensor`)."""
    domains = {str(key).split(" ", 1)[0] for key in configuration}
    domains.discard("homeassistant")
    return domains


def load_manifest(domain: str, search: Iterable[Path]) -> dict[str, Any] | None:
    """Return the manifest of an integration, or None if there is no such integration."""
    for root in search:
        path = root / domain / "manifest.json"
        if path.is_file():
            manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return manifest
    return None


def collect_requirements(domains: Iterable[str], search: Iterable[Path]) -> list[str]:
    """Return the requirements of `domains` and of their (after-)dependencies, in order.

    Home Assistant processes the requirements of an integration's dependencies and
    after-dependencies when it sets the integration up, so all of them count.
    """
    roots = list(search)
    seen: set[str] = set()
    pending = sorted(domains, reverse=True)
    requirements: dict[str, None] = {}
    while pending:
        domain = pending.pop()
        if domain in seen:
            continue
        seen.add(domain)
        manifest = load_manifest(domain, roots)
        if manifest is None:
            continue
        for requirement in manifest.get("requirements", []):
            requirements[str(requirement)] = None
        pending.extend(
            sorted(
                {*manifest.get("dependencies", []), *manifest.get("after_dependencies", [])} - seen,
                reverse=True,
            )
        )
    return list(requirements)


def always_loaded(bootstrap_source: str, names: Mapping[str, Any] | None = None) -> set[str]:
    """Return the integrations Home Assistant sets up whatever the configuration says.

    They are the sets `CORE_INTEGRATIONS` and `DEFAULT_INTEGRATIONS` of
    `homeassistant/bootstrap.py`, read from its source: importing it takes seconds.
    The sets are literals that may unpack other sets, or a difference of sets; a
    name is one assigned earlier in the module, or else one of `names` (by
    default `homeassistant.const`, where bootstrap imports its names from).
    """
    if names is None:
        import homeassistant.const

        names = vars(homeassistant.const)
    wanted = {"CORE_INTEGRATIONS", "DEFAULT_INTEGRATIONS"}
    module: dict[str, Any] = {}
    found: set[str] = set()
    for node in ast.parse(bootstrap_source).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            if not isinstance(target, ast.Name):
                continue
            try:
                module[target.id] = _set_value(value, module, names)
            except _NotASetError:
                continue
            if target.id in wanted:
                found |= module[target.id]
                wanted.discard(target.id)
    if wanted:
        raise StepError("reading homeassistant/bootstrap.py", f"{sorted(wanted)} not found")
    return found


class _NotASetError(Exception):
    """An expression that is not a set of strings made of literals and known sets."""


def _set_value(node: ast.expr, module: Mapping[str, Any], names: Mapping[str, Any]) -> set[str]:
    """Evaluate a set expression of bootstrap.py: literals, unpacked sets, differences."""
    if isinstance(node, ast.Set | ast.List | ast.Tuple):
        result: set[str] = set()
        for element in node.elts:
            if isinstance(element, ast.Starred):
                result |= _set_value(element.value, module, names)
            elif isinstance(element, ast.Constant) and isinstance(element.value, str):
                result.add(element.value)
            else:
                raise _NotASetError
        return result
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub | ast.BitOr):
        left = _set_value(node.left, module, names)
        right = _set_value(node.right, module, names)
        return left - right if isinstance(node.op, ast.Sub) else left | right
    if isinstance(node, ast.Name):
        value = module.get(node.id, names.get(node.id))
        if isinstance(value, set | frozenset) and all(isinstance(v, str) for v in value):
            return {str(v) for v in value}
    raise _NotASetError


def missing_requirements(config_dir: Path) -> list[str]:
    """Return the requirements of the demo's integrations that are not installed."""
    import homeassistant
    from homeassistant.exceptions import HomeAssistantError
    from homeassistant.util.package import is_installed
    from homeassistant.util.yaml import load_yaml_dict

    core = Path(homeassistant.__path__[0])
    search = [config_dir / "custom_components", core / "components"]
    try:
        configuration = load_yaml_dict(config_dir / "configuration.yaml")
    except (OSError, HomeAssistantError) as err:
        raise StepError("reading the demo's configuration", str(err)) from err
    domains = config_domains(configuration)
    domains |= always_loaded((core / "bootstrap.py").read_text(encoding="utf-8"))
    domains |= {path.parent.name for path in search[0].glob("*/manifest.json")}
    return [req for req in collect_requirements(domains, search) if not is_installed(req)]


# ---------------------------------------------------------------------------------------
# A fresh state


def seed_onboarding(config_dir: Path) -> bool:
    """Mark onboarding's core-config step done in a state that has no onboarding yet.

    That step only confirms the location, units and currency, which
    `configuration.yaml` sets, and then starts the integrations Home Assistant offers a
    new installation (Met.no weather, Radio Browser, Google Translate text-to-speech,
    a shopping list). Those need packages from PyPI and services on the internet, and
    would put errors and entities unrelated to Flatpeak in the demo. The other steps go
    through the onboarding API as in the browser. Return whether the file was written.
    """
    path = config_dir / ".storage" / "onboarding"
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "version": ONBOARDING_STORAGE_VERSION,
        "minor_version": 1,
        "key": "onboarding",
        "data": {"done": [STEP_CORE_CONFIG]},
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return True


# ---------------------------------------------------------------------------------------
# HTTP


@dataclass
class Hass:
    """A Home Assistant instance reached over HTTP."""

    session: aiohttp.ClientSession
    url: str
    token: str | None = None

    @property
    def client_id(self) -> str:
        """Return the OAuth client id the web UI uses, the instance's own URL."""
        return f"{self.url}/"

    @property
    def redirect_uri(self) -> str:
        """Return where the web UI has the login send the user back to."""
        return f"{self.url}/?auth_callback=1"

    async def request(
        self,
        step: str,
        method: str,
        path: str,
        *,
        json_body: Json = None,
        form: Mapping[str, str] | None = None,
        expect: Iterable[int] = (200,),
    ) -> Json:
        """Send a request and return its JSON body, None for an expected error status.

        Raise StepError for a status not in `expect`, a failed connection, or a body
        that is not JSON.
        """
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            async with self.session.request(
                method,
                f"{self.url}{path}",
                json=json_body,
                data=form,
                headers=headers,
            ) as response:
                text = await response.text()
                status = response.status
                if status not in set(expect):
                    raise StepError(step, f"{method} {path} answered HTTP {status}", text)
        except aiohttp.ClientError as err:
            raise StepError(step, f"{method} {path} failed: {err!r}") from err
        except TimeoutError as err:
            raise StepError(step, f"{method} {path} timed out") from err
        if status >= 300:
            return None
        try:
            return json.loads(text) if text else None
        except ValueError as err:
            raise StepError(step, f"{method} {path} did not answer JSON", text) from err


async def wait_for(session: aiohttp.ClientSession, url: str, within: float, what: str) -> None:
    """Poll `url` until it answers 200 OK, or raise StepError."""
    deadline = time.monotonic() + within
    last = "no answer yet"
    while True:
        try:
            async with session.get(url) as response:
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError) as err:
            last = repr(err)
        if time.monotonic() >= deadline:
            raise StepError(
                f"waiting for {what}", f"{url} did not answer within {within:.0f} s ({last})"
            )
        await asyncio.sleep(0.5)


# ---------------------------------------------------------------------------------------
# Onboarding and login


async def onboard(hass: Hass) -> bool:
    """Complete the onboarding steps not done yet; return whether there were any.

    The user step answers an authorization code, which buys the token the later steps
    need, as in the onboarding pages. If an earlier run created the user but stopped
    before the end, the demo user logs in instead.
    """
    # Once onboarding is complete, Home Assistant no longer serves its API.
    steps = await hass.request("onboarding status", "GET", "/api/onboarding", expect=(200, 404))
    if steps is None:
        return False
    pending = {step["step"] for step in steps if not step["done"]}
    if not pending:
        return False
    if STEP_USER in pending:
        created = await hass.request(
            "onboarding: create the user",
            "POST",
            "/api/onboarding/users",
            json_body={
                "client_id": hass.client_id,
                "name": NAME,
                "username": USERNAME,
                "password": PASSWORD,
                "language": LANGUAGE,
            },
        )
        await exchange_code(hass, "onboarding: token for the new user", created["auth_code"])
    else:
        await log_in(hass)
    if STEP_CORE_CONFIG in pending:
        await hass.request(
            "onboarding: core config", "POST", "/api/onboarding/core_config", json_body={}
        )
    if STEP_ANALYTICS in pending:
        await hass.request(
            "onboarding: analytics", "POST", "/api/onboarding/analytics", json_body={}
        )
    if STEP_INTEGRATION in pending:
        await hass.request(
            "onboarding: finish",
            "POST",
            "/api/onboarding/integration",
            json_body={"client_id": hass.client_id, "redirect_uri": hass.redirect_uri},
        )
    return True


async def dismiss_discovery_notice(hass: Hass) -> None:
    """Dismiss the "New devices discovered" notification of a fresh state.

    Home Assistant 2025.4 raises it when the backup integration sets itself up through
    a system flow on the first start, although there is nothing to discover.
    """
    await hass.request(
        "dismissing the discovery notification",
        "POST",
        "/api/services/persistent_notification/dismiss",
        json_body={"notification_id": DISCOVERY_NOTIFICATION_ID},
    )


async def exchange_code(hass: Hass, step: str, code: str) -> None:
    """Exchange an authorization code for an access token and keep it."""
    tokens = await hass.request(
        step,
        "POST",
        "/auth/token",
        form={"grant_type": "authorization_code", "code": code, "client_id": hass.client_id},
    )
    hass.token = str(tokens["access_token"])


async def log_in(hass: Hass) -> None:
    """Log in with the demo's username and password, through the login flow the UI uses."""
    hass.token = None
    step = f"logging in as {USERNAME!r}"
    flow = await hass.request(
        step,
        "POST",
        "/auth/login_flow",
        json_body={
            "client_id": hass.client_id,
            "handler": ["homeassistant", None],
            "redirect_uri": hass.redirect_uri,
        },
    )
    result = await hass.request(
        step,
        "POST",
        f"/auth/login_flow/{flow['flow_id']}",
        json_body={"client_id": hass.client_id, "username": USERNAME, "password": PASSWORD},
    )
    if result.get("type") != "create_entry":
        raise StepError(
            step,
            "the login was refused; the state in config/ has another user "
            "(run scripts/develop without --keep to start from a clean state)",
            json.dumps(result),
        )
    await exchange_code(hass, step, str(result["result"]))


async def wait_until_running(hass: Hass, within: float) -> dict[str, Any]:
    """Wait until Home Assistant has finished starting; return its configuration."""
    deadline = time.monotonic() + within
    state = "unknown"
    while time.monotonic() < deadline:
        config = await hass.request("waiting for Home Assistant to start", "GET", "/api/config")
        state = str(config.get("state"))
        if state == "RUNNING":
            running: dict[str, Any] = config
            return running
        await asyncio.sleep(0.5)
    raise StepError("waiting for Home Assistant to start", f"still {state} after {within:.0f} s")


# ---------------------------------------------------------------------------------------
# The config flow


def flatpeak_plan(sandbox_url: str) -> FlowPlan:
    """Return the answers to the Flatpeak config flow: the sandbox's account, all its devices."""
    from sandbox import ACCOUNT_ID, API_KEY, DEMO_DEVICE_IDS

    return {
        "user": {"api_key": API_KEY, "account_id": ACCOUNT_ID, "advanced": {"url": sandbox_url}},
        "devices": "pick",
        "pick": {"devices": list(DEMO_DEVICE_IDS)},
    }


def field_names(result: Mapping[str, Any]) -> list[str]:
    """Return the field names of a serialized form (sections show their own fields)."""
    names: list[str] = []
    for field in result.get("data_schema") or []:
        name = str(field.get("name"))
        inner = field.get("schema")
        if field.get("type") == "expandable" and isinstance(inner, list):
            names.extend(f"{name}.{sub.get('name')}" for sub in inner)
        else:
            names.append(name)
    return names


def next_answer(result: Mapping[str, Any], plan: FlowPlan, answered: set[str]) -> Json:
    """Return what to post to a flow that is showing `result`, or raise StepError."""
    kind = result.get("type")
    step_id = str(result.get("step_id"))
    where = f"config flow step {step_id!r}"
    body = json.dumps(result)
    answer = plan.get(step_id)
    if kind == "menu":
        options = result.get("menu_options") or []
        options = list(options) if not isinstance(options, Mapping) else list(options.keys())
        if not isinstance(answer, str) or answer not in options:
            raise StepError(
                where,
                f"a menu with options {options}; the demo expected one of them to be {answer!r}",
                body,
            )
        return {"next_step_id": answer}
    if kind == "form":
        if result.get("errors") and step_id in answered:
            raise StepError(where, f"the form rejected the input: {result['errors']}", body)
        if not isinstance(answer, Mapping):
            raise StepError(where, f"an unexpected form with fields {field_names(result)}", body)
        answered.add(step_id)
        return dict(answer)
    raise StepError(where, f"an unexpected result of type {kind!r}", body)


async def run_flow(hass: Hass, handler: str, plan: FlowPlan) -> dict[str, Any]:
    """Drive a config flow through `plan`; return its created entry.

    A flow that goes wrong is removed, so that it does not linger in Home Assistant.
    """
    result = await hass.request(
        "config flow: start",
        "POST",
        "/api/config/config_entries/flow",
        json_body={"handler": handler, "show_advanced_options": False},
    )
    try:
        return await follow_flow(hass, result, plan)
    except StepError:
        if flow_id := result.get("flow_id"):
            with contextlib.suppress(StepError):
                await hass.request(
                    "config flow: removing it",
                    "DELETE",
                    f"/api/config/config_entries/flow/{flow_id}",
                    expect=(200, 404),
                )
        raise


async def follow_flow(hass: Hass, result: dict[str, Any], plan: FlowPlan) -> dict[str, Any]:
    """Answer a started config flow's steps from `plan` until it creates its entry."""
    answered: set[str] = set()
    for _ in range(MAX_FLOW_STEPS):
        kind = result.get("type")
        if kind == "create_entry":
            entry: dict[str, Any] = result.get("result") or {}
            return entry
        if kind == "abort":
            raise StepError(
                "config flow", f"aborted with reason {result.get('reason')!r}", json.dumps(result)
            )
        answer = next_answer(result, plan, answered)
        result = await hass.request(
            f"config flow step {result.get('step_id')!r}",
            "POST",
            f"/api/config/config_entries/flow/{result['flow_id']}",
            json_body=answer,
        )
    raise StepError("config flow", f"no entry after {MAX_FLOW_STEPS} steps", json.dumps(result))


async def entries(hass: Hass) -> list[dict[str, Any]]:
    """Return the integration's config entries."""
    found: list[dict[str, Any]] = await hass.request(
        "listing config entries", "GET", f"/api/config/config_entries/entry?domain={DOMAIN}"
    )
    return found


async def wait_until_loaded(hass: Hass, entry_id: str, within: float) -> dict[str, Any]:
    """Wait until the entry has left its transient states; return it."""
    deadline = time.monotonic() + within
    entry: dict[str, Any] = {}
    while time.monotonic() < deadline:
        entry = next((e for e in await entries(hass) if e["entry_id"] == entry_id), {})
        if entry.get("state") in ("loaded", *FAILED_ENTRY_STATES):
            break
        await asyncio.sleep(0.5)
    return entry


async def websocket_call(hass: Hass, step: str, command: dict[str, Any]) -> Any:
    """Send one command over Home Assistant's websocket API; return its result."""
    ws_url = f"{hass.url.replace('http', 'ws', 1)}/api/websocket"
    try:
        async with hass.session.ws_connect(ws_url) as ws:
            await ws.receive_json()  # auth_required
            await ws.send_json({"type": "auth", "access_token": hass.token})
            auth = await ws.receive_json()
            if auth.get("type") != "auth_ok":
                raise StepError(step, "the websocket refused the token", json.dumps(auth))
            await ws.send_json({"id": 1, **command})
            answer = await ws.receive_json()
    except aiohttp.ClientError as err:
        raise StepError(step, f"websocket failed: {err!r}") from err
    if not answer.get("success"):
        raise StepError(step, f"{command['type']} failed", json.dumps(answer))
    return answer["result"]


async def registry(hass: Hass, entry_id: str) -> list[dict[str, Any]]:
    """Return the entity registry entries of a config entry (over the websocket API)."""
    found = await websocket_call(
        hass, "listing the integration's entities", {"type": "config/entity_registry/list"}
    )
    return [e for e in found if e.get("config_entry_id") == entry_id]


# ---------------------------------------------------------------------------------------
# The whole set-up


async def add_integration(hass: Hass, sandbox_url: str) -> dict[str, Any]:
    """Add the Flatpeak integration unless it is there already; return its entry."""
    existing = await entries(hass)
    if existing:
        print(f"demo: the Flatpeak integration is already set up ({existing[0]['title']!r})")
        return existing[0]
    entry = await run_flow(hass, DOMAIN, flatpeak_plan(sandbox_url))
    print(f"demo: added the Flatpeak integration ({entry.get('title')!r})")
    await link_battery(hass, str(entry.get("entry_id")))
    return entry


def current_values(result: Mapping[str, Any]) -> dict[str, Any]:
    """Return the values a form shows, so that posting them changes nothing."""
    values: dict[str, Any] = {}
    for field in result.get("data_schema") or []:
        shown = (field.get("description") or {}).get("suggested_value", field.get("default"))
        if shown is not None:
            values[str(field["name"])] = shown
    return values


async def link_battery(hass: Hass, entry_id: str, within: float = 60) -> None:
    """Link the demo battery's state of charge in the battery device's settings."""
    from sandbox import DEVICE_ID

    step = "reconfiguring the battery: linking its state of charge"
    subentries = await websocket_call(
        hass, step, {"type": "config_entries/subentries/list", "entry_id": entry_id}
    )
    battery = next((s for s in subentries if s.get("unique_id") == DEVICE_ID), None)
    if battery is None:
        raise StepError(step, "the account has no battery device", json.dumps(subentries))
    result = await hass.request(
        step,
        "POST",
        "/api/config/config_entries/subentries/flow",
        json_body={"handler": [entry_id, "device"], "subentry_id": battery["subentry_id"]},
    )
    if result.get("type") != "form":
        raise StepError(step, f"expected the device's form, got {result.get('type')!r}")
    answer = {**current_values(result), SOC_OPTION: DEMO_BATTERY}
    result = await hass.request(
        step,
        "POST",
        f"/api/config/config_entries/subentries/flow/{result['flow_id']}",
        json_body=answer,
    )
    if result.get("type") != "abort" or result.get("reason") != "reconfigure_successful":
        raise StepError(step, "the battery's settings were not saved", json.dumps(result))
    # The account reloads with the new setting; the sync sensor shows when it is back.
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        states = await hass.request("reading states", "GET", "/api/states")
        if any(str(s.get("entity_id")).endswith(SYNC_SUFFIX) for s in states):
            print(f"demo: linked {DEMO_BATTERY} as the battery's state of charge")
            return
        await asyncio.sleep(0.5)
    raise StepError(step, f"no *{SYNC_SUFFIX} entity after {within:.0f} s")


def window_line(calendar: Mapping[str, Any], now: datetime) -> str | None:
    """Return a line on the current or next event of a calendar entity, if it has one.

    The entity's `start_time` and `end_time` attributes are local times without an
    offset, in Home Assistant's time zone, which `now` carries.
    """
    attributes = calendar.get("attributes") or {}
    try:
        start, end = (
            datetime.fromisoformat(str(attributes[key])).replace(tzinfo=now.tzinfo)
            for key in ("start_time", "end_time")
        )
    except (KeyError, ValueError):
        return None
    if start <= now < end:
        when = f"now, until {end:%H:%M}"
    else:
        minutes = max(0, round((start - now).total_seconds() / 60))
        when = f"{start:%H:%M} to {end:%H:%M} (in {minutes} min)"
        if start.date() != now.date():
            when = f"{start:%a} {when}"
    return f"  Charging window  {when}: {calendar['entity_id']}"


def summary(
    hass_url: str,
    entry: Mapping[str, Any],
    states: list[dict[str, Any]],
    devices: list[str],
    now: datetime,
) -> str:
    """Return what to tell the user about the integration once it is set up."""
    lines = [f"  Flatpeak entry   {entry.get('title')!r}, {entry.get('state')}"]
    lines.extend(
        f"  Device page      {hass_url}/config/devices/device/{device}" for device in devices
    )
    lines.append(f"  Calendar         {hass_url}/calendar")
    calendars = (state for state in states if str(state["entity_id"]).startswith("calendar."))
    lines.extend(line for state in calendars if (line := window_line(state, now)))
    if states:
        width = max(len(str(state["entity_id"])) for state in states)
        lines.append("  Entities")
        for state in sorted(states, key=lambda state: str(state["entity_id"])):
            unit = (state.get("attributes") or {}).get("unit_of_measurement")
            value = f"{state.get('state')} {unit}" if unit else str(state.get("state"))
            lines.append(f"    {state['entity_id']:<{width}}  {value}")
    return "\n".join(lines)


async def setup(args: argparse.Namespace) -> None:
    """Onboard, log in, add the integration and print where to look."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        hass = Hass(session, args.hass_url.rstrip("/"))
        await wait_for(session, f"{args.sandbox_url}/_sandbox/state", args.timeout, "the sandbox")
        # The frontend serves its manifest once it is set up, after onboarding (its dependency).
        await wait_for(session, f"{hass.url}/manifest.json", args.timeout, "Home Assistant")
        onboarded = await onboard(hass)
        if onboarded:
            print(f"demo: onboarding done (user {USERNAME!r})")
        await log_in(hass)
        config = await wait_until_running(hass, args.timeout)
        if onboarded:
            await dismiss_discovery_notice(hass)
        if args.manual:
            print(
                "demo: add the integration yourself: Settings > Devices & services >"
                f" Add integration > Flatpeak, with the URL {args.sandbox_url} and the"
                " credentials in config/sandbox.log"
            )
            return
        entry = await add_integration(hass, args.sandbox_url)
        entry = await wait_until_loaded(hass, str(entry.get("entry_id")), args.timeout)
        if entry.get("state") != "loaded":
            raise StepError(
                "setting up the Flatpeak entry",
                f"its state is {entry.get('state')!r}"
                f" ({entry.get('reason') or 'no reason given'}); see config/home-assistant.log",
                json.dumps(entry),
            )
        registered = await registry(hass, str(entry["entry_id"]))
        states = []
        for item in registered:
            state = None
            if not item.get("disabled_by"):
                state = await hass.request(
                    "reading states", "GET", f"/api/states/{item['entity_id']}", expect=(200, 404)
                )
            if state is None:
                shown = "(disabled)" if item.get("disabled_by") else "(no state)"
                state = {"entity_id": item["entity_id"], "state": shown}
            states.append(state)
        devices = sorted({str(item["device_id"]) for item in registered if item.get("device_id")})
        now = datetime.now(ZoneInfo(str(config["time_zone"])))
        print(summary(hass.url, entry, states, devices, now))


# ---------------------------------------------------------------------------------------
# Command line


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog="python -m scripts.demo", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    prepare = commands.add_parser(
        "prepare", help="get a configuration folder ready; print the requirements to install"
    )
    prepare.add_argument("config_dir", type=Path)
    setup_ = commands.add_parser("setup", help="onboard, log in and add the integration")
    setup_.add_argument("--hass-url", default=HASS_URL)
    setup_.add_argument("--sandbox-url", default=SANDBOX_URL)
    setup_.add_argument("--timeout", type=float, default=180, help="per wait, in seconds")
    setup_.add_argument("--manual", action="store_true", help="do not add the integration")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "prepare":
            missing = missing_requirements(args.config_dir)
            seed_onboarding(args.config_dir)
            for requirement in missing:
                print(requirement)
        else:
            asyncio.run(setup(args))
    except StepError as err:
        print(err.report(), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
