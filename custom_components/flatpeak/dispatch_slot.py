"""The Flip dispatch of a running entry: added, changed and removed without a reload.

The dispatch is a config subentry, which the user adds, reconfigures and
removes while the entry runs. The slot holds the dispatcher that matches it:
it starts one for a new dispatch, replaces it when the settings change, and
stops it (withdrawing its events) when the dispatch is removed. The entry's
other entities are not touched; whoever reads the dispatcher follows the slot,
and is told when the dispatcher comes, goes or changes what it holds.
"""

from __future__ import annotations

import asyncio

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback

from .const import LOGGER
from .coordinator import ScheduleCoordinator
from .dispatcher import FlipDispatcher, flip_subentry
from .flip_events import FlipEvents, flip_client
from .flip_store import DispatchStore
from .listeners import Listeners


class DispatchSlot:
    """The entry's Flip dispatcher in force, if it has a dispatch."""

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, schedule: ScheduleCoordinator
    ) -> None:
        """Prepare an empty slot; `async_apply` fills it."""
        self._hass = hass
        self._entry = entry
        self._schedule = schedule
        # One store for every dispatcher of the entry, read once: a replaced
        # dispatcher has saved all it sent before the next one starts.
        self._store = DispatchStore(hass, entry.entry_id)
        self._store_loaded = False
        self._lock = asyncio.Lock()
        self._listeners = Listeners("Flip dispatch")
        self._unsub_dispatcher: CALLBACK_TYPE | None = None
        self._closed = False
        self.dispatcher: FlipDispatcher | None = None

    async def async_apply(self) -> None:
        """Start, replace or stop the dispatcher, to match the entry's Flip dispatch now."""
        async with self._lock:
            subentry = flip_subentry(self._entry)
            if self._closed or self._matches(subentry):
                return
            await self._async_stop_dispatcher()
            if subentry is not None:
                self.dispatcher = await self._async_start_dispatcher(subentry)
            self._listeners.notify()

    async def async_unload(self) -> None:
        """Stop the dispatcher with the entry; what it dispatched stays in Flip."""
        async with self._lock:
            self._closed = True
            await self._async_stop_dispatcher()

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call update when the dispatcher comes, goes, or changes what it holds."""
        return self._listeners.add(update)

    def _matches(self, subentry: ConfigSubentry | None) -> bool:
        dispatcher = self.dispatcher
        if dispatcher is None or subentry is None:
            return dispatcher is None and subentry is None
        return dispatcher.subentry_id == subentry.subentry_id and dispatcher.subentry_data == dict(
            subentry.data
        )

    async def _async_start_dispatcher(self, subentry: ConfigSubentry) -> FlipDispatcher | None:
        try:
            client = flip_client(self._hass, subentry.data)
        except ValueError as err:  # the flow checks the URL; a hand-edited one may be wrong
            LOGGER.error("The Flip dispatch of %s cannot start: %s", self._entry.title, err)
            return None
        if not self._store_loaded:
            await self._store.async_load()
            self._store_loaded = True
        dispatcher = FlipDispatcher(
            self._hass, self._entry, subentry, self._schedule, FlipEvents(client, self._store)
        )
        self._unsub_dispatcher = dispatcher.async_add_listener(self._listeners.notify)
        dispatcher.async_start()
        return dispatcher

    async def _async_stop_dispatcher(self) -> None:
        dispatcher, self.dispatcher = self.dispatcher, None
        if dispatcher is None:
            return
        if self._unsub_dispatcher is not None:
            self._unsub_dispatcher()
            self._unsub_dispatcher = None
        await dispatcher.async_stop()
