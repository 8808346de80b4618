"""Flip dispatch: each charging window becomes one Flip demand-response event, once.

After every new schedule the dispatcher reconciles what Flip holds with the
windows: it cancels the events whose window vanished or moved, creates events
for new windows, and leaves the rest alone. Which event stands for which
window is kept in a Store of its own, saved at once after every create and
cancel.

Exactly once, across restarts, retries and crashes:
- before a create is sent, its content is saved as an *intent*; once Flip has
  answered, the event ID replaces the intent. A crash between the request and
  the save leaves the intent behind.
- on start-up, and whenever an answer was lost (a timeout, a 5xx, an
  unreadable body), the dispatcher lists Flip's events once before doing
  anything else, and adopts the events that match an intent or a wanted
  window exactly, instead of creating them again.

Flip's Retry-After is kept in the same Store: after a restart, nothing is
sent to Flip (no listing, no create, no cancel) before it has passed.

Only events this integration dispatched are ever cancelled: those in the
mapping, which holds what it created, what its intents prove it sent, and what
it adopted because it matched a wanted window exactly. Other events of the
program (other targets, other modes, several actions) are never touched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Self

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.event import async_call_later, async_track_point_in_utc_time
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .api import (
    ApiError,
    AuthenticationError,
    ChargingSlot,
    CommunicationError,
    FlipAction,
    FlipClient,
    FlipEvent,
    InvalidIdError,
    InvalidResponseError,
    NotFoundError,
    RateLimitError,
    RequestError,
    SocSchedule,
)
from .const import DOMAIN, LOGGER, RETRY_AFTER_MARGIN, SUBENTRY_TYPE, retry_delay, stored_deadline
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
from .listeners import ListenerGuard
from .repairs import async_update_issues

if TYPE_CHECKING:
    from .coordinator import FlatpeakConfigEntry, ScheduleCoordinator

STORAGE_VERSION = 1

# Failed reconciliations are retried after 1, 2, 4 … minutes, at most this.
MAX_RETRY = timedelta(minutes=30)
# Consecutive refusals of the Flip key before the user is asked to fix it.
AUTH_FAILURES_FOR_REPAIR = 3
# A restored schedule is refreshed in the background at start-up; the first
# reconciliation waits for that answer, at most this long.
START_GRACE = timedelta(minutes=2)
# Cancelling what was dispatched when the dispatch is removed is best effort.
WITHDRAW_TIMEOUT = 60

STATUS_IDLE = "idle"
STATUS_DISPATCHED = "dispatched"
STATUS_ERROR = "error"
STATUSES = [STATUS_IDLE, STATUS_DISPATCHED, STATUS_ERROR]

# Why the last reconciliation failed (the status entity's `reason`).
REASON_INVALID_AUTH = "invalid_auth"
REASON_CANNOT_CONNECT = "cannot_connect"
REASON_RATE_LIMITED = "rate_limited"
REASON_INVALID_RESPONSE = "invalid_response"
REASON_REJECTED = "rejected"
REASON_API_ERROR = "api_error"
REASONS = [
    REASON_INVALID_AUTH,
    REASON_CANNOT_CONNECT,
    REASON_RATE_LIMITED,
    REASON_INVALID_RESPONSE,
    REASON_REJECTED,
    REASON_API_ERROR,
]

TO_REDACT = {CONF_API_KEY}


def flip_subentry(entry: FlatpeakConfigEntry) -> ConfigSubentry | None:
    """Return the entry's Flip dispatch, if it has one."""
    return next(
        (sub for sub in entry.subentries.values() if sub.subentry_type == SUBENTRY_TYPE), None
    )


def flip_client(hass: HomeAssistant, data: Any) -> FlipClient:
    """Return a Flip client for a dispatch's key and URL."""
    return FlipClient(async_get_clientsession(hass), data[CONF_API_KEY], base_url=data[CONF_URL])


def _is_rejection(err: ApiError) -> bool:
    """Say whether Flip refused a request for good: it did nothing, and will not."""
    return isinstance(err, NotFoundError) or (
        isinstance(err, RequestError) and err.status is not None and err.status < 500
    )


