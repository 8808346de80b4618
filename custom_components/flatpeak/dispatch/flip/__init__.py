"""The Flip Utility API as a dispatch target: each charging window a demand-response event."""

from __future__ import annotations

from ..target import TargetKind
from .const import SUBENTRY_TYPE
from .dispatcher import ACTION_FIELDS, STATUSES, async_remove_dispatch, async_start_dispatch
from .flow import FlipDispatchSubentryFlow

FLIP = TargetKind(
    subentry_type=SUBENTRY_TYPE,
    key="flip",
    title="Flip dispatch",
    manufacturer="Flip",
    model="Utility API dispatch",
    statuses=STATUSES,
    flow=FlipDispatchSubentryFlow,
    action_fields=ACTION_FIELDS,
    async_start=async_start_dispatch,
    async_remove=async_remove_dispatch,
)
