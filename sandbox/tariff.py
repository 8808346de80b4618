"""Simulated tariff prices and the schedule-by-SoC computation.

Everything here is a pure function of its arguments: prices depend only on the
seed, the direction and the period, never on when they are asked for, so the
same question always gets the same answer.

Prices follow a time-of-use import tariff on the location's wall clock
(Europe/London): a cheap night from 00:30 to 05:30, a peak from 16:00 to 19:00
and a day rate otherwise, each moved by a few percent per half hour from a hash
of the seed and the period start (the "dynamic" part). Export is a flat rate.
Time is iterated in UTC, so 23-hour and 25-hour days need no special case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
import hashlib
from itertools import pairwise
import math
from typing import Literal
from zoneinfo import ZoneInfo

from .common import floor_to

type Direction = Literal["IMPORT", "EXPORT"]

LOCAL_TZ = ZoneInfo("Europe/London")
PERIOD = timedelta(minutes=30)

IMPORT_NIGHT = 0.075
IMPORT_DAY = 0.27
IMPORT_PEAK = 0.36
EXPORT_FLAT = 0.15
# Half the relative spread of the hashed half-hourly variation (±8 %).
VARIATION = 0.08

NIGHT_START = time(0, 30)
NIGHT_END = time(5, 30)
PEAK_START = time(16, 0)
PEAK_END = time(19, 0)

# Periods that start within this long from now are "confirmed" prices.
CONFIRMED_AHEAD = timedelta(hours=24)
FORECAST_CONFIDENCE = 0.8

# Sessions run until the device's departure at this local time.
DEPARTURE = time(7, 0)

DEFAULT_HORIZON_H = 24.0
MAX_HORIZON_H = 72.0

# Demo dips: (offset from start, length, price). The first slot begins about two
# minutes after the sandbox starts, and a second one follows soon after.
DEMO_DIPS: tuple[tuple[timedelta, timedelta, float], ...] = (
    (timedelta(minutes=2), timedelta(minutes=10), 0.012),
    (timedelta(minutes=20), timedelta(minutes=10), 0.018),
)

_EPSILON_WH = 1e-6


@dataclass(frozen=True)
class Availability:
    """When a device can take energy, on the location's wall clock.

    Each session ends at the next of the `ready_by` times (the device must be
    charged by then). Without `plug_in`, a session starts where the one
    before ended, so the device is always available; with it, a session
    starts no earlier than the last `plug_in` time before its end (an EV
    plugged in for the evening, gone in the morning).
    """

    ready_by: tuple[time, ...] = (DEPARTURE,)
    plug_in: time | None = None

    def __post_init__(self) -> None:
        """Refuse an availability with no session end."""
        if not self.ready_by:
            raise ValueError("an availability needs at least one ready_by time")


# A home battery: always available, charged by the morning departure.
ALWAYS_AVAILABLE = Availability()


@dataclass(frozen=True)
class PriceDip:
    """An import price override for [start, end), used to shape demo prices."""

    start: datetime
    end: datetime
    value: float


@dataclass(frozen=True)
class PriceModel:
    """Everything the prices depend on."""

    seed: int = 0
    tz: tzinfo = LOCAL_TZ
    dips: tuple[PriceDip, ...] = ()

    @classmethod
    def demo(cls, seed: int, start: datetime, tz: tzinfo = LOCAL_TZ) -> PriceModel:
        """Return a model with cheap dips shortly after `start` (the demo's)."""
        base = start.astimezone(UTC).replace(second=0, microsecond=0)
        dips = tuple(
            PriceDip(base + offset, base + offset + length, value)
            for offset, length, value in DEMO_DIPS
        )
        return cls(seed=seed, tz=tz, dips=dips)


@dataclass(frozen=True)
class PricePeriod:
    """One priced interval [start, end) in UTC."""

    start: datetime
    end: datetime
    value: float
    confidence: float


@dataclass(frozen=True)
class Slot:
    """When to draw power, and how much."""

    start: datetime
    end: datetime
    power_w: int


@dataclass(frozen=True)
class Session:
    """A period in which the device is available, with its slots and totals."""

    start: datetime
    end: datetime
    energy_wh: int
    cost: float
    confidence: float
    slots: tuple[Slot, ...]


def _hash_fraction(seed: int, direction: str, start: datetime) -> float:
    """Return a deterministic number in [0, 1) for a period."""
    key = f"{seed}|{direction}|{start.astimezone(UTC):%Y%m%dT%H%M}"
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def import_base_price(local_start: time) -> float:
    """Return the time-of-use import rate for a period starting at a local time."""
    if NIGHT_START <= local_start < NIGHT_END:
        return IMPORT_NIGHT
    if PEAK_START <= local_start < PEAK_END:
        return IMPORT_PEAK
    return IMPORT_DAY


def grid_price(model: PriceModel, direction: Direction, period_start: datetime) -> float:
    """Return the price of the half-hour period starting at `period_start`.

    Dips are not applied here; see `price_periods`.
    """
    if direction == "EXPORT":
        return EXPORT_FLAT
    local = period_start.astimezone(model.tz).time()
    base = import_base_price(local)
    shift = (_hash_fraction(model.seed, direction, period_start) - 0.5) * 2 * VARIATION
    return round(base * (1 + shift), 5)


def price_periods(
    model: PriceModel,
    start: datetime,
    end: datetime,
    direction: Direction,
    now: datetime,
) -> list[PricePeriod]:
    """Return the priced periods covering [start, end), clipped to it.

    Periods are the half-hour grid, split further at the edges of any dip.
    A period that starts within 24 hours of `now` (or earlier) has
    confidence 1; a later one is a forecast.
    """
    start = start.astimezone(UTC)
    end = end.astimezone(UTC)
    if end <= start:
        return []
    cuts = {start, end}
    mark = floor_to(start, PERIOD) + PERIOD
    while mark < end:
        cuts.add(mark)
        mark += PERIOD
    dips = model.dips if direction == "IMPORT" else ()
    for dip in dips:
        for edge in (dip.start, dip.end):
            if start < edge < end:
                cuts.add(edge)
    ordered = sorted(cuts)
    confirmed_until = now.astimezone(UTC) + CONFIRMED_AHEAD
    periods: list[PricePeriod] = []
    for begin, finish in pairwise(ordered):
        value = next(
            (dip.value for dip in dips if dip.start <= begin < dip.end),
            None,
        )
        if value is None:
            value = grid_price(model, direction, floor_to(begin, PERIOD))
        confidence = 1.0 if begin < confirmed_until else FORECAST_CONFIDENCE
        periods.append(PricePeriod(begin, finish, value, confidence))
    return periods


def next_local_time(after: datetime, at: time, tz: tzinfo) -> datetime:
    """Return the first moment strictly after `after` when local time is `at`."""
    local_date = after.astimezone(tz).date()
    candidate = datetime.combine(local_date, at, tzinfo=tz)
    if candidate <= after:
        candidate = datetime.combine(local_date + timedelta(days=1), at, tzinfo=tz)
    return candidate.astimezone(UTC)


def last_local_time(before: datetime, at: time, tz: tzinfo) -> datetime:
    """Return the last moment strictly before `before` when local time is `at`."""
    local_date = before.astimezone(tz).date()
    candidate = datetime.combine(local_date, at, tzinfo=tz)
    if candidate >= before:
        candidate = datetime.combine(local_date - timedelta(days=1), at, tzinfo=tz)
    return candidate.astimezone(UTC)


def session_bounds(
    now: datetime,
    horizon_h: float,
    tz: tzinfo = LOCAL_TZ,
    availability: Availability = ALWAYS_AVAILABLE,
) -> list[tuple[datetime, datetime]]:
    """Return the availability sessions within the horizon.

    Always available (the default), the first runs from now (rounded down
    to the minute) to the next 07:00 local time, each later one from 07:00 to
    07:00. Other availabilities end sessions at each of their `ready_by`
    times, and start them at `plug_in` when they have one. All are clipped to
    now + horizon; a session that would start after the horizon is left out.
    """
    start = now.astimezone(UTC).replace(second=0, microsecond=0)
    horizon_end = start + timedelta(hours=horizon_h)
    bounds: list[tuple[datetime, datetime]] = []
    while start < horizon_end:
        ready = min(next_local_time(start, at, tz) for at in availability.ready_by)
        begin = start
        if availability.plug_in is not None:
            begin = max(start, last_local_time(ready, availability.plug_in, tz))
        end = min(ready, horizon_end)
        if begin < end:
            bounds.append((begin, end))
        start = ready
    return bounds


def plan_session(
    start: datetime,
    end: datetime,
    periods: list[PricePeriod],
    energy_wh: float,
    power_w: int,
) -> Session | None:
    """Pick the cheapest periods that deliver `energy_wh` at `power_w`.

    The last period picked may be used partly: whole minutes, rounded up, from
    its start. Contiguous picks are merged into one slot. When the session is
    too short for the energy, every period is used. Returns None when no
    energy is needed.
    """
    if energy_wh <= _EPSILON_WH or power_w <= 0:
        return None
    remaining = energy_wh
    picks: list[tuple[PricePeriod, datetime, float]] = []
    for period in sorted(periods, key=lambda p: (p.value, p.start)):
        if remaining <= _EPSILON_WH:
            break
        seconds = (period.end - period.start).total_seconds()
        available = power_w * seconds / 3600
        if available <= remaining + _EPSILON_WH:
            picks.append((period, period.end, available))
            remaining -= available
            continue
        minutes = math.ceil(remaining * 60 / power_w - 1e-9)
        finish = min(period.start + timedelta(minutes=minutes), period.end)
        picks.append((period, finish, remaining))
        remaining = 0
    if not picks:
        return None
    picks.sort(key=lambda pick: pick[0].start)
    slots: list[Slot] = []
    for period, finish, _energy in picks:
        if slots and slots[-1].end == period.start:
            slots[-1] = Slot(slots[-1].start, finish, power_w)
        else:
            slots.append(Slot(period.start, finish, power_w))
    delivered = sum(energy for _period, _finish, energy in picks)
    cost = sum(period.value * energy / 1000 for period, _finish, energy in picks)
    return Session(
        start=start,
        end=end,
        energy_wh=round(delivered),
        cost=round(cost, 5),
        confidence=min(period.confidence for period, _finish, _energy in picks),
        slots=tuple(slots),
    )


def clamp_horizon(horizon_h: float | None) -> float:
    """Return the horizon to compute: the default when None, at most 72 hours."""
    if horizon_h is None:
        return DEFAULT_HORIZON_H
    return min(horizon_h, MAX_HORIZON_H)


def schedule_by_soc(
    model: PriceModel,
    now: datetime,
    *,
    soc_percent: float,
    target_percent: float,
    capacity_kwh: float,
    power_kw: float,
    horizon_h: float | None = None,
    availability: Availability = ALWAYS_AVAILABLE,
) -> list[Session]:
    """Compute the charging sessions for a device from its state of charge.

    Every session needs (target - SoC) % of the capacity: after each departure
    the battery is assumed to come back at the same state of charge.
    Sessions that need no energy are left out. `availability` says when the
    device can charge (see `session_bounds`).
    """
    energy_wh = max(0.0, target_percent - soc_percent) / 100 * capacity_kwh * 1000
    power_w = round(power_kw * 1000)
    sessions: list[Session] = []
    bounds = session_bounds(now, clamp_horizon(horizon_h), model.tz, availability)
    for start, end in bounds:
        periods = price_periods(model, start, end, "IMPORT", now)
        session = plan_session(start, end, periods, energy_wh, power_w)
        if session is not None:
            sessions.append(session)
    return sessions
