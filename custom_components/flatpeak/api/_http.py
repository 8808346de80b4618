"""The HTTP exchange shared by the Flatpeak and Flip clients.

One place turns transport failures and HTTP error statuses into the
exceptions of `exceptions.py`; each client supplies only how its service
words an error body.

It is also the one place that bounds what a broken or hostile server can
make a client do: a body is read a chunk at a time and refused once it
exceeds MAX_RESPONSE_BYTES once decompressed (4 MiB), the whole exchange
ends within the request timeout, any bytes decode to JSON or to an
InvalidResponseError, a Retry-After is capped at MAX_RETRY_AFTER (a day),
and text the server wrote is cleaned, cut short and stripped of the
client's credentials before it enters an exception.

A Retry-After holds the client back: until it passes, every request of the
client fails at once with a RateLimitError and reaches no server. The service
limits the account, not one kind of request, so one deadline covers them all.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
import asyncio
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
import json
import logging
import math
import re
import sys
from typing import Any
import zlib

import aiohttp

from .exceptions import (
    ApiError,
    AuthenticationError,
    CommunicationError,
    InvalidResponseError,
    NotFoundError,
    RateLimitError,
    RequestError,
)
from .validation import check_base_url

_LOGGER = logging.getLogger(__package__)

DEFAULT_TIMEOUT = 30.0

# The largest body accepted, counted after decompression and enforced while
# the body streams in: the clients' answers are a few hundred kilobytes at
# most, so anything larger is a broken or hostile server.
MAX_RESPONSE_BYTES = 4 * 1024 * 1024

# The deepest nesting of arrays and objects accepted in a JSON body. Real
# answers nest less than ten levels.
MAX_JSON_DEPTH = 64

# The longest wait a Retry-After header can ask for, in seconds (a day).
MAX_RETRY_AFTER = 24 * 60 * 60.0

# The longest piece of server-provided text (an error message, a code, a
# field name) copied into an exception.
MAX_MESSAGE_CHARS = 200

# Control characters other than whitespace (which is collapsed instead),
# invisible and bidirectional format characters, and lone surrogates. A
# pattern rather than a test per character: a message may be megabytes long.
_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x9f\xad\u061c\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff]"
)

# The most rejected fields kept from one error body.
MAX_FIELD_ERRORS = 20

# How much is read, and decompressed, at a time: the bound on the memory a
# single step may take, whatever the compression ratio.
_CHUNK_BYTES = 64 * 1024

# The encodings the clients decompress themselves; asked for explicitly so
# that no other encoding is expected.
_ACCEPT_ENCODING = "gzip, deflate"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Read a Retry-After header: seconds, or an HTTP date. None if absent or unreadable.

    The delay is capped at MAX_RETRY_AFTER: a server asking for years is
    broken, and its answer must not silence the client for years.
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, OverflowError):  # a year too large for a C long
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(MAX_RETRY_AFTER, max(0.0, seconds))


def clean_text(value: str, secrets: Iterable[str] = (), limit: int = MAX_MESSAGE_CHARS) -> str:
    """Make server-provided text fit for an exception message or a log line.

    Control and format characters are dropped, whitespace (line breaks
    included) is collapsed, every known secret is replaced by `***`, and the
    result is cut to `limit` characters. The order matters: characters are
    dropped before redacting, so that a secret split by a control character
    is still found, and the text is cut after redacting, so that a cut never
    leaves part of a secret.
    """
    known = [secret for secret in secrets if secret]
    margin = max((len(secret) for secret in known), default=0)
    # Only the start of a long text is read: a message may be megabytes long,
    # and the work must not grow with it.
    reach = 16 * limit + margin
    cut = len(value) > reach
    text = " ".join(_UNPRINTABLE.sub("", value[:reach]).split())
    if cut:
        # A secret straddling the cut would not be found: drop where it may start.
        text = text[: len(text) - margin].rstrip()
    for secret in known:
        text = text.replace(secret, "***")
    if cut or len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _decompressor(encoding: str, first: int) -> Any:
    """Return a zlib decompressor for a Content-Encoding, given the first byte of the body.

    "deflate" is meant to be zlib-wrapped, but some servers send raw deflate:
    a zlib stream starts with a byte whose low half is 8 (the method).
    """
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    return zlib.decompressobj(zlib.MAX_WBITS if first & 0x0F == 8 else -zlib.MAX_WBITS)


def _depth_within(data: Any, limit: int) -> bool:
    """Say whether arrays and objects nest at most `limit` deep (without recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value
        for child in children:
            if isinstance(child, dict | list):
                if depth >= limit:
                    return False
                stack.append((child, depth + 1))
    return True


def decode_json(raw: bytes) -> tuple[bool, Any]:
    """Decode a body: (True, the JSON value, None if empty) or (False, None).

    JSON is UTF-8 (RFC 8259), whatever charset a server declares. Whatever the
    bytes, this only returns: no decoding error escapes, since those carry the
    body, which may hold a token.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return False, None
    if not text.strip():
        return True, None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return False, None
    if isinstance(data, dict | list) and not _depth_within(data, MAX_JSON_DEPTH):
        return False, None
    return True, data


class HttpClient(ABC):
    """A JSON-over-HTTP client of one service."""

    service = "API"
    max_response_bytes = MAX_RESPONSE_BYTES

    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, request_timeout: float
    ) -> None:
        """Keep the session (owned by the caller) and the checked base URL."""
        self._session = session
        self._base_url = check_base_url(base_url)
        self._request_timeout = request_timeout
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        # Until when the service asked not to be called (Retry-After).
        self._hold_until: datetime | None = None
        self._hold_listeners: list[Callable[[datetime], None]] = []

    @property
    def base_url(self) -> str:
        """The URL requests are sent to."""
        return self._base_url

    @property
    def not_before(self) -> datetime | None:
        """The instant (UTC) before which no request is sent; None when one may be."""
        if self._hold_until is None or datetime.now(UTC) >= self._hold_until:
            return None
        return self._hold_until

    def hold_until(self, moment: datetime) -> None:
        """Send nothing before moment (a later deadline already held stays).

        The listeners are told of a deadline that moves later, so that it can
        be kept across restarts.
        """
        if self._hold_until is not None and moment <= self._hold_until:
            return
        self._hold_until = moment
        for listener in list(self._hold_listeners):
            listener(moment)

    def add_hold_listener(self, listener: Callable[[datetime], None]) -> Callable[[], None]:
        """Call listener with each new Retry-After deadline; return the way to stop."""
        self._hold_listeners.append(listener)
        return lambda: self._hold_listeners.remove(listener)

    @abstractmethod
    def secrets(self) -> tuple[str, ...]:
        """Return the credentials this client sends, to be kept out of every message."""

    def clean(self, value: str, limit: int = MAX_MESSAGE_CHARS) -> str:
        """Return server-provided text cleaned for a message (see clean_text)."""
        return clean_text(value, self.secrets(), limit)

    def parse[T](self, parser: Callable[[Any], T], data: Any, *extra_secrets: str) -> T:
        """Read a decoded body with parser, keeping secrets out of any error it raises.

        Parsers quote short strings of the body in their messages; a server
        may have put a credential in any of them.
        """
        try:
            return parser(data)
        except InvalidResponseError as err:
            secrets = (*self.secrets(), *extra_secrets)
            err.args = (clean_text(str(err), secrets, limit=sys.maxsize),)
            raise

    async def _request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str],
        body: Any = None,
        params: Mapping[str, str] | None = None,
        max_bytes: int | None = None,
    ) -> Any:
        """Send one request and return the decoded JSON body (None if empty).

        `params` go into the query string, encoded by aiohttp.

        The whole exchange, reading the body included, is bounded by the
        request timeout, and the body by max_bytes (by default
        max_response_bytes), counted once decompressed. Every failure
        ends as an ApiError that chains to nothing: the exceptions of aiohttp
        and of decoding may carry request headers or the body.
        """
        if (hold := self.not_before) is not None:
            # Refused here: the service asked for nothing before then.
            raise RateLimitError(
                f"{self.service} asked not to be called before {hold.isoformat()}; "
                f"{method} {path} was not sent",
                service=self.service,
                retry_after=(hold - datetime.now(UTC)).total_seconds(),
                held=True,
            )
        url = f"{self._base_url}{path}"
        failure: ApiError | None = None
        try:
            async with (
                asyncio.timeout(self._request_timeout),
                self._session.request(
                    method,
                    url,
                    headers={**headers, "Accept-Encoding": _ACCEPT_ENCODING},
                    json=body,
                    params=params,
                    timeout=self._timeout,
                    allow_redirects=False,
                    # Decompressed here, a step at a time: aiohttp would inflate
                    # each network read whole, whatever its size once inflated.
                    auto_decompress=False,
                ) as response,
            ):
                status = response.status
                retry_after = response.headers.get("Retry-After")
                raw = await self._read_body(
                    response, method, path, max_bytes or self.max_response_bytes
                )
        except TimeoutError:
            failure = CommunicationError(
                f"{self.service} did not answer {method} {path} in time", service=self.service
            )
        except aiohttp.ClientError as err:
            failure = CommunicationError(
                f"Could not reach {self.service} for {method} {path}: {err.__class__.__name__}",
                service=self.service,
            )
        except ValueError:
            # aiohttp refuses a header holding a line break (header injection).
            failure = RequestError(
                f"Could not send {method} {path} to {self.service}: "
                "a header holds a character HTTP does not allow",
                service=self.service,
            )
        if failure is not None:
            # Raised here, outside the handlers, so that it chains to nothing.
            raise failure
        _LOGGER.debug("%s %s %s -> %s", self.service, method, path, status)

        decoded, data = decode_json(raw)
        if status < 300:
            if not decoded:
                raise InvalidResponseError(
                    f"{self.service} answered {method} {path} with a body that is not JSON",
                    service=self.service,
                )
            return data
        error = self._error(status, data, retry_after)
        if isinstance(error, RateLimitError) and error.retry_after:
            self.hold_until(datetime.now(UTC) + timedelta(seconds=error.retry_after))
        raise error

    async def _read_body(
        self, response: aiohttp.ClientResponse, method: str, path: str, limit: int
    ) -> bytearray:
        """Read the body a chunk at a time, decompressing it, up to limit bytes."""
        encoding = response.headers.get("Content-Encoding", "").strip().lower()
        if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
            raise InvalidResponseError(
                f"{self.service} answered {method} {path} with a body in an unknown encoding",
                service=self.service,
            )
        body = bytearray()
        decompressor: Any = None
        failed = False
        async for chunk in response.content.iter_chunked(_CHUNK_BYTES):
            if encoding in ("", "identity"):
                self._append(body, chunk, method, path, limit)
                continue
            if decompressor is None:
                decompressor = _decompressor(encoding, chunk[0])
            pending = chunk
            try:
                # max_length bounds each step: a bomb yields its output a
                # chunk at a time, and the limit stops it early.
                while pending:
                    inflated = decompressor.decompress(pending, _CHUNK_BYTES)
                    self._append(body, inflated, method, path, limit)
                    pending = decompressor.unconsumed_tail
            except zlib.error:
                failed = True
                break
        if failed:
            raise InvalidResponseError(
                f"{self.service} answered {method} {path} with a compressed body that could not be read",
                service=self.service,
            )
        if decompressor is not None:
            self._append(body, decompressor.flush(), method, path, limit)
        return body

    def _append(self, body: bytearray, data: bytes, method: str, path: str, limit: int) -> None:
        if len(body) + len(data) > limit:
            raise InvalidResponseError(
                f"{self.service} answered {method} {path} with a body larger than {limit} bytes",
                service=self.service,
            )
        body += data

    def _error(self, status: int, data: Any, retry_after: str | None) -> ApiError:
        """Turn an error status and its body into an exception.

        Everything the server wrote is cleaned first: it may quote the
        request's credentials, or hold control characters meant for a log.
        """
        code, detail, field_errors = self.describe_error(data)
        if code is not None:
            code = self.clean(code, 64) or None
        detail = self.clean(detail)
        field_errors = tuple(
            (self.clean(path), self.clean(message))
            for path, message in field_errors[:MAX_FIELD_ERRORS]
        )
        reason = f"{self.service} answered HTTP {status}"
        if code:
            reason += f" ({code})"
        if detail:
            reason += f": {detail}"
        if status in (401, 403):
            return AuthenticationError(reason, service=self.service, status=status, code=code)
        if status == 404:
            return NotFoundError(reason, service=self.service, status=status, code=code)
        if status == 429:
            return RateLimitError(
                reason,
                service=self.service,
                code=code,
                retry_after=parse_retry_after(retry_after),
            )
        return RequestError(
            reason, service=self.service, status=status, code=code, field_errors=field_errors
        )

    @abstractmethod
    def describe_error(self, data: Any) -> tuple[str | None, str, tuple[tuple[str, str], ...]]:
        """Read an error body: its code, a readable reason, and rejected fields."""


def text_of(value: Any) -> str | None:
    """Return value if it is a non-empty string, stripped."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None
