"""Flip dispatch: each charging window becomes one Flip demand-response event, once.

After every new schedule the dispatcher reconciles what Flip holds with the
windows: it cancels the events whose window vanished or moved, creates events
for new windows, and leaves the rest alone. How each event is sent exactly
once is `FlipEvents`' job (flip_events.py); what a failure means is
flip_errors.py's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime, timedelta

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util

from .api import ApiError, ChargingSlot, FlipAction, RateLimitError, RequestError, SocSchedule
from .const import DOMAIN, LOGGER, RETRY_AFTER_MARGIN, SUBENTRY_TYPE, retry_delay
from .coordinator import ScheduleCoordinator
from .dispatch_plan import (
    ORIGIN_ACTION,
    ORIGIN_WINDOW,
    Dispatched,
    DispatchSettings,
    EventKey,
    Skipped,
    Wanted,
    changes,
    rejection_text,
    wanted_windows,
    window_key,
)
from .flip_errors import REASON_REJECTED, exception_for, explain, is_rejection
from .flip_events import FlipEvents, flip_client
from .flip_store import DispatchStore
from .listeners import Listeners
from .timer import BoundaryTimer

# Failed reconciliations are retried after 1, 2, 4 … minutes, at most this.
MAX_RETRY = timedelta(minutes=30)
# Consecutive refusals of the Flip key before the user is asked to fix it.
AUTH_FAILURES_FOR_REPAIR = 3
# A restored schedule is refreshed in the background at start-up; the first
# reconciliation waits for that answer, at most this long.
START_GRACE = timedelta(minutes=2)

STATUS_IDLE = "idle"
STATUS_DISPATCHED = "dispatched"
STATUS_ERROR = "error"
STATUSES = [STATUS_IDLE, STATUS_DISPATCHED, STATUS_ERROR]


def flip_subentry(entry: ConfigEntry) -> ConfigSubentry | None:
    """Return the entry's Flip dispatch, if it has one."""
    return next(
        (sub for sub in entry.subentries.values() if sub.subentry_type == SUBENTRY_TYPE), None
    )


