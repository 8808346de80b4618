"""What a dispatch target is to the rest of the integration.

A dispatch target takes the charging windows somewhere that commands devices
(Flip's demand-response events, for one). It lives in a config subentry of its
own type, and is started, replaced and stopped with that subentry while the
entry runs. The services, repairs, diagnostics and sensors know targets only
through `DispatchTarget`; each kind of target says how it is made through its
`TargetKind`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry, ConfigSubentryFlow
from homeassistant.core import CALLBACK_TYPE, HomeAssistant

from ..coordinator import ScheduleCoordinator


@dataclass(frozen=True, slots=True, kw_only=True)
class DispatchedEvent:
    """An event a target holds for the integration, as actions and sensors show it."""

    event_id: str
    mode: str | None
    starts_at: datetime
    ends_at: datetime
    setpoint_w: int | None

    @property
    def duration_s(self) -> int:
        """How long the event lasts, in seconds."""
        return round((self.ends_at - self.starts_at).total_seconds())


class DispatchTarget(ABC):
    """One running dispatch: keeps a target's events in line with the charging windows."""

    # The subentry it runs for, and the data it was started with.
    subentry_id: str
    subentry_data: dict[str, Any]

    @abstractmethod
    def async_start(self) -> None:
        """Follow the schedule from now on."""

    @abstractmethod
    async def async_stop(self) -> None:
        """Stop; withdraw what was dispatched when the subentry itself was removed."""

    @abstractmethod
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call update whenever what the target holds changes; return the way to stop."""

    # What sensors read

    @abstractmethod
    def status(self, now: datetime) -> str:
        """Say how the dispatch is doing: one of the kind's `statuses`."""

    @abstractmethod
    def status_attributes(self, now: datetime) -> dict[str, Any]:
        """Say why the status is what it is."""

    @abstractmethod
    def upcoming(self, now: datetime) -> list[DispatchedEvent]:
        """Return the dispatched events that have not ended, by start."""

    def next_event(self, now: datetime) -> DispatchedEvent | None:
        """Return the first dispatched event that has not started."""
        return next((event for event in self.upcoming(now) if event.starts_at > now), None)

    # Actions

    @abstractmethod
    async def async_dispatch_window(self, start: datetime | None) -> DispatchedEvent:
        """Dispatch the window starting (or running) at start; the next one without."""

    @abstractmethod
    async def async_dispatch_action(self, fields: Mapping[str, Any]) -> DispatchedEvent:
        """Dispatch an explicit action, from the kind's `action_fields`."""

    @abstractmethod
    async def async_cancel(self, event_id: str | None) -> list[str]:
        """Cancel one dispatched event, or every one not yet ended; return their IDs."""

    # Repairs and diagnostics

    @abstractmethod
    def repair_issues(self) -> list[str]:
        """Return the translation keys of the repair issues the target calls for now."""

    @abstractmethod
    def diagnostics(self) -> dict[str, Any]:
        """Return what the target holds, for diagnostics (redacted by the caller)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetKind:
    """A kind of dispatch target: its subentry, its device, its flow, how it starts."""

    # The config subentry type that holds one.
    subentry_type: str
    # The prefix of its entities' keys and translation keys.
    key: str
    # Its Home Assistant device: "<entry title> <title>".
    title: str
    manufacturer: str
    model: str
    # The values its status sensor takes.
    statuses: tuple[str, ...]
    flow: type[ConfigSubentryFlow]
    # The fields the dispatch_window action takes for an explicit action.
    action_fields: Mapping[Any, Any]
    # Start a target for a subentry; None when the subentry cannot start (logged).
    async_start: Callable[
        [HomeAssistant, ConfigEntry, ConfigSubentry, ScheduleCoordinator],
        Awaitable[DispatchTarget | None],
    ]
    # Withdraw what the subentry of a removed account dispatched, and forget it.
    async_remove: Callable[[HomeAssistant, ConfigEntry, ConfigSubentry], Awaitable[None]]
