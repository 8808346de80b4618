"""When to fetch from Flatpeak, and when to wake the entities.

The coordinators fetch at their own cadence (the schedule often, the
location's tariff status every few hours, the device daily), so that one
failing does not blank the others. Prices are fetched when those held no longer
cover the day ahead, or when the tariff changes; a tariff problem met by any
fetch asks for the tariff status again. Each keeps its last good answer in the
entry's ResponseCache and starts from it after a restart. What the
answers mean at each instant (a window starting, a price changing) the
coordinators answer too; the entities' writer wakes at those instants, without
a request.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
import random
from typing import Any, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .api import (
    ApiError,
    AuthenticationError,
    Device,
    FlatpeakClient,
    InvalidResponseError,
    LocationStatus,
    Prices,
    SocSchedule,
    TariffDirection,
    TariffElement,
)
from .const import (
    DEVICE_INTERVAL,
    DOMAIN,
    JITTER_FRACTION,
    LEAD_TIME,
    LOGGER,
    PRICE_HORIZON,
    PRICE_INTERVAL,
    PRICE_MARGIN,
    SCHEDULE_HORIZON,
    SCHEDULE_INTERVAL,
    STATUS_INTERVAL,
    TARIFF_PROBLEM_RETRY,
    Option,
)
from .listeners import Listeners
from .problems import TARIFF_PROBLEMS, Backoff, Problem, classify
from .schedule import ChargingPlan, PriceCurve
from .store import ResponseCache


class FlatpeakCoordinator[T: (SocSchedule, LocationStatus, Device, Prices)](
    DataUpdateCoordinator[T]
):
    """Fetches one kind of answer at its own cadence, with back-off and a cache."""

    config_entry: ConfigEntry
    kind: str
    model: type[T]
    interval: Option
    # How long a cached answer is still shown after fetches start failing;
    # None: as long as it says something about the future (the schedule).
    stale_after: timedelta | None = None
    # The longest wait between two failed fetches; None: the normal interval.
    retry_cap: timedelta | None = None

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: FlatpeakClient,
        cache: ResponseCache,
        scope: str,
    ) -> None:
        """Set up the coordinator of one device or location (scope) at its normal interval."""
        self.client = client
        self.cache = cache
        self.scope = scope
        self.base_interval = self.interval.duration(entry.options)
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {self.kind} {scope}",
            update_interval=self._jittered(self.base_interval),
            always_update=False,
        )
        self.fresh = False
        self.last_success_time: datetime | None = None
        self.error: Problem | None = None
        self.backoff = Backoff(self._retry_cap())
        # Called when a fetch meets a tariff problem: the tariff status may have changed.
        self.on_tariff_problem: Callable[[], None] | None = None
        self._finished = Listeners(f"{self.kind} fetches")

    @property
    def failures(self) -> int:
        """Failed fetches in a row."""
        return self.backoff.failures

    def _retry_cap(self) -> timedelta:
        cap = self.base_interval if self.retry_cap is None else self.retry_cap
        return min(cap, self.base_interval)

    @callback
    def apply_options(self, options: Mapping[str, Any]) -> None:
        """Take the account's new options: the next fetch is due at the new interval."""
        self.base_interval = self.interval.duration(options)
        self.backoff.cap = self._retry_cap()
        if self.failures == 0:
            self.update_interval = self._jittered(self.base_interval)

    @property
    def not_before(self) -> datetime | None:
        """Until when Flatpeak asked not to be called (Retry-After), if still ahead.

        The client's: Flatpeak limits the account, so a 429 to any request
        holds back all of them.
        """
        return self.client.not_before

    @property
    def latest(self) -> T | None:
        """The last good answer, fetched or cached; None before the first.

        (Home Assistant types `data` as always set; it is None until then.)
        """
        return self.data

    def usable(self, now: datetime) -> bool:
        """Say whether the last good answer may still be shown."""
        if self.latest is None:
            return False
        if self.fresh or self.stale_after is None or self.last_success_time is None:
            return True
        return now - self.last_success_time < self.stale_after

    @callback
    def async_add_refresh_listener(self, finished: Callable[[], None]) -> Callable[[], None]:
        """Call finished after every fetch, successful or not; return the way to stop."""
        return self._finished.add(finished)

    @callback
    @override
    def _async_refresh_finished(self) -> None:
        # Failures after the first notify no listener, yet they may make an
        # answer stale or call for a repair: tell the entities and the repairs.
        if not self.fresh:
            self.async_update_listeners()
        self._finished.notify()

    @staticmethod
    def _jittered(interval: timedelta) -> timedelta:
        return interval * random.uniform(1 - JITTER_FRACTION, 1 + JITTER_FRACTION)

    @abstractmethod
    async def _fetch(self) -> T:
        """Ask Flatpeak for a new answer."""

    @property
    def cache_key(self) -> str:
        """Under what the answer is kept: its kind and its device or location."""
        return f"{self.kind}:{self.scope}"

    async def async_refresh_now(self) -> None:
        """Fetch now."""
        await self.async_refresh()

    @callback
    def restore(self) -> bool:
        """Start from the cached answer, if there is a readable one."""
        document, fetched = self.cache.get(self.cache_key)
        if document is None:
            return False
        try:
            self.data = self.model.from_json(document)
        except InvalidResponseError as err:
            LOGGER.warning("Ignoring the cached Flatpeak %s: %s", self.kind, err)
            return False
        self.last_success_time = fetched
        return True

    @override
    async def _async_update_data(self) -> T:
        try:
            data = await self._fetch()
        except AuthenticationError as err:
            self._failed(Problem.INVALID_AUTH, err)
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="invalid_auth"
            ) from err
        except ApiError as err:
            raise self._update_failed(err) from err
        now = dt_util.utcnow()
        self.fresh = True
        self.backoff.succeeded()
        self.error = None
        self.last_success_time = now
        self.update_interval = self._jittered(self.base_interval)
        self.cache.remember(self.cache_key, data.source, now)
        return data

    def _failed(self, error: Problem, err: ApiError) -> timedelta:
        self.fresh = False
        self.error = error
        return self.backoff.failed(err)

    def _update_failed(self, err: ApiError) -> UpdateFailed:
        """Record a failure, choose when to try again, and explain it."""
        problem, placeholders = _explain(err)
        delay = self._failed(problem, err)
        if problem in TARIFF_PROBLEMS:
            delay = max(delay, TARIFF_PROBLEM_RETRY)
            if self.on_tariff_problem is not None:
                self.on_tariff_problem()
        self.update_interval = delay
        placeholders["retry"] = str(round(delay.total_seconds()))
        return UpdateFailed(
            translation_domain=DOMAIN,
            translation_key=problem,
            translation_placeholders=placeholders,
        )


