"""Every case in rule-cases.json (a copy of ../shared/rule-cases.json) through hep.rules."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from hep.rules import adherence, billing, outcomes, progression

CASES: dict[str, Any] = json.loads((Path(__file__).with_name("rule-cases.json")).read_text())
SECTIONS = [
    "progression",
    "adherence",
    "dose_adherence",
    "eight_minute",
    "eight_minute_codes",
    "rtm_days",
    "rtm_minutes",
    "psfs",
]


def cases(section: str) -> Any:
    return pytest.mark.parametrize("case", CASES[section], ids=[c["id"] for c in CASES[section]])


def test_every_section_of_the_file_is_run_here() -> None:
    sections = {key for key, value in CASES.items() if isinstance(value, list)}
    assert sections == set(SECTIONS)


# --- adapters: the JSON shapes to the rule functions' plain data -----------------------------


def to_item(raw: dict[str, Any]) -> progression.ItemDosage:
    return progression.ItemDosage(
        kind=raw["kind"],
        sets=raw["sets"],
        reps=raw.get("reps"),
        seconds=raw.get("seconds"),
        load=raw.get("load"),
        ceiling=raw.get("ceiling", progression.DEFAULT_CEILING),
        default_reps=raw.get("default_reps"),
        prev=raw.get("prev"),
        next=raw.get("next"),
    )


def to_session(raw: dict[str, Any]) -> progression.SessionResult:
    return progression.SessionResult(
        sets_done=tuple(raw["sets_done"]),
        pain_during=raw["pain_during"],
        effort=raw["effort"],
        warmup_soreness=raw["warmup_soreness"],
        soreness_next_day=raw["soreness_next_day"],
    )


def to_schedule(raw: dict[str, Any]) -> adherence.Schedule:
    return adherence.Schedule(
        weekdays=adherence.weekdays_from_names(raw["days"]),
        times_per_day=raw["times_per_day"],
        start=date.fromisoformat(raw["start"]),
        end=date.fromisoformat(raw["end"]) if raw["end"] else None,
    )


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


# --- the cases -------------------------------------------------------------------------------


@cases("progression")
def test_progression(case: dict[str, Any]) -> None:
    suggestion = progression.decide(
        to_item(case["item"]), [to_session(s) for s in case["sessions"]]
    )
    expect = case["expect"]
    assert suggestion.decision == expect["decision"]
    assert suggestion.rule == expect["rule"]
    assert suggestion.proposed == expect.get("proposed")
    assert suggestion.reason == progression.REASONS[expect["rule"]]


@cases("adherence")
def test_adherence(case: dict[str, Any]) -> None:
    schedule = to_schedule(case["program"])
    sessions = [date.fromisoformat(day) for day in case["sessions"]]
    summary = adherence.summarize(schedule, sessions, date.fromisoformat(case["today"]))
    got = {
        "adherence_7": rounded(summary.adherence_7),
        "adherence_30": rounded(summary.adherence_30),
        "adherence_since_start": rounded(summary.adherence_since_start),
        "band_7": summary.band_7,
        "inactive": summary.inactive,
    }
    assert got == case["expect"]


@cases("dose_adherence")
def test_dose_adherence(case: dict[str, Any]) -> None:
    items = [adherence.DoseItem(i["target"], i["actual"]) for i in case["items"]]
    assert rounded(adherence.dose_adherence(items)) == case["expect"]["dose_adherence"]


@cases("eight_minute")
def test_eight_minute(case: dict[str, Any]) -> None:
    assert billing.units_for_minutes(case["minutes"]) == case["expect"]["units"]


@cases("eight_minute_codes")
def test_eight_minute_codes(case: dict[str, Any]) -> None:
    split = billing.split_units(case["minutes"])
    assert (split.total, split.units) == (case["expect"]["total"], case["expect"]["units"])


@cases("rtm_days")
def test_rtm_days(case: dict[str, Any]) -> None:
    data_dates = [date.fromisoformat(day) for day in case["data_dates"]]
    # The cases start monitoring on the first day with data.
    periods = billing.rtm_periods(min(data_dates), data_dates, date.fromisoformat(case["as_of"]))
    got = [
        {
            "start": p.start.isoformat(),
            "end": p.end.isoformat(),
            "days": p.days,
            "code": p.code,
            "complete": p.complete,
        }
        for p in periods
    ]
    assert got == case["expect"]


@cases("rtm_minutes")
def test_rtm_minutes(case: dict[str, Any]) -> None:
    assert billing.management_codes(case["minutes"], case["interactive"]) == case["expect"]


@cases("psfs")
def test_psfs(case: dict[str, Any]) -> None:
    result = outcomes.psfs_change(case["before"], case["after"])
    got = {
        "before": result.before,
        "after": result.after,
        "change": result.change,
        "important": result.important,
    }
    assert got == case["expect"]
