"""The clients against a hostile or broken server, over real loopback HTTP.

Each test writes the server's answers itself: bodies of hundreds of
megabytes, decompression bombs, nesting deep enough to exhaust the stack,
bytes that are not UTF-8, error messages quoting the request's credentials.
Whatever the server does, a call ends in one of the package's exceptions,
within the request timeout and in bounded memory, and no credential reaches
an exception or a log line.

The figures (peak memory, time to fail) are printed: run with `-s` to see
them. Their bounds are generous on purpose; the point is that they are
bounded at all, not how fast a shared machine happens to be.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
import contextlib
from dataclasses import dataclass, field
import gc
import json
import logging
import resource
from secrets import token_hex
import time
import tracemalloc
from typing import Any
import zlib

import aiohttp
from aiohttp import web
import pytest

from custom_components.flatpeak.api import (
    DEVICE_PAGE_LIMIT,
    MAX_DEVICE_PAGE_BYTES,
    MAX_DEVICE_PAGES,
    MAX_DEVICES,
    MAX_JSON_DEPTH,
    MAX_RESPONSE_BYTES,
    MAX_RETRY_AFTER,
    ApiError,
    AuthenticationError,
    CommunicationError,
    FlatpeakClient,
    FlipClient,
    InvalidIdError,
    InvalidResponseError,
    RateLimitError,
    RequestError,
)

MIB = 1024 * 1024
ACCOUNT_ID = "acc_661677911f2197045e6cf1b1"
# Short enough (at most 32 characters) that a parser would quote it.
API_KEY = "sk_test_hostile_0123"
BASIC = base64.b64encode(f"{ACCOUNT_ID}:{API_KEY}".encode()).decode()
TOKEN = "tok_live_9c1f0e5b7a3d4e2f8a6b"  # noqa: S105 - a made-up token
FLIP_KEY = "flip_key_hostile_4567"
SECRETS = (API_KEY, BASIC, TOKEN, FLIP_KEY)

# Generous bounds: the body limit plus room for the interpreter and aiohttp.
MAX_GROWTH_MIB = 64
TIMEOUT_S = 5.0

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Seen:
    """A request the server received."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Server:
    """A loopback server whose answers each test writes; it records every request."""

    url: str = ""
    handler: Handler | None = None
    routes: dict[str, Handler] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    sent_bytes: int = 0
    # Set when the server stops, to release handlers that hold a request.
    closing: asyncio.Event = field(default_factory=asyncio.Event)

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(Seen(request.method, request.path, dict(request.headers)))
        handler = self.routes.get(request.path, self.handler)
        assert handler is not None, f"no answer for {request.path}"
        return await handler(request)

    def paths(self) -> list[str]:
        return [seen.path for seen in self.seen]


@contextlib.asynccontextmanager
async def serving(server: Server) -> AsyncIterator[Server]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.dispatch)

    async def release(app: web.Application) -> None:
        server.closing.set()

    app.on_shutdown.append(release)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        yield server
    finally:
        await runner.cleanup()


@pytest.fixture
async def server(socket_enabled: None) -> AsyncIterator[Server]:
    async with serving(Server()) as running:
        yield running


@pytest.fixture
async def other_host(socket_enabled: None) -> AsyncIterator[Server]:
    """A second server, standing for another host a redirect may point to."""
    async with serving(Server()) as running:
        yield running


def flatpeak_client(
    session: aiohttp.ClientSession, server: Server, timeout: float = TIMEOUT_S
) -> FlatpeakClient:
    return FlatpeakClient(
        session, ACCOUNT_ID, API_KEY, base_url=server.url, request_timeout=timeout
    )


def flip_client(
    session: aiohttp.ClientSession, server: Server, timeout: float = TIMEOUT_S
) -> FlipClient:
    return FlipClient(session, FLIP_KEY, base_url=server.url, request_timeout=timeout)


