"""Progression engine: decide advance, hold or regress for one program item, and the next dosage.

Source: SPEC §5 Progression decision, Advance step and Regress step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from hep.rules.safety import WarmupSoreness, pain_zone

ItemKind = Literal["reps", "hold", "timed"]
Decision = Literal["advance", "hold", "regress"]

DEFAULT_CEILING = 15
MAX_SETS = 3
MIN_REPS = 5
REPS_STEP = 2
REPS_TEST_MARGIN = 2  # NSCA 2-for-2: two reps over target on the last set
LOW_EFFORT_MAX = 4
LOAD_UP = Decimal("1.05")
LOAD_DOWN = Decimal("0.90")
LOAD_STEP = Decimal("0.5")
HOLD_STEP = 5
HOLD_MAX = 60
HOLD_MIN = 10
TIMED_UP = Decimal("1.10")
TIMED_DOWN = Decimal("0.90")
TIMED_STEP = 5

# Decision table rows in order; the first row that matches decides (SPEC §5).
RULE_ROWS: dict[str, int] = {
    "soreness-continues": 1,
    "pain-over-5": 2,
    "soreness-next-day-twice": 3,
    "soreness-next-day": 4,
    "pain-3-to-5": 5,
    "soreness-warm-up": 6,
    "two-for-two": 7,
    "low-effort": 7,
    "keep-going": 8,
}

REASONS: dict[str, str] = {
    "soreness-continues": (
        "Soreness from the warm-up did not go away last time. "
        "Rest for 2 days, then go back to an easier level."
    ),
    "pain-over-5": (
        "Pain went above 5 out of 10 during the exercise last time. Go back to an easier level."
    ),
    "soreness-next-day-twice": (
        "After both of the last two sessions you were sore for more than an hour or into "
        "the next morning. Rest for 1 day, then go back to an easier level."
    ),
    "soreness-next-day": (
        "After the last session you were sore for more than an hour or into the next morning. "
        "Repeat this level; do not do more yet."
    ),
    "pain-3-to-5": (
        "Pain was 3 to 5 out of 10 last time. That is acceptable, so stay at this level for now."
    ),
    "soreness-warm-up": (
        "You were sore at the start of the warm-up, but it went away. Stay at this level."
    ),
    "two-for-two": (
        "Twice in a row you did every set with 2 or more reps to spare and little pain. "
        "Time to do a little more."
    ),
    "low-effort": (
        "Twice in a row you did every set with little pain, and it felt easy or you had "
        "reps to spare. Time to do a little more."
    ),
    "keep-going": "Keep going at this level. We will check again after your next sessions.",
}

LADDER_END_REASONS: dict[Decision, str] = {
    "advance": "This is already the hardest step here, so stay at this level for now.",
    "regress": "This is already the easiest step here, so stay at this level for now.",
}

# A regress suggestion tells the patient to rest first: row 1 two days, row 3 one day.
REST_DAYS: dict[str, int] = {"soreness-continues": 2, "soreness-next-day-twice": 1}


@dataclass(frozen=True)
class ItemDosage:
    """A program item's current dosage and its place on the exercise's ladder.

    `reps` for reps items, `seconds` for hold and timed items; `load` is a number (kg or lb)
    or None; `prev`/`next` are ladder slugs.
    """

    kind: ItemKind
    sets: int
    reps: int | None = None
    seconds: int | None = None
    load: float | None = None
    ceiling: int = DEFAULT_CEILING
    default_reps: int | None = None
    prev: str | None = None
    next: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("reps", "hold", "timed"):
            raise ValueError(f"unknown item kind {self.kind!r}")
        if self.sets < 1:
            raise ValueError("sets must be at least 1")
        if self.kind == "reps" and (self.reps is None or self.default_reps is None):
            raise ValueError("a reps item needs reps and default_reps")
        if self.kind != "reps" and self.seconds is None:
            raise ValueError(f"a {self.kind} item needs seconds")

    @property
    def target(self) -> float:
        """The per-set target: reps for reps items, seconds for hold and timed items."""
        value = self.reps if self.kind == "reps" else self.seconds
        assert value is not None  # guaranteed by __post_init__
        return value

    @property
    def has_numeric_load(self) -> bool:
        """True when the load is a positive number that the load step can change."""
        return self.load is not None and self.load > 0


@dataclass(frozen=True)
class SessionResult:
    """One logged session of the item, with the next-morning check-in folded in.

    `sets_done`: reps (or seconds) per set done; `soreness_next_day`: soreness lasted more
    than 1 h or into the next morning.
    """

    sets_done: tuple[float, ...]
    pain_during: int
    effort: int
    warmup_soreness: WarmupSoreness
    soreness_next_day: bool


@dataclass(frozen=True)
class Suggestion:
    """A progression suggestion. `proposed` holds only the dosage fields that change, or
    `{"exercise": slug, "dosage": "default"}` for a ladder move; None when nothing changes.
    `ladder_end` is True when an advance or regress became a hold for want of a ladder step.
    """

    decision: Decision
    rule: str
    reason: str
    proposed: dict[str, Any] | None
    rest_days: int = 0
    ladder_end: bool = False


def decide(item: ItemDosage, sessions: Sequence[SessionResult]) -> Suggestion:
    """Apply the progression decision table to the item's last two sessions (most recent last).

    | 1 | last: warm-up soreness continued | regress | soreness-continues |
    | 2 | last: pain during > 5 | regress | pain-over-5 |
    | 3 | both: soreness > 1 h or into the next morning | regress | soreness-next-day-twice |
    | 4 | last: soreness > 1 h or into the next morning | hold | soreness-next-day |
    | 5 | last: pain during 3–5 | hold | pain-3-to-5 |
    | 6 | last: warm-up soreness that went away | hold | soreness-warm-up |
    | 7 | both: full dose, pain ≤ 2, reps test or effort ≤ 4 | advance | two-for-two / low-effort |
    | 8 | otherwise (including fewer than two sessions) | hold | keep-going |
    Source: Fees et al. 1998; Thomeé 1997; ACSM 2009; NSCA 2-for-2 rule; SPEC §5.
    """
    recent = tuple(sessions)[-2:]
    if not recent:
        return _hold("keep-going")
    last = recent[-1]
    both = len(recent) == 2
    if last.warmup_soreness == "continues":
        return _regress(item, "soreness-continues")
    if pain_zone(last.pain_during) == "too_much":
        return _regress(item, "pain-over-5")
    if both and all(session.soreness_next_day for session in recent):
        return _regress(item, "soreness-next-day-twice")
    if last.soreness_next_day:
        return _hold("soreness-next-day")
    if pain_zone(last.pain_during) == "acceptable":
        return _hold("pain-3-to-5")
    if last.warmup_soreness == "gone":
        return _hold("soreness-warm-up")
    if both and all(_ready_to_advance(item, session) for session in recent):
        reps_test = all(_met_reps_test(item, session) for session in recent)
        return _advance(item, "two-for-two" if reps_test else "low-effort")
    return _hold("keep-going")


def is_full_dose(item: ItemDosage, session: SessionResult) -> bool:
    """Every prescribed set done, each at or over the per-set target. Source: SPEC §5 row 7."""
    done = session.sets_done
    return len(done) >= item.sets and all(value >= item.target for value in done)


def _met_reps_test(item: ItemDosage, session: SessionResult) -> bool:
    # Holds and timed items have no reps test: effort ≤ 4 only (SPEC §5 row 7).
    if item.kind != "reps" or not session.sets_done:
        return False
    return session.sets_done[-1] >= item.target + REPS_TEST_MARGIN


def _ready_to_advance(item: ItemDosage, session: SessionResult) -> bool:
    return (
        is_full_dose(item, session)
        and pain_zone(session.pain_during) == "safe"
        and (_met_reps_test(item, session) or session.effort <= LOW_EFFORT_MAX)
    )


def _hold(rule: str) -> Suggestion:
    return Suggestion("hold", rule, REASONS[rule], None)


def _advance(item: ItemDosage, rule: str) -> Suggestion:
    proposed = advance_step(item)
    if proposed is None:
        return Suggestion("hold", rule, REASONS[rule], None, ladder_end=True)
    return Suggestion("advance", rule, REASONS[rule], proposed)


def _regress(item: ItemDosage, rule: str) -> Suggestion:
    # The rest days come from the soreness rule, so they stand even at the bottom of the ladder.
    rest_days = REST_DAYS.get(rule, 0)
    proposed = regress_step(item)
    if proposed is None:
        return Suggestion("hold", rule, REASONS[rule], None, rest_days, ladder_end=True)
    return Suggestion("regress", rule, REASONS[rule], proposed, rest_days)


def advance_step(item: ItemDosage) -> dict[str, Any] | None:
    """The next dosage up, as the fields that change; None when there is no step up.

    Numeric load +5 % rounded to the nearest 0.5, at least +0.5; otherwise reps +2 up to the
    ceiling; at the ceiling one more set (up to 3) with reps reset to the default reps; then
    the next ladder exercise at its default dosage. Holds +5 s up to 60 s, then the next
    ladder exercise; timed items +10 % rounded to 5 s (at least +5 s).
    Source: ACSM 2009; SPEC §5 Advance step.
    """
    if item.kind == "timed":
        return {"seconds": _timed_seconds(item.target, TIMED_UP)}
    if item.kind == "hold":
        if item.target < HOLD_MAX:
            return {"seconds": min(int(item.target) + HOLD_STEP, HOLD_MAX)}
        return _ladder(item.next)
    if item.has_numeric_load:
        return {"load": _load_up(item.load)}
    if item.target < item.ceiling:
        return {"reps": min(int(item.target) + REPS_STEP, item.ceiling)}
    if item.sets < MAX_SETS:
        return {"sets": item.sets + 1, "reps": item.default_reps}
    return _ladder(item.next)


def regress_step(item: ItemDosage) -> dict[str, Any] | None:
    """The next dosage down, as the fields that change; None when there is no step down.

    Numeric load −10 % rounded to 0.5 (at least −0.5, staying above 0); otherwise reps −2
    down to 5, then the previous ladder exercise at its default dosage. Holds −5 s down to
    10 s, then the previous ladder exercise; timed items −10 % rounded to 5 s (at least −5 s,
    not below 5 s). Source: SPEC §5 Regress step.
    """
    if item.kind == "timed":
        seconds = _timed_seconds(item.target, TIMED_DOWN)
        return {"seconds": seconds} if seconds >= TIMED_STEP else None
    if item.kind == "hold":
        if item.target > HOLD_MIN:
            return {"seconds": max(int(item.target) - HOLD_STEP, HOLD_MIN)}
        return _ladder(item.prev)
    if item.has_numeric_load:
        load = _load_down(item.load)
        if load > 0:
            return {"load": load}
    if item.target > MIN_REPS:
        return {"reps": max(int(item.target) - REPS_STEP, MIN_REPS)}
    return _ladder(item.prev)


def _ladder(slug: str | None) -> dict[str, Any] | None:
    return {"exercise": slug, "dosage": "default"} if slug else None


def _round_to(value: Decimal, step: Decimal) -> Decimal:
    """Round to the nearest multiple of `step`, halves away from zero."""
    return (value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step


def _load_up(load: float | None) -> float:
    current = Decimal(str(load))
    return float(max(_round_to(current * LOAD_UP, LOAD_STEP), current + LOAD_STEP))


def _load_down(load: float | None) -> float:
    current = Decimal(str(load))
    return float(min(_round_to(current * LOAD_DOWN, LOAD_STEP), current - LOAD_STEP))


def _timed_seconds(seconds: float, factor: Decimal) -> int:
    current = Decimal(str(seconds))
    step = Decimal(TIMED_STEP)
    proposed = _round_to(current * factor, step)
    if factor > 1:
        return int(max(proposed, current + step))
    return int(min(proposed, current - step))