# What a user is told of a failed fetch: the problem's key, and the error's own
# words where they help.
_WITH_DETAIL = frozenset({Problem.CANNOT_CONNECT, Problem.INVALID_RESPONSE, Problem.API_ERROR})
_KEYS = {
    Problem.RATE_LIMITED,
    Problem.NOT_FOUND,
    Problem.ACCOUNT_DISABLED,
    *TARIFF_PROBLEMS,
    *_WITH_DETAIL,
}


def _explain(err: ApiError) -> tuple[Problem, dict[str, str]]:
    """Return the problem (its translation key) and placeholders for a failed fetch."""
    problem = classify(err)
    if problem not in _KEYS:
        problem = Problem.API_ERROR
    return problem, {"error": str(err)} if problem in _WITH_DETAIL else {}


class DeviceCoordinator(FlatpeakCoordinator[Device]):
    """The device: maker, model, battery characteristics, consents."""

    kind = "device"
    model = Device
    stale_after = timedelta(days=2)
    interval = DEVICE_INTERVAL

    async def _fetch(self) -> Device:
        return await self.client.get_device(self.scope)


class StatusCoordinator(FlatpeakCoordinator[LocationStatus]):
    """The location's tariff connection status."""

    kind = "status"
    model = LocationStatus
    interval = STATUS_INTERVAL
    # Fetched rarely, yet after an outage it should be back within the hour.
    retry_cap = timedelta(hours=1)

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: FlatpeakClient,
        cache: ResponseCache,
        location_id: str,
    ) -> None:
        """Set up the coordinator; a failed fetch or two keeps the status shown."""
        super().__init__(hass, entry, client, cache, location_id)
        self.stale_after = self._stale_after()

    def _stale_after(self) -> timedelta:
        """Shown for 6 hours after fetches start failing, longer with a long interval.

        One failed fetch at its time must not blank a status fetched an interval ago.
        """
        return max(timedelta(hours=6), 2 * self.base_interval)

    @callback
    @override
    def apply_options(self, options: Mapping[str, Any]) -> None:
        super().apply_options(options)
        self.stale_after = self._stale_after()

    @callback
    def request_check(self) -> None:
        """Ask again soon: a fetch for a device here met a tariff problem.

        A status fetched in the last TARIFF_PROBLEM_RETRY is recent enough, so
        that the location's devices meeting the problem ask once between them.
        """
        if self._shutdown_requested:
            return
        fetched = self.last_success_time
        if self.fresh and fetched and dt_util.utcnow() - fetched < TARIFF_PROBLEM_RETRY:
            return
        self.config_entry.async_create_background_task(
            self.hass, self.async_request_refresh(), f"{self.name} check"
        )

    async def _fetch(self) -> LocationStatus:
        return await self.client.get_location_status(self.scope)


