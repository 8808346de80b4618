"""The state-of-charge loop: tell Flatpeak the battery's real state, then re-plan.

A schedule by state of charge is only as right as the state of charge Flatpeak
knows. When a battery sensor is linked in the device's settings, its readings are sent
with `PUT /devices/{id}/state`, together with the target state of charge that
the integration's number entity holds, and a schedule refresh follows.

Only meaningful changes are sent: a change of at least `MIN_CHANGE` points or
of the target at once; a smaller change once `RESEND_AFTER` has passed since
the last send; never two sends within `MIN_SPACING`. A reading that is not a
state of charge (unavailable, unknown, not a number, outside 0-100) is never
sent: in particular an unavailable sensor is not a battery at 0 %.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime, timedelta
import math
from typing import Any, Literal
import uuid

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_call_later, async_track_state_change_event
from homeassistant.util import dt as dt_util

from .api import ApiError, FlatpeakClient
from .const import CONF_DEVICE_ID, CONF_LOCATION_ID, CONF_SOC_ENTITY, DOMAIN, LOGGER
from .listeners import Listeners
from .problems import Backoff

MIN_CHANGE = 2.0  # percentage points
RESEND_AFTER = timedelta(minutes=15)
MIN_SPACING = timedelta(minutes=1)
MAX_RETRY = timedelta(minutes=15)
DEFAULT_TARGET = 100.0

type SyncStatus = Literal["not_linked", "source_unavailable", "pending", "synced", "error"]
SYNC_STATUSES: list[str] = ["not_linked", "source_unavailable", "pending", "synced", "error"]


def read_percent(state: str | None) -> float | None:
    """Return a state of charge from an entity state, or None if it is not one."""
    if state is None or state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
        return None
    try:
        value = float(state)
    except ValueError:
        return None
    return value if math.isfinite(value) and 0 <= value <= 100 else None


class StateOfChargeLink:
    """Keeps Flatpeak told of the battery's state of charge and its target."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: FlatpeakClient,
        settings: Mapping[str, Any],
        refresh: Callable[[], Coroutine[Any, Any, None]],
    ) -> None:
        """Prepare the link of one device, from its settings; `async_start` begins."""
        self.hass = hass
        self.entry = entry
        self.client = client
        self.device_id: str = settings[CONF_DEVICE_ID]
        self.location_id: str = settings[CONF_LOCATION_ID]
        self._refresh = refresh
        self.source: str | None = settings.get(CONF_SOC_ENTITY) or None
        self._unsub_source: CALLBACK_TYPE | None = None
        self.target = DEFAULT_TARGET
        self.reading: float | None = None
        self.sent_soc: float | None = None
        self.sent_target: float | None = None
        self.sent_at: datetime | None = None
        self.error: str | None = None
        self.backoff = Backoff(MAX_RETRY)
        # When a failed send may be tried again.
        self._retry_at: datetime | None = None
        self._reference: str | None = None
        self._unsub_timer: CALLBACK_TYPE | None = None
        self._listeners = Listeners("state-of-charge link")
        self._sending = False

    # Following the sensor

    @callback
    def async_start(self) -> None:
        """Follow the linked sensor, if there is one."""
        if self.source is None:
            return
        self._unsub_source = async_track_state_change_event(
            self.hass, self.source, self._source_changed
        )
        current = self.hass.states.get(self.source)
        self._take(current.state if current else None)

    @callback
    def set_source(self, source: str | None) -> None:
        """Follow another sensor (or none), from its current reading."""
        self.async_stop()
        self.source = source or None
        self.reading = None
        self.async_start()
        self._plan()

    @callback
    def async_stop(self) -> None:
        """Stop following the sensor and sending."""
        if self._unsub_source is not None:
            self._unsub_source()
            self._unsub_source = None
        self._cancel_timer()

    @callback
    def _source_changed(self, event: Event[EventStateChangedData]) -> None:
        new_state = event.data["new_state"]
        self._take(new_state.state if new_state else None)

    @callback
    def _take(self, state: str | None) -> None:
        value = read_percent(state)
        if value is None and state not in (None, STATE_UNAVAILABLE, STATE_UNKNOWN):
            LOGGER.warning(
                "%s reads %r, which is not a state of charge from 0 to 100 %%: not sent",
                self.source,
                state,
            )
        if value != self.reading:
            self._reference = None  # a new reading gets a new record reference
        self.reading = value
        self._plan()

    @callback
    def set_target(self, target: float) -> None:
        """Take a new target state of charge (from the number entity)."""
        self.target = target
        self._plan()

    # State, for the entities

    @property
    def status(self) -> SyncStatus:
        """Where the loop stands."""
        if self.error is not None:
            return "error"
        if self.source is None and self.sent_at is None:
            return "not_linked"
        if self.source is not None and self.reading is None:
            return "source_unavailable"
        if self._due() is not None:
            return "pending"
        return "synced"

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call update whenever the status changes; return the way to stop."""
        return self._listeners.add(update)

    @callback
    def _notify(self) -> None:
        self._listeners.notify()

    # When to send

    def _due(self) -> datetime | None:
        """Return when the current reading should be sent, or None if it need not be."""
        soc = self.reading if self.source is not None else self.sent_soc
        if soc is None:
            return None
        if self.sent_at is None:
            due = dt_util.utcnow()
        elif abs(soc - (self.sent_soc or 0)) >= MIN_CHANGE or self.target != self.sent_target:
            due = self.sent_at + MIN_SPACING
        elif soc != self.sent_soc:
            due = self.sent_at + RESEND_AFTER
        else:
            return None
        if self._retry_at is not None:
            due = max(due, self._retry_at)
        if (deadline := self.client.not_before) is not None:
            # Flatpeak asked for nothing before then (Retry-After).
            due = max(due, deadline)
        return due

    @callback
    def _plan(self) -> None:
        """Send now if due, or set a timer for when it will be."""
        self._cancel_timer()
        due = self._due()
        if due is not None and not self._sending:
            delay = (due - dt_util.utcnow()).total_seconds()
            if delay <= 0:
                self._sending = True
                self.entry.async_create_background_task(
                    self.hass, self._send_due(), "flatpeak state of charge"
                )
            else:
                self._unsub_timer = async_call_later(self.hass, delay, self._timer_fired)
        self._notify()

    @callback
    def _timer_fired(self, _now: datetime) -> None:
        self._unsub_timer = None
        self._plan()

    @callback
    def _cancel_timer(self) -> None:
        if self._unsub_timer is not None:
            self._unsub_timer()
            self._unsub_timer = None

    async def _send_due(self) -> None:
        soc = self.reading if self.source is not None else self.sent_soc
        try:
            if soc is not None:
                await self.async_send(soc, self.target)
        except HomeAssistantError:
            pass  # logged and shown by the status; retried after the back-off
        finally:
            self._sending = False
        self._plan()

    # Sending

    async def async_send(self, soc: float, target: float) -> None:
        """Send a state of charge and target now, then refresh the schedule.

        Raises a translated HomeAssistantError when Flatpeak refuses or
        cannot be reached; the loop retries by itself.
        """
        now = dt_util.utcnow()
        self._reference = self._reference or uuid.uuid4().hex
        try:
            await self.client.submit_device_state(
                self.device_id,
                state_of_charge_percent=soc,
                target_state_of_charge_percent=target,
                time=now,
                location_id=self.location_id,
                record_reference_id=self._reference,
            )
        except ApiError as err:
            if self.error is None:
                LOGGER.warning("Could not send the state of charge to Flatpeak: %s", err)
            self.error = str(err)
            self._retry_at = now + self.backoff.failed(err)
            self._notify()
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="state_not_sent",
                translation_placeholders={"error": str(err)},
            ) from err
        if self.error is not None:
            LOGGER.info("The state of charge reaches Flatpeak again")
        self.error = None
        self.backoff.succeeded()
        self._retry_at = None
        self._reference = None
        self.sent_soc, self.sent_target, self.sent_at = soc, target, now
        self.target = target
        self._plan()
        await self._refresh()
