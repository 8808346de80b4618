"""Take the README's screenshots; run through `scripts/screenshots`.

Each picture is taken at 1280 pixels wide, in the light theme, clipped to what it shows:

    config_flow.png            adding the integration: the API key, account ID and address
    device_pick.png            the account's devices, picked in their searchable list
    account.png                the integration page: the account with its three devices
    device_page.png            the battery's device page
    calendar.png               the charging windows in Home Assistant's calendar
    options.png                the account's options
    device_settings.png        a device's settings: its location and battery sensor
    flip_dispatch.png          adding a Flip dispatch
    blueprint_automation.png   an automation made from the schedule-change blueprint

The demo runs as `scripts/develop` runs it, on Home Assistant 2025.4. Nothing is faked:
the brands service, which has no Flatpeak images, is out of reach as on a machine without
the internet, so the pictures show what a user of that release sees.
"""

from __future__ import annotations

from pathlib import Path
import re
import sys
import tempfile
import time
from typing import Any

from sandbox import DEVICE_ID, EV_CHARGER_ID
from scripts import browser, demo

OUT = browser.ROOT / "docs" / "screenshots"
BLUEPRINT = "flatpeak/notify_on_schedule_change.yaml"
AUTOMATION_ID = "flatpeak_schedule_change"
LONG = 60_000
# The sandbox account's devices, as the integration names them.
BATTERY = "Nova Systems Pico Ultimate"
EV_CHARGER = "Voltline Sprint 7"
HIDE_PAGE_JS = """(visibility) => {
  const main = document.querySelector("home-assistant").shadowRoot
    .querySelector("home-assistant-main");
  main.style.visibility = visibility;
}"""
SETTLE_MS = 1500  # ripples and transitions that animations="disabled" does not stop


def shoot(page: Any, name: str, target: Any = None, clip: dict[str, float] | None = None) -> None:
    """Save a screenshot of `target` (an element), of `clip`, or of the page."""
    page.wait_for_timeout(SETTLE_MS)
    path = OUT / f"{name}.png"
    if target is not None:
        target.screenshot(path=str(path), animations="disabled")
    else:
        page.screenshot(path=str(path), clip=clip, animations="disabled")
    print(f"wrote {path.relative_to(browser.ROOT)}")


def around(page: Any, boxes: list[dict[str, float]], margin: int) -> dict[str, float]:
    """Return the clip that holds `boxes` with `margin` around them, within the viewport."""
    viewport = page.viewport_size
    left = max(0, min(box["x"] for box in boxes) - margin)
    top = max(0, min(box["y"] for box in boxes) - margin)
    right = min(viewport["width"], max(box["x"] + box["width"] for box in boxes) + margin)
    bottom = min(viewport["height"], max(box["y"] + box["height"] for box in boxes) + margin)
    return {"x": left, "y": top, "width": right - left, "height": bottom - top}


def shoot_dialog(page: Any, name: str, margin: int = 16, also: Any = None) -> None:
    """Save a screenshot of the open flow dialog (and of `also`, a list it opened)."""
    surface = page.locator("dialog-data-entry-flow ha-dialog .mdc-dialog__surface")
    surface.wait_for()
    # Only the dialog: the page behind it would show through at the margin and corners.
    page.evaluate(HIDE_PAGE_JS, "hidden")
    page.wait_for_timeout(SETTLE_MS)
    boxes = [surface.bounding_box()]
    if also is not None:
        boxes.append(also.bounding_box())
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path), clip=around(page, boxes, margin), animations="disabled")
    page.evaluate(HIDE_PAGE_JS, "")
    print(f"wrote {path.relative_to(browser.ROOT)}")


def close_flow(page: Any) -> None:
    """Close the open flow dialog, and wait until Home Assistant has dropped its flow."""
    with page.expect_response(
        lambda response: response.request.method == "DELETE" and "/flow/" in response.url
    ):
        page.locator("dialog-data-entry-flow").get_by_role("button", name="Close").first.click()
    page.locator("dialog-data-entry-flow ha-dialog").wait_for(state="hidden")