class ScheduleCoordinator(FlatpeakCoordinator[SocSchedule]):
    """The charging schedule, whose windows start and end at known instants."""

    kind = "schedule"
    model = SocSchedule
    interval = SCHEDULE_INTERVAL

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: FlatpeakClient,
        cache: ResponseCache,
        device_id: str,
        location_id: str,
    ) -> None:
        """Set up the device's coordinator with the account's horizon and lead time."""
        self.location_id = location_id
        self.lead_time = LEAD_TIME.duration(entry.options)
        self.horizon_hours = SCHEDULE_HORIZON.value(entry.options)
        self._plan: ChargingPlan | None = None
        super().__init__(hass, entry, client, cache, device_id)

    @callback
    @override
    def apply_options(self, options: Mapping[str, Any]) -> None:
        """Take the new lead time at once; a new horizon asks for a schedule that covers it."""
        super().apply_options(options)
        self.lead_time = LEAD_TIME.duration(options)
        horizon = SCHEDULE_HORIZON.value(options)
        if horizon != self.horizon_hours:
            self.horizon_hours = horizon
            self.config_entry.async_create_background_task(
                self.hass, self.async_request_refresh(), f"{self.name} new horizon"
            )

    async def _fetch(self) -> SocSchedule:
        return await self.client.schedule_by_soc(self.scope, self.location_id, self.horizon_hours)

    @property
    def plan(self) -> ChargingPlan | None:
        """The schedule's meaning, rebuilt on the last one whenever the schedule is replaced."""
        schedule = self.latest
        if schedule is None:
            return None
        if self._plan is None or self._plan.schedule is not schedule:
            self._plan = ChargingPlan(schedule, previous=self._plan, now=dt_util.utcnow())
        return self._plan

    def status(self, now: datetime) -> str:
        """Say how far the schedule can be trusted.

        `fresh`: the last fetch worked; `cached`: it failed, but the schedule
        still covers now or later; `expired`: nothing is known ahead.
        """
        if self.fresh:
            return "fresh"
        if self.plan is not None and self.plan.covers_future(now):
            return "cached"
        return "expired"

    # The instants at which what the schedule says changes, without a new answer.

    def next_window_edge(self, now: datetime) -> datetime | None:
        """Return the next start or end of a charging window after now."""
        plan = self.plan
        return None if plan is None else plan.next_slot_edge(now)

    def next_session_end(self, now: datetime) -> datetime | None:
        """Return the next end of a charging session after now."""
        plan = self.plan
        return None if plan is None else plan.next_session_end(now)

    def next_lead_start(self, now: datetime) -> datetime | None:
        """Return the next instant after now at which a window starts within the lead time."""
        plan = self.plan
        return None if plan is None else plan.next_lead_start(now, self.lead_time)


