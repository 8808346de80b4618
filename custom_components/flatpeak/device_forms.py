"""Choosing an account's devices, registering one, and placing each: the steps flows share.

The set-up of an account and its *Add device* flow offer the same choice: the
account's devices (`GET /devices`, every page), each listed with its type,
maker, model, reference and ID, or a new device to register with Flatpeak.
Then each chosen device's location, asked only when the device has several
(or none). The state of one flow's choice is a `DeviceChoice`; the steps are
functions of the flow that shows them, so that each is written once.

A business account may hold thousands of devices. Home Assistant shows a
select of several values, and one that takes a typed value, as a searchable
list, but one form offers at most MAX_CHOICES devices: when the account has
more, the form adds a search field that narrows the list (words of a name,
maker, model, type, reference or ID), and an exact device ID, or a reference
when the listing was cut short, finds a device the list does not hold.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from typing import Any
from uuid import uuid4

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import UnitOfEnergy, UnitOfPower
from homeassistant.data_entry_flow import AbortFlow, FlowHandler, FlowResult
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
import voluptuous as vol

from .api import Device, DeviceList, DeviceType, FlatpeakClient, InvalidIdError, check_id
from .const import CONF_DEVICE_ID, CONF_LOCATION_ID, SUBENTRY_DEVICE
from .credentials import errors_for
from .selectors import TEXT, number

# The most devices one form lists; the search field narrows the rest.
MAX_CHOICES = 200

# The fields of the choice: several devices, or one, and the search.
CONF_DEVICES = "devices"
CONF_SEARCH = "search"

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

# The reference a registration gives a device: ours, so it names nothing to the user.
REFERENCE_PREFIX = "home-assistant-"

# A battery's capacity and powers: above 0, at most this. Optional in the form, so that
# nothing is filled in for the user; the flow asks for the two it needs.
MAX_AMOUNT = 1000

# Each device type in words, as the registration form names those it offers.
KIND_NAMES: dict[DeviceType, str] = {
    DeviceType.BATTERY_SYSTEM: "Home battery",
    DeviceType.EV_CHARGER: "EV charger",
    DeviceType.ELECTRIC_VEHICLE: "Electric vehicle",
    DeviceType.PV_SYSTEM: "Solar system",
    DeviceType.OTHER: "Device",
}
HEAT_PUMP = "Heat pump"
# How much of a device ID tells devices apart in a name.
ID_END = 6


# Naming


def device_kind(device: Device) -> str:
    """Return the kind of a device in words: its type, or a heat pump by its properties."""
    if device.heat_pump is not None and device.type in (None, DeviceType.OTHER):
        return HEAT_PUMP
    if isinstance(device.type, DeviceType):
        return KIND_NAMES[device.type]
    if device.type:
        return device.type.replace("_", " ").strip().capitalize()
    return KIND_NAMES[DeviceType.OTHER]


def _own_reference(device: Device) -> str | None:
    """Return the device's reference, unless it is one a registration here made up."""
    reference = (device.reference_id or "").strip()
    return reference if reference and not reference.startswith(REFERENCE_PREFIX) else None


def device_name(device: Device, taken: Collection[str] = ()) -> str:
    """Name a device: maker and model, else its reference, else its kind and the end of its ID.

    A name in `taken` (another device's) gets what tells this one apart: its
    reference, else the end of its ID.
    """
    maker_model = " ".join(
        part.strip() for part in (device.manufacturer, device.model_name) if part and part.strip()
    )
    reference = _own_reference(device)
    end = device.id[-ID_END:]
    name = maker_model or reference or f"{device_kind(device)} {end}"
    candidates = [name]
    if maker_model and reference:
        candidates.append(f"{name} ({reference})")
    candidates.append(f"{name} ({end})")
    return next((candidate for candidate in candidates if candidate not in taken), candidates[-1])


def device_label(device: Device) -> str:
    """Return how a list shows a device, short enough for a chip: name, kind, end of its ID."""
    name = device_name(device)
    parts = [name]
    if not name.startswith(device_kind(device)):
        parts.append(device_kind(device))
    if device.id[-ID_END:] not in name:
        parts.append(f"…{device.id[-ID_END:]}")
    return " · ".join(parts)


