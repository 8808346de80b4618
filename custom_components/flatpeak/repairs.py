"""Repair issues: problems only the user can solve, raised and cleared by themselves.

After every fetch the wanted set of issues is worked out from what the
coordinators know, and the issue registry is made to match: an issue appears
while its cause lasts and disappears once it is gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from .api import TariffStatus
from .const import DOMAIN
from .data import FlatpeakConfigEntry, FlatpeakData
from .problems import Problem

# Consecutive failed schedule fetches (about half an hour with back-off) before
# an unreachable cloud is worth the user's attention.
UNREACHABLE_AFTER_FAILURES = 5
CONTRACT_ENDING_WITHIN = timedelta(days=14)
CONNECTION_ERRORS = frozenset({Problem.CANNOT_CONNECT, Problem.API_ERROR, Problem.INVALID_RESPONSE})
# The fetch problems only the user can solve, each an issue of its own.
USER_PROBLEMS = (Problem.NOT_FOUND, Problem.NO_TARIFF_CONNECTED, Problem.ACCOUNT_DISABLED)
ISSUE_OF = {Problem.NOT_FOUND: "device_not_found"}


@dataclass(frozen=True, slots=True)
class Issue:
    """One repair issue of an entry: what to call it and what to tell the user."""

    key: str
    severity: ir.IssueSeverity
    placeholders: dict[str, str]
    # Issues of one kind (a tariff error per element) share their text.
    translation_key: str = ""


def wanted_issues(data: FlatpeakData, title: str, now: datetime) -> list[Issue]:
    """Work out which issues the current state calls for."""
    issues: list[Issue] = []
    name = {"name": title}
    # Export prices are left out: their tariff is optional, and its loss is no repair.
    errors = {c.error for c in (data.device, data.status, data.schedule, data.import_prices)}
    issues.extend(
        Issue(ISSUE_OF.get(problem, problem), ir.IssueSeverity.ERROR, name)
        for problem in USER_PROBLEMS
        if problem in errors
    )
    if (target := data.dispatch.target) is not None:
        issues.extend(Issue(key, ir.IssueSeverity.ERROR, name) for key in target.repair_issues())
    schedule = data.schedule
    if schedule.error in CONNECTION_ERRORS and schedule.failures >= UNREACHABLE_AFTER_FAILURES:
        since = schedule.last_success_time
        when = dt_util.as_local(since).strftime("%Y-%m-%d %H:%M") if since else "setup"
        issues.append(Issue("unreachable", ir.IssueSeverity.WARNING, name | {"since": when}))
    if (status := data.status.latest) is not None:
        for element_name, element in status.elements.items():
            if element.status == TariffStatus.ERROR:
                placeholders = name | {"element": element_name.replace("_", " ")}
                issues.append(
                    Issue(
                        f"tariff_error_{element_name}",
                        ir.IssueSeverity.ERROR,
                        placeholders,
                        translation_key="tariff_error",
                    )
                )
        imported = status.commodity_import
        end = imported.tariff.contract_end_date if imported and imported.tariff else None
        if end is not None and now <= end <= now + CONTRACT_ENDING_WITHIN:
            date = dt_util.as_local(end).date().isoformat()
            issues.append(Issue("contract_ending", ir.IssueSeverity.WARNING, name | {"date": date}))
    return issues


@callback
def async_follow_issues(hass: HomeAssistant, entry: FlatpeakConfigEntry) -> None:
    """Keep the entry's issues in line with every fetch and with the dispatch."""
    data = entry.runtime_data
    update = partial(async_update_issues, hass, entry)
    for coordinator in data.coordinators:
        entry.async_on_unload(coordinator.async_add_refresh_listener(update))
    entry.async_on_unload(data.dispatch.async_add_listener(update))
    update()


def _issue_id(entry: FlatpeakConfigEntry, key: str) -> str:
    return f"{entry.entry_id}_{key}"


@callback
def async_update_issues(hass: HomeAssistant, entry: FlatpeakConfigEntry) -> None:
    """Make the entry's repair issues match what its coordinators know now."""
    wanted = {
        _issue_id(entry, issue.key): issue
        for issue in wanted_issues(entry.runtime_data, entry.title, dt_util.utcnow())
    }
    for issue_id, issue in wanted.items():
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=issue.severity,
            translation_key=issue.translation_key or issue.key,
            translation_placeholders=issue.placeholders,
        )
    async_delete_issues(hass, entry, keep=set(wanted))


@callback
def async_delete_issues(
    hass: HomeAssistant, entry: FlatpeakConfigEntry, keep: set[str] | None = None
) -> None:
    """Delete the entry's issues, except those to keep."""
    registry = ir.async_get(hass)
    prefix = f"{entry.entry_id}_"
    for domain, issue_id in list(registry.issues):
        if domain == DOMAIN and issue_id.startswith(prefix) and issue_id not in (keep or set()):
            ir.async_delete_issue(hass, DOMAIN, issue_id)
