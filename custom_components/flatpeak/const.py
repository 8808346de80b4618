"""Constants of the Flatpeak integration."""

from typing import Final

DOMAIN: Final = "flatpeak"
