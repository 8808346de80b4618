"""What a loaded account holds: one client, its locations and its devices.

The config entry is the Flatpeak account: one client and one bearer token.
Each Flatpeak device is a config subentry with coordinators of its own (the
device, its schedule), a state-of-charge link, a writer of its entities and a
dispatch slot. Devices at the same location share that location's tariff
status and prices, fetched once for all of them. Devices come and go with
their subentries while the account runs: nothing else is restarted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util

from .api import (
    DEVICE_PAGE_LIMIT,
    ApiError,
    Device,
    FlatpeakClient,
    InvalidResponseError,
    TariffDirection,
    TariffStatus,
)
from .const import (
    CONF_ACCOUNT_ID,
    CONF_DEVICE_ID,
    CONF_LOCATION_ID,
    CONF_SOC_ENTITY,
    DEVICE_INTERVAL,
    DOMAIN,
    LOGGER,
    SUBENTRY_DEVICE,
)
from .coordinator import (
    DeviceCoordinator,
    FlatpeakCoordinator,
    PriceCoordinator,
    ScheduleCoordinator,
    StatusCoordinator,
)
from .devices import async_register_flatpeak_device, device_info
from .dispatch import DispatchSlot, dispatch_subentry
from .listeners import Listeners
from .soc import StateOfChargeLink
from .store import ResponseCache
from .writer import StateWriter

type FlatpeakConfigEntry = ConfigEntry[AccountData]

# What the account keeps of its device list: the devices seen, and those offered.
DEVICE_LIST = "device_list"


class LocationData:
    """A location's tariff status and prices, shared by the account's devices there."""

    def __init__(
        self,
        status: StatusCoordinator,
        import_prices: PriceCoordinator,
        export_prices: PriceCoordinator | None,
    ) -> None:
        """Hold the location's coordinators."""
        self.location_id = status.scope
        self.status = status
        self.import_prices = import_prices
        # Only when the location has an export tariff connected (a change reloads).
        self.export_prices = export_prices

    @property
    def coordinators(self) -> tuple[FlatpeakCoordinator[Any], ...]:
        """The status and the prices held."""
        prices = (self.import_prices, self.export_prices)
        return (self.status, *(p for p in prices if p))

    async def async_stop(self) -> None:
        """Stop fetching for the location."""
        for coordinator in self.coordinators:
            await coordinator.async_shutdown()


class DeviceData:
    """One Flatpeak device of the account: what its entities, actions and repairs read."""

    def __init__(
        self,
        *,
        subentry: ConfigSubentry,
        client: FlatpeakClient,
        location: LocationData,
        device: DeviceCoordinator,
        schedule: ScheduleCoordinator,
        soc: StateOfChargeLink,
        writer: StateWriter,
        dispatch: DispatchSlot,
        registry_device_id: str,
    ) -> None:
        """Hold what the device runs on; `async_stop` ends it."""
        self.subentry_id = subentry.subentry_id
        self.device_id: str = subentry.data[CONF_DEVICE_ID]
        self.name = subentry.title
        self.settings = dict(subentry.data)
        self.client = client
        self.location = location
        self.device = device
        self.schedule = schedule
        self.soc = soc
        self.writer = writer
        self.dispatch = dispatch
        self.registry_device_id = registry_device_id

    @property
    def status(self) -> StatusCoordinator:
        """The tariff status of the device's location."""
        return self.location.status

    @property
    def import_prices(self) -> PriceCoordinator:
        """The import prices of the device's location."""
        return self.location.import_prices

    @property
    def export_prices(self) -> PriceCoordinator | None:
        """The export prices of the device's location, with an export tariff connected."""
        return self.location.export_prices

    @property
    def coordinators(self) -> tuple[FlatpeakCoordinator[Any], ...]:
        """Everything the device's entities read, the device first."""
        status, *prices = self.location.coordinators
        return (self.device, status, self.schedule, *prices)

    async def async_stop(self) -> None:
        """Stop the device: its writer, its link, its dispatch and its fetches."""
        self.writer.stop()
        self.soc.async_stop()
        await self.dispatch.async_unload()
        for coordinator in (self.device, self.schedule):
            await coordinator.async_shutdown()


