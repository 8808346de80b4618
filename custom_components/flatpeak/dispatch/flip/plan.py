"""Which Flip events the charging windows call for: pure functions, no I/O.

A charging window (a slot of the schedule) becomes one Flip event with one
action: charge from the grid at the slot's power, from its start, for its
duration. Flip events carry no reference of the caller, so an event is
recognised by its content, its `EventKey`: program, target, and the action's
mode, start, duration, power and options. Two events with the same key are the
same dispatch.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import re
from typing import Any, Self

from ...api import (
    ChargingSlot,
    FlipAction,
    FlipEvent,
    FlipMode,
    FlipPowerMode,
    RequestError,
    utc_text,
)
from .const import (
    BACKUP_RESERVE,
    CONF_AUTO_DISPATCH,
    CONF_PROGRAM_ID,
    CONF_TARGET_IDS,
    CONF_TARGET_TYPE,
    MIN_DURATION,
    MIN_LEAD_TIME,
)

# Who asked for an event: the schedule (a window, created automatically or by
# the dispatch_window action) or an explicit action. Reconciliation cancels
# window events whose window vanished or moved; it leaves explicit actions alone.
ORIGIN_WINDOW = "window"
ORIGIN_ACTION = "action"

# Why a window is not dispatched.
SKIP_NO_POWER = "no_power"
SKIP_TOO_SHORT = "too_short"
SKIP_TOO_SOON = "too_soon"
SKIP_CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True, kw_only=True)
class DispatchSettings:
    """What a Flip dispatch sends, to whom, and which windows qualify."""

    program_id: str
    target_type: str
    target_ids: tuple[str, ...]
    auto_dispatch: bool = True
    min_lead_time: timedelta = MIN_LEAD_TIME.default_duration
    min_duration: timedelta = MIN_DURATION.default_duration
    backup_reserve: int | None = None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        """Read the settings from a subentry's data."""
        return cls(
            program_id=str(data[CONF_PROGRAM_ID]),
            target_type=str(data[CONF_TARGET_TYPE]),
            target_ids=tuple(sorted(str(target) for target in data[CONF_TARGET_IDS])),
            auto_dispatch=bool(data.get(CONF_AUTO_DISPATCH, True)),
            min_lead_time=MIN_LEAD_TIME.duration(data),
            min_duration=MIN_DURATION.duration(data),
            backup_reserve=(
                None if data.get(BACKUP_RESERVE.key) is None else BACKUP_RESERVE.value(data)
            ),
        )


def _utc_seconds(moment: datetime) -> datetime:
    """Return an instant in UTC, to the whole second: the precision Flip is sent."""
    return moment.astimezone(UTC).replace(microsecond=0)


