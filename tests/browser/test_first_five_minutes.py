"""The first five minutes of a new user, in Chromium, against a real Home Assistant.

The sandbox and Home Assistant run as in `scripts/develop` (on free ports, in a temporary
configuration folder; see `scripts/browser.py`), on the Home Assistant of the Python that
runs the test. Through the UI, as a person would:

- log in, add the integration with a wrong API key and then the right one, and pick two of
  the account's three devices (the battery and the EV charger) in its searchable list;
- see the account's page list the account and its two devices, and each device's page
  its entities and their values; the calendar its charging windows;
- add the third device (the heat pump) with *Add device* on the account's page;
- delete the EV charger there, and see its device and entities gone while the battery
  and the heat pump stay;
- open a device's settings, the options and the Flip dispatch form (which asks for the
  device, as the account has several), and submit values out of range.

On every screen: no raw translation key is shown. Each step waits for what a person would
see; the time each took is printed at the end. Where a screen shows something the
integration promises not to (a device chosen before the user chose it), the walk goes on
as a person would and the test fails at the end, naming it.

The page's structure is Home Assistant 2025.4's frontend (home-assistant-frontend
20250411.0): the account's devices are rows of its entry on the integration page, *Add
device* is in the entry's menu and *Delete* in a device's. The current lane installs no
frontend and no playwright, so it skips this test.

Brand images: Home Assistant 2025.4's frontend loads them from brands.home-assistant.io
only (the integration's own `brand/` folder is served from 2026.3 on). This machine is
offline, so the browser answers those requests with `brands/custom_integrations/flatpeak/`,
the set to submit to the brands repository; the test checks the URLs Home Assistant asks
for and that the images it is given load.

Run: `.venv/bin/python -m pytest -m browser -s` (about 40 seconds, a fifth of it starting
Home Assistant); `-m 'not browser'` leaves it out.
"""

from __future__ import annotations

from pathlib import Path
import re
import time
from typing import Any

import pytest
import pytest_socket

from sandbox import ACCOUNT_ID, API_KEY, FLIP_API_KEY, FLIP_PROGRAM_ID
from scripts import browser

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bool(browser.missing_browser()), reason=str(browser.missing_browser())),
]

if not browser.missing_browser():
    from playwright.sync_api import Error as PlaywrightError, Page, expect, sync_playwright

WRONG_API_KEY = "sk_test_0000000000000000deadbeef"
LONG = 60_000  # ms: Home Assistant can be slow to answer on a busy machine
# What a translation looks like when Home Assistant or the frontend found no text for it.
RAW_KEY = re.compile(r"component\.flatpeak\.|\[%key:|ui\.panel\.|state_attributes\.")

# The sandbox account's devices, as the integration names them.
BATTERY = "Nova Systems Pico Ultimate"
EV_CHARGER = "Voltline Sprint 7"
HEAT_PUMP = "Borealis Heat Aurora 6"
ACCOUNT = f"Flatpeak {ACCOUNT_ID}"

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

# The Flatpeak brand images in the page, shadow roots included, as [src, naturalWidth,
# complete]. Waiting, null until one of `kind` (icon, logo) is there and all have loaded
# or failed.
BRAND_IMAGES_JS = """([cdn, kind, waiting]) => {
  const out = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll("*")) {
      if (el.tagName === "IMG" && el.src.startsWith(cdn) && el.src.includes("/flatpeak/")) {
        out.push([el.src, el.naturalWidth, el.complete]);
      }
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  const wanted = out.some(([src]) => src.split("/flatpeak").pop().includes(`/${kind}`));
  return !waiting || (wanted && out.every(([, , complete]) => complete)) ? out : null;
}"""


