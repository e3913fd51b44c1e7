"""Table-driven tests taken straight from SPEC §5, beyond the shared rule cases."""

from __future__ import annotations

import ast
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from hep.rules import adherence, billing, outcomes, progression, safety
from hep.rules.adherence import Schedule
from hep.rules.progression import ItemDosage, SessionResult

MONDAY = date(2026, 11, 23)
MON_WED_FRI = frozenset({0, 2, 4})
EVERY_DAY = frozenset(range(7))


def session(
    sets_done: tuple[float, ...] = (10, 10, 10),
    pain: int = 1,
    effort: int = 5,
    warmup: safety.WarmupSoreness = "none",
    next_day: bool = False,
) -> SessionResult:
    return SessionResult(sets_done, pain, effort, warmup, next_day)


SQUAT = ItemDosage(
    "reps", sets=3, reps=10, ceiling=15, default_reps=10, prev="sit-to-stand", next="goblet-squat"
)
EASY = session((12, 12, 12), pain=1, effort=5)  # full dose with 2 reps to spare
OK = session((10, 10, 10), pain=1, effort=5)  # full dose, nothing to spare


# --- Progression decision table: every row, and the first match wins ------------------------

DECISION_ROWS = [
    # (id, sessions, decision, rule, rest_days)
    ("row1", [EASY, session(warmup="continues")], "regress", "soreness-continues", 2),
    ("row1-only-session", [session(warmup="continues")], "regress", "soreness-continues", 2),
    (
        "row1-beats-row2",
        [EASY, session(pain=9, warmup="continues")],
        "regress",
        "soreness-continues",
        2,
    ),
    ("row2", [EASY, session(pain=6)], "regress", "pain-over-5", 0),
    ("row2-pain-10", [EASY, session(pain=10)], "regress", "pain-over-5", 0),
    (
        "row2-beats-row3",
        [session(next_day=True), session(pain=6, next_day=True)],
        "regress",
        "pain-over-5",
        0,
    ),
    (
        "row3",
        [session(next_day=True), session(next_day=True)],
        "regress",
        "soreness-next-day-twice",
        1,
    ),
    (
        "row3-beats-row5",
        [session(next_day=True), session(pain=4, next_day=True)],
        "regress",
        "soreness-next-day-twice",
        1,
    ),
    ("row4", [EASY, session(next_day=True)], "hold", "soreness-next-day", 0),
    ("row4-only-session", [session(next_day=True)], "hold", "soreness-next-day", 0),
    (
        "row4-earlier-only-is-not-row3",
        [session((12, 12, 12), next_day=True), EASY],
        "advance",
        "two-for-two",
        0,
    ),
    ("row4-beats-row5", [EASY, session(pain=4, next_day=True)], "hold", "soreness-next-day", 0),
    ("row5-pain-3", [EASY, session(pain=3)], "hold", "pain-3-to-5", 0),
    ("row5-pain-5", [EASY, session(pain=5)], "hold", "pain-3-to-5", 0),
    ("row5-beats-row6", [EASY, session(pain=4, warmup="gone")], "hold", "pain-3-to-5", 0),
    ("row6", [EASY, session((12, 12, 12), warmup="gone")], "hold", "soreness-warm-up", 0),
    ("row7-two-for-two", [EASY, EASY], "advance", "two-for-two", 0),
    ("row7-low-effort", [session(effort=4), session(effort=3)], "advance", "low-effort", 0),
    ("row7-mixed-tests", [EASY, session(effort=4)], "advance", "low-effort", 0),
    ("row7-pain-2-ok", [EASY, session((12, 12, 12), pain=2)], "advance", "two-for-two", 0),
    ("row7-needs-pain-2-in-both", [session((12, 12, 12), pain=3), EASY], "hold", "keep-going", 0),
    ("row7-needs-every-set", [session((12, 12)), EASY], "hold", "keep-going", 0),
    ("row7-needs-each-set-at-target", [session((12, 9, 12)), EASY], "hold", "keep-going", 0),
    ("row7-needs-spare-or-low-effort", [OK, EASY], "hold", "keep-going", 0),
    ("row7-effort-5-no-spare", [session(effort=5), session(effort=4)], "hold", "keep-going", 0),
    ("row8-one-session", [EASY], "hold", "keep-going", 0),
    ("row8-no-session", [], "hold", "keep-going", 0),
    ("only-last-two-count", [session(pain=8), EASY, EASY], "advance", "two-for-two", 0),
]


