"""The patient's side: what is due today, recording a session, the morning check-in, history.

`record_session` is the one way a session gets stored, from the HTML form, the JSON API and the
demo alike: idempotent on the phone's client UUID, with the prescription stored beside what was
done, alerts raised and the caseload rollup refreshed in the same transaction.
"""

from __future__ import annotations

import calendar
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from hep import alerts, progression, rollup
from hep.library.service import media_for
from hep.models import (
    Exercise,
    ExerciseLog,
    ExerciseMedia,
    MorningCheckin,
    Program,
    ProgramItem,
    ProgressionSuggestion,
    SessionLog,
    User,
)
from hep.patient.schemas import MAX_REPS_PER_SET, CheckinSubmission, SessionSubmission
from hep.programs.service import describe_dosage, item_dosage, live_items
from hep.rules.adherence import Schedule, completed_on, streak
from hep.rules.safety import soreness_rule
from hep.timeutil import local_date, local_datetime

CHECKIN_WITHIN_DAYS = 2  # a check-in asks about a session of yesterday or the day before


class InvalidSubmission(ValueError):
    """The session names a program or exercise that is not the patient's; nothing is stored."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(f"session refused: {sorted(errors)}")
        self.errors = errors


# --- Recording a session ----------------------------------------------------------------------


def find_session(db: Session, patient_id: int, client_uuid: UUID) -> SessionLog | None:
    return db.exec(
        select(SessionLog).where(
            SessionLog.patient_id == patient_id, SessionLog.client_uuid == client_uuid
        )
    ).first()


def _owned_items(
    db: Session, patient: User, submission: SessionSubmission
) -> tuple[Program, dict[int, ProgramItem]]:
    program = db.get(Program, submission.program_id)
    if program is None or program.patient_id != patient.id:
        raise InvalidSubmission({"__all__": "This program is not yours."})
    wanted = [entry.program_item_id for entry in submission.exercises]
    items = {
        item.id: item
        for item in db.exec(
            select(ProgramItem).where(
                col(ProgramItem.id).in_(wanted), ProgramItem.program_id == program.id
            )
        ).all()
    }
    if any(item_id not in items for item_id in wanted):
        raise InvalidSubmission({"__all__": "An exercise in this session is not on your program."})
    too_many = {
        f"i{entry.program_item_id}-set": f"Each set must be {MAX_REPS_PER_SET} reps or fewer"
        for entry in submission.exercises
        if items[entry.program_item_id].dosage_kind == "reps"
        and any(n > MAX_REPS_PER_SET for n in entry.sets_done)
    }
    if too_many:
        raise InvalidSubmission(too_many)
    return program, items


def record_session(
    db: Session, now: datetime, patient: User, submission: SessionSubmission
) -> tuple[SessionLog, bool]:
    """Store one session once: (the log, True) the first time, (the stored log, False) after.

    The log keeps the prescription of each item as it is now beside what was done,
    `performed_at` from the phone, `received_at` = now and the local date in the patient's
    time zone. Alerts are raised and the rollup refreshed in the caller's transaction, which
    the caller commits. Raises InvalidSubmission (nothing written) for a program or item that
    is not the patient's.
    """
    existing = find_session(db, patient.id, submission.client_uuid)
    if existing is not None:
        return existing, False
    program, items = _owned_items(db, patient, submission)
    rollup.lock_patient(db, now, patient)
    # A duplicate that was waiting on the lock finds the first one's row here.
    existing = find_session(db, patient.id, submission.client_uuid)
    if existing is not None:
        return existing, False

    log = SessionLog(
        client_uuid=submission.client_uuid,
        patient_id=patient.id,
        program_id=program.id,
        performed_at=submission.performed_at,
        received_at=now,
        local_date=local_date(submission.performed_at, patient.timezone),
        warmup_soreness=submission.warmup_soreness,
        pain_overall=submission.pain_overall,
        effort_overall=submission.effort_overall,
        red_flags=list(submission.red_flags),
        notes=submission.notes,
        stopped=submission.stop_reason is not None,
        stop_reason=submission.stop_reason,
        counted=submission.counted,
    )
    try:
        with db.begin_nested():
            db.add(log)
    except IntegrityError:
        # Another node stored the same session between our look-up and our insert.
        existing = find_session(db, patient.id, submission.client_uuid)
        if existing is None:
            raise
        return existing, False

    exercise_logs = []
    for entry in submission.exercises:
        item = items[entry.program_item_id]
        skipped = entry.skipped_reason is not None
        exercise_logs.append(
            ExerciseLog(
                session_id=log.id,
                program_item_id=item.id,
                exercise_id=item.exercise_id,
                position=item.position,
                dosage_kind=item.dosage_kind,
                target_sets=item.sets,
                target_reps=item.reps if item.dosage_kind == "reps" else None,
                target_seconds={"hold": item.hold_seconds, "timed": item.duration_seconds}.get(
                    item.dosage_kind
                ),
                target_load=item.load_value,
                sets_done=[] if skipped else list(entry.sets_done),
                actual_load=None if skipped else entry.load,
                pain_during=None if skipped else entry.pain_during,
                effort=None if skipped else entry.effort,
                skipped_reason=entry.skipped_reason,
            )
        )
    db.add_all(exercise_logs)
    db.flush()
    alerts.raise_for_session(db, now, patient, log, exercise_logs)
    progression.evaluate_patient(db, now, patient.id)
    rollup.refresh_patient(db, now, patient.id)
    return log, True


def own_session(db: Session, patient: User, session_id: int) -> SessionLog | None:
    log = db.get(SessionLog, session_id)
    return log if log is not None and log.patient_id == patient.id else None


def exercise_logs_of(db: Session, log: SessionLog) -> list[tuple[ExerciseLog, Exercise]]:
    return list(
        db.exec(
            select(ExerciseLog, Exercise)
            .join(Exercise, Exercise.id == ExerciseLog.exercise_id)
            .where(ExerciseLog.session_id == log.id)
            .order_by(ExerciseLog.position, ExerciseLog.id)
        ).all()
    )


# --- What the session page shows --------------------------------------------------------------


@dataclass
class SessionStep:
    """One exercise of the guided session, with its prescription and media."""

    item: ProgramItem
    exercise: Exercise
    media: list[ExerciseMedia]

    @property
    def per_set(self) -> int:
        """What one set asks for: reps, or seconds for holds and timed exercises."""
        if self.item.dosage_kind == "hold":
            return self.item.hold_seconds or 0
        if self.item.dosage_kind == "timed":
            return self.item.duration_seconds or 0
        return self.item.reps or 0

    @property
    def dosage_words(self) -> str:
        return describe_dosage(item_dosage(self.item))

    @property
    def timer_seconds(self) -> int:
        """The big timer: the hold or the duration, or the rest between sets of reps."""
        return self.per_set if self.item.dosage_kind != "reps" else self.item.rest_seconds


def session_steps(db: Session, patient: User, program: Program) -> list[SessionStep]:
    rows = live_items(db, program)
    media = media_for(db, patient.clinic_id, [exercise.id for _item, exercise in rows])
    return [SessionStep(item, exercise, media[exercise.id]) for item, exercise in rows]


def exercise_on_program(
    db: Session, patient: User, exercise_id: int
) -> tuple[Exercise, ProgramItem, list[ExerciseMedia]] | None:
    """An exercise of the patient's current program, with its item and media; else None."""
    program = rollup.current_program(db, patient.id)
    if program is None:
        return None
    row = db.exec(
        select(ProgramItem, Exercise)
        .join(Exercise, Exercise.id == ProgramItem.exercise_id)
        .where(
            ProgramItem.program_id == program.id,
            ProgramItem.exercise_id == exercise_id,
            ProgramItem.removed_at.is_(None),
        )
    ).first()
    if row is None:
        return None
    item, exercise = row
    return exercise, item, media_for(db, patient.clinic_id, [exercise.id])[exercise.id]


