"""Flip dispatch: each charging window becomes one Flip demand-response event, once.

After every new schedule the dispatcher reconciles what Flip holds with the
windows: it cancels the events whose window vanished or moved, creates events
for new windows, and leaves the rest alone. It reconciles again when Flip's
list must show what it did not show yet. How each event is sent exactly once
is `FlipEvents`' job (events.py); what a failure means is errors.py's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util
import voluptuous as vol

from ...api import ApiError, ChargingSlot, FlipAction, RequestError, SocSchedule
from ...const import CONF_DEVICE_ID, DOMAIN, LOGGER
from ...coordinator import ScheduleCoordinator
from ...listeners import Listeners
from ...problems import Backoff
from ...timer import InstantTimer
from ..target import DispatchedEvent, DispatchTarget
from .errors import REASON_REJECTED, exception_for, explain, is_rejection
from .events import FlipEvents, flip_client
from .plan import (
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
from .store import DispatchStore

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
STATUSES = (STATUS_IDLE, STATUS_DISPATCHED, STATUS_ERROR)

# The fields of an explicit action of the dispatch_window action. Types are
# checked here; the values (ranges, enums, a start in the past) are Flip's to
# judge, and its refusal names the field and the reason.
ATTR_MODE = "mode"
ATTR_STARTS_AT = "starts_at"
ATTR_DURATION_S = "duration_s"
ATTR_POWER_MODE = "power_mode"
ATTR_SETPOINT_W = "setpoint_w"
ATTR_BACKUP_RESERVE = "backup_reserve_percentage"
ATTR_ENABLE_GRID_IMPORT = "enable_grid_import"
ACTION_FIELDS: dict[Any, Any] = {
    vol.Optional(ATTR_MODE): vol.All(cv.string, vol.Upper),
    vol.Optional(ATTR_STARTS_AT): cv.datetime,
    vol.Optional(ATTR_DURATION_S): vol.Coerce(int),
    vol.Optional(ATTR_POWER_MODE): vol.All(cv.string, vol.Upper),
    vol.Optional(ATTR_SETPOINT_W): vol.Coerce(int),
    vol.Optional(ATTR_BACKUP_RESERVE): vol.Coerce(int),
    vol.Optional(ATTR_ENABLE_GRID_IMPORT): cv.boolean,
}


def explicit_action(fields: Mapping[str, Any]) -> FlipAction:
    """Read an explicit action; its mode, start and duration are needed."""
    missing = [name for name in (ATTR_MODE, ATTR_STARTS_AT, ATTR_DURATION_S) if name not in fields]
    if missing:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="flip_action_incomplete",
            translation_placeholders={"fields": ", ".join(missing)},
        )
    starts_at: datetime = dt_util.as_utc(fields[ATTR_STARTS_AT])
    return FlipAction(
        mode=fields[ATTR_MODE],
        starts_at=starts_at,
        duration_s=fields[ATTR_DURATION_S],
        power_mode=fields.get(ATTR_POWER_MODE),
        setpoint_w=fields.get(ATTR_SETPOINT_W),
        backup_reserve_percentage=fields.get(ATTR_BACKUP_RESERVE),
        enable_grid_import=fields.get(ATTR_ENABLE_GRID_IMPORT),
    )


def event_of(item: Dispatched) -> DispatchedEvent:
    """Return a dispatched Flip event as the rest of the integration sees it."""
    return DispatchedEvent(
        event_id=item.event_id,
        mode=item.key.mode,
        starts_at=item.key.starts_at,
        ends_at=item.key.ends_at,
        setpoint_w=item.key.setpoint_w,
    )


class FlipDispatcher(DispatchTarget):
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
        self._timer = InstantTimer(hass, self._next_instant, self._at_instant)
        self._reported: set[Skipped] = set()
        self.skipped: tuple[Skipped, ...] = ()
        self.rejected: dict[EventKey, str] = {}
        self.error: str | None = None
        self.error_detail: str | None = None
        self.backoff = Backoff(MAX_RETRY)
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
        self._timer.arm()
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
        self._timer.stop()
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
            if self.events.must_list(now):
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
            in_flight = self.events.in_flight
            for key in todo.create:
                if key not in self.rejected and key not in in_flight:
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
            dispatched=self.events.sent(now),
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
        self.backoff.succeeded()
        if self.rejected:
            self.error = REASON_REJECTED
            self.error_detail = next(iter(self.rejected.values()))
        else:
            self.error = self.error_detail = None

    def _failed(self, err: ApiError) -> None:
        delay = self.backoff.failed(err)
        self.error, self.error_detail = explain(err)
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

    @property
    def failures(self) -> int:
        """Failed reconciliations in a row."""
        return self.backoff.failures

    # What sensors, repairs and diagnostics read

    def _upcoming(self, now: datetime) -> list[Dispatched]:
        items = (item for item in self._store.events.values() if item.key.ends_at > now)
        return sorted(items, key=lambda item: (item.key.starts_at, item.event_id))

    def upcoming(self, now: datetime) -> list[DispatchedEvent]:
        """Return the dispatched events that have not ended, by start."""
        return [event_of(item) for item in self._upcoming(now)]

    def status(self, now: datetime) -> str:
        """`error` after a failure, `dispatched` with events to come, else `idle`."""
        if self.error is not None:
            return STATUS_ERROR
        return STATUS_DISPATCHED if self._upcoming(now) else STATUS_IDLE

    def status_attributes(self, now: datetime) -> dict[str, Any]:
        """Why it is in error (only while it is), whether it is automatic, what it skips."""
        error = (
            {"reason": self.error, "detail": self.error_detail} if self.error is not None else {}
        )
        return {
            **error,
            "automatic": self.settings.auto_dispatch,
            "skipped": [
                {
                    "start": item.start.isoformat(),
                    "end": item.end.isoformat(),
                    "reason": item.reason,
                }
                for item in self.skipped
            ],
        }

    def repair_issues(self) -> list[str]:
        """Ask the user for a new key when Flip keeps refusing it."""
        return ["flip_invalid_auth"] if self.auth_rejected else []

    def diagnostics(self) -> dict[str, Any]:
        """Return the settings, the state, and the events in Flip."""
        stored = self._store.as_json()
        return {
            "settings": self.subentry_data,
            "status": self.status(dt_util.utcnow()),
            "error": self.error,
            "error_detail": self.error_detail,
            "consecutive_failures": self.failures,
            "auth_failures": self.events.auth_failures,
            "last_reconciled": self.last_reconciled,
            "not_before": self.events.client.not_before,
            "list_again_at": self.events.list_again_at,
            "events": stored["events"],
            "intents": stored["intents"],
            "cancelled": stored["cancelled"],
            "skipped": [
                {"start": item.start, "end": item.end, "reason": item.reason}
                for item in self.skipped
            ],
            "rejected": [
                {"starts_at": key.starts_at, "detail": detail}
                for key, detail in self.rejected.items()
            ],
        }

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call update whenever what the dispatcher holds changes."""
        return self._listeners.add(update)

    @callback
    def _async_changed(self) -> None:
        if not self._stopped:
            self._timer.arm()
        self._listeners.notify()

    def _next_instant(self, now: datetime) -> datetime | None:
        """Return the next start or end of an event, or when Flip must be listed again."""
        instants = [
            moment
            for item in self._store.events.values()
            for moment in (item.key.starts_at, item.key.ends_at)
            if moment > now
        ]
        if self.events.list_again_at is not None and self.events.list_again_at > now:
            instants.append(self.events.list_again_at)
        return min(instants, default=None)

    @callback
    def _at_instant(self, _instant: datetime) -> None:
        now = dt_util.utcnow()
        self._store.forget_ended(now)
        self._listeners.notify()
        # A retry due lists Flip anyway, when its time comes.
        if self.events.listing_due(now) and self._unsub_retry is None:
            self.async_request_reconcile()

    # Actions

    async def async_dispatch_window(self, start: datetime | None) -> DispatchedEvent:
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
        return event_of(await self._async_dispatch(key, ORIGIN_WINDOW, slots))

    async def async_dispatch_action(self, fields: Mapping[str, Any]) -> DispatchedEvent:
        """Dispatch an explicit action to the configured program and target."""
        plan = self._schedule.plan
        key = EventKey.build(self.settings, explicit_action(fields))
        return event_of(await self._async_dispatch(key, ORIGIN_ACTION, plan.slots if plan else ()))

    async def _async_dispatch(
        self, key: EventKey, origin: str, slots: Iterable[ChargingSlot]
    ) -> Dispatched:
        try:
            async with self._lock:
                now = dt_util.utcnow()
                if self.events.must_list(now):
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
                    targets = self._upcoming(dt_util.utcnow())
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


