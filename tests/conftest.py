"""Shared fixtures.

The project's `custom_components` package is imported here, before the
`hass` fixture runs, so that Home Assistant finds this integration and not
the test plugin's own `custom_components` folder.
"""

from __future__ import annotations

import custom_components  # noqa: F401
