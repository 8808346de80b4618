"""Shared fixtures.

The project's `custom_components` package is imported here, before the
`hass` fixture runs, so that Home Assistant finds this integration and not
the test plugin's own `custom_components` folder.
"""

from __future__ import annotations

from collections.abc import Iterator
import logging
from pathlib import Path

from homeassistant.const import MAJOR_VERSION, MINOR_VERSION
import pytest
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion
from syrupy.location import PyTestLocation

import custom_components  # noqa: F401


class VersionedSnapshotExtension(HomeAssistantSnapshotExtension):
    """Home Assistant's snapshots, kept per Home Assistant version.

    Registry entries and states gain fields between releases, so each version
    the tests run on has its own snapshots, each reviewed and committed.
    """

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        """Put snapshots in `snapshots/<major>.<minor>/` beside the test file."""
        folder = Path(test_location.filepath).parent / "snapshots"
        return str(folder / f"{MAJOR_VERSION}.{MINOR_VERSION}")


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots with Home Assistant's serializer (stable ids, registry entries, states)."""
    return snapshot.use_extension(VersionedSnapshotExtension)


# How Home Assistant words a use of something deprecated, or soon removed.
DEPRECATION_MARKERS = (
    "Detected that custom integration",
    "Detected code that",
    "is deprecated",
    "will stop working",
)


@pytest.fixture(autouse=True)
def no_deprecated_use(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail a test in which anything warns of a deprecated use, on any Home Assistant version.

    Home Assistant reports such uses by custom integrations in the log, not as
    Python warnings, so the log of each test is read.
    """
    yield
    records = [
        *caplog.get_records("setup"),
        *caplog.get_records("call"),
        *caplog.records,
    ]
    found = sorted(
        {
            record.getMessage()
            for record in records
            if record.levelno >= logging.WARNING
            and any(marker in record.getMessage() for marker in DEPRECATION_MARKERS)
        }
    )
    if found:
        pytest.fail("Deprecated use reported:\n" + "\n".join(found), pytrace=False)
