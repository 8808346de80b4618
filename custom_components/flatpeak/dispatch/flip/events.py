"""Flip's events of one dispatch, exactly once: created, adopted, cancelled, withdrawn.

Exactly once, across restarts, retries and crashes:
- before a create is sent, its content is saved as an *intent*; once Flip has
  answered, the event ID replaces the intent. A crash between the request and
  the save leaves the intent behind.
- on start-up, and whenever an answer was lost (a timeout, a 5xx, an
  unreadable body), Flip's events are listed once before anything else, and
  the events that match an intent or a wanted window exactly are adopted,
  instead of being created again.

Only events this integration dispatched are ever cancelled: those in the
store, which holds what it created, what its intents prove it sent, and what
it adopted because it matched a wanted window exactly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Collection
from datetime import datetime
from typing import Any

from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from ...api import (
    ApiError,
    AuthenticationError,
    FlipClient,
    FlipEvent,
    InvalidIdError,
    NotFoundError,
    RequestError,
)
from ...const import LOGGER
from .errors import may_have_happened
from .plan import ORIGIN_WINDOW, Dispatched, EventKey
from .store import DispatchStore, Intent

# How long withdrawing every event may take, when a dispatch or an entry is removed.
WITHDRAW_TIMEOUT = 60


def flip_client(hass: HomeAssistant, data: Any) -> FlipClient:
    """Return a Flip client for a dispatch's key and URL."""
    return FlipClient(async_get_clientsession(hass), data[CONF_API_KEY], base_url=data[CONF_URL])


class FlipEvents:
    """The events one dispatch holds in Flip, kept in its store, each sent once."""

    def __init__(self, client: FlipClient, store: DispatchStore) -> None:
        """Work through client, keeping what is sent in store."""
        self.client = client
        self.store = store
        # Listed before the first change, and again after an answer was lost.
        self.needs_listing = True
        # Refusals of the key in a row: a few call for a repair.
        self.auth_failures = 0
        if store.not_before is not None:
            client.hold_until(store.not_before)

    async def _call[T](self, request: Awaitable[T]) -> T:
        """Make one request, counting the key's refusals in a row."""
        try:
            answer = await request
        except AuthenticationError:
            self.auth_failures += 1
            raise
        self.auth_failures = 0
        return answer

    @property
    def must_list(self) -> bool:
        """Say whether Flip must be listed before anything is sent."""
        return self.needs_listing or bool(self.store.intents)

    async def async_sync(self, wanted: Collection[EventKey], now: datetime) -> None:
        """Catch up with Flip: list its events once and adopt what is ours."""
        listed = await self._call(self.client.list_events())
        events = self.store.events
        present = {event.id for event in listed}
        for event_id in [event_id for event_id in events if event_id not in present]:
            # Cancelled in Flip by someone else, or ended and no longer listed.
            del events[event_id]
        free: dict[EventKey, list[FlipEvent]] = {}
        for event in listed:
            key = EventKey.of_event(event)
            if event.id not in events and key is not None and key.ends_at > now:
                free.setdefault(key, []).append(event)

        def adopt(key: EventKey, origin: str) -> None:
            if candidates := free.get(key):
                event = candidates.pop(0)
                LOGGER.debug("Adopting Flip event %s", event.id)
                events[event.id] = Dispatched(event.id, key, origin)

        for intent in self.store.intents:
            adopt(intent.key, intent.origin)
        self.store.intents.clear()
        mapped = {item.key for item in events.values()}
        for key in wanted:
            if key not in mapped:
                adopt(key, ORIGIN_WINDOW)
        self.needs_listing = False
        await self.store.async_save()

    async def async_create(self, key: EventKey, origin: str) -> Dispatched:
        """Create one event, saving the intent before and the event ID after."""
        intent = Intent(key, origin)
        self.store.intents.append(intent)
        await self.store.async_save()
        try:
            event = await self._call(
                self.client.create_event(
                    program_id=key.program_id,
                    target_type=key.target_type,
                    target_ids=key.target_ids,
                    actions=[key.action()],
                )
            )
        except ApiError as err:
            if may_have_happened(err):
                self.needs_listing = True  # the intent stays until Flip is listed
            else:
                self.store.intents.remove(intent)
                await self.store.async_save()
            raise
        item = Dispatched(event.id, key, origin)
        self.store.events[event.id] = item
        self.store.intents.remove(intent)
        await self.store.async_save()
        LOGGER.debug("Dispatched Flip event %s from %s", event.id, key.starts_at.isoformat())
        return item

    async def async_cancel(self, item: Dispatched) -> None:
        """Cancel one event; one Flip no longer has, or that has ended, is forgotten."""
        try:
            await self._call(self.client.cancel_event(item.event_id))
        except (NotFoundError, InvalidIdError):
            pass
        except RequestError as err:
            if err.status != 409:  # 409: it completed meanwhile
                raise
        self.store.events.pop(item.event_id, None)
        await self.store.async_save()

    async def async_withdraw(self, now: datetime) -> None:
        """Cancel every event not yet ended, then delete the store if nothing is left."""
        self.store.forget_ended(now)
        try:
            async with asyncio.timeout(WITHDRAW_TIMEOUT):
                for item in list(self.store.events.values()):
                    try:
                        await self.async_cancel(item)
                    except ApiError as err:
                        LOGGER.warning("Could not cancel Flip event %s: %s", item.event_id, err)
        except TimeoutError:
            LOGGER.warning("Withdrawing the Flip events took too long; some may remain")
        if not self.store.events and not self.store.intents:
            await self.store.async_remove()

    async def async_keep_hold(self) -> None:
        """Save Flip's Retry-After deadline, if it is new, so that a restart keeps it."""
        deadline = self.client.not_before
        if deadline is not None and deadline != self.store.not_before:
            self.store.not_before = deadline
            await self.store.async_save()
