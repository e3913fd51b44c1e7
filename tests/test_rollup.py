"""The caseload rollup equals recomputation with the rule functions, whatever the history.

Each history is recorded through record_session (which refreshes the rollup in the log's own
transaction); the expected figures are worked out here from the same sessions with
hep.rules alone, with local dates converted independently of the app's code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from hep import rollup
from hep.models import Alert, ExerciseLog, PatientRollup, SessionLog, User
from hep.patient import service
from hep.rules.adherence import DoseItem as RuleDoseItem
from hep.rules.adherence import (
    Schedule,
    adherence,
    dose_adherence,
    summarize,
    volume,
    weekdays_from_names,
)
from hep.timeutil import local_date, utcnow
from tests.test_patient import make_program, submission


@dataclass
class History:
    name: str
    timezone: str
    days: tuple[str, ...]
    times_per_day: int
    start: date
    now: datetime
    # (performed_at in UTC, counted?, pain)
    sessions: list[tuple[datetime, bool, int]]


def _utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def _every(start: date, end: date, weekdays: set[int], hour: int = 15) -> list[datetime]:
    out, day = [], start
    while day <= end:
        if day.weekday() in weekdays:
            out.append(_utc(day, hour))
        day += timedelta(days=1)
    return out


NOW = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
START = date(2026, 10, 26)  # a Monday, 3½ weeks before NOW

HISTORIES = [
    History(
        "adherent three days a week",
        "America/New_York",
        ("mon", "wed", "fri"),
        1,
        START,
        NOW,
        [(at, True, 2) for at in _every(START, date(2026, 11, 20), {0, 2, 4})],
    ),
    History(
        "twice a day, often once",
        "America/Chicago",
        ("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
        2,
        START,
        NOW,
        [(at, True, 3) for at in _every(START, date(2026, 11, 19), set(range(7)))]
        + [(at, True, 3) for at in _every(START, date(2026, 11, 19), {1, 3}, hour=22)],
    ),
    History(
        "inactive for the last scheduled days, skips and rest-day extras",
        "America/Los_Angeles",
        ("mon", "wed", "fri"),
        1,
        START,
        NOW,
        [(at, True, 4) for at in _every(START, date(2026, 11, 9), {0, 2, 4}, hour=19)]
        + [(_utc(date(2026, 11, 1), 19), True, 4)]  # a Sunday: kept, does not count
        + [(_utc(date(2026, 11, 11), 19), False, 5)],  # everything skipped: not counted
    ),
    History(
        # Around the end of daylight saving time in New York (2026-11-01 06:00 UTC).
        "logged in UTC around the DST change",
        "America/New_York",
        ("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
        1,
        date(2026, 10, 28),
        datetime(2026, 11, 4, 12, 0, tzinfo=UTC),
        [
            (datetime(2026, 10, 30, 3, 30, tzinfo=UTC), True, 3),  # Oct 29, 23:30 EDT
            (datetime(2026, 10, 31, 3, 59, tzinfo=UTC), True, 3),  # Oct 30, 23:59 EDT
            (datetime(2026, 11, 1, 3, 30, tzinfo=UTC), True, 3),  # Oct 31, 23:30 EDT
            (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), True, 3),  # Nov 1, 01:30 EDT
            (datetime(2026, 11, 1, 6, 30, tzinfo=UTC), True, 3),  # Nov 1, 01:30 EST again
            (datetime(2026, 11, 2, 4, 30, tzinfo=UTC), True, 3),  # Nov 1, 23:30 EST
            (datetime(2026, 11, 3, 4, 59, tzinfo=UTC), True, 6),  # Nov 2, 23:59 EST
        ],
    ),
]


def _record(db, patient, program, items, sessions):
    for performed, counted, pain in sessions:
        data = submission(program, items, performed, pain=pain)
        if not counted:
            for entry in data.exercises:
                entry.skipped_reason = "tired"
        received = performed + timedelta(minutes=2)
        service.record_session(db, received, patient, data)
        db.commit()


def _expected(history: History) -> dict:
    zone = ZoneInfo(history.timezone)
    schedule = Schedule(
        weekdays_from_names(history.days), history.times_per_day, history.start, None
    )
    today = history.now.astimezone(zone).date()
    days = [at.astimezone(zone).date() for at, counted, _p in history.sessions if counted]
    summary = summarize(schedule, days, today)
    sparkline = [
        round(score, 4)
        for weeks_back in range(7, -1, -1)
        if (score := adherence(schedule, days, today - timedelta(days=7 * weeks_back), 7))
        is not None
    ]
    latest = max(history.sessions, key=lambda s: s[0])
    return {
        "computed_for": today,
        "adherence_7": summary.adherence_7,
        "adherence_30": summary.adherence_30,
        "adherence_all": summary.adherence_since_start,
        "inactive": summary.inactive,
        "sparkline": sparkline,
        "last_session_at": latest[0],
        "last_pain": latest[2],
    }


@pytest.mark.parametrize("history", HISTORIES, ids=lambda h: h.name)
def test_rollup_equals_recomputation_with_the_rules(history, people, db):
    clinic = people.clinic_with_patient()
    patient = clinic.patient
    patient.timezone = history.timezone
    db.add(patient)
    program, items = make_program(
        db,
        clinic.therapist,
        patient,
        start=history.start,
        days=history.days,
        times_per_day=history.times_per_day,
    )
    _record(db, patient, program, items, history.sessions)
    row = rollup.refresh_patient(db, history.now, patient.id)
    db.commit()
    got = {name: getattr(row, name) for name in _expected(history)}
    assert got == _expected(history)
    assert got["adherence_7"] is not None


def test_local_dates_around_the_dst_change(people, db):
    history = HISTORIES[-1]
    clinic = people.clinic_with_patient()
    patient = clinic.patient
    program, items = make_program(db, clinic.therapist, patient, start=history.start)
    _record(db, patient, program, items, history.sessions)
    stored = db.exec(select(SessionLog.local_date).order_by(SessionLog.performed_at)).all()
    assert stored == [
        date(2026, 10, 29),
        date(2026, 10, 30),
        date(2026, 10, 31),
        date(2026, 11, 1),
        date(2026, 11, 1),
        date(2026, 11, 1),
        date(2026, 11, 2),
    ]


def test_a_program_edited_midway_keeps_each_logs_target(people, db):
    """Dose adherence uses the prescription each log stored, not today's."""
    clinic = people.clinic_with_patient()
    patient = clinic.patient
    program, items = make_program(
        db, clinic.therapist, patient, start=START, items=(("reps", 2, 10),)
    )
    (item,) = items
    before = [_utc(date(2026, 11, d), 15) for d in (2, 3)]
    after = [_utc(date(2026, 11, d), 15) for d in (4, 5)]
    _record(db, patient, program, items, [(at, True, 2) for at in before])
    item.reps = 12  # the therapist raises the dose
    db.add(item)
    db.commit()
    _record(db, patient, program, items, [(at, True, 2) for at in after])

    logs = db.exec(select(ExerciseLog).order_by(ExerciseLog.id)).all()
    assert [log.target_reps for log in logs] == [10, 10, 12, 12]
    got = dose_adherence(rollup.dose_item(log) for log in logs)
    expected = dose_adherence(
        [RuleDoseItem(volume([10, 10]), volume([10, 10]))] * 2
        + [RuleDoseItem(volume([12, 12]), volume([12, 12]))] * 2
    )
    assert got == expected == 1.0
    # Doing the old dose after the change is 20 of 24, not a full dose.
    partial = _utc(date(2026, 11, 6), 15)
    data = submission(program, items, partial)
    data.exercises[0].sets_done = [10, 10]
    service.record_session(db, partial, patient, data)
    db.commit()
    last = db.exec(select(ExerciseLog).order_by(ExerciseLog.id.desc())).first()
    assert rollup.dose_item(last) == RuleDoseItem(24.0, 20.0)

    # Editing the schedule midway: the rollup follows the program as it stands now.
    now = datetime(2026, 11, 9, 17, 0, tzinfo=UTC)
    program.days = ["mon", "wed", "fri"]
    db.add(program)
    db.commit()
    row = rollup.refresh_patient(db, now, patient.id)
    days = [log.local_date for log in db.exec(select(SessionLog)).all() if log.counted]
    schedule = Schedule(frozenset({0, 2, 4}), 1, START)
    assert row.adherence_30 == pytest.approx(adherence(schedule, days, date(2026, 11, 9), 30))


