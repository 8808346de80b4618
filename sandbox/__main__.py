"""Run the sandbox: `python -m sandbox --port 8765 [--demo]`."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
import logging
import signal
import sys

from .app import Sandbox

DEFAULT_PORT = 8765


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Serve a local Flatpeak and Flip Utility API simulator.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (0 picks a free one)")
    parser.add_argument("--seed", type=int, default=0, help="seed for ids and prices")
    parser.add_argument(
        "--token-lifetime",
        type=int,
        default=3600,
        metavar="S",
        help="expires_in of bearer tokens, in seconds",
    )
    parser.add_argument(
        "--access-log", action="store_true", help="print one line per request served"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="make prices dip so that a charging slot starts within minutes",
    )
    return parser


def devices(sb: Sandbox) -> list[tuple[str, str, str]]:
    """Return each demo device's label, ID, and what it is."""
    labels = {
        sb.device_id: "Battery ID",
        sb.ev_charger_id: "EV charger ID",
        sb.heat_pump_id: "Heat pump ID",
    }
    found = []
    for device_id in sb.device_ids:
        device = sb.flatpeak.devices[device_id]
        name = f"{device.manufacturer} {device.model_name}"
        spec = device.charge_spec()
        power = f", {spec.power_kw:g} kW" if spec else ""
        found.append((labels[device_id], device_id, f"{name}{power}"))
    return found


def banner(sb: Sandbox, base_url: str) -> str:
    """Return the text that tells a user which credentials to use."""
    lines = [
        f"Flatpeak + Flip sandbox listening on {base_url}",
        "",
        f"  Flatpeak API URL   {base_url}",
        f"  Account ID         {sb.account_id}",
        f"  API key (test)     {sb.api_key}",
        f"  API key (live)     {sb.live_api_key}",
        f"  Location ID        {sb.location_id}",
        *(f"  {label:<18} {device_id}  ({about})" for label, device_id, about in devices(sb)),
        "",
        f"  Flip API URL       {base_url}",
        f"  Flip API key       {sb.flip_api_key}",
        f"  Flip program ID    {sb.flip_program_id}",
        "",
        f"  Admin              {base_url}/_sandbox/state",
    ]
    if sb.demo:
        lines += [
            "  Demo               the battery's and the heat pump's first charging slots",
            "                     start in about 2 min, the EV charger's once its car is",
            "                     plugged in (18:00 to 07:30): each device has its own plan",
        ]
    return "\n".join(lines)


async def run(
    sb: Sandbox,
    host: str,
    port: int,
    stop: asyncio.Event,
    announce: Callable[[str], None],
    access_log: logging.Logger | None = None,
) -> None:
    """Serve until `stop` is set, announcing the credentials once listening."""
    async with sb.serve(host, port, access_log=access_log) as base_url:
        announce(banner(sb, base_url))
        await stop.wait()


async def _main(args: argparse.Namespace) -> None:
    sb = Sandbox(seed=args.seed, demo=args.demo, token_lifetime_s=args.token_lifetime)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)

    def announce(text: str) -> None:
        sys.stdout.write(f"{text}\n")
        sys.stdout.flush()

    access_log = None
    if args.access_log:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
        access_log = logging.getLogger("sandbox.access")
    try:
        await run(sb, args.host, args.port, stop, announce, access_log)
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and serve until interrupted."""
    args = build_parser().parse_args(argv)
    asyncio.run(_main(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
