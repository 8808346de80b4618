"""The form fields both flows use: text, secrets, addresses and bounded numbers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import voluptuous as vol

from .const import Option

TEXT = TextSelector()
PASSWORD = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
URL = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))


def number(unit: str, *, step: float = 1) -> NumberSelector:
    """Return a number box in a unit.

    Without a range: the flows check it and name it in their own words, where
    the selector's check would say only "Value 500.0 is too large".
    """
    return NumberSelector(
        NumberSelectorConfig(step=step, unit_of_measurement=unit, mode=NumberSelectorMode.BOX)
    )


def option_number(option: Option) -> NumberSelector:
    """Return the number box of an option: whole numbers, in its unit."""
    return number(option.unit)


def option_errors(options: Iterable[Option], values: Mapping[str, Any]) -> dict[str, str]:
    """Return an error for each option whose value is not a whole number in its range."""
    return {
        option.key: "out_of_range"
        for option in options
        if values.get(option.key) is not None and not option.accepts(values[option.key])
    }


def option_ranges(options: Iterable[Option]) -> dict[str, str]:
    """Return each option's range with its unit, for the form's descriptions: {key}_range."""
    return {f"{option.key}_range": option.range_text for option in options}


def option_fields(options: Iterable[Option]) -> dict[vol.Marker, Any]:
    """Return the form fields of options, each with its default."""
    return {
        vol.Required(option.key, default=option.default): option_number(option)
        for option in options
    }