def test_skipped_and_empty_logs_have_no_dose():
    skipped = ExerciseLog(
        session_id=1,
        program_item_id=1,
        exercise_id=1,
        dosage_kind="reps",
        target_sets=2,
        target_reps=10,
        skipped_reason="tired",
    )
    hold = ExerciseLog(
        session_id=1,
        program_item_id=1,
        exercise_id=1,
        dosage_kind="hold",
        target_sets=3,
        target_seconds=30,
        sets_done=[30, 20, 0],
    )
    assert rollup.dose_item(skipped) is None
    assert rollup.dose_item(hold) == RuleDoseItem(90.0, 50.0)


def test_alert_counts_last_pain_and_worsening(people, db):
    clinic = people.clinic_with_patient()
    patient = clinic.patient
    from hep.models import PatientProfile

    profile = db.get(PatientProfile, patient.id)
    profile.baseline_pain = 3
    db.add(profile)
    program, items = make_program(db, clinic.therapist, patient, start=START)
    _record(db, patient, program, items, [(_utc(date(2026, 11, 2), 15), True, 2)])
    row = db.get(PatientRollup, patient.id)
    assert (row.open_alerts, row.urgent_alerts, row.last_pain, row.worsening) == (0, 0, 2, False)

    data = submission(program, items, _utc(date(2026, 11, 3), 15), pain=8)
    data.red_flags = ["dizzy_or_fainting"]
    service.record_session(db, _utc(date(2026, 11, 3), 16), patient, data)
    db.commit()
    db.refresh(row)
    # red flag + severe pain (immediate) and worsening (routine)
    assert (row.open_alerts, row.urgent_alerts, row.last_pain, row.worsening) == (3, 2, 8, True)

    for alert in db.exec(select(Alert)).all():
        alert.acknowledged_at = _utc(date(2026, 11, 3), 17)
        alert.acknowledged_by_id = clinic.therapist.id
        db.add(alert)
    row = rollup.refresh_patient(db, _utc(date(2026, 11, 3), 17), patient.id)
    assert (row.open_alerts, row.urgent_alerts) == (0, 0)


