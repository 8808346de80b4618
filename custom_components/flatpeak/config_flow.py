"""Config flow of the Flatpeak integration.

Every step that takes credentials or identifiers checks them through one
helper, `_async_validate`: formats first (no request leaves for input that
cannot be right), then one login and, when a device is known, one device
lookup.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Container, Mapping
import re
from typing import Any
from uuid import uuid4

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
)
from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    CONF_API_KEY,
    CONF_URL,
    PERCENTAGE,
    UnitOfEnergy,
    UnitOfPower,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
import voluptuous as vol

from .api import (
    DEFAULT_FLATPEAK_URL,
    ApiError,
    Device,
    DeviceType,
    FlatpeakClient,
    InvalidIdError,
    check_base_url,
    check_id,
)
from .const import (
    CONF_ACCOUNT_ID,
    CONF_DEVICE_ID,
    CONF_LOCATION_ID,
    CONF_SOC_ENTITY,
    DOMAIN,
    LOGGER,
    OPTIONS,
)
from .dispatch import TARGETS
from .problems import Problem, classify
from .selectors import PASSWORD, TEXT, URL, number, option_errors, option_fields, option_ranges

# The collapsed part of a form that holds the API address.
SECTION_ADVANCED = "advanced"

# Fields of the form that registers a new device.
CONF_DEVICE_TYPE = "device_type"
CONF_MANUFACTURER = "manufacturer"
CONF_MODEL_NAME = "model_name"
CONF_CAPACITY = "capacity"
CONF_CHARGE_POWER = "charge_power"
CONF_DISCHARGE_POWER = "discharge_power"

# The kinds of device a user can register, in the order the form offers them.
# Selector options are lower case, as translation keys must be.
REGISTRABLE_TYPES = (
    DeviceType.BATTERY_SYSTEM,
    DeviceType.EV_CHARGER,
    DeviceType.ELECTRIC_VEHICLE,
    DeviceType.OTHER,
)

# Flatpeak API keys are `sk_live_…` or `sk_test_…`. No whitespace: the key
# travels in an HTTP header.
API_KEY_FORMAT = re.compile(r"^sk_(?:live|test)_\S+$")

# Each identifier field and the prefix its identifiers carry.
ID_FIELDS = ((CONF_ACCOUNT_ID, "acc"), (CONF_DEVICE_ID, "dev"), (CONF_LOCATION_ID, "loc"))

# Schemas


def _credential_fields() -> dict[vol.Marker, Any]:
    return {
        vol.Required(CONF_API_KEY): PASSWORD,
        vol.Required(CONF_ACCOUNT_ID): TEXT,
    }


def _advanced_section(*, expanded: bool) -> dict[vol.Marker, Any]:
    return {
        vol.Required(SECTION_ADVANCED): section(
            vol.Schema({vol.Required(CONF_URL, default=DEFAULT_FLATPEAK_URL): URL}),
            {"collapsed": not expanded},
        )
    }


def _advanced_shown(user_input: Mapping[str, Any] | None, errors: Mapping[str, str]) -> bool:
    """Open the advanced section when it has an error or holds another address than Flatpeak's."""
    url = (user_input or {}).get(SECTION_ADVANCED, {}).get(CONF_URL, DEFAULT_FLATPEAK_URL)
    return SECTION_ADVANCED in errors or url != DEFAULT_FLATPEAK_URL


def _connect_schema(*, expanded: bool) -> vol.Schema:
    return vol.Schema(
        {
            **_credential_fields(),
            vol.Required(CONF_DEVICE_ID): TEXT,
            **_advanced_section(expanded=expanded),
        }
    )


def _register_schema(*, expanded: bool) -> vol.Schema:
    return vol.Schema({**_credential_fields(), **_advanced_section(expanded=expanded)})


# A battery's capacity and powers: above 0, at most this. Optional in the form, so that
# nothing is filled in for the user; the flow asks for the two it needs.
MAX_AMOUNT = 1000


def _amount(unit: str) -> Any:
    return number(unit, step=0.1)


def _check_amounts(user_input: Mapping[str, Any]) -> dict[str, str]:
    """Return an error for each capacity or power that is missing, or not above 0."""
    errors: dict[str, str] = {}
    for field in (CONF_CAPACITY, CONF_CHARGE_POWER, CONF_DISCHARGE_POWER):
        value = user_input.get(field)
        if value is None:
            if field != CONF_DISCHARGE_POWER:
                errors[field] = "amount_required"
        elif not (isinstance(value, int | float) and 0 < value <= MAX_AMOUNT):
            errors[field] = "amount_out_of_range"
    return errors


