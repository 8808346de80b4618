"""What a failed call to Flatpeak or Flip means: one reading of the API's errors.

Every place that reports a failure (fetches, the Flip dispatch, both flows)
asks `classify` what went wrong, then words it in its own way.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from .api import (
    ApiError,
    AuthenticationError,
    CommunicationError,
    InvalidIdError,
    InvalidResponseError,
    NotFoundError,
    RateLimitError,
    RequestError,
)
from .const import RETRY_AFTER_MARGIN, retry_delay


class Problem(StrEnum):
    """What went wrong, as far as a user can act on it."""

    ACCOUNT_DISABLED = "account_disabled"
    INVALID_AUTH = "invalid_auth"
    RATE_LIMITED = "rate_limited"
    NOT_FOUND = "not_found"
    CANNOT_CONNECT = "cannot_connect"
    INVALID_RESPONSE = "invalid_response"
    # Refused before any request: not an identifier of the service.
    INVALID_ID = "invalid_id"
    # Flatpeak's own words for a location it cannot price or plan for yet.
    NO_TARIFF_CONNECTED = "no_tariff_connected"
    PENDING_CONNECT = "pending_connect"
    NO_PRICE_DATA = "no_price_data"
    LOCATIONS_INVALID = "locations_invalid"
    # The request itself was refused (a 4xx that names what is wrong).
    REJECTED = "rejected"
    # The service failed (a 5xx): nothing the user did.
    SERVER_ERROR = "server_error"
    API_ERROR = "api_error"


# Flatpeak asks not to retry these more often than every 15 minutes.
TARIFF_PROBLEMS = frozenset(
    {Problem.NO_TARIFF_CONNECTED, Problem.PENDING_CONNECT, Problem.NO_PRICE_DATA}
)

# The service refused the request: it did nothing, and will not for the same request.
REFUSALS = frozenset(
    {
        Problem.NOT_FOUND,
        Problem.REJECTED,
        Problem.ACCOUNT_DISABLED,
        Problem.LOCATIONS_INVALID,
        *TARIFF_PROBLEMS,
    }
)

_BY_CODE = {
    problem.value: problem
    for problem in (*TARIFF_PROBLEMS, Problem.ACCOUNT_DISABLED, Problem.LOCATIONS_INVALID)
}


def classify(err: ApiError) -> Problem:
    """Return what a failed call means."""
    if isinstance(err, InvalidIdError):
        return Problem.INVALID_ID
    if err.code in _BY_CODE:
        return _BY_CODE[err.code]
    if isinstance(err, AuthenticationError):
        return Problem.INVALID_AUTH
    if isinstance(err, RateLimitError):
        return Problem.RATE_LIMITED
    if isinstance(err, NotFoundError):
        return Problem.NOT_FOUND
    if isinstance(err, CommunicationError):
        return Problem.CANNOT_CONNECT
    if isinstance(err, InvalidResponseError):
        return Problem.INVALID_RESPONSE
    if isinstance(err, RequestError) and err.status is not None:
        return Problem.SERVER_ERROR if err.status >= 500 else Problem.REJECTED
    return Problem.API_ERROR


class Backoff:
    """When to call again after failed calls: the one back-off of every caller.

    After consecutive failures it waits 1, 2, 4 … minutes up to a cap, and at
    least what a Retry-After asked for. A call the client held back (a
    Retry-After still running) sent nothing: then only the rest of that wait.
    """

    def __init__(self, cap: timedelta) -> None:
        """Back off up to cap."""
        self.cap = cap
        self.failures = 0

    def failed(self, err: ApiError) -> timedelta:
        """Count a failure; return how long to wait before the next call."""
        self.failures += 1
        if isinstance(err, RateLimitError) and err.held:
            return timedelta(seconds=err.retry_after or 0) + RETRY_AFTER_MARGIN
        retry_after = err.retry_after if isinstance(err, RateLimitError) else None
        return retry_delay(self.failures, self.cap, retry_after)

    def succeeded(self) -> None:
        """Start again from the shortest wait."""
        self.failures = 0