# --- Today ------------------------------------------------------------------------------------


@dataclass
class TodayView:
    program: Program | None
    steps: list[SessionStep] = field(default_factory=list)
    today: date | None = None
    scheduled_today: bool = False
    due_today: int = 0
    done_today: int = 0
    week_done: int = 0
    week_due: int = 0
    streak: int = 0
    next_reminder: datetime | None = None
    reminder_days_ahead: int | None = None  # 0 today, 1 tomorrow, ...
    checkin_due: SessionLog | None = None
    stopped_today: SessionLog | None = None  # today's session that a red flag or soreness ended
    rest_until: date | None = None  # an easier dose came with rest days (SPEC §5 regress step)

    @property
    def not_started(self) -> bool:
        return self.program is not None and self.today < self.program.start_date

    @property
    def finished(self) -> bool:
        end = self.program.end_date if self.program else None
        return end is not None and self.today > end

    @property
    def done_for_today(self) -> bool:
        return self.scheduled_today and self.done_today >= self.due_today


def rest_until(db: Session, patient: User, today: date) -> date | None:
    """The first day to exercise again after a regress that asked for rest days, if still ahead.

    Rows 1 and 3 of the progression table come with 2 and 1 days off (Fees et al. 1998).
    """
    decided = db.exec(
        select(ProgressionSuggestion)
        .where(
            ProgressionSuggestion.patient_id == patient.id,
            col(ProgressionSuggestion.status).in_(("accepted", "applied")),
            ProgressionSuggestion.rest_days > 0,
        )
        .order_by(col(ProgressionSuggestion.decided_at).desc())
        .limit(1)
    ).first()
    if decided is None or decided.decided_at is None:
        return None
    first_day_back = local_date(decided.decided_at, patient.timezone) + timedelta(
        days=decided.rest_days + 1
    )
    return first_day_back if first_day_back > today else None