def _register_device_schema() -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_DEVICE_TYPE, default=DeviceType.BATTERY_SYSTEM.lower()): (
                SelectSelector(
                    SelectSelectorConfig(
                        options=[kind.lower() for kind in REGISTRABLE_TYPES],
                        mode=SelectSelectorMode.DROPDOWN,
                        translation_key=CONF_DEVICE_TYPE,
                    )
                )
            ),
            vol.Optional(CONF_MANUFACTURER): TEXT,
            vol.Optional(CONF_MODEL_NAME): TEXT,
            vol.Required(CONF_LOCATION_ID): TEXT,
            vol.Optional(CONF_CAPACITY): _amount(UnitOfEnergy.KILO_WATT_HOUR),
            vol.Optional(CONF_CHARGE_POWER): _amount(UnitOfPower.KILO_WATT),
            vol.Optional(CONF_DISCHARGE_POWER): _amount(UnitOfPower.KILO_WATT),
        }
    )


def _location_schema(locations: tuple[str, ...]) -> vol.Schema:
    # With locations to choose from, a list; with none, a field to type one in.
    field: Any = TEXT
    if locations:
        field = SelectSelector(
            SelectSelectorConfig(options=list(locations), mode=SelectSelectorMode.LIST)
        )
    return vol.Schema({vol.Required(CONF_LOCATION_ID): field})


def _reconfigure_schema(*, expanded: bool) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_DEVICE_ID): TEXT,
            vol.Required(CONF_LOCATION_ID): TEXT,
            **_advanced_section(expanded=expanded),
        }
    )


REAUTH_SCHEMA = vol.Schema({vol.Required(CONF_API_KEY): PASSWORD})

OPTIONS_SCHEMA = vol.Schema(
    {
        vol.Optional(CONF_SOC_ENTITY): EntitySelector(
            EntitySelectorConfig(domain=["sensor", "number", "input_number"])
        ),
        **option_fields(OPTIONS),
    }
)


# Input checks


