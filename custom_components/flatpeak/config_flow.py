"""Config flow of the Flatpeak integration: the account, its options, and what it holds.

The config entry is a Flatpeak account (API key, account ID, API address);
each of its devices is a config subentry (`device_flow`), and so is each
device's dispatch (`dispatch`). Setting up checks the credentials once
(`credentials`), then offers the account's devices, or registers a new one,
and asks each chosen device's location when it is not clear
(`device_forms`): the entry is created with a subentry per device.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
)
from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import callback
import voluptuous as vol

from .const import CONF_ACCOUNT_ID, DOMAIN, OPTIONS, SUBENTRY_DEVICE
from .credentials import (
    SECTION_ADVANCED,
    CheckedAccount,
    advanced_section,
    advanced_shown,
    async_check_account,
    errors_for,
    flatten,
)
from .device_flow import DeviceSubentryFlow
from .device_forms import DeviceChoice, async_pick_step, async_register_step, location_step
from .dispatch import TARGETS
from .migration import VERSION as ENTRY_VERSION, account_title
from .selectors import PASSWORD, TEXT, option_errors, option_fields, option_ranges


def _user_schema(*, expanded: bool) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_API_KEY): PASSWORD,
            vol.Required(CONF_ACCOUNT_ID): TEXT,
            **advanced_section(expanded=expanded),
        }
    )


def _reconfigure_schema(*, expanded: bool) -> vol.Schema:
    # An empty key keeps the one the entry has.
    return vol.Schema({vol.Optional(CONF_API_KEY): PASSWORD, **advanced_section(expanded=expanded)})


REAUTH_SCHEMA = vol.Schema({vol.Required(CONF_API_KEY): PASSWORD})

OPTIONS_SCHEMA = vol.Schema(option_fields(OPTIONS))

# The fields each form shows: an error about another value is shown above the form.
USER_SHOWN = frozenset({CONF_API_KEY, CONF_ACCOUNT_ID, SECTION_ADVANCED})
REAUTH_SHOWN = frozenset({CONF_API_KEY})
RECONFIGURE_SHOWN = frozenset({CONF_API_KEY, SECTION_ADVANCED})


class FlatpeakConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up a Flatpeak account with the devices the user chooses."""

    VERSION = ENTRY_VERSION
    MINOR_VERSION = 1

    # Filled in as the steps succeed.
    _account: CheckedAccount
    _choice: DeviceChoice

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> FlatpeakOptionsFlow:
        """Return the options flow."""
        return FlatpeakOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Return what can be added to an account: a device, and a dispatch of each kind."""
        return {
            SUBENTRY_DEVICE: DeviceSubentryFlow,
            **{kind.subentry_type: kind.flow for kind in TARGETS.values()},
        }

    # Setting up

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Check the credentials with one login, then list the account's devices."""
        errors: dict[str, str] = {}
        if user_input is not None:
            checked = await async_check_account(self.hass, flatten(user_input), USER_SHOWN)
            if isinstance(checked, dict):
                errors = checked
            else:
                await self.async_set_unique_id(checked.data[CONF_ACCOUNT_ID])
                self._abort_if_unique_id_configured()
                try:
                    listing = await checked.client.list_devices()
                except Exception as err:  # noqa: BLE001 - every failure becomes a form error
                    errors = errors_for(err)
                else:
                    self._account = checked
                    self._choice = DeviceChoice(checked.client, listing, multiple=True)
                    if not self._choice.offered:
                        return await self.async_step_register_device()
                    return await self.async_step_devices()
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                _user_schema(expanded=advanced_shown(user_input, errors)), user_input
            ),
            errors=errors,
        )

    async def async_step_devices(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask whether to add devices of the account, or register a new one."""
        return self.async_show_menu(
            step_id="devices",
            menu_options=["pick", "register_device"],
            description_placeholders={
                "account_id": self._account.data[CONF_ACCOUNT_ID],
                **self._choice.pick_placeholders(),
            },
        )

    async def async_step_pick(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pick one or several of the account's devices."""
        if (form := await async_pick_step(self, self._choice, user_input)) is not None:
            return form
        return await self.async_step_location()

    async def async_step_register_device(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Register a new device with Flatpeak."""
        if (form := await async_register_step(self, self._choice, user_input)) is not None:
            return form
        return await self.async_step_location()

    async def async_step_location(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask the location of each chosen device that has several, or none; then set up."""
        if (form := location_step(self, self._choice, user_input)) is not None:
            return form
        return self.async_create_entry(
            title=account_title(self._account.data[CONF_ACCOUNT_ID]),
            data=self._account.data,
            subentries=self._choice.subentries(),
        )

    # Changing the account

    @callback
    def _async_update_and_abort(
        self, entry: ConfigEntry, reason: str, **changes: Any
    ) -> ConfigFlowResult:
        """Update an entry and end the flow.

        A running entry reloads itself through its update listener. One that
        could not be set up (for example with the key just replaced) is set
        up again here.
        """
        self.hass.config_entries.async_update_entry(entry, **changes)
        if entry.state in (ConfigEntryState.SETUP_ERROR, ConfigEntryState.SETUP_RETRY):
            self.hass.config_entries.async_schedule_reload(entry.entry_id)
        return self.async_abort(reason=reason)

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Start over with a new API key when Flatpeak refuses the old one."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new API key of the same account."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            # The account stays: a key of another account is refused at login.
            values = {**entry.data, CONF_API_KEY: user_input[CONF_API_KEY]}
            checked = await async_check_account(self.hass, values, REAUTH_SHOWN)
            if isinstance(checked, dict):
                errors = checked
            else:
                return self._async_update_and_abort(
                    entry, "reauth_successful", data={**entry.data, **checked.data}
                )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=self.add_suggested_values_to_schema(REAUTH_SCHEMA, user_input),
            errors=errors,
            description_placeholders={
                "name": entry.title,
                "account_id": entry.data[CONF_ACCOUNT_ID],
            },
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the API key or the API address of the account."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            values = {**entry.data, **flatten(user_input)}
            if not str(values.get(CONF_API_KEY) or "").strip():
                values[CONF_API_KEY] = entry.data[CONF_API_KEY]
            checked = await async_check_account(self.hass, values, RECONFIGURE_SHOWN)
            if isinstance(checked, dict):
                errors = checked
            else:
                return self._async_update_and_abort(
                    entry, "reconfigure_successful", data={**entry.data, **checked.data}
                )
        else:
            user_input = {SECTION_ADVANCED: {CONF_URL: entry.data[CONF_URL]}}
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                _reconfigure_schema(expanded=advanced_shown(user_input, errors)), user_input
            ),
            errors=errors,
            description_placeholders={
                "name": entry.title,
                "account_id": entry.data[CONF_ACCOUNT_ID],
            },
        )


class FlatpeakOptionsFlow(OptionsFlow):
    """The account-wide settings: how far ahead, how often, and when a window is "starting soon"."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show and store the options."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = option_errors(OPTIONS, user_input)
            if not errors:
                # The number fields give floats; the options are whole numbers.
                return self.async_create_entry(
                    data={option.key: option.value(user_input) for option in OPTIONS}
                )
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                OPTIONS_SCHEMA, user_input or self.config_entry.options
            ),
            errors=errors,
            description_placeholders=option_ranges(OPTIONS),
        )
