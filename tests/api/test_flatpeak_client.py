"""The Flatpeak client against the sandbox, over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import logging
import socket
from typing import Any

import aiohttp
import pytest

from custom_components.flatpeak.api import (
    DEVICE_PAGE_LIMIT,
    FLATPEAK_API_VERSION,
    MAX_DEVICES,
    MAX_REFERENCE_ID_LENGTH,
    AuthenticationError,
    CommunicationError,
    DeviceType,
    FlatpeakClient,
    InvalidIdError,
    InvalidResponseError,
    NotFoundError,
    RateLimitError,
    RequestError,
    TariffDirection,
    TariffStatus,
)
from sandbox import Fault, Sandbox

from .conftest import NOW, FakeMonotonic


def counts(sandbox: Sandbox, *routes: str) -> tuple[int, ...]:
    return tuple(sandbox.request_counts.get(route, 0) for route in routes)


# Authentication


async def test_authenticate_returns_a_token(flatpeak: FlatpeakClient, sandbox: Sandbox) -> None:
    assert flatpeak.live_mode is None

    token = await flatpeak.authenticate()

    assert token.expires_in == sandbox.token_lifetime_s
    assert token.live_mode is False
    assert flatpeak.live_mode is False
    assert counts(sandbox, "login") == (1,)


async def test_a_live_key_is_in_live_mode(
    sandbox: Sandbox, base_url: str, session: aiohttp.ClientSession
) -> None:
    client = FlatpeakClient(session, sandbox.account_id, sandbox.live_api_key, base_url=base_url)
    assert (await client.authenticate()).live_mode is True


async def test_the_token_is_reused_until_it_is_due_for_renewal(
    flatpeak: FlatpeakClient, sandbox: Sandbox, monotonic: FakeMonotonic
) -> None:
    await flatpeak.get_device(sandbox.device_id)
    await flatpeak.get_location_status(sandbox.location_id)
    assert counts(sandbox, "login") == (1,)

    # Renewal is due at 90 % of the token's lifetime, before the sandbox would refuse it.
    monotonic.value += sandbox.token_lifetime_s * 0.9 - 1
    await flatpeak.get_device(sandbox.device_id)
    assert counts(sandbox, "login") == (1,)
    monotonic.value += 1
    await flatpeak.get_device(sandbox.device_id)
    assert counts(sandbox, "login", "device_get") == (2, 3)


async def test_a_refused_token_is_renewed_once_and_the_request_retried(
    flatpeak: FlatpeakClient, sandbox: Sandbox
) -> None:
    await flatpeak.get_device(sandbox.device_id)
    sandbox.expire_tokens()

    device = await flatpeak.get_device(sandbox.device_id)

    assert device.id == sandbox.device_id
    assert counts(sandbox, "login", "device_get") == (2, 3)


async def test_a_revoked_key_fails_after_one_renewal_without_a_storm(
    flatpeak: FlatpeakClient, sandbox: Sandbox
) -> None:
    await flatpeak.get_device(sandbox.device_id)
    sandbox.revoke_key(sandbox.api_key)
    sandbox.expire_tokens()

    with pytest.raises(AuthenticationError) as caught:
        await flatpeak.get_device(sandbox.device_id)

    assert caught.value.status == 401
    assert counts(sandbox, "login", "device_get") == (2, 2)


async def test_forbidden_is_not_retried(flatpeak: FlatpeakClient, sandbox: Sandbox) -> None:
    sandbox.inject(Fault(route="device_get", status=403, code="forbidden"))

    with pytest.raises(AuthenticationError) as caught:
        await flatpeak.get_device(sandbox.device_id)

    assert (caught.value.status, caught.value.code) == (403, "forbidden")
    assert counts(sandbox, "login", "device_get") == (1, 1)


async def test_wrong_credentials_are_an_authentication_error(
    sandbox: Sandbox, base_url: str, session: aiohttp.ClientSession
) -> None:
    secret = "sk_test_" + "0" * 24
    client = FlatpeakClient(session, sandbox.account_id, secret, base_url=base_url)

    with pytest.raises(AuthenticationError) as caught:
        await client.get_device(sandbox.device_id)

    assert secret not in str(caught.value)
    assert secret not in repr(client)
    assert caught.value.service == "Flatpeak"


def test_the_account_id_is_checked(session: aiohttp.ClientSession) -> None:
    with pytest.raises(InvalidIdError):
        FlatpeakClient(session, "dev_123", "sk_test_x")


# Devices


async def test_get_device(flatpeak: FlatpeakClient, sandbox: Sandbox) -> None:
    device = await flatpeak.get_device(sandbox.device_id)

    assert device.id == sandbox.device_id
    assert device.type is DeviceType.BATTERY_SYSTEM
    assert device.locations == (sandbox.location_id,)
    assert device.battery is not None
    assert device.battery.capacity_kwh
    assert device.battery.charge_power_kw


async def test_an_unknown_device_is_not_found(flatpeak: FlatpeakClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        await flatpeak.get_device("dev_000000000000000000000000")
    assert caught.value.status == 404


async def test_create_device(flatpeak: FlatpeakClient, sandbox: Sandbox) -> None:
    device = await flatpeak.create_device(
        reference_id="home-battery",
        device_type=DeviceType.BATTERY_SYSTEM,
        location_ids=[sandbox.location_id],
        manufacturer="Nova Systems",
        model_name="Pico Ultimate",
        capacity_kwh=9.5,
        charge_power_kw=3.6,
        discharge_power_kw=3.6,
    )

    assert device.id.startswith("dev_")
    assert device.locations == (sandbox.location_id,)
    assert device.manufacturer == "Nova Systems"
    fetched = await flatpeak.get_device(device.id)
    assert fetched.battery is not None
    assert fetched.battery.capacity_kwh == 9.5
    assert fetched.battery.charge_power_kw == 3.6


def add_devices(sandbox: Sandbox, count: int, reference_id: str = "fleet") -> list[str]:
    """Register count batteries at the sandbox's location, straight into its store."""
    body = {
        "reference_id": reference_id,
        "type": "BATTERY_SYSTEM",
        "locations": [sandbox.location_id],
        "properties": {"capacity_kwh": 10, "power_rating_import_kwh": 3.6},
    }
    return [sandbox.flatpeak._add_device(body).id for _ in range(count)]