def _may_have_happened(err: ApiError) -> bool:
    """Say whether a failed create may still have created the event.

    A timeout, a dropped connection, a 5xx or an unreadable answer leave it
    open; a refusal (401/403, 404, 429, another 4xx) does not.
    """
    return not (
        isinstance(err, AuthenticationError | RateLimitError | InvalidIdError) or _is_rejection(err)
    )


def explain(err: ApiError) -> tuple[str, str]:
    """Return the reason key and a readable detail for a failed Flip call."""
    if isinstance(err, AuthenticationError):
        return REASON_INVALID_AUTH, str(err)
    if isinstance(err, RateLimitError):
        return REASON_RATE_LIMITED, str(err)
    if isinstance(err, CommunicationError):
        return REASON_CANNOT_CONNECT, str(err)
    if isinstance(err, InvalidResponseError):
        return REASON_INVALID_RESPONSE, str(err)
    if isinstance(err, RequestError) and _is_rejection(err):
        return REASON_REJECTED, rejection_text(err)
    return REASON_API_ERROR, str(err)


def exception_for(err: ApiError) -> HomeAssistantError:
    """Turn a failed Flip call into the translated error an action raises.

    A refusal of the event itself is the caller's to fix: it names each
    rejected field and why.
    """
    reason, detail = explain(err)
    if reason == REASON_REJECTED:
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="flip_rejected",
            translation_placeholders={"detail": detail},
        )
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=f"flip_{reason}",
        translation_placeholders={"error": detail},
    )


@dataclass(frozen=True, slots=True)
class Intent:
    """A create about to be sent: proof, after a crash, that the event is ours."""

    key: EventKey
    origin: str

    def to_json(self) -> dict[str, Any]:
        """Return the intent as stored."""
        return {"origin": self.origin, "key": self.key.to_json()}

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Read a stored intent; raise ValueError if it is not one."""
        if not isinstance(data, dict) or data.get("origin") not in (ORIGIN_WINDOW, ORIGIN_ACTION):
            raise ValueError("a stored intent has no valid origin")
        return cls(EventKey.from_json(data.get("key")), data["origin"])


class DispatchStore:
    """What was dispatched, what is being dispatched, and what the user cancelled."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Open the store of one entry's dispatch."""
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.dispatch"
        )
        self.events: dict[str, Dispatched] = {}
        self.intents: list[Intent] = []
        self.cancelled: set[EventKey] = set()
        # Until when Flip asked not to be called (Retry-After).
        self.not_before: datetime | None = None

    async def async_load(self) -> None:
        """Read what was stored, leaving out (and logging) what cannot be read."""
        stored = await self._store.async_load()
        if not isinstance(stored, dict):
            return
        self.not_before = stored_deadline(stored.get("not_before"), dt_util.utcnow())
        for name, reader in (
            ("events", Dispatched.from_json),
            ("intents", Intent.from_json),
            ("cancelled", EventKey.from_json),
        ):
            items = stored.get(name)
            for item in items if isinstance(items, list) else ():
                try:
                    value = reader(item)
                except ValueError as err:
                    LOGGER.warning("Ignoring a stored Flip dispatch record: %s", err)
                    continue
                if isinstance(value, Dispatched):
                    self.events[value.event_id] = value
                elif isinstance(value, Intent):
                    self.intents.append(value)
                elif isinstance(value, EventKey):
                    self.cancelled.add(value)

    def _data(self) -> dict[str, Any]:
        return {
            "events": [item.to_json() for item in self.events.values()],
            "intents": [intent.to_json() for intent in self.intents],
            "cancelled": [key.to_json() for key in self.cancelled],
            "not_before": self.not_before.isoformat() if self.not_before else None,
        }

    async def async_save(self) -> None:
        """Write now: a create or a cancel must not be forgotten."""
        await self._store.async_save(self._data())

    async def async_remove(self) -> None:
        """Delete the store."""
        await self._store.async_remove()

    def forget_ended(self, now: datetime) -> None:
        """Forget events and cancellations whose time has passed."""
        for event_id in [i.event_id for i in self.events.values() if i.key.ends_at <= now]:
            del self.events[event_id]
        self.cancelled = {key for key in self.cancelled if key.ends_at > now}


