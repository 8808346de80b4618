"""What a Flip dispatch keeps across restarts: its events, its intents, its cancellations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ...const import DOMAIN, LOGGER, stored_deadline
from .plan import ORIGIN_ACTION, ORIGIN_WINDOW, Dispatched, EventKey

STORAGE_VERSION = 1


@dataclass(frozen=True, slots=True)
class Intent:
    """A create about to be sent: proof, after a crash, that the event is ours."""

    key: EventKey
    origin: str

    def to_json(self) -> dict[str, Any]:
        """Return the intent as stored."""
        return {"origin": self.origin, "key": self.key.to_json()}

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Read a stored intent; raise ValueError if it is not one."""
        if not isinstance(data, dict) or data.get("origin") not in (ORIGIN_WINDOW, ORIGIN_ACTION):
            raise ValueError("a stored intent has no valid origin")
        return cls(EventKey.from_json(data.get("key")), data["origin"])


class DispatchStore:
    """What was dispatched, what is being dispatched, and what the user cancelled."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Open the store of one entry's dispatch."""
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.dispatch"
        )
        self.events: dict[str, Dispatched] = {}
        self.intents: list[Intent] = []
        self.cancelled: set[EventKey] = set()
        # Until when Flip asked not to be called (Retry-After).
        self.not_before: datetime | None = None

    async def async_load(self) -> None:
        """Read what was stored, leaving out (and logging) what cannot be read."""
        stored = await self._store.async_load()
        if not isinstance(stored, dict):
            return
        self.not_before = stored_deadline(stored.get("not_before"), dt_util.utcnow())
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
                    self.events[value.event_id] = value
                elif isinstance(value, Intent):
                    self.intents.append(value)
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
        """Forget events and cancellations whose time has passed.

        Not written at once: an ended event read back is forgotten again, and
        a delayed write could land after a newer dispatcher's after a reload.
        """
        for event_id in [i.event_id for i in self.events.values() if i.key.ends_at <= now]:
            del self.events[event_id]
        self.cancelled = {key for key in self.cancelled if key.ends_at > now}
