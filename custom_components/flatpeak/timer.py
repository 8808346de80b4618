"""A timer for the instants at which what an answer means changes: no request, no polling."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_point_in_utc_time, async_track_time_interval
from homeassistant.util import dt as dt_util

# Home Assistant's timers run on the monotonic clock: when the wall clock jumps
# forward (a corrected clock, a resumed virtual machine), an instant would pass
# unseen until its timer ran. A check this often passes it then.
CLOCK_CHECK_INTERVAL = timedelta(minutes=1)


class InstantTimer:
    """Calls back at each of a series of instants, one Home Assistant timer at a time.

    `next_fn(now)` gives the next instant after now; when it comes,
    `on_instant(instant)` runs and the timer arms itself for the one after.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        next_fn: Callable[[datetime], datetime | None],
        on_instant: Callable[[datetime], None],
    ) -> None:
        """Prepare the timer; `arm` starts it, `stop` ends it."""
        self._hass = hass
        self._next_fn = next_fn
        self._on_instant = on_instant
        self._unsub: CALLBACK_TYPE | None = None
        self._clock_check: CALLBACK_TYPE | None = None
        self._stopped = False
        self.next_instant: datetime | None = None

    @callback
    def arm(self) -> None:
        """Set the timer for the next instant after now, replacing the one set."""
        self._cancel()
        if self._stopped:
            return
        self.next_instant = self._next_fn(dt_util.utcnow())
        if self.next_instant is not None:
            self._unsub = async_track_point_in_utc_time(self._hass, self._fire, self.next_instant)
        if self._clock_check is None:
            self._clock_check = async_track_time_interval(
                self._hass, self._check_clock, CLOCK_CHECK_INTERVAL
            )

    @callback
    def stop(self) -> None:
        """Cancel the timer and its clock check, for good."""
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
        self.next_instant = None

    @callback
    def _fire(self, _now: datetime) -> None:
        instant, self._unsub = self.next_instant, None
        try:
            if instant is not None:
                self._on_instant(instant)
        finally:
            self.arm()

    @callback
    def _check_clock(self, _now: datetime) -> None:
        if self.next_instant is not None and dt_util.utcnow() >= self.next_instant:
            if self._unsub is not None:
                self._unsub()
            self._fire(self.next_instant)
