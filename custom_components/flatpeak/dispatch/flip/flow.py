"""The Flip dispatch of a Flatpeak device: a subentry of the account, added and reconfigured.

Each dispatch names the device whose charging windows it sends (`device_id`
in its data): with one device in the account it is that one, with several
the form asks, offering the devices that have no dispatch yet.

Input is checked before any request (formats of the key, the address, the
program and target IDs), then with one `GET /v1/events`, which proves that the
address is Flip's and that Flip accepts the key. Flip has no request that
checks a program ID without dispatching; an unknown program is reported by
the first dispatch (the dispatch status entity names it).
"""

from __future__ import annotations

from collections.abc import Mapping
import re
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentryFlow, SubentryFlowResult
from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    BooleanSelector,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
import voluptuous as vol

from ...api import (
    DEFAULT_FLIP_URL,
    FLIP_SANDBOX_URL,
    ApiError,
    FlipClient,
    FlipTargetType,
    InvalidIdError,
    check_base_url,
    check_id,
)
from ...const import CONF_DEVICE_ID, LOGGER, SUBENTRY_DEVICE
from ...problems import Problem, classify
from ...selectors import PASSWORD, TEXT, option_errors, option_fields, option_number, option_ranges
from .const import (
    BACKUP_RESERVE,
    CONF_AUTO_DISPATCH,
    CONF_PROGRAM_ID,
    CONF_TARGET_IDS,
    CONF_TARGET_TYPE,
    MIN_DURATION,
    MIN_LEAD_TIME,
)

# Flip keys are `fl_…`, sent in an HTTP header: no whitespace.
FLIP_KEY_FORMAT = re.compile(r"^fl_\S+$")
# Target IDs are typed as one line, separated by commas or spaces.
TARGET_SEPARATORS = re.compile(r"[\s,;]+")

TARGET_TYPES = [kind.lower() for kind in FlipTargetType]
# The ranges the form's descriptions name.
RANGES = option_ranges((MIN_LEAD_TIME, MIN_DURATION, BACKUP_RESERVE))

# The form error of each problem a user can act on: the field it is about, and its key.
FORM_ERRORS: dict[Problem, tuple[str, str]] = {
    Problem.INVALID_AUTH: ("base", "invalid_auth"),
    Problem.NOT_FOUND: (CONF_URL, "not_flip"),
    Problem.INVALID_RESPONSE: (CONF_URL, "not_flip"),
    Problem.RATE_LIMITED: ("base", "rate_limited"),
    Problem.CANNOT_CONNECT: ("base", "cannot_connect"),
    Problem.SERVER_ERROR: ("base", "cannot_connect"),
}


def dispatch_schema() -> vol.Schema:
    """Return the form of a Flip dispatch."""
    return vol.Schema(
        {
            vol.Required(CONF_API_KEY): PASSWORD,
            vol.Required(CONF_URL, default=DEFAULT_FLIP_URL): SelectSelector(
                SelectSelectorConfig(
                    options=[DEFAULT_FLIP_URL, FLIP_SANDBOX_URL],
                    custom_value=True,
                    mode=SelectSelectorMode.DROPDOWN,
                )
            ),
            vol.Required(CONF_PROGRAM_ID): TEXT,
            vol.Required(CONF_TARGET_TYPE, default=FlipTargetType.DEVICE.lower()): SelectSelector(
                SelectSelectorConfig(
                    options=TARGET_TYPES,
                    mode=SelectSelectorMode.DROPDOWN,
                    translation_key=CONF_TARGET_TYPE,
                )
            ),
            vol.Optional(CONF_TARGET_IDS): TEXT,
            vol.Required(CONF_AUTO_DISPATCH, default=True): BooleanSelector(),
            **option_fields((MIN_LEAD_TIME, MIN_DURATION)),
            vol.Optional(BACKUP_RESERVE.key): option_number(BACKUP_RESERVE),
        }
    )


