"""The kinds of dispatch target: a new kind is listed here, and nowhere else in the code.

A kind lives in a folder of its own beside `flip/`. Beyond its folder it adds
only its line here, its words (translations/en.json) and its icons
(icons.json): the services, repairs, diagnostics, sensors and flows find it
through `TARGETS`.
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry, ConfigSubentry

from ..const import CONF_DEVICE_ID
from .flip import FLIP
from .target import TargetKind

TARGETS: dict[str, TargetKind] = {kind.subentry_type: kind for kind in (FLIP,)}


def dispatch_subentry(
    entry: ConfigEntry, device_id: str
) -> tuple[ConfigSubentry, TargetKind] | None:
    """Return the dispatch subentry of one of the account's devices and its kind, if any."""
    for subentry in entry.subentries.values():
        kind = TARGETS.get(subentry.subentry_type)
        if kind is not None and subentry.data.get(CONF_DEVICE_ID) == device_id:
            return subentry, kind
    return None
