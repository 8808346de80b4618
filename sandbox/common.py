"""Helpers shared by the simulated APIs: replies, errors, ids and time formats."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import hashlib
import json
import math
import re
from typing import Any, Literal, TypeGuard
import uuid

from aiohttp import web

type JsonDict = dict[str, Any]
type Api = Literal["flatpeak", "flip"]

# Flatpeak's busbar schema pattern for every object id.
ID_PATTERN = re.compile(r"^[a-z]{2,4}_[A-Za-z0-9]+$")


@dataclass
class Reply:
    """A JSON answer before it is serialised, so that faults can reshape it."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """An error answer; each API renders it in its own envelope."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        error_type: str | None = None,
        context: str | None = None,
        detail: list[JsonDict] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Describe the error.

        `error_type` and `context` override Flatpeak's defaults; `detail` is
        only used by the Flip envelope.
        """
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.error_type = error_type
        self.context = context
        self.detail = detail or []
        self.headers = headers or {}


type Handler = Callable[[web.Request], Awaitable[Reply]]


@dataclass(frozen=True)
class RouteSpec:
    """One HTTP route of a simulated API and the name used for counts and faults."""

    method: str
    path: str
    name: str
    handler: Handler


class IdFactory:
    """Deterministic object ids: the same seed gives the same sequence of ids."""

    def __init__(self, seed: int) -> None:
        """Start one counter per prefix."""
        self._seed = seed
        self._counters: dict[str, int] = {}

    def _digest(self, prefix: str) -> bytes:
        count = self._counters.get(prefix, 0)
        self._counters[prefix] = count + 1
        return hashlib.sha256(f"{self._seed}:{prefix}:{count}".encode()).digest()

    def hex_id(self, prefix: str) -> str:
        """Return `prefix_` followed by 24 hex digits, like Flatpeak's ids."""
        return f"{prefix}_{self._digest(prefix).hex()[:24]}"

    def uuid4(self, namespace: str = "uuid") -> str:
        """Return a version-4 UUID string derived from the seed."""
        raw = bytearray(self._digest(namespace)[:16])
        return str(uuid.UUID(bytes=bytes(raw), version=4))


def iso_z(moment: datetime) -> str:
    """Format an aware datetime as UTC with a `Z` suffix, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_aware(value: object) -> datetime | None:
    """Parse an RFC 3339 string with a zone; None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return None
    return parsed.astimezone(UTC)


def floor_to(moment: datetime, step: timedelta) -> datetime:
    """Round an aware datetime down to a multiple of `step` since the epoch."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    steps = (moment - epoch) // step
    return epoch + steps * step


def is_number(value: object) -> TypeGuard[int | float]:
    """Return True for a finite JSON number (bool is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


def json_number(value: float) -> int | float:
    """Write integral floats as JSON integers, as the vendors' examples do."""
    if float(value).is_integer():
        return int(value)
    return value


async def read_json(request: web.Request) -> tuple[bool, Any]:
    """Read the body as JSON: (True, value), or (False, None) when unparsable.

    An empty body reads as an empty object so that field validation names
    the missing fields instead of complaining about the encoding.
    """
    raw = await request.read()
    if not raw.strip():
        return True, {}
    try:
        return True, json.loads(raw)
    except ValueError:
        return False, None
