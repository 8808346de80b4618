"""Callbacks are called one by one: one failing neither stops the others nor floods the log."""

from __future__ import annotations

import logging

import pytest

from custom_components.flatpeak.listeners import ListenerGuard, Listeners


class Update:
    """A callback that can be made to fail."""

    def __init__(self) -> None:
        self.broken = False
        self.calls = 0

    def __call__(self) -> None:
        if self.broken:
            raise RuntimeError("broken")
        self.calls += 1


def errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_each_callback_is_called_whatever_the_others_do(caplog: pytest.LogCaptureFixture) -> None:
    first, second = Update(), Update()
    guard = ListenerGuard("schedule")
    first.broken = True

    for _ in range(3):
        guard.call("sensor.first", first)
        guard.call("sensor.second", second)

    assert (first.calls, second.calls) == (0, 3)
    # Logged once, with the name and the traceback, not at every call.
    (record,) = errors(caplog)
    assert "sensor.first" in record.getMessage()
    assert "schedule" in record.getMessage()
    assert record.exc_info is not None

    # It works again: that is said once, and a later failure is logged again.
    caplog.clear()
    first.broken = False
    guard.call("sensor.first", first)
    guard.call("sensor.first", first)
    assert first.calls == 2
    assert [r.getMessage() for r in caplog.records if "again" in r.getMessage()] == [
        "Updating sensor.first from the Flatpeak schedule works again"
    ]
    first.broken = True
    guard.call("sensor.first", first)
    assert len(errors(caplog)) == 1


def test_listeners_are_told_in_turn_and_can_stop(caplog: pytest.LogCaptureFixture) -> None:
    listeners = Listeners("dispatch")
    first, second = Update(), Update()
    first.broken = True
    stop = listeners.add(first)
    listeners.add(second)

    listeners.notify()
    stop()
    listeners.notify()

    assert (first.calls, second.calls) == (0, 2)
    (record,) = errors(caplog)
    assert "Update" in record.getMessage()