def answer(
    body: bytes | str | object = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Handler:
    """A handler answering the same thing every time."""
    if isinstance(body, str):
        raw = body.encode()
    elif isinstance(body, bytes):
        raw = body
    else:
        raw = json.dumps(body).encode()

    async def handler(request: web.Request) -> web.Response:
        return web.Response(
            body=raw,
            status=status,
            headers={"Content-Type": "application/json", **(headers or {})},
        )

    return handler


LOGIN = answer({"bearer_token": TOKEN, "expires_in": 3600, "live_mode": False})


def stream(server: Server, chunks: Iterator[bytes], headers: dict[str, str]) -> Handler:
    """A handler streaming chunks until they run out or the client goes away."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json", **headers})
        await response.prepare(request)
        try:
            for chunk in chunks:
                await response.write(chunk)
                server.sent_bytes += len(chunk)
                # Let the client run: the server shares its event loop.
                await asyncio.sleep(0)
        except ConnectionError:
            pass  # the client gave up, as it should
        return response

    return handler


def zeros_compressed(total: int, wbits: int, piece: int = MIB) -> Iterator[bytes]:
    """Compress `total` zero bytes a piece at a time, never holding more than a piece."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    zeros = bytes(piece)
    for _ in range(total // piece):
        if out := compressor.compress(zeros):
            yield out
    yield compressor.flush()


def compressed(data: bytes, wbits: int) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, wbits)
    return compressor.compress(data) + compressor.flush()


@dataclass
class Figures:
    peak_mib: float = 0.0
    rss_growth_mib: float = 0.0
    seconds: float = 0.0


@contextlib.contextmanager
def measured(label: str) -> Iterator[Figures]:
    """Measure the peak of traced memory, the growth of the peak RSS and the time."""
    figures = Figures()
    gc.collect()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    try:
        yield figures
    finally:
        figures.seconds = time.perf_counter() - started
        figures.peak_mib = (tracemalloc.get_traced_memory()[1] - base) / MIB
        # ru_maxrss is in KiB on Linux; a peak reached earlier hides growth below it.
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        figures.rss_growth_mib = (rss_after - rss_before) / 1024
        if not was_tracing:
            tracemalloc.stop()
        print(  # noqa: T201
            f"\n{label}: peak traced memory {figures.peak_mib:.1f} MiB, "
            f"peak RSS growth {figures.rss_growth_mib:.1f} MiB, failed in {figures.seconds:.2f} s"
        )


def assert_clean(err: BaseException, *texts: str) -> None:
    """No secret nor given text in the exception, nor in anything it chains to."""
    seen: BaseException | None = err
    while seen is not None:
        for shown in (str(seen), repr(seen)):
            for secret in (*SECRETS, *texts):
                assert secret not in shown, f"{secret!r} in {shown[:200]!r}"
        seen = seen.__cause__ or seen.__context__
    assert err.__cause__ is None
    assert err.__context__ is None


# Size


async def test_an_oversized_body_is_refused_while_it_streams(
    server: Server, session: aiohttp.ClientSession
) -> None:
    """200 MiB of JSON, chunked: the client stops after MAX_RESPONSE_BYTES."""
    total = 200 * MIB
    chunks = (b"[" + b" " * (MIB - 1) if i == 0 else b" " * MIB for i in range(total // MIB))
    server.handler = stream(server, chunks, {})
    client = flip_client(session, server)

    with measured("200 MiB body") as figures, pytest.raises(InvalidResponseError) as caught:
        await client.list_events()

    assert f"larger than {MAX_RESPONSE_BYTES} bytes" in str(caught.value)
    assert_clean(caught.value)
    print(f"server wrote {server.sent_bytes / MIB:.1f} MiB of {total / MIB:.0f} MiB")  # noqa: T201
    assert figures.peak_mib < MAX_GROWTH_MIB
    assert figures.seconds < TIMEOUT_S
    assert server.sent_bytes < total


@pytest.mark.parametrize(
    ("encoding", "wbits"),
    [("gzip", 16 + zlib.MAX_WBITS), ("deflate", zlib.MAX_WBITS), ("deflate", -zlib.MAX_WBITS)],
    ids=["gzip", "deflate", "raw-deflate"],
)
async def test_a_decompression_bomb_is_refused_while_it_inflates(
    server: Server, session: aiohttp.ClientSession, encoding: str, wbits: int
) -> None:
    """1 GiB of zeros, about 1 MiB on the wire, compressed as it is sent."""
    total = 1024 * MIB
    server.handler = stream(server, zeros_compressed(total, wbits), {"Content-Encoding": encoding})
    client = flatpeak_client(session, server)
    server.routes["/login"] = LOGIN

    with (
        measured(f"1 GiB {encoding} bomb") as figures,
        pytest.raises(InvalidResponseError) as caught,
    ):
        await client.get_device("dev_1")

    assert f"larger than {MAX_RESPONSE_BYTES} bytes" in str(caught.value)
    assert_clean(caught.value)
    print(f"server wrote {server.sent_bytes / 1024:.0f} KiB compressed")  # noqa: T201
    assert figures.peak_mib < MAX_GROWTH_MIB
    assert figures.seconds < TIMEOUT_S


@pytest.mark.parametrize(
    ("encoding", "wbits"),
    [
        ("gzip", 16 + zlib.MAX_WBITS),
        ("x-gzip", 16 + zlib.MAX_WBITS),
        ("deflate", zlib.MAX_WBITS),
        ("deflate", -zlib.MAX_WBITS),
        ("identity", None),
    ],
)
async def test_compressed_answers_are_read(
    server: Server, session: aiohttp.ClientSession, encoding: str, wbits: int | None
) -> None:
    # Random identifiers, so that even compressed the body spans several reads.
    events = [{"id": token_hex(16), "target_ids": ["a"], "actions": []} for _ in range(8000)]
    raw = json.dumps(events).encode()
    body = raw if wbits is None else compressed(raw, wbits)
    server.handler = answer(body, headers={"Content-Encoding": encoding})

    read = await flip_client(session, server).list_events()

    assert [event.id for event in read] == [event["id"] for event in events]
    assert server.seen[0].headers["Accept-Encoding"] == "gzip, deflate"


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("br", b"\x1b\x03\x00\xf8\xa5[]"),
        ("gzip, gzip", compressed(b"[]", 31)),
        ("gzip", b"\x1f\x8b\x08\x00 this is not gzip " + TOKEN.encode()),
        ("deflate", b"\x78\x9c broken " + TOKEN.encode()),
    ],
)
async def test_unreadable_encodings_are_invalid_responses(
    server: Server, session: aiohttp.ClientSession, encoding: str, body: bytes
) -> None:
    server.handler = answer(body, headers={"Content-Encoding": encoding})

    with pytest.raises(InvalidResponseError) as caught:
        await flip_client(session, server).list_events()

    assert_clean(caught.value)


async def test_the_size_limit_holds_for_a_body_with_a_length(
    server: Server, session: aiohttp.ClientSession
) -> None:
    server.handler = answer(b"[" + b" " * (MAX_RESPONSE_BYTES + 10) + b"]")

    with pytest.raises(InvalidResponseError, match="larger than"):
        await flip_client(session, server).list_events()


# Time


async def test_a_slow_drip_ends_within_the_timeout(
    server: Server, session: aiohttp.ClientSession
) -> None:
    """A byte every 50 ms, for ever: reading the body is inside the request timeout."""

    def drip() -> Iterator[bytes]:
        yield b"["
        while True:
            yield b" "

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):
            for chunk in drip():
                await response.write(chunk)
                await asyncio.sleep(0.05)
        return response

    server.handler = handler
    client = flip_client(session, server, timeout=1.0)

    with measured("slow drip, 1 s timeout") as figures, pytest.raises(CommunicationError):
        await client.list_events()

    assert figures.seconds < 1.0 + 2.0


