"""The answers Flatpeak sent, kept across restarts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import DOMAIN, stored_deadline

STORAGE_VERSION = 1
# The cache's record of the Retry-After deadline (not a kind of answer).
RETRY_AFTER_KEY = "retry_after"


class ResponseCache:
    """The last good answer of each kind, kept across restarts.

    Answers are stored as the documents Flatpeak sent and read back through
    the same parsers, so the cache can never hold what the API could not.
    With them is kept the last Retry-After deadline of the entry's client,
    so that a restart does not call Flatpeak before it has passed.
    """

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Open the entry's store."""
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}"
        )
        self._documents: dict[str, Any] = {}

    async def async_load(self) -> None:
        """Read what was stored; a missing or unreadable store is empty."""
        stored = await self._store.async_load()
        self._documents = stored if isinstance(stored, dict) else {}

    def get(self, kind: str) -> tuple[Any, datetime | None]:
        """Return a stored document and when it was fetched, or (None, None)."""
        entry = self._documents.get(kind)
        if not isinstance(entry, dict):
            return None, None
        return entry.get("document"), dt_util.parse_datetime(str(entry.get("fetched", "")))

    def not_before(self, now: datetime) -> datetime | None:
        """Return the stored Retry-After deadline if it is still ahead, capped at a day."""
        held = self._documents.get(RETRY_AFTER_KEY)
        return stored_deadline(held.get("until") if isinstance(held, dict) else None, now)

    @callback
    def hold(self, deadline: datetime) -> None:
        """Keep a Retry-After deadline; written with the answers."""
        self._documents[RETRY_AFTER_KEY] = {"until": deadline.isoformat()}
        self._store.async_delay_save(lambda: self._documents, 2)

    @callback
    def remember(self, kind: str, document: Any, fetched: datetime) -> None:
        """Keep a document; writes are batched."""
        self._documents[kind] = {"document": document, "fetched": fetched.isoformat()}
        self._store.async_delay_save(lambda: self._documents, 2)

    async def async_flush(self) -> None:
        """Write what is pending now, so that an unload or restart loses nothing."""
        if self._documents:
            await self._store.async_save(self._documents)

    async def async_remove(self) -> None:
        """Delete the store, when the entry is removed."""
        await self._store.async_remove()
