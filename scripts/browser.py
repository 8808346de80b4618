"""The demo in a real browser: the sandbox, Home Assistant and Chromium, for UI checks.

`tests/browser/test_first_five_minutes.py` and `scripts/screenshots` use it. It runs the
same pieces as `scripts/develop`, in a temporary configuration folder and on free
ports, so that it does not disturb a demo that is running:

    with demo_servers(tmp_dir) as servers, browser_page(servers) as page:
        log_in(page, servers.hass_url)
        ...

The servers' output goes to `sandbox.log` and `home-assistant.console.log` in the
configuration folder; a failure to start names the log to read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
import contextlib
from dataclasses import dataclass, field
import os
from pathlib import Path
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any, Final

import aiohttp

from scripts import demo

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

ROOT: Final = Path(__file__).resolve().parent.parent
CHROMIUM: Final = Path("/usr/bin/chromium")
CHROMIUM_ARGS: Final = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
)
VIEWPORT: Final = {"width": 1280, "height": 800}
START_TIMEOUT: Final = 180.0
# Where Home Assistant 2025.4's frontend loads brand images from (src/util/brands-url.ts):
# https://brands.home-assistant.io/[brands/][_/]<domain>/[dark_]<icon|logo>[@2x].png
BRANDS_CDN: Final = "https://brands.home-assistant.io"
BRANDS_SUBMISSION: Final = ROOT / "brands" / "custom_integrations" / demo.DOMAIN


def missing_browser() -> str | None:
    """Return why the browser checks cannot run here, or None if they can."""
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed (see requirements_test.txt)"
    return None


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Servers:
    """The sandbox and Home Assistant of one run."""

    config_dir: Path
    hass_url: str
    sandbox_url: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def check_alive(self) -> None:
        """Raise RuntimeError, with the end of its log, if a server has stopped."""
        for process, log in zip(self.processes, self.logs(), strict=True):
            if process.poll() is not None:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
                raise RuntimeError(f"{log.name}: stopped with status {process.returncode}\n{tail}")

    def logs(self) -> list[Path]:
        """Return the console logs of the sandbox and of Home Assistant."""
        return [self.config_dir / "sandbox.log", self.config_dir / "home-assistant.console.log"]


def write_config(config_dir: Path, hass_port: int) -> None:
    """Copy the demo's configuration to `config_dir`, on another port, with the links.

    The integration and the blueprints are linked in as `scripts/develop` does.
    """
    config_dir.mkdir(parents=True, exist_ok=True)
    text = (ROOT / "config" / "configuration.yaml").read_text(encoding="utf-8")
    text, count = re.subn(r"(?m)^(\s+server_port:)\s*\d+", rf"\g<1> {hass_port}", text)
    if count != 1:
        raise RuntimeError("config/configuration.yaml: no http server_port to change")
    (config_dir / "configuration.yaml").write_text(text, encoding="utf-8")
    link = config_dir / "custom_components"
    if not link.exists():
        link.symlink_to(ROOT / "custom_components")
    blueprints = config_dir / "blueprints" / "automation" / demo.DOMAIN
    blueprints.mkdir(parents=True, exist_ok=True)
    for blueprint in sorted((ROOT / "blueprints" / "automation" / demo.DOMAIN).glob("*.yaml")):
        target = blueprints / blueprint.name
        if not target.exists():
            target.symlink_to(blueprint)


def port_is_free(port: int) -> bool:
    """Return whether nothing accepts connections on 127.0.0.1:`port`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Stop a server's process group: TERM, then KILL after 30 seconds."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


