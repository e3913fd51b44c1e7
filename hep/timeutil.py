"""The one time source and time-zone conversions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    """Now, as an aware UTC datetime. Views call this; services take `now` as an argument."""
    return datetime.now(UTC)


def local_date(moment: datetime, tz: str) -> date:
    return moment.astimezone(ZoneInfo(tz)).date()


def local_datetime(moment: datetime, tz: str) -> datetime:
    return moment.astimezone(ZoneInfo(tz))
