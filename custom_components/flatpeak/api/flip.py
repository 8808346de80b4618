"""Asynchronous client of the Flip Utility API (demand-response events)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Self

import aiohttp

from ._http import DEFAULT_TIMEOUT, MAX_FIELD_ERRORS, HttpClient, text_of
from ._parse import Reader, describe
from .exceptions import InvalidResponseError
from .timefmt import utc_text
from .validation import check_id

DEFAULT_FLIP_URL = "https://api-utility.flip.energy"
FLIP_SANDBOX_URL = "https://api-utility-sandbox.flip.energy"

_SERVICE = "Flip"


class FlipMode(StrEnum):
    """What a battery should do during an action."""

    CHARGE = "CHARGE"
    DISCHARGE = "DISCHARGE"
    STANDBY = "STANDBY"
    BACKUP = "BACKUP"
    SELF_CONSUMPTION = "SELF_CONSUMPTION"
    SAVINGS = "SAVINGS"


class FlipPowerMode(StrEnum):
    """How the power of a charge or discharge is chosen."""

    SETPOINT = "SETPOINT"
    FOLLOW_LOAD = "FOLLOW_LOAD"


class FlipTargetType(StrEnum):
    """What the target IDs of an event name."""

    DEVICE = "DEVICE"
    GROUP = "GROUP"
    PROGRAM = "PROGRAM"
    SITE = "SITE"


@dataclass(frozen=True, slots=True, kw_only=True)
class FlipAction:
    """One instruction of an event: a mode from `starts_at` for `duration_s` seconds."""

    mode: FlipMode | str
    starts_at: datetime
    duration_s: int
    power_mode: FlipPowerMode | str | None = None
    setpoint_w: int | None = None
    setpoint_mode: str | None = None
    backup_reserve_percentage: int | None = None
    enable_grid_import: bool | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the action as Flip expects it; unset fields are left out."""
        body: dict[str, Any] = {
            "mode": str(self.mode),
            "starts_at": utc_text(self.starts_at),
            "duration_s": self.duration_s,
        }
        optional = {
            "power_mode": str(self.power_mode) if self.power_mode else None,
            "setpoint_w": self.setpoint_w,
            "setpoint_mode": self.setpoint_mode,
            "backup_reserve_percentage": self.backup_reserve_percentage,
            "enable_grid_import": self.enable_grid_import,
        }
        body.update({key: value for key, value in optional.items() if value is not None})
        return body

    @classmethod
    def from_reader(cls, doc: Reader) -> Self:
        """Read an action of an event."""
        setpoint = doc.opt_int("setpoint_w")
        reserve = doc.opt_int("backup_reserve_percentage")
        return cls(
            mode=doc.enum("mode", FlipMode),
            starts_at=doc.timestamp("starts_at"),
            duration_s=int(doc.number("duration_s")),
            power_mode=doc.opt_enum("power_mode", FlipPowerMode),
            setpoint_w=setpoint,
            setpoint_mode=doc.opt_string("setpoint_mode"),
            backup_reserve_percentage=reserve,
            enable_grid_import=doc.opt_boolean("enable_grid_import"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class FlipEvent:
    """A demand-response event as Flip holds it."""

    id: str
    program_id: str | None
    target_type: FlipTargetType | str | None
    target_ids: tuple[str, ...]
    actions: tuple[FlipAction, ...]
    starts_at: datetime | None
    ends_at: datetime | None
    created_at: datetime | None

    @classmethod
    def from_json(cls, data: Any, path: str = "") -> Self:
        """Read an event object."""
        return cls.from_reader(Reader(data, path, _SERVICE))

    @classmethod
    def from_reader(cls, doc: Reader) -> Self:
        """Read an event object."""
        return cls(
            id=doc.identifier("id"),
            program_id=doc.opt_identifier("program_id"),
            target_type=doc.opt_enum("target_type", FlipTargetType),
            target_ids=doc.strings("target_ids"),
            actions=tuple(FlipAction.from_reader(item) for item in doc.objects("actions")),
            starts_at=doc.opt_timestamp("starts_at"),
            ends_at=doc.opt_timestamp("ends_at"),
            created_at=doc.opt_timestamp("created_at"),
        )


def _field_path(loc: Any) -> str:
    """Turn a pydantic `loc` (`["body", "actions", 0, "mode"]`) into `actions[0].mode`."""
    if not isinstance(loc, list):
        return text_of(loc) or ""
    parts = loc[1:] if loc and loc[0] in ("body", "query", "path") else loc
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _events(data: Any) -> tuple[FlipEvent, ...]:
    """Read the list of events."""
    if not isinstance(data, list):
        raise InvalidResponseError(
            f"{_SERVICE} sent an unexpected list of events: expected a list, got {describe(data)}",
            service=_SERVICE,
        )
    return tuple(FlipEvent.from_json(item, f"[{index}]") for index, item in enumerate(data))


class FlipClient(HttpClient):
    """Talks to the Flip Utility API with one API key."""

    service = _SERVICE

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_key: str,
        *,
        base_url: str = DEFAULT_FLIP_URL,
        request_timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """Prepare a client; nothing is sent until the first call."""
        super().__init__(session, base_url, request_timeout)
        self._api_key = api_key
        self._headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}

    def __repr__(self) -> str:
        """Never show the key."""
        return f"FlipClient(base_url={self.base_url!r})"

    def secrets(self) -> tuple[str, ...]:
        """Return the API key."""
        return (self._api_key,)

    def describe_error(self, data: Any) -> tuple[str | None, str, tuple[tuple[str, str], ...]]:
        """Read Flip's error envelope, naming each rejected field and why."""
        if not isinstance(data, dict):
            return None, "", ()
        # Only the first few are kept: a body of thousands costs no more than they do.
        fields: list[tuple[str, str]] = []
        detail = data.get("detail")
        if isinstance(detail, list):
            for item in detail:
                if len(fields) >= MAX_FIELD_ERRORS:
                    break
                if isinstance(item, dict) and (msg := text_of(item.get("msg"))):
                    fields.append((_field_path(item.get("loc")), msg))
        errors = data.get("errors")
        if isinstance(errors, list):
            for item in errors:
                if len(fields) >= MAX_FIELD_ERRORS:
                    break
                if isinstance(item, dict) and (message := text_of(item.get("message"))):
                    entry = (text_of(item.get("path")) or "", message)
                    if entry not in fields:
                        fields.append(entry)
        message = text_of(data.get("message")) or (text_of(detail) if not fields else None)
        reasons = [f"{path}: {msg}" if path else msg for path, msg in fields]
        if message and not reasons:
            reasons.append(message)
        return text_of(data.get("code")), "; ".join(reasons), tuple(fields)

    async def create_event(
        self,
        *,
        program_id: str,
        target_type: FlipTargetType | str,
        target_ids: Sequence[str],
        actions: Sequence[FlipAction],
    ) -> FlipEvent:
        """Dispatch a demand-response event (`POST /v1/events`)."""
        body = {
            "program_id": program_id,
            "target_type": str(target_type),
            "target_ids": list(target_ids),
            "actions": [action.to_json() for action in actions],
        }
        data = await self._request("POST", "/v1/events", headers=self._headers, body=body)
        return self.parse(FlipEvent.from_json, data)

    async def list_events(self) -> tuple[FlipEvent, ...]:
        """Return every event of the programs the key can see (`GET /v1/events`)."""
        data = await self._request("GET", "/v1/events", headers=self._headers)
        return self.parse(_events, data)

    async def cancel_event(self, event_id: str) -> None:
        """Cancel an event that has not completed (`DELETE /v1/events/{id}`)."""
        check_id(event_id, service=_SERVICE)
        await self._request("DELETE", f"/v1/events/{event_id}", headers=self._headers)
