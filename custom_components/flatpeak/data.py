"""What a loaded config entry holds: built once at setup, read by every platform.

Only the Flip dispatch changes while the entry runs: its slot holds the
dispatcher in force.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.config_entries import ConfigEntry

from .api import FlatpeakClient
from .coordinator import (
    DeviceCoordinator,
    FlatpeakCoordinator,
    PriceCoordinator,
    ScheduleCoordinator,
    StatusCoordinator,
)
from .dispatch_slot import DispatchSlot
from .dispatcher import FlipDispatcher
from .soc import StateOfChargeLink

type FlatpeakConfigEntry = ConfigEntry[FlatpeakData]


@dataclass(frozen=True, slots=True, kw_only=True)
class FlatpeakData:
    """The coordinators, links and dispatch of one entry."""

    client: FlatpeakClient
    device: DeviceCoordinator
    status: StatusCoordinator
    schedule: ScheduleCoordinator
    import_prices: PriceCoordinator
    # Only when the location has an export tariff connected (a change reloads).
    export_prices: PriceCoordinator | None
    soc: StateOfChargeLink
    # The Flip dispatch, added, changed and removed in place.
    dispatch: DispatchSlot
    # The registry ID of the Flatpeak device, registered before the platforms.
    registry_device_id: str

    @property
    def dispatcher(self) -> FlipDispatcher | None:
        """The Flip dispatcher in force, when the entry has a dispatch."""
        return self.dispatch.dispatcher

    @property
    def coordinators(self) -> tuple[FlatpeakCoordinator[Any], ...]:
        """All coordinators, the device first."""
        prices = (self.import_prices, self.export_prices)
        return (self.device, self.status, self.schedule, *(p for p in prices if p))
