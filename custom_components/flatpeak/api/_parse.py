"""Tolerant reading of JSON documents.

The clouds we talk to are not always consistent: enum values come with stray
spaces or in lower case, numbers arrive as strings, timestamps with or
without an offset, energies in WH or KWH. `Reader` accepts all of that where
the meaning is clear, and otherwise raises one `InvalidResponseError` naming
the path of the field (for example `data[0].schedule[1].end_time`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
import math
from typing import Any

from .exceptions import InvalidResponseError
from .validation import MAX_ID_LENGTH

# Short strings are shown in error messages to help the user; long ones are
# not, because a long string in a response may be a token.
_MAX_SHOWN_STRING = 32

ENERGY_UNITS_WH = {"WH": 1.0, "KWH": 1_000.0, "MWH": 1_000_000.0}
POWER_UNITS_W = {"W": 1.0, "KW": 1_000.0, "MW": 1_000_000.0}


def describe(value: object) -> str:
    """Describe a JSON value for an error message, without leaking secrets."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if len(value) <= _MAX_SHOWN_STRING:
            return repr(value)
        return f"a string of {len(value)} characters"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def clean_token(value: str) -> str:
    """Normalise an enum-like string: `" connected "` -> `"CONNECTED"`."""
    return "_".join(value.strip().upper().replace("-", " ").split())


def parse_enum[E: StrEnum](value: str, enum: type[E]) -> E | str:
    """Return the enum member for value, or the cleaned string if unknown.

    Unknown values are kept rather than rejected: a new status introduced by
    the API must not break an installation.
    """
    cleaned = clean_token(value)
    try:
        return enum(cleaned)
    except ValueError:
        return cleaned


def parse_datetime(value: str) -> datetime | None:
    """Parse an RFC 3339 timestamp to an aware UTC datetime, or None.

    A timestamp without an offset is taken as UTC, which is what the API
    documents for every timestamp it sends.
    """
    try:
        parsed = datetime.fromisoformat(value.strip().upper())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # in UTC, the moment falls before year 1 or after 9999
        return None