@pytest.mark.parametrize(
    ("sessions", "decision", "rule", "rest_days"),
    [row[1:] for row in DECISION_ROWS],
    ids=[row[0] for row in DECISION_ROWS],
)
def test_decision_table_row(
    sessions: list[SessionResult], decision: str, rule: str, rest_days: int
) -> None:
    suggestion = progression.decide(SQUAT, sessions)
    assert (suggestion.decision, suggestion.rule, suggestion.rest_days) == (
        decision,
        rule,
        rest_days,
    )
    assert suggestion.reason == progression.REASONS[rule]
    assert (suggestion.proposed is None) == (decision == "hold")


def test_every_rule_id_has_a_row_and_a_plain_reason() -> None:
    expected = [
        "soreness-continues",
        "pain-over-5",
        "soreness-next-day-twice",
        "soreness-next-day",
        "pain-3-to-5",
        "soreness-warm-up",
        "two-for-two",
        "low-effort",
        "keep-going",
    ]
    assert list(progression.RULE_ROWS) == expected
    assert list(progression.RULE_ROWS.values()) == [1, 2, 3, 4, 5, 6, 7, 7, 8]
    assert set(progression.REASONS) == set(expected)
    assert all(reason.endswith(".") for reason in progression.REASONS.values())


def test_hold_and_timed_items_advance_on_effort_only() -> None:
    hold = ItemDosage("hold", sets=3, seconds=30, next="harder")
    spare = session((40, 40, 40), pain=0, effort=6)
    assert progression.decide(hold, [spare, spare]).rule == "keep-going"
    easy = session((30, 30, 30), pain=0, effort=4)
    assert progression.decide(hold, [easy, easy]).rule == "low-effort"


def test_advance_at_top_of_ladder_holds() -> None:
    top = ItemDosage("reps", sets=3, reps=15, ceiling=15, default_reps=10, next=None)
    sessions = [session((17, 17, 17)), session((17, 17, 17))]
    suggestion = progression.decide(top, sessions)
    assert (suggestion.decision, suggestion.rule, suggestion.proposed) == (
        "hold",
        "two-for-two",
        None,
    )
    assert suggestion.ladder_end


def test_regress_at_bottom_of_ladder_holds_but_keeps_rest_days() -> None:
    bottom = ItemDosage("reps", sets=3, reps=5, ceiling=15, default_reps=10, prev=None)
    suggestion = progression.decide(bottom, [session(warmup="continues")])
    assert (suggestion.decision, suggestion.rule, suggestion.rest_days) == (
        "hold",
        "soreness-continues",
        2,
    )
    assert suggestion.ladder_end


# --- Advance and regress steps ----------------------------------------------------------------


def reps_item(sets: int = 3, reps: int = 10, load: float | None = None, **ladder: str | None):
    return ItemDosage(
        "reps",
        sets=sets,
        reps=reps,
        load=load,
        ceiling=15,
        default_reps=8,
        prev=ladder.get("prev", "easier"),
        next=ladder.get("next", "harder"),
    )


ADVANCE_STEPS = [
    ("load-5-percent", reps_item(load=20.0), {"load": 21.0}),
    ("load-rounds-to-half", reps_item(load=30.0), {"load": 31.5}),
    ("load-rounds-half-up", reps_item(load=15.0), {"load": 16.0}),
    ("load-at-least-half", reps_item(load=2.0), {"load": 2.5}),
    ("load-at-least-half-small", reps_item(load=0.5), {"load": 1.0}),
    ("reps-plus-2", reps_item(reps=10), {"reps": 12}),
    ("reps-capped-at-ceiling", reps_item(reps=14), {"reps": 15}),
    ("ceiling-adds-set-default-reps", reps_item(sets=1, reps=15), {"sets": 2, "reps": 8}),
    ("ceiling-adds-third-set", reps_item(sets=2, reps=15), {"sets": 3, "reps": 8}),
    ("three-sets-at-ceiling-next", reps_item(reps=15), {"exercise": "harder", "dosage": "default"}),
    ("no-next-holds", reps_item(reps=15, next=None), None),
    ("hold-plus-5", ItemDosage("hold", 3, seconds=30, next="n"), {"seconds": 35}),
    ("hold-capped-at-60", ItemDosage("hold", 3, seconds=58, next="n"), {"seconds": 60}),
    (
        "hold-at-60-next",
        ItemDosage("hold", 3, seconds=60, next="n"),
        {"exercise": "n", "dosage": "default"},
    ),
    ("hold-at-60-no-next", ItemDosage("hold", 3, seconds=60), None),
    ("timed-10-percent", ItemDosage("timed", 1, seconds=120), {"seconds": 130}),
    ("timed-rounds-to-5", ItemDosage("timed", 1, seconds=300), {"seconds": 330}),
    ("timed-at-least-5", ItemDosage("timed", 1, seconds=20), {"seconds": 25}),
]

