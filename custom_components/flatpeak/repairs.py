"""Repair issues: problems only the user can solve, raised and cleared by themselves.

After every fetch the wanted set of issues is worked out from what the
coordinators know, and the issue registry is made to match: an issue appears
while its cause lasts and disappears once it is gone. Each names the device,
or the devices of the location, it concerns. A device Flatpeak no longer knows
can be removed from the issue itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from homeassistant.components.repairs import RepairsFlow
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResult
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from .api import TariffStatus
from .const import DOMAIN
from .coordinator import FlatpeakCoordinator
from .data import AccountData, DeviceData, FlatpeakConfigEntry, LocationData
from .device_forms import device_name
from .problems import Problem

# Consecutive failed schedule fetches (about half an hour with back-off) before
# an unreachable cloud is worth the user's attention.
UNREACHABLE_AFTER_FAILURES = 5
CONTRACT_ENDING_WITHIN = timedelta(days=14)
CONNECTION_ERRORS = frozenset({Problem.CANNOT_CONNECT, Problem.API_ERROR, Problem.INVALID_RESPONSE})


@dataclass(frozen=True, slots=True)
class Issue:
    """One repair issue of an account: what to call it and what to tell the user."""

    # Unique within the account: the key, and the device or location it concerns.
    key: str
    severity: ir.IssueSeverity
    placeholders: dict[str, str]
    # Issues of one kind (a tariff error per element) share their text.
    translation_key: str
    # A fix flow's data: the issue can be fixed from Repairs.
    fix: dict[str, str | int | float | None] | None = None


def _device_issues(entry: FlatpeakConfigEntry, device: DeviceData) -> list[Issue]:
    """Return the issues of one device: gone from Flatpeak, out of reach, its dispatch."""
    name = {"name": device.name}
    issues: list[Issue] = []
    if Problem.NOT_FOUND in {device.device.error, device.schedule.error}:
        # Deleted in Flatpeak: the user may remove it here, from Repairs.
        fix: dict[str, str | int | float | None] = {
            "entry_id": entry.entry_id,
            "subentry_id": device.subentry_id,
        }
        issues.append(
            Issue(
                f"{device.device_id}_device_not_found",
                ir.IssueSeverity.ERROR,
                name,
                "device_not_found",
                fix,
            )
        )
    schedule = device.schedule
    if schedule.error in CONNECTION_ERRORS and schedule.failures >= UNREACHABLE_AFTER_FAILURES:
        since = schedule.last_success_time
        when = dt_util.as_local(since).strftime("%Y-%m-%d %H:%M") if since else "setup"
        issues.append(
            Issue(
                f"{device.device_id}_unreachable",
                ir.IssueSeverity.WARNING,
                name | {"since": when},
                "unreachable",
            )
        )
    if (target := device.dispatch.target) is not None:
        issues.extend(
            Issue(f"{device.device_id}_{key}", ir.IssueSeverity.ERROR, name, key)
            for key in target.repair_issues()
        )
    return issues


def _location_issues(
    location: LocationData, devices: list[DeviceData], now: datetime
) -> list[Issue]:
    """Return the issues of one location, named by its devices: tariff and contract.

    A missing export tariff is no repair: it is optional.
    """
    name = {"name": ", ".join(device.name for device in devices)}
    scope = location.location_id
    issues: list[Issue] = []
    asking: list[FlatpeakCoordinator[Any]] = [
        location.status,
        location.import_prices,
        *(d.schedule for d in devices),
    ]
    if Problem.NO_TARIFF_CONNECTED in {c.error for c in asking}:
        issues.append(
            Issue(
                f"{scope}_no_tariff_connected", ir.IssueSeverity.ERROR, name, "no_tariff_connected"
            )
        )
    if (status := location.status.latest) is None:
        return issues
    for element_name, element in status.elements.items():
        if element.status == TariffStatus.ERROR:
            issues.append(
                Issue(
                    f"{scope}_tariff_error_{element_name}",
                    ir.IssueSeverity.ERROR,
                    name | {"element": element_name.replace("_", " ")},
                    "tariff_error",
                )
            )
    imported = status.commodity_import
    end = imported.tariff.contract_end_date if imported and imported.tariff else None
    if end is not None and now <= end <= now + CONTRACT_ENDING_WITHIN:
        date = dt_util.as_local(end).date().isoformat()
        issues.append(
            Issue(
                f"{scope}_contract_ending",
                ir.IssueSeverity.WARNING,
                name | {"date": date},
                "contract_ending",
            )
        )
    return issues


def wanted_issues(entry: FlatpeakConfigEntry, now: datetime) -> list[Issue]:
    """Work out which issues the account's current state calls for."""
    account = entry.runtime_data
    issues: list[Issue] = []
    # Export prices are left out of the fetch problems: their tariff is optional.
    errors = {c.error for c in account.coordinators if c not in _export_prices(account)}
    if Problem.ACCOUNT_DISABLED in errors:
        issues.append(
            Issue(
                "account_disabled",
                ir.IssueSeverity.ERROR,
                {"name": entry.title},
                "account_disabled",
            )
        )
    for device in account.devices.values():
        issues.extend(_device_issues(entry, device))
    # Offered, never added unasked: the user adds it with "Add device", or ignores this.
    issues.extend(
        Issue(
            f"{device.id}_new_device",
            ir.IssueSeverity.WARNING,
            {"name": device_name(device), "account": entry.title},
            "new_device",
        )
        for device in account.new_devices
    )
    for location in account.locations.values():
        if here := [d for d in account.devices.values() if d.location is location]:
            issues.extend(_location_issues(location, here, now))
    return issues


