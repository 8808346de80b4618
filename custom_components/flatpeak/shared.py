"""What several config entries would otherwise fetch alike, fetched once.

Entries with the same credentials share one client, and so one bearer token.
Devices at the same location share its tariff status and prices: an answer
fetched for one of them is reused by the others for one interval, so a location
is asked about once an interval however many devices it has.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .api import FlatpeakClient

# (client, what, location): what a location's devices would each fetch alike.
type SharedKey = tuple[FlatpeakClient, str, str]


@dataclass
class Shared:
    """The clients, and the recent answers about locations, of all entries."""

    clients: dict[tuple[str, str, str], FlatpeakClient] = field(default_factory=dict)
    answers: dict[SharedKey, tuple[datetime, Any]] = field(default_factory=dict)
    fetching: dict[SharedKey, asyncio.Task[Any]] = field(default_factory=dict)


SHARED: HassKey[Shared] = HassKey("flatpeak_shared")


def _shared(hass: HomeAssistant) -> Shared:
    return hass.data.setdefault(SHARED, Shared())


def async_get_client(
    hass: HomeAssistant, url: str, account_id: str, api_key: str
) -> FlatpeakClient:
    """Return the client for these credentials, creating it the first time."""
    clients = _shared(hass).clients
    key = (url, account_id, api_key)
    if key not in clients:
        clients[key] = FlatpeakClient(
            async_get_clientsession(hass), account_id, api_key, base_url=url
        )
    return clients[key]


def forget_location_answer(
    hass: HomeAssistant, client: FlatpeakClient, what: str, location_id: str
) -> None:
    """Drop a shared answer about a location, so that the next fetch asks Flatpeak."""
    _shared(hass).answers.pop((client, what, location_id), None)


async def async_location_answer[T](
    hass: HomeAssistant,
    client: FlatpeakClient,
    what: str,
    location_id: str,
    max_age: timedelta,
    fetch: Callable[[], Coroutine[Any, Any, T]],
) -> T:
    """Return an answer about the location no older than max_age, fetching at most once.

    `what` names the kind of answer (the tariff status, the import prices …).
    A fetch already under way for the same answer is awaited rather than
    repeated, even when a remembered one is recent enough; a failed fetch is not remembered, so each entry backs off on its
    own.
    """
    shared = _shared(hass)
    key = (client, what, location_id)
    now = dt_util.utcnow()
    task = shared.fetching.get(key)
    # A fetch under way is newer than any answer remembered: someone found that too old.
    recent = None if task is not None else shared.answers.get(key)
    if recent is not None and now - recent[0] < max_age:
        answer: T = recent[1]
        return answer
    if task is None:
        task = hass.async_create_task(fetch(), f"flatpeak {what} {location_id}", eager_start=True)
        shared.fetching[key] = task
        task.add_done_callback(lambda _: shared.fetching.pop(key, None))
    result: T = await asyncio.shield(task)
    shared.answers[key] = (now, result)
    return result
