"""Constants of the Flatpeak integration."""

from __future__ import annotations

from datetime import datetime, timedelta
import logging
from typing import Final

from homeassistant.const import Platform

DOMAIN: Final = "flatpeak"
LOGGER = logging.getLogger(__package__)

PLATFORMS: Final = [
    Platform.BINARY_SENSOR,
    Platform.CALENDAR,
    Platform.EVENT,
    Platform.NUMBER,
    Platform.SENSOR,
]

# Config entry data (CONF_API_KEY and CONF_URL come from homeassistant.const).
CONF_ACCOUNT_ID: Final = "account_id"
CONF_DEVICE_ID: Final = "device_id"
CONF_LOCATION_ID: Final = "location_id"

# Options, with their defaults and bounds.
CONF_SCHEDULE_HORIZON: Final = "schedule_horizon"  # hours
CONF_SCHEDULE_INTERVAL: Final = "schedule_interval"  # minutes
CONF_STATUS_INTERVAL: Final = "status_interval"  # minutes
CONF_DEVICE_INTERVAL: Final = "device_interval"  # hours
CONF_LEAD_TIME: Final = "lead_time"  # minutes
CONF_PRICE_INTERVAL: Final = "price_interval"  # minutes
CONF_SOC_ENTITY: Final = "soc_entity"  # the battery's state-of-charge entity

DEFAULT_SCHEDULE_HORIZON: Final = 24
DEFAULT_SCHEDULE_INTERVAL: Final = 30
DEFAULT_STATUS_INTERVAL: Final = 60
DEFAULT_DEVICE_INTERVAL: Final = 24
DEFAULT_LEAD_TIME: Final = 15
DEFAULT_PRICE_INTERVAL: Final = 60

MIN_SCHEDULE_HORIZON: Final = 1
MAX_SCHEDULE_HORIZON: Final = 72
MIN_SCHEDULE_INTERVAL: Final = 5
MAX_SCHEDULE_INTERVAL: Final = 240
MIN_STATUS_INTERVAL: Final = 15
MAX_STATUS_INTERVAL: Final = 1440
MIN_DEVICE_INTERVAL: Final = 1
MAX_DEVICE_INTERVAL: Final = 168
MIN_LEAD_TIME: Final = 0
MAX_LEAD_TIME: Final = 240
MIN_PRICE_INTERVAL: Final = 15
MAX_PRICE_INTERVAL: Final = 1440

# How far ahead prices are fetched: enough for the next change and tomorrow's plan.
PRICE_HORIZON: Final = timedelta(hours=48)

# Flatpeak asks not to retry these more often than every 15 minutes.
TARIFF_PROBLEM_CODES: Final = frozenset({"no_tariff_connected", "pending_connect", "no_price_data"})
TARIFF_PROBLEM_RETRY: Final = timedelta(minutes=15)

# A Retry-After longer than this is capped: honouring "come back in a year" would
# silently stop the integration (and a huge value does not fit a timedelta).
MAX_RETRY_AFTER: Final = timedelta(hours=24)


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