class Reader:
    """Reads the fields of one JSON object, naming the path of any problem.

    A nested object's path is worked out only for an error message: most
    documents have none, and a path per object of a long list costs time.
    """

    __slots__ = ("_data", "_index", "_key", "_parent", "service")

    def __init__(
        self,
        data: object,
        path: str = "",
        service: str = "Flatpeak",
        parent: Reader | None = None,
        index: int | None = None,
    ) -> None:
        """Wrap data, which must be a JSON object.

        path is where it is in the document; with parent, the key in the parent
        object it is under, and index its place in the list that key holds.
        """
        self._parent = parent
        self._key = path
        self._index = index
        self.service = service
        # JSON objects are dicts: checked first, without the cost of the Mapping ABC.
        if type(data) is not dict and not isinstance(data, Mapping):
            raise self._error(self.path, f"expected an object, got {describe(data)}")
        self._data: Mapping[str, Any] = data

    @property
    def path(self) -> str:
        """Where this object is in the document (`data[0].schedule[1]`)."""
        if self._parent is None:
            return self._key
        path = self._parent.child_path(self._key)
        return path if self._index is None else f"{path}[{self._index}]"

    def _error(self, path: str, reason: str) -> InvalidResponseError:
        where = path or "the top level"
        return InvalidResponseError(
            f"{self.service} sent an unexpected response at {where}: {reason}",
            service=self.service,
            path=path,
        )

    def child_path(self, key: str) -> str:
        """Return the path of a field of this object."""
        path = self.path
        return f"{path}.{key}" if path else key

    def error(self, key: str, reason: str) -> InvalidResponseError:
        """Build the error for a field of this object."""
        return self._error(self.child_path(key), reason)

    def raw(self, key: str) -> Any:
        """Return a field as it is, or None."""
        return self._data.get(key)

    def _required(self, key: str) -> Any:
        value = self._data.get(key)
        if value is None:
            raise self.error(key, "the field is missing")
        return value

    # Objects and lists

    def obj(self, key: str) -> Reader:
        """Return a required nested object."""
        return Reader(self._required(key), key, self.service, self)

    def opt_obj(self, key: str) -> Reader | None:
        """Return a nested object, or None when absent."""
        value = self._data.get(key)
        if value is None:
            return None
        return Reader(value, key, self.service, self)

    def _list(self, key: str) -> list[Any]:
        value = self._data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(key, f"expected a list, got {describe(value)}")
        return value

    def objects(self, key: str) -> list[Reader]:
        """Return a list of objects; an absent list is empty."""
        return [
            Reader(item, key, self.service, self, index)
            for index, item in enumerate(self._list(key))
        ]

    def strings(self, key: str) -> tuple[str, ...]:
        """Return a list of strings; an absent list is empty."""
        result = []
        for index, item in enumerate(self._list(key)):
            if not isinstance(item, str):
                raise self._error(
                    f"{self.child_path(key)}[{index}]", f"expected a string, got {describe(item)}"
                )
            result.append(item.strip())
        return tuple(result)

    # Scalars

    def opt_string(self, key: str) -> str | None:
        """Return a string field, stripped; numbers are accepted as text."""
        value = self._data.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            return value.strip()
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"expected a string, got {describe(value)}")
        return str(value).strip()

    def string(self, key: str) -> str:
        """Return a required, non-empty string field."""
        value = self.opt_string(key)
        if not value:
            raise self.error(key, "the field is missing")
        return value

    def opt_identifier(self, key: str) -> str | None:
        """Return an identifier, or None when absent.

        Identifiers go into request paths, so one longer than any real
        identifier is refused here rather than sent back.
        """
        value = self.opt_string(key)
        if value is not None and len(value) > MAX_ID_LENGTH:
            raise self.error(key, f"expected an identifier, got {describe(value)}")
        return value

    def identifier(self, key: str) -> str:
        """Return a required identifier."""
        value = self.opt_identifier(key)
        if not value:
            raise self.error(key, "the field is missing")
        return value

    def opt_number(self, key: str) -> float | None:
        """Return a finite number, or None when absent."""
        return None if self._data.get(key) is None else self.number(key)

    def number(self, key: str) -> float:
        """Return a required finite number; numeric strings such as "24" are accepted."""
        value = self._required(key)
        number: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                number = float(value)
            except OverflowError:  # an integer beyond the range of a float
                number = None
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                number = None
        if number is None or not math.isfinite(number):
            raise self.error(key, f"expected a number, got {describe(value)}")
        return number

    def opt_int(self, key: str) -> int | None:
        """Return a whole number; 3.0 and "3" are accepted, 3.5 is not."""
        value = self.opt_number(key)
        if value is None:
            return None
        if not value.is_integer():
            raise self.error(key, f"expected a whole number, got {describe(value)}")
        return int(value)

    def opt_boolean(self, key: str) -> bool | None:
        """Return a boolean; "true"/"false" strings are accepted."""
        value = self._data.get(key)
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str) and clean_token(value) in ("TRUE", "FALSE"):
            return clean_token(value) == "TRUE"
        raise self.error(key, f"expected true or false, got {describe(value)}")

    def boolean(self, key: str, default: bool) -> bool:
        """Return a boolean, or default when absent."""
        value = self.opt_boolean(key)
        return default if value is None else value

    def opt_timestamp(self, key: str) -> datetime | None:
        """Return an aware UTC datetime, or None when absent."""
        return None if self._data.get(key) is None else self.timestamp(key)

    def timestamp(self, key: str) -> datetime:
        """Return a required aware UTC datetime."""
        value = self._data.get(key)
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            self._required(key)
            raise self.error(key, f"expected an RFC 3339 date-time, got {describe(value)}")
        return parsed

    def opt_enum[E: StrEnum](self, key: str, enum: type[E]) -> E | str | None:
        """Return an enum member, the cleaned string if unknown, or None."""
        value = self.opt_string(key)
        if not value:
            return None
        # Punctuation alone (" - ") cleans to an empty string: as good as absent.
        return parse_enum(value, enum) or None

    def enum[E: StrEnum](self, key: str, enum: type[E]) -> E | str:
        """Return a required enum member, or the cleaned string if unknown."""
        value = self.opt_enum(key, enum)
        if value is None:
            raise self.error(key, "the field is missing")
        return value

    def opt_quantity(self, key: str, units: Mapping[str, float]) -> float | None:
        """Return a `{"units", "value"}` quantity in the base unit, or None.

        Units are matched case- and space-insensitively, so `KWH` where `WH`
        was expected is converted, not misread. A quantity without units is
        rejected: its meaning would be a guess.
        """
        raw = self._data.get(key)
        if type(raw) is dict:  # the usual shape, {"units": "W", "value": 5000}, read at once
            unit, number = raw.get("units"), raw.get("value")
            factor = units.get(unit) if type(unit) is str else None
            if factor is not None and (type(number) is float or type(number) is int):
                try:
                    value = float(number) * factor
                except OverflowError:  # an integer beyond the range of a float
                    value = math.inf
                if math.isfinite(value):
                    return value
        # Anything else, every error included, is read field by field.
        quantity = self.opt_obj(key)
        if quantity is None:
            return None
        unit = quantity.opt_string("units")
        if not unit:
            raise quantity.error("units", "the field is missing")
        factor = units.get(unit)
        if factor is None:  # not in the usual spelling ("kWh", "k-Wh ")
            factor = units.get(clean_token(unit))
        if factor is None:
            expected = ", ".join(units)
            raise quantity.error("units", f"expected one of {expected}, got {describe(unit)}")
        value = quantity.number("value") * factor
        if not math.isfinite(value):  # a float in its unit, too large for one in the base unit
            raise quantity.error(
                "value", f"{describe(quantity.raw('value'))} {clean_token(unit)} is out of range"
            )
        return value
