"""Pieces of the HTTP layer that need no server."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from custom_components.flatpeak import api
from custom_components.flatpeak.api import (
    MAX_ID_LENGTH,
    MAX_JSON_DEPTH,
    MAX_RETRY_AFTER,
    InvalidIdError,
    check_id,
    is_loopback_host,
)
from custom_components.flatpeak.api._http import clean_text, decode_json, parse_retry_after

NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("30", 30.0),
        (" 12.5 ", 12.5),
        ("-4", 0.0),
        ("Sat, 28 Mar 2026 12:01:00 GMT", 60.0),
        ("Sat, 28 Mar 2026 12:01:00 -0000", 60.0),
        ("Sat, 28 Mar 2026 11:00:00 GMT", 0.0),
        ("1e9", MAX_RETRY_AFTER),
        ("Fri, 31 Dec 9999 23:59:59 GMT", MAX_RETRY_AFTER),
        ("soon", None),
        ("nan", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, NOW) == expected


def test_parse_retry_after_uses_the_wall_clock_by_default() -> None:
    assert parse_retry_after("Thu, 01 Jan 2099 00:00:00 GMT") > 0  # type: ignore[operator]


def test_ids() -> None:
    assert check_id("dev_63a6087272941ef077a8fd3e", "dev") == "dev_63a6087272941ef077a8fd3e"
    assert check_id("497f6eca-6276-4993-bfeb-53cbbbba6f08", service="Flip")
    with pytest.raises(InvalidIdError, match="not a valid Flatpeak identifier"):
        check_id(None)  # type: ignore[arg-type]
    with pytest.raises(InvalidIdError, match="…"):
        check_id("x" * 100)


def test_ids_have_a_maximum_length() -> None:
    assert check_id("dev_" + "a" * (MAX_ID_LENGTH - 4), "dev")
    assert check_id("a" * MAX_ID_LENGTH, service="Flip")
    for service in ("Flatpeak", "Flip"):
        with pytest.raises(InvalidIdError):
            check_id("dev_" + "a" * MAX_ID_LENGTH, service=service)
        with pytest.raises(InvalidIdError):
            check_id("dev_" + "a" * 10_000_000, service=service)


def test_clean_text() -> None:
    assert clean_text(" a\r\n\tb\x00c\u202e d ") == "a bc d"
    assert clean_text("key sk_te\x07st_1 and c2tf", ("sk_test_1", "c2tf", "")) == "key *** and ***"
    assert clean_text("x" * 500) == "x" * 199 + "…"
    # Redacted before being cut: no part of a secret is left at the cut.
    assert clean_text("ab secret", ("secret",), limit=8) == "ab ***"
    # Only the start of a long text is read, and a secret across that cut is dropped.
    assert clean_text("\x00" * 10_000_000 + "tail") == "…"
    long = "a" * 150 + " " * 2000 + "abcd secret " + "b" * 10_000_000
    assert (
        clean_text(long, ("secret",), limit=200)
        == ("a" * 150 + " abcd *** " + "b" * 50)[:199] + "…"
    )
    # The cut falls at 16 * 200 + 6 characters, after "sec".
    straddling = "a" * 150 + " " * 3053 + "sec" + "ret" * 1000
    assert clean_text(straddling, ("secret",), limit=200) == "a" * 148 + "…"


def _nested(depth: int) -> list[object]:
    value: list[object] = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", (True, None)),
        (b" \n", (True, None)),
        (b'{"a": [1, "\xc3\xa9"]}', (True, {"a": [1, "é"]})),
        (b'"\xff token"', (False, None)),
        (b"\xfe\xff\x00{", (False, None)),
        (b"{", (False, None)),
        (b"1" * 5000, (False, None)),
        (b"[" * 100_000 + b"]" * 100_000, (False, None)),
        (b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), (False, None)),
        (b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH, (True, _nested(MAX_JSON_DEPTH))),
        (b'{"a": {"b": 1}, "c": [{}]}', (True, {"a": {"b": 1}, "c": [{}]})),
    ],
)
def test_decode_json_only_returns(raw: bytes, expected: tuple[bool, object]) -> None:
    assert decode_json(raw) == expected


def test_loopback_hosts() -> None:
    assert is_loopback_host("LOCALHOST")
    assert is_loopback_host("127.0.0.9")
    assert not is_loopback_host("10.0.0.1")
    assert not is_loopback_host("example.com")


def test_api_package_does_not_import_home_assistant() -> None:
    """The clients must stay publishable on their own."""
    for path in Path(api.__file__).parent.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith("homeassistant"), f"{path.name} imports {name}"
                assert not name.startswith("custom_components"), f"{path.name} imports {name}"


def test_tls_verification_is_never_turned_off() -> None:
    """No request of the integration may skip certificate checks."""
    package = Path(api.__file__).parents[1]
    for path in package.rglob("*.py"):
        source = path.read_text()
        for forbidden in ("ssl=False", "verify_ssl=False", "CERT_NONE", "check_hostname = False"):
            assert forbidden not in source, f"{path.name} contains {forbidden}"


async def test_a_held_client_sends_nothing_before_its_deadline() -> None:
    """After a Retry-After, every request waits for the deadline; later ones extend it."""
    async with aiohttp.ClientSession() as session:
        # Nothing listens there: a request that left would fail to connect.
        client = api.FlipClient(session, "fl_test", base_url="http://127.0.0.1:9")
        heard: list[datetime] = []
        stop = client.add_hold_listener(heard.append)
        now = datetime.now(UTC)
        client.hold_until(now + timedelta(hours=1))
        client.hold_until(now + timedelta(minutes=5))  # earlier: the later one stays
        assert client.not_before == now + timedelta(hours=1)
        assert heard == [now + timedelta(hours=1)]
        with pytest.raises(api.RateLimitError) as caught:
            await client.list_events()
        assert caught.value.held
        assert 3500 < (caught.value.retry_after or 0) <= 3600
        stop()
        client.hold_until(now + timedelta(hours=2))
        assert heard == [now + timedelta(hours=1)]

        passed = api.FlipClient(session, "fl_test", base_url="http://127.0.0.1:9")
        passed.hold_until(now - timedelta(seconds=1))
        assert passed.not_before is None