async def test_a_silent_server_ends_within_the_timeout(
    server: Server, session: aiohttp.ClientSession
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        await server.closing.wait()
        return web.Response(status=503)

    server.handler = handler
    client = flatpeak_client(session, server, timeout=0.5)

    with (
        measured("silent server, 0.5 s timeout") as figures,
        pytest.raises(CommunicationError, match="in time") as caught,
    ):
        await client.authenticate()

    assert_clean(caught.value)
    assert figures.seconds < 0.5 + 2.0


# Decoding


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000, MAX_RESPONSE_BYTES // 6 - 1])
async def test_deep_nesting_from_both_clients(
    server: Server, session: aiohttp.ClientSession, depth: int
) -> None:
    server.handler = answer(nested(depth))
    server.routes["/login"] = LOGIN

    with pytest.raises(InvalidResponseError, match="not JSON") as caught:
        await flip_client(session, server).list_events()
    assert_clean(caught.value)
    with pytest.raises(InvalidResponseError, match="not JSON") as caught:
        await flatpeak_client(session, server).get_device("dev_1")
    assert_clean(caught.value)


async def test_deep_nesting_in_an_error_body(
    server: Server, session: aiohttp.ClientSession
) -> None:
    server.handler = answer(b"[" * 100_000 + b"]" * 100_000, status=400)

    with pytest.raises(RequestError) as caught:
        await flip_client(session, server).list_events()

    assert str(caught.value) == "Flip answered HTTP 400"
    assert_clean(caught.value)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        # Invalid UTF-8 around a token: the decoding error would quote it.
        (b'{"bearer_token": "' + TOKEN.encode() + b'\xff\xfe", "expires_in": 60}', "charset=utf-8"),
        # Latin-1, declared as such: JSON is UTF-8 whatever the header says.
        ('{"bearer_token": "' + TOKEN + 'é", "expires_in": 60}', "charset=latin-1"),
        # UTF-8 declared as UTF-16.
        (b'{"bearer_token": "\xc3' + TOKEN.encode() + b'", "expires_in": 60}', "charset=utf-16"),
    ],
)
async def test_bytes_that_are_not_utf8(
    server: Server, session: aiohttp.ClientSession, body: bytes | str, content_type: str
) -> None:
    raw = body.encode("latin-1") if isinstance(body, str) else body
    server.handler = answer(raw, headers={"Content-Type": f"application/json; {content_type}"})

    with pytest.raises(InvalidResponseError, match="not JSON") as caught:
        await flatpeak_client(session, server).authenticate()

    assert_clean(caught.value)