class FlipDispatcher:
    """Keeps Flip's events in line with the charging windows of one entry."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: FlatpeakConfigEntry,
        subentry: ConfigSubentry,
        coordinator: ScheduleCoordinator,
        client: FlipClient,
        store: DispatchStore,
    ) -> None:
        """Prepare the dispatcher; nothing is sent before `async_start`."""
        self._hass = hass
        self._entry = entry
        self.subentry_id = subentry.subentry_id
        self._subentry_data = dict(subentry.data)
        self.settings = DispatchSettings.from_data(subentry.data)
        self._coordinator = coordinator
        self._client = client
        self._store = store
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._stopped = False
        self._reconciled: SocSchedule | None = None
        self._needs_listing = True
        self._listeners: list[CALLBACK_TYPE] = []
        self._guard = ListenerGuard("Flip dispatch")
        self._unsubs: list[CALLBACK_TYPE] = []
        self._unsub_retry: CALLBACK_TYPE | None = None
        self._unsub_boundary: CALLBACK_TYPE | None = None
        self._reported: set[Skipped] = set()
        self.skipped: tuple[Skipped, ...] = ()
        self.rejected: dict[EventKey, str] = {}
        self.error: str | None = None
        self.error_detail: str | None = None
        self.failures = 0
        self.auth_failures = 0
        self.last_reconciled: datetime | None = None
        # Timers that Home Assistant may drop when it stops.
        self._retry_job = HassJob(self._retry, f"{DOMAIN} Flip retry", cancel_on_shutdown=True)
        self._start_job = HassJob(
            self._start_anyway, f"{DOMAIN} Flip start", cancel_on_shutdown=True
        )
        self._boundary_job = HassJob(
            self._at_boundary, f"{DOMAIN} Flip event boundary", cancel_on_shutdown=True
        )

    # Life cycle

    @callback
    def async_start(self) -> None:
        """Follow the schedule: reconcile after each new one."""
        self._unsubs.append(self._coordinator.async_add_listener(self._schedule_updated))
        self._unsubs.append(async_call_later(self._hass, START_GRACE, self._start_job))
        self._arm_boundary()

    async def async_stop(self) -> None:
        """Stop following the schedule; withdraw everything if the dispatch was removed."""
        self._stopped = True
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        self._cancel_retry()
        if self._unsub_boundary is not None:
            self._unsub_boundary()
            self._unsub_boundary = None
        if self.subentry_id not in self._entry.subentries:
            # Not tied to the entry: the entry is set up again meanwhile.
            self._hass.async_create_background_task(
                self._async_withdraw(), f"{DOMAIN} withdraw Flip events"
            )

    @callback
    def _schedule_updated(self) -> None:
        plan = self._coordinator.plan
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
        plan = self._coordinator.plan
        if plan is None:
            return
        self._reconciled = plan.schedule
        now = dt_util.utcnow()
        self._forget_ended(now)
        try:
            if self._needs_listing or self._store.intents:
                await self._async_sync(plan.slots, now)
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
                await self._async_cancel(item)
            self.rejected = {k: v for k, v in self.rejected.items() if k in wanted.windows}
            for key in todo.create:
                if key not in self.rejected:
                    await self._async_create_window(key)
            self._report_skipped(wanted)
        except ApiError as err:
            await self._async_keep_hold()
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
            await self._async_create(key, ORIGIN_WINDOW)
        except ApiError as err:
            if not _is_rejection(err):
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

    async def _async_sync(self, slots: Iterable[ChargingSlot], now: datetime) -> None:
        """Catch up with Flip: list its events once and adopt what is ours."""
        listed = await self._client.list_events()
        self._flip_answered()
        events = self._store.events
        present = {event.id for event in listed}
        for event_id in [event_id for event_id in events if event_id not in present]:
            # Cancelled in Flip by someone else, or ended and no longer listed.
            del events[event_id]
        free: dict[EventKey, list[FlipEvent]] = {}
        for event in listed:
            key = EventKey.of_event(event)
            if event.id not in events and key is not None and key.ends_at > now:
                free.setdefault(key, []).append(event)

        def adopt(key: EventKey, origin: str) -> None:
            if candidates := free.get(key):
                event = candidates.pop(0)
                LOGGER.debug("Adopting Flip event %s", event.id)
                events[event.id] = Dispatched(event.id, key, origin)

        for intent in self._store.intents:
            adopt(intent.key, intent.origin)
        self._store.intents.clear()
        mapped = {item.key for item in events.values()}
        for key in self._wanted(slots, now).windows:
            if key not in mapped:
                adopt(key, ORIGIN_WINDOW)
        self._needs_listing = False
        await self._store.async_save()

    async def _async_create(self, key: EventKey, origin: str) -> Dispatched:
        """Create one event, saving the intent before and the event ID after."""
        intent = Intent(key, origin)
        self._store.intents.append(intent)
        await self._store.async_save()
        try:
            event = await self._client.create_event(
                program_id=key.program_id,
                target_type=key.target_type,
                target_ids=key.target_ids,
                actions=[key.action()],
            )
        except ApiError as err:
            if _may_have_happened(err):
                self._needs_listing = True  # the intent stays until Flip is listed
            else:
                self._store.intents.remove(intent)
                await self._store.async_save()
            raise
        item = Dispatched(event.id, key, origin)
        self._store.events[event.id] = item
        self._store.intents.remove(intent)
        await self._store.async_save()
        self._flip_answered()
        LOGGER.debug("Dispatched Flip event %s from %s", event.id, key.starts_at.isoformat())
        return item

    async def _async_cancel(self, item: Dispatched) -> None:
        """Cancel one event; one Flip no longer has, or that has ended, is forgotten."""
        try:
            await self._client.cancel_event(item.event_id)
        except (NotFoundError, InvalidIdError):
            pass
        except RequestError as err:
            if err.status != 409:  # 409: it completed meanwhile
                raise
        else:
            self._flip_answered()
        self._store.events.pop(item.event_id, None)
        await self._store.async_save()

    async def _async_withdraw(self) -> None:
        """Cancel every event not yet ended, when the dispatch is removed."""
        async with asyncio.timeout(WITHDRAW_TIMEOUT), self._lock:
            now = dt_util.utcnow()
            self._forget_ended(now)
            for item in list(self._store.events.values()):
                try:
                    await self._async_cancel(item)
                except ApiError as err:
                    LOGGER.warning("Could not cancel Flip event %s: %s", item.event_id, err)
            if not self._store.events and not self._store.intents:
                await self._store.async_remove()

    # Outcomes

    def _flip_answered(self) -> None:
        self.auth_failures = 0

    def _succeeded(self) -> None:
        self.failures = 0
        if self.rejected:
            self.error = REASON_REJECTED
            self.error_detail = next(iter(self.rejected.values()))
        else:
            self.error = self.error_detail = None

    async def _async_keep_hold(self) -> None:
        """Save Flip's Retry-After deadline, if it is new, so that a restart keeps it."""
        deadline = self._client.not_before
        if deadline is not None and deadline != self._store.not_before:
            self._store.not_before = deadline
            await self._store.async_save()

    def _failed(self, err: ApiError) -> None:
        self.failures += 1
        self._count_auth(err)
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

    def _count_auth(self, err: ApiError) -> None:
        if isinstance(err, AuthenticationError):
            self.auth_failures += 1

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
        return self.auth_failures >= AUTH_FAILURES_FOR_REPAIR

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
        self._listeners.append(update)
        return lambda: self._listeners.remove(update)

    @callback
    def _async_changed(self) -> None:
        self._arm_boundary()
        async_update_issues(self._hass, self._entry)
        self._guard.notify(self._listeners)

    def _forget_ended(self, now: datetime) -> None:
        # Not written at once: an ended event read back is forgotten again, and
        # a delayed write could land after a newer dispatcher's after a reload.
        self._store.forget_ended(now)

    @callback
    def _arm_boundary(self) -> None:
        """Wake at the next start or end of an event, to update the entities."""
        if self._unsub_boundary is not None:
            self._unsub_boundary()
            self._unsub_boundary = None
        if self._stopped:
            return
        now = dt_util.utcnow()
        instants = [
            moment
            for item in self._store.events.values()
            for moment in (item.key.starts_at, item.key.ends_at)
            if moment > now
        ]
        if instants:
            self._unsub_boundary = async_track_point_in_utc_time(
                self._hass, self._boundary_job, min(instants)
            )

    @callback
    def _at_boundary(self, _now: datetime) -> None:
        self._unsub_boundary = None
        self._forget_ended(dt_util.utcnow())
        self._async_changed()

    # Actions

    async def async_dispatch_window(self, start: datetime | None) -> Dispatched:
        """Dispatch the window starting at (or running at) start; the next one without."""
        plan = self._coordinator.plan
        now = dt_util.utcnow()
        slots = plan.slots if plan is not None else ()
        slot = _pick_window(slots, start, now)
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
        plan = self._coordinator.plan
        key = EventKey.build(self.settings, action)
        return await self._async_dispatch(key, ORIGIN_ACTION, plan.slots if plan else ())

    async def _async_dispatch(
        self, key: EventKey, origin: str, slots: Iterable[ChargingSlot]
    ) -> Dispatched:
        try:
            async with self._lock:
                if self._needs_listing or self._store.intents:
                    await self._async_sync(slots, dt_util.utcnow())
                existing = next(
                    (item for item in self._store.events.values() if item.key == key), None
                )
                return existing or await self._async_create(key, origin)
        except ApiError as err:
            self._count_auth(err)
            await self._async_keep_hold()
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
                now = dt_util.utcnow()
                if event_id is None:
                    targets = self.upcoming(now)
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
                    await self._async_cancel(item)
                return [item.event_id for item in targets]
        except ApiError as err:
            self._count_auth(err)
            await self._async_keep_hold()
            raise exception_for(err) from err
        finally:
            self._async_changed()

    # Diagnostics

    def diagnostics(self) -> dict[str, Any]:
        """Return what the dispatcher holds, without the key."""
        now = dt_util.utcnow()
        return {
            "settings": async_redact_data(self._subentry_data, TO_REDACT),
            "status": self.status(now),
            "error": self.error,
            "error_detail": self.error_detail,
            "consecutive_failures": self.failures,
            "auth_failures": self.auth_failures,
            "last_reconciled": self.last_reconciled,
            "not_before": self._client.not_before,
            "events": [item.to_json() for item in self._store.events.values()],
            "intents": [intent.to_json() for intent in self._store.intents],
            "cancelled": [key.to_json() for key in self._store.cancelled],
            "skipped": [
                {"start": item.start, "end": item.end, "reason": item.reason}
                for item in self.skipped
            ],
            "rejected": [
                {"starts_at": key.starts_at, "detail": detail}
                for key, detail in self.rejected.items()
            ],
        }


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