def create_automation(servers: browser.Servers) -> str:
    """Create an automation from the schedule-change blueprint; return its editor's path.

    Its event is the battery's, found by its unique ID (the device's ID and the key).
    """
    entities = browser.websocket(servers, {"type": "config/entity_registry/list"})
    event = next(
        str(e["entity_id"])
        for e in entities
        if e.get("platform") == demo.DOMAIN and e.get("unique_id") == f"{DEVICE_ID}_schedule_change"
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


def add_integration_forms(page: Any, servers: browser.Servers) -> None:
    """Shoot the credentials form and the device list of the add-integration flow."""
    from playwright.sync_api import expect

    from sandbox import ACCOUNT_ID, API_KEY

    hass = servers.hass_url
    flow = page.locator("dialog-data-entry-flow")
    page.goto(f"{hass}/config/integrations/dashboard")
    page.get_by_role("button", name="Add integration").click()
    page.locator("dialog-add-integration search-input input").fill("Flatpeak")
    page.locator("dialog-add-integration").get_by_text("Flatpeak", exact=True).click()
    flow.get_by_role("heading", name="Connect your Flatpeak account").wait_for(timeout=LONG)
    flow.get_by_text("Advanced settings").click()
    flow.locator("input[name=url]").wait_for()
    shoot_dialog(page, "config_flow")

    # The account's devices: the battery picked, the EV charger found by typing.
    flow.locator("input[name=api_key]").fill(API_KEY)
    flow.locator("input[name=account_id]").fill(ACCOUNT_ID)
    flow.locator("input[name=url]").fill(servers.sandbox_url)
    flow.get_by_role("button", name="Submit").click()
    flow.get_by_text("Choose devices of this account").click()
    field = flow.locator("ha-selector-select ha-combo-box input")
    field.wait_for(timeout=LONG)
    chips = flow.locator("ha-input-chip")
    expect(chips).to_have_count(0)  # nothing is chosen before the user chooses
    listed = page.locator("vaadin-combo-box-item").filter(visible=True)
    field.press_sequentially("Pico")
    listed.filter(has_text=BATTERY).click()
    chips.filter(has_text=BATTERY).wait_for()
    field.press_sequentially("charger")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text(EV_CHARGER_ID[-6:])
    overlay = page.locator("vaadin-combo-box-overlay [part~=overlay]").filter(visible=True)
    shoot_dialog(page, "device_pick", also=overlay)
    close_flow(page)


def main() -> int:
    """Start the demo, take every picture, stop the demo."""
    if reason := browser.missing_browser():
        print(f"screenshots: {reason}", file=sys.stderr)
        return 1
    from playwright.sync_api import expect, sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="flatpeak-screenshots-") as tmp,
        browser.demo_servers(Path(tmp) / "config") as servers,
        sync_playwright() as playwright,
        browser.browser_page(playwright, brands=False) as page,
    ):
        hass = servers.hass_url
        integration = f"{hass}/config/integrations/integration/flatpeak"
        flow = page.locator("dialog-data-entry-flow")
        browser.log_in(page, hass)

        # The add-integration flow, up to its device list; the demo then adds the account
        # with its three devices and links the battery's sensor, as scripts/develop does.
        add_integration_forms(page, servers)
        entry = browser.add_integration(servers)
        if entry.get("state") != "loaded":
            print(f"screenshots: the entry did not load: {entry}", file=sys.stderr)
            return 1

        # The account's page: the account and its devices.
        page.goto(integration)
        devices = page.locator("ha-md-list-item.sub-entry")
        devices.filter(has_text=BATTERY).wait_for(timeout=LONG)
        page.locator("ha-md-list-item.config_entry").get_by_role("link", name="3 devices").wait_for(
            timeout=LONG
        )
        cards = page.locator("ha-config-integration-page ha-card").filter(visible=True)
        boxes = [box for i in range(cards.count()) if (box := cards.nth(i).bounding_box())]
        bottom = max(box["y"] + box["height"] for box in boxes) + 24
        shoot(page, "account", clip={"x": 0, "y": 0, "width": 1280, "height": bottom})

        # The battery's device page.
        devices.filter(has_text=BATTERY).get_by_role("link", name="1 device").click()
        page.wait_for_url(re.compile(r"/config/devices/device/"))
        page.get_by_text("Charging window").first.wait_for(timeout=LONG)
        page.set_viewport_size({"width": 1280, "height": 1400})
        shoot(page, "device_page")
        page.set_viewport_size(browser.VIEWPORT)  # type: ignore[arg-type]

        # The calendar: the week's list, every window of the coming days of each device.
        page.goto(f"{hass}/calendar")
        page.get_by_text(re.compile(r"^Charging")).first.wait_for(timeout=LONG)
        page.locator("ha-button-toggle-group ha-icon-button").last.click()
        page.get_by_text(re.compile(r"^Charging")).first.wait_for(timeout=LONG)
        shoot(page, "calendar")

        # The options.
        page.goto(integration)
        page.set_viewport_size({"width": 1280, "height": 1400})
        page.locator("ha-md-list-item.config_entry").get_by_role("button", name="Configure").click()
        flow.get_by_role("heading", name="Flatpeak options").wait_for(timeout=LONG)
        shoot_dialog(page, "options")
        close_flow(page)

        # The battery's settings: its location and its linked sensor.
        devices.filter(has_text=BATTERY).get_by_role("button", name="Configure").click()
        flow.get_by_role("heading", name="Change the device").wait_for(timeout=LONG)
        expect(flow.get_by_role("combobox", name="Battery state of charge")).to_have_value(
            "Demo battery state of charge", timeout=LONG
        )
        shoot_dialog(page, "device_settings")
        close_flow(page)

        # The Flip dispatch form.
        page.locator("ha-md-list-item.config_entry").get_by_role("button", name="Menu").click()
        page.locator("ha-md-menu-item").filter(has_text="Add Flip dispatch", visible=True).click()
        flow.get_by_text("Flip API key").first.wait_for(timeout=LONG)
        shoot_dialog(page, "flip_dispatch")
        close_flow(page)
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
