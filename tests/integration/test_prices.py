"""Price sensors against the sandbox: what Flatpeak says energy costs, now and next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.energy.validate import (
    ENERGY_PRICE_UNIT_ERROR,
    ENERGY_PRICE_UNITS,
    ValidationIssues,
    _async_validate_price_entity,
)
from homeassistant.components.sensor import ATTR_STATE_CLASS, SensorStateClass
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.flatpeak.const import DOMAIN, STATUS_INTERVAL
from sandbox import Fault, Sandbox
from sandbox.tariff import PricePeriod, price_periods

from .common import MINUTE, PREFIX, at, device_of, session, setup_entry, state

NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
# By then the tariff status has been fetched again: its interval, jitter and a step.
STATUS_SOON = STATUS_INTERVAL.default_duration * 1.1 + timedelta(minutes=10)
IMPORT_PRICE = f"sensor.{PREFIX}_import_price"
NEXT_PRICE = f"sensor.{PREFIX}_next_import_price"
NEXT_CHANGE = f"sensor.{PREFIX}_next_import_price_change"
EXPORT_PRICE = f"sensor.{PREFIX}_export_price"
SAVINGS = f"sensor.{PREFIX}_planned_savings"


def sandbox_prices(
    sandbox: Sandbox, start: datetime, hours: float = 48, direction: str = "IMPORT"
) -> list[PricePeriod]:
    """The periods the sandbox's POST /prices answers from start on."""
    end = start + timedelta(hours=hours)
    return price_periods(sandbox.flatpeak.prices, start, end, direction, start)  # type: ignore[arg-type]


def price_at(periods: list[PricePeriod], moment: datetime) -> float:
    return next(p.value for p in periods if p.start <= moment < p.end)


def next_change(periods: list[PricePeriod], moment: datetime) -> PricePeriod:
    current = price_at(periods, moment)
    return next(p for p in periods if p.start > moment and p.value != current)


async def advance(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, until: datetime, step: timedelta
) -> None:
    """Let time pass in steps up to until, running every timer that falls due."""
    while datetime.now(UTC) < until:
        await at(hass, freezer, min(datetime.now(UTC) + step, until))


async def test_prices_now_and_next_are_what_flatpeak_says(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    mock_config_entry: MockConfigEntry,
) -> None:
    freezer.move_to(NOW)
    await setup_entry(hass, mock_config_entry)
    periods = sandbox_prices(sandbox, NOW)
    change = next_change(periods, NOW)

    assert float(state(hass, IMPORT_PRICE)) == price_at(periods, NOW)
    assert float(state(hass, NEXT_PRICE)) == change.value
    assert state(hass, NEXT_CHANGE) == change.start.isoformat()
    export = sandbox_prices(sandbox, NOW, direction="EXPORT")
    assert float(state(hass, EXPORT_PRICE)) == price_at(export, NOW)
    # `<currency>/kWh`: what the Energy dashboard takes as a price of energy.
    for entity_id in (IMPORT_PRICE, NEXT_PRICE, EXPORT_PRICE):
        attributes = hass.states.get(entity_id).attributes  # type: ignore[union-attr]
        assert attributes[ATTR_UNIT_OF_MEASUREMENT] == "GBP/kWh"
    price = hass.states.get(IMPORT_PRICE)
    assert price.attributes[ATTR_STATE_CLASS] == SensorStateClass.MEASUREMENT  # type: ignore[union-attr]


async def test_the_energy_dashboard_accepts_the_import_price(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    mock_config_entry: MockConfigEntry,
) -> None:
    freezer.move_to(NOW)
    await setup_entry(hass, mock_config_entry)
    issues = ValidationIssues()

    # What the dashboard runs for a grid source's `entity_energy_price`.
    _async_validate_price_entity(
        hass, IMPORT_PRICE, issues, ENERGY_PRICE_UNITS, ENERGY_PRICE_UNIT_ERROR
    )

    assert issues.issues == {}


