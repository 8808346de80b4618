"""A timer for the instants at which an answer's meaning changes, with no request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_point_in_utc_time, async_track_time_interval
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

CLOCK_CHECK_INTERVAL = timedelta(minutes=1)


class _Instants:
    """One Home Assistant timer per instant, shared by every BoundaryTimer waiting for it.

    Entries on the same windows wait for the same instants: one callback then
    passes the boundary of each, in the order they were armed, so that every
    entry's first work at the instant comes before any entry's later work.
    """

    def __init__(self, hass: HomeAssistant) -> None:
        self._hass = hass
        self._waiting: dict[datetime, dict[BoundaryTimer, None]] = {}
        self._timers: dict[datetime, CALLBACK_TYPE] = {}

    @callback
    def add(self, instant: datetime, timer: BoundaryTimer) -> CALLBACK_TYPE:
        """Pass timer's boundary at instant; return the way to cancel."""
        waiting = self._waiting.setdefault(instant, {})
        waiting[timer] = None
        if instant not in self._timers:
            self._timers[instant] = async_track_point_in_utc_time(self._hass, self._fire, instant)
        return lambda: self._remove(instant, timer)

    @callback
    def _remove(self, instant: datetime, timer: BoundaryTimer) -> None:
        waiting = self._waiting.get(instant)
        if waiting is None:
            return
        waiting.pop(timer, None)
        if not waiting:
            del self._waiting[instant]
            if (cancel := self._timers.pop(instant, None)) is not None:
                cancel()

    @callback
    def pass_now(self, instant: datetime) -> None:
        """Pass instant now, ahead of its timer, if it is still waited for."""
        if (cancel := self._timers.pop(instant, None)) is not None:
            cancel()
            self._fire(instant)

    @callback
    def _fire(self, instant: datetime) -> None:
        self._timers.pop(instant, None)
        # Taken out first: a timer passing the instant arms for the next one, which a
        # clock that has not reached this instant yet (under test) may find is this one.
        for timer in self._waiting.pop(instant, {}):
            timer.fired(instant)


_INSTANTS: HassKey[_Instants] = HassKey("flatpeak_boundary_instants")


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
        self._clock_check: CALLBACK_TYPE | None = async_track_time_interval(
            hass, self._check_clock, CLOCK_CHECK_INTERVAL
        )
        entry.async_on_unload(self.stop)

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
            self._unsub = self._instants.add(boundary, self)

    @property
    def _instants(self) -> _Instants:
        instants = self.hass.data.get(_INSTANTS)
        if instants is None:
            instants = self.hass.data[_INSTANTS] = _Instants(self.hass)
        return instants

    @callback
    def stop(self) -> None:
        """Cancel the timer and its clock check for good."""
        self._stopped = True
        self._cancel()
        if self._clock_check is not None:
            self._clock_check()
            self._clock_check = None

    @callback
    def _cancel(self) -> None:
        if self._unsub is not None:
            self._unsub()
            self._unsub = None
        self.next_boundary = None

    @callback
    def fired(self, instant: datetime) -> None:
        """Pass the boundary at instant, unless the timer was since cancelled or re-armed."""
        if instant != self.next_boundary:
            return
        self._unsub = None  # it has fired: nothing left to cancel
        self._passed()

    @callback
    def pass_due(self) -> None:
        """Pass the boundary now if it is due and its timer has not run yet.

        Every timer waiting for the same instant passes it with this one.
        """
        boundary = self.next_boundary
        if boundary is not None and dt_util.utcnow() >= boundary:
            self._instants.pass_now(boundary)

    @callback
    def _check_clock(self, _now: datetime) -> None:
        self.pass_due()

    @callback
    def _passed(self) -> None:
        self._arm()
        self._on_pass()
