"""Billing facts: CMS 8-minute rule for timed codes, and RTM (US, CY2026) days and minutes.

The app reports these for the clinic to check; it makes no billing claim.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

UNIT_MINUTES = 15
MIN_MINUTES_FOR_A_UNIT = 8

RTM_PERIOD_DAYS = 30
RTM_SETUP = "98975"  # once per episode
RTM_DEVICE_16_TO_30_DAYS = "98977"  # musculoskeletal device supply
RTM_DEVICE_2_TO_15_DAYS = "98985"  # new in 2026
RTM_MANAGEMENT_10_MIN = "98979"  # new in 2026
RTM_MANAGEMENT_20_MIN = "98980"
RTM_MANAGEMENT_EACH_FURTHER_20 = "98981"


# --- CMS 8-minute rule -----------------------------------------------------------------------


@dataclass(frozen=True)
class UnitSplit:
    """Units for a visit: the total, and units per code (codes with no unit left out)."""

    total: int
    units: dict[str, int]


def units_for_minutes(minutes: int) -> int:
    """Billable units for total timed minutes: ⌊(m + 7) / 15⌋, and 0 below 8 minutes.

    8–22 = 1, 23–37 = 2, 38–52 = 3, 53–67 = 4, then +1 per 15. Source: CMS 8-minute rule; SPEC §5.
    """
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    if minutes < MIN_MINUTES_FOR_A_UNIT:
        return 0
    return (minutes + 7) // UNIT_MINUTES


def split_units(minutes_by_code: Mapping[str, int]) -> UnitSplit:
    """Split a visit's units across timed codes (97110, 97530).

    The total minutes set the units; each code first gets its whole 15-minute blocks, and the
    remaining units go to the codes with the most minutes left over (ties: lower code first).
    Source: CMS 8-minute rule; SPEC §5.
    """
    if any(minutes < 0 for minutes in minutes_by_code.values()):
        raise ValueError("minutes must not be negative")
    total = units_for_minutes(sum(minutes_by_code.values()))
    units = {code: minutes // UNIT_MINUTES for code, minutes in minutes_by_code.items()}
    remaining = total - sum(units.values())
    leftover = {code: minutes % UNIT_MINUTES for code, minutes in minutes_by_code.items()}
    most_left_over = sorted(leftover, key=lambda code: (-leftover[code], code))
    for code in most_left_over[:remaining]:
        units[code] += 1
    return UnitSplit(total, {code: count for code, count in units.items() if count})


# --- RTM: days with data per 30-day period ---------------------------------------------------


@dataclass(frozen=True)
class RtmPeriod:
    """One 30-day RTM period: days with data, the device code they reach, and whether the
    period is over (`complete`: it ended before `as_of`)."""

    start: date
    end: date
    days: int
    code: str | None
    complete: bool


def device_code(days_with_data: int) -> str | None:
    """16–30 days → 98977, 2–15 days → 98985 (never both), fewer → None. Source: SPEC §5 RTM."""
    if days_with_data >= 16:
        return RTM_DEVICE_16_TO_30_DAYS
    if days_with_data >= 2:
        return RTM_DEVICE_2_TO_15_DAYS
    return None


def rtm_periods(start: date, data_dates: Iterable[date], as_of: date) -> list[RtmPeriod]:
    """30-day periods from the start of monitoring up to the one holding `as_of`.

    A day counts once however many logs it has; days before `start` or after `as_of` are
    ignored. Source: CMS RTM CY2026 (98977, 98985); SPEC §5 RTM.
    """
    days = {day for day in set(data_dates) if start <= day <= as_of}
    periods: list[RtmPeriod] = []
    period_start = start
    while period_start <= as_of:
        period_end = period_start + timedelta(days=RTM_PERIOD_DAYS - 1)
        count = sum(1 for day in days if period_start <= day <= period_end)
        periods.append(
            RtmPeriod(period_start, period_end, count, device_code(count), period_end < as_of)
        )
        period_start = period_end + timedelta(days=1)
    return periods


# --- RTM: management minutes per calendar month ----------------------------------------------


@dataclass(frozen=True)
class TimeEntry:
    """Therapist RTM management time on one day; `interactive`: real-time communication
    with the patient took place."""

    day: date
    minutes: int
    interactive: bool


@dataclass(frozen=True)
class RtmMonth:
    """RTM management for one calendar month."""

    year: int
    month: int
    minutes: int
    interactive: bool
    codes: list[str]


def management_codes(minutes: int, interactive: bool) -> list[str]:
    """Codes for a calendar month's management minutes; none without interactive contact.

    10–19 → 98979, 20–39 → 98980, each further full 20 minutes → one more 98981.
    Source: CMS RTM CY2026 (98979, 98980, 98981); SPEC §5 RTM.
    """
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    if not interactive or minutes < 10:
        return []
    if minutes < 20:
        return [RTM_MANAGEMENT_10_MIN]
    further = (minutes - 20) // 20
    return [RTM_MANAGEMENT_20_MIN] + [RTM_MANAGEMENT_EACH_FURTHER_20] * further


def rtm_months(entries: Iterable[TimeEntry]) -> list[RtmMonth]:
    """Sum management time per calendar month, in date order, with its codes.

    A month is interactive when any of its entries is. Source: SPEC §5 RTM.
    """
    minutes: dict[tuple[int, int], int] = defaultdict(int)
    interactive: dict[tuple[int, int], bool] = defaultdict(bool)
    for entry in entries:
        key = (entry.day.year, entry.day.month)
        minutes[key] += entry.minutes
        interactive[key] = interactive[key] or entry.interactive
    months = []
    for key, total in sorted(minutes.items()):
        codes = management_codes(total, interactive[key])
        months.append(RtmMonth(key[0], key[1], total, interactive[key], codes))
    return months
