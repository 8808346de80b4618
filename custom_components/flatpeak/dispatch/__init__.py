"""Dispatch targets: where the charging windows are sent to command devices.

The rest of the integration sees only what is exported here: the
`DispatchTarget` interface, the `TARGETS` kinds, and the slot that holds an
entry's running target.
"""

from __future__ import annotations

from .slot import DispatchSlot
from .target import DispatchedEvent, DispatchTarget, TargetKind
from .targets import TARGETS, dispatch_subentry

__all__ = [
    "TARGETS",
    "DispatchSlot",
    "DispatchTarget",
    "DispatchedEvent",
    "TargetKind",
    "dispatch_subentry",
]