def _flatten(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Return the form's values, with the fields of the advanced section at the top level."""
    values = {key: value for key, value in user_input.items() if key != SECTION_ADVANCED}
    values.update(user_input.get(SECTION_ADVANCED, {}))
    return values


def _check_formats(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Return the values cleaned up, and an error for each that cannot be right."""
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    data[CONF_API_KEY] = values[CONF_API_KEY].strip()
    if not API_KEY_FORMAT.fullmatch(data[CONF_API_KEY]):
        errors[CONF_API_KEY] = "invalid_api_key_format"
    for name, prefix in ID_FIELDS:
        if name not in values:
            continue
        data[name] = values[name].strip()
        try:
            check_id(data[name], prefix)
        except InvalidIdError:
            errors[name] = "invalid_id_format"
    try:
        data[CONF_URL] = check_base_url(values[CONF_URL])
    except ValueError:
        errors[SECTION_ADVANCED] = "invalid_url"
    return data, errors


# The form error of each problem a user can act on: the field it is about, and its key.
FORM_ERRORS: dict[Problem, tuple[str, str]] = {
    Problem.ACCOUNT_DISABLED: ("base", "account_disabled"),
    Problem.INVALID_AUTH: ("base", "invalid_auth"),
    Problem.NOT_FOUND: (CONF_DEVICE_ID, "device_not_found"),
    Problem.RATE_LIMITED: ("base", "rate_limited"),
    Problem.CANNOT_CONNECT: ("base", "cannot_connect"),
    Problem.LOCATIONS_INVALID: (CONF_LOCATION_ID, "location_not_found"),
}


def _known_error(err: Exception) -> dict[str, str] | None:
    """Return the form error for a failure the user can act on, else None."""
    if not isinstance(err, ApiError) or (found := FORM_ERRORS.get(classify(err))) is None:
        return None
    field, key = found
    return {field: key}


def _errors_for(err: Exception) -> dict[str, str]:
    """Return the form error for a failed request; log what the user cannot fix."""
    if (errors := _known_error(err)) is None:
        # The messages of the client's errors never hold a key or a token.
        LOGGER.error("Unexpected error while talking to Flatpeak", exc_info=err)
        errors = {"base": "unknown"}
    return errors


def _title(device: Device) -> str:
    """Name an entry after its device: maker and model when Flatpeak knows them."""
    name = " ".join(part for part in (device.manufacturer, device.model_name) if part)
    return name or f"Flatpeak {device.id}"


def _optional_text(value: Any) -> str | None:
    text = str(value or "").strip()
    return text or None


def _location_input(user_input: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """Read the location ID a user typed, and the error for it if it is malformed."""
    location_id = str(user_input[CONF_LOCATION_ID]).strip()
    try:
        check_id(location_id, "loc")
    except InvalidIdError:
        return location_id, {CONF_LOCATION_ID: "invalid_id_format"}
    return location_id, {}


class FlatpeakConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up Flatpeak for one device at one location."""

    VERSION = 1
    MINOR_VERSION = 1

    # Filled in as the steps succeed.
    _data: dict[str, Any]
    _client: FlatpeakClient
    _device: Device
    _reference_id: str | None = None

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
        """Return what can be added to an entry: a dispatch of each kind."""
        return {kind.subentry_type: kind.flow for kind in TARGETS.values()}

    async def _async_validate(
        self, values: Mapping[str, Any], shown: Container[str]
    ) -> dict[str, str]:
        """Check values: their formats, then with one login and one device lookup.

        `values` holds the API key, account ID and URL, and the device ID and
        location ID when there are any. On success the cleaned values, a
        logged-in client and the device are kept on the flow. An error about
        a value the form does not show is shown above the form.
        """
        data, errors = _check_formats(values)
        if not errors:
            errors = await self._async_check_with_flatpeak(data)
        return {(key if key in shown else "base"): error for key, error in errors.items()}

    async def _async_check_with_flatpeak(self, data: dict[str, Any]) -> dict[str, str]:
        client = FlatpeakClient(
            async_get_clientsession(self.hass),
            data[CONF_ACCOUNT_ID],
            data[CONF_API_KEY],
            base_url=data[CONF_URL],
        )
        device: Device | None = None
        try:
            await client.authenticate()
            if CONF_DEVICE_ID in data:
                device = await client.get_device(data[CONF_DEVICE_ID])
        except Exception as err:  # noqa: BLE001 - every failure becomes a form error
            return _errors_for(err)
        location_id = data.get(CONF_LOCATION_ID)
        if (
            device is not None
            and location_id is not None
            and device.locations
            and location_id not in device.locations
        ):
            return {CONF_LOCATION_ID: "location_not_linked"}
        self._data = data
        self._client = client
        if device is not None:
            self._device = device
        return {}

    # Setting up

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask whether the user has a device ID already."""
        return self.async_show_menu(step_id="user", menu_options=["connect", "register"])

    async def async_step_connect(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Connect a device already registered with Flatpeak."""
        shown = {CONF_API_KEY, CONF_ACCOUNT_ID, CONF_DEVICE_ID, SECTION_ADVANCED}
        return await self._async_credentials_step(
            "connect", user_input, shown, _connect_schema, self._async_use_device
        )

    async def async_step_register(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Check the credentials of a user who has no device ID yet."""
        shown = {CONF_API_KEY, CONF_ACCOUNT_ID, SECTION_ADVANCED}
        return await self._async_credentials_step(
            "register", user_input, shown, _register_schema, self.async_step_register_device
        )

    async def _async_credentials_step(
        self,
        step_id: str,
        user_input: dict[str, Any] | None,
        shown: set[str],
        schema: Callable[..., vol.Schema],
        then: Callable[[], Awaitable[ConfigFlowResult]],
    ) -> ConfigFlowResult:
        """Show a credentials form, validate it, and go on to `then` once it is right."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = await self._async_validate(_flatten(user_input), shown)
            if not errors:
                return await then()
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                schema(expanded=_advanced_shown(user_input, errors)), user_input
            ),
            errors=errors,
        )

    async def async_step_register_device(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Register a new device with Flatpeak, then set it up."""
        errors: dict[str, str] = {}
        if user_input is not None:
            location_id, errors = _location_input(user_input)
            errors |= _check_amounts(user_input)
            if not errors:
                # One reference per flow, so that trying again after a failure
                # does not name a second device differently.
                if self._reference_id is None:
                    self._reference_id = f"home-assistant-{uuid4().hex[:12]}"
                try:
                    device = await self._client.create_device(
                        reference_id=self._reference_id,
                        device_type=DeviceType(user_input[CONF_DEVICE_TYPE].upper()),
                        location_ids=[location_id],
                        manufacturer=_optional_text(user_input.get(CONF_MANUFACTURER)),
                        model_name=_optional_text(user_input.get(CONF_MODEL_NAME)),
                        capacity_kwh=user_input[CONF_CAPACITY],
                        charge_power_kw=user_input[CONF_CHARGE_POWER],
                        discharge_power_kw=user_input.get(CONF_DISCHARGE_POWER),
                    )
                except Exception as err:  # noqa: BLE001 - every failure becomes a form error
                    errors = _errors_for(err)
                else:
                    self._device = device
                    return await self._async_use_device(location_id)
        return self.async_show_form(
            step_id="register_device",
            data_schema=self.add_suggested_values_to_schema(_register_device_schema(), user_input),
            errors=errors,
            description_placeholders={"max": str(MAX_AMOUNT)},
        )

    async def _async_use_device(self, location_id: str | None = None) -> ConfigFlowResult:
        """Set up the checked device, asking for its location when it is not clear."""
        await self.async_set_unique_id(self._device.id)
        self._abort_if_unique_id_configured()
        if location_id is None and len(self._device.locations) == 1:
            location_id = self._device.locations[0]
        if location_id is None:
            return await self.async_step_location()
        return self._async_create_entry(location_id)

    async def async_step_location(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the location when the device has several, or none."""
        errors: dict[str, str] = {}
        if user_input is not None:
            location_id, errors = _location_input(user_input)
            if not errors:
                return self._async_create_entry(location_id)
        return self.async_show_form(
            step_id="location",
            data_schema=self.add_suggested_values_to_schema(
                _location_schema(self._device.locations), user_input
            ),
            errors=errors,
            description_placeholders={"device": _title(self._device)},
        )

    @callback
    def _async_create_entry(self, location_id: str) -> ConfigFlowResult:
        return self.async_create_entry(
            title=_title(self._device),
            data={
                CONF_API_KEY: self._data[CONF_API_KEY],
                CONF_ACCOUNT_ID: self._data[CONF_ACCOUNT_ID],
                CONF_DEVICE_ID: self._device.id,
                CONF_LOCATION_ID: location_id,
                CONF_URL: self._data[CONF_URL],
            },
        )

    # Changing an entry

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
        """Ask for a new API key for the same account and device."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            # The location is left out: a new key is no reason to question it.
            values = {
                CONF_API_KEY: user_input[CONF_API_KEY],
                CONF_ACCOUNT_ID: entry.data[CONF_ACCOUNT_ID],
                CONF_DEVICE_ID: entry.data[CONF_DEVICE_ID],
                CONF_URL: entry.data[CONF_URL],
            }
            errors = await self._async_validate(values, {CONF_API_KEY})
            if not errors:
                return self._async_update_and_abort(
                    entry,
                    "reauth_successful",
                    data={**entry.data, CONF_API_KEY: self._data[CONF_API_KEY]},
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
        """Change the device, the location or the API address of an entry."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            values = {
                CONF_API_KEY: entry.data[CONF_API_KEY],
                CONF_ACCOUNT_ID: entry.data[CONF_ACCOUNT_ID],
                **_flatten(user_input),
            }
            shown = {CONF_DEVICE_ID, CONF_LOCATION_ID, SECTION_ADVANCED}
            errors = await self._async_validate(values, shown)
            if not errors:
                return await self._async_reconfigure(entry)
        else:
            user_input = {
                CONF_DEVICE_ID: entry.data[CONF_DEVICE_ID],
                CONF_LOCATION_ID: entry.data[CONF_LOCATION_ID],
                SECTION_ADVANCED: {CONF_URL: entry.data[CONF_URL]},
            }
        expanded = _advanced_shown(user_input, errors)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                _reconfigure_schema(expanded=expanded), user_input
            ),
            errors=errors,
            description_placeholders={"name": entry.title},
        )

    async def _async_reconfigure(self, entry: ConfigEntry) -> ConfigFlowResult:
        data = {**entry.data, **self._data}
        changes: dict[str, Any] = {}
        if self._device.id != entry.unique_id:
            # Another device: refuse one that has an entry of its own, and
            # name the entry after the new device.
            await self.async_set_unique_id(self._device.id)
            self._abort_if_unique_id_configured()
            changes = {"unique_id": self._device.id, "title": _title(self._device)}
        return self._async_update_and_abort(entry, "reconfigure_successful", data=data, **changes)