REGRESS_STEPS = [
    ("load-10-percent", reps_item(load=5.0), {"load": 4.5}),
    ("load-rounds-to-half", reps_item(load=22.0), {"load": 20.0}),
    ("load-at-least-half", reps_item(load=2.0), {"load": 1.5}),
    ("load-never-zero", reps_item(reps=10, load=0.5), {"reps": 8}),
    ("reps-minus-2", reps_item(reps=10), {"reps": 8}),
    ("reps-floor-5", reps_item(reps=6), {"reps": 5}),
    ("reps-5-previous", reps_item(reps=5), {"exercise": "easier", "dosage": "default"}),
    ("no-previous-holds", reps_item(reps=5, prev=None), None),
    ("hold-minus-5", ItemDosage("hold", 3, seconds=30, prev="p"), {"seconds": 25}),
    ("hold-floor-10", ItemDosage("hold", 3, seconds=12, prev="p"), {"seconds": 10}),
    (
        "hold-10-previous",
        ItemDosage("hold", 3, seconds=10, prev="p"),
        {"exercise": "p", "dosage": "default"},
    ),
    ("hold-10-no-previous", ItemDosage("hold", 3, seconds=10), None),
    ("timed-10-percent", ItemDosage("timed", 1, seconds=120), {"seconds": 110}),
    ("timed-rounds-to-5", ItemDosage("timed", 1, seconds=300), {"seconds": 270}),
    ("timed-at-least-5", ItemDosage("timed", 1, seconds=20), {"seconds": 15}),
    ("timed-not-below-5", ItemDosage("timed", 1, seconds=5), None),
]


@pytest.mark.parametrize(
    ("item", "proposed"), [s[1:] for s in ADVANCE_STEPS], ids=[s[0] for s in ADVANCE_STEPS]
)
def test_advance_step(item: ItemDosage, proposed: dict | None) -> None:
    assert progression.advance_step(item) == proposed


@pytest.mark.parametrize(
    ("item", "proposed"), [s[1:] for s in REGRESS_STEPS], ids=[s[0] for s in REGRESS_STEPS]
)
def test_regress_step(item: ItemDosage, proposed: dict | None) -> None:
    assert progression.regress_step(item) == proposed


def test_reps_item_needs_reps_and_default_reps() -> None:
    with pytest.raises(ValueError):
        ItemDosage("reps", sets=3, reps=10)


# --- Pain zones, soreness rules -------------------------------------------------------------


@pytest.mark.parametrize(
    ("pain", "zone"),
    [
        (0, "safe"),
        (2, "safe"),
        (3, "acceptable"),
        (5, "acceptable"),
        (6, "too_much"),
        (10, "too_much"),
    ],
)
def test_pain_zone_boundaries(pain: int, zone: str) -> None:
    assert safety.pain_zone(pain) == zone


@pytest.mark.parametrize("pain", [-1, 11])
def test_pain_outside_0_to_10_is_refused(pain: int) -> None:
    with pytest.raises(ValueError):
        safety.pain_zone(pain)


SORENESS_TABLE = [
    # warm-up, next day → key, may advance, stop now, rest days, drop a level
    ("none", False, "none", True, False, 0, False),
    ("gone", False, "gone", False, False, 0, False),
    ("continues", False, "continues", False, True, 2, True),
    ("none", True, "next_day", False, False, 1, False),
    ("gone", True, "next_day", False, False, 1, False),
    ("continues", True, "continues", False, True, 2, True),
]


