"""Adherence: which sessions count, what was prescribed and done each day, and the scores on top.

Source: SPEC §5 Adherence (the 80 % threshold is a research convention).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Band = Literal["green", "amber", "red"]

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WINDOW_WEEK = 7
WINDOW_MONTH = 30
GREEN_FROM = 0.80
AMBER_FROM = 0.50
INACTIVE_SCHEDULED_DAYS = 3

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Schedule:
    """When a program is due: weekdays (0 = Monday … 6 = Sunday, as `date.weekday()`),
    times per day, and the start and optional end date (both inclusive)."""

    weekdays: frozenset[int]
    times_per_day: int
    start: date
    end: date | None = None

    def __post_init__(self) -> None:
        if not self.weekdays <= frozenset(range(7)):
            raise ValueError(f"weekdays must be 0-6, got {sorted(self.weekdays)}")
        if self.times_per_day < 1:
            raise ValueError("times_per_day must be at least 1")
        if self.end is not None and self.end < self.start:
            raise ValueError("end must not be before start")

    def is_scheduled(self, day: date) -> bool:
        """A scheduled weekday within the program's start and end dates."""
        in_range = self.start <= day and (self.end is None or day <= self.end)
        return in_range and day.weekday() in self.weekdays


@dataclass(frozen=True)
class DoseItem:
    """One performed item of a counted session: target and actual volume (see `volume`)."""

    target: float
    actual: float


@dataclass(frozen=True)
class AdherenceSummary:
    """The figures the dashboard and the Today screen show for one program."""

    adherence_7: float | None
    adherence_30: float | None
    adherence_since_start: float | None
    band_7: Band | None
    band_30: Band | None
    inactive: bool
    streak: int


def weekdays_from_names(names: Iterable[str]) -> frozenset[int]:
    """Turn day names ("mon" … "sun") into `date.weekday()` numbers. Source: SPEC §4 schedule."""
    names = list(names)
    try:
        return frozenset(WEEKDAY_NAMES.index(name.strip().lower()[:3]) for name in names)
    except ValueError as error:
        raise ValueError(f"unknown weekday in {names!r}") from error


def is_counted_session(exercises_performed: Iterable[bool]) -> bool:
    """A counted session has at least one exercise performed, not skipped.

    `exercises_performed` holds one flag per exercise log of the session. Source: SPEC §5.
    """
    return any(exercises_performed)


def prescribed_on(schedule: Schedule, day: date, today: date, sessions_that_day: int) -> int:
    """Sessions prescribed for `day`: k on a scheduled day, else 0; today only what is done.

    Today's prescribed number is min(k, counted sessions today), so a session not yet due
    never lowers the score; days after today prescribe nothing yet. Source: SPEC §5.
    """
    if day > today or not schedule.is_scheduled(day):
        return 0
    if day == today:
        return min(schedule.times_per_day, sessions_that_day)
    return schedule.times_per_day


def completed_on(schedule: Schedule, day: date, today: date, sessions_that_day: int) -> int:
    """Sessions completed on `day` = min(prescribed that day, counted sessions that day).

    Sessions on unscheduled days are kept and shown elsewhere but do not count. Source: SPEC §5.
    """
    return min(prescribed_on(schedule, day, today, sessions_that_day), sessions_that_day)


def adherence(
    schedule: Schedule, session_days: Iterable[date], today: date, window_days: int | None
) -> float | None:
    """Σ completed ÷ Σ prescribed over the `window_days` days ending today (None: since start).

    `session_days` holds the local date of every counted session (a date twice for two
    sessions that day). Undefined (None, shown as "—") when nothing was prescribed.
    Source: SPEC §5 Adherence.
    """
    counts = Counter(session_days)
    first = schedule.start
    if window_days is not None:
        if window_days < 1:
            raise ValueError("window_days must be at least 1")
        first = max(first, today - timedelta(days=window_days - 1))
    completed = prescribed = 0
    day = first
    while day <= today:
        prescribed += prescribed_on(schedule, day, today, counts[day])
        completed += completed_on(schedule, day, today, counts[day])
        day += _ONE_DAY
    return completed / prescribed if prescribed else None


def band(score: float | None) -> Band | None:
    """Colour band of an adherence score: ≥ 0.80 green, 0.50–0.79 amber, < 0.50 red.

    None when the score is undefined. Source: SPEC §5 Adherence.
    """
    if score is None:
        return None
    if score >= GREEN_FROM:
        return "green"
    if score >= AMBER_FROM:
        return "amber"
    return "red"


def is_inactive(schedule: Schedule, session_days: Iterable[date], today: date) -> bool:
    """No counted session on the last 3 scheduled days before today.

    False while fewer than 3 scheduled days have passed. Source: SPEC §5 Adherence.
    """
    counts = Counter(session_days)
    last_days: list[date] = []
    day = today - _ONE_DAY
    if schedule.end is not None:
        day = min(day, schedule.end)
    while day >= schedule.start and len(last_days) < INACTIVE_SCHEDULED_DAYS:
        if schedule.is_scheduled(day):
            last_days.append(day)
        day -= _ONE_DAY
    if len(last_days) < INACTIVE_SCHEDULED_DAYS:
        return False
    return all(counts[day] == 0 for day in last_days)


def streak(schedule: Schedule, session_days: Iterable[date], today: date) -> int:
    """Consecutive scheduled days fully done (k counted sessions), ending today or yesterday.

    Unscheduled days are skipped; today not yet done neither counts nor breaks the streak.
    Source: SPEC §3 D (Today screen streak), with the day rules of SPEC §5 Adherence.
    """
    counts = Counter(session_days)
    days_done = 0
    day = today
    while day >= schedule.start:
        if schedule.is_scheduled(day):
            if counts[day] >= schedule.times_per_day:
                days_done += 1
            elif day != today:
                break
        day -= _ONE_DAY
    return days_done


def volume(per_set: Sequence[float]) -> float:
    """Volume of an item: reps (or seconds, for holds and timed items) summed over its sets.

    A target of sets × reps is `volume([reps] * sets)`. Source: SPEC §5 Dose adherence.
    """
    return float(sum(per_set))


def dose_adherence(items: Iterable[DoseItem]) -> float | None:
    """Σ min(actual, target) ÷ Σ target over the performed items of counted sessions.

    Doing more than the target does not raise it; None when there is no target. Source: SPEC §5.
    """
    items = list(items)
    target = sum(item.target for item in items)
    if target <= 0:
        return None
    return sum(min(item.actual, item.target) for item in items) / target


def summarize(schedule: Schedule, session_days: Iterable[date], today: date) -> AdherenceSummary:
    """Adherence over 7 days, 30 days and since start, their bands, inactivity and streak.

    Source: SPEC §5 Adherence; SPEC §3 I (dashboard) and D (Today screen).
    """
    days = list(session_days)
    week = adherence(schedule, days, today, WINDOW_WEEK)
    month = adherence(schedule, days, today, WINDOW_MONTH)
    return AdherenceSummary(
        adherence_7=week,
        adherence_30=month,
        adherence_since_start=adherence(schedule, days, today, None),
        band_7=band(week),
        band_30=band(month),
        inactive=is_inactive(schedule, days, today),
        streak=streak(schedule, days, today),
    )
