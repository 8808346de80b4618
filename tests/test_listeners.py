"""Listeners are told one by one: one failing neither stops the others nor floods the log."""

from __future__ import annotations

import logging

from homeassistant.helpers.entity import Entity
import pytest

from custom_components.flatpeak.listeners import ListenerGuard, listener_name


class Sensor(Entity):
    """An entity whose update can be made to fail."""

    def __init__(self, entity_id: str) -> None:
        self.entity_id = entity_id
        self.broken = False
        self.updates = 0

    def update_state(self) -> None:
        if self.broken:
            raise RuntimeError("broken")
        self.updates += 1


def errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_each_listener_is_told_whatever_the_others_do(caplog: pytest.LogCaptureFixture) -> None:
    first, second = Sensor("sensor.first"), Sensor("sensor.second")
    guard = ListenerGuard("schedule")
    first.broken = True

    for _ in range(3):
        guard.notify([first.update_state, second.update_state])

    assert (first.updates, second.updates) == (0, 3)
    # Logged once, with the entity and the traceback, not at every call.
    (record,) = errors(caplog)
    assert "sensor.first" in record.getMessage()
    assert "schedule" in record.getMessage()
    assert record.exc_info is not None

    # It works again: that is said once, and a later failure is logged again.
    caplog.clear()
    first.broken = False
    guard.notify([first.update_state, second.update_state])
    guard.notify([first.update_state, second.update_state])
    assert first.updates == 2
    assert [r.getMessage() for r in caplog.records if "again" in r.getMessage()] == [
        "Updating sensor.first from the Flatpeak schedule works again"
    ]
    first.broken = True
    guard.notify([first.update_state])
    assert len(errors(caplog)) == 1


def test_listeners_are_named_by_entity_or_function() -> None:
    def plain() -> None:
        """Stand for a listener that is a function."""

    class Owner:
        def changed(self) -> None:
            """Stand for a listener that is a method."""

    assert listener_name(Sensor("sensor.x").update_state) == "sensor.x"
    assert listener_name(plain).endswith("plain")
    assert listener_name(Owner().changed) == "Owner.changed"
