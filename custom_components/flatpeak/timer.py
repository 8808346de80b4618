"""A timer for the instants at which an answer's meaning changes, with no request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_point_in_utc_time, async_track_time_interval
from homeassistant.util import dt as dt_util

CLOCK_CHECK_INTERVAL = timedelta(minutes=1)


class BoundaryTimer:
    """Calls back at each instant at which an answer's meaning changes, with no request.

    The next instant comes from `next_fn`; after it passes, `on_pass` runs and
    the timer arms itself for the one after. Timers run on the monotonic
    clock; if the wall clock jumps forward (a corrected clock, a resumed
    virtual machine), a one-minute local check fires a boundary already passed.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        next_fn: Callable[[datetime], datetime | None],
        on_pass: Callable[[], None],
    ) -> None:
        """Prepare the timer; `arm` starts it."""
        self.hass = hass
        self._next_fn = next_fn
        self._on_pass = on_pass
        self._unsub: CALLBACK_TYPE | None = None
        self._stopped = False
        self.next_boundary: datetime | None = None
        entry.async_on_unload(
            async_track_time_interval(hass, self._check_clock, CLOCK_CHECK_INTERVAL)
        )

    @callback
    def arm(self) -> None:
        """Set the timer for the next boundary after now, replacing any earlier one.

        A boundary that fell due before its timer ran (a refresh at the same
        instant re-arms first) is passed now rather than lost.
        """
        due = self.next_boundary is not None and dt_util.utcnow() >= self.next_boundary
        self._arm()
        if due:
            self._on_pass()

    @callback
    def _arm(self) -> None:
        self._cancel()
        if self._stopped:
            return
        boundary = self._next_fn(dt_util.utcnow())
        self.next_boundary = boundary
        if boundary is not None:
            self._unsub = async_track_point_in_utc_time(self.hass, self._at_boundary, boundary)

    @callback
    def stop(self) -> None:
        """Cancel the timer for good."""
        self._stopped = True
        self._cancel()

    @callback
    def _cancel(self) -> None:
        if self._unsub is not None:
            self._unsub()
            self._unsub = None
        self.next_boundary = None

    @callback
    def _at_boundary(self, _now: datetime) -> None:
        self._unsub = None  # it has fired: nothing left to cancel
        self._passed()

    @callback
    def _check_clock(self, _now: datetime) -> None:
        if self.next_boundary is not None and dt_util.utcnow() >= self.next_boundary:
            self._passed()  # re-arming cancels the timer that did not fire

    @callback
    def _passed(self) -> None:
        self._arm()
        self._on_pass()