@pytest.mark.parametrize(
    ("warmup", "next_day", "key", "may_advance", "stop_now", "rest_days", "drop_level"),
    SORENESS_TABLE,
)
def test_soreness_rules(
    warmup: safety.WarmupSoreness,
    next_day: bool,
    key: str,
    may_advance: bool,
    stop_now: bool,
    rest_days: int,
    drop_level: bool,
) -> None:
    advice = safety.soreness_rule(warmup, next_day)
    assert (advice.key, advice.may_advance, advice.stop_now, advice.rest_days) == (
        key,
        may_advance,
        stop_now,
        rest_days,
    )
    assert advice.drop_level == drop_level
    assert advice.advice == safety.SORENESS_ADVICE[key]


# --- Red flags and guidance -----------------------------------------------------------------

RED_FLAG_URGENCY = {
    "chest_pain": "emergency",
    "dizzy_or_fainting": "emergency",
    "breathless_at_rest": "emergency",
    "racing_heartbeat": "emergency",
    "stroke_signs": "emergency",
    "saddle_numbness": "emergency",
    "calf_or_sudden_breathless": "emergency",
    "sharp_or_rising_pain": "contact",
}


def test_red_flag_catalogue_covers_the_spec_list() -> None:
    assert {flag.key: flag.urgency for flag in safety.RED_FLAGS} == RED_FLAG_URGENCY
    signs = {flag.sign for flag in safety.RED_FLAGS if flag.urgency == "emergency"}
    assert signs == {"cardiac", "stroke", "clot", "saddle"}
    for flag in safety.RED_FLAGS:
        assert flag.question.endswith("?")


@pytest.mark.parametrize(("key", "urgency"), sorted(RED_FLAG_URGENCY.items()))
def test_each_red_flag_alone(key: str, urgency: str) -> None:
    guidance = safety.red_flag_guidance([key])
    assert guidance is not None
    assert (guidance.urgency, guidance.flags) == (urgency, (key,))


def test_emergency_wins_over_contact() -> None:
    guidance = safety.red_flag_guidance(["sharp_or_rising_pain", "calf_or_sudden_breathless"])
    assert guidance is not None
    assert guidance.urgency == "emergency"
    assert guidance.message == "Stop now. Call your emergency number now: 911."


def test_emergency_number_is_a_clinic_setting() -> None:
    guidance = safety.red_flag_guidance(["chest_pain"], emergency_number="112")
    assert guidance is not None
    assert "112" in guidance.message


def test_contact_guidance_says_contact_your_therapist() -> None:
    guidance = safety.red_flag_guidance(["sharp_or_rising_pain"])
    assert guidance is not None
    assert "contact your therapist" in guidance.message.lower()


def test_no_red_flag_no_guidance_and_unknown_refused() -> None:
    assert safety.red_flag_guidance([]) is None
    with pytest.raises(ValueError):
        safety.red_flag_guidance(["headache"])


# --- Alerts ----------------------------------------------------------------------------------

S = safety.SessionSignals
ALERT_TABLE = [
    # (id, latest, previous, baseline, kinds raised)
    ("quiet", S(2), S(2), 2, []),
    ("red-flag", S(1, ("chest_pain",)), None, None, ["red_flag"]),
    ("pain-6-once", S(6), S(5), None, []),
    ("pain-7", S(7), None, None, ["severe_pain"]),
    ("pain-over-5-twice", S(6), S(6), None, ["pain_over_5_twice"]),
    ("pain-7-twice", S(7), S(8), None, ["severe_pain", "pain_over_5_twice"]),
    ("baseline-plus-1", S(4), None, 3, []),
    ("baseline-plus-2", S(5), None, 3, ["worsening"]),
    ("no-pain-answer", S(None), S(9), 0, []),
    (
        "everything",
        S(9, ("stroke_signs",)),
        S(6),
        3,
        ["red_flag", "severe_pain", "pain_over_5_twice", "worsening"],
    ),
]


@pytest.mark.parametrize(
    ("latest", "previous", "baseline", "kinds"),
    [row[1:] for row in ALERT_TABLE],
    ids=[row[0] for row in ALERT_TABLE],
)
def test_alert_rules(
    latest: safety.SessionSignals,
    previous: safety.SessionSignals | None,
    baseline: int | None,
    kinds: list[str],
) -> None:
    alerts = safety.alerts_for(latest, previous, baseline)
    assert [alert.kind for alert in alerts] == kinds


def test_red_flag_and_severe_pain_are_immediate() -> None:
    alerts = safety.alerts_for(S(9, ("chest_pain",)), S(6), 3)
    severity = {alert.kind: alert.severity for alert in alerts}
    assert severity == {
        "red_flag": "immediate",
        "severe_pain": "immediate",
        "pain_over_5_twice": "routine",
        "worsening": "routine",
    }