class Steps:
    """The timings of the steps, and what the screens showed wrong, printed at the end."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.last = self.start
        self.lines: list[str] = []
        self.problems: list[str] = []

    def done(self, what: str) -> None:
        now = time.monotonic()
        self.lines.append(f"{now - self.last:6.1f} s  {what}")
        self.last = now

    def problem(self, what: str) -> None:
        """Note something a screen showed wrong; the test fails at the end."""
        self.problems.append(what)

    def report(self) -> str:
        total = time.monotonic() - self.start
        lines = [*self.lines, f"{total:6.1f} s  in all"]
        lines.extend(f"  problem: {problem}" for problem in self.problems)
        return "\n".join(lines)


def visible_text(page: Page) -> str:
    text: str = page.evaluate(VISIBLE_TEXT_JS)
    return text


def assert_no_raw_keys(page: Page, where: str) -> None:
    raw = sorted({line for line in visible_text(page).splitlines() if RAW_KEY.search(line)})
    assert not raw, f"{where}: raw translation keys shown: {raw}"


BRAND_URLS: set[str] = set()


def assert_brand_image(page: Page, kind: str, where: str) -> None:
    """Wait until the page shows a Flatpeak brand image of `kind`; check that it loaded."""
    try:
        handle = page.wait_for_function(
            BRAND_IMAGES_JS, arg=[browser.BRANDS_CDN, kind, True], timeout=15_000
        )
    except PlaywrightError:
        found = page.evaluate(BRAND_IMAGES_JS, [browser.BRANDS_CDN, kind, False])
        raise AssertionError(f"{where}: no Flatpeak {kind} image; brand images: {found}") from None
    images: list[tuple[str, int, bool]] = handle.json_value()
    BRAND_URLS.update(src for src, _, _ in images)
    for src, width, _ in images:
        if f"/{kind}" in src.rsplit("/flatpeak", 1)[1]:
            assert width > 0, f"{where}: the {kind} image {src} did not load"


def dialog(page: Page) -> Any:
    return page.locator("dialog-data-entry-flow")


def heading(page: Page, title: str) -> Any:
    """The title of the open flow dialog."""
    return dialog(page).get_by_role("heading", name=title, exact=True)


def number_field(page: Page, label: str) -> Any:
    """The input of a number selector in the open flow dialog, found by its label."""
    return dialog(page).locator("ha-selector-number").filter(has_text=label).locator("input")


def entry_row(page: Page) -> Any:
    """The account's row on the integration page."""
    return page.locator("ha-md-list-item.config_entry").filter(has_text=ACCOUNT)


def device_row(page: Page, name: str) -> Any:
    """A device's row, under the account's, on the integration page."""
    return page.locator("ha-md-list-item.sub-entry").filter(has_text=name)


def menu_item(page: Page, text: str) -> Any:
    """An item of the open row menu."""
    return page.locator("ha-md-menu-item").filter(has_text=text, visible=True)


def combo_input(page: Page) -> Any:
    """The text field of the open flow dialog's searchable list."""
    return dialog(page).locator("ha-selector-select ha-combo-box input")


def listed_devices(page: Page) -> Any:
    """The devices the searchable list shows now, less what was typed, which it may show too."""
    return (
        page.locator("vaadin-combo-box-item")
        .filter(visible=True)
        .filter(has_text=re.compile(r"…\w{6}"))
    )


def search(page: Page, typed: str) -> None:
    """Type in the open flow dialog's searchable list, key by key, as a person does."""
    field = combo_input(page)
    field.fill("")
    field.press_sequentially(typed)


def chips(page: Page) -> Any:
    """The devices chosen so far in the open flow dialog's list of several."""
    return dialog(page).locator("ha-input-chip")


def entity_count(row: Any) -> int:
    """The number of entities a row of the integration page links to."""
    link = row.get_by_role("link", name=re.compile(r"^\d+ entit"))
    expect(link).to_be_visible(timeout=LONG)
    return int(str(link.text_content()).split()[0])


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
    steps = Steps()
    steps.lines.append(
        f"{servers.timings['servers started and onboarded']:6.1f} s  "
        "sandbox and Home Assistant started, onboarded (before the browser)"
    )
    try:
        walk(page, servers, steps)
    finally:
        print(  # noqa: T201
            "\nThe first five minutes, in Chromium:\n"
            + steps.report()
            + "\nBrand images Home Assistant asked for:\n  "
            + "\n  ".join(sorted(BRAND_URLS))
        )
    assert not steps.problems, "\n".join(steps.problems)


