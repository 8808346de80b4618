"""Fixtures for the sandbox tests: a sandbox at a fixed time and an HTTP client."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from sandbox import Sandbox

# A Saturday, the day before the clocks go forward in Europe/London.
NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)


def basic(user: str, password: str) -> str:
    """Return a Basic Authorization header value."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass
class Answer:
    """What a request got back."""

    status: int
    body: Any
    headers: Any
    text: str


@dataclass
class Client:
    """A thin HTTP client for the sandbox under test."""

    session: aiohttp.ClientSession
    base_url: str
    sb: Sandbox
    token: str | None = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: str | None = None,
        headers: dict[str, str] | None = None,
        auth: str | None = "bearer",
    ) -> Answer:
        """Send a request; `auth` is "bearer" (logged in), "flip", None or a header."""
        sent = dict(headers or {})
        if auth == "bearer":
            if self.token is None:
                self.token = await self.login()
            sent["Authorization"] = f"Bearer {self.token}"
        elif auth == "flip":
            sent["Authorization"] = f"Bearer {self.sb.flip_api_key}"
        elif auth is not None:
            sent["Authorization"] = auth
        async with self.session.request(
            method, self.base_url + path, json=json, data=data, headers=sent
        ) as response:
            text = await response.text()
            try:
                body = await response.json(content_type=None) if text else None
            except ValueError:
                body = None
            return Answer(response.status, body, response.headers, text)

    async def login(self, key: str | None = None) -> str:
        """Log in with a key (the test key by default); keep and return the token."""
        answer = await self.request(
            "GET", "/login", auth=basic(self.sb.account_id, key or self.sb.api_key)
        )
        assert answer.status == 200, answer.text
        token: str = answer.body["bearer_token"]
        self.token = token
        return token


@pytest.fixture
def sb() -> Sandbox:
    """Return a sandbox whose clock stands at NOW."""
    return Sandbox(seed=1, now=NOW)


@pytest.fixture
async def client(sb: Sandbox, socket_enabled: None) -> AsyncIterator[Client]:
    """Serve `sb` over real HTTP on loopback and return a client for it."""
    async with sb.serve() as base_url, aiohttp.ClientSession() as session:
        yield Client(session, base_url, sb)