async def test_list_devices_of_the_account(flatpeak: FlatpeakClient, sandbox: Sandbox) -> None:
    listed = await flatpeak.list_devices()

    assert [device.id for device in listed.devices] == [
        sandbox.heat_pump_id,
        sandbox.ev_charger_id,
        sandbox.device_id,
    ]
    assert [device.type for device in listed.devices] == [
        DeviceType.OTHER,
        DeviceType.EV_CHARGER,
        DeviceType.BATTERY_SYSTEM,
    ]
    heat_pump, charger, battery = listed.devices
    assert heat_pump.heat_pump is not None
    assert heat_pump.heat_pump.thermal_storage_litres == 200
    assert charger.ev_charger is not None
    assert charger.ev_charger.max_power_kw == 7.4
    assert battery.battery is not None
    assert battery == await flatpeak.get_device(sandbox.device_id)
    assert (listed.truncated, listed.pages) == (False, 1)
    assert counts(sandbox, "device_list") == (1,)


async def test_list_devices_follows_every_page(flatpeak: FlatpeakClient, sandbox: Sandbox) -> None:
    added = add_devices(sandbox, 2 * DEVICE_PAGE_LIMIT + 50)

    listed = await flatpeak.list_devices()

    newest_first = [*added[::-1], sandbox.heat_pump_id, sandbox.ev_charger_id, sandbox.device_id]
    assert [device.id for device in listed.devices] == newest_first
    assert (listed.truncated, listed.pages) == (False, 3)
    assert counts(sandbox, "device_list", "login") == (3, 1)


async def test_list_devices_up_to_a_count(flatpeak: FlatpeakClient, sandbox: Sandbox) -> None:
    add_devices(sandbox, 150)

    few = await flatpeak.list_devices(max_devices=5)
    assert len(few.devices) == 5
    assert (few.truncated, few.pages) == (True, 1)
    # Exactly as many as there are: nothing was left out.
    every = await flatpeak.list_devices(max_devices=153)
    assert len(every.devices) == 153
    assert (every.truncated, every.pages) == (False, 2)
    assert few.devices == every.devices[:5]


