"""The test environments are the ones users get: Home Assistant's resolver works in them."""

from __future__ import annotations

from aiohttp.resolver import AsyncResolver
import pytest


async def test_host_names_resolve_through_the_dns_libraries() -> None:
    """aiodns and pycares must match: with pycares 5 beside aiodns 3.2.0 no lookup works.

    Home Assistant resolves host names through aiodns. A mismatch raises a
    TypeError for every name, which the config flow could only call unexpected.
    """
    resolver = AsyncResolver()
    try:
        (found, *_) = await resolver.resolve("localhost", 443)
        assert found["host"] in ("127.0.0.1", "::1")
        # A name that never resolves fails as an OS error: "could not reach".
        try:
            await resolver.resolve("api.flatpeak.invalid", 443)
        except OSError:
            pass
        else:
            pytest.fail("a .invalid name resolved")
    finally:
        await resolver.close()
