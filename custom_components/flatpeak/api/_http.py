"""The HTTP exchange shared by the Flatpeak and Flip clients.

One place turns transport failures and HTTP error statuses into the
exceptions of `exceptions.py`; each client supplies only how its service
words an error body.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
import json
import logging
import math
from typing import Any

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


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Read a Retry-After header: seconds, or an HTTP date. None if absent or unreadable."""
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
    return max(0.0, seconds)


class HttpClient(ABC):
    """A JSON-over-HTTP client of one service."""

    service = "API"

    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, request_timeout: float
    ) -> None:
        """Keep the session (owned by the caller) and the checked base URL."""
        self._session = session
        self._base_url = check_base_url(base_url)
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)

    @property
    def base_url(self) -> str:
        """The URL requests are sent to."""
        return self._base_url

    async def _request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str],
        body: Any = None,
    ) -> Any:
        """Send one request and return the decoded JSON body (None if empty)."""
        url = f"{self._base_url}{path}"
        try:
            async with self._session.request(
                method,
                url,
                headers=dict(headers),
                json=body,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                text = await response.text()
                status = response.status
                retry_after = response.headers.get("Retry-After")
        except TimeoutError as err:
            raise CommunicationError(
                f"{self.service} did not answer {method} {path} in time", service=self.service
            ) from err
        except aiohttp.ClientError as err:
            raise CommunicationError(
                f"Could not reach {self.service} for {method} {path}: {err.__class__.__name__}",
                service=self.service,
            ) from err
        _LOGGER.debug("%s %s %s -> %s", self.service, method, path, status)

        data: Any = None
        decoded = True
        if text.strip():
            try:
                data = json.loads(text)
            except ValueError:
                decoded = False
        if status < 300:
            if not decoded:
                raise InvalidResponseError(
                    f"{self.service} answered {method} {path} with a body that is not JSON",
                    service=self.service,
                )
            return data
        raise self._error(status, data, retry_after)

    def _error(self, status: int, data: Any, retry_after: str | None) -> ApiError:
        """Turn an error status and its body into an exception."""
        code, detail, field_errors = self.describe_error(data)
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