async def test_list_devices_by_reference_id(flatpeak: FlatpeakClient, sandbox: Sandbox) -> None:
    odd = "Garage & drive/2 ü?x=1#y"
    (garage,) = add_devices(sandbox, 1, reference_id=odd)
    add_devices(sandbox, 3)

    charger = await flatpeak.list_devices(reference_id="SANDBOX-EV-CHARGER-1")
    found = await flatpeak.list_devices(reference_id=odd)
    nothing = await flatpeak.list_devices(reference_id="nobody")

    assert [device.id for device in charger.devices] == [sandbox.ev_charger_id]
    assert [device.id for device in found.devices] == [garage]
    assert found.devices[0].reference_id == odd
    assert (nothing.devices, nothing.truncated) == ((), False)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"reference_id": ""}, "non-empty"),
        ({"reference_id": "  "}, "non-empty"),
        ({"reference_id": "x" * (MAX_REFERENCE_ID_LENGTH + 1)}, "at most"),
        ({"max_devices": 0}, "max_devices"),
        ({"max_devices": MAX_DEVICES + 1}, "max_devices"),
    ],
)
async def test_list_devices_checks_its_input_before_sending(
    flatpeak: FlatpeakClient, sandbox: Sandbox, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await flatpeak.list_devices(**arguments)
    assert sum(sandbox.request_counts.values()) == 0


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("", [], ""),
        ("", "devices", ""),
        ("object", "device", "object"),
        ("data", None, "data"),
        ("data", {}, "data"),
        ("has_more", "?", "has_more"),
        ("data.1.id", None, "data[1].id"),
        ("data.0.live_mode", 3, "data[0].live_mode"),
    ],
)
async def test_a_page_that_cannot_be_read(
    flatpeak: FlatpeakClient, sandbox: Sandbox, field: str, value: Any, path: str
) -> None:
    kind = "drop_field" if value is None else "wrong_type"
    sandbox.inject(Fault(route="device_list", kind=kind, field=field, value=value))

    with pytest.raises(InvalidResponseError) as caught:
        await flatpeak.list_devices()

    assert caught.value.path == path
    assert str(caught.value).endswith("(page 1 of GET /devices)")


async def test_an_unreadable_device_on_a_later_page(
    flatpeak: FlatpeakClient, sandbox: Sandbox
) -> None:
    add_devices(sandbox, DEVICE_PAGE_LIMIT)
    # The first page comes with trailing spaces (read as meant); the second loses an ID.
    sandbox.inject(Fault(route="device_list", kind="trailing_space"))
    sandbox.inject(Fault(route="device_list", kind="drop_field", field="data.2.id"))

    with pytest.raises(InvalidResponseError, match=r"data\[2\]\.id.*page 2 of GET /devices"):
        await flatpeak.list_devices()
    assert counts(sandbox, "device_list") == (2,)


async def test_a_failing_page_ends_the_listing(flatpeak: FlatpeakClient, sandbox: Sandbox) -> None:
    add_devices(sandbox, DEVICE_PAGE_LIMIT)
    sandbox.inject(Fault(route="device_list", kind="trailing_space"))
    sandbox.inject(Fault(route="device_list", status=429, retry_after="5"))

    with pytest.raises(RateLimitError):
        await flatpeak.list_devices()
    assert counts(sandbox, "device_list") == (2,)


async def test_a_refused_token_is_renewed_while_listing(
    flatpeak: FlatpeakClient, sandbox: Sandbox
) -> None:
    await flatpeak.authenticate()
    sandbox.expire_tokens()

    listed = await flatpeak.list_devices(reference_id="SANDBOX-HEAT-PUMP-1")

    assert [device.id for device in listed.devices] == [sandbox.heat_pump_id]
    assert counts(sandbox, "login", "device_list") == (2, 2)


async def test_create_device_rejected_by_the_api(
    flatpeak: FlatpeakClient, sandbox: Sandbox
) -> None:
    with pytest.raises(RequestError) as caught:
        await flatpeak.create_device(
            reference_id="x", device_type="TOASTER", location_ids=[sandbox.location_id]
        )
    assert caught.value.status == 422
    assert caught.value.code