async def test_a_wrong_charset_on_utf8_json_does_not_matter(
    server: Server, session: aiohttp.ClientSession
) -> None:
    body = json.dumps({"bearer_token": TOKEN, "expires_in": 60}).encode()
    server.handler = answer(body, headers={"Content-Type": "application/json; charset=utf-16"})

    token = await flatpeak_client(session, server).authenticate()

    assert token.bearer_token == TOKEN


# Retry-After


@pytest.mark.parametrize(
    "header", ["1000000000", "1e9", "Fri, 31 Dec 9999 23:59:59 GMT", str(10**30)]
)
async def test_retry_after_is_capped(
    server: Server, session: aiohttp.ClientSession, header: str
) -> None:
    server.handler = answer({"code": "rate_limited"}, status=429, headers={"Retry-After": header})

    with pytest.raises(RateLimitError) as caught:
        await flip_client(session, server).list_events()

    assert caught.value.retry_after == MAX_RETRY_AFTER == 86400


# Secrets quoted back


def echo(status: int, *, flip: bool = False) -> Handler:
    """An error answer quoting the request's credentials, with noise around them."""

    async def handler(request: web.Request) -> web.Response:
        authorization = request.headers.get("Authorization", "")
        # Each client knows only its own credentials.
        known = f"key={FLIP_KEY}" if flip else f"key={API_KEY} pair={ACCOUNT_ID}:{API_KEY} {BASIC}"
        quoted = f"refused {authorization}\r\n\x1b[31m {known}\x00 " + "x" * 10_000
        if flip:
            body: Any = {
                "message": quoted,
                "detail": [{"loc": ["body", authorization], "msg": quoted}],
                "errors": [{"path": FLIP_KEY, "message": f"bad {FLIP_KEY}"}],
                "code": f"c_{FLIP_KEY}",
            }
        else:
            body = {"code": f"code {authorization}", "message": quoted}
        return web.json_response(body, status=status)

    return handler