def walk(page: Page, servers: browser.Servers, steps: Steps) -> None:
    hass = servers.hass_url
    browser.log_in(page, hass)
    steps.done("logged in")

    add_account(page, servers, steps)
    integration = f"{hass}/config/integrations/integration/flatpeak"

    # The account's page: the account, and under it its two devices, each with its entities.
    page.goto(integration)
    expect(entry_row(page).get_by_role("link", name="2 devices")).to_be_visible(timeout=LONG)
    for name in (BATTERY, EV_CHARGER):
        row = device_row(page, name)
        expect(row.get_by_role("link", name="1 device")).to_be_visible(timeout=LONG)
        assert entity_count(row) > 0, f"{name}: no entities"
    expect(device_row(page, HEAT_PUMP)).to_have_count(0)
    assert_brand_image(page, "logo", "the integration page")
    assert_no_raw_keys(page, "the integration page")
    steps.done("the account's page: the account and its two devices")

    # Each device's page shows its entities and their values, as the sandbox gives them.
    device_row(page, BATTERY).get_by_role("link", name="1 device").click()
    page.wait_for_url(re.compile(r"/config/devices/device/"))
    expect(page.get_by_text(BATTERY).first).to_be_visible(timeout=LONG)
    for shown in ("Charging window", "GBP/kWh", "Octopus Energy", "Schedule status"):
        expect(page.get_by_text(shown).first).to_be_visible(timeout=LONG)
    assert_brand_image(page, "logo", "the device page")
    assert_no_raw_keys(page, "the battery's device page")
    page.goto(integration)
    device_row(page, EV_CHARGER).get_by_role("link", name="1 device").click()
    page.wait_for_url(re.compile(r"/config/devices/device/"))
    ev_charger_page = page.url
    expect(page.get_by_text(EV_CHARGER).first).to_be_visible(timeout=LONG)
    for shown in ("Charging window", "Charging power", "Octopus Energy", "Schedule status"):
        expect(page.get_by_text(shown).first).to_be_visible(timeout=LONG)
    assert_no_raw_keys(page, "the EV charger's device page")
    steps.done("each device's page: its entities and their values")

    # The calendar shows the charging windows.
    page.goto(f"{hass}/calendar")
    expect(page.get_by_text(re.compile("Charging schedule")).first).to_be_visible(timeout=LONG)
    expect(page.get_by_text(re.compile(r"^Charging")).first).to_be_visible(timeout=LONG)
    assert_no_raw_keys(page, "the calendar")
    steps.done("calendar")

    add_heat_pump(page, integration, steps)
    remove_ev_charger(page, hass, integration, ev_charger_page, steps)
    settings_and_options(page, integration, steps)


def add_account(page: Page, servers: browser.Servers, steps: Steps) -> None:
    """Add the integration: a wrong key, the right one, then two devices picked by search."""
    page.goto(f"{servers.hass_url}/config/integrations/dashboard")
    page.get_by_role("button", name="Add integration").click()
    page.locator("dialog-add-integration search-input input").fill("Flatpeak")
    choice = page.locator("dialog-add-integration").get_by_text("Flatpeak", exact=True)
    expect(choice).to_be_visible(timeout=LONG)
    assert_brand_image(page, "icon", "the add-integration list")
    assert_no_raw_keys(page, "the add-integration list")
    choice.click()
    expect(heading(page, "Connect your Flatpeak account")).to_be_visible(timeout=LONG)
    assert_no_raw_keys(page, "the credentials form")
    steps.done("opened the config flow")

    # A wrong API key: the form says so, in words.
    dialog(page).locator("input[name=api_key]").fill(WRONG_API_KEY)
    dialog(page).locator("input[name=account_id]").fill(ACCOUNT_ID)
    dialog(page).get_by_text("Advanced settings").click()
    dialog(page).locator("input[name=url]").fill(servers.sandbox_url)
    dialog(page).get_by_role("button", name="Submit").click()
    expect(dialog(page).get_by_text("Flatpeak did not accept this API key")).to_be_visible(
        timeout=LONG
    )
    assert_no_raw_keys(page, "the credentials form with an error")
    steps.done("a wrong API key refused")

    # The right key: the account's devices are offered.
    dialog(page).locator("input[name=api_key]").fill(API_KEY)
    dialog(page).get_by_role("button", name="Submit").click()
    expect(heading(page, "Add devices")).to_be_visible(timeout=LONG)
    expect(dialog(page).get_by_text(f"Devices of Flatpeak account {ACCOUNT_ID}: 3")).to_be_visible()
    assert_no_raw_keys(page, "the devices menu")
    dialog(page).get_by_text("Choose devices of this account").click()
    expect(heading(page, "Choose devices")).to_be_visible(timeout=LONG)
    expect(combo_input(page)).to_be_visible(timeout=LONG)
    assert_no_raw_keys(page, "the device list")
    steps.done("the key accepted: the account's devices offered")

    # Nothing is chosen before the user chooses.
    expect(chips(page)).to_have_count(0)

    # The list is searchable: part of a name finds the device, and only it.
    for typed, name in (("Pico", BATTERY), ("charger", EV_CHARGER)):
        search(page, typed)
        expect(listed_devices(page)).to_have_count(1, timeout=LONG)
        expect(listed_devices(page)).to_contain_text(name)
        listed_devices(page).click()
        expect(chips(page).filter(has_text=name)).to_be_visible()
    expect(chips(page)).to_have_count(2)
    dialog(page).get_by_role("button", name="Submit").click()
    expect(dialog(page).get_by_text(f"Created configuration for {ACCOUNT}")).to_be_visible(
        timeout=LONG
    )
    # The devices found: the two picked, not the third.
    for name in (BATTERY, EV_CHARGER):
        expect(dialog(page).get_by_text(name, exact=True)).to_be_visible(timeout=LONG)
    expect(dialog(page).get_by_text(HEAT_PUMP)).to_have_count(0)
    assert_no_raw_keys(page, "the success step")
    dialog(page).get_by_role("button", name="Finish").click()
    expect(dialog(page).get_by_text("Created configuration for")).to_be_hidden(timeout=LONG)
    steps.done("picked two devices by search: the account added")


