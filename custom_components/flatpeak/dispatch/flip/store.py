"""What a Flip dispatch keeps across restarts: its events, its intents, its cancellations."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ...const import DOMAIN, LOGGER, stored_deadline
from .plan import Dispatched, EventKey, Intent

STORAGE_VERSION = 1


def store_key(entry_id: str, device_id: str) -> str:
    """Return the storage key of the dispatch of one of an account's devices."""
    return f"{DOMAIN}.{entry_id}.dispatch.{device_id}"


class DispatchStore:
    """What was dispatched, what is being dispatched, and what the user cancelled."""

    def __init__(self, hass: HomeAssistant, entry_id: str, device_id: str) -> None:
        """Open the store of the dispatch of one of an account's devices."""
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, store_key(entry_id, device_id)
        )
        self.events: dict[str, Dispatched] = {}
        self.intents: list[Intent] = []
        self.cancelled: set[EventKey] = set()
        # Until when Flip asked not to be called (Retry-After).
        self.not_before: datetime | None = None

    async def async_load(self) -> None:
        """Read what was stored, leaving out (and logging) what cannot be read.

        A creation or sending time that is unknown (a store of an earlier
        version) or ahead of the clock (a clock set back) counts from now: what
        Flip may not list yet is neither forgotten nor sent again before it
        has had the settle time to appear.
        """
        stored = await self._store.async_load()
        if not isinstance(stored, dict):
            return
        now = dt_util.utcnow()
        self.not_before = stored_deadline(stored.get("not_before"), now)
        for name, reader in (
            ("events", Dispatched.from_json),
            ("intents", Intent.from_json),
            ("cancelled", EventKey.from_json),
        ):
            items = stored.get(name)
            for item in items if isinstance(items, list) else ():
                try:
                    value = reader(item)
                except ValueError as err:
                    LOGGER.warning("Ignoring a stored Flip dispatch record: %s", err)
                    continue
                if isinstance(value, Dispatched):
                    created_at = _no_later(value.created_at, now)
                    self.events[value.event_id] = replace(value, created_at=created_at)
                elif isinstance(value, Intent):
                    self.intents.append(replace(value, sent_at=_no_later(value.sent_at, now)))
                elif isinstance(value, EventKey):
                    self.cancelled.add(value)

    def as_json(self) -> dict[str, Any]:
        """Return what is kept, as stored."""
        return {
            "events": [item.to_json() for item in self.events.values()],
            "intents": [intent.to_json() for intent in self.intents],
            "cancelled": [key.to_json() for key in self.cancelled],
            "not_before": self.not_before.isoformat() if self.not_before else None,
        }

    async def async_save(self) -> None:
        """Write now: a create or a cancel must not be forgotten."""
        await self._store.async_save(self.as_json())

    async def async_remove(self) -> None:
        """Delete the store."""
        await self._store.async_remove()

    def forget_ended(self, now: datetime) -> None:
        """Forget events, intents and cancellations whose time has passed.

        Not written at once: an ended event read back is forgotten again, and
        a delayed write could land after a newer dispatcher's after a reload.
        """
        for event_id in [i.event_id for i in self.events.values() if i.key.ends_at <= now]:
            del self.events[event_id]
        self.intents = [intent for intent in self.intents if intent.key.ends_at > now]
        self.cancelled = {key for key in self.cancelled if key.ends_at > now}


def _no_later(moment: datetime | None, now: datetime) -> datetime:
    """Return a stored instant, or now when it is unknown or later."""
    return now if moment is None or moment > now else moment