async def test_submit_device_state_changes_the_schedule(
    flatpeak: FlatpeakClient, sandbox: Sandbox
) -> None:
    before = await flatpeak.schedule_by_soc(sandbox.device_id, sandbox.location_id, 24)

    record = await flatpeak.submit_device_state(
        sandbox.device_id,
        state_of_charge_percent=80,
        target_state_of_charge_percent=90,
        time=NOW,
        location_id=sandbox.location_id,
        record_reference_id="soc-1",
        battery_power_kw=0,
        energy_remaining_kwh=10.8,
        backup_reserve_percent=10,
    )
    after = await flatpeak.schedule_by_soc(sandbox.device_id, sandbox.location_id, 24)

    assert record.id.startswith("dsr_")
    assert record.device_id == sandbox.device_id
    assert before.sessions[0].energy_wh is not None
    assert after.sessions[0].energy_wh is not None
    assert after.sessions[0].energy_wh < before.sessions[0].energy_wh


@pytest.mark.parametrize(
    ("soc", "target", "when"),
    [(-1, 90, NOW), (20, 101, NOW), (20, 90, datetime(2026, 3, 28, 12))],  # noqa: DTZ001
)
async def test_submit_device_state_checks_its_input_before_sending(
    flatpeak: FlatpeakClient, sandbox: Sandbox, soc: float, target: float, when: datetime
) -> None:
    with pytest.raises(ValueError, match="between 0 and 100|timezone-aware"):
        await flatpeak.submit_device_state(
            sandbox.device_id,
            state_of_charge_percent=soc,
            target_state_of_charge_percent=target,
            time=when,
        )
    assert sandbox.request_counts.get("device_state", 0) == 0


# Locations, schedules, prices


async def test_location_status(flatpeak: FlatpeakClient, sandbox: Sandbox) -> None:
    status = await flatpeak.get_location_status(sandbox.location_id)

    assert status.id == sandbox.location_id
    assert status.commodity_import is not None
    assert status.commodity_import.status is TariffStatus.CONNECTED
    assert status.commodity_export is not None


async def test_schedule_by_soc(flatpeak: FlatpeakClient, sandbox: Sandbox) -> None:
    schedule = await flatpeak.schedule_by_soc(sandbox.device_id, sandbox.location_id, 24)

    assert schedule.device_id == sandbox.device_id
    assert schedule.currency_code == "GBP"
    assert schedule.timezone == "Europe/London"
    assert schedule.sessions
    for session in schedule.sessions:
        assert session.slots
        assert session.energy_wh
        for slot in session.slots:
            assert session.start <= slot.start < slot.end <= session.end
            assert slot.power_w
    assert schedule.sessions[0].end <= NOW + timedelta(hours=24)


async def test_schedule_without_a_horizon(flatpeak: FlatpeakClient, sandbox: Sandbox) -> None:
    schedule = await flatpeak.schedule_by_soc(sandbox.device_id, sandbox.location_id)
    assert schedule.sessions


async def test_prices(flatpeak: FlatpeakClient, sandbox: Sandbox) -> None:
    prices = await flatpeak.get_prices(sandbox.location_id, start=NOW, end=NOW + timedelta(hours=3))
    exports = await flatpeak.get_prices(
        sandbox.location_id,
        start=NOW,
        end=NOW + timedelta(hours=3),
        direction=TariffDirection.EXPORT,
    )

    assert len(prices.periods) == 6
    assert prices.periods[0].start == NOW
    assert prices.periods[-1].end == NOW + timedelta(hours=3)
    assert all(period.value > 0 for period in prices.periods)
    assert exports.direction is TariffDirection.EXPORT


async def test_prices_need_a_period(flatpeak: FlatpeakClient, sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="after its start"):
        await flatpeak.get_prices(sandbox.location_id, start=NOW, end=NOW)


# Errors


@pytest.mark.parametrize(
    "code", ["no_tariff_connected", "pending_connect", "no_price_data", "account_disabled"]
)
async def test_api_error_codes(flatpeak: FlatpeakClient, sandbox: Sandbox, code: str) -> None:
    sandbox.inject(Fault(route="schedule_soc", status=422, code=code, message="Explained"))

    with pytest.raises(RequestError) as caught:
        await flatpeak.schedule_by_soc(sandbox.device_id, sandbox.location_id, 24)

    assert (caught.value.status, caught.value.code) == (422, code)
    assert str(caught.value) == f"Flatpeak answered HTTP 422 ({code}): Explained"


async def test_a_location_without_a_tariff(flatpeak: FlatpeakClient, sandbox: Sandbox) -> None:
    sandbox.set_tariff_status("commodity_import", "NOT_CONNECTED")

    with pytest.raises(RequestError) as caught:
        await flatpeak.schedule_by_soc(sandbox.device_id, sandbox.location_id, 24)

    assert caught.value.code == "no_tariff_connected"


