"""Constants of the Flip dispatch: its subentry, its fields and their ranges."""

from __future__ import annotations

from typing import Final

from ...const import MINUTES, Option

# The subentry that holds a Flip dispatch, and its fields.
SUBENTRY_TYPE: Final = "flip_dispatch"
CONF_PROGRAM_ID: Final = "program_id"
CONF_TARGET_TYPE: Final = "target_type"
CONF_TARGET_IDS: Final = "target_ids"
CONF_AUTO_DISPATCH: Final = "auto_dispatch"

# Flip's guidance to manufacturers is to send commands 24 hours to 10 minutes
# ahead; a window shorter than a quarter of an hour is not worth a command.
MIN_LEAD_TIME: Final = Option("min_lead_time", 10, 0, 1440, MINUTES)
MIN_DURATION: Final = Option("min_duration", 15, 1, 1440, MINUTES)
# Optional: no default, the battery's own reserve then applies.
BACKUP_RESERVE: Final = Option("backup_reserve", 0, 0, 100)