def add_heat_pump(page: Page, integration: str, steps: Steps) -> None:
    """Add the third device with Add device on the account's page."""
    page.goto(integration)
    entry_row(page).get_by_role("button", name="Menu").click()
    menu_item(page, "Add device").click()
    expect(heading(page, "Add a device")).to_be_visible(timeout=LONG)
    assert_no_raw_keys(page, "the Add device menu")
    dialog(page).get_by_text("Choose a device of this account").click()
    expect(heading(page, "Choose a device")).to_be_visible(timeout=LONG)
    assert_no_raw_keys(page, "the Add device list")
    search(page, "Aurora")
    expect(listed_devices(page)).to_have_count(1, timeout=LONG)
    expect(listed_devices(page)).to_contain_text(HEAT_PUMP)
    listed_devices(page).click()
    expect(combo_input(page)).to_have_value(re.compile(HEAT_PUMP))
    dialog(page).get_by_role("button", name="Submit").click()
    expect(dialog(page).get_by_text(f"Created configuration for {HEAT_PUMP}")).to_be_visible(
        timeout=LONG
    )
    assert_no_raw_keys(page, "the Add device success step")
    dialog(page).get_by_role("button", name="Finish").click()
    expect(dialog(page).get_by_text("Created configuration for")).to_be_hidden(timeout=LONG)
    # The page follows: three devices, the heat pump with its own.
    expect(entry_row(page).get_by_role("link", name="3 devices")).to_be_visible(timeout=LONG)
    row = device_row(page, HEAT_PUMP)
    expect(row.get_by_role("link", name="1 device")).to_be_visible(timeout=LONG)
    assert entity_count(row) > 0, f"{HEAT_PUMP}: no entities"
    steps.done("Add device: the heat pump added")


def remove_ev_charger(
    page: Page, hass: str, integration: str, ev_charger_page: str, steps: Steps
) -> None:
    """Delete the EV charger on the account's page; its device and entities go, the rest stay."""
    kept = {name: entity_count(device_row(page, name)) for name in (BATTERY, HEAT_PUMP)}
    device_row(page, EV_CHARGER).get_by_role("button", name="Menu").click()
    menu_item(page, "Delete").click()
    confirm = page.locator("dialog-box")
    expect(confirm.get_by_text(f"Delete {EV_CHARGER}?")).to_be_visible(timeout=LONG)
    confirm.get_by_role("button", name="Delete").click()
    expect(device_row(page, EV_CHARGER)).to_have_count(0, timeout=LONG)
    # The account counts the two devices left, and their entities only.
    expect(
        entry_row(page).get_by_text(f"2 devices and {sum(kept.values())} entities")
    ).to_be_visible(timeout=LONG)
    for name, count in kept.items():
        expect(device_row(page, name).get_by_role("link", name=f"{count} entities")).to_be_visible()
    assert_no_raw_keys(page, "the integration page after a delete")
    steps.done("deleted the EV charger on the account's page")

    # Its device is gone, from its page and from the integration's devices.
    page.goto(ev_charger_page)
    expect(page.get_by_text("Device / service not found.")).to_be_visible(timeout=LONG)
    page.goto(f"{hass}/config/devices/dashboard?historyBack=1&domain=flatpeak")
    for name in (BATTERY, HEAT_PUMP):
        expect(page.get_by_text(name, exact=True)).to_be_visible(timeout=LONG)
    expect(page.get_by_text(EV_CHARGER)).to_have_count(0)
    # Its entities are gone; the others are there.
    page.goto(f"{hass}/config/entities?historyBack=1&domain=flatpeak")
    search_field = page.get_by_role("textbox", name=re.compile("^Search"))
    for typed, shown in (("Pico Ultimate", BATTERY), ("Voltline", None), ("Aurora", HEAT_PUMP)):
        search_field.fill(typed)
        if shown is None:
            expect(page.get_by_text("No data")).to_be_visible(timeout=LONG)
        else:
            expect(page.get_by_text(f"{shown} Charging window").first).to_be_visible(timeout=LONG)
    # The battery carries on: its values are still shown.
    page.goto(integration)
    device_row(page, BATTERY).get_by_role("link", name="1 device").click()
    page.wait_for_url(re.compile(r"/config/devices/device/"))
    for shown in ("Charging window", "GBP/kWh", "Octopus Energy", "Fresh"):
        expect(page.get_by_text(shown).first).to_be_visible(timeout=LONG)
    steps.done("the EV charger's device and entities gone, the others there")