@pytest.mark.parametrize("status", [400, 401, 403, 404, 429, 500])
async def test_flatpeak_credentials_quoted_back_are_redacted(
    server: Server,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = flatpeak_client(session, server)

    # At login, the server quotes the Basic credentials.
    server.routes["/login"] = echo(status)
    with pytest.raises(ApiError) as caught:
        await client.authenticate()
    assert_clean(caught.value)
    assert "***" in str(caught.value)
    assert len(str(caught.value)) < 400

    # After login, it quotes the bearer token.
    server.routes["/login"] = LOGIN
    server.handler = echo(status)
    with pytest.raises(ApiError) as caught:
        await client.get_device("dev_1")
    assert_clean(caught.value)
    assert "\x1b" not in str(caught.value)
    assert "\n" not in str(caught.value)
    logging.getLogger(__name__).warning("Update failed: %s", caught.value)

    for secret in SECRETS:
        assert secret not in caplog.text
    assert any(seen.headers.get("Authorization") == f"Bearer {TOKEN}" for seen in server.seen)


async def test_flip_credentials_quoted_back_are_redacted(
    server: Server, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.handler = echo(422, flip=True)

    with pytest.raises(RequestError) as caught:
        await flip_client(session, server).cancel_event("e1")

    err = caught.value
    assert_clean(err)
    assert err.code == "c_***"
    for path, message in err.field_errors:
        for secret in SECRETS:
            assert secret not in path
            assert secret not in message
        assert len(message) <= 200
    logging.getLogger(__name__).warning("Dispatch failed: %s", err)
    for secret in SECRETS:
        assert secret not in caplog.text


async def test_an_error_body_of_megabytes_is_cut_short(
    server: Server, session: aiohttp.ClientSession
) -> None:
    """Tens of thousands of rejected fields, each message long and full of control characters."""
    field = {"loc": ["body", "x"], "msg": "\x00\x1b" * 5 + f"bad {FLIP_KEY} " + "y" * 40}
    body = json.dumps({"detail": [field] * 20_000}).encode()
    assert len(body) < MAX_RESPONSE_BYTES
    server.handler = answer(body, status=422)

    with measured("4 MiB error body") as figures, pytest.raises(RequestError) as caught:
        await flip_client(session, server).list_events()

    assert len(caught.value.field_errors) == 20
    assert caught.value.field_errors[0] == ("x", "bad *** " + "y" * 40)
    assert len(str(caught.value)) <= 200 + len("Flip answered HTTP 422: ")
    assert_clean(caught.value)
    assert figures.seconds < TIMEOUT_S


async def test_credentials_quoted_in_an_answer_are_redacted(
    server: Server, session: aiohttp.ClientSession
) -> None:
    """A parser quotes short strings of a body; a credential among them is hidden."""
    server.routes["/login"] = LOGIN
    server.handler = answer({"id": "dev_1", "live_mode": API_KEY})
    with pytest.raises(InvalidResponseError, match="live_mode") as caught:
        await flatpeak_client(session, server).get_device("dev_1")
    assert_clean(caught.value)

    server.handler = answer(json.dumps(FLIP_KEY))
    with pytest.raises(InvalidResponseError, match="list of events") as caught:
        await flip_client(session, server).list_events()
    assert_clean(caught.value)


async def test_a_new_token_quoted_in_its_own_login_answer_is_redacted(
    server: Server, session: aiohttp.ClientSession
) -> None:
    fresh = "tok_fresh_0123456789"
    server.routes["/login"] = answer({"bearer_token": fresh, "expires_in": fresh})

    with pytest.raises(InvalidResponseError, match="expires_in") as caught:
        await flatpeak_client(session, server).authenticate()

    assert_clean(caught.value, fresh)


@pytest.mark.parametrize(
    ("body", "reason"),
    [([TOKEN], "expected an object"), ({"expires_in": 60}, "bearer_token: the field is missing")],
)
async def test_a_login_answer_without_a_token(
    server: Server, session: aiohttp.ClientSession, body: object, reason: str
) -> None:
    server.routes["/login"] = answer(body)

    with pytest.raises(InvalidResponseError, match=reason) as caught:
        await flatpeak_client(session, server).authenticate()

    assert_clean(caught.value)


# Tokens and headers


@pytest.mark.parametrize(
    "token",
    ["tok\r\nX-Injected: 1", "tok\nabc", "tok\x00abc", "tok abc", "tok\x7f", "é" * 4, "t" * 9000],
)
async def test_a_token_that_cannot_go_in_a_header_is_refused_at_login(
    server: Server, session: aiohttp.ClientSession, token: str
) -> None:
    server.routes["/login"] = answer({"bearer_token": token, "expires_in": 3600})
    client = flatpeak_client(session, server)

    with pytest.raises(InvalidResponseError, match="bearer_token") as caught:
        await client.get_device("dev_1")

    assert_clean(caught.value, token)
    assert server.paths() == ["/login"]


async def test_a_header_aiohttp_refuses_ends_as_a_package_error(
    server: Server, session: aiohttp.ClientSession
) -> None:
    server.handler = answer([])
    bad_key = "flip\r\nX-Injected: 1"
    client = FlipClient(session, bad_key, base_url=server.url)

    with pytest.raises(RequestError, match="a header holds a character") as caught:
        await client.list_events()

    assert_clean(caught.value, bad_key)
    assert server.seen == []


# Identifiers


@pytest.mark.parametrize(
    "device_id", ["../login", "dev_1/../../x", "dev_1?x=1", "dev_" + "a" * 10_000_000]
)
async def test_unsafe_ids_are_refused_before_any_request(
    server: Server, session: aiohttp.ClientSession, device_id: str
) -> None:
    server.routes["/login"] = LOGIN

    with pytest.raises(InvalidIdError) as caught:
        await flatpeak_client(session, server).get_device(device_id)
    with pytest.raises(InvalidIdError):
        await flip_client(session, server).cancel_event(device_id)

    assert len(str(caught.value)) < 200
    assert server.seen == []


async def test_ids_too_long_in_an_answer_are_invalid(
    server: Server, session: aiohttp.ClientSession
) -> None:
    long_id = "dev_" + "a" * 1000
    server.routes["/login"] = LOGIN
    server.handler = answer({"id": long_id})
    with pytest.raises(InvalidResponseError, match="at id: expected an identifier"):
        await flatpeak_client(session, server).get_device("dev_1")

    server.handler = answer([{"id": "e1", "program_id": "p" * 129}])
    with pytest.raises(InvalidResponseError, match=r"\[0\]\.program_id"):
        await flip_client(session, server).list_events()


# Lists


def device_pages(
    server: Server, pages: Callable[[int], tuple[list[str], bool]]
) -> list[dict[str, str]]:
    """Serve `GET /devices` page n (from 1) as pages(n) says: its IDs and has_more.

    Returns the query of each request, as the server received it.
    """
    queries: list[dict[str, str]] = []
    server.routes["/login"] = LOGIN

    async def handler(request: web.Request) -> web.Response:
        queries.append(dict(request.query))
        ids, more = pages(len(queries))
        body = {"object": "list", "has_more": more, "data": [{"id": one} for one in ids]}
        return web.json_response(body)

    server.routes["/devices"] = handler
    return queries


async def test_a_server_that_always_has_more_is_read_up_to_the_page_cap(
    server: Server, session: aiohttp.ClientSession
) -> None:
    queries = device_pages(server, lambda n: ([f"dev_{n}"], True))

    with measured("a device list without end, stopped at the cap") as figures:
        listed = await flatpeak_client(session, server).list_devices()

    assert (listed.truncated, listed.pages) == (True, MAX_DEVICE_PAGES)
    assert [device.id for device in listed.devices] == [
        f"dev_{n}" for n in range(1, MAX_DEVICE_PAGES + 1)
    ]
    assert len(queries) == MAX_DEVICE_PAGES
    assert queries[0] == {"limit": str(DEVICE_PAGE_LIMIT)}
    assert queries[-1] == {
        "limit": str(DEVICE_PAGE_LIMIT),
        "starting_after": f"dev_{MAX_DEVICE_PAGES - 1}",
    }
    assert figures.seconds < 30


async def test_full_pages_are_read_up_to_the_device_cap(
    server: Server, session: aiohttp.ClientSession
) -> None:
    def full(n: int) -> tuple[list[str], bool]:
        return [f"dev_{n}x{i}" for i in range(DEVICE_PAGE_LIMIT)], True

    device_pages(server, full)

    listed = await flatpeak_client(session, server).list_devices()

    assert len(listed.devices) == MAX_DEVICES
    assert (listed.truncated, listed.pages) == (True, MAX_DEVICES // DEVICE_PAGE_LIMIT)


async def test_a_page_of_devices_is_smaller_than_any_answer(
    server: Server, session: aiohttp.ClientSession
) -> None:
    # Within the limit of any answer, beyond that of a page of devices.
    padding = "x" * (MAX_DEVICE_PAGE_BYTES // 2)
    assert 3 * len(padding) < MAX_RESPONSE_BYTES
    server.routes["/login"] = LOGIN
    server.routes["/devices"] = answer(
        {"object": "list", "has_more": False, "data": [{"id": "dev_1", "a": padding}] * 3}
    )

    with pytest.raises(InvalidResponseError, match="larger than.*page 1 of GET") as caught:
        await flatpeak_client(session, server).list_devices()

    assert_clean(caught.value)
    assert server.paths() == ["/login", "/devices"]


async def test_a_server_going_round_in_circles_is_left(
    server: Server, session: aiohttp.ClientSession
) -> None:
    queries = device_pages(server, lambda n: (["dev_a", "dev_b"], True))

    listed = await flatpeak_client(session, server).list_devices()

    assert [device.id for device in listed.devices] == ["dev_a", "dev_b"]
    assert (listed.truncated, listed.pages) == (True, 2)
    assert queries[1]["starting_after"] == "dev_b"


async def test_an_empty_page_that_says_there_is_more(
    server: Server, session: aiohttp.ClientSession
) -> None:
    device_pages(server, lambda n: ([], True))

    listed = await flatpeak_client(session, server).list_devices()

    assert (listed.devices, listed.truncated, listed.pages) == ((), True, 1)


async def test_a_device_listed_twice_is_kept_once(
    server: Server, session: aiohttp.ClientSession
) -> None:
    pages = {1: (["dev_c", "dev_b"], True), 2: (["dev_b", "dev_a"], False)}
    device_pages(server, pages.__getitem__)

    listed = await flatpeak_client(session, server).list_devices()

    assert [device.id for device in listed.devices] == ["dev_c", "dev_b", "dev_a"]
    assert (listed.truncated, listed.pages) == (False, 2)


async def test_a_page_longer_than_asked_for_is_cut_at_the_count(
    server: Server, session: aiohttp.ClientSession
) -> None:
    queries = device_pages(server, lambda n: ([f"dev_{i}" for i in range(150)], False))

    listed = await flatpeak_client(session, server).list_devices(max_devices=120)

    assert len(listed.devices) == 120
    assert (listed.truncated, listed.pages) == (True, 1)
    assert queries == [{"limit": str(DEVICE_PAGE_LIMIT)}]


async def test_a_cursor_from_the_server_stays_one_query_value(
    server: Server, session: aiohttp.ClientSession
) -> None:
    odd = "dev_1&limit=1000 #x"
    pages = {1: ([odd], True), 2: (["dev_2"], False)}
    queries = device_pages(server, pages.__getitem__)

    listed = await flatpeak_client(session, server).list_devices(reference_id="a&b=c")

    assert [device.id for device in listed.devices] == [odd, "dev_2"]
    assert queries[1] == {"limit": "100", "reference_id": "a&b=c", "starting_after": odd}


async def test_credentials_quoted_in_a_device_list_are_redacted(
    server: Server, session: aiohttp.ClientSession
) -> None:
    server.routes["/login"] = LOGIN
    server.routes["/devices"] = answer(
        {"object": "list", "data": [{"id": "dev_1"}, {"id": "dev_2", "live_mode": API_KEY}]}
    )

    with pytest.raises(InvalidResponseError, match=r"data\[1\]\.live_mode.*page 1") as caught:
        await flatpeak_client(session, server).list_devices()

    assert_clean(caught.value)


# What already held


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirects_never_carry_credentials_to_another_host(
    server: Server, other_host: Server, session: aiohttp.ClientSession, status: int
) -> None:
    other_host.handler = answer({"bearer_token": TOKEN, "expires_in": 3600})
    server.handler = answer(
        {"code": "moved"}, status=status, headers={"Location": f"{other_host.url}/steal"}
    )

    with pytest.raises(ApiError) as caught:
        await flatpeak_client(session, server).authenticate()
    with pytest.raises(ApiError):
        await flip_client(session, server).list_events()

    assert caught.value.status == status
    assert other_host.seen == []


@pytest.mark.parametrize("expires_in", [1e-9, 0.001, "1e-300"])
async def test_expires_in_nonsense_and_a_401_storm_cause_no_login_storm(
    server: Server, session: aiohttp.ClientSession, expires_in: object
) -> None:
    server.routes["/login"] = answer({"bearer_token": TOKEN, "expires_in": expires_in})
    server.handler = answer({"code": "unauthorized"}, status=401)
    client = flatpeak_client(session, server)

    for _ in range(3):
        with pytest.raises(AuthenticationError):
            await client.get_device("dev_1")

    # At most one login and one renewal per call, each followed by one try.
    assert server.paths().count("/login") <= 6
    assert server.paths().count("/devices/dev_1") == 6