# --- Contraindication screening -------------------------------------------------------------


def test_contraindication_tags_from_the_97110_seed() -> None:
    assert list(safety.CONTRAINDICATIONS) == [
        "acute_fracture",
        "severe_osteoporosis",
        "uncontrolled_cardiovascular",
        "infection_at_site",
        "significant_pain_or_instability",
    ]


@pytest.mark.parametrize(
    ("tags", "conditions", "matches"),
    [
        ([], ["acute_fracture"], []),
        (["severe_osteoporosis"], [], []),
        (["severe_osteoporosis"], ["acute_fracture"], []),
        (["acute_fracture"], ["acute_fracture"], ["acute_fracture"]),
        (
            ["infection_at_site", "acute_fracture", "uncontrolled_cardiovascular"],
            ["uncontrolled_cardiovascular", "infection_at_site"],
            ["uncontrolled_cardiovascular", "infection_at_site"],
        ),
    ],
)
def test_screen(tags: list[str], conditions: list[str], matches: list[str]) -> None:
    assert safety.screen(tags, conditions) == matches


# --- CMS 8-minute rule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "units"),
    [
        (0, 0),
        (7, 0),
        (8, 1),
        (22, 1),
        (23, 2),
        (37, 2),
        (38, 3),
        (52, 3),
        (53, 4),
        (67, 4),
        (68, 5),
    ],
)
def test_eight_minute_boundaries(minutes: int, units: int) -> None:
    assert billing.units_for_minutes(minutes) == units


def test_split_gives_whole_blocks_first() -> None:
    split = billing.split_units({"97110": 24, "97530": 24})
    # 48 min → 3 units; each code has one block and 9 min left: the tie goes to the lower code.
    assert split == billing.UnitSplit(3, {"97110": 2, "97530": 1})


def test_split_of_nothing() -> None:
    assert billing.split_units({"97110": 7}) == billing.UnitSplit(0, {})


# --- RTM ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "code"),
    [(0, None), (1, None), (2, "98985"), (15, "98985"), (16, "98977"), (30, "98977")],
)
def test_rtm_device_code(days: int, code: str | None) -> None:
    assert billing.device_code(days) == code


@pytest.mark.parametrize(
    ("minutes", "codes"),
    [
        (9, []),
        (10, ["98979"]),
        (20, ["98980"]),
        (59, ["98980", "98981"]),
        (60, ["98980", "98981", "98981"]),
    ],
)
def test_rtm_management_codes(minutes: int, codes: list[str]) -> None:
    assert billing.management_codes(minutes, interactive=True) == codes


def test_rtm_months_group_by_calendar_month() -> None:
    entries = [
        billing.TimeEntry(date(2026, 10, 30), 15, interactive=False),
        billing.TimeEntry(date(2026, 11, 2), 12, interactive=True),
        billing.TimeEntry(date(2026, 10, 31), 10, interactive=True),
    ]
    assert billing.rtm_months(entries) == [
        billing.RtmMonth(2026, 10, 25, True, ["98980"]),
        billing.RtmMonth(2026, 11, 12, True, ["98979"]),
    ]


def test_rtm_day_counts_once() -> None:
    start = date(2026, 10, 1)
    next_day = start + timedelta(days=1)
    periods = billing.rtm_periods(start, [start, start, next_day], as_of=next_day)
    assert [(p.days, p.code, p.complete) for p in periods] == [(2, "98985", False)]


# --- PSFS ---------------------------------------------------------------------------------


def test_psfs_mean_change_of_2_is_important() -> None:
    assert outcomes.psfs_change([3, 4], [5, 6]).important
    assert not outcomes.psfs_change([3, 4], [5, 5]).important


@pytest.mark.parametrize(("before", "after", "important"), [(2, 4, False), (2, 5, True)])
def test_psfs_item_mcid_is_3(before: int, after: int, important: bool) -> None:
    assert outcomes.psfs_item_important(before, after) == important


# --- Adherence rules and streak -------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (1.0, "green"),
        (0.8, "green"),
        (0.7999, "amber"),
        (0.5, "amber"),
        (0.4999, "red"),
        (0.0, "red"),
        (None, None),
    ],
)
def test_bands(score: float | None, expected: str | None) -> None:
    assert adherence.band(score) == expected


