"""Constants of the Flatpeak integration.

Free of Home Assistant imports, so that the pure modules (schedule, dispatch
plan) can share them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
import logging
from typing import Any, Final

from .api import MAX_RETRY_AFTER as MAX_RETRY_AFTER_SECONDS

DOMAIN: Final = "flatpeak"
LOGGER = logging.getLogger(__package__)

# Home Assistant's platform names (its Platform enum holds the same strings).
PLATFORMS: Final = ("binary_sensor", "calendar", "event", "number", "sensor")

# The config entry is the account: its data (CONF_API_KEY and CONF_URL come from
# homeassistant.const).
CONF_ACCOUNT_ID: Final = "account_id"

# Each Flatpeak device of the account is a config subentry of this type: its data.
SUBENTRY_DEVICE: Final = "device"
CONF_DEVICE_ID: Final = "device_id"
CONF_LOCATION_ID: Final = "location_id"
# The battery's state-of-charge entity, one of the device's settings.
CONF_SOC_ENTITY: Final = "soc_entity"

# The units a form shows a whole number in (as Home Assistant writes them), and the
# duration of one of each.
MINUTES: Final = "min"
HOURS: Final = "h"
PERCENT: Final = "%"
_DURATION_OF: Final = {MINUTES: timedelta(minutes=1), HOURS: timedelta(hours=1)}


@dataclass(frozen=True, slots=True)
class Option:
    """A whole number a user sets in a form: its key, default, range and unit.

    The forms show it, its unit and its range from here, and the code that uses
    it reads it through `value` or `duration`: one statement of each option.
    """

    key: str
    default: int
    minimum: int
    maximum: int
    unit: str = PERCENT

    def accepts(self, value: object) -> bool:
        """Say whether a form's value is a whole number within the range."""
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and float(value).is_integer()
            and self.minimum <= value <= self.maximum
        )

    def value(self, data: Mapping[str, Any]) -> int:
        """Return the option's value in data (the default when absent), within its range."""
        value = data.get(self.key)
        if value is None:
            return self.default
        return min(max(round(float(value)), self.minimum), self.maximum)

    @property
    def default_duration(self) -> timedelta:
        """Return the default as a duration."""
        return self.duration({})

    def duration(self, data: Mapping[str, Any]) -> timedelta:
        """Return the option's value as a duration."""
        if (step := _DURATION_OF.get(self.unit)) is None:
            raise TypeError(f"{self.key} is not a duration")
        return step * self.value(data)

    @property
    def range_text(self) -> str:
        """Return the range as a form's description names it: `5-240 min`, with an en dash.

        The dash reads as "from … to" in every language the forms are shown in.
        """
        return f"{self.minimum}\u2013{self.maximum} {self.unit}"


# The entry's options, in the order the options form shows them.
SCHEDULE_HORIZON: Final = Option("schedule_horizon", 24, 1, 72, HOURS)
SCHEDULE_INTERVAL: Final = Option("schedule_interval", 30, 5, 240, MINUTES)
# The tariff status rarely changes: every 6 hours, sooner when a fetch meets a tariff problem.
STATUS_INTERVAL: Final = Option("status_interval", 360, 15, 1440, MINUTES)
DEVICE_INTERVAL: Final = Option("device_interval", 24, 1, 168, HOURS)
LEAD_TIME: Final = Option("lead_time", 15, 0, 240, MINUTES)
# How often the prices held are checked for coverage (no request); see PRICE_MARGIN.
PRICE_INTERVAL: Final = Option("price_interval", 60, 15, 1440, MINUTES)
OPTIONS: Final = (
    SCHEDULE_HORIZON,
    SCHEDULE_INTERVAL,
    STATUS_INTERVAL,
    DEVICE_INTERVAL,
    LEAD_TIME,
    PRICE_INTERVAL,
)

# How far ahead prices are fetched: enough for the next change and tomorrow's plan.
PRICE_HORIZON: Final = timedelta(hours=48)
# Prices are fetched again once those held end less than this far ahead: about once a
# day, yet with a day's margin for the entities, the savings and a failing Flatpeak.
PRICE_MARGIN: Final = timedelta(hours=24)

# Flatpeak asks not to retry its tariff problems more often than every 15 minutes.
TARIFF_PROBLEM_RETRY: Final = timedelta(minutes=15)

# A Retry-After longer than the client's cap (a day) is capped: honouring "come back in
# a year" would silently stop the integration (and a huge value does not fit a timedelta).
MAX_RETRY_AFTER: Final = timedelta(seconds=MAX_RETRY_AFTER_SECONDS)


# A request held back by a Retry-After is tried again this long after the
# deadline: Home Assistant's polling timers may fire up to a second early.
RETRY_AFTER_MARGIN: Final = timedelta(seconds=2)


def stored_deadline(value: object, now: datetime) -> datetime | None:
    """Read a stored Retry-After deadline: None if absent, unreadable or past.

    One further than MAX_RETRY_AFTER ahead (a clock set back, an edited store)
    is brought back to now + MAX_RETRY_AFTER.
    """
    if not isinstance(value, str):
        return None
    try:
        deadline = datetime.fromisoformat(value)
    except ValueError:
        return None
    if deadline.tzinfo is None or deadline <= now:
        return None
    return min(deadline, now + MAX_RETRY_AFTER)


# Failed fetches are retried after 1, 2, 4 … minutes, at most the normal interval.
FIRST_RETRY: Final = timedelta(minutes=1)


def retry_delay(
    failures: int,
    cap: timedelta,
    retry_after: float | None = None,
    first: timedelta = FIRST_RETRY,
) -> timedelta:
    """Return how long to wait after consecutive failures: first, twice that, … up to cap.

    A Retry-After the server sent is waited at least, up to MAX_RETRY_AFTER.
    """
    delay = min(first * (1 << min(max(failures, 1) - 1, 16)), cap)
    if retry_after:
        asked = timedelta(seconds=min(retry_after, MAX_RETRY_AFTER.total_seconds()))
        delay = max(delay, asked)
    return delay


# Spread of each fetch interval, so that many installations do not call at once.
JITTER_FRACTION: Final = 0.1