async def test_server_errors(flatpeak: FlatpeakClient, sandbox: Sandbox) -> None:
    sandbox.inject(Fault(route="location_status", status=503, code="unavailable"))

    with pytest.raises(RequestError) as caught:
        await flatpeak.get_location_status(sandbox.location_id)

    assert (caught.value.status, caught.value.code) == (503, "unavailable")


@pytest.mark.parametrize(
    ("header", "expected"), [("30", 30.0), (None, None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)]
)
async def test_rate_limit(
    flatpeak: FlatpeakClient, sandbox: Sandbox, header: str | None, expected: float | None
) -> None:
    sandbox.inject(Fault(route="device_get", status=429, code="rate_limited", retry_after=header))

    with pytest.raises(RateLimitError) as caught:
        await flatpeak.get_device(sandbox.device_id)

    assert caught.value.retry_after == expected
    assert caught.value.status == 429
    assert counts(sandbox, "device_get") == (1,)


async def test_a_timeout_is_a_communication_error(
    sandbox: Sandbox, base_url: str, session: aiohttp.ClientSession
) -> None:
    client = FlatpeakClient(
        session, sandbox.account_id, sandbox.api_key, base_url=base_url, request_timeout=0.2
    )
    sandbox.inject(Fault(route="login", kind="timeout", delay_s=5))

    with pytest.raises(CommunicationError, match="did not answer GET /login in time"):
        await client.authenticate()


async def test_a_dropped_connection_is_a_communication_error(
    flatpeak: FlatpeakClient, sandbox: Sandbox
) -> None:
    # aiohttp retries an idempotent request once on a dropped keep-alive connection,
    # so a single drop is survived; a server that keeps dropping is an error.
    sandbox.inject(Fault(route="device_get", kind="disconnect", times=None))

    with pytest.raises(CommunicationError, match="Could not reach Flatpeak"):
        await flatpeak.get_device(sandbox.device_id)