def _haystack(device: Device) -> str:
    """Return everything a search looks in, folded: the label, reference, ID, type, locations."""
    words = (
        device_label(device),
        device.reference_id,
        device.id,
        device.type,
        device.model_code,
        *device.locations,
    )
    return " ".join(str(word) for word in words if word).casefold()


def _is_device_id(text: str) -> bool:
    try:
        check_id(text, "dev")
    except InvalidIdError:
        return False
    return True


# Locations


def location_schema(device: Device) -> vol.Schema:
    """Return the form field of a device's location: one of its own, or any typed in."""
    field: Any = TEXT
    if device.locations:
        field = SelectSelector(
            SelectSelectorConfig(options=list(device.locations), mode=SelectSelectorMode.LIST)
        )
    return vol.Schema({vol.Required(CONF_LOCATION_ID): field})


def location_input(
    user_input: Mapping[str, Any], device: Device | None = None
) -> tuple[str, dict[str, str]]:
    """Read a location ID from a form, and its error: malformed, or not one of the device's."""
    location_id = str(user_input.get(CONF_LOCATION_ID) or "").strip()
    try:
        check_id(location_id, "loc")
    except InvalidIdError:
        return location_id, {CONF_LOCATION_ID: "invalid_id_format"}
    if device is not None and device.locations and location_id not in device.locations:
        return location_id, {CONF_LOCATION_ID: "location_not_linked"}
    return location_id, {}


# Registration


def _amount(unit: str) -> Any:
    return number(unit, step=0.1)


def register_schema() -> vol.Schema:
    """Return the form that registers a new device with Flatpeak."""
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


def check_amounts(user_input: Mapping[str, Any]) -> dict[str, str]:
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


def _optional_text(value: Any) -> str | None:
    text = str(value or "").strip()
    return text or None


