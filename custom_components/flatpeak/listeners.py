"""Telling listeners one by one, so that one failing never leaves the others stale.

Home Assistant calls a coordinator's listeners in turn, and the first that
raises stops the rest: at a window boundary, an entity that cannot compute its
state would keep every entity after it showing the previous window.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from homeassistant.core import callback
from homeassistant.helpers.entity import Entity

from .const import LOGGER

# When each listener hears of a boundary, lowest first, each stage on a later turn of
# the event loop: what automations switch on (the charging window) before what else
# changes at the edge (the calendar, the power, the lead time), before everything else.
SWITCH = 0
FOLLOW = 1
LATER = 2


def boundary_stage(listener: Callable[[], None]) -> int:
    """Return the stage of a listener: its entity's `boundary_stage`, else LATER."""
    stage = getattr(getattr(listener, "__self__", None), "boundary_stage", LATER)
    return stage if isinstance(stage, int) else LATER


def listener_name(listener: Callable[[], None]) -> str:
    """Name a listener for the log: the entity it updates, or the function."""
    owner = getattr(listener, "__self__", None)
    if isinstance(owner, Entity) and owner.entity_id:
        return owner.entity_id
    name = getattr(listener, "__qualname__", None) or repr(listener)
    return name if owner is None else f"{type(owner).__name__}.{listener.__name__}"


class ListenerGuard:
    """Calls each listener on its own, and logs each failing one once.

    A listener that raises is logged with its traceback the first time, then
    quietly skipped at every later call until it succeeds again (boundaries
    come every few minutes; the same traceback each time would drown the log).
    """

    def __init__(self, source: str) -> None:
        """Guard the listeners of source, named in the log."""
        self._source = source
        self._failing: set[str] = set()

    @callback
    def notify(self, listeners: Iterable[Callable[[], None]]) -> None:
        """Call every listener, whatever the others do."""
        for listener in list(listeners):
            try:
                listener()
            except Exception:  # noqa: BLE001  (any failure: the others must still be told)
                self._failed(listener)
            else:
                if self._failing:
                    self._recovered(listener)

    def _failed(self, listener: Callable[[], None]) -> None:
        name = listener_name(listener)
        if name in self._failing:
            return
        self._failing.add(name)
        LOGGER.exception(
            "Updating %s from the Flatpeak %s failed; the others were updated, "
            "and this is logged again only after it has worked once",
            name,
            self._source,
        )

    def _recovered(self, listener: Callable[[], None]) -> None:
        name = listener_name(listener)
        if name in self._failing:
            self._failing.discard(name)
            LOGGER.info("Updating %s from the Flatpeak %s works again", name, self._source)


class Listeners:
    """The callbacks that follow one source, told one by one through a ListenerGuard."""

    def __init__(self, source: str) -> None:
        """Start with no listener."""
        self._listeners: list[Callable[[], None]] = []
        self._guard = ListenerGuard(source)

    @callback
    def add(self, update: Callable[[], None]) -> Callable[[], None]:
        """Call update at every notice; return the way to stop."""
        self._listeners.append(update)
        return lambda: self._listeners.remove(update)

    @callback
    def notify(self) -> None:
        """Call every listener, whatever the others do."""
        self._guard.notify(self._listeners)