@dataclass(frozen=True, slots=True, kw_only=True)
class EventKey:
    """The content that identifies a dispatched event: target and its one action."""

    program_id: str
    target_type: str
    target_ids: tuple[str, ...]
    mode: str
    starts_at: datetime
    duration_s: int
    power_mode: str | None = None
    setpoint_w: int | None = None
    enable_grid_import: bool | None = None
    backup_reserve: int | None = None

    @property
    def ends_at(self) -> datetime:
        """When the event's action ends."""
        return self.starts_at + timedelta(seconds=self.duration_s)

    def action(self) -> FlipAction:
        """Return the action to send to Flip."""
        return FlipAction(
            mode=self.mode,
            starts_at=self.starts_at,
            duration_s=self.duration_s,
            power_mode=self.power_mode,
            setpoint_w=self.setpoint_w,
            enable_grid_import=self.enable_grid_import,
            backup_reserve_percentage=self.backup_reserve,
        )

    @classmethod
    def build(cls, settings: DispatchSettings, action: FlipAction) -> Self:
        """Return the key of an action sent to the settings' program and target."""
        starts_at = _utc_seconds(action.starts_at)
        return cls(
            program_id=settings.program_id,
            target_type=settings.target_type,
            target_ids=tuple(sorted(settings.target_ids)),
            mode=str(action.mode),
            starts_at=starts_at,
            duration_s=int(action.duration_s),
            power_mode=str(action.power_mode) if action.power_mode else None,
            setpoint_w=action.setpoint_w,
            enable_grid_import=action.enable_grid_import,
            backup_reserve=action.backup_reserve_percentage,
        )

    @classmethod
    def of_event(cls, event: FlipEvent) -> Self | None:
        """Return the key of an event as Flip lists it; None unless it has one action."""
        if len(event.actions) != 1 or event.program_id is None or event.target_type is None:
            return None
        (action,) = event.actions
        return cls(
            program_id=event.program_id,
            target_type=str(event.target_type),
            target_ids=tuple(sorted(event.target_ids)),
            mode=str(action.mode),
            starts_at=_utc_seconds(action.starts_at),
            duration_s=action.duration_s,
            power_mode=str(action.power_mode) if action.power_mode else None,
            setpoint_w=action.setpoint_w,
            enable_grid_import=action.enable_grid_import,
            backup_reserve=action.backup_reserve_percentage,
        )

    def to_json(self) -> dict[str, Any]:
        """Return the key as stored."""
        return {
            "program_id": self.program_id,
            "target_type": self.target_type,
            "target_ids": list(self.target_ids),
            "mode": self.mode,
            "starts_at": utc_text(self.starts_at),
            "duration_s": self.duration_s,
            "power_mode": self.power_mode,
            "setpoint_w": self.setpoint_w,
            "enable_grid_import": self.enable_grid_import,
            "backup_reserve": self.backup_reserve,
        }

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Read a stored key; raise ValueError, whatever is wrong with it."""
        if not isinstance(data, dict):
            raise ValueError("a stored event key is not an object")  # noqa: TRY004
        try:
            starts_at = datetime.fromisoformat(str(data.get("starts_at")))
        except ValueError:
            starts_at = None
        if starts_at is None or starts_at.tzinfo is None:
            raise ValueError("a stored event key has no valid start")
        try:
            return cls(
                program_id=str(data["program_id"]),
                target_type=str(data["target_type"]),
                target_ids=tuple(sorted(str(target) for target in data["target_ids"])),
                mode=str(data["mode"]),
                starts_at=_utc_seconds(starts_at),
                duration_s=int(data["duration_s"]),
                power_mode=None if data.get("power_mode") is None else str(data["power_mode"]),
                setpoint_w=_opt_int(data.get("setpoint_w")),
                enable_grid_import=(
                    None
                    if data.get("enable_grid_import") is None
                    else bool(data["enable_grid_import"])
                ),
                backup_reserve=_opt_int(data.get("backup_reserve")),
            )
        except (KeyError, TypeError) as err:
            raise ValueError(f"a stored event key is incomplete: {err}") from err


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _opt_time(moment: datetime | None) -> str | None:
    return None if moment is None else utc_text(moment)


def _read_time(value: Any) -> datetime | None:
    """Read a stored instant; None when it is absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


@dataclass(frozen=True, slots=True)
class Dispatched:
    """An event in Flip that this integration dispatched."""

    event_id: str
    key: EventKey
    origin: str
    # When it was created, for as long as Flip's list may not show it yet;
    # None when not known, which counts as long ago.
    created_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the event as stored."""
        return {
            "id": self.event_id,
            "origin": self.origin,
            "key": self.key.to_json(),
            "created_at": _opt_time(self.created_at),
        }

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Read a stored event; raise ValueError, whatever is wrong with it."""
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            raise ValueError("a stored event has no id")  # noqa: TRY004
        origin = data.get("origin")
        if origin not in (ORIGIN_WINDOW, ORIGIN_ACTION):
            raise ValueError(f"a stored event has an unknown origin {origin!r}")
        key = EventKey.from_json(data.get("key"))
        return cls(data["id"], key, origin, _read_time(data.get("created_at")))


@dataclass(frozen=True, slots=True)
class Intent:
    """A create about to be sent: proof, after a crash or a lost answer, that the event is ours."""

    key: EventKey
    origin: str
    # When the create was sent; None when not known, which counts as long ago.
    sent_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the intent as stored."""
        return {
            "origin": self.origin,
            "key": self.key.to_json(),
            "sent_at": _opt_time(self.sent_at),
        }

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Read a stored intent; raise ValueError if it is not one."""
        if not isinstance(data, dict) or data.get("origin") not in (ORIGIN_WINDOW, ORIGIN_ACTION):
            raise ValueError("a stored intent has no valid origin")
        key = EventKey.from_json(data.get("key"))
        return cls(key, data["origin"], _read_time(data.get("sent_at")))


@dataclass(frozen=True, slots=True)
class Skipped:
    """A window that is not dispatched, and why."""

    start: datetime
    end: datetime
    reason: str