async def test_a_closed_port_is_a_communication_error(
    session: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = FlatpeakClient(
        session, sandbox.account_id, sandbox.api_key, base_url=f"http://127.0.0.1:{port}"
    )
    with pytest.raises(CommunicationError):
        await client.authenticate()


async def test_malformed_json(flatpeak: FlatpeakClient, sandbox: Sandbox) -> None:
    sandbox.inject(Fault(route="location_status", kind="malformed_json"))

    with pytest.raises(InvalidResponseError, match="not JSON"):
        await flatpeak.get_location_status(sandbox.location_id)


async def test_trailing_spaces_and_kwh_units_are_understood(
    flatpeak: FlatpeakClient, sandbox: Sandbox
) -> None:
    plain = await flatpeak.schedule_by_soc(sandbox.device_id, sandbox.location_id, 24)
    sandbox.inject(Fault(route="schedule_soc", kind="kwh_units"))
    in_kwh = await flatpeak.schedule_by_soc(sandbox.device_id, sandbox.location_id, 24)
    sandbox.inject(Fault(route="schedule_soc", kind="trailing_space"))
    spaced = await flatpeak.schedule_by_soc(sandbox.device_id, sandbox.location_id, 24)
    sandbox.inject(Fault(route="location_status", kind="trailing_space"))
    status = await flatpeak.get_location_status(sandbox.location_id)

    assert in_kwh.sessions == plain.sessions
    assert spaced.sessions == plain.sessions
    assert status.commodity_import is not None
    assert status.commodity_import.status is TariffStatus.CONNECTED


async def test_missing_and_mistyped_fields_name_their_path(
    flatpeak: FlatpeakClient, sandbox: Sandbox
) -> None:
    sandbox.inject(Fault(route="schedule_soc", kind="drop_field", field="data.0.end_time"))
    with pytest.raises(InvalidResponseError) as dropped:
        await flatpeak.schedule_by_soc(sandbox.device_id, sandbox.location_id, 24)
    sandbox.inject(
        Fault(route="schedule_soc", kind="wrong_type", field="data.0.schedule.0.power", value=5)
    )
    with pytest.raises(InvalidResponseError) as mistyped:
        await flatpeak.schedule_by_soc(sandbox.device_id, sandbox.location_id, 24)

    assert dropped.value.path == "data[0].end_time"
    assert mistyped.value.path == "data[0].schedule[0].power"


@pytest.mark.parametrize(
    "bad_id", ["../admin", "dev_../../x", "dev_1?x=1", "dev_", "", "DEV_1", "dev 1", "dev_1/state"]
)
async def test_ids_are_checked_before_any_request(
    flatpeak: FlatpeakClient, sandbox: Sandbox, bad_id: str
) -> None:
    with pytest.raises(InvalidIdError):
        await flatpeak.get_device(bad_id)
    with pytest.raises(InvalidIdError):
        await flatpeak.schedule_by_soc(sandbox.device_id, bad_id)
    assert sandbox.request_counts == {} or sum(sandbox.request_counts.values()) == 0


async def test_ids_must_be_of_the_right_kind(flatpeak: FlatpeakClient, sandbox: Sandbox) -> None:
    with pytest.raises(InvalidIdError, match="dev_"):
        await flatpeak.get_device(sandbox.location_id)
    with pytest.raises(InvalidIdError):
        await flatpeak.create_device(
            reference_id="x", device_type=DeviceType.OTHER, location_ids=["dev_1"]
        )
    with pytest.raises(InvalidIdError):
        await flatpeak.submit_device_state(
            sandbox.device_id,
            state_of_charge_percent=1,
            target_state_of_charge_percent=2,
            time=NOW,
            location_id="acc_1",
        )


async def test_the_api_version_is_pinned(
    flatpeak: FlatpeakClient, sandbox: Sandbox, base_url: str, session: aiohttp.ClientSession
) -> None:
    await flatpeak.get_device(sandbox.device_id)
    assert FLATPEAK_API_VERSION == "2026-08-01.busbar"

    old = FlatpeakClient(
        session,
        sandbox.account_id,
        sandbox.api_key,
        base_url=base_url,
        api_version="2024-08-24.zero",
    )
    with pytest.raises(RequestError) as caught:
        await old.authenticate()
    assert caught.value.code == "api_version_not_supported"


async def test_no_secret_reaches_the_log(
    flatpeak: FlatpeakClient, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = await flatpeak.authenticate()
    await flatpeak.get_device(sandbox.device_id)
    sandbox.expire_tokens()
    await flatpeak.get_location_status(sandbox.location_id)
    sandbox.inject(Fault(route="device_get", status=429))
    with pytest.raises(RateLimitError):
        await flatpeak.get_device(sandbox.device_id)

    assert "GET /devices/" in caplog.text
    for secret in (sandbox.api_key, token.bearer_token):
        assert secret not in caplog.text


@pytest.mark.parametrize(
    "url",
    [
        "http://api.flatpeak.com",
        "ftp://127.0.0.1",
        "https://user:pw@api.flatpeak.com",
        "https://api.flatpeak.com/?x=1",
        "not a url",
    ],
)
def test_unsafe_base_urls_are_refused(session: aiohttp.ClientSession, url: str) -> None:
    with pytest.raises(ValueError, match="URL"):
        FlatpeakClient(session, "acc_1", "sk_test_1", base_url=url)


@pytest.mark.parametrize(
    "url",
    ["https://api.flatpeak.com/", "http://localhost:8080", "http://[::1]:80", "http://127.1.2.3"],
)
def test_https_or_loopback_urls_are_accepted(session: aiohttp.ClientSession, url: str) -> None:
    client = FlatpeakClient(session, "acc_1", "sk_test_1", base_url=url)
    assert client.base_url == url.rstrip("/")
    assert "sk_test_1" not in repr(client)


def test_timestamps_are_sent_in_utc_and_must_be_aware() -> None:
    from zoneinfo import ZoneInfo

    from custom_components.flatpeak.api import utc_text

    assert utc_text(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00Z"
    summer = datetime(2026, 7, 1, 9, 30, tzinfo=ZoneInfo("Europe/London"))
    assert utc_text(summer) == "2026-07-01T08:30:00Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        utc_text(datetime(2026, 1, 1))  # noqa: DTZ001


async def test_an_error_page_that_is_not_json(flatpeak: FlatpeakClient, sandbox: Sandbox) -> None:
    sandbox.inject(Fault(route="location_status", kind="html_error", status=502))

    with pytest.raises(RequestError) as caught:
        await flatpeak.get_location_status(sandbox.location_id)

    assert str(caught.value) == "Flatpeak answered HTTP 502"
    assert (caught.value.status, caught.value.code) == (502, None)