def check_dispatch_input(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Return the subentry data made from a form, and an error for each wrong field."""
    errors: dict[str, str] = {}
    api_key = str(values.get(CONF_API_KEY, "")).strip()
    if not FLIP_KEY_FORMAT.fullmatch(api_key):
        errors[CONF_API_KEY] = "invalid_api_key_format"
    url = str(values.get(CONF_URL, "")).strip()
    try:
        url = check_base_url(url)
    except ValueError:
        errors[CONF_URL] = "invalid_url"
    program_id = str(values.get(CONF_PROGRAM_ID, "")).strip()
    try:
        check_id(program_id, service="Flip")
    except InvalidIdError:
        errors[CONF_PROGRAM_ID] = "invalid_program_id"
    target_type = str(values.get(CONF_TARGET_TYPE, "")).strip().upper()
    if target_type not in FlipTargetType.__members__:
        errors[CONF_TARGET_TYPE] = "invalid_target_type"
    target_ids = [
        part for part in TARGET_SEPARATORS.split(values.get(CONF_TARGET_IDS) or "") if part
    ]
    if not target_ids and target_type == FlipTargetType.PROGRAM:
        target_ids = [program_id]  # a program is its own target
    if not target_ids:
        errors[CONF_TARGET_IDS] = "target_ids_required"
    for target in target_ids:
        try:
            check_id(target, service="Flip")
        except InvalidIdError:
            errors[CONF_TARGET_IDS] = "invalid_target_ids"
    errors |= option_errors((MIN_LEAD_TIME, MIN_DURATION, BACKUP_RESERVE), values)
    if errors:
        return dict(values), errors
    data: dict[str, Any] = {
        CONF_API_KEY: api_key,
        CONF_URL: url,
        CONF_PROGRAM_ID: program_id,
        CONF_TARGET_TYPE: target_type,
        CONF_TARGET_IDS: list(dict.fromkeys(target_ids)),
        CONF_AUTO_DISPATCH: bool(values.get(CONF_AUTO_DISPATCH, True)),
        MIN_LEAD_TIME.key: MIN_LEAD_TIME.value(values),
        MIN_DURATION.key: MIN_DURATION.value(values),
        BACKUP_RESERVE.key: (
            None if values.get(BACKUP_RESERVE.key) is None else BACKUP_RESERVE.value(values)
        ),
    }
    return data, errors


def form_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return the form's values for stored subentry data."""
    values = {key: value for key, value in data.items() if value is not None}
    values[CONF_TARGET_TYPE] = str(data.get(CONF_TARGET_TYPE, "")).lower()
    values[CONF_TARGET_IDS] = ", ".join(data.get(CONF_TARGET_IDS, ()))
    return values


class FlipDispatchSubentryFlow(ConfigSubentryFlow):
    """Add or change the Flip dispatch of one of the account's devices."""

    async def _async_validate(
        self, user_input: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Check the form's formats, then the address and the key with one request."""
        data, errors = check_dispatch_input(user_input)
        if errors:
            return data, errors
        client = FlipClient(
            async_get_clientsession(self.hass), data[CONF_API_KEY], base_url=data[CONF_URL]
        )
        try:
            await client.list_events()
        except ApiError as err:
            if (found := FORM_ERRORS.get(classify(err))) is None:
                # The client's messages never hold the key.
                LOGGER.error("Flip refused to list events: %s", err)
                found = ("base", "unknown")
            errors[found[0]] = found[1]
        except Exception as err:  # noqa: BLE001 - every failure becomes a form error
            LOGGER.error("Unexpected error while checking the Flip dispatch", exc_info=err)
            errors["base"] = "unknown"
        return data, errors

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Add the Flip dispatch of a device; a device has one dispatch at most."""
        entry = self._get_entry()
        devices = _devices(entry)
        free = {
            device_id: title
            for device_id, title in devices.items()
            if not _dispatched(entry, device_id)
        }
        if not devices:
            return self.async_abort(reason="no_devices")
        if not free:
            return self.async_abort(reason="already_configured")
        errors: dict[str, str] = {}
        if user_input is not None:
            # With one device there is nothing to ask: the dispatch is its.
            device_id = str(user_input.get(CONF_DEVICE_ID) or next(iter(free)))
            if device_id not in free:
                # Given a dispatch since the form was shown.
                errors = {CONF_DEVICE_ID: "device_unavailable"}
            else:
                data, errors = await self._async_validate(user_input)
            if not errors:
                data = {CONF_DEVICE_ID: device_id, **data}
                return self.async_create_entry(title=_title(data, devices), data=data)
        schema = dispatch_schema()
        if len(devices) > 1:
            schema = schema.extend({vol.Required(CONF_DEVICE_ID): _device_selector(free)})
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(schema, user_input),
            errors=errors,
            description_placeholders={"name": entry.title, **RANGES},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change the key, the address, the target or the rules of the dispatch."""
        entry = self._get_entry()
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = await self._async_validate(user_input)
            if not errors:
                # The dispatch stays with its device.
                data = {CONF_DEVICE_ID: subentry.data.get(CONF_DEVICE_ID), **data}
                # Not async_update_and_abort: since 2026.x it shows Home Assistant's
                # own wording unless given a reason, which 2025.4 does not take.
                self.hass.config_entries.async_update_subentry(
                    entry, subentry, title=_title(data, _devices(entry)), data=data
                )
                return self.async_abort(reason="reconfigure_successful")
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                dispatch_schema(), user_input or form_values(subentry.data)
            ),
            errors=errors,
            description_placeholders={"name": entry.title, **RANGES},
        )


def _devices(entry: ConfigEntry) -> dict[str, str]:
    """Return the account's devices: the title of each, by device ID."""
    return {
        subentry.data[CONF_DEVICE_ID]: subentry.title
        for subentry in entry.subentries.values()
        if subentry.subentry_type == SUBENTRY_DEVICE
    }


def _dispatched(entry: ConfigEntry, device_id: str) -> bool:
    """Say whether a device has a dispatch already, of any kind: it takes one at most."""
    return any(
        subentry.subentry_type != SUBENTRY_DEVICE and subentry.data.get(CONF_DEVICE_ID) == device_id
        for subentry in entry.subentries.values()
    )


def _device_selector(devices: Mapping[str, str]) -> SelectSelector:
    """Return the field that names the device whose windows are dispatched."""
    return SelectSelector(
        SelectSelectorConfig(
            options=[
                SelectOptionDict(value=device_id, label=title)
                for device_id, title in devices.items()
            ],
            mode=SelectSelectorMode.DROPDOWN,
        )
    )


def _title(data: Mapping[str, Any], devices: Mapping[str, str]) -> str:
    """Name a dispatch after its program, and its device when the account has several."""
    title = f"Flip {data[CONF_PROGRAM_ID]}"
    if len(devices) > 1 and (device := devices.get(data[CONF_DEVICE_ID])):
        title = f"{title} ({device})"
    return title
