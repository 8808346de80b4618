"""Checks on user input, made before anything reaches a URL."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from .exceptions import InvalidIdError

# The form of every Flatpeak identifier: a short lower-case prefix, then
# letters and digits (for example `dev_63a6087272941ef077a8fd3e`).
FLATPEAK_ID = re.compile(r"^[a-z]{2,4}_[A-Za-z0-9]+$")

# Flip event identifiers are UUIDs; group and program identifiers are
# caller-chosen words (`^[\w-]+$` in Flip's schema).
FLIP_ID = re.compile(r"^[A-Za-z0-9_-]+$")

# The longest identifier accepted, from the user or in a response: real ones
# are under 40 characters, and an identifier ends up in a request path.
MAX_ID_LENGTH = 128

# The longest reference ID accepted as a filter. Reference IDs are the
# caller's own names for its objects; they travel in a query string.
MAX_REFERENCE_ID_LENGTH = 256


def check_id(value: str, prefix: str | None = None, *, service: str = "Flatpeak") -> str:
    """Return value if it is a well-formed identifier, else raise InvalidIdError.

    With a prefix (`"dev"`, `"loc"`, `"acc"`), the identifier must also be of
    that kind.
    """
    pattern = FLATPEAK_ID if service == "Flatpeak" else FLIP_ID
    if not isinstance(value, str) or len(value) > MAX_ID_LENGTH or not pattern.fullmatch(value):
        raise InvalidIdError(f"{_show(value)} is not a valid {service} identifier", service=service)
    if prefix is not None and not value.startswith(f"{prefix}_"):
        raise InvalidIdError(
            f"{_show(value)} is not a {service} identifier of the form {prefix}_…",
            service=service,
        )
    return value


def check_reference_id(value: str) -> str:
    """Return value if it can be a reference ID filter, else raise ValueError.

    Any text is allowed (it is encoded into the query string), but not an
    empty one, nor one longer than MAX_REFERENCE_ID_LENGTH.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{_show(value)} is not a reference ID: it must be a non-empty string")
    if len(value) > MAX_REFERENCE_ID_LENGTH:
        raise ValueError(
            f"a reference ID has at most {MAX_REFERENCE_ID_LENGTH} characters, not {len(value)}"
        )
    return value


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}…"


def is_loopback_host(host: str) -> bool:
    """Say whether host names this machine (localhost, 127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str) -> str:
    """Return a service base URL without its trailing slash, or raise ValueError.

    The URL must be https. Plain http is accepted only for a server on this
    machine (the local sandbox), so that credentials never cross a network
    unencrypted.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("the URL must not contain credentials, a query or a fragment")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValueError("the URL must use https (plain http is allowed only for this machine)")
    return parts.geturl().rstrip("/")
