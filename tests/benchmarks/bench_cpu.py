"""Benchmark: CPU time to take in a week's schedule, and to list a week of calendar events.

One entry runs against the sandbox. A schedule of 7 days of 48 half-hour slots (one
session a day) is handed to the schedule coordinator as its fetch would hand it: parsed
by the API models from the wire document, set as the coordinator's data (the writer
writes every entity that reads the schedule, in one callback, building the plan of
`schedule.py` on the way, and sets its timer for the next instant). `time.process_time`
is read around that, until Home Assistant is idle again, with no request in it. Two schedules
alternate, so that every update changes the plan and the states. Then the
`calendar.get_events` action for the week is timed the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import json
import statistics
import time
from typing import Any

from homeassistant.components.calendar import DOMAIN as CALENDAR
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

from custom_components.flatpeak.api import SocSchedule
from custom_components.flatpeak.schedule import ChargingPlan
from sandbox import Sandbox
from tests.integration.common import device_of, session

from .common import entity_ids, load, make_entries, summary, write_result

DAYS = 7
SLOTS = 48
RUNS = 60
HALF_HOUR = timedelta(minutes=30)


def week(start: datetime, power_w: float) -> dict[str, Any]:
    """A `POST /schedules/soc` answer: DAYS sessions of SLOTS half-hour slots each."""
    sessions = []
    for day in range(DAYS):
        begin = start + timedelta(days=day)
        slots = [(begin + i * HALF_HOUR, begin + (i + 1) * HALF_HOUR) for i in range(SLOTS)]
        sessions.append(session(begin, begin + timedelta(days=1), *slots, power_w=power_w))
    return {
        "id": "sch_bench",
        "device_id": "dev_5b1d5a7e9c0f4e2a8d3b6c72",
        "location_id": "loc_5b1d5a7e9c0f4e2a8d3b6c73",
        "currency_code": "GBP",
        "live_mode": False,
        "data": sessions,
    }


def ms(seconds: list[float]) -> dict[str, Any]:
    return summary(s * 1000 for s in seconds)


async def test_cpu_per_update(
    hass: HomeAssistant, sandbox: Sandbox, entry_data: dict[str, Any]
) -> None:
    load_before = load()
    (entry,) = make_entries(entry_data, sandbox.location_id, [sandbox.device_id])
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    documents = [week(start, 5000), week(start + HALF_HOUR, 3600)]
    sandbox.set_schedule_override(documents[0]["data"])
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, "flatpeak", {})
    await hass.async_block_till_done()
    coordinator = device_of(entry).schedule
    (calendar,) = entity_ids(hass, [sandbox.device_id], "calendar", "charging_windows")
    listeners = sum(coordinator in e.reads for e in device_of(entry).writer._entities)

    # A fetch hands over a document freshly decoded from JSON.
    wires = [json.dumps(document) for document in documents]
    parse, plan, whole = [], [], []
    for run in range(RUNS):
        document = json.loads(wires[run % 2])
        began = time.process_time()
        schedule = SocSchedule.from_json(document)
        parsed = time.process_time()
        coordinator.async_set_updated_data(schedule)
        await hass.async_block_till_done()
        ended = time.process_time()
        parse.append(parsed - began)
        whole.append(ended - began)
        # The plan alone, on a schedule of its own (the coordinator keeps its plan).
        copy = SocSchedule.from_json(json.loads(wires[run % 2]))
        began = time.process_time()
        ChargingPlan(copy).next_slot_edge(datetime.now(UTC))
        plan.append(time.process_time() - began)
    slots = len(coordinator.plan.slots) if coordinator.plan else 0

    events, direct, count = [], [], 0
    week_start = datetime.now(UTC)
    for _ in range(RUNS):
        began = time.process_time()
        answer = await hass.services.async_call(
            CALENDAR,
            "get_events",
            {"entity_id": calendar, "start_date_time": week_start, "duration": {"days": 7}},
            blocking=True,
            return_response=True,
        )
        events.append(time.process_time() - began)
        count = len(answer[calendar]["events"]) if answer else 0
    entity = hass.data[CALENDAR].get_entity(calendar)
    for _ in range(RUNS):
        began = time.process_time()
        await entity.async_get_events(hass, week_start, week_start + timedelta(days=7))
        direct.append(time.process_time() - began)

    write_result(
        "cpu",
        {
            "days": DAYS,
            "slots_per_day": SLOTS,
            "slots": slots,
            "runs": RUNS,
            "schedule_listeners": listeners,
            "update_ms": ms(whole),
            "update_median_ms": statistics.median(whole) * 1000,
            "parse_ms": ms(parse),
            "plan_ms": ms(plan),
            "calendar_events": count,
            "calendar_action_ms": ms(events),
            "calendar_entity_ms": ms(direct),
            "load_before": load_before,
        },
    )