class FlatpeakOptionsFlow(OptionsFlow):
    """How often to fetch, how far ahead, and when a window is "starting soon"."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show and store the options."""
        errors: dict[str, str] = {}
        if user_input is not None:
            soc_entity = user_input.get(CONF_SOC_ENTITY)
            errors = option_errors(OPTIONS, user_input)
            if soc_entity and (error := _check_soc_entity(self.hass, soc_entity)):
                errors[CONF_SOC_ENTITY] = error
            if not errors:
                # The number fields give floats; the options are whole numbers.
                options: dict[str, Any] = {
                    option.key: option.value(user_input) for option in OPTIONS
                }
                if soc_entity:
                    options[CONF_SOC_ENTITY] = soc_entity
                return self.async_create_entry(data=options)
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                OPTIONS_SCHEMA, user_input or self.config_entry.options
            ),
            errors=errors,
            description_placeholders=option_ranges(OPTIONS),
        )


def _check_soc_entity(hass: HomeAssistant, entity_id: str) -> str | None:
    """Return an error key unless the entity can be a state of charge in percent."""
    state = hass.states.get(entity_id)
    if state is None:
        return "soc_entity_not_found"
    unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
    if unit is not None and unit != PERCENTAGE:
        return "soc_entity_not_percent"
    return None