def today_view(db: Session, now: datetime, patient: User) -> TodayView:
    """What is due today, what is done today and this week, the streak, the next reminder."""
    today = local_date(now, patient.timezone)
    program = rollup.current_program(db, patient.id)
    view = TodayView(program=program, today=today, checkin_due=checkin_target(db, now, patient))
    if view.checkin_due is not None and _checkin_of(db, view.checkin_due) is not None:
        view.checkin_due = None
    if program is None:
        return view
    schedule = rollup.schedule_for(program)
    days = rollup.counted_days(db, patient.id, program.id)
    counts = Counter(days)
    view.steps = session_steps(db, patient, program)
    view.stopped_today = db.exec(
        select(SessionLog)
        .where(
            SessionLog.patient_id == patient.id,
            SessionLog.local_date == today,
            SessionLog.stop_reason.is_not(None),
        )
        .order_by(col(SessionLog.performed_at).desc())
    ).first()
    view.rest_until = rest_until(db, patient, today)
    view.scheduled_today = schedule.is_scheduled(today)
    view.due_today = schedule.times_per_day if view.scheduled_today else 0
    view.done_today = counts[today]
    monday = today - timedelta(days=today.weekday())
    sunday = monday + timedelta(days=6)
    for offset in range(7):
        day = monday + timedelta(days=offset)
        if schedule.is_scheduled(day):
            view.week_due += schedule.times_per_day
            view.week_done += completed_on(schedule, day, sunday, counts[day])
    view.streak = streak(schedule, days, today)
    view.next_reminder = next_reminder(schedule, program.reminder_time, now, patient, counts)
    if view.next_reminder is not None:
        view.reminder_days_ahead = (local_date(view.next_reminder, patient.timezone) - today).days
    return view


