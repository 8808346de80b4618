"""Telling callbacks one by one, so that one failing never leaves the others stale.

Home Assistant calls a coordinator's listeners in turn, and the first that
raises stops the rest: at a window edge, an entity that cannot compute its
state would keep every entity after it showing the previous window.
"""

from __future__ import annotations

from collections.abc import Callable

from homeassistant.core import callback

from .const import LOGGER


class ListenerGuard:
    """Calls each callback on its own, and logs each failing one once.

    A callback that raises is logged with its traceback the first time, then
    quietly skipped at every later call until it succeeds again (edges come
    every few minutes; the same traceback each time would drown the log).
    """

    def __init__(self, source: str) -> None:
        """Guard the callbacks that follow source, named in the log."""
        self._source = source
        self._failing: set[str] = set()

    @callback
    def call(self, name: str, update: Callable[[], None]) -> None:
        """Call update, named name in the log; a failure is logged, not raised."""
        try:
            update()
        except Exception:  # noqa: BLE001  (any failure: the others must still be told)
            if name not in self._failing:
                self._failing.add(name)
                LOGGER.exception(
                    "Updating %s from the Flatpeak %s failed; the others were updated, "
                    "and this is logged again only after it has worked once",
                    name,
                    self._source,
                )
        else:
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
        """Call update at every notice; return the way to stop (which may be called again)."""
        self._listeners.append(update)

        def stop() -> None:
            if update in self._listeners:
                self._listeners.remove(update)

        return stop

    @callback
    def notify(self) -> None:
        """Call every listener, whatever the others do."""
        for update in list(self._listeners):
            self._guard.call(getattr(update, "__qualname__", repr(update)), update)