async def async_setup_dispatcher(
    hass: HomeAssistant, entry: FlatpeakConfigEntry
) -> FlipDispatcher | None:
    """Start the entry's Flip dispatch, if it has one; stop it when the entry unloads."""
    subentry = flip_subentry(entry)
    if subentry is None:
        return None
    try:
        client = flip_client(hass, subentry.data)
    except ValueError as err:  # the flow checks the URL; a hand-edited one may be wrong
        LOGGER.error("The Flip dispatch of %s cannot start: %s", entry.title, err)
        return None
    store = DispatchStore(hass, entry.entry_id)
    await store.async_load()
    if store.not_before is not None:
        client.hold_until(store.not_before)
    dispatcher = FlipDispatcher(hass, entry, subentry, entry.runtime_data.schedule, client, store)
    dispatcher.async_start()
    entry.async_on_unload(dispatcher.async_stop)
    return dispatcher


async def async_remove_dispatch(hass: HomeAssistant, entry: FlatpeakConfigEntry) -> None:
    """Cancel what a removed entry dispatched and not yet ended, then delete its store."""
    store = DispatchStore(hass, entry.entry_id)
    await store.async_load()
    subentry = flip_subentry(entry)
    if subentry is not None and store.events:
        now = dt_util.utcnow()
        try:
            client = flip_client(hass, subentry.data)
            if store.not_before is not None:
                client.hold_until(store.not_before)
            async with asyncio.timeout(WITHDRAW_TIMEOUT):
                for item in store.events.values():
                    if item.key.ends_at > now:
                        await _cancel_quietly(client, item)
        except (TimeoutError, ValueError) as err:
            LOGGER.warning("Could not cancel the Flip events of %s: %s", entry.title, err)
    await store.async_remove()


async def _cancel_quietly(client: FlipClient, item: Dispatched) -> None:
    try:
        await client.cancel_event(item.event_id)
    except (NotFoundError, InvalidIdError):
        pass
    except ApiError as err:
        LOGGER.warning("Could not cancel Flip event %s: %s", item.event_id, err)