def _export_prices(account: AccountData) -> set[FlatpeakCoordinator[Any]]:
    return {loc.export_prices for loc in account.locations.values() if loc.export_prices}


@callback
def async_follow_issues(hass: HomeAssistant, entry: FlatpeakConfigEntry) -> None:
    """Keep the account's issues in line with every fetch, dispatch and device."""
    account = entry.runtime_data
    update = partial(async_update_issues, hass, entry)
    followed: set[FlatpeakCoordinator[Any]] = set()

    @callback
    def follow(device: DeviceData) -> None:
        for coordinator in device.coordinators:
            if coordinator not in followed:
                followed.add(coordinator)
                entry.async_on_unload(coordinator.async_add_refresh_listener(update))
        entry.async_on_unload(device.dispatch.async_add_listener(update))

    entry.async_on_unload(account.async_for_each_device(follow))
    entry.async_on_unload(account.async_add_listener(update))
    update()


def _issue_id(entry: FlatpeakConfigEntry, key: str) -> str:
    return f"{entry.entry_id}_{key}"


@callback
def async_update_issues(hass: HomeAssistant, entry: FlatpeakConfigEntry) -> None:
    """Make the account's repair issues match what its coordinators know now."""
    wanted = {
        _issue_id(entry, issue.key): issue for issue in wanted_issues(entry, dt_util.utcnow())
    }
    for issue_id, issue in wanted.items():
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id,
            is_fixable=issue.fix is not None,
            data=issue.fix,
            severity=issue.severity,
            translation_key=issue.translation_key,
            translation_placeholders=issue.placeholders,
        )
    async_delete_issues(hass, entry, keep=set(wanted))


@callback
def async_delete_issues(
    hass: HomeAssistant, entry: FlatpeakConfigEntry, keep: set[str] | None = None
) -> None:
    """Delete the account's issues, except those to keep."""
    registry = ir.async_get(hass)
    prefix = f"{entry.entry_id}_"
    for domain, issue_id in list(registry.issues):
        if domain == DOMAIN and issue_id.startswith(prefix) and issue_id not in (keep or set()):
            ir.async_delete_issue(hass, DOMAIN, issue_id)


class RemoveDeviceFlow(RepairsFlow):
    """Remove a device that Flatpeak no longer knows, once the user confirms."""

    def __init__(self, entry_id: str, subentry_id: str) -> None:
        """Fix the issue of one device of one account."""
        self._entry_id = entry_id
        self._subentry_id = subentry_id

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> FlowResult:
        """Ask before removing."""
        return await self.async_step_confirm()

    async def async_step_confirm(self, user_input: dict[str, str] | None = None) -> FlowResult:
        """Remove the device's subentry: its entities, its device and its dispatch go too."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        subentry = entry.subentries.get(self._subentry_id) if entry else None
        if entry is None or subentry is None:
            return self.async_abort(reason="device_gone")
        if user_input is not None:
            self.hass.config_entries.async_remove_subentry(entry, self._subentry_id)
            return self.async_create_entry(data={})
        return self.async_show_form(
            step_id="confirm", description_placeholders={"name": subentry.title}
        )


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """Return the flow that fixes an issue: the removal of a device Flatpeak no longer knows."""
    if data is None:
        raise ValueError(f"{issue_id} cannot be fixed from Repairs")
    return RemoveDeviceFlow(str(data["entry_id"]), str(data["subentry_id"]))
