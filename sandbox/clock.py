"""The sandbox clock: fixed for tests, or the wall clock shifted by an offset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def _require_aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("the sandbox clock needs a timezone-aware datetime")
    return moment.astimezone(UTC)


class Clock:
    """Time as the simulated clouds see it.

    Given a start time the clock stands still until it is set or advanced, so a
    test decides exactly when time passes. Without one it follows the wall clock;
    `set` and `advance` then keep an offset, so time keeps running from there.
    """

    def __init__(self, now: datetime | None = None) -> None:
        """Create a fixed clock at `now`, or a running one when `now` is None."""
        self._fixed: datetime | None = None if now is None else _require_aware(now)
        self._offset = timedelta(0)

    @property
    def frozen(self) -> bool:
        """Return True when the clock only moves when told to."""
        return self._fixed is not None

    def now(self) -> datetime:
        """Return the current sandbox time, aware, in UTC."""
        if self._fixed is not None:
            return self._fixed
        return datetime.now(UTC) + self._offset

    def set(self, moment: datetime) -> None:
        """Jump to `moment`."""
        moment = _require_aware(moment)
        if self._fixed is not None:
            self._fixed = moment
        else:
            self._offset = moment - datetime.now(UTC)

    def advance(self, delta: timedelta) -> None:
        """Move the clock by `delta` (negative moves it back)."""
        if self._fixed is not None:
            self._fixed += delta
        else:
            self._offset += delta
