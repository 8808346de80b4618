"""Helpers shared by the tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_json(name: str) -> Any:
    """Return a fresh copy of a JSON fixture, e.g. `fixture_json("flatpeak/device.json")`."""
    return copy.deepcopy(json.loads((FIXTURES / name).read_text()))
