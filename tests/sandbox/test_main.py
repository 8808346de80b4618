"""Tests of `python -m sandbox`."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from typing import Any

import aiohttp
import pytest

from sandbox import Sandbox
import sandbox.__main__ as cli


def test_parser_defaults_and_options() -> None:
    args = cli.build_parser().parse_args([])
    assert (args.host, args.port, args.seed, args.token_lifetime, args.demo) == (
        "127.0.0.1",
        cli.DEFAULT_PORT,
        0,
        3600,
        False,
    )
    assert args.access_log is False
    args = cli.build_parser().parse_args(
        ["--port", "9000", "--seed", "4", "--token-lifetime", "60", "--demo"]
    )
    assert (args.port, args.seed, args.token_lifetime, args.demo) == (9000, 4, 60, True)


def test_banner_lists_the_credentials() -> None:
    sb = Sandbox(demo=True)
    text = cli.banner(sb, "http://127.0.0.1:8765")
    for value in (
        sb.account_id,
        sb.api_key,
        sb.live_api_key,
        sb.device_id,
        sb.ev_charger_id,
        sb.heat_pump_id,
        "Nova Systems Pico Ultimate, 5 kW",
        "Voltline Sprint 7, 7.4 kW",
        "Borealis Heat Aurora 6, 3 kW",
        sb.location_id,
        sb.flip_api_key,
        sb.flip_program_id,
        "http://127.0.0.1:8765/_sandbox/state",
        "Demo",
    ):
        assert value in text
    assert "Demo" not in cli.banner(Sandbox(), "http://x")


def test_banner_shows_a_power_only_when_known() -> None:
    sb = Sandbox()
    sb.flatpeak.devices[sb.heat_pump_id].blocks["heat_pump"]["thermal_storage_litres"] = None
    text = cli.banner(sb, "http://x")
    assert f"{sb.heat_pump_id}  (Borealis Heat Aurora 6)" in text


async def test_run_serves_until_stopped(socket_enabled: None) -> None:
    sb = Sandbox()
    stop = asyncio.Event()
    ready = asyncio.Event()
    announced: list[str] = []

    def announce(text: str) -> None:
        announced.append(text)
        ready.set()

    task = asyncio.create_task(cli.run(sb, "127.0.0.1", 0, stop, announce))
    await asyncio.wait_for(ready.wait(), 5)
    base_url = announced[0].split("listening on ")[1].splitlines()[0]
    async with aiohttp.ClientSession() as session, session.get(f"{base_url}/_sandbox/state") as r:
        assert r.status == 200
    stop.set()
    await task


async def test_main_coroutine_stops_on_sigterm(
    socket_enabled: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ready = asyncio.Event()
    original = cli.banner

    def banner(sb: Sandbox, base_url: str) -> str:
        ready.set()
        return original(sb, base_url)

    monkeypatch.setattr(cli, "banner", banner)
    args = argparse.Namespace(
        host="127.0.0.1", port=0, seed=2, token_lifetime=60, demo=False, access_log=True
    )
    task = asyncio.create_task(cli._main(args))
    await asyncio.wait_for(ready.wait(), 5)
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(task, 5)
    assert "acc_5b1d5a7e9c0f4e2a8d3b6c71" in capsys.readouterr().out


def test_main_parses_and_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []

    def fake_run(coro: Any) -> None:
        seen.append(coro)
        coro.close()

    monkeypatch.setattr(asyncio, "run", fake_run)
    assert cli.main(["--port", "0"]) == 0
    assert len(seen) == 1
