"""Entries of the released shape (one per device) become one account entry with its devices.

The registries and the stores are written the way the released version wrote them:
an entry per device whose unique ID is the device ID, the credentials and the device in
its data, the battery sensor in its options, the Flip dispatch as a subentry; entities
and the device on the entry, the Flip dispatch's on its subentry; answers cached under
`flatpeak.<entry>`, Flip events under `flatpeak.<entry>.dispatch`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import CONF_API_KEY, CONF_URL, PERCENTAGE
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
)

from custom_components.flatpeak.api import ChargingSlot, FlatpeakClient, FlipClient, TariffDirection
from custom_components.flatpeak.const import (
    CONF_ACCOUNT_ID,
    CONF_DEVICE_ID,
    CONF_LOCATION_ID,
    CONF_SOC_ENTITY,
    DOMAIN,
    SUBENTRY_DEVICE,
)
from custom_components.flatpeak.devices import owner_entries
from custom_components.flatpeak.dispatch.flip.const import SUBENTRY_TYPE
from custom_components.flatpeak.dispatch.flip.plan import DispatchSettings, window_key
from custom_components.flatpeak.dispatch.flip.store import store_key
from custom_components.flatpeak.migration import account_title
from sandbox import Fault, Sandbox

from .common import at, make_devices, session, state
from .dispatch_common import flip_counts, flip_data

NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
WINDOW = (NOW + HOUR, NOW + 2 * HOUR)
SENSOR = "sensor.battery_state_of_charge"
# Entity IDs as users renamed them.
WINDOW_ENTITY = "binary_sensor.my_battery_charging"
TARGET_ENTITY = "number.my_battery_target"


def released_entry(
    account: dict[str, Any],
    device_id: str,
    location_id: str,
    title: str,
    *,
    options: dict[str, Any] | None = None,
    flip: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """An entry as the released version made it: one device, VERSION 1."""
    subentries = (
        [
            ConfigSubentryData(
                data=flip, subentry_type=SUBENTRY_TYPE, title="Flip prg", unique_id=None
            )
        ]
        if flip
        else []
    )
    return MockConfigEntry(
        domain=DOMAIN,
        title=title,
        version=1,
        data={**account, CONF_DEVICE_ID: device_id, CONF_LOCATION_ID: location_id},
        unique_id=device_id,
        options=options or {},
        subentries_data=subentries,
    )


def register_as_released(
    hass: HomeAssistant, entry: MockConfigEntry, device_id: str, renamed: dict[str, str]
) -> dr.DeviceEntry:
    """The entry's device and two entities in the registries, as the released version left them."""
    devices = dr.async_get(hass)
    device = devices.async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, device_id)},
        name=entry.title,
        manufacturer="Nova Systems",
    )
    entities = er.async_get(hass)
    for key, entity_id in renamed.items():
        platform = entity_id.split(".")[0]
        created = entities.async_get_or_create(
            platform,
            DOMAIN,
            f"{device_id}_{key}",
            config_entry=entry,
            device_id=device.id,
        )
        entities.async_update_entity(created.entity_id, new_entity_id=entity_id)
    return device


async def cached_answers(hass: HomeAssistant, sandbox: Sandbox, url: str) -> dict[str, Any]:
    """The answers the released version cached, fetched from the sandbox."""
    client = FlatpeakClient(
        async_get_clientsession(hass), sandbox.account_id, sandbox.api_key, base_url=url
    )
    fetched = NOW.isoformat()
    answers = {
        "device": await client.get_device(sandbox.device_id),
        "status": await client.get_location_status(sandbox.location_id),
        "schedule": await client.schedule_by_soc(sandbox.device_id, sandbox.location_id, 24),
        "import_prices": await client.get_prices(
            sandbox.location_id,
            start=NOW,
            end=NOW + 48 * HOUR,
            direction=TariffDirection.IMPORT,
        ),
    }
    return {kind: {"document": a.source, "fetched": fetched} for kind, a in answers.items()}