class FlipDispatcher:
    """Keeps Flip's events in line with the charging windows of one entry."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        subentry: ConfigSubentry,
        schedule: ScheduleCoordinator,
        events: FlipEvents,
    ) -> None:
        """Prepare the dispatcher; nothing is sent before `async_start`."""
        self._hass = hass
        self._entry = entry
        self.subentry_id = subentry.subentry_id
        self.subentry_data = dict(subentry.data)
        self.settings = DispatchSettings.from_data(subentry.data)
        self._schedule = schedule
        self.events = events
        self._store = events.store
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._stopped = False
        self._reconciled: SocSchedule | None = None
        self._listeners = Listeners("Flip dispatch")
        self._unsubs: list[CALLBACK_TYPE] = []
        self._unsub_retry: CALLBACK_TYPE | None = None
        self._boundary = BoundaryTimer(hass, entry, self._next_boundary, self._at_boundary)
        self._reported: set[Skipped] = set()
        self.skipped: tuple[Skipped, ...] = ()
        self.rejected: dict[EventKey, str] = {}
        self.error: str | None = None
        self.error_detail: str | None = None
        self.failures = 0
        self.last_reconciled: datetime | None = None
        # Timers that Home Assistant may drop when it stops.
        self._retry_job = HassJob(self._retry, f"{DOMAIN} Flip retry", cancel_on_shutdown=True)
        self._start_job = HassJob(
            self._start_anyway, f"{DOMAIN} Flip start", cancel_on_shutdown=True
        )

    # Life cycle

    @callback
    def async_start(self) -> None:
        """Follow the schedule: reconcile after each new one, and now if one is known.

        At setup the schedule is not known yet; a dispatch added to a running
        entry starts from the schedule in force.
        """
        self._unsubs.append(self._schedule.async_add_listener(self._schedule_updated))
        self._unsubs.append(async_call_later(self._hass, START_GRACE, self._start_job))
        self._boundary.arm()
        if self._schedule.plan is not None:
            self.async_request_reconcile()

    async def async_stop(self) -> None:
        """Stop once nothing is being sent; withdraw everything if the dispatch was removed.

        A reconciliation under way is cut short, as an unload does: an event
        whose answer was lost is known by its intent. An action under way
        ends first.
        """
        self._stopped = True
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        self._cancel_retry()
        self._boundary.stop()
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task])
        async with self._lock:
            if self.subentry_id not in self._entry.subentries:
                await self.events.async_withdraw(dt_util.utcnow())

    @callback
    def _schedule_updated(self) -> None:
        plan = self._schedule.plan
        # While backing off, the retry takes the latest schedule.
        if plan is not None and plan.schedule is not self._reconciled and self._unsub_retry is None:
            self.async_request_reconcile()

    @callback
    def _start_anyway(self, _now: datetime) -> None:
        # The refreshed schedule may equal the restored one, which notifies
        # no listener: start from what is known.
        if self._reconciled is None:
            self.async_request_reconcile()

    @callback
    def async_request_reconcile(self) -> None:
        """Reconcile in the background; a request during a run makes one more run."""
        if self._stopped:
            return
        self._cancel_retry()
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = self._entry.async_create_background_task(
            self._hass, self._async_run(), f"{DOMAIN} Flip reconciliation"
        )

    async def _async_run(self) -> None:
        self._again = True
        # After a failure, the retry runs again, with the latest schedule.
        while self._again and not self._stopped and self._unsub_retry is None:
            self._again = False
            async with self._lock:
                await self._async_reconcile()

    # Reconciliation

    async def _async_reconcile(self) -> None:
        plan = self._schedule.plan
        if plan is None:
            return
        self._reconciled = plan.schedule
        now = dt_util.utcnow()
        self._store.forget_ended(now)
        try:
            if self.events.must_list:
                await self.events.async_sync(self._wanted(plan.slots, now).windows, now)
            wanted = self._wanted(plan.slots, now)
            todo = changes(
                wanted,
                list(self._store.events.values()),
                plan.slots,
                now,
                create=self.settings.auto_dispatch,
            )
            for item in todo.cancel:
                LOGGER.debug("Cancelling Flip event %s: its window changed", item.event_id)
                await self.events.async_cancel(item)
            self.rejected = {k: v for k, v in self.rejected.items() if k in wanted.windows}
            for key in todo.create:
                if key not in self.rejected:
                    await self._async_create_window(key)
            self._report_skipped(wanted)
        except ApiError as err:
            await self.events.async_keep_hold()
            self._failed(err)
        else:
            self._succeeded()
        self.last_reconciled = now
        self._async_changed()

    def _wanted(self, slots: Iterable[ChargingSlot], now: datetime) -> Wanted:
        return wanted_windows(
            slots,
            self.settings,
            now,
            dispatched={item.key for item in self._store.events.values()},
            cancelled=self._store.cancelled,
        )

    async def _async_create_window(self, key: EventKey) -> None:
        try:
            await self.events.async_create(key, ORIGIN_WINDOW)
        except ApiError as err:
            if not is_rejection(err):
                raise
            # Flip will refuse the same event again: not retried until the
            # window changes (a changed window is another event).
            self.rejected[key] = rejection_text(err) if isinstance(err, RequestError) else str(err)
            LOGGER.warning(
                "Flip refused the event for the window from %s: %s",
                key.starts_at.isoformat(),
                self.rejected[key],
            )

    def _report_skipped(self, wanted: Wanted) -> None:
        self.skipped = wanted.skipped
        for item in wanted.skipped:
            if item not in self._reported:
                LOGGER.info(
                    "Not dispatching the window from %s to %s to Flip: %s",
                    item.start.isoformat(),
                    item.end.isoformat(),
                    item.reason.replace("_", " "),
                )
        self._reported = set(wanted.skipped)

    # Outcomes

    def _succeeded(self) -> None:
        self.failures = 0
        if self.rejected:
            self.error = REASON_REJECTED
            self.error_detail = next(iter(self.rejected.values()))
        else:
            self.error = self.error_detail = None

    def _failed(self, err: ApiError) -> None:
        self.failures += 1
        self.error, self.error_detail = explain(err)
        if isinstance(err, RateLimitError) and err.held:
            # Nothing was sent: no back-off, just the rest of the wait.
            delay = timedelta(seconds=err.retry_after or 0) + RETRY_AFTER_MARGIN
        else:
            retry_after = err.retry_after if isinstance(err, RateLimitError) else None
            delay = retry_delay(self.failures, MAX_RETRY, retry_after)
        LOGGER.warning(
            "Flip dispatch failed: %s; next attempt in %d seconds", err, delay.total_seconds()
        )
        if not self._stopped:
            self._unsub_retry = async_call_later(self._hass, delay, self._retry_job)

    @callback
    def _retry(self, _now: datetime) -> None:
        self._unsub_retry = None
        self.async_request_reconcile()

    @callback
    def _cancel_retry(self) -> None:
        if self._unsub_retry is not None:
            self._unsub_retry()
            self._unsub_retry = None

    @property
    def auth_rejected(self) -> bool:
        """Say whether Flip keeps refusing the key: a repair for the user."""
        return self.events.auth_failures >= AUTH_FAILURES_FOR_REPAIR

    # What entities read

    def upcoming(self, now: datetime) -> list[Dispatched]:
        """Return the dispatched events that have not ended, by start."""
        items = (item for item in self._store.events.values() if item.key.ends_at > now)
        return sorted(items, key=lambda item: (item.key.starts_at, item.event_id))

    def next_event(self, now: datetime) -> Dispatched | None:
        """Return the first dispatched event that has not started."""
        return next((item for item in self.upcoming(now) if item.key.starts_at > now), None)

    def status(self, now: datetime) -> str:
        """`error` after a failure, `dispatched` with events to come, else `idle`."""
        if self.error is not None:
            return STATUS_ERROR
        return STATUS_DISPATCHED if self.upcoming(now) else STATUS_IDLE

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call update whenever what the dispatcher holds changes."""
        return self._listeners.add(update)

    @callback
    def _async_changed(self) -> None:
        if not self._stopped:
            self._boundary.arm()
        self._listeners.notify()

    def _next_boundary(self, now: datetime) -> datetime | None:
        """Return the next start or end of an event: the entities change then."""
        instants = [
            moment
            for item in self._store.events.values()
            for moment in (item.key.starts_at, item.key.ends_at)
            if moment > now
        ]
        return min(instants, default=None)

    @callback
    def _at_boundary(self) -> None:
        self._store.forget_ended(dt_util.utcnow())
        self._async_changed()

    # Actions

    async def async_dispatch_window(self, start: datetime | None) -> Dispatched:
        """Dispatch the window starting at (or running at) start; the next one without."""
        plan = self._schedule.plan
        slots = plan.slots if plan is not None else ()
        slot = _pick_window(slots, start, dt_util.utcnow())
        key = window_key(slot, self.settings) if slot is not None else None
        if key is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="flip_window_not_found"
                if slot is None
                else "flip_window_without_power",
            )
        self._store.cancelled.discard(key)
        self.rejected.pop(key, None)
        return await self._async_dispatch(key, ORIGIN_WINDOW, slots)

    async def async_dispatch_action(self, action: FlipAction) -> Dispatched:
        """Dispatch an explicit action to the configured program and target."""
        plan = self._schedule.plan
        key = EventKey.build(self.settings, action)
        return await self._async_dispatch(key, ORIGIN_ACTION, plan.slots if plan else ())

    async def _async_dispatch(
        self, key: EventKey, origin: str, slots: Iterable[ChargingSlot]
    ) -> Dispatched:
        try:
            async with self._lock:
                if self.events.must_list:
                    now = dt_util.utcnow()
                    await self.events.async_sync(self._wanted(slots, now).windows, now)
                existing = next(
                    (item for item in self._store.events.values() if item.key == key), None
                )
                return existing or await self.events.async_create(key, origin)
        except ApiError as err:
            await self.events.async_keep_hold()
            raise exception_for(err) from err
        finally:
            self._async_changed()

    async def async_cancel(self, event_id: str | None) -> list[str]:
        """Cancel one dispatched event, or every one not yet ended.

        A cancelled window is not dispatched again automatically, unless it
        changes or is dispatched with the action.
        """
        try:
            async with self._lock:
                if event_id is None:
                    targets = self.upcoming(dt_util.utcnow())
                elif (found := self._store.events.get(event_id)) is not None:
                    targets = [found]
                else:
                    raise ServiceValidationError(
                        translation_domain=DOMAIN,
                        translation_key="flip_event_not_dispatched",
                        translation_placeholders={"event_id": event_id},
                    )
                for item in targets:
                    if item.origin == ORIGIN_WINDOW:
                        self._store.cancelled.add(item.key)
                    await self.events.async_cancel(item)
                return [item.event_id for item in targets]
        except ApiError as err:
            await self.events.async_keep_hold()
            raise exception_for(err) from err
        finally:
            self._async_changed()


def _pick_window(
    slots: Iterable[ChargingSlot], start: datetime | None, now: datetime
) -> ChargingSlot | None:
    """Return the slot starting at start, else the one running then; without, the next."""
    ordered = sorted(slots, key=lambda slot: (slot.start, slot.end))
    if start is None:
        return next((slot for slot in ordered if slot.start > now), None)
    moment = dt_util.as_utc(start)
    exact = [slot for slot in ordered if slot.start == moment]
    if exact:
        return exact[0]
    return next((slot for slot in ordered if slot.start <= moment < slot.end), None)


async def async_remove_dispatch(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Cancel what a removed entry dispatched and not yet ended, then delete its store."""
    store = DispatchStore(hass, entry.entry_id)
    await store.async_load()
    subentry = flip_subentry(entry)
    if subentry is not None and store.events:
        try:
            client = flip_client(hass, subentry.data)
        except ValueError as err:
            LOGGER.warning("Could not cancel the Flip events of %s: %s", entry.title, err)
        else:
            await FlipEvents(client, store).async_withdraw(dt_util.utcnow())
    await store.async_remove()