class DeviceChoice:
    """What one flow offers of an account's devices, and what the user chose.

    `offered` are the listed devices not yet added; `choices` those the form
    lists now (at most MAX_CHOICES, narrowed by `query`); `chosen` the devices
    the user picked or registered, and `locations` where each of them is.
    """

    def __init__(
        self,
        client: FlatpeakClient,
        listing: DeviceList,
        *,
        multiple: bool,
        added: Collection[str] = (),
        names_taken: Collection[str] = (),
    ) -> None:
        """Offer the listed devices that are not among the `added` device IDs."""
        self.client = client
        self.multiple = multiple
        self.field = CONF_DEVICES if multiple else CONF_DEVICE_ID
        self.truncated = listing.truncated
        self.added = frozenset(added)
        self.listed = {device.id: device for device in listing.devices}
        self.offered = tuple(d for d in listing.devices if d.id not in self.added)
        self.query = ""
        self.choices = {device.id: device for device in self.offered[:MAX_CHOICES]}
        self.chosen: list[Device] = []
        self.locations: dict[str, str] = {}
        self._names_taken = set(names_taken)
        # One reference per flow, so that trying again after a failure does
        # not name a second device differently.
        self._reference_id: str | None = None

    @property
    def searchable(self) -> bool:
        """Say whether the form needs a search field: its list does not hold every device."""
        return self.truncated or len(self.offered) > MAX_CHOICES

    # Picking

    def pick_schema(self) -> vol.Schema:
        """Return the form that offers the devices: a searchable list, and a search field if needed."""
        options = [
            SelectOptionDict(value=device.id, label=device_label(device))
            for device in self.choices.values()
        ]
        selector = SelectSelector(
            SelectSelectorConfig(
                options=options,
                multiple=self.multiple,
                # One value with a typed one allowed is a searchable list in every
                # frontend (a plain single select is not); a typed ID is looked up.
                custom_value=not self.multiple,
                mode=SelectSelectorMode.DROPDOWN,
            )
        )
        if not self.searchable:
            return vol.Schema({vol.Required(self.field): selector})
        # With a search field, a form that picks nothing is a search.
        return vol.Schema({vol.Optional(self.field): selector, vol.Optional(CONF_SEARCH): TEXT})

    def pick_placeholders(self) -> dict[str, str]:
        """Return what the form's words name: how many devices it lists, of how many."""
        total = f"{len(self.offered)}{'+' if self.truncated else ''}"
        return {"shown": str(len(self.choices)), "total": total, "max": str(MAX_CHOICES)}

    def pick_values(self, user_input: Mapping[str, Any] | None) -> dict[str, Any]:
        """Return what the form shows filled in: what was picked, and the search.

        Nothing is picked until the user picks (a required list would otherwise
        show its first device chosen): nothing is added unasked.
        """
        values = dict(user_input or {})
        if self.multiple:
            values.setdefault(self.field, [])
        if self.searchable:
            values.setdefault(CONF_SEARCH, self.query)
        return values

    async def async_pick(self, user_input: Mapping[str, Any]) -> dict[str, str] | None:
        """Take the form: a changed search narrows the list, else what was picked is chosen.

        Return None once devices are chosen, else the form's errors (none
        after a search). A device already added ends the flow.
        """
        picked = _values(user_input.get(self.field))
        query = str(user_input.get(CONF_SEARCH) or "").strip()
        if self.searchable and query != self.query:
            return await self._async_search(query, picked)
        if not picked:
            return {self.field: "no_device_chosen"}
        chosen: dict[str, Device] = {}
        for value in picked:
            try:
                device = await self._async_find(value)
            except AbortFlow:
                raise
            except Exception as err:  # noqa: BLE001 - every failure becomes a form error
                return errors_for(err, device_field=self.field)
            if device is None:
                return {self.field: "device_not_found"}
            chosen[device.id] = device
        self.chosen = list(chosen.values())
        return None

    async def _async_search(self, query: str, picked: list[str]) -> dict[str, str]:
        """List the devices that match a search, keeping those picked; return the search's errors."""
        words = query.casefold().split()
        found = [d for d in self.listed.values() if all(w in _haystack(d) for w in words)]
        if not found and query:
            try:
                found = await self._async_look_up(query)
            except Exception as err:  # noqa: BLE001 - every failure becomes a form error
                return errors_for(err, device_field=CONF_SEARCH)
        offered = [device for device in found if device.id not in self.added]
        if not offered:
            return {CONF_SEARCH: "already_added" if found else "no_match"}
        kept = [self.choices[value] for value in picked if value in self.choices]
        self.query = query
        self.choices = {device.id: device for device in (*kept, *offered[:MAX_CHOICES])}
        return {}

    async def _async_look_up(self, text: str) -> list[Device]:
        """Find a device the listing does not hold: by its ID, or by its reference if cut short."""
        if _is_device_id(text):
            return [await self.client.get_device(text)]
        if self.truncated:
            listing = await self.client.list_devices(reference_id=text, max_devices=MAX_CHOICES)
            return list(listing.devices)
        return []

    async def _async_find(self, value: str) -> Device | None:
        """Return the device a picked or typed value names: by ID, or by exact reference.

        A device already added ends the flow; one nobody lists is looked up by
        its ID, and None when that cannot name a device.
        """
        value = value.strip()
        if (device := self.choices.get(value) or self.listed.get(value)) is None:
            device = next((d for d in self.listed.values() if d.reference_id == value), None)
        if device is None and _is_device_id(value):
            device = await self.client.get_device(value)
        if device is not None and device.id in self.added:
            raise AbortFlow("already_configured")
        return device

    # Registering

    def register_values(self, user_input: Mapping[str, Any] | None) -> dict[str, Any]:
        """Return what the registration form shows filled in: the account's usual location."""
        if user_input is not None:
            return dict(user_input)
        usual = Counter(loc for device in self.listed.values() for loc in device.locations)
        return {CONF_LOCATION_ID: usual.most_common(1)[0][0]} if usual else {}

    async def async_register(self, user_input: Mapping[str, Any]) -> dict[str, str] | None:
        """Register the device the form describes; return None once done, else the form's errors."""
        location_id, errors = location_input(user_input)
        errors |= check_amounts(user_input)
        if errors:
            return errors
        if self._reference_id is None:
            self._reference_id = f"{REFERENCE_PREFIX}{uuid4().hex[:12]}"
        try:
            device = await self.client.create_device(
                reference_id=self._reference_id,
                device_type=DeviceType(str(user_input[CONF_DEVICE_TYPE]).upper()),
                location_ids=[location_id],
                manufacturer=_optional_text(user_input.get(CONF_MANUFACTURER)),
                model_name=_optional_text(user_input.get(CONF_MODEL_NAME)),
                capacity_kwh=user_input[CONF_CAPACITY],
                charge_power_kw=user_input[CONF_CHARGE_POWER],
                discharge_power_kw=user_input.get(CONF_DISCHARGE_POWER),
            )
        except Exception as err:  # noqa: BLE001 - every failure becomes a form error
            return errors_for(err)
        self.chosen = [device]
        self.locations[device.id] = location_id
        return None

    # Placing

    def unplaced(self) -> Device | None:
        """Return the next chosen device whose location must be asked; place the obvious ones."""
        for device in self.chosen:
            if device.id in self.locations:
                continue
            if len(device.locations) == 1:
                self.locations[device.id] = device.locations[0]
                continue
            return device
        return None

    def subentries(self) -> list[ConfigSubentryData]:
        """Return the device subentry of each chosen device, each named apart from the others."""
        taken = set(self._names_taken)
        subentries: list[ConfigSubentryData] = []
        for device in self.chosen:
            title = device_name(device, taken)
            taken.add(title)
            subentries.append(
                ConfigSubentryData(
                    data={
                        CONF_DEVICE_ID: device.id,
                        CONF_LOCATION_ID: self.locations[device.id],
                    },
                    subentry_type=SUBENTRY_DEVICE,
                    title=title,
                    unique_id=device.id,
                )
            )
        return subentries