def next_reminder(
    schedule: Schedule,
    reminder_time: time | None,
    now: datetime,
    patient: User,
    counts: Counter,
) -> datetime | None:
    """When the next reminder is due (UTC): the reminder time on the next scheduled day that
    still has sessions to do; None without a reminder time or a scheduled day ahead."""
    if reminder_time is None:
        return None
    zone = ZoneInfo(patient.timezone)
    local_now = local_datetime(now, patient.timezone)
    for offset in range(0, 15):
        day = local_now.date() + timedelta(days=offset)
        if not schedule.is_scheduled(day):
            continue
        at = datetime.combine(day, reminder_time, tzinfo=zone)
        if offset == 0 and (at <= local_now or counts[day] >= schedule.times_per_day):
            continue
        return at.astimezone(UTC)
    return None


# --- Morning check-in -------------------------------------------------------------------------


def checkin_target(db: Session, now: datetime, patient: User) -> SessionLog | None:
    """The session a check-in asks about: the latest one before today, if from the last 2 days."""
    today = local_date(now, patient.timezone)
    log = db.exec(
        select(SessionLog)
        .where(SessionLog.patient_id == patient.id, SessionLog.local_date < today)
        .order_by(col(SessionLog.performed_at).desc(), col(SessionLog.id).desc())
    ).first()
    if log is None or log.local_date < today - timedelta(days=CHECKIN_WITHIN_DAYS):
        return None
    return log


def _checkin_of(db: Session, log: SessionLog) -> MorningCheckin | None:
    return db.exec(select(MorningCheckin).where(MorningCheckin.session_id == log.id)).first()


def checkin_of(db: Session, log: SessionLog) -> MorningCheckin | None:
    return _checkin_of(db, log)


def record_checkin(
    db: Session, now: datetime, patient: User, data: CheckinSubmission
) -> tuple[MorningCheckin, bool]:
    """Store the check-in against its session once; (the stored one, False) on a repeat.

    Raises InvalidSubmission when the session is not the one the check-in is for.
    """
    target = checkin_target(db, now, patient)
    if target is None or target.id != data.session_id:
        raise InvalidSubmission({"session_id": "This check-in is not for your last session."})
    existing = _checkin_of(db, target)
    if existing is not None:
        return existing, False
    rollup.lock_patient(db, now, patient)
    existing = _checkin_of(db, target)
    if existing is not None:
        return existing, False
    checkin = MorningCheckin(
        patient_id=patient.id,
        session_id=target.id,
        soreness_lasted=not data.soreness_gone,
        pain_now=data.pain_now,
        answered_at=now,
    )
    try:
        with db.begin_nested():
            db.add(checkin)
    except IntegrityError:
        existing = _checkin_of(db, target)
        if existing is None:
            raise
        return existing, False
    alerts.raise_for_checkin(db, now, patient, data.pain_now)
    # Soreness that lasted into the morning can change the progression decision (rows 3–4).
    progression.evaluate_patient(db, now, patient.id)
    rollup.refresh_patient(db, now, patient.id)
    return checkin, True


def checkin_advice(log: SessionLog, checkin: MorningCheckin) -> str:
    """The soreness rules' advice for a session and its next-morning answer (English)."""
    warmup = log.warmup_soreness if log.warmup_soreness in ("none", "gone", "continues") else "none"
    return soreness_rule(warmup, checkin.soreness_lasted).advice  # type: ignore[arg-type]


# --- History ----------------------------------------------------------------------------------

DayStatus = str  # done | part | missed | rest | due | planned | extra | none


@dataclass(frozen=True)
class CalendarDay:
    day: date
    status: DayStatus
    sessions: int


@dataclass
class ExerciseProgress:
    """An exercise of the program and its latest logs (newest first)."""

    exercise: Exercise
    item: ProgramItem
    logs: list[tuple[SessionLog, ExerciseLog]]

    @property
    def target_volume(self) -> int:
        """What the prescription asks for in one session: sets × reps (or seconds)."""
        per_set = {"hold": self.item.hold_seconds, "timed": self.item.duration_seconds}.get(
            self.item.dosage_kind, self.item.reps
        )
        return self.item.sets * (per_set or 0)

    def done_volumes(self) -> list[tuple[date, int]]:
        """(local date, total reps or seconds done) per logged session, oldest first."""
        return [
            (log.local_date, sum(entry.sets_done) if entry.skipped_reason is None else 0)
            for log, entry in reversed(self.logs)
        ]


