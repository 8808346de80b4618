"""The first five minutes of a new user, in Chromium, against a real Home Assistant.

The sandbox and Home Assistant 2025.4 run as in `scripts/develop` (on free ports, in a
temporary configuration folder; see `scripts/browser.py`). Through the UI, as a person
would: log in, add the integration with a wrong API key and then the right one, open the
device page and the calendar, the options and the Flip dispatch form, and submit values
out of range. On every screen: no raw translation key is shown.

Brand images: Home Assistant 2025.4's frontend loads them from brands.home-assistant.io
only (the integration's own `brand/` folder is served from 2026.3 on). This machine is
offline, so the browser answers those requests with `brands/custom_integrations/flatpeak/`,
the set to submit to the brands repository; the test checks the URLs Home Assistant asks
for and that the images it is given load.

Run: `.venv/bin/python -m pytest -m browser -s` (about 70 seconds, half of it starting
Home Assistant); `-m 'not browser'` leaves it out.
"""

from __future__ import annotations

from pathlib import Path
import re
import time
from typing import Any

import pytest
import pytest_socket

from sandbox import ACCOUNT_ID, API_KEY, DEVICE_ID, FLIP_API_KEY, FLIP_PROGRAM_ID
from scripts import browser

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bool(browser.missing_browser()), reason=str(browser.missing_browser())),
]

if not browser.missing_browser():
    from playwright.sync_api import Page, expect, sync_playwright

WRONG_API_KEY = "sk_test_0000000000000000deadbeef"
LONG = 60_000  # ms: Home Assistant can be slow to answer on a busy machine
# What a translation looks like when Home Assistant or the frontend found no text for it.
RAW_KEY = re.compile(r"component\.flatpeak\.|\[%key:|ui\.panel\.|state_attributes\.")

# Everything a person sees, shadow roots included, less styles and scripts.
VISIBLE_TEXT_JS = """() => {
  const out = [];
  const walk = (root) => {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walker.nextNode())) {
      const parent = node.parentElement;
      if (parent && ["STYLE", "SCRIPT"].includes(parent.tagName)) continue;
      const text = node.textContent.trim();
      if (text) out.push(text);
    }
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot) walk(el.shadowRoot);
      for (const name of ["label", "placeholder", "helper", "title", "aria-label"]) {
        const value = el.getAttribute(name);
        if (value) out.push(value);
      }
    }
  };
  walk(document);
  return out.join("\\n");
}"""

# The brand images in the page, shadow roots included: [src, naturalWidth, complete].
IMAGES_JS = """() => {
  const out = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll("*")) {
      if (el.tagName === "IMG") out.push([el.src, el.naturalWidth, el.complete]);
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  return out;
}"""


