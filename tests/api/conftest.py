"""Fixtures for the API clients: a sandbox of both clouds served over loopback HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest

from custom_components.flatpeak.api import FlatpeakClient, FlipClient
from sandbox import Sandbox

NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)


class FakeMonotonic:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(seed=1, now=NOW)


@pytest.fixture
async def base_url(sandbox: Sandbox, socket_enabled: None) -> AsyncIterator[str]:
    async with sandbox.serve() as url:
        yield url


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def monotonic() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def flatpeak(
    sandbox: Sandbox, base_url: str, session: aiohttp.ClientSession, monotonic: FakeMonotonic
) -> FlatpeakClient:
    return FlatpeakClient(
        session,
        sandbox.account_id,
        sandbox.api_key,
        base_url=base_url,
        request_timeout=2,
        clock=monotonic,
    )


@pytest.fixture
def flip(sandbox: Sandbox, base_url: str, session: aiohttp.ClientSession) -> FlipClient:
    return FlipClient(session, sandbox.flip_api_key, base_url=base_url, request_timeout=2)