async def async_start_dispatch(
    hass: HomeAssistant,
    entry: ConfigEntry,
    subentry: ConfigSubentry,
    schedule: ScheduleCoordinator,
) -> FlipDispatcher | None:
    """Start the dispatcher of a Flip subentry; None when its address cannot be used."""
    try:
        client = flip_client(hass, subentry.data)
    except ValueError as err:  # the flow checks the URL; a hand-edited one may be wrong
        LOGGER.error("The Flip dispatch %s cannot start: %s", subentry.title, err)
        return None
    store = DispatchStore(hass, entry.entry_id, subentry.data[CONF_DEVICE_ID])
    await store.async_load()
    dispatcher = FlipDispatcher(hass, entry, subentry, schedule, FlipEvents(client, store))
    dispatcher.async_start()
    return dispatcher


async def async_remove_dispatch(
    hass: HomeAssistant, entry: ConfigEntry, subentry: ConfigSubentry
) -> None:
    """Cancel what a removed account dispatched and not yet ended, then delete its store."""
    store = DispatchStore(hass, entry.entry_id, subentry.data[CONF_DEVICE_ID])
    await store.async_load()
    if store.events:
        try:
            client = flip_client(hass, subentry.data)
        except ValueError as err:
            LOGGER.warning("Could not cancel the Flip events of %s: %s", entry.title, err)
        else:
            await FlipEvents(client, store).async_withdraw(dt_util.utcnow())
    await store.async_remove()