async def test_a_released_entry_becomes_the_account_with_its_device(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    sandbox_url: str,
    entry_data: dict[str, Any],
    hass_storage: dict[str, Any],
) -> None:
    freezer.move_to(NOW)
    sandbox.set_schedule_override([session(NOW, NOW + 6 * HOUR, WINDOW)])
    hass.states.async_set(SENSOR, "40", {"unit_of_measurement": PERCENTAGE})
    flip = flip_data(sandbox, sandbox_url)
    del flip[CONF_DEVICE_ID]  # the released version's dispatch did not name its device
    entry = released_entry(
        entry_data,
        sandbox.device_id,
        sandbox.location_id,
        "My battery",
        options={CONF_SOC_ENTITY: SENSOR, "schedule_interval": 60},
        flip=flip,
    )
    entry.add_to_hass(hass)
    device = register_as_released(
        hass,
        entry,
        sandbox.device_id,
        {"charging_window": WINDOW_ENTITY, "target_state_of_charge": TARGET_ENTITY},
    )
    hass_storage[f"{DOMAIN}.{entry.entry_id}"] = {
        "version": 1,
        "key": f"{DOMAIN}.{entry.entry_id}",
        "data": await cached_answers(hass, sandbox, sandbox_url),
    }
    # A Flip event the released version sent for the window, and stored.
    settings = DispatchSettings.from_data(flip)
    key = window_key(
        ChargingSlot(start=WINDOW[0], end=WINDOW[1], power_w=5000, vpp_event=False), settings
    )
    assert key is not None
    event = await FlipClient(
        async_get_clientsession(hass), sandbox.flip_api_key, base_url=sandbox_url
    ).create_event(
        program_id=key.program_id,
        target_type=key.target_type,
        target_ids=key.target_ids,
        actions=[key.action()],
    )
    hass_storage[f"{DOMAIN}.{entry.entry_id}.dispatch"] = {
        "version": 1,
        "key": f"{DOMAIN}.{entry.entry_id}.dispatch",
        "data": {
            "events": [{"id": event.id, "origin": "window", "key": key.to_json()}],
            "intents": [],
            "cancelled": [],
            "not_before": None,
        },
    }
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State(TARGET_ENTITY, "80"),
                {
                    "native_max_value": 100,
                    "native_min_value": 0,
                    "native_step": 1,
                    "native_unit_of_measurement": PERCENTAGE,
                    "native_value": 80,
                },
            )
        ],
    )
    # Flatpeak is out of reach: what is shown comes from what was cached.
    sandbox.inject(Fault(route="flatpeak:*", status=503, times=1000))
    sandbox.reset_counts()

    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done(wait_background_tasks=True)

    # The account: its credentials only, its ID as unique ID, the options without the sensor.
    assert entry.version == 2
    assert entry.unique_id == sandbox.account_id
    assert entry.title == account_title(sandbox.account_id)
    assert dict(entry.data) == {
        CONF_API_KEY: sandbox.api_key,
        CONF_ACCOUNT_ID: sandbox.account_id,
        CONF_URL: sandbox_url,
    }
    assert dict(entry.options) == {"schedule_interval": 60}
    (device_subentry,) = [
        s for s in entry.subentries.values() if s.subentry_type == SUBENTRY_DEVICE
    ]
    assert device_subentry.title == "My battery"
    assert device_subentry.unique_id == sandbox.device_id
    assert dict(device_subentry.data) == {
        CONF_DEVICE_ID: sandbox.device_id,
        CONF_LOCATION_ID: sandbox.location_id,
        CONF_SOC_ENTITY: SENSOR,
    }
    (flip_subentry,) = [s for s in entry.subentries.values() if s.subentry_type == SUBENTRY_TYPE]
    assert flip_subentry.data[CONF_DEVICE_ID] == sandbox.device_id

    # The same Home Assistant device and entity IDs, in the device's subentry.
    registry = er.async_get(hass)
    window = registry.async_get(WINDOW_ENTITY)
    assert window is not None
    assert window.config_subentry_id == device_subentry.subentry_id
    assert window.device_id == device.id
    moved = dr.async_get(hass).async_get(device.id)
    assert moved is not None
    assert owner_entries(moved) == {entry.entry_id}
    # The restored target, the cached schedule (Flatpeak down), and the stored event.
    assert float(state(hass, TARGET_ENTITY)) == 80
    assert state(hass, WINDOW_ENTITY) == "off"
    await at(hass, freezer, WINDOW[0])
    assert state(hass, WINDOW_ENTITY) == "on"
    assert flip_counts(sandbox)[0] == 0  # nothing sent again
    stored = hass_storage[store_key(entry.entry_id, sandbox.device_id)]["data"]
    assert [item["id"] for item in stored["events"]] == [event.id]
    assert f"{DOMAIN}.{entry.entry_id}.dispatch" not in hass_storage


async def test_entries_of_one_account_become_one(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    entry_data: dict[str, Any],
) -> None:
    freezer.move_to(NOW)
    first_id, second_id = await make_devices(hass, sandbox, entry_data, 2)
    first = released_entry(entry_data, first_id, sandbox.location_id, "House battery")
    second = released_entry(entry_data, second_id, sandbox.location_id, "Garage battery")
    first.add_to_hass(hass)
    second.add_to_hass(hass)
    register_as_released(hass, first, first_id, {"charging_window": "binary_sensor.house"})
    garage = register_as_released(
        hass, second, second_id, {"charging_window": "binary_sensor.garage"}
    )

    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done(wait_background_tasks=True)

    (account,) = hass.config_entries.async_entries(DOMAIN)
    assert account.entry_id == first.entry_id  # the first keeps its ID
    assert account.unique_id == sandbox.account_id
    titles = {s.unique_id: s.title for s in account.subentries.values()}
    assert titles == {first_id: "House battery", second_id: "Garage battery"}
    # The second's entity and device moved, with their IDs.
    registry = er.async_get(hass)
    moved = registry.async_get("binary_sensor.garage")
    assert moved is not None
    assert moved.config_entry_id == account.entry_id
    assert moved.config_subentry_id == next(
        s.subentry_id for s in account.subentries.values() if s.unique_id == second_id
    )
    assert moved.device_id == garage.id
    assert state(hass, "binary_sensor.house") in ("on", "off")
    assert state(hass, "binary_sensor.garage") in ("on", "off")