def test_today_counts_only_what_is_done() -> None:
    schedule = Schedule(EVERY_DAY, 2, start=MONDAY)
    assert adherence.prescribed_on(schedule, MONDAY, MONDAY, 0) == 0
    assert adherence.prescribed_on(schedule, MONDAY, MONDAY, 1) == 1
    assert adherence.prescribed_on(schedule, MONDAY, MONDAY, 3) == 2
    assert adherence.completed_on(schedule, MONDAY, MONDAY, 3) == 2
    assert adherence.prescribed_on(schedule, MONDAY, MONDAY + timedelta(days=1), 0) == 2


def test_days_outside_the_program_prescribe_nothing() -> None:
    schedule = Schedule(MON_WED_FRI, 1, start=MONDAY, end=MONDAY + timedelta(days=7))
    today = MONDAY + timedelta(days=30)
    assert adherence.prescribed_on(schedule, MONDAY - timedelta(days=7), today, 1) == 0
    assert adherence.prescribed_on(schedule, MONDAY + timedelta(days=14), today, 1) == 0
    assert adherence.prescribed_on(schedule, MONDAY + timedelta(days=1), today, 1) == 0


def test_counted_session_needs_one_exercise_performed() -> None:
    assert adherence.is_counted_session([False, True])
    assert not adherence.is_counted_session([False, False])
    assert not adherence.is_counted_session([])


def test_inactive_after_three_missed_scheduled_days() -> None:
    schedule = Schedule(MON_WED_FRI, 1, start=date(2026, 11, 2))
    # Before Monday 23 Nov the last three scheduled days are Fri 20, Wed 18, Mon 16.
    assert adherence.is_inactive(schedule, [date(2026, 11, 13)], MONDAY)
    assert not adherence.is_inactive(schedule, [date(2026, 11, 16)], MONDAY)
    assert not adherence.is_inactive(schedule, [], date(2026, 11, 6))  # only two days so far


def test_dose_adherence_of_nothing_is_undefined() -> None:
    assert adherence.dose_adherence([]) is None
    assert adherence.volume([10, 10, 8]) == 28


def d(day: int) -> date:
    return date(2026, 11, day)


START = date(2026, 10, 5)
STREAKS = [
    # (id, weekdays, times per day, start, session days, today, streak)
    ("none", MON_WED_FRI, 1, START, [], d(23), 0),
    ("today-not-done-does-not-break", MON_WED_FRI, 1, START, [d(16), d(18), d(20)], d(23), 3),
    ("today-done-counts", MON_WED_FRI, 1, START, [d(18), d(20), d(23)], d(23), 3),
    ("skips-unscheduled-days", MON_WED_FRI, 1, START, [d(20)], d(22), 1),
    ("missed-scheduled-day-breaks", MON_WED_FRI, 1, START, [d(16), d(20)], d(23), 1),
    ("missed-yesterday-breaks", EVERY_DAY, 1, START, [d(20), d(21)], d(23), 0),
    ("rest-day-sessions-do-not-count", MON_WED_FRI, 1, START, [d(19), d(21)], d(23), 0),
    ("twice-daily-needs-both", EVERY_DAY, 2, START, [d(21), d(21), d(22)], d(23), 0),
    ("twice-daily-done", EVERY_DAY, 2, START, [d(21), d(21), d(22), d(22), d(23)], d(23), 2),
    ("stops-at-start", EVERY_DAY, 1, d(2), [d(n) for n in range(1, 23)], d(23), 21),
]


@pytest.mark.parametrize(
    ("weekdays", "times", "start", "sessions", "today", "expected"),
    [row[1:] for row in STREAKS],
    ids=[row[0] for row in STREAKS],
)
def test_streak(
    weekdays: frozenset[int],
    times: int,
    start: date,
    sessions: list[date],
    today: date,
    expected: int,
) -> None:
    schedule = Schedule(weekdays, times, start=start)
    assert adherence.streak(schedule, sessions, today) == expected


# --- The rules stay pure --------------------------------------------------------------------


def test_rules_import_only_the_standard_library() -> None:
    rules_dir = Path(adherence.__file__).parent
    for module in rules_dir.glob("*.py"):
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                allowed = top in sys.stdlib_module_names or name.startswith("hep.rules")
                assert allowed, f"{module.name} imports {name}"
