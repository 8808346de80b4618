"""The account's credentials in the flows: their form fields and their checks.

Every step that takes an API key checks it here, the same way: formats first
(no request leaves for input that cannot be right), then one login.
`errors_for` turns any failed request of a flow into the form error a user
can act on.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
import re
from typing import Any

from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import section
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import voluptuous as vol

from .api import (
    DEFAULT_FLATPEAK_URL,
    ApiError,
    FlatpeakClient,
    InvalidIdError,
    check_base_url,
    check_id,
)
from .const import CONF_ACCOUNT_ID, CONF_LOCATION_ID, LOGGER
from .problems import Problem, classify
from .selectors import URL

# The collapsed part of a form that holds the API address.
SECTION_ADVANCED = "advanced"

# Flatpeak API keys are `sk_live_…` or `sk_test_…`. No whitespace: the key
# travels in an HTTP header.
API_KEY_FORMAT = re.compile(r"^sk_(?:live|test)_\S+$")


def advanced_section(*, expanded: bool) -> dict[vol.Marker, Any]:
    """Return the form's collapsible section that holds the API address."""
    return {
        vol.Required(SECTION_ADVANCED): section(
            vol.Schema({vol.Required(CONF_URL, default=DEFAULT_FLATPEAK_URL): URL}),
            {"collapsed": not expanded},
        )
    }


def advanced_shown(user_input: Mapping[str, Any] | None, errors: Mapping[str, str]) -> bool:
    """Open the advanced section when it has an error or holds another address than Flatpeak's."""
    url = (user_input or {}).get(SECTION_ADVANCED, {}).get(CONF_URL, DEFAULT_FLATPEAK_URL)
    return SECTION_ADVANCED in errors or url != DEFAULT_FLATPEAK_URL


def flatten(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Return the form's values, with the fields of the advanced section at the top level."""
    values = {key: value for key, value in user_input.items() if key != SECTION_ADVANCED}
    values.update(user_input.get(SECTION_ADVANCED, {}))
    return values


def check_formats(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Return the API key, account ID and URL cleaned up, and an error for each that cannot be right."""
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    data[CONF_API_KEY] = str(values[CONF_API_KEY]).strip()
    if not API_KEY_FORMAT.fullmatch(data[CONF_API_KEY]):
        errors[CONF_API_KEY] = "invalid_api_key_format"
    data[CONF_ACCOUNT_ID] = str(values[CONF_ACCOUNT_ID]).strip()
    try:
        check_id(data[CONF_ACCOUNT_ID], "acc")
    except InvalidIdError:
        errors[CONF_ACCOUNT_ID] = "invalid_id_format"
    try:
        data[CONF_URL] = check_base_url(str(values[CONF_URL]))
    except ValueError:
        errors[SECTION_ADVANCED] = "invalid_url"
    return data, errors


# The form error of each problem a user can act on: the field it is about, and its key.
FORM_ERRORS: dict[Problem, tuple[str, str]] = {
    Problem.ACCOUNT_DISABLED: ("base", "account_disabled"),
    Problem.INVALID_AUTH: ("base", "invalid_auth"),
    Problem.RATE_LIMITED: ("base", "rate_limited"),
    Problem.CANNOT_CONNECT: ("base", "cannot_connect"),
    Problem.LOCATIONS_INVALID: (CONF_LOCATION_ID, "location_not_found"),
}


def errors_for(err: Exception, *, device_field: str | None = None) -> dict[str, str]:
    """Return the form error for a failed request; log what the user cannot fix.

    A request about one device names its field in `device_field`: a device
    Flatpeak does not know is reported there.
    """
    if isinstance(err, ApiError):
        problem = classify(err)
        if problem is Problem.NOT_FOUND and device_field is not None:
            return {device_field: "device_not_found"}
        if (found := FORM_ERRORS.get(problem)) is not None:
            return {found[0]: found[1]}
    # The messages of the client's errors never hold a key or a token.
    LOGGER.error("Unexpected error while talking to Flatpeak", exc_info=err)
    return {"base": "unknown"}


def reason_for(err: Exception, *, device: bool = False) -> str:
    """Return the reason a flow ends with when a request it cannot go on without fails.

    With `device`, the request was about one device: one Flatpeak does not
    know is the reason.
    """
    return next(iter(errors_for(err, device_field="base" if device else None).values()))


def on_form(errors: Mapping[str, str], shown: Collection[str]) -> dict[str, str]:
    """Return errors as a form shows them: one about a field it does not show, above it."""
    return {(key if key in shown else "base"): error for key, error in errors.items()}


def client_for(hass: HomeAssistant, data: Mapping[str, Any]) -> FlatpeakClient:
    """Return a client of the account that data names (API key, account ID, URL)."""
    return FlatpeakClient(
        async_get_clientsession(hass),
        data[CONF_ACCOUNT_ID],
        data[CONF_API_KEY],
        base_url=data[CONF_URL],
    )


@dataclass(frozen=True, slots=True)
class CheckedAccount:
    """Credentials Flatpeak accepted: their cleaned-up values, and a client logged in with them."""

    data: dict[str, Any]
    client: FlatpeakClient


async def async_check_account(
    hass: HomeAssistant, values: Mapping[str, Any], shown: Collection[str]
) -> CheckedAccount | dict[str, str]:
    """Check an API key, account ID and URL: their formats, then with one login.

    Return the checked account, or the form's errors (one about a value the
    form does not show is shown above it).
    """
    data, errors = check_formats(values)
    if errors:
        return on_form(errors, shown)
    client = client_for(hass, data)
    try:
        await client.authenticate()
    except Exception as err:  # noqa: BLE001 - every failure becomes a form error
        return on_form(errors_for(err), shown)
    return CheckedAccount(data, client)
