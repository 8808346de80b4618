"""A local simulator of the Flatpeak API and the Flip Utility API.

It stands in for both clouds in tests, the demo and the benchmarks, over real
HTTP, on one aiohttp server: Flatpeak paths at the root (`/login`,
`/schedules/soc/{device_id}`...), Flip paths under `/v1`, admin controls under
`/_sandbox`. It imports nothing from Home Assistant or the integration.

Credentials and ids are constants, the same on every run:

    Flatpeak account ID   acc_5b1d5a7e9c0f4e2a8d3b6c71
    API key (test mode)   sk_test_5f2c9e1b7a3d4c68b0e1f2a3
    API key (live mode)   sk_live_8c4e2a6f1b9d3e57a0c2d4f6
    Demo battery          dev_5b1d5a7e9c0f4e2a8d3b6c72  (Nova Systems Pico Ultimate,
                          BATTERY_SYSTEM, 13.5 kWh, charges at 5 kW, ready by 07:00)
    Demo EV charger       dev_5b1d5a7e9c0f4e2a8d3b6c77  (Voltline Sprint 7, EV_CHARGER,
                          7.4 kW, a 60 kWh car plugged in from 18:00 to 07:30)
    Demo heat pump        dev_5b1d5a7e9c0f4e2a8d3b6c78  (Borealis Heat Aurora 6, OTHER
                          with a heat_pump block, 3 kW, a 200-litre hot-water
                          store hot by 06:30 and by 17:30)
    Demo location         loc_5b1d5a7e9c0f4e2a8d3b6c73  (London, Europe/London, GBP;
                          all three devices are there)
    Flip API key          fl_5b1d5a7e9c0f_4e2a8d3b6c71e5a09f1c2d3e
    Flip program ID       prg-sandbox-home

Each device has its own schedule by state of charge, computed from its own
state (`PUT /devices/{id}/state`; until one is sent the battery is at 20 % of
90 %, the car at 35 % of 80 %, the store at 25 % of 100 %): other session
bounds, power and energy for each. `Sandbox.set_schedule_override` and
`Sandbox.shift_schedule` apply to every device, or to one with `device_id`.

Ids created while running (new devices, schedules, Flip events) are derived
from the seed, so a run with the same seed and the same requests gives the
same ids. Bearer tokens are random.

Use from Python:

    sb = Sandbox(seed=1, now=datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    sb.inject(Fault(route="schedule_soc", status=429, retry_after="30"))
    sb.flip.list_lag_s = 240  # Flip lists a new event only 4 minutes later
    async with sb.serve() as base_url:
        ...

or from a shell: `python -m sandbox --port 8765 --demo`.
"""

from .app import RecordedRequest, Sandbox
from .clock import Clock
from .faults import FLATPEAK_ROUTES, FLIP_ROUTES, KINDS, Fault
from .flatpeak import (
    ACCOUNT_ID,
    API_KEY,
    DEFAULT_VERSION,
    DEMO_DEVICE_IDS,
    DEVICE_ID,
    EV_CHARGER_ID,
    HEAT_PUMP_ID,
    KNOWN_VERSIONS,
    LIVE_API_KEY,
    LOCATION_ID,
)
from .flip import FLIP_API_KEY, FLIP_PROGRAM_ID

__all__ = [
    "ACCOUNT_ID",
    "API_KEY",
    "DEFAULT_VERSION",
    "DEMO_DEVICE_IDS",
    "DEVICE_ID",
    "EV_CHARGER_ID",
    "FLATPEAK_ROUTES",
    "FLIP_API_KEY",
    "FLIP_PROGRAM_ID",
    "FLIP_ROUTES",
    "HEAT_PUMP_ID",
    "KINDS",
    "KNOWN_VERSIONS",
    "LIVE_API_KEY",
    "LOCATION_ID",
    "Clock",
    "Fault",
    "RecordedRequest",
    "Sandbox",
]
