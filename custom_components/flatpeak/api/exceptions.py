"""Exceptions raised by the Flatpeak and Flip clients.

One hierarchy for both services. Every error names the service that raised it,
and no message ever contains an API key or a bearer token.
"""

from __future__ import annotations


class ApiError(Exception):
    """Base class of every error the clients raise."""

    def __init__(
        self,
        message: str,
        *,
        service: str = "Flatpeak",
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        """Store the service, the HTTP status and the API's error code."""
        super().__init__(message)
        self.service = service
        self.status = status
        self.code = code


class CommunicationError(ApiError):
    """The service could not be reached, or did not answer in time."""


class AuthenticationError(ApiError):
    """The credentials were refused (HTTP 401 or 403)."""


class NotFoundError(ApiError):
    """The requested object does not exist (HTTP 404)."""


class RateLimitError(ApiError):
    """Too many requests (HTTP 429).

    `retry_after` is the number of seconds the service asked us to wait, or
    None when it did not say. `held` is true when the client refused the
    request itself, before sending it, because that wait had not passed.
    """

    def __init__(
        self,
        message: str,
        *,
        service: str = "Flatpeak",
        code: str | None = None,
        retry_after: float | None = None,
        held: bool = False,
    ) -> None:
        """Store how long the service asked us to wait, and whether anything was sent."""
        super().__init__(message, service=service, status=429, code=code)
        self.retry_after = retry_after
        self.held = held


class RequestError(ApiError):
    """The service refused the request for a reason it names in `code`.

    For Flatpeak these are, among others, `no_tariff_connected`,
    `pending_connect`, `no_price_data` and `account_disabled`. For Flip,
    `field_errors` holds each rejected field as (path, reason).
    """

    def __init__(
        self,
        message: str,
        *,
        service: str = "Flatpeak",
        status: int | None = None,
        code: str | None = None,
        field_errors: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """Store the rejected fields, if the service listed them."""
        super().__init__(message, service=service, status=status, code=code)
        self.field_errors = field_errors


class InvalidResponseError(ApiError):
    """A response could not be understood; `path` names the offending field."""

    def __init__(self, message: str, *, service: str = "Flatpeak", path: str = "") -> None:
        """Store the path of the field that could not be understood."""
        super().__init__(message, service=service)
        self.path = path


class InvalidIdError(ApiError, ValueError):
    """An identifier does not have the form the service uses.

    Raised before any request is made, so that nothing user-supplied that is
    not an identifier ever reaches a URL.
    """
