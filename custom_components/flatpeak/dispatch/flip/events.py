"""Flip's events of one dispatch, exactly once: created, adopted, cancelled, withdrawn.

Exactly once, across restarts, retries, crashes and a list that lags:
- before a create is sent, its content is saved as an *intent*, with when it
  was sent; once Flip has answered, the event ID replaces the intent. A crash
  between the request and the save leaves the intent behind.
- a create whose answer was lost (a timeout, a 5xx, an unreadable body) keeps
  its intent: its window is in flight, not sent again, until Flip is listed
  after the settle time (listing.py). Listed with it, the event is adopted;
  still missing, the create did not happen, and the window is sent again.
- on start-up Flip's events are listed once before anything else: the events
  that match an intent or a wanted window exactly are adopted, instead of
  being created again; a stored event Flip does not list yet is kept until its
  settle time has passed, and Flip is listed again then.
- twins of an event of ours that a listing shows are cancelled before they start.

Only events this integration dispatched are ever cancelled: those in the
store, which holds what it created, what its intents prove it sent, and what
it adopted because it matched a wanted window exactly, and their twins.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Collection
from datetime import datetime
from typing import Any

from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util import dt as dt_util

from ...api import (
    ApiError,
    AuthenticationError,
    FlipClient,
    InvalidIdError,
    NotFoundError,
    RequestError,
)
from ...const import LOGGER
from .errors import may_have_happened
from .listing import SETTLE_TIME, read_listing
from .plan import Dispatched, EventKey, Intent
from .store import DispatchStore

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
        # Listed before the first change.
        self.needs_listing = True
        # When Flip must be listed again, to settle what it did not list yet.
        self.list_again_at: datetime | None = None
        # Sent in time, but Flip did not create them: sent again until they start.
        self.resend: set[EventKey] = set()
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

    def listing_due(self, now: datetime) -> bool:
        """Say whether the settle time of something Flip did not list yet has passed."""
        return self.list_again_at is not None and now >= self.list_again_at

    def must_list(self, now: datetime) -> bool:
        """Say whether Flip must be listed before anything is sent."""
        return self.needs_listing or self.listing_due(now)

    @property
    def in_flight(self) -> set[EventKey]:
        """The keys of creates whose answer was lost: not sent again before they settle."""
        return {intent.key for intent in self.store.intents}

    def sent(self, now: datetime) -> set[EventKey]:
        """Return the keys sent in time: held, in flight, or to send again before they start.

        Their windows stay wanted however soon they start: the lead time was
        met when they were first sent.
        """
        held = {item.key for item in self.store.events.values()}
        return held | self.in_flight | {key for key in self.resend if key.starts_at > now}

    async def async_sync(self, wanted: Collection[EventKey], now: datetime) -> None:
        """Catch up with Flip: list its events once, adopt what is ours, cancel twins."""
        listed = await self._call(self.client.list_events())
        listing = read_listing(listed, self.store.events, self.store.intents, wanted, now)
        for intent in listing.given_up:
            LOGGER.info(
                "Flip did not create the event from %s whose answer was lost",
                intent.key.starts_at.isoformat(),
            )
        given_up = {intent.key for intent in listing.given_up}
        self.resend = {key for key in self.resend | given_up if key.starts_at > now}
        for event_id in listing.events.keys() - self.store.events.keys():
            LOGGER.debug("Adopting Flip event %s", event_id)
        self.store.events = listing.events
        self.store.intents = list(listing.intents)
        await self.store.async_save()
        for item in listing.duplicates:
            LOGGER.info(
                "Cancelling Flip event %s: it repeats an event of this dispatch", item.event_id
            )
            await self.async_cancel(item)
        # Only now: twins not cancelled yet are listed again at the next attempt.
        self.needs_listing = False
        self.list_again_at = listing.list_again_at

    async def async_create(self, key: EventKey, origin: str) -> Dispatched:
        """Create one event, saving the intent before and the event ID after."""
        sent_at = dt_util.utcnow()
        intent = Intent(key, origin, sent_at)
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
                # In flight: Flip is listed again once it must show the event.
                settles_at = sent_at + SETTLE_TIME
                if self.list_again_at is None or settles_at < self.list_again_at:
                    self.list_again_at = settles_at
            else:
                self.store.intents.remove(intent)
                await self.store.async_save()
            raise
        item = Dispatched(event.id, key, origin, dt_util.utcnow())
        self.store.events[event.id] = item
        self.store.intents.remove(intent)
        self.resend.discard(key)
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