async def test_the_price_changes_at_the_period_edge_without_a_request(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    quiet_entry: MockConfigEntry,
) -> None:
    freezer.move_to(NOW)
    await setup_entry(hass, quiet_entry)
    periods = sandbox_prices(sandbox, NOW)
    first = next_change(periods, NOW)
    second = next_change(periods, first.start)
    calls = dict(sandbox.request_counts)

    await at(hass, freezer, first.start - timedelta(milliseconds=1))
    assert float(state(hass, IMPORT_PRICE)) == price_at(periods, NOW)
    assert state(hass, NEXT_CHANGE) == first.start.isoformat()
    await at(hass, freezer, first.start)
    assert float(state(hass, IMPORT_PRICE)) == first.value
    assert float(state(hass, NEXT_PRICE)) == second.value
    assert state(hass, NEXT_CHANGE) == second.start.isoformat()
    await at(hass, freezer, second.start)
    assert float(state(hass, IMPORT_PRICE)) == second.value

    # Edges cost no request at all.
    assert sandbox.request_counts == calls


async def test_no_export_price_without_an_export_tariff(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    mock_config_entry: MockConfigEntry,
) -> None:
    freezer.move_to(NOW)
    sandbox.set_tariff_status("commodity_export", "NOT_CONNECTED")
    await setup_entry(hass, mock_config_entry)

    assert hass.states.get(EXPORT_PRICE) is None
    entities = er.async_entries_for_config_entry(er.async_get(hass), mock_config_entry.entry_id)
    assert not [e for e in entities if e.unique_id.endswith("_export_price")]
    assert sandbox.request_counts["prices"] == 1  # the import prices only
    assert float(state(hass, IMPORT_PRICE)) == price_at(sandbox_prices(sandbox, NOW), NOW)

    # Connected later: the next tariff status (every 6 hours, ± a tenth) reloads
    # the entry, with export prices.
    sandbox.set_tariff_status("commodity_export", "CONNECTED")
    await advance(hass, freezer, NOW + STATUS_SOON, timedelta(minutes=5))

    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert device_of(mock_config_entry).export_prices is not None
    export = sandbox_prices(sandbox, datetime.now(UTC), direction="EXPORT")
    assert float(state(hass, EXPORT_PRICE)) == price_at(export, datetime.now(UTC))


async def test_cached_prices_are_served_through_an_outage_while_they_cover_now(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    mock_config_entry: MockConfigEntry,
) -> None:
    freezer.move_to(NOW)
    await setup_entry(hass, mock_config_entry)
    periods = sandbox_prices(sandbox, NOW)
    covered_until = periods[-1].end
    sandbox.reset_counts()
    sandbox.inject(Fault(route="prices", status=503, times=None))

    for hours in (1, 12, 30, 47):
        moment = NOW + timedelta(hours=hours, minutes=10)
        await advance(hass, freezer, moment, timedelta(minutes=30))
        assert float(state(hass, IMPORT_PRICE)) == price_at(periods, moment)
    assert sandbox.request_counts["prices"] > 0  # asked again, and refused

    await at(hass, freezer, covered_until - timedelta(milliseconds=1))
    assert float(state(hass, IMPORT_PRICE)) == periods[-1].value
    await at(hass, freezer, covered_until)
    assert state(hass, IMPORT_PRICE) == STATE_UNAVAILABLE
    assert state(hass, NEXT_PRICE) == STATE_UNAVAILABLE
    assert state(hass, EXPORT_PRICE) == STATE_UNAVAILABLE

    # Back within an interval of the prices once Flatpeak answers again.
    sandbox.clear_faults()
    await advance(hass, freezer, covered_until + timedelta(minutes=70), timedelta(minutes=5))
    moment = datetime.now(UTC)
    assert float(state(hass, IMPORT_PRICE)) == price_at(sandbox_prices(sandbox, moment), moment)