# What identifies a direction's tariff in the status answer; the contract's end date
# is left out, since a change of it does not change the prices.
type TariffKey = tuple[object, ...]


def tariff_key(status: LocationStatus | None, direction: TariffDirection) -> TariffKey | None:
    """Return what identifies the tariff of a direction; None when the status is unknown."""
    if status is None:
        return None
    element: TariffElement | None = (
        status.commodity_import if direction == TariffDirection.IMPORT else status.commodity_export
    )
    if element is None:
        return ()
    tariff = element.tariff
    return (
        str(element.status),
        str(element.connection_type),
        element.provider,
        None if tariff is None else (tariff.id, tariff.display_name, str(tariff.structure_type)),
    )


class PriceCoordinator(FlatpeakCoordinator[Prices]):
    """The location's prices in one direction, which change at known instants.

    Prices are published well ahead, so they are fetched only when those held
    end less than PRICE_MARGIN from now, or when the tariff changes; in between,
    each interval checks the coverage without a request. A failed fetch is
    retried with the usual back-off.
    """

    model = Prices
    interval = PRICE_INTERVAL

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: FlatpeakClient,
        cache: ResponseCache,
        direction: TariffDirection,
        status: StatusCoordinator,
    ) -> None:
        """Set up the coordinator for import or export prices, following the tariff status."""
        self.direction = direction
        self.kind = f"{direction.lower()}_prices"
        self.status = status
        self._curve: PriceCurve | None = None
        self._tariff: TariffKey | None = None
        self._must_fetch = False
        super().__init__(hass, entry, client, cache, status.scope)
        self._stop_following = status.async_add_refresh_listener(self._status_seen)

    @callback
    @override
    def restore(self) -> bool:
        # The cached prices belong to the cached status's tariff (restored first).
        self._tariff = tariff_key(self.status.latest, self.direction)
        return super().restore()

    @callback
    def _status_seen(self) -> None:
        """Fetch the prices again when the status shows another tariff."""
        key = tariff_key(self.status.latest, self.direction)
        if key is None or key == self._tariff:
            return
        known, self._tariff = self._tariff, key
        if known is None or self._shutdown_requested:
            return  # the first status seen: the prices were fetched for it
        LOGGER.debug("The %s tariff changed: fetching its prices", self.direction.lower())
        self._must_fetch = True
        self.config_entry.async_create_background_task(
            self.hass, self.async_request_refresh(), f"{self.name} tariff change"
        )

    @override
    async def async_refresh_now(self) -> None:
        self._must_fetch = True
        await super().async_refresh_now()

    def covered(self, now: datetime) -> bool:
        """Say whether the prices held cover now and PRICE_MARGIN ahead."""
        curve = self.curve
        return curve is not None and curve.covers(now, now + PRICE_MARGIN)

    @override
    async def _async_update_data(self) -> Prices:
        held = self.latest
        if (
            held is not None
            and self.failures == 0
            and not self._must_fetch
            and self.covered(dt_util.utcnow())
        ):
            # Nothing to ask: check again at the next interval.
            self.update_interval = self._jittered(self.base_interval)
            return held
        self._must_fetch = False
        return await super()._async_update_data()

    async def _fetch(self) -> Prices:
        now = dt_util.utcnow()
        return await self.client.get_prices(
            self.scope, start=now, end=now + PRICE_HORIZON, direction=self.direction
        )

    @override
    async def async_shutdown(self) -> None:
        self._stop_following()
        await super().async_shutdown()

    @property
    def curve(self) -> PriceCurve | None:
        """The prices' meaning, rebuilt whenever the prices are replaced."""
        prices = self.latest
        if prices is None:
            return None
        if self._curve is None or self._curve.prices is not prices:
            self._curve = PriceCurve(prices)
        return self._curve

    @override
    def usable(self, now: datetime) -> bool:
        """Usable while the prices say what energy costs now."""
        curve = self.curve
        return curve is not None and curve.at(now) is not None

    def next_price_edge(self, now: datetime) -> datetime | None:
        """Return the next instant after now at which a price period starts or ends."""
        curve = self.curve
        return None if curve is None else curve.next_edge(now)
