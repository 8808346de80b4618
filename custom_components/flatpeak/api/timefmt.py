"""How both APIs write an instant."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_text(value: datetime) -> str:
    """Write an aware instant as both APIs read it: ISO 8601 in UTC, with a Z."""
    if value.utcoffset() is None:
        raise ValueError("timestamps sent to the APIs must be timezone-aware")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