async def test_savings_against_charging_the_same_energy_now(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    quiet_entry: MockConfigEntry,
) -> None:
    freezer.move_to(NOW)
    energy_kwh, cost = 5.0, 0.5
    window = (NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    sandbox.set_schedule_override(
        [session(NOW, NOW + timedelta(hours=6), window, energy_wh=energy_kwh * 1000, cost=cost)]
    )
    await setup_entry(hass, quiet_entry)
    spec = sandbox.flatpeak.devices[sandbox.device_id].charge_spec()
    assert spec is not None
    power_kw = spec[1]

    # At full power from now on, the energy takes this long, drawn at each period's price.
    periods = sandbox_prices(sandbox, NOW)
    assert float(state(hass, IMPORT_PRICE)) == periods[0].value
    remaining, right_now = energy_kwh, 0.0
    for period in periods:
        drawn = min(remaining, (period.end - period.start) / timedelta(hours=1) * power_kw)
        right_now += drawn * period.value
        remaining -= drawn
        if remaining <= 0:
            break

    assert float(state(hass, SAVINGS)) == pytest.approx(right_now - cost)
    attributes = hass.states.get(SAVINGS).attributes  # type: ignore[union-attr]
    assert attributes[ATTR_UNIT_OF_MEASUREMENT] == "GBP"

    # Later, charging now would cost something else: the savings follow the prices.
    later = NOW + 30 * MINUTE
    await at(hass, freezer, later)
    remaining, right_now = energy_kwh, 0.0
    for period in (p for p in periods if p.end > later):
        start = max(period.start, later)
        drawn = min(remaining, (period.end - start) / timedelta(hours=1) * power_kw)
        right_now += drawn * period.value
        remaining -= drawn
        if remaining <= 0:
            break
    assert float(state(hass, SAVINGS)) == pytest.approx(right_now - cost)


async def test_an_export_tariff_disconnected_later_raises_no_repair(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    mock_config_entry: MockConfigEntry,
) -> None:
    freezer.move_to(NOW)
    await setup_entry(hass, mock_config_entry)
    sandbox.set_tariff_status("commodity_export", "NOT_CONNECTED")

    # The next tariff status shows the change: the export prices are asked for
    # again, and refused.
    await advance(hass, freezer, NOW + STATUS_SOON, timedelta(minutes=5))
    assert device_of(mock_config_entry).export_prices.error == "no_tariff_connected"  # type: ignore[union-attr]

    issues = {i.translation_key for i in ir.async_get(hass).issues.values() if i.domain == DOMAIN}
    assert "no_tariff_connected" not in issues


async def test_prices_are_fetched_again_when_the_tariff_changes(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    mock_config_entry: MockConfigEntry,
) -> None:
    freezer.move_to(NOW)
    await setup_entry(hass, mock_config_entry)
    data = device_of(mock_config_entry)
    sandbox.reset_counts()

    # The prices held cover the day ahead: checking them costs no request.
    await advance(hass, freezer, NOW + timedelta(hours=2), timedelta(minutes=5))
    assert sandbox.request_counts["prices"] == 0

    # Another import tariff: the next status shows it, and only its prices are asked for.
    name = "tariff_status.commodity_import.tariff.display_name"
    sandbox.inject(
        Fault(route="location_status", kind="wrong_type", field=name, value="Agile", times=None)
    )
    await advance(hass, freezer, NOW + STATUS_SOON, timedelta(minutes=5))
    assert sandbox.request_counts["location_status"] == 1
    assert sandbox.request_counts["prices"] == 1
    changed = data.status.last_success_time
    assert changed is not None
    assert data.import_prices.last_success_time is not None
    assert data.import_prices.last_success_time >= changed


async def test_a_tariff_problem_met_by_the_prices_checks_the_tariff_status(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sandbox: Sandbox,
    mock_config_entry: MockConfigEntry,
) -> None:
    freezer.move_to(NOW)
    await setup_entry(hass, mock_config_entry)
    data = device_of(mock_config_entry)
    freezer.tick(timedelta(minutes=20))  # past TARIFF_PROBLEM_RETRY
    sandbox.reset_counts()
    sandbox.inject(Fault(route="prices", status=422, code="no_price_data"))

    await data.import_prices.async_refresh_now()
    await hass.async_block_till_done(wait_background_tasks=True)

    assert data.import_prices.error == "no_price_data"
    assert sandbox.request_counts["location_status"] == 1