class Steps:
    """The timings of the steps, printed at the end."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.last = self.start
        self.lines: list[str] = []

    def done(self, what: str) -> None:
        now = time.monotonic()
        self.lines.append(f"{now - self.last:6.1f} s  {what}")
        self.last = now

    def report(self) -> str:
        total = time.monotonic() - self.start
        return "\n".join([*self.lines, f"{total:6.1f} s  in all"])


def visible_text(page: Page) -> str:
    text: str = page.evaluate(VISIBLE_TEXT_JS)
    return text


def assert_no_raw_keys(page: Page, where: str) -> None:
    raw = sorted({line for line in visible_text(page).splitlines() if RAW_KEY.search(line)})
    assert not raw, f"{where}: raw translation keys shown: {raw}"


def flatpeak_images(page: Page) -> list[tuple[str, int]]:
    """Return the Flatpeak brand images of the page once all have loaded or failed."""
    deadline = time.monotonic() + 15
    while True:
        images = [
            (src, width, complete)
            for src, width, complete in page.evaluate(IMAGES_JS)
            if src.startswith(browser.BRANDS_CDN) and "/flatpeak/" in src
        ]
        if all(complete for _, _, complete in images) or time.monotonic() > deadline:
            return [(src, width) for src, width, _ in images]
        page.wait_for_timeout(250)


BRAND_URLS: set[str] = set()


def assert_brand_image(page: Page, kind: str, where: str) -> None:
    images = flatpeak_images(page)
    BRAND_URLS.update(src for src, _ in images)
    wanted = [(src, width) for src, width in images if f"/{kind}" in src.rsplit("/flatpeak", 1)[1]]
    assert wanted, f"{where}: no Flatpeak {kind} image; brand images: {images}"
    for src, width in wanted:
        assert width > 0, f"{where}: the {kind} image {src} did not load"


def dialog(page: Page) -> Any:
    return page.locator("dialog-data-entry-flow")


def number_field(page: Page, label: str) -> Any:
    """The input of a number selector in the open flow dialog, found by its label."""
    return dialog(page).locator("ha-selector-number").filter(has_text=label).locator("input")


def test_first_five_minutes(tmp_path: Path) -> None:
    # The test plugin blocks sockets; the servers are real, on 127.0.0.1 (still the only
    # address allowed).
    pytest_socket.enable_socket()
    with (
        browser.demo_servers(tmp_path / "config") as servers,
        sync_playwright() as playwright,
        browser.browser_page(playwright) as page,
    ):
        first_five_minutes(page, servers)


def first_five_minutes(page: Page, servers: browser.Servers) -> None:
    hass = servers.hass_url
    steps = Steps()
    steps.lines.append(
        f"{servers.timings['servers started and onboarded']:6.1f} s  "
        "sandbox and Home Assistant started, onboarded (before the browser)"
    )

    # Log in.
    browser.log_in(page, hass)
    steps.done("logged in")

    # Add the integration: find it, see its icon, choose "I have a device ID".
    page.goto(f"{hass}/config/integrations/dashboard")
    page.get_by_role("button", name="Add integration").click()
    page.locator("dialog-add-integration search-input input").fill("Flatpeak")
    choice = page.locator("dialog-add-integration").get_by_text("Flatpeak", exact=True)
    expect(choice).to_be_visible(timeout=LONG)
    assert_brand_image(page, "icon", "the add-integration list")
    assert_no_raw_keys(page, "the add-integration list")
    choice.click()
    expect(dialog(page).get_by_text("Set up Flatpeak")).to_be_visible(timeout=LONG)
    assert_no_raw_keys(page, "the first step of the config flow")
    dialog(page).get_by_text("I have a Flatpeak device ID").click()
    expect(dialog(page).get_by_text("Connect your Flatpeak device")).to_be_visible(timeout=LONG)
    steps.done("opened the config flow")

    # A wrong API key: the form says so, in words.
    dialog(page).locator("input[name=api_key]").fill(WRONG_API_KEY)
    dialog(page).locator("input[name=account_id]").fill(ACCOUNT_ID)
    dialog(page).locator("input[name=device_id]").fill(DEVICE_ID)
    dialog(page).get_by_text("Advanced settings").click()
    dialog(page).locator("input[name=url]").fill(servers.sandbox_url)
    assert_no_raw_keys(page, "the connect form")
    dialog(page).get_by_role("button", name="Submit").click()
    expect(dialog(page).get_by_text("Flatpeak did not accept this API key")).to_be_visible(
        timeout=LONG
    )
    assert_no_raw_keys(page, "the connect form with an error")
    steps.done("a wrong API key refused")

    # The right key: the entry is created.
    dialog(page).locator("input[name=api_key]").fill(API_KEY)
    dialog(page).get_by_role("button", name="Submit").click()
    expect(dialog(page).get_by_text("Created configuration for")).to_be_visible(timeout=LONG)
    assert_no_raw_keys(page, "the success step")
    dialog(page).get_by_role("button", name="Finish").click()
    expect(dialog(page).get_by_text("Created configuration for")).to_be_hidden(timeout=LONG)
    steps.done("added the integration")

    # The integration page shows the logo; its device page the entities and their values.
    page.goto(f"{hass}/config/integrations/integration/flatpeak")
    device_link = page.get_by_role("link", name="1 device").first
    expect(device_link).to_be_visible(timeout=LONG)
    assert_brand_image(page, "logo", "the integration page")
    assert_no_raw_keys(page, "the integration page")
    device_link.click()
    page.wait_for_url(re.compile(r"/config/devices/device/"))
    expect(page.get_by_text("Charging window").first).to_be_visible(timeout=LONG)
    # Entity values, as the sandbox's demo account gives them.
    for shown in ("Nova Systems Pico Ultimate", "GBP/kWh", "Octopus Energy", "Schedule status"):
        expect(page.get_by_text(shown).first).to_be_visible(timeout=LONG)
    assert_brand_image(page, "logo", "the device page")
    assert_no_raw_keys(page, "the device page")
    steps.done("device page")

    # The calendar shows the charging windows.
    page.goto(f"{hass}/calendar")
    expect(page.get_by_text(re.compile("Charging schedule")).first).to_be_visible(timeout=LONG)
    expect(page.get_by_text(re.compile(r"^Charging")).first).to_be_visible(timeout=LONG)
    assert_no_raw_keys(page, "the calendar")
    steps.done("calendar")

    # The options: every text in words; a value out of range is refused with a message.
    page.goto(f"{hass}/config/integrations/integration/flatpeak")
    page.get_by_role("button", name="Configure").first.click()
    expect(dialog(page).get_by_text("Flatpeak options")).to_be_visible(timeout=LONG)
    assert_no_raw_keys(page, "the options form")
    horizon = number_field(page, "Schedule horizon")
    horizon.fill("100000")
    dialog(page).get_by_role("button", name="Submit").click()
    # The range is named below the field, and the error is the integration's own.
    expect(dialog(page).get_by_text("1\u201372 h").first).to_be_visible(timeout=LONG)
    expect(dialog(page).get_by_text("Enter a whole number within the range").first).to_be_visible(
        timeout=LONG
    )
    assert_no_raw_keys(page, "the options form with an error")
    steps.done("options: a value out of range")
    dialog(page).get_by_role("button", name="Close").first.click()
    expect(dialog(page).get_by_text("Flatpeak options")).to_be_hidden(timeout=LONG)

    # The Flip dispatch form, from the entry's menu.
    page.get_by_role("button", name="Menu").last.click()
    page.get_by_text("Add Flip dispatch").click()
    expect(dialog(page).get_by_text("Add a Flip dispatch").first).to_be_visible(timeout=LONG)
    expect(dialog(page).get_by_text("Flip API key").first).to_be_visible(timeout=LONG)
    assert_no_raw_keys(page, "the Flip dispatch form")
    dialog(page).locator("input[name=api_key]").fill(FLIP_API_KEY)
    dialog(page).locator("input[name=program_id]").fill(FLIP_PROGRAM_ID)
    number_field(page, "Backup reserve").fill("150")
    dialog(page).get_by_role("button", name="Submit").click()
    expect(dialog(page).get_by_text("0\u2013100 %").first).to_be_visible(timeout=LONG)
    expect(dialog(page).get_by_text("Enter a whole number within the range").first).to_be_visible(
        timeout=LONG
    )
    assert_no_raw_keys(page, "the Flip dispatch form with an error")
    steps.done("Flip dispatch: a value out of range")

    print(  # noqa: T201
        "\nThe first five minutes, in Chromium:\n"
        + steps.report()
        + "\nBrand images Home Assistant asked for:\n  "
        + "\n  ".join(sorted(BRAND_URLS))
    )
