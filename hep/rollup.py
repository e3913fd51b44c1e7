"""Per-patient figures the caseload reads (SPEC §8 "rollup"), kept current as logs arrive.

`refresh_patient` recomputes every figure from the patient's history with the hep.rules
functions, in the same transaction as the log that changed it; `refresh_stale` redoes the
patients whose local day has rolled over since (the scheduler runs it). The rollup row also
serves as the patient's write lock, so two submissions for one patient never interleave.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from hep.models import (
    Alert,
    ExerciseLog,
    PatientProfile,
    PatientRollup,
    Program,
    ProgressionSuggestion,
    SessionLog,
    User,
)
from hep.rules.adherence import (
    WINDOW_WEEK,
    DoseItem,
    Schedule,
    adherence,
    summarize,
    volume,
    weekdays_from_names,
)
from hep.rules.safety import SessionSignals, alerts_for
from hep.timeutil import local_date

SPARKLINE_WEEKS = 8
LAST_PAIN_LOOKBACK = 5  # last pain: the latest of these sessions that reported any


# --- Reading a patient's program and history ------------------------------------------------


def schedule_for(program: Program) -> Schedule:
    """The adherence rules' view of a program's schedule."""
    return Schedule(
        weekdays=weekdays_from_names(program.days),
        times_per_day=max(1, program.times_per_day),
        start=program.start_date,
        end=program.end_date,
    )


def current_program(db: Session, patient_id: int) -> Program | None:
    """The program the patient follows now: the active one that started last."""
    return db.exec(
        select(Program)
        .where(Program.patient_id == patient_id, Program.status == "active")
        .order_by(col(Program.start_date).desc(), col(Program.id).desc())
    ).first()


def counted_days(db: Session, patient_id: int, program_id: int) -> list[date]:
    """The local date of each counted session of a program (a date twice for two sessions)."""
    return list(
        db.exec(
            select(SessionLog.local_date).where(
                SessionLog.patient_id == patient_id,
                SessionLog.program_id == program_id,
                SessionLog.counted.is_(True),
            )
        ).all()
    )


def session_pain(log: SessionLog, exercise_logs: Iterable[ExerciseLog]) -> int | None:
    """The worst pain a session reported: during any exercise, or overall; None if none."""
    values = [e.pain_during for e in exercise_logs if e.pain_during is not None]
    if log.pain_overall is not None:
        values.append(log.pain_overall)
    return max(values, default=None)


def recent_sessions(
    db: Session, patient_id: int, limit: int, before: SessionLog | None = None
) -> list[tuple[SessionLog, list[ExerciseLog]]]:
    """The patient's latest sessions by when they were done, newest first, with their logs."""
    query = select(SessionLog).where(SessionLog.patient_id == patient_id)
    if before is not None:
        query = query.where(
            (SessionLog.performed_at < before.performed_at)
            | ((SessionLog.performed_at == before.performed_at) & (SessionLog.id < before.id))
        )
    logs = db.exec(
        query.order_by(col(SessionLog.performed_at).desc(), col(SessionLog.id).desc()).limit(limit)
    ).all()
    return with_exercise_logs(db, logs)


def with_exercise_logs(
    db: Session, logs: Sequence[SessionLog]
) -> list[tuple[SessionLog, list[ExerciseLog]]]:
    """Each session beside its exercise logs in program order, in one query."""
    by_session: dict[int, list[ExerciseLog]] = {log.id: [] for log in logs}
    if by_session:
        for row in db.exec(
            select(ExerciseLog)
            .where(col(ExerciseLog.session_id).in_(by_session))
            .order_by(ExerciseLog.position, ExerciseLog.id)
        ).all():
            by_session[row.session_id].append(row)
    return [(log, by_session[log.id]) for log in logs]


def signals_of(log: SessionLog, exercise_logs: Sequence[ExerciseLog]) -> SessionSignals:
    """What a stored session says for the alert rules."""
    return SessionSignals(pain=session_pain(log, exercise_logs), red_flags=tuple(log.red_flags))


def dose_item(log: ExerciseLog) -> DoseItem | None:
    """Target and actual volume of a performed exercise log (None when skipped or not done).

    Target volume is the prescription stored with the log: sets × reps, or sets × seconds.
    """
    if log.skipped_reason is not None or not any(log.sets_done):
        return None
    per_set = log.target_reps if log.dosage_kind == "reps" else log.target_seconds
    if not per_set:
        return None
    return DoseItem(target=volume([per_set] * log.target_sets), actual=volume(log.sets_done or []))


# --- The patient's write lock ---------------------------------------------------------------