def export_connected(status: StatusCoordinator) -> bool:
    """Say whether the location's export tariff is connected."""
    latest = status.latest
    element = latest.commodity_export if latest else None
    return element is not None and element.status == TariffStatus.CONNECTED


def device_subentries(entry: ConfigEntry) -> dict[str, ConfigSubentry]:
    """Return the account's device subentries, by subentry ID."""
    return {
        subentry_id: subentry
        for subentry_id, subentry in entry.subentries.items()
        if subentry.subentry_type == SUBENTRY_DEVICE
    }


class AccountData:
    """The account's client, locations and devices, as its subentries say."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Open the account's client and cache; `async_start` starts its devices."""
        self.hass = hass
        self.entry = entry
        self.client = FlatpeakClient(
            async_get_clientsession(hass),
            entry.data[CONF_ACCOUNT_ID],
            entry.data[CONF_API_KEY],
            base_url=entry.data[CONF_URL],
        )
        self.cache = ResponseCache(hass, entry)
        # What the account runs on: a change of the credentials or URL calls for a reload.
        self._data = dict(entry.data)
        self._options = dict(entry.options)
        self.locations: dict[str, LocationData] = {}
        self.devices: dict[str, DeviceData] = {}
        self._device_listeners: list[Callable[[DeviceData], None]] = []
        self._restart_listeners: list[Callable[[DeviceData], Awaitable[None]]] = []
        # Told when devices come and go.
        self._changed = Listeners("devices")
        self._sync_lock = asyncio.Lock()
        # Devices Flatpeak lists since the account's last look that it does not follow:
        # offered to the user (a repair), never added unasked.
        self._new_devices: dict[str, Device] = {}
        self._seen: set[str] | None = None

    async def async_start(self) -> None:
        """Start every device, from the answers cached before the last shutdown.

        A restart while the cloud is down keeps serving the known schedules.
        A Retry-After deadline kept from before the restart holds the client
        back until it passes, the first fetches included. What has no cached
        copy is fetched before the entities appear; the rest is refreshed in
        the background.
        """
        await self.cache.async_load()
        if (deadline := self.cache.not_before(dt_util.utcnow())) is not None:
            self.client.hold_until(deadline)
        # Any deadline the client meets from now on is kept with the answers.
        self.entry.async_on_unload(self.client.add_hold_listener(self.cache.hold))
        self.entry.async_on_unload(self.cache.async_flush)
        self.entry.async_on_unload(self._async_stop_all)
        for subentry in device_subentries(self.entry).values():
            await self._async_start_device(subentry, at_setup=True)
        self._restore_device_list()
        # A first look while the start's token is fresh, then one a day.
        self._look_for_new_devices(dt_util.utcnow())
        interval = DEVICE_INTERVAL.duration(self.entry.options)
        self.entry.async_on_unload(
            async_track_time_interval(self.hass, self._look_for_new_devices, interval)
        )

    @property
    def new_devices(self) -> list[Device]:
        """The devices Flatpeak listed lately that the account does not follow yet."""
        followed = {d.data[CONF_DEVICE_ID] for d in device_subentries(self.entry).values()}
        return [d for d in self._new_devices.values() if d.id not in followed]

    def _restore_device_list(self) -> None:
        document, _ = self.cache.get(DEVICE_LIST)
        if not isinstance(document, dict):
            return
        self._seen = {str(i) for i in document.get("seen", ()) if isinstance(i, str)}
        for item in document.get("new", ()):
            try:
                device = Device.from_json(item)
            except InvalidResponseError:
                continue
            self._new_devices[device.id] = device

    @callback
    def _look_for_new_devices(self, _now: datetime) -> None:
        self.entry.async_create_background_task(
            self.hass, self.async_look_for_new_devices(), f"{DOMAIN} device list"
        )

    async def async_look_for_new_devices(self) -> None:
        """List the account's newest devices, and offer those that appeared since the last look.

        The list comes newest first, so its first page holds what is new: one
        request, however many devices a business account holds. The first look
        only notes what there is: the devices the user did not pick when adding
        the account are not offered again.
        """
        try:
            listed = await self.client.list_devices(max_devices=DEVICE_PAGE_LIMIT)
        except ApiError as err:
            LOGGER.debug("Could not list the account's devices: %s", err)
            return
        if self._seen is not None:
            for device in listed.devices:
                if device.id not in self._seen:
                    self._new_devices[device.id] = device
        present = {device.id for device in listed.devices}
        self._new_devices = {i: d for i, d in self._new_devices.items() if i in present}
        if not listed.truncated:
            self._seen = present
        else:
            self._seen = (self._seen or set()) | present
        self.cache.remember(
            DEVICE_LIST,
            {"seen": sorted(self._seen), "new": [d.source for d in self._new_devices.values()]},
            dt_util.utcnow(),
        )
        self._changed.notify()

    @property
    def coordinators(self) -> tuple[FlatpeakCoordinator[Any], ...]:
        """Every coordinator of the account, each once."""
        return tuple(dict.fromkeys(c for d in self.devices.values() for c in d.coordinators))

    def device_by_id(self, device_id: str) -> DeviceData | None:
        """Return the running device of a Flatpeak device ID, if the account has it."""
        return next((d for d in self.devices.values() if d.device_id == device_id), None)

    @callback
    def async_for_each_device(self, add: Callable[[DeviceData], None]) -> CALLBACK_TYPE:
        """Call add for every device now and for each one started later; return the way to stop."""
        for device in self.devices.values():
            add(device)
        self._device_listeners.append(add)
        return lambda: self._device_listeners.remove(add)

    @callback
    def async_on_restart(self, remove: Callable[[DeviceData], Awaitable[None]]) -> CALLBACK_TYPE:
        """Call remove before a device restarts, so that its entities go; return the way to stop."""
        self._restart_listeners.append(remove)
        return lambda: self._restart_listeners.remove(remove)

    def credentials_changed(self) -> bool:
        """Say whether the account's credentials or URL changed since it started: a reload."""
        return dict(self.entry.data) != self._data

    async def async_sync(self) -> None:
        """Follow the entry as it is now, in place: its options, devices and dispatches."""
        async with self._sync_lock:
            if dict(self.entry.options) != self._options:
                self._apply_options()
            await self._async_sync_devices()
        self._changed.notify()

    @callback
    def _apply_options(self) -> None:
        """Give every coordinator and writer the new options; no entity is interrupted."""
        self._options = options = dict(self.entry.options)
        for coordinator in self.coordinators:
            coordinator.apply_options(options)
        for device in self.devices.values():
            device.writer.rewrite()

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call update when devices come or go; return the way to stop."""
        return self._changed.add(update)

    async def _async_sync_devices(self) -> None:
        wanted = device_subentries(self.entry)
        for subentry_id in [known for known in self.devices if known not in wanted]:
            device = self.devices.pop(subentry_id)
            # A removed device takes its dispatch with it: its events are withdrawn.
            if (found := dispatch_subentry(self.entry, device.device_id)) is not None:
                self.hass.config_entries.async_remove_subentry(self.entry, found[0].subentry_id)
                await device.dispatch.async_apply()
            await device.async_stop()
        in_use = {device.location.location_id for device in self.devices.values()}
        for location_id in [known for known in self.locations if known not in in_use]:
            await self.locations.pop(location_id).async_stop()
        for subentry_id, subentry in wanted.items():
            known = self.devices.get(subentry_id)
            if known is not None and dict(subentry.data) != known.settings:
                await self._async_change_device(known, subentry)
            elif known is None:
                await self._async_add_device(subentry)
        for device in self.devices.values():
            await device.dispatch.async_apply()

    async def _async_add_device(self, subentry: ConfigSubentry) -> None:
        device = await self._async_start_device(subentry, at_setup=False)
        for add in list(self._device_listeners):
            add(device)
        device.soc.async_start()

    async def _async_change_device(self, device: DeviceData, subentry: ConfigSubentry) -> None:
        """Take a device's new settings: a new battery sensor in place, a new location anew.

        A device at another location reads another status and other prices:
        it is restarted, alone; its entities come back with their IDs.
        """
        settings = dict(subentry.data)
        if settings[CONF_LOCATION_ID] == device.settings[CONF_LOCATION_ID]:
            device.soc.set_source(settings.get(CONF_SOC_ENTITY))
            device.settings = settings
            return
        for remove in list(self._restart_listeners):
            await remove(device)
        await self.devices.pop(subentry.subentry_id).async_stop()
        await self._async_add_device(subentry)

    async def _async_start_device(self, subentry: ConfigSubentry, *, at_setup: bool) -> DeviceData:
        """Start a device: its location first, then its own answers, writer and dispatch."""
        hass, entry, client, cache = self.hass, self.entry, self.client, self.cache
        settings = subentry.data
        device = DeviceCoordinator(hass, entry, client, cache, settings[CONF_DEVICE_ID])
        if not device.restore():
            if at_setup and (deadline := client.not_before) is not None:
                raise ConfigEntryNotReady(
                    translation_domain=DOMAIN,
                    translation_key="rate_limited_until",
                    translation_placeholders={"time": dt_util.as_local(deadline).isoformat()},
                )
            if at_setup:
                await device.async_config_entry_first_refresh()
            else:
                await device.async_refresh()
        else:
            _refresh_in_background(device)
        location = await self._async_location(settings[CONF_LOCATION_ID])
        schedule = ScheduleCoordinator(
            hass, entry, client, cache, settings[CONF_DEVICE_ID], settings[CONF_LOCATION_ID]
        )
        schedule.on_tariff_problem = location.status.request_check
        # Each new schedule is reconciled with the dispatch: it follows before the first fetch.
        dispatch = DispatchSlot(hass, entry, settings[CONF_DEVICE_ID], schedule)
        await dispatch.async_apply()
        await _async_start(schedule)
        writer = StateWriter(hass, [device, schedule, *location.coordinators])
        info = device_info(settings[CONF_DEVICE_ID], subentry.title, device.latest)
        data = DeviceData(
            subentry=subentry,
            client=client,
            location=location,
            device=device,
            schedule=schedule,
            soc=StateOfChargeLink(hass, entry, client, settings, schedule.async_request_refresh),
            writer=writer,
            dispatch=dispatch,
            registry_device_id=async_register_flatpeak_device(
                hass, entry, subentry.subentry_id, info
            ),
        )
        self.devices[subentry.subentry_id] = data
        return data

    async def _async_location(self, location_id: str) -> LocationData:
        """Return the location's shared answers, starting them for its first device."""
        if (known := self.locations.get(location_id)) is not None:
            return known
        hass, entry, client, cache = self.hass, self.entry, self.client, self.cache
        status = StatusCoordinator(hass, entry, client, cache, location_id)
        import_prices = PriceCoordinator(hass, entry, client, cache, TariffDirection.IMPORT, status)
        # A tariff problem met by the prices asks for the tariff status.
        import_prices.on_tariff_problem = status.request_check
        await _async_start(status, import_prices)
        # Export prices only mean something with an export tariff.
        export_prices = None
        if export_connected(status):
            export_prices = PriceCoordinator(
                hass, entry, client, cache, TariffDirection.EXPORT, status
            )
            export_prices.on_tariff_problem = status.request_check
            await _async_start(export_prices)
        location = self.locations[location_id] = LocationData(status, import_prices, export_prices)
        self.entry.async_on_unload(status.async_add_listener(lambda: self._watch_export(location)))
        return location

    @callback
    def _watch_export(self, location: LocationData) -> None:
        """Reload when an export tariff is connected, to add its prices."""
        status = location.status
        if status.fresh and location.export_prices is None and export_connected(status):
            self.hass.config_entries.async_schedule_reload(self.entry.entry_id)

    async def _async_stop_all(self) -> None:
        for device in self.devices.values():
            await device.async_stop()
        for location in self.locations.values():
            await location.async_stop()


async def _async_start(*coordinators: FlatpeakCoordinator[Any]) -> None:
    """Start from cached answers, refreshed in the background; fetch the others now.

    A failed fetch (no tariff connected, say) is shown by the entities, not fatal.
    """
    for coordinator in coordinators:
        if coordinator.restore():
            _refresh_in_background(coordinator)
        else:
            await coordinator.async_refresh()


def _refresh_in_background(coordinator: FlatpeakCoordinator[Any]) -> None:
    coordinator.config_entry.async_create_background_task(
        coordinator.hass, coordinator.async_refresh(), f"{coordinator.name} refresh"
    )
