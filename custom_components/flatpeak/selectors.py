"""The form fields both flows use: text, secrets, addresses and bounded numbers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from homeassistant.const import PERCENTAGE, UnitOfTime
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import voluptuous as vol

from .const import HOUR, MINUTE, Option

TEXT = TextSelector()
PASSWORD = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
URL = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))

_UNITS: dict[timedelta | None, str] = {
    MINUTE: UnitOfTime.MINUTES,
    HOUR: UnitOfTime.HOURS,
    None: PERCENTAGE,
}


def number(unit: str, *, minimum: float, maximum: float, step: float = 1) -> NumberSelector:
    """Return a number box with its unit and range."""
    return NumberSelector(
        NumberSelectorConfig(
            min=minimum,
            max=maximum,
            step=step,
            unit_of_measurement=unit,
            mode=NumberSelectorMode.BOX,
        )
    )


def option_number(option: Option) -> NumberSelector:
    """Return the number box of an option: whole numbers within its range, in its unit."""
    return number(_UNITS[option.unit], minimum=option.minimum, maximum=option.maximum)


def option_fields(options: Iterable[Option]) -> dict[vol.Marker, Any]:
    """Return the form fields of options, each with its default."""
    return {
        vol.Required(option.key, default=option.default): option_number(option)
        for option in options
    }