def lock_patient(db: Session, now: datetime, patient: User) -> None:
    """Take the patient's rollup row for this transaction (creating it the first time).

    Every write of patient logs starts here, so concurrent submissions of one patient run one
    after the other: on PostgreSQL the UPDATE holds the row lock, on SQLite any write holds the
    database's write lock. The UPDATE is also what opens the transaction on SQLite, so the
    savepoints that follow nest inside it.
    """
    stmt = (
        update(PatientRollup)
        .where(PatientRollup.patient_id == patient.id)
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if db.execute(stmt).rowcount:
        return
    try:
        with db.begin_nested():
            db.add(
                PatientRollup(patient_id=patient.id, clinic_id=patient.clinic_id, updated_at=now)
            )
    except IntegrityError:
        db.execute(stmt)


# --- The rollup -------------------------------------------------------------------------------


def refresh_patient(db: Session, now: datetime, patient_id: int) -> PatientRollup:
    """Recompute every caseload figure of one patient, as of `now` in their time zone.

    Adherence windows, inactivity and the sparkline come from hep.rules.adherence over the
    counted sessions of the current program; last pain and worsening from hep.rules.safety.
    Written in the caller's transaction.
    """
    patient = db.get(User, patient_id)
    if patient is None or patient.role != "patient":
        raise ValueError(f"no patient {patient_id}")
    today = local_date(now, patient.timezone)
    rollup = db.get(PatientRollup, patient_id) or PatientRollup(
        patient_id=patient_id, clinic_id=patient.clinic_id
    )

    program = current_program(db, patient_id)
    if program is not None:
        schedule = schedule_for(program)
        days = counted_days(db, patient_id, program.id)
        summary = summarize(schedule, days, today)
        rollup.adherence_7 = summary.adherence_7
        rollup.adherence_30 = summary.adherence_30
        rollup.adherence_all = summary.adherence_since_start
        rollup.inactive = summary.inactive
        rollup.sparkline = weekly_adherence(schedule, days, today)
    else:
        rollup.adherence_7 = rollup.adherence_30 = rollup.adherence_all = None
        rollup.inactive = False
        rollup.sparkline = []

    latest = recent_sessions(db, patient_id, limit=LAST_PAIN_LOOKBACK)
    rollup.last_session_at = latest[0][0].performed_at if latest else None
    rollup.last_pain = next(
        (pain for log, logs in latest if (pain := session_pain(log, logs)) is not None), None
    )
    profile = db.get(PatientProfile, patient_id)
    baseline = profile.baseline_pain if profile else None
    rollup.worsening = rollup.last_pain is not None and any(
        alert.kind == "worsening"
        for alert in alerts_for(SessionSignals(pain=rollup.last_pain), None, baseline)
    )

    open_alerts = db.exec(
        select(Alert.severity, func.count())
        .where(Alert.patient_id == patient_id, Alert.acknowledged_at.is_(None))
        .group_by(Alert.severity)
    ).all()
    rollup.open_alerts = sum(count for _severity, count in open_alerts)
    rollup.urgent_alerts = sum(count for severity, count in open_alerts if severity == "immediate")
    rollup.pending_suggestions = db.exec(
        select(func.count())
        .select_from(ProgressionSuggestion)
        .where(
            ProgressionSuggestion.patient_id == patient_id,
            ProgressionSuggestion.status == "pending",
        )
    ).one()
    rollup.computed_for = today
    rollup.updated_at = now
    db.add(rollup)
    db.flush()
    return rollup


def weekly_adherence(schedule: Schedule, days: Sequence[date], today: date) -> list[float]:
    """7-day adherence for each of the last 8 weeks ending today, oldest first; weeks with
    nothing prescribed are left out (a sparkline of what there is)."""
    points: list[float] = []
    for weeks_back in range(SPARKLINE_WEEKS - 1, -1, -1):
        end = today - timedelta(days=WINDOW_WEEK * weeks_back)
        score = adherence(schedule, days, end, WINDOW_WEEK)
        if score is not None:
            points.append(round(score, 4))
    return points


def refresh_stale(db: Session, now: datetime) -> int:
    """Refresh every patient whose rollup was computed for an earlier local day (or never).

    Returns how many were refreshed. Patients are grouped by time zone, so "today" is worked
    out once per zone.
    """
    zones = db.exec(
        select(User.timezone).where(User.role == "patient", User.active.is_(True)).distinct()
    ).all()
    refreshed = 0
    for zone in zones:
        today = local_date(now, zone)
        stale = db.exec(
            select(User.id)
            .join(PatientRollup, PatientRollup.patient_id == User.id, isouter=True)
            .where(
                User.role == "patient",
                User.active.is_(True),
                User.timezone == zone,
                (PatientRollup.computed_for.is_(None)) | (PatientRollup.computed_for < today),
            )
        ).all()
        for patient_id in stale:
            refresh_patient(db, now, patient_id)
            refreshed += 1
    return refreshed