def _values(value: Any) -> list[str]:
    """Return a select's value as a list: several, one, or none."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value]


# The steps, as every flow that offers devices shows them. Each returns the
# form to show, or None once its part is done.


async def async_pick_step[R: FlowResult[Any, Any]](
    flow: FlowHandler[Any, R, Any], choice: DeviceChoice, user_input: dict[str, Any] | None
) -> R | None:
    """Show the account's devices to pick from; None once picked."""
    errors: dict[str, str] = {}
    if user_input is not None:
        if (found := await choice.async_pick(user_input)) is None:
            return None
        errors = found
        if not errors:
            # A new search: the list changed, and the search shows what it holds.
            user_input = {key: value for key, value in user_input.items() if key != CONF_SEARCH}
    return flow.async_show_form(
        step_id="pick",
        data_schema=flow.add_suggested_values_to_schema(
            choice.pick_schema(), choice.pick_values(user_input)
        ),
        errors=errors,
        description_placeholders=choice.pick_placeholders(),
    )


async def async_register_step[R: FlowResult[Any, Any]](
    flow: FlowHandler[Any, R, Any], choice: DeviceChoice, user_input: dict[str, Any] | None
) -> R | None:
    """Show the form that registers a new device; None once registered."""
    errors: dict[str, str] = {}
    if user_input is not None:
        if (found := await choice.async_register(user_input)) is None:
            return None
        errors = found
    return flow.async_show_form(
        step_id="register_device",
        data_schema=flow.add_suggested_values_to_schema(
            register_schema(), choice.register_values(user_input)
        ),
        errors=errors,
        description_placeholders={"max": str(MAX_AMOUNT)},
    )


def location_step[R: FlowResult[Any, Any]](
    flow: FlowHandler[Any, R, Any], choice: DeviceChoice, user_input: dict[str, Any] | None
) -> R | None:
    """Ask each chosen device's location when it is not clear; None once all are placed."""
    device = choice.unplaced()
    if device is None:
        return None
    errors: dict[str, str] = {}
    if user_input is not None:
        location_id, errors = location_input(user_input, device)
        if not errors:
            choice.locations[device.id] = location_id
            if (device := choice.unplaced()) is None:
                return None
            user_input = None
    return flow.async_show_form(
        step_id="location",
        data_schema=flow.add_suggested_values_to_schema(location_schema(device), user_input),
        errors=errors,
        description_placeholders={"device": device_label(device)},
    )