def test_refresh_stale_redoes_patients_whose_day_rolled_over(people, db):
    clinic = people.clinic_with_patient()
    east = clinic.patient
    west = people.patient(
        clinic.therapist, name="West", email="w@example.com", timezone="America/Los_Angeles"
    )
    program, items = make_program(db, clinic.therapist, east, start=START)
    make_program(db, clinic.therapist, west, start=START)

    first = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # 22:00 in New York, 19:00 in LA
    assert rollup.refresh_stale(db, first) == 2
    db.commit()
    assert rollup.refresh_stale(db, first + timedelta(minutes=5)) == 0
    # 00:30 in New York (a new day), 21:30 in Los Angeles (the same day)
    later = datetime(2026, 11, 20, 5, 30, tzinfo=UTC)
    assert rollup.refresh_stale(db, later) == 1
    db.commit()
    east_row = db.get(PatientRollup, east.id)
    west_row = db.get(PatientRollup, west.id)
    assert east_row.computed_for == date(2026, 11, 20)
    assert west_row.computed_for == date(2026, 11, 19)


def test_the_scheduled_job_refreshes_stale_rollups(app, people, db):
    from hep.jobs import refresh_rollups

    clinic = people.clinic_with_patient()
    make_program(db, clinic.therapist, clinic.patient, start=START)
    assert refresh_rollups(db, NOW) == 1
    db.commit()
    assert db.get(PatientRollup, clinic.patient.id).computed_for == date(2026, 11, 20)


def test_lock_patient_creates_the_row_once(people, db):
    clinic = people.clinic_with_patient()
    patient = db.get(User, clinic.patient.id)
    rollup.lock_patient(db, NOW, patient)
    rollup.lock_patient(db, NOW + timedelta(seconds=1), patient)
    db.commit()
    rows = db.exec(select(PatientRollup)).all()
    assert len(rows) == 1 and rows[0].updated_at == NOW + timedelta(seconds=1)


def test_demo_patients_show_every_state_and_their_rollups_are_right(app, db):
    from hep.demo import seed
    from hep.models import Program, ProgramItem
    from hep.rules.adherence import band
    from hep.rules.progression import ItemDosage, SessionResult, decide

    now = utcnow()
    seed(db, now)
    db.commit()
    patients = {u.name.split()[0]: u for u in db.exec(select(User).where(User.role == "patient"))}
    rows = {name: db.get(PatientRollup, u.id) for name, u in patients.items()}
    for name, patient in patients.items():
        program = rollup.current_program(db, patient.id)
        days = [
            log.local_date
            for log in db.exec(select(SessionLog).where(SessionLog.program_id == program.id))
            if log.counted
        ]
        today = local_date(now, patient.timezone)
        summary = summarize(rollup.schedule_for(program), days, today)
        assert rows[name].adherence_7 == summary.adherence_7, name
        assert rows[name].adherence_30 == summary.adherence_30, name
        assert rows[name].inactive == summary.inactive, name
        assert 3 * 7 <= (today - program.start_date).days <= 6 * 7, name

    assert band(rows["Rosa"].adherence_7) == "green" and band(rows["Grace"].adherence_7) == "green"
    assert band(rows["Walter"].adherence_7) == "amber"
    assert band(rows["Amina"].adherence_7) == "red"
    assert rows["Frank"].inactive
    assert rows["Harold"].urgent_alerts >= 1
    assert db.exec(select(Alert.kind).where(Alert.patient_id == patients["Harold"].id)).all() == [
        "red_flag"
    ]
    assert rows["Lucia"].worsening and rows["Lucia"].last_pain == 7

    # Rosa's last two sessions meet the advance rule for her first exercise.
    item = db.exec(
        select(ProgramItem)
        .join(Program, Program.id == ProgramItem.program_id)
        .where(Program.patient_id == patients["Rosa"].id, ProgramItem.dosage_kind == "reps")
        .order_by(ProgramItem.position)
    ).first()
    logs = db.exec(
        select(ExerciseLog, SessionLog)
        .join(SessionLog, SessionLog.id == ExerciseLog.session_id)
        .where(ExerciseLog.program_item_id == item.id)
        .order_by(SessionLog.performed_at)
    ).all()[-2:]
    results = [
        SessionResult(tuple(e.sets_done), e.pain_during, e.effort, s.warmup_soreness, False)
        for e, s in logs
    ]
    dosage = ItemDosage("reps", item.sets, reps=item.reps, default_reps=item.reps)
    assert decide(dosage, results).decision == "advance"
