"""Timestamps as Dmart writes them: naive ISO times in the configured time zone."""

from datetime import datetime
from zoneinfo import ZoneInfo

_zone = ZoneInfo("UTC")


def set_timezone(name: str) -> None:
    """Use the time zone `name` (an IANA name such as `Asia/Baghdad`) for new timestamps."""
    global _zone
    _zone = ZoneInfo(name)


def now() -> datetime:
    """The current time in the configured zone, without zone information."""
    return datetime.now(_zone).replace(tzinfo=None)