async def _prepare_hass(servers: Servers) -> None:
    """Wait for both servers, and onboard Home Assistant with the demo user."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        hass = demo.Hass(session, servers.hass_url)
        await demo.wait_for(
            session, f"{servers.sandbox_url}/_sandbox/state", START_TIMEOUT, "the sandbox"
        )
        await demo.wait_for(session, f"{hass.url}/manifest.json", START_TIMEOUT, "Home Assistant")
        onboarded = await demo.onboard(hass)
        await demo.log_in(hass)
        await demo.wait_until_running(hass, START_TIMEOUT)
        if onboarded:
            await demo.dismiss_discovery_notice(hass)


@contextlib.contextmanager
def demo_servers(
    config_dir: Path, *, hass_port: int | None = None, sandbox_port: int | None = None
) -> Iterator[Servers]:
    """Start the sandbox and Home Assistant in `config_dir`, onboarded; stop them after.

    Ports default to free ones. Each server runs in a process group of its own, which
    is stopped on the way out, whatever happened.
    """
    hass_port = hass_port or free_port()
    sandbox_port = sandbox_port or free_port()
    for port in (hass_port, sandbox_port):
        if not port_is_free(port):
            raise RuntimeError(f"port {port} is in use; stop what listens there first")
    write_config(config_dir, hass_port)
    missing = demo.missing_requirements(config_dir)
    if missing:
        raise RuntimeError(
            f"Home Assistant would install {missing} at start-up; install them first"
            " (scripts/setup installs requirements_test.txt)"
        )
    demo.seed_onboarding(config_dir)
    bin_dir = Path(sys.executable).parent
    servers = Servers(
        config_dir, f"http://127.0.0.1:{hass_port}", f"http://127.0.0.1:{sandbox_port}"
    )
    sandbox_log, hass_log = servers.logs()
    started = time.monotonic()
    try:
        with sandbox_log.open("wb") as out:
            servers.processes.append(
                subprocess.Popen(  # noqa: S603 - our own servers
                    [sys.executable, "-m", "sandbox", "--port", str(sandbox_port), "--demo"],
                    cwd=ROOT,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        hass_bin = shutil.which("hass", path=str(bin_dir)) or str(bin_dir / "hass")
        with hass_log.open("wb") as out:
            servers.processes.append(
                subprocess.Popen(  # noqa: S603 - our own servers
                    [hass_bin, "-c", str(config_dir), "--log-no-color"],
                    cwd=ROOT,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        try:
            asyncio.run(_prepare_hass(servers))
        except demo.StepError as err:
            servers.check_alive()
            raise RuntimeError(f"{err.report()}\nHome Assistant's console: {hass_log}") from err
        servers.timings["servers started and onboarded"] = time.monotonic() - started
        yield servers
    finally:
        for process in reversed(servers.processes):
            stop_process(process)


def add_integration(servers: Servers) -> dict[str, Any]:
    """Add the Flatpeak integration over the API, as `scripts/develop` does; return it."""

    async def run() -> dict[str, Any]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
            hass = demo.Hass(session, servers.hass_url)
            await demo.log_in(hass)
            entry = await demo.add_integration(hass, servers.sandbox_url)
            return await demo.wait_until_loaded(hass, str(entry["entry_id"]), START_TIMEOUT)

    return run_async(run())


def run_async[T](coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end, also where Playwright's event loop is running."""
    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(asyncio.run, coroutine).result()


async def _api(servers: Servers, method: str, path: str, body: Any = None) -> Any:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        hass = demo.Hass(session, servers.hass_url)
        await demo.log_in(hass)
        return await hass.request(f"{method} {path}", method, path, json_body=body)


def api(servers: Servers, method: str, path: str, body: Any = None) -> Any:
    """Call Home Assistant's REST API as the demo user; return the JSON answer."""
    return run_async(_api(servers, method, path, body))


async def _websocket(servers: Servers, command: dict[str, Any]) -> Any:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        hass = demo.Hass(session, servers.hass_url)
        await demo.log_in(hass)
        return await demo.websocket_call(hass, str(command["type"]), command)


def websocket(servers: Servers, command: dict[str, Any]) -> Any:
    """Send one command over Home Assistant's websocket API as the demo user; return its result."""
    return run_async(_websocket(servers, command))


def launch(playwright: Playwright) -> Browser:
    """Start the system's Chromium, headless."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS), headless=True
    )


def serve_brands_from_submission(page: Page) -> list[str]:
    """Answer the frontend's requests to the brands CDN with `brands/custom_integrations/`.

    Home Assistant before 2026.3 shows brand images from brands.home-assistant.io only,
    which this machine cannot reach. This shows what users see once the images in
    `brands/custom_integrations/flatpeak/` are in the brands repository. Other domains'
    images are refused, as offline. Return the list the requested URLs are added to.
    """
    requested: list[str] = []
    pattern = re.compile(
        r"^/(?:brands/)?(?:_/)?(?P<domain>[a-z0-9_]+)/(?P<name>(?:dark_)?(?:icon|logo)(?:@2x)?\.png)$"
    )

    def handle(route: Any) -> None:
        url: str = route.request.url
        requested.append(url)
        match = pattern.match(url.removeprefix(BRANDS_CDN).split("?", 1)[0])
        if match and match["domain"] == demo.DOMAIN:
            path = BRANDS_SUBMISSION / match["name"]
            if path.is_file():
                route.fulfill(path=str(path), content_type="image/png")
                return
        route.abort("internetdisconnected")

    page.route(f"{BRANDS_CDN}/**", handle)
    return requested


@contextlib.contextmanager
def browser_page(
    playwright: Playwright, *, brands: bool = True, color_scheme: str = "light"
) -> Iterator[Page]:
    """Yield a fresh page in a new headless Chromium; close it all on the way out.

    With `brands`, the brands CDN is answered from `brands/custom_integrations/flatpeak/`
    (see serve_brands_from_submission); without, every request to it fails, as offline.
    """
    browser = launch(playwright)
    try:
        context = browser.new_context(
            viewport=VIEWPORT,  # type: ignore[arg-type]
            color_scheme=color_scheme,  # type: ignore[arg-type]
            locale="en-GB",
            timezone_id="Europe/London",
        )
        context.set_default_timeout(30_000)
        page = context.new_page()
        if brands:
            serve_brands_from_submission(page)
        else:
            page.route(f"{BRANDS_CDN}/**", lambda route: route.abort("internetdisconnected"))
        yield page
    finally:
        browser.close()


def log_in(page: Page, hass_url: str) -> None:
    """Log in through Home Assistant's login page as the demo user."""
    page.goto(hass_url)
    page.get_by_label("Username").fill(demo.USERNAME)
    page.get_by_label("Password", exact=True).fill(demo.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/lovelace|/home|/dashboard"), timeout=60_000)
    page.locator("home-assistant").wait_for()
