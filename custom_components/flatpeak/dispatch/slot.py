"""The dispatch of one running device: added, changed and removed without a reload.

A dispatch is a config subentry that names its device, which the user adds,
reconfigures and removes while the account runs. The slot holds the target that matches it: it
starts one for a new dispatch, replaces it when the settings change, and stops
it (withdrawing its events) when the dispatch is removed. The entry's other
entities are not touched; whoever reads the target follows the slot, and is
told when the target comes, goes or changes what it holds.
"""

from __future__ import annotations

import asyncio

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback

from ..coordinator import ScheduleCoordinator
from ..listeners import Listeners
from .target import DispatchTarget, TargetKind
from .targets import dispatch_subentry


class DispatchSlot:
    """A device's dispatch target in force, if it has a dispatch."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        device_id: str,
        schedule: ScheduleCoordinator,
    ) -> None:
        """Prepare an empty slot for the device; `async_apply` fills it."""
        self._hass = hass
        self._entry = entry
        self.device_id = device_id
        self._schedule = schedule
        self._lock = asyncio.Lock()
        self._listeners = Listeners("dispatch")
        self._unsub_target: CALLBACK_TYPE | None = None
        self._closed = False
        self.target: DispatchTarget | None = None
        self.kind: TargetKind | None = None

    async def async_apply(self) -> None:
        """Start, replace or stop the target, to match the device's dispatch now."""
        async with self._lock:
            found = dispatch_subentry(self._entry, self.device_id)
            if self._closed or self._matches(found[0] if found else None):
                return
            await self._async_stop_target()
            if found is not None:
                subentry, kind = found
                self.target = await kind.async_start(
                    self._hass, self._entry, subentry, self._schedule
                )
                if self.target is not None:
                    self.kind = kind
                    self._unsub_target = self.target.async_add_listener(self._listeners.notify)
            self._listeners.notify()

    async def async_unload(self) -> None:
        """Stop the target with the device; what it dispatched stays dispatched."""
        async with self._lock:
            self._closed = True
            await self._async_stop_target()

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call update when the target comes, goes, or changes what it holds."""
        return self._listeners.add(update)

    def _matches(self, subentry: ConfigSubentry | None) -> bool:
        target = self.target
        if target is None or subentry is None:
            return target is None and subentry is None
        return target.subentry_id == subentry.subentry_id and target.subentry_data == dict(
            subentry.data
        )

    async def _async_stop_target(self) -> None:
        target, self.target, self.kind = self.target, None, None
        if target is None:
            return
        if self._unsub_target is not None:
            self._unsub_target()
            self._unsub_target = None
        await target.async_stop()
