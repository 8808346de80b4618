"""A timer for the instants at which an answer's meaning changes, with no request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
import gc

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import event as event_helper
from homeassistant.helpers.event import async_track_point_in_utc_time, async_track_time_interval
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .const import LOGGER

CLOCK_CHECK_INTERVAL = timedelta(minutes=1)

# An asyncio timer runs up to a millisecond or two late: its selector waits in whole
# milliseconds. The timer for an instant is set this much ahead of it, and the last
# stretch is waited turn by turn of the event loop, which serves everything else
# meanwhile, so that the instant is passed within a few tens of microseconds.
# From then until every timer at the instant has passed it (a few milliseconds with
# many entries), garbage collection waits: a collection there, one to three
# milliseconds, would delay the switch. It runs right after.
AHEAD = timedelta(milliseconds=2)


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
        # The instants being approached, for which garbage collection waits.
        self._holding: set[datetime] = set()

    @callback
    def add(self, instant: datetime, timer: BoundaryTimer) -> CALLBACK_TYPE:
        """Pass timer's boundary at instant; return the way to cancel."""
        waiting = self._waiting.setdefault(instant, {})
        waiting[timer] = None
        if instant not in self._timers:
            self._timers[instant] = async_track_point_in_utc_time(
                self._hass, self._near, instant - AHEAD
            )
        return lambda: self._remove(instant, timer)

    @callback
    def _near(self, ahead: datetime) -> None:
        instant = ahead + AHEAD
        self._hold(instant)
        self._approach(instant, None)

    @callback
    def _hold(self, instant: datetime) -> None:
        if self._holding or gc.isenabled():  # (collections held off by others stay so)
            gc.disable()
            self._holding.add(instant)

    @callback
    def _release(self, instant: datetime) -> None:
        if instant in self._holding:
            self._holding.discard(instant)
            if not self._holding:
                gc.enable()

    @callback
    def _approach(self, instant: datetime, last: float | None) -> None:
        """Pass instant once the clock Home Assistant's timers read has reached it."""
        now = event_helper.time_tracker_timestamp()
        if now >= instant.timestamp():
            self._fire(instant)
        elif now == last or instant.timestamp() - now > 2 * AHEAD.total_seconds():
            # A clock that stands still (a test's) or went back: a timer for the instant.
            self._release(instant)
            self._timers[instant] = async_track_point_in_utc_time(self._hass, self._fire, instant)
        else:
            self._timers[instant] = self._hass.loop.call_soon(self._approach, instant, now).cancel

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
            self._release(instant)

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
        passing = [timer for timer in self._waiting.pop(instant, {}) if timer.fired(instant)]
        # What every timer switches comes before any looks up its next instant.
        self._hold(instant)
        try:
            for timer in passing:
                timer.pass_boundary()
        finally:
            self._release(instant)
        for timer in passing:
            timer.rearm()


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
        self.rearm()
        if due:
            self._on_pass()

    @callback
    def rearm(self) -> None:
        """Arm for the next boundary after now, replacing any earlier one."""
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
    def fired(self, instant: datetime) -> bool:
        """Take the firing of instant; False if the timer was since cancelled or re-armed.

        Once taken, no boundary is due until `rearm`.
        """
        if instant != self.next_boundary:
            return False
        self._unsub = None  # it has fired: nothing left to cancel
        self.next_boundary = None
        return True

    @callback
    def pass_boundary(self) -> None:
        """Do what the boundary calls for; a failure is logged, and the timer goes on."""
        try:
            self._on_pass()
        except Exception:  # noqa: BLE001  (the other timers at the instant must still pass)
            LOGGER.exception("Passing a boundary failed; the next one is still awaited")

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
