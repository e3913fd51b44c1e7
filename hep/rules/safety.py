"""Safety rules: pain zones, soreness rules, red flags, alerts and contraindication screening.

Patient-facing strings are plain English keyed by id; the UI layer translates them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

PainZone = Literal["safe", "acceptable", "too_much"]
WarmupSoreness = Literal["none", "gone", "continues"]
Urgency = Literal["emergency", "contact"]
AlertSeverity = Literal["immediate", "routine"]

PAIN_MIN, PAIN_MAX = 0, 10
SAFE_MAX = 2
ACCEPTABLE_MAX = 5
IMMEDIATE_PAIN = 7
WORSENING_POINTS = 2  # NPRS MCID about 2 points (Childs et al. 2005; Ostelo et al. 2008)
DEFAULT_EMERGENCY_NUMBER = "911"


# --- Pain-monitoring model -------------------------------------------------------------------


def pain_zone(pain: int) -> PainZone:
    """Zone of a 0–10 pain rating: 0–2 "safe", 3–5 "acceptable", above 5 "too_much".

    Source: Thomeé 1997 pain-monitoring model; Silbernagel et al. 2007; SPEC §5.
    """
    _check_pain(pain)
    if pain <= SAFE_MAX:
        return "safe"
    if pain <= ACCEPTABLE_MAX:
        return "acceptable"
    return "too_much"


def _check_pain(pain: int) -> None:
    if not PAIN_MIN <= pain <= PAIN_MAX:
        raise ValueError(f"pain must be {PAIN_MIN}-{PAIN_MAX}, got {pain}")


# --- Soreness rules --------------------------------------------------------------------------


@dataclass(frozen=True)
class SorenessAdvice:
    """What the soreness rules say: `key` names the table row."""

    key: Literal["none", "gone", "continues", "next_day"]
    may_advance: bool
    stop_now: bool
    rest_days: int
    drop_level: bool
    advice: str


SORENESS_ADVICE: dict[str, str] = {
    "none": "No soreness. You may be ready to do a little more.",
    "gone": "The soreness went away as you warmed up. Stay at the same level.",
    "continues": (
        "The soreness did not go away. Stop for today, rest for 2 days, "
        "then go back to an easier level."
    ),
    "next_day": (
        "You were still sore more than an hour later or the next day. "
        "Rest for 1 day, then repeat the same level. Do not do more yet."
    ),
}


def soreness_rule(warmup: WarmupSoreness, next_day: bool) -> SorenessAdvice:
    """Apply the soreness rules to one session's answers; the strictest row wins.

    | patient reports | action |
    | no soreness | may advance |
    | sore in warm-up, gone by end of warm-up | stay at the same level |
    | sore in warm-up and it continues | stop; 2 days off; drop one level |
    | sore more than 1 h after, or the next day | 1 day off; repeat, do not advance |
    Source: Fees et al. 1998, as used by Adams et al. 2012; SPEC §5.
    """
    if warmup == "continues":
        return SorenessAdvice("continues", False, True, 2, True, SORENESS_ADVICE["continues"])
    if next_day:
        return SorenessAdvice("next_day", False, False, 1, False, SORENESS_ADVICE["next_day"])
    if warmup == "gone":
        return SorenessAdvice("gone", False, False, 0, False, SORENESS_ADVICE["gone"])
    if warmup == "none":
        return SorenessAdvice("none", True, False, 0, False, SORENESS_ADVICE["none"])
    raise ValueError(f"unknown warm-up soreness answer {warmup!r}")


# --- Red flags -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RedFlag:
    """One red-flag question on the wrap-up checklist."""

    key: str
    question: str
    urgency: Urgency
    sign: Literal["cardiac", "stroke", "saddle", "clot", "pain"]


RED_FLAGS: tuple[RedFlag, ...] = (
    RedFlag(
        "chest_pain",
        "Do you have pain or pressure in your chest, neck, jaw or arm?",
        "emergency",
        "cardiac",
    ),
    RedFlag("dizzy_or_fainting", "Do you feel dizzy, or did you faint?", "emergency", "cardiac"),
    RedFlag(
        "breathless_at_rest",
        "Are you short of breath, and it does not get better when you rest?",
        "emergency",
        "cardiac",
    ),
    RedFlag(
        "racing_heartbeat",
        "Is your heart racing, or beating in an uneven way?",
        "emergency",
        "cardiac",
    ),
    RedFlag(
        "stroke_signs",
        "Did your face, arm or leg suddenly go numb or weak? Is it hard to speak or to see? "
        "Do you have a very bad headache?",
        "emergency",
        "stroke",
    ),
    RedFlag(
        "saddle_numbness",
        "Is the skin between your legs or around your bottom numb? "
        "Do you have new trouble controlling your pee or poo?",
        "emergency",
        "saddle",
    ),
    RedFlag(
        "calf_or_sudden_breathless",
        "Is one calf (the back of your lower leg) swollen, painful, warm or red? "
        "Or did you suddenly get out of breath?",
        "emergency",
        "clot",
    ),
    RedFlag(
        "sharp_or_rising_pain",
        "Do you have sharp pain, or pain that keeps getting worse?",
        "contact",
        "pain",
    ),
)
RED_FLAGS_BY_KEY: dict[str, RedFlag] = {flag.key: flag for flag in RED_FLAGS}

RED_FLAG_GUIDANCE: dict[Urgency, str] = {
    "emergency": "Stop now. Call your emergency number now: {number}.",
    "contact": "Stop exercising now. Contact your therapist before you exercise again.",
}


@dataclass(frozen=True)
class RedFlagGuidance:
    """What to tell a patient who answered yes to one or more red flags."""

    urgency: Urgency
    flags: tuple[str, ...]
    emergency_number: str

    @property
    def message(self) -> str:
        """The plain-English guidance (translate `RED_FLAG_GUIDANCE[urgency]` in the UI)."""
        return RED_FLAG_GUIDANCE[self.urgency].format(number=self.emergency_number)


def red_flag_guidance(
    flags_answered_yes: Iterable[str], emergency_number: str = DEFAULT_EMERGENCY_NUMBER
) -> RedFlagGuidance | None:
    """Guidance for the red flags answered yes: emergency wins over contact; None if no flag.

    Cardiac, stroke, clot and saddle signs: call your emergency number now (a clinic setting,
    default 911); the rest: stop and contact your therapist. Source: SPEC §5 Red flags.
    """
    keys = tuple(dict.fromkeys(flags_answered_yes))
    unknown = [key for key in keys if key not in RED_FLAGS_BY_KEY]
    if unknown:
        raise ValueError(f"unknown red flags {unknown!r}")
    if not keys:
        return None
    urgent = any(RED_FLAGS_BY_KEY[key].urgency == "emergency" for key in keys)
    return RedFlagGuidance("emergency" if urgent else "contact", keys, emergency_number)


# --- Alerts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionSignals:
    """What a logged session says for alerts: pain during (0–10, None if not asked)
    and the keys of red flags answered yes."""

    pain: int | None
    red_flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Alert:
    """An alert for the therapist: `kind` is stable, `reason` is plain English."""

    kind: Literal["red_flag", "severe_pain", "pain_over_5_twice", "worsening"]
    severity: AlertSeverity
    reason: str


ALERT_REASONS: dict[str, str] = {
    "red_flag": "The patient answered yes to a red-flag question.",
    "severe_pain": "The patient reported pain of 7 or more out of 10.",
    "pain_over_5_twice": "Pain was over 5 out of 10 in two sessions in a row.",
    "worsening": "Pain is 2 or more points above the patient's baseline.",
}


def alerts_for(
    latest: SessionSignals, previous: SessionSignals | None, baseline_pain: int | None
) -> list[Alert]:
    """The alerts to raise after the latest session; every matching rule raises its own.

    Any red flag → immediate; pain ≥ 7 → immediate; pain during > 5 on two sessions in a row
    → alert; latest pain 2 or more points over baseline → worsening.
    Source: SPEC §5 Alerts; NPRS MCID 2 points (Childs et al. 2005).
    """
    alerts: list[Alert] = []
    if latest.red_flags:
        alerts.append(Alert("red_flag", "immediate", ALERT_REASONS["red_flag"]))
    pain = latest.pain
    if pain is None:
        return alerts
    _check_pain(pain)
    if pain >= IMMEDIATE_PAIN:
        alerts.append(Alert("severe_pain", "immediate", ALERT_REASONS["severe_pain"]))
    before = previous.pain if previous is not None else None
    if pain > ACCEPTABLE_MAX and before is not None and before > ACCEPTABLE_MAX:
        alerts.append(Alert("pain_over_5_twice", "routine", ALERT_REASONS["pain_over_5_twice"]))
    if baseline_pain is not None and pain >= baseline_pain + WORSENING_POINTS:
        alerts.append(Alert("worsening", "routine", ALERT_REASONS["worsening"]))
    return alerts


# --- Contraindications -----------------------------------------------------------------------

ACUTE_FRACTURE = "acute_fracture"
SEVERE_OSTEOPOROSIS = "severe_osteoporosis"
UNCONTROLLED_CARDIOVASCULAR = "uncontrolled_cardiovascular"
INFECTION_AT_SITE = "infection_at_site"
SIGNIFICANT_PAIN_OR_INSTABILITY = "significant_pain_or_instability"

CONTRAINDICATIONS: dict[str, str] = {
    ACUTE_FRACTURE: "Acute fracture",
    SEVERE_OSTEOPOROSIS: "Severe osteoporosis",
    UNCONTROLLED_CARDIOVASCULAR: "Uncontrolled heart or blood pressure condition",
    INFECTION_AT_SITE: "Infection where the exercise works",
    SIGNIFICANT_PAIN_OR_INSTABILITY: "Significant pain or instability",
}


def screen(exercise_tags: Iterable[str], patient_conditions: Iterable[str]) -> list[str]:
    """Contraindication tags shared by an exercise and a patient, in catalogue order.

    A non-empty answer means: warn, and ask the therapist for a reason to override.
    Source: CPT 97110 seed (contraindications); SPEC §3 C and §5 Contraindications.
    """
    shared = set(exercise_tags) & set(patient_conditions)
    unknown = shared - CONTRAINDICATIONS.keys()
    known = [tag for tag in CONTRAINDICATIONS if tag in shared]
    return known + sorted(unknown)