def settings_and_options(page: Page, integration: str, steps: Steps) -> None:
    """A device's settings, the options and the Flip dispatch form, with values out of range."""
    page.goto(integration)
    device_row(page, BATTERY).get_by_role("button", name="Configure").click()
    expect(heading(page, "Change the device")).to_be_visible(timeout=LONG)
    # The device's location, one of its own, chosen; its battery sensor, none yet.
    expect(dialog(page).get_by_role("radio", name=re.compile("^loc_"))).to_be_checked(timeout=LONG)
    expect(dialog(page).get_by_role("combobox", name="Battery state of charge")).to_have_value("")
    assert_no_raw_keys(page, "a device's settings")
    dialog(page).get_by_role("button", name="Close").first.click()
    expect(heading(page, "Change the device")).to_be_hidden(timeout=LONG)
    steps.done("a device's settings: location and battery sensor")

    # The options: every text in words; a value out of range is refused with a message.
    entry_row(page).get_by_role("button", name="Configure").click()
    expect(heading(page, "Flatpeak options")).to_be_visible(timeout=LONG)
    assert_no_raw_keys(page, "the options form")
    number_field(page, "Schedule horizon").fill("100000")
    dialog(page).get_by_role("button", name="Submit").click()
    # The range is named below the field, and the error is the integration's own.
    expect(dialog(page).get_by_text("1\u201372 h").first).to_be_visible(timeout=LONG)
    expect(dialog(page).get_by_text("Enter a whole number within the range").first).to_be_visible(
        timeout=LONG
    )
    assert_no_raw_keys(page, "the options form with an error")
    steps.done("options: a value out of range")
    dialog(page).get_by_role("button", name="Close").first.click()
    expect(heading(page, "Flatpeak options")).to_be_hidden(timeout=LONG)

    # The Flip dispatch form, from the account's menu: with two devices it asks which.
    entry_row(page).get_by_role("button", name="Menu").click()
    menu_item(page, "Add Flip dispatch").click()
    expect(heading(page, "Add a Flip dispatch")).to_be_visible(timeout=LONG)
    expect(dialog(page).get_by_text("Flip API key").first).to_be_visible(timeout=LONG)
    assert_no_raw_keys(page, "the Flip dispatch form")
    typed = [
        (dialog(page).locator("input[name=api_key]"), FLIP_API_KEY),
        (dialog(page).locator("input[name=program_id]"), FLIP_PROGRAM_ID),
        (number_field(page, "Backup reserve"), "150"),
    ]
    for field, value in typed:
        field.fill(value)
    # The devices offered: those of the account, the deleted one no more.
    device = dialog(page).get_by_role("combobox", name=re.compile(r"^Device"))
    device.click()
    offered = page.get_by_role("option").filter(visible=True)
    for name in (BATTERY, HEAT_PUMP):
        expect(offered.filter(has_text=name)).to_be_visible(timeout=LONG)
    expect(offered.filter(has_text=EV_CHARGER)).to_have_count(0)
    offered.filter(has_text=BATTERY).click()
    # The list closes on the choice, which the field shows; what was typed stays.
    expect(offered.filter(has_text=HEAT_PUMP)).to_be_hidden()
    expect(device).to_contain_text(BATTERY)
    for field, value in typed:
        expect(field).to_have_value(value)
    dialog(page).get_by_role("button", name="Submit").click()
    expect(dialog(page).get_by_text("0\u2013100 %").first).to_be_visible(timeout=LONG)
    expect(dialog(page).get_by_text("Enter a whole number within the range").first).to_be_visible(
        timeout=LONG
    )
    assert_no_raw_keys(page, "the Flip dispatch form with an error")
    steps.done("Flip dispatch: the device asked, a value out of range")