@dataclass
class HistoryView:
    program: Program | None
    month: date
    weeks: list[list[CalendarDay | None]]
    sessions: list[tuple[SessionLog, list[ExerciseLog]]]
    progress: list[ExerciseProgress]
    trend: list[tuple[date, int | None, int | None]]
    previous_month: date | None
    next_month: date | None
    counts: dict[str, int]


def month_calendar(
    schedule: Schedule | None, month: date, today: date, counts: Counter
) -> list[list[CalendarDay | None]]:
    """The month as weeks (Monday first); None pads the days of other months."""
    weeks: list[list[CalendarDay | None]] = []
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month):
        row: list[CalendarDay | None] = []
        for day in week:
            if day.month != month.month:
                row.append(None)
                continue
            row.append(CalendarDay(day, day_status(schedule, day, today, counts[day]), counts[day]))
        weeks.append(row)
    return weeks


def day_status(schedule: Schedule | None, day: date, today: date, sessions: int) -> DayStatus:
    """Done, part done, missed, rest day, due today or planned, in words on the calendar."""
    if schedule is None or day < schedule.start or (schedule.end and day > schedule.end):
        return "extra" if sessions else "none"
    if not schedule.is_scheduled(day):
        return "extra" if sessions else "rest"
    if day > today:
        return "planned"
    if sessions >= schedule.times_per_day:
        return "done"
    if day == today:
        return "part" if sessions else "due"
    return "part" if sessions else "missed"


def history_view(db: Session, now: datetime, patient: User, month: date | None) -> HistoryView:
    """A month of done and missed days, each exercise's recent logs, and pain and effort."""
    today = local_date(now, patient.timezone)
    month = (month or today).replace(day=1)
    program = rollup.current_program(db, patient.id)
    schedule = rollup.schedule_for(program) if program else None
    days = rollup.counted_days(db, patient.id, program.id) if program else []
    counts = Counter(days)
    weeks = month_calendar(schedule, month, today, counts)
    tally = Counter(day.status for week in weeks for day in week if day is not None)

    since = today - timedelta(days=29)
    recent = db.exec(
        select(SessionLog)
        .where(SessionLog.patient_id == patient.id, SessionLog.local_date >= since)
        .order_by(col(SessionLog.performed_at).desc(), col(SessionLog.id).desc())
    ).all()
    sessions = rollup.with_exercise_logs(db, recent)

    trend: list[tuple[date, int | None, int | None]] = []
    for log, exercise_logs in reversed(sessions):
        efforts = [e.effort for e in exercise_logs if e.effort is not None]
        effort = (
            log.effort_overall if log.effort_overall is not None else max(efforts, default=None)
        )
        pain = rollup.session_pain(log, exercise_logs)
        if pain is not None or effort is not None:
            trend.append((log.local_date, pain, effort))

    progress: list[ExerciseProgress] = []
    if program is not None:
        logs_by_item: dict[int, list[tuple[SessionLog, ExerciseLog]]] = {}
        for log, exercise_logs in sessions:
            for entry in exercise_logs:
                logs_by_item.setdefault(entry.program_item_id, []).append((log, entry))
        for item, exercise in live_items(db, program):
            progress.append(ExerciseProgress(exercise, item, logs_by_item.get(item.id, [])[:5]))

    first = program.start_date.replace(day=1) if program else month
    previous_month = (month - timedelta(days=1)).replace(day=1)
    next_month = (month + timedelta(days=32)).replace(day=1)
    return HistoryView(
        program=program,
        month=month,
        weeks=weeks,
        sessions=sessions,
        progress=progress,
        trend=trend,
        previous_month=previous_month if previous_month >= first else None,
        next_month=next_month if next_month <= today.replace(day=1) else None,
        counts=dict(tally),
    )