def window_action(slot: ChargingSlot, settings: DispatchSettings) -> FlipAction | None:
    """Return the action a slot calls for; None when it has no power to set."""
    if slot.power_w is None or round(slot.power_w) <= 0:
        return None
    starts_at = _utc_seconds(slot.start)
    return FlipAction(
        mode=FlipMode.CHARGE,
        starts_at=starts_at,
        duration_s=round((slot.end - starts_at).total_seconds()),
        power_mode=FlipPowerMode.SETPOINT,
        setpoint_w=round(slot.power_w),
        enable_grid_import=True,
        backup_reserve_percentage=settings.backup_reserve,
    )


def window_key(slot: ChargingSlot, settings: DispatchSettings) -> EventKey | None:
    """Return the key of the event a slot calls for; None without a power."""
    action = window_action(slot, settings)
    return None if action is None else EventKey.build(settings, action)


@dataclass(frozen=True, slots=True)
class Wanted:
    """The windows that should be events in Flip, and those that are not, with why."""

    windows: dict[EventKey, ChargingSlot]
    skipped: tuple[Skipped, ...]


def wanted_windows(
    slots: Iterable[ChargingSlot],
    settings: DispatchSettings,
    now: datetime,
    dispatched: Collection[EventKey] = (),
    cancelled: Collection[EventKey] = (),
) -> Wanted:
    """Work out which windows should be events in Flip now.

    A window qualifies when it has a power, lasts at least the minimum
    duration and starts no sooner than the lead time. A window already
    dispatched stays wanted, however soon it starts or even while it runs,
    as long as the schedule still has it unchanged. Windows the user
    cancelled are not wanted. Ended windows are ignored.
    """
    windows: dict[EventKey, ChargingSlot] = {}
    skipped: list[Skipped] = []
    for slot in slots:
        if slot.end <= now:
            continue
        key = window_key(slot, settings)
        reason: str | None = None
        if key is None:
            reason = SKIP_NO_POWER
        elif key in cancelled:
            reason = SKIP_CANCELLED
        elif key in dispatched:
            reason = None
        elif slot.end - slot.start < settings.min_duration or key.duration_s <= 0:
            reason = SKIP_TOO_SHORT
        elif slot.start < now + settings.min_lead_time:
            reason = SKIP_TOO_SOON
        if reason is not None:
            skipped.append(Skipped(slot.start, slot.end, reason))
        elif key is not None:
            windows.setdefault(key, slot)
    return Wanted(windows, tuple(skipped))


@dataclass(frozen=True, slots=True)
class Changes:
    """What to do in Flip to match the windows: cancel first, then create."""

    cancel: tuple[Dispatched, ...]
    create: tuple[EventKey, ...]


def still_covered(key: EventKey, slots: Iterable[ChargingSlot], now: datetime) -> bool:
    """Say whether any slot still overlaps what is left of a running event."""
    return any(slot.start < key.ends_at and slot.end > now for slot in slots)


def changes(
    wanted: Wanted,
    dispatched: Sequence[Dispatched],
    slots: Sequence[ChargingSlot],
    now: datetime,
    *,
    create: bool,
) -> Changes:
    """Compare the wanted windows with the events dispatched.

    A window event whose window vanished or moved is cancelled, unless it is
    running and the schedule still has a window over what is left of it (a
    running event is cancelled only when its window is withdrawn). Events of
    explicit actions and events already ended are left alone. New windows are
    created only with `create` (automatic dispatch on).
    """
    cancel = tuple(
        item
        for item in dispatched
        if item.origin == ORIGIN_WINDOW
        and item.key not in wanted.windows
        and item.key.ends_at > now
        and not (item.key.starts_at <= now and still_covered(item.key, slots, now))
    )
    have = {item.key for item in dispatched}
    new = tuple(key for key in wanted.windows if key not in have) if create else ()
    return Changes(cancel, new)


def _field_path(path: str) -> str:
    """Write `actions.0.mode` the way the client does: `actions[0].mode`."""
    return re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", path)


def rejection_text(err: RequestError) -> str:
    """Say which fields Flip rejected and why, once each; else Flip's own words."""
    seen: dict[tuple[str, str], None] = {}
    for path, reason in err.field_errors:
        seen.setdefault((_field_path(path), reason), None)
    if seen:
        return "; ".join(f"{path}: {reason}" if path else reason for path, reason in seen)
    return str(err)
