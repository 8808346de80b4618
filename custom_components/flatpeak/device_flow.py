"""A device of a Flatpeak account: a config subentry, added and reconfigured.

*Add device* offers the account's devices not yet added, or registers a new
one, as the account's set-up does (`device_forms`). Reconfiguring a device
changes its own settings: its location, among the device's locations, and
the entity that gives its state of charge.
"""

from __future__ import annotations

from typing import Any, cast

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigSubentry,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, PERCENTAGE
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import EntitySelector, EntitySelectorConfig
import voluptuous as vol

from .api import Device, FlatpeakClient
from .const import CONF_ACCOUNT_ID, CONF_DEVICE_ID, CONF_LOCATION_ID, CONF_SOC_ENTITY
from .credentials import client_for, reason_for
from .data import AccountData, device_subentries
from .device_forms import (
    DeviceChoice,
    async_pick_step,
    async_register_step,
    location_input,
    location_schema,
    location_step,
)

# The entities that can give a state of charge in percent.
SOC_DOMAINS = ["sensor", "number", "input_number"]


def _account(entry: ConfigEntry) -> AccountData | None:
    """Return the running account of an entry, if it runs."""
    if entry.state is not ConfigEntryState.LOADED:
        return None
    return cast(AccountData, entry.runtime_data)


def account_client(hass: HomeAssistant, entry: ConfigEntry) -> FlatpeakClient:
    """Return the account's client: the running one (its token, its Retry-After), else a new one."""
    if (account := _account(entry)) is not None:
        return account.client
    return client_for(hass, entry.data)


def check_soc_entity(hass: HomeAssistant, entity_id: str) -> str | None:
    """Return an error key unless the entity can be a state of charge in percent."""
    state = hass.states.get(entity_id)
    if state is None:
        return "soc_entity_not_found"
    unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
    if unit is not None and unit != PERCENTAGE:
        return "soc_entity_not_percent"
    return None


class DeviceSubentryFlow(ConfigSubentryFlow):
    """Add a device of the account, or change a device's own settings."""

    _choice: DeviceChoice
    # The device being reconfigured, as read when the flow opened.
    _device: Device | None = None

    # Adding

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """List the account's devices, then ask whether to add one of them or register one."""
        entry = self._get_entry()
        client = account_client(self.hass, entry)
        try:
            listing = await client.list_devices()
        except Exception as err:  # noqa: BLE001 - every failure ends the flow with its reason
            return self.async_abort(reason=reason_for(err))
        devices = device_subentries(entry).values()
        self._choice = DeviceChoice(
            client,
            listing,
            multiple=False,
            added={subentry.data[CONF_DEVICE_ID] for subentry in devices},
            names_taken={subentry.title for subentry in devices},
        )
        return self.async_show_menu(
            step_id="user",
            menu_options=["pick", "register_device"],
            description_placeholders={
                "account_id": entry.data[CONF_ACCOUNT_ID],
                **self._choice.pick_placeholders(),
            },
        )

    async def async_step_pick(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Pick one of the account's devices not yet added."""
        if not self._choice.offered:
            return self.async_abort(reason="no_other_devices")
        if (form := await async_pick_step(self, self._choice, user_input)) is not None:
            return form
        return await self.async_step_location()

    async def async_step_register_device(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Register a new device with Flatpeak."""
        if (form := await async_register_step(self, self._choice, user_input)) is not None:
            return form
        return await self.async_step_location()

    async def async_step_location(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Ask the device's location when it has several, or none; then add it."""
        if (form := location_step(self, self._choice, user_input)) is not None:
            return form
        (subentry,) = self._choice.subentries()
        if any(
            known.unique_id == subentry["unique_id"]
            for known in self._get_entry().subentries.values()
        ):
            # Added by another flow meanwhile.
            return self.async_abort(reason="already_configured")
        return self.async_create_entry(
            title=subentry["title"], data=subentry["data"], unique_id=subentry["unique_id"]
        )

    # Reconfiguring

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change the device's location or its state-of-charge entity."""
        entry = self._get_entry()
        subentry = self._get_reconfigure_subentry()
        if (device := self._device) is None:
            try:
                device = self._device = await self._async_device(entry, subentry)
            except Exception as err:  # noqa: BLE001 - every failure ends the flow with its reason
                return self.async_abort(reason=reason_for(err, device=True))
        errors: dict[str, str] = {}
        if user_input is not None:
            location_id, errors = location_input(user_input, device)
            soc_entity = user_input.get(CONF_SOC_ENTITY)
            if soc_entity and (error := check_soc_entity(self.hass, soc_entity)):
                errors[CONF_SOC_ENTITY] = error
            if not errors:
                data = {**subentry.data, CONF_LOCATION_ID: location_id}
                data.pop(CONF_SOC_ENTITY, None)
                if soc_entity:
                    data[CONF_SOC_ENTITY] = soc_entity
                # Not async_update_and_abort: since 2026.x it shows Home Assistant's
                # own wording unless given a reason, which 2025.4 does not take.
                self.hass.config_entries.async_update_subentry(entry, subentry, data=data)
                return self.async_abort(reason="reconfigure_successful")
        schema = location_schema(device).extend(
            {
                vol.Optional(CONF_SOC_ENTITY): EntitySelector(
                    EntitySelectorConfig(domain=SOC_DOMAINS)
                )
            }
        )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or subentry.data),
            errors=errors,
            description_placeholders={"name": subentry.title, "device_id": device.id},
        )

    async def _async_device(self, entry: ConfigEntry, subentry: ConfigSubentry) -> Device:
        """Return the device as last fetched by the running account, else as Flatpeak has it."""
        device_id: str = subentry.data[CONF_DEVICE_ID]
        account = _account(entry)
        running = account.device_by_id(device_id) if account is not None else None
        if running is not None and (latest := running.device.latest) is not None:
            return latest
        return await account_client(self.hass, entry).get_device(device_id)
