"""Property-based fuzzing of every parser of the API package.

The property: whatever JSON document arrives, a parser returns a value of the
right type whose invariants hold, or raises `InvalidResponseError` naming the
path of the field it could not read. Never any other exception: a KeyError,
TypeError, ValueError or OverflowError escaping a parser would escape the
client too, and reach Home Assistant as an unexpected error.

Documents come from fully random JSON and, more usefully, from the fixtures
mutated at random paths (a few mutations combined), which stay close enough
to real answers to reach the deep fields. A last test is exhaustive rather
than random: every single-point change of every fixture.

Every hypothesis test runs under the `flatpeak-fuzz` profile: derandomized
and without an example database, so every run, local or CI, tries the same
examples and cannot flake.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
import copy
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from functools import cache
from itertools import pairwise
import json
import math
import re
import sys
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

import aiohttp
from hypothesis import HealthCheck, event, given, note, settings, strategies as st
import pytest

from custom_components.flatpeak.api import (
    ApiError,
    AuthenticationError,
    ConnectionType,
    Device,
    DevicePage,
    DeviceStateRecord,
    DeviceType,
    FlatpeakClient,
    FlipClient,
    FlipEvent,
    FlipMode,
    FlipPowerMode,
    FlipTargetType,
    InvalidResponseError,
    LocationStatus,
    NotFoundError,
    Prices,
    RateLimitError,
    RequestError,
    SocSchedule,
    StructureType,
    TariffDirection,
    TariffStatus,
    Token,
)
from custom_components.flatpeak.api._http import (
    MAX_FIELD_ERRORS,
    MAX_RETRY_AFTER,
    HttpClient,
    parse_retry_after,
)
from custom_components.flatpeak.api._parse import _MAX_SHOWN_STRING
from custom_components.flatpeak.api.models import TARIFF_ELEMENTS
from tests.common import fixture_json

# Profile

PROFILE = "flatpeak-fuzz"
settings.register_profile(
    PROFILE,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
FUZZ = settings.get_profile(PROFILE)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings(
        # Raised by hypothesis itself, about its own PRNG, on some setups: not about these tests.
        "ignore:It looks like `register_random`:hypothesis.errors.HypothesisWarning"
    ),
]

# How many examples each test tries (per parametrized case).
RANDOM_EXAMPLES = 300  # each given to the 8 parsers
MUTATION_EXAMPLES = 250
ERROR_EXAMPLES = 400
RETRY_AFTER_EXAMPLES = 500

type Json = Any
type JsonPath = tuple[str | int, ...]

# Values

ENUMS: tuple[type[StrEnum], ...] = (
    TariffStatus,
    ConnectionType,
    StructureType,
    DeviceType,
    TariffDirection,
    FlipMode,
    FlipPowerMode,
    FlipTargetType,
)
ENUM_WORDS = sorted({member.value for enum in ENUMS for member in enum})

# json.loads refuses integers of more digits than this, so no response holds one.
MAX_JSON_DIGITS = sys.int_info.default_max_str_digits
HUGE_INTS = (
    2**53 + 1,
    2**63,
    -(2**64),
    10**308,
    2 * 10**308,
    -(10**309),
    10**400,
    10 ** (MAX_JSON_DIGITS - 1),
    int("9" * MAX_JSON_DIGITS),
)
EXTREME_NUMBERS = (
    math.nan,
    math.inf,
    -math.inf,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    # Finite, until a conversion from kW or MWh multiplies them.
    1e306,
    5e307,
    -1e307,
    5e-324,
    -0.0,
    0,
    -1,
    *HUGE_INTS,
)
NUMBER_TEXTS = (
    "12.5",
    " 12 ",
    "1e400",
    "-1e400",
    "1e308",
    "2e306",
    "nan",
    "NaN",
    "inf",
    "-Infinity",
    "0x10",
    "1_000",
    "\uff11\uff12",  # full-width digits are digits to float()
    "\u0663",  # an Arabic-Indic three
    "3.",
    ".5",
    "-0",
    "+7",
    "1,5",
    "",
    " ",
)
# Timestamps at the ends of what datetime holds, where a change of offset overflows.
EXTREME_TIMESTAMPS = (
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",
    "0001-01-01T00:59:59+01:00",
    "0001-01-01T00:00:00",
    "9999-12-31T23:59:59.999999Z",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T20:00:00-05:00",
    "99999-01-01T00:00:00Z",
    "-2022-02-02T02:00:00Z",
)
ODD_TIMESTAMPS: tuple[Json, ...] = (
    "2022-02-02T02:00:00",
    "2022-02-02T02:00:00+01:00",
    "2022-02-02T02:00:00-13:30",
    "2022-02-02T02:00:00.123456Z",
    "2022-02-02T02:00:00.123Z",
    "2022-02-02t02:00:00z",
    " 2022-02-02T02:00:00Z ",
    "2022-02-02 02:00:00Z",
    "2022-02-02",
    "20220202T020000Z",
    "2022-W05-3",
    "2022-02-30T00:00:00Z",
    "2022-02-02T24:00:00Z",
    "2022-02-02T02:00:00+24:00",
    "2022-02-02T02:00:00+23:59",
    "tomorrow",
    "now",
    "",
    " ",
    "Z",
    0,
    1643767200,
    1643767200.5,
    "1643767200",
    "1e10",
    True,
    [],
    {},
)
UNITS: tuple[Json, ...] = (
    "W",
    "WH",
    "wh",
    "Wh",
    "KWH",
    "kwh",
    "KWh ",
    " k w h ",
    "k-wh",
    "kW",
    "MWH",
    "mw",
    "GWH",
    "BTU",
    "J",
    "",
    " ",
    None,
    0,
    1000,
    [],
    {},
)
# What an enum-like text may turn into.
ENUM_NOISE = (
    "",
    " ",
    "-",
    " - ",
    "_",
    "\u2014",  # an em dash, not a hyphen
    "\u200b",
    "suspended",
    " connected ",
    "Not-Connected",
    "not connected",
    "NOT__CONNECTED",
    "\ufb01xed",  # the "fi" ligature upper-cases to "FI"
    "stra\u00dfe",
    "\u0131",  # a dotless i, upper-cased to I
)
OTHER_WORDS = (
    "null",
    "None",
    "true",
    " FALSE ",
    "yes",
    "1",
    "0",
    "x" * 33,
    "sk_live_" + "s" * 40,
)
ODD_SCALARS = (
    EXTREME_NUMBERS + NUMBER_TEXTS + EXTREME_TIMESTAMPS + ODD_TIMESTAMPS + ENUM_NOISE + OTHER_WORDS
)
WHITESPACE = " \t\n\r\u00a0\u2003\u200b\ufeff"

# Random JSON

texts = st.one_of(
    st.text(max_size=20),
    st.text(alphabet=WHITESPACE + "0123456789.eE+-_:TZzWHkK", max_size=16),
    st.sampled_from(ENUM_WORDS + list(ENUM_NOISE) + list(OTHER_WORDS)),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from(HUGE_INTS),
    st.floats(),
    texts,
    st.sampled_from([value for value in ODD_SCALARS if isinstance(value, str)]),
)


def _nodes(doc: Json) -> list[tuple[JsonPath, Json]]:
    """Every node of a document with its path, root first (without recursion)."""
    found: list[tuple[JsonPath, Json]] = []
    stack: list[tuple[JsonPath, Json]] = [((), doc)]
    while stack:
        path, node = stack.pop()
        found.append((path, node))
        if isinstance(node, dict):
            stack.extend(((*path, key), value) for key, value in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend(((*path, index), node[index]) for index in reversed(range(len(node))))
    return found


FIXTURE_NAMES = (
    "flatpeak/device.json",
    "flatpeak/device_created.json",
    "flatpeak/location_status.json",
    "flatpeak/prices.json",
    "flatpeak/schedule_soc.json",
    "flip/event.json",
    "flip/error_422.json",
)


def _known_keys() -> list[str]:
    """Every key of every fixture, and the keys the parsers read that no fixture has."""
    found = {
        "bearer_token",
        "expires_in",
        "has_more",
        "tariff",
        "rate",
        "power_rating_import_kwh",
        "power_rating_export_kwh",
        "timezone",
        "locations",
        "errors",
        "path",
    }
    for name in FIXTURE_NAMES:
        for _, node in _nodes(fixture_json(name)):
            if isinstance(node, dict):
                found.update(node)
    return sorted(found)


keys = st.one_of(st.sampled_from(_known_keys()), st.text(max_size=10))
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)
    ),
    max_leaves=10,
)
json_documents = st.one_of(json_values, st.dictionaries(keys, json_values, max_size=8))

# Mutations of real documents
#
# Choices are drawn as indexes from cached strategies (`choose`), not from a
# new strategy per draw: that keeps an example to a few milliseconds, and
# shrinks each choice towards the first item of its list.

TIMESTAMP_SHAPE = re.compile(r"\d{4}-\d\d-\d\d")
TIMESTAMP_KEY = re.compile(r".*(time|_at|_date|_from|_to|last_seen|next_update)$")
OFFSETS = (
    UTC,
    timezone(timedelta(hours=1)),
    timezone(timedelta(hours=-13, minutes=-30)),
    timezone(timedelta(hours=14)),
    timezone(timedelta(hours=23, minutes=59)),
)
STYLES = ("z", "iso", "naive", "lower", "space", "padded", "date", "millis")
SHIFTS = tuple(timedelta(minutes=m) for m in (0, -90, -1, 1, 30, 1440, -2880))
BOOL_VARIANTS = ("true", " FALSE ", "yes", 1, 0, "1", "", None)
random_shifts = st.timedeltas(min_value=timedelta(days=-3), max_value=timedelta(days=3))
# Near year 1 or 9999, where a change of offset overflows; hypothesis takes naive bounds.
FIRST_DAY, LAST_DAY = datetime.min + timedelta(days=1), datetime.max - timedelta(days=1)  # noqa: DTZ901
edge_moments = st.datetimes(max_value=FIRST_DAY) | st.datetimes(min_value=LAST_DAY)


@cache
def _index(size: int) -> st.SearchStrategy[int]:
    return st.integers(0, size - 1)


def choose[T](data: st.DataObject, items: Sequence[T]) -> T:
    """Draw one of items; shrinks towards the first."""
    return items[data.draw(_index(len(items)))]


def _format_timestamp(moment: datetime, offset: timezone, style: str) -> str:
    """Write moment (a UTC datetime) at offset, in one of the forms a server might use."""
    local = moment.astimezone(offset)
    text = local.isoformat()
    if style == "z":
        return text.replace("+00:00", "Z")
    if style == "naive":
        return moment.replace(tzinfo=None).isoformat()
    if style == "lower":
        return text.replace("+00:00", "z").lower()
    if style == "space":
        return text.replace("T", " ")
    if style == "padded":
        return f"  {text}\n"
    if style == "date":
        return local.date().isoformat()
    if style == "millis":
        return local.isoformat(timespec="milliseconds")
    return text


def _moment_of(node: Json) -> datetime:
    """The moment a timestamp field holds, or a default far from the ends of datetime."""
    if isinstance(node, str) and TIMESTAMP_SHAPE.match(node):
        try:
            parsed = datetime.fromisoformat(node)
            moment = parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except (ValueError, OverflowError):
            pass
        else:
            if datetime(2, 1, 1, tzinfo=UTC) < moment < datetime(9998, 1, 1, tzinfo=UTC):
                return moment
    return datetime(2022, 2, 2, 2, tzinfo=UTC)


def _near_timestamps(node: Json) -> list[Json]:
    """The same moment in every form and offset, and moments around it."""
    moment = _moment_of(node)
    return [
        _format_timestamp(moment + shift, offset, style)
        for shift in SHIFTS
        for offset in OFFSETS
        for style in (STYLES if not shift else ("z",))
    ]


def _near_numbers(node: float) -> list[Json]:
    """The number as text, negated, rounded, and at other scales."""
    near: list[Json] = [str(node), f" {node} ", f"{node}\n", -node]
    if abs(node) < 2**53:
        number = float(node)
        near += [number, number + 0.5, f"{number:e}", int(number) if math.isfinite(number) else 0]
        near += [number * scale for scale in (1e3, 1e-3, 1e300, 1e305, 1e307)]
    return near


def _near_texts(node: str) -> list[Json]:
    """The text in another case, with spaces or dashes, cut, doubled."""
    return [
        node.lower(),
        node.title(),
        f" {node} ",
        f"\t{node}\n",
        f"\u00a0{node}\u2003",
        node.replace("_", " "),
        node.replace("_", "-"),
        node[:-1],
        node * 2,
        node + "\u200b",
    ]


def _is_timestamp(node: Json, key: str | int | None) -> bool:
    return bool(
        (isinstance(node, str) and TIMESTAMP_SHAPE.match(node))
        or (isinstance(key, str) and TIMESTAMP_KEY.match(key))
    )


def _variant_groups(node: Json, key: str | int | None) -> list[Sequence[Json]]:
    """Groups of values that could stand where a scalar stands, nearest first."""
    if key == "units":
        return [UNITS, _near_texts(str(node))]
    if _is_timestamp(node, key):
        return [_near_timestamps(node), EXTREME_TIMESTAMPS, ODD_TIMESTAMPS]
    if isinstance(node, bool):
        return [(*BOOL_VARIANTS, not node)]
    numbers: list[Sequence[Json]] = [EXTREME_NUMBERS, NUMBER_TEXTS]
    if isinstance(node, int | float):
        return [_near_numbers(node), *numbers]
    if isinstance(node, str):
        try:
            number = float(node)
        except ValueError:
            return [_near_texts(node), ENUM_NOISE, ENUM_WORDS]
        # A number sent as text ("12.5"): vary it as a number too.
        near = _near_numbers(number)
        return [_near_texts(node), [str(value) for value in near], near, *numbers]
    return [ODD_SCALARS]


def _get(doc: Json, path: JsonPath) -> Json:
    for step in path:
        doc = doc[step]
    return doc


def _put(doc: Json, path: JsonPath, value: Json) -> Json:
    # A copy: the value may be one of the constants above ([] or {}), that a
    # later mutation must not change for the examples after this one.
    value = copy.deepcopy(value)
    if not path:
        return value
    _get(doc, path[:-1])[path[-1]] = value
    return doc


type Mutation = Callable[[st.DataObject, Json, list[tuple[JsonPath, Json]]], Json]


def _vary(data: st.DataObject, doc: Json, nodes: list[tuple[JsonPath, Json]]) -> Json:
    """Replace a scalar with a variant of its own kind: the most telling mutation."""
    leaves = [(path, node) for path, node in nodes if not isinstance(node, dict | list)]
    if not leaves:
        return doc
    path, node = choose(data, leaves)
    key = path[-1] if path else None
    group = choose(data, _variant_groups(node, key))
    value = choose(data, group)
    if _is_timestamp(node, key) and data.draw(st.booleans()):
        if group is EXTREME_TIMESTAMPS:
            # Any moment of the first or last day of datetime, at any offset.
            moment = data.draw(edge_moments).replace(tzinfo=choose(data, (None, *OFFSETS)))
            value = moment.isoformat()
        else:
            # Any moment within three days, in any form.
            moment = _moment_of(node) + data.draw(random_shifts)
            value = _format_timestamp(moment, choose(data, OFFSETS), choose(data, STYLES))
    note(f"vary {path}: {node!r} -> {value!r}")
    return _put(doc, path, value)


def _replace(data: st.DataObject, doc: Json, nodes: list[tuple[JsonPath, Json]]) -> Json:
    """Replace any node with an odd scalar or random JSON."""
    path, node = choose(data, nodes)
    value = choose(data, ODD_SCALARS) if data.draw(st.booleans()) else data.draw(json_values)
    note(f"replace {path}: {node!r} -> {value!r}")
    return _put(doc, path, value)


def _delete(data: st.DataObject, doc: Json, nodes: list[tuple[JsonPath, Json]]) -> Json:
    path, _ = choose(data, nodes)
    note(f"delete {path}")
    if not path:
        return None
    del _get(doc, path[:-1])[path[-1]]
    return doc


def _duplicate(data: st.DataObject, doc: Json, nodes: list[tuple[JsonPath, Json]]) -> Json:
    """Repeat an item of a list, at the same or another place."""
    lists = [(path, node) for path, node in nodes if isinstance(node, list) and node]
    if not lists:
        return doc
    path, node = choose(data, lists)
    item = choose(data, node)
    at = data.draw(_index(len(node) + 1))
    note(f"duplicate an item of {path} at [{at}]")
    node.insert(at, copy.deepcopy(item))
    return doc


def _reorder(data: st.DataObject, doc: Json, nodes: list[tuple[JsonPath, Json]]) -> Json:
    containers = [(path, node) for path, node in nodes if isinstance(node, dict | list)]
    if not containers:
        return doc
    path, node = choose(data, containers)
    note(f"reorder {path}")
    if isinstance(node, list):
        node[:] = data.draw(st.permutations(node))
    else:
        items = data.draw(st.permutations(list(node.items())))
        node.clear()
        node.update(items)
    return doc


def _swap(data: st.DataObject, doc: Json, nodes: list[tuple[JsonPath, Json]]) -> Json:
    """Swap a field with a sibling: start and end times, value and units…"""
    path, node = choose(data, nodes)
    if path and isinstance(parent := _get(doc, path[:-1]), dict) and len(parent) > 1:
        other = choose(data, [key for key in parent if key != path[-1]])
        note(f"swap {path} with {other!r}")
        parent[path[-1]], parent[other] = parent[other], node
    return doc


def _nest(data: st.DataObject, doc: Json, nodes: list[tuple[JsonPath, Json]]) -> Json:
    """Wrap a node in lists or objects, up to 50 deep."""
    path, node = choose(data, nodes)
    depth = choose(data, (1, 2, 3, 50))
    as_list = data.draw(st.booleans())
    note(f"nest {path} {depth} deep in {'lists' if as_list else 'objects'}")
    for _ in range(depth):
        node = [node] if as_list else {"value": node}
    return _put(doc, path, node)


def _add(data: st.DataObject, doc: Json, nodes: list[tuple[JsonPath, Json]]) -> Json:
    """Add a field (known or not) to an object, or an item to a list."""
    containers = [(path, node) for path, node in nodes if isinstance(node, dict | list)]
    if not containers:
        return doc
    path, node = choose(data, containers)
    value = data.draw(json_values)
    if isinstance(node, dict):
        key = data.draw(keys)
        note(f"add {key!r}: {value!r} to {path}")
        node[key] = value
    else:
        at = data.draw(_index(len(node) + 1))
        note(f"add {value!r} to {path} at [{at}]")
        node.insert(at, value)
    return doc


# `_vary` picks its own leaf, and is listed thrice to be drawn most often.
MUTATIONS: tuple[Mutation, ...] = (
    _vary,
    _vary,
    _vary,
    _replace,
    _delete,
    _duplicate,
    _reorder,
    _swap,
    _add,
    _nest,
)
# Mostly one or two mutations: each more makes it likelier that an early one
# is rejected before a later one is read.
MUTATION_COUNTS = (1, 1, 2, 2, 3, 4, 6)


def mutate(data: st.DataObject, doc: Json) -> Json:
    """Apply a few random mutations at random paths of doc."""
    for _ in range(choose(data, MUTATION_COUNTS)):
        doc = choose(data, MUTATIONS)(data, doc, _nodes(doc))
    return doc


# Invariants


def _check_enum(value: object, enum: type[StrEnum], where: str) -> None:
    """An enum field holds the member, or the cleaned text of a value the enum lacks."""
    if isinstance(value, enum):
        return
    assert type(value) is str, where
    assert value, f"{where} is an empty string"
    assert value == value.strip(), where
    assert value == value.upper(), where
    assert value not in enum._value2member_map_, f"{where} is {value!r}, not the member"


def _check_value(value: object, hint: Any, where: str) -> None:
    """Check value against its annotation; floats finite, datetimes UTC, strings stripped."""
    origin = get_origin(hint)
    if hint is Any:
        return
    if origin in (Union, UnionType):
        options = get_args(hint)
        if value is None:
            assert NoneType in options, f"{where} is None"
            return
        options = tuple(option for option in options if option is not NoneType)
        enum = next((o for o in options if isinstance(o, type) and issubclass(o, StrEnum)), None)
        if enum is not None:
            _check_enum(value, enum, where)
            return
        (hint,) = options
        _check_value(value, hint, where)
        return
    if origin is tuple:
        assert type(value) is tuple, where
        (item_hint, _) = get_args(hint)
        for index, item in enumerate(value):
            _check_value(item, item_hint, f"{where}[{index}]")
        return
    if origin is dict:
        assert type(value) is dict, where
        key_hint, item_hint = get_args(hint)
        for key, item in value.items():
            _check_value(key, key_hint, where)
            _check_value(item, item_hint, f"{where}[{key!r}]")
        return
    if hint is float:
        assert type(value) is float, f"{where} is {value!r}"
        assert math.isfinite(value), f"{where} is {value!r}"
    elif hint is int or hint is bool:
        assert type(value) is hint, f"{where} is {value!r}"
    elif hint is str:
        assert type(value) is str, f"{where} is {value!r}"
        assert value == value.strip(), f"{where} is {value!r}"
    elif hint is datetime:
        assert type(value) is datetime, f"{where} is {value!r}"
        assert value.tzinfo is UTC, f"{where} is {value!r}"
    elif is_dataclass(hint):
        assert type(value) is hint, f"{where} is {value!r}"
        check_model(value, where)
    else:
        pytest.fail(f"{where}: no check for annotation {hint!r}")


_type_hints = cache(get_type_hints)


def check_model(model: object, where: str = "") -> None:
    """Check every field of a parsed model against its annotation."""
    assert is_dataclass(model)
    where = where or type(model).__name__
    model_type: type = type(model)
    hints = _type_hints(model_type)
    for model_field in fields(model):
        if model_field.name != "source":
            value = getattr(model, model_field.name)
            _check_value(value, hints[model_field.name], f"{where}.{model_field.name}")
    repr(model)


def _sorted(items: tuple[Any, ...]) -> bool:
    """Sorted by start, then by end."""
    return all((a.start, a.end) <= (b.start, b.end) for a, b in pairwise(items))


def _upper_or_none(value: str | None) -> bool:
    return value is None or value == value.upper()


def check_token(token: Token) -> None:
    assert token.bearer_token
    assert token.expires_in > 0
    if len(token.bearer_token) > 8:
        assert token.bearer_token not in repr(token)


def check_location(status: LocationStatus) -> None:
    assert status.id
    assert set(status.elements) <= set(TARIFF_ELEMENTS)


def check_device(device: Device) -> None:
    assert device.id


def check_device_page(page: DevicePage) -> None:
    for device in page.devices:
        check_device(device)


def check_state_record(record: DeviceStateRecord) -> None:
    assert record.id


def check_schedule(schedule: SocSchedule) -> None:
    assert _sorted(schedule.sessions)
    for session in schedule.sessions:
        assert session.start <= session.end
        assert _sorted(session.slots)
        assert all(slot.end > slot.start for slot in session.slots)
    slots = schedule.slots
    assert len(slots) == sum(len(session.slots) for session in schedule.sessions)
    assert _sorted(slots)
    assert _upper_or_none(schedule.currency_code)


def check_prices(prices: Prices) -> None:
    assert _sorted(prices.periods)
    assert all(period.start <= period.end for period in prices.periods)
    assert _upper_or_none(prices.currency_code)


def check_event(flip_event: FlipEvent) -> None:
    assert flip_event.id


# A path names fields and indexes only: `data[0].schedule[1].end_time`.
PATH_SYNTAX = re.compile(r"(\[\d+\]|[a-z][a-z0-9_]*)(\.[a-z][a-z0-9_]*|\[\d+\])*")


def check_invalid_response(err: InvalidResponseError, doc: Json, service: str, prefix: str) -> None:
    """The error names a well-formed path, and shows no long string of the document."""
    message = str(err)
    assert isinstance(err.path, str)
    assert err.service == service
    assert message.startswith(f"{service} sent an unexpected response at ")
    if err.path:
        assert err.path in message
        assert PATH_SYNTAX.fullmatch(err.path), err.path
        assert err.path.startswith(prefix)
    else:
        assert "the top level" in message
    for _, node in _nodes(doc):
        if isinstance(node, str) and len(node.strip()) > _MAX_SHOWN_STRING:
            assert node.strip() not in message, "a long string (maybe a token) is shown"


MODELS: dict[str, tuple[Any, Callable[[Any], None], str]] = {
    "Token": (Token, check_token, "Flatpeak"),
    "LocationStatus": (LocationStatus, check_location, "Flatpeak"),
    "Device": (Device, check_device, "Flatpeak"),
    "DevicePage": (DevicePage, check_device_page, "Flatpeak"),
    "DeviceStateRecord": (DeviceStateRecord, check_state_record, "Flatpeak"),
    "SocSchedule": (SocSchedule, check_schedule, "Flatpeak"),
    "Prices": (Prices, check_prices, "Flatpeak"),
    "FlipEvent": (FlipEvent, check_event, "Flip"),
}


def parse_and_check(name: str, doc: Json, prefix: str = "") -> str:
    """Parse doc; the result must hold every invariant, or the error name its path.

    Any other exception fails the test. Returns what happened, for statistics.
    """
    model, check, service = MODELS[name]
    try:
        result = model.from_json(doc, prefix) if prefix else model.from_json(doc)
    except InvalidResponseError as err:
        check_invalid_response(err, doc, service, prefix)
        return "InvalidResponseError"
    assert type(result) is model
    check_model(result)
    check(result)
    if hasattr(result, "source"):
        assert result.source is doc
    return "parsed"


# Seeds: real documents, and a few of their richer or older shapes.


def _token() -> Json:
    return {"bearer_token": "tok_" + "b" * 40, "expires_in": 3600, "live_mode": False}


def _state_record() -> Json:
    return {
        "id": "dsr_65ea3fb185c1541f247c2511",
        "object": "device_state",
        "device_id": "dev_63a6087272941ef077a8fd3e",
        "account_id": "acc_661677911f2197045e6cf1b1",
        "time_created": "2026-03-28T12:00:00Z",
    }


def _device_list() -> Json:
    """A page of the device list: both documented device shapes, and more to come."""
    return {
        "object": "list",
        "url": "/devices",
        "has_more": True,
        "data": [
            fixture_json("flatpeak/device.json"),
            fixture_json("flatpeak/device_created.json"),
        ],
    }


def _schedule_with_sessions() -> Json:
    """Three sessions of two slots each, out of order."""
    doc = fixture_json("flatpeak/schedule_soc.json")
    (session,) = doc["data"]
    sessions = []
    for day, units in ((3, "KWH"), (1, "Wh"), (2, "MWH")):
        entry = copy.deepcopy(session)
        entry["start_time"] = f"2022-02-0{day}T20:00:00Z"
        entry["end_time"] = f"2022-02-0{day + 1}T06:00:00Z"
        entry["energy"] = {"units": units, "value": "12.5"}
        entry["schedule"] = [
            {
                "start_time": f"2022-02-0{day + 1}T0{hour}:00:00+01:00",
                "end_time": f"2022-02-0{day + 1}T0{hour + 1}:30:00+01:00",
                "power": {"units": "kW", "value": 7.4},
                "vpp_event": "false",
            }
            for hour in (4, 1)
        ]
        sessions.append(entry)
    doc["data"] = sessions
    return doc


def _legacy_prices() -> Json:
    """The older shape, with the price in `tariff.rate`."""
    doc = fixture_json("flatpeak/prices.json")
    for period in doc["data"]:
        price = period.pop("price")
        period["tariff"] = {"rate": price["value"], "confidence": price["confidence"]}
    return doc


SEEDS: dict[str, tuple[str, Callable[[], Json]]] = {
    "token": ("Token", _token),
    "location_status": ("LocationStatus", lambda: fixture_json("flatpeak/location_status.json")),
    "device": ("Device", lambda: fixture_json("flatpeak/device.json")),
    "device_created": ("Device", lambda: fixture_json("flatpeak/device_created.json")),
    "device_list": ("DevicePage", _device_list),
    "device_state": ("DeviceStateRecord", _state_record),
    "schedule_soc": ("SocSchedule", lambda: fixture_json("flatpeak/schedule_soc.json")),
    "schedule_sessions": ("SocSchedule", _schedule_with_sessions),
    "prices": ("Prices", lambda: fixture_json("flatpeak/prices.json")),
    "prices_legacy": ("Prices", _legacy_prices),
    "flip_event": ("FlipEvent", lambda: fixture_json("flip/event.json")),
}
# Each example starts from a fresh copy, decoded from text as a response would be.
SEED_TEXTS = {seed: json.dumps(make()) for seed, (_, make) in SEEDS.items()}


# Parsers


@pytest.mark.parametrize("seed", SEEDS)
def test_seeds_parse(seed: str) -> None:
    """The starting points of the mutations are valid documents."""
    name, make = SEEDS[seed]
    model, check, _ = MODELS[name]
    result = model.from_json(make())
    check_model(result)
    check(result)


@settings(FUZZ, max_examples=RANDOM_EXAMPLES)
@given(doc=json_documents)
def test_parsers_survive_random_json(doc: Json) -> None:
    """Any JSON at all, given to every parser: most is rejected, but only as InvalidResponseError."""
    for name in MODELS:
        try:
            event(f"{name}: {parse_and_check(name, doc)}")
        except Exception as err:
            err.add_note(f"parsed as {name}")
            raise


@pytest.mark.parametrize("seed", SEEDS)
@settings(FUZZ, max_examples=MUTATION_EXAMPLES)
@given(data=st.data())
def test_parsers_survive_mutated_documents(seed: str, data: st.DataObject) -> None:
    """A real document, changed in a few places: read, or rejected naming the field."""
    name, _ = SEEDS[seed]
    doc = mutate(data, json.loads(SEED_TEXTS[seed]))
    prefix = ""
    if name == "FlipEvent":
        # Events of a list are read with their index as the path prefix.
        prefix = choose(data, ["", "[0]", "[12]"])
    event(parse_and_check(name, doc, prefix))


def _sweep(seed: str) -> list[tuple[JsonPath, Json]]:
    """Every single-point change of a seed: each node deleted or emptied, each scalar varied."""
    changes: list[tuple[JsonPath, Json]] = []
    for path, node in _nodes(json.loads(SEED_TEXTS[seed])):
        if path:
            changes.append((path, DELETE))
        if isinstance(node, dict | list):
            emptied: tuple[Json, ...] = (None, [], {}, "", 0, [node])
            changes += [(path, value) for value in emptied]
        else:
            key = path[-1] if path else None
            for group in (*_variant_groups(node, key), TYPE_CHANGES):
                changes += [(path, value) for value in group]
    return changes


DELETE = object()
# What the sweep puts at every scalar, whatever its kind, besides the variants of that kind.
TYPE_CHANGES: tuple[Json, ...] = (
    None,
    True,
    0,
    1.5,
    math.nan,
    10**400,
    "",
    " ",
    "x",
    "x" * 40,
    [],
    {},
)


@pytest.mark.parametrize("seed", SEEDS)
def test_every_single_change_of_a_seed(seed: str) -> None:
    """Exhaustively, not at random: every single-point change of each seed.

    Cheap (a few thousand parses per seed), and sure to reach each field with
    each of its odd values, where random combinations might miss one.
    """
    name, _ = SEEDS[seed]
    outcomes: Counter[str] = Counter()
    for path, value in _sweep(seed):
        doc = json.loads(SEED_TEXTS[seed])
        if value is DELETE:
            del _get(doc, path[:-1])[path[-1]]
        else:
            doc = _put(doc, path, value)
        try:
            outcomes[parse_and_check(name, doc)] += 1
        except Exception as err:
            err.add_note(f"{seed}: {path} set to {value!r}")
            raise
    # The sweep reaches both sides of the parser.
    assert outcomes["parsed"]
    assert outcomes["InvalidResponseError"]


# Error readers


def _flatpeak_error() -> Json:
    return {
        "object": "error",
        "live_mode": False,
        "context": "api.prices",
        "type": "invalid_request",
        "code": "no_tariff_connected",
        "message": "No tariff is connected to this location",
        "time_created": "2026-03-28T12:00:00Z",
    }


ERROR_TEXTS = {
    "flatpeak": json.dumps(_flatpeak_error()),
    "flip_422": json.dumps(fixture_json("flip/error_422.json")),
    "flip_404": json.dumps({"detail": "Event not found"}),
}


def _error_body(data: st.DataObject) -> Json:
    """Random JSON, or a real error body mutated."""
    source = data.draw(st.sampled_from(["random", *ERROR_TEXTS]), label="body")
    if source == "random":
        return data.draw(json_documents)
    return mutate(data, json.loads(ERROR_TEXTS[source]))


statuses = st.one_of(
    st.sampled_from([400, 401, 403, 404, 409, 422, 429, 500, 503]), st.integers(300, 599)
)
http_dates = st.builds(
    "{}, {:02d} {} {} {:02d}:{:02d}:{:02d} {}".format,
    st.sampled_from(["Sat", "Mon", "Xyz", ""]),
    st.integers(-1, 40),
    st.sampled_from(["Jan", "Mar", "Dec", "Foo"]),
    st.one_of(
        st.integers(0, 10_000),
        st.sampled_from([1, 99, 100, 1900, 9999, 10_000, 10**10, 10**19, 10**30]),
    ),
    st.integers(0, 61),
    st.integers(0, 61),
    st.integers(0, 61),
    st.sampled_from(["GMT", "UTC", "-0000", "+0000", "+0100", "-2359", "+9999", "EST", "Z", ""]),
)
retry_after_headers = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.text(alphabet=WHITESPACE + "0123456789.eE+-_", max_size=12),
    st.floats().map(str),
    st.integers(min_value=-(10**400), max_value=10**400).map(str),
    st.sampled_from(NUMBER_TEXTS),
    st.sampled_from(["Infinity", "-inf", "1e300", "1e20", "9" * 400]),
    http_dates,
    http_dates.map(lambda date: f"  {date.lower()}\t"),
)


def _check_described(
    client: HttpClient, doc: Json, described: tuple[str | None, str, tuple[tuple[str, str], ...]]
) -> None:
    code, reason, field_errors = described
    assert code is None or (type(code) is str and code and code == code.strip())
    assert type(reason) is str
    assert type(field_errors) is tuple
    for field_error in field_errors:
        assert type(field_error) is tuple
        path, message = field_error
        assert type(path) is str
        assert type(message) is str
        assert message
        assert message == message.strip()
        assert message in reason
    if isinstance(client, FlatpeakClient):
        assert field_errors == ()
        sent = doc.get("message") if isinstance(doc, dict) else None
        if isinstance(sent, str) and sent.strip():
            assert reason == sent.strip()


def _check_error(
    client: HttpClient,
    status: int,
    header: str | None,
    described: tuple[str | None, str, tuple[tuple[str, str], ...]],
    err: ApiError,
) -> None:
    code, _, field_errors = described
    assert isinstance(err, ApiError)
    assert err.service == client.service
    # What the server wrote is cleaned (control characters, length) before use.
    assert err.code == ((client.clean(code, 64) or None) if code else None)
    assert str(err).startswith(f"{client.service} answered HTTP {status}")
    if status in (401, 403):
        assert type(err) is AuthenticationError
    elif status == 404:
        assert type(err) is NotFoundError
    elif status == 429:
        assert type(err) is RateLimitError
        assert err.retry_after == parse_retry_after(header)
        assert err.retry_after is None or math.isfinite(err.retry_after)
    else:
        assert type(err) is RequestError
        assert err.field_errors == tuple(
            (client.clean(path), client.clean(message))
            for path, message in field_errors[:MAX_FIELD_ERRORS]
        )


async def test_error_readers_survive_any_body() -> None:
    """`describe_error` reads any body, and `_error` always builds the right ApiError.

    The clients are real (their session is never used); hypothesis runs inside.
    """
    async with aiohttp.ClientSession() as session:
        flatpeak = FlatpeakClient(session, "acc_661677911f2197045e6cf1b1", "sk_test_key")
        flip = FlipClient(session, "flip_key")
        clients: tuple[HttpClient, ...] = (flatpeak, flip)

        @settings(FUZZ, max_examples=ERROR_EXAMPLES)
        @given(data=st.data())
        def read_errors(data: st.DataObject) -> None:
            doc = _error_body(data)
            status = data.draw(statuses, label="status")
            header = data.draw(st.none() | st.sampled_from(["30", "1e400", "soon", ""]))
            for client in clients:
                described = client.describe_error(doc)
                _check_described(client, doc, described)
                _check_error(client, status, header, described, client._error(status, doc, header))

        read_errors()


@settings(FUZZ, max_examples=RETRY_AFTER_EXAMPLES)
@given(
    header=retry_after_headers,
    now=st.none() | st.datetimes(timezones=st.sampled_from(OFFSETS)),
)
def test_parse_retry_after_survives_any_header(header: str | None, now: datetime | None) -> None:
    """Seconds or an HTTP date give a finite delay from 0 to a day; anything else gives None."""
    seconds = parse_retry_after(header, now)
    try:
        number = float(header.strip()) if header else None
    except ValueError:
        number = None
    if number is not None and math.isfinite(number):
        assert seconds == min(MAX_RETRY_AFTER, max(0.0, number))
    if seconds is None:
        event("None")
        return
    event("seconds")
    assert type(seconds) is float
    assert math.isfinite(seconds), f"{header!r} gives {seconds!r}"
    assert 0 <= seconds <= MAX_RETRY_AFTER
