"""Writing one device's entities: after each new answer, and at each instant they declared.

Every entity says which answers it reads and at which instants its value moves
(a window's start or end, a price's change, a session's end). The writer
follows those answers and sets one timer for the next of those instants. Then,
in one callback, it writes every entity that is due, those that trigger
automations last: an automation started by the Charging window turning on
reads the new power, calendar and prices, already written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from typing import Any, Protocol

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .listeners import ListenerGuard
from .timer import InstantTimer

# The next instant after a moment at which something moves; None when nothing will.
type NextInstant = Callable[[datetime], datetime | None]


class Written(Protocol):
    """An entity the writer writes."""

    entity_id: str

    @property
    def reads(self) -> tuple[DataUpdateCoordinator[Any], ...]:
        """The coordinators whose answers it shows."""

    @property
    def changes_at(self) -> tuple[NextInstant, ...]:
        """When its value moves without a new answer."""

    @property
    def triggers(self) -> bool:
        """Automations are triggered by it: written after the device's other entities."""

    def handle_update(self) -> None:
        """Write the state for what the answers read say now."""


class StateWriter:
    """Writes a device's entities after each new answer and at each declared instant."""

    def __init__(
        self, hass: HomeAssistant, coordinators: Iterable[DataUpdateCoordinator[Any]]
    ) -> None:
        """Follow the device's coordinators; entities join with `add`."""
        self._entities: list[Written] = []
        self._next: dict[NextInstant, datetime | None] = {}
        self._guard = ListenerGuard("answers")
        self._timer = InstantTimer(hass, self._next_instant, self._at_instant)
        self._unsubs = [
            coordinator.async_add_listener(partial(self._updated, coordinator))
            for coordinator in coordinators
        ]

    @property
    def next_instant(self) -> datetime | None:
        """When the timer fires next."""
        return self._timer.next_instant

    @callback
    def add(self, entity: Written) -> CALLBACK_TYPE:
        """Write entity from now on; return the way to stop."""
        if entity.triggers:
            self._entities.append(entity)
        else:
            first_trigger = next(
                (index for index, known in enumerate(self._entities) if known.triggers),
                len(self._entities),
            )
            self._entities.insert(first_trigger, entity)
        self._timer.arm()

        @callback
        def remove() -> None:
            self._entities.remove(entity)

        return remove

    @callback
    def rewrite(self) -> None:
        """Write every entity, and set the timer again: what they show moves otherwise now."""
        self._write(list(self._entities))
        self._timer.arm()

    @callback
    def stop(self) -> None:
        """Stop following the coordinators and the instants."""
        self._timer.stop()
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()

    @callback
    def _updated(self, coordinator: DataUpdateCoordinator[Any]) -> None:
        """Write what reads a new answer, and whatever fell due meanwhile; set the timer."""
        due = self._due(dt_util.utcnow())
        self._write([e for e in self._entities if e in due or coordinator in e.reads])
        self._timer.arm()

    @callback
    def _at_instant(self, _instant: datetime) -> None:
        # Every instant passed by now: a timer that ran late may have passed several.
        due = self._due(dt_util.utcnow())
        self._write([entity for entity in self._entities if entity in due])

    def _due(self, moment: datetime) -> set[Written]:
        """Return the entities whose next instant, as last worked out, is by moment."""
        due = {
            fn for fn, instant in self._next.items() if instant is not None and instant <= moment
        }
        if not due:
            return set()
        return {entity for entity in self._entities if due.intersection(entity.changes_at)}

    def _next_instant(self, now: datetime) -> datetime | None:
        """Work out each declared instant after now; return the soonest."""
        self._next = {fn: fn(now) for entity in self._entities for fn in entity.changes_at}
        return min((instant for instant in self._next.values() if instant), default=None)

    @callback
    def _write(self, entities: list[Written]) -> None:
        """Write entities in order, each whatever the others do."""
        for entity in entities:
            self._guard.call(entity.entity_id, entity.handle_update)
