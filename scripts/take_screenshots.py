"""Take the README's screenshots; run through `scripts/screenshots`.

Each picture is taken at 1280x800, in the light theme, clipped to what it shows: the
device page, the calendar, the add-integration form, the options, the Flip dispatch
form, and an automation made from the integration's blueprint.
"""

from __future__ import annotations

from pathlib import Path
import re
import sys
import tempfile
import time
from typing import Any

from scripts import browser

OUT = browser.ROOT / "docs" / "screenshots"
BLUEPRINT = "flatpeak/notify_on_schedule_change.yaml"
AUTOMATION_ID = "flatpeak_schedule_change"
LONG = 60_000
HIDE_PAGE_JS = """(visibility) => {
  const main = document.querySelector("home-assistant").shadowRoot
    .querySelector("home-assistant-main");
  main.style.visibility = visibility;
}"""


def shoot(page: Any, name: str, target: Any = None) -> None:
    """Save a screenshot of `target` (an element), or of the page."""
    page.wait_for_timeout(1500)  # animations, lazy images
    path = OUT / f"{name}.png"
    (target or page).screenshot(path=str(path), animations="disabled")
    print(f"wrote {path.relative_to(browser.ROOT)}")


def shoot_dialog(page: Any, name: str, margin: int = 16) -> None:
    """Save a screenshot of the open flow dialog, with a little of the dimmed page around."""
    surface = page.locator("dialog-data-entry-flow ha-dialog .mdc-dialog__surface")
    surface.wait_for()
    # Only the dialog: the page behind it would show through at the margin and corners.
    page.evaluate(HIDE_PAGE_JS, "hidden")
    page.wait_for_timeout(1500)
    box = surface.bounding_box()
    viewport = page.viewport_size
    left, top = max(0, box["x"] - margin), max(0, box["y"] - margin)
    clip = {
        "x": left,
        "y": top,
        "width": min(viewport["width"], box["x"] + box["width"] + margin) - left,
        "height": min(viewport["height"], box["y"] + box["height"] + margin) - top,
    }
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path), clip=clip, animations="disabled")
    page.evaluate(HIDE_PAGE_JS, "")
    print(f"wrote {path.relative_to(browser.ROOT)}")


def create_automation(servers: browser.Servers) -> str:
    """Create an automation from the schedule-change blueprint; return its editor's path."""
    states = browser.api(servers, "GET", "/api/states")
    event = next(
        str(s["entity_id"])
        for s in states
        if re.fullmatch(r"event\..*schedule_change.*", str(s["entity_id"]))
    )
    browser.api(
        servers,
        "POST",
        f"/api/config/automation/config/{AUTOMATION_ID}",
        {
            "alias": "Tell me when the charging schedule changes",
            "description": "Made from the Flatpeak blueprint.",
            "use_blueprint": {"path": BLUEPRINT, "input": {"schedule_change": event}},
        },
    )
    return f"/config/automation/edit/{AUTOMATION_ID}"


def main() -> int:
    """Start the demo, take every picture, stop the demo."""
    if reason := browser.missing_browser():
        print(f"screenshots: {reason}", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="flatpeak-screenshots-") as tmp,
        browser.demo_servers(Path(tmp) / "config") as servers,
        sync_playwright() as playwright,
        browser.browser_page(playwright) as page,
    ):
        hass = servers.hass_url
        browser.log_in(page, hass)

        # The add-integration form, before the integration exists.
        page.goto(f"{hass}/config/integrations/dashboard")
        page.get_by_role("button", name="Add integration").click()
        page.locator("dialog-add-integration search-input input").fill("Flatpeak")
        page.locator("dialog-add-integration").get_by_text("Flatpeak", exact=True).click()
        page.locator("dialog-data-entry-flow").get_by_text("I have a Flatpeak device ID").click()
        flow = page.locator("dialog-data-entry-flow")
        flow.get_by_text("Connect your Flatpeak device").wait_for(timeout=LONG)
        flow.get_by_text("Advanced settings").click()
        shoot_dialog(page, "config_flow")
        flow.get_by_role("button", name="Close").first.click()
        flow.get_by_text("Connect your Flatpeak device").wait_for(state="hidden")

        entry = browser.add_integration(servers)
        if entry.get("state") != "loaded":
            print(f"screenshots: the entry did not load: {entry}", file=sys.stderr)
            return 1

        # The device page.
        page.goto(f"{hass}/config/integrations/integration/flatpeak")
        page.get_by_role("link", name="1 device").first.click()
        page.wait_for_url(re.compile(r"/config/devices/device/"))
        page.get_by_text("Charging window").first.wait_for(timeout=LONG)
        page.set_viewport_size({"width": 1280, "height": 1400})
        shoot(page, "device_page")
        page.set_viewport_size(browser.VIEWPORT)  # type: ignore[arg-type]

        # The calendar.
        page.goto(f"{hass}/calendar")
        page.get_by_text(re.compile(r"^Charging")).first.wait_for(timeout=LONG)
        # The week's list: every window of the coming days, with its times and power.
        page.locator("ha-button-toggle-group ha-icon-button").last.click()
        page.get_by_text(re.compile(r"^Charging")).first.wait_for(timeout=LONG)
        shoot(page, "calendar")

        # The options.
        page.goto(f"{hass}/config/integrations/integration/flatpeak")
        page.get_by_role("button", name="Configure").first.click()
        flow.get_by_text("Flatpeak options").wait_for(timeout=LONG)
        page.set_viewport_size({"width": 1280, "height": 1400})
        shoot_dialog(page, "options")
        flow.get_by_role("button", name="Close").first.click()
        flow.get_by_text("Flatpeak options").wait_for(state="hidden")

        # The Flip dispatch form.
        page.get_by_role("button", name="Menu").last.click()
        page.get_by_text("Add Flip dispatch").click()
        flow.get_by_text("Flip API key").first.wait_for(timeout=LONG)
        shoot_dialog(page, "flip_dispatch")
        flow.get_by_role("button", name="Close").first.click()
        page.set_viewport_size(browser.VIEWPORT)  # type: ignore[arg-type]

        # An automation from the blueprint, opened in the editor.
        page.goto(f"{hass}{create_automation(servers)}")
        page.get_by_text("Schedule change").first.wait_for(timeout=LONG)
        page.set_viewport_size({"width": 1280, "height": 1000})
        shoot(page, "blueprint_automation")
    print(f"screenshots: done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
