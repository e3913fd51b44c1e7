"""What is due now, in each person's own time zone: the scheduler's `enqueue_due` job.

Kinds worked out here: the session reminder, the nudge after missed days, the morning
check-in and the therapists' daily digest. Each gets a dedupe key naming its local day, so a
second run, a second scheduler or a restart adds nothing twice. A run after a long outage still
adds today's notifications to the inbox; delivery skips those too late to push (their grace).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import func
from sqlmodel import Session, select

from hep.models import (
    Alert,
    MorningCheckin,
    PatientProfile,
    Program,
    ProgressionSuggestion,
    SessionLog,
    User,
)
from hep.notifications.service import Draft, chunks, insert_drafts, unsent_drafts, zone
from hep.rules.adherence import Schedule, completed_on, is_inactive, weekdays_from_names

# A nudge goes out once, on the day after the second scheduled day in a row with nothing done.
NUDGE_AFTER_MISSED_DAYS = 2
# Programs without a reminder time get their nudge at this local time.
DEFAULT_NUDGE_TIME = time(10, 0)
CHECKIN_TIME = time(8, 0)
DIGEST_TIME = time(7, 30)
# Sessions older than this cannot change today's reminders, nudge, check-in or digest: three
# scheduled days of even a once-a-week program (the inactive rule) fall within it.
LOOKBACK_DAYS = 22


class Wording:
    """A kind's title and body, translated once per locale in a run, not once per person."""

    def __init__(self, make: Callable[[], tuple[str, str]]) -> None:
        self.make = make
        self.by_locale: dict[str, tuple[str, str]] = {}

    def __call__(self, locale: str) -> tuple[str, str]:
        if locale not in self.by_locale:
            with force_locale(locale):
                self.by_locale[locale] = self.make()
        return self.by_locale[locale]


@dataclass(frozen=True)
class DueProgram:
    """The few facts about an active program (and its patient) the reminder kinds need."""

    id: int
    patient_id: int
    schedule: Schedule
    reminder_time: time | None
    created_at: datetime
    timezone: str
    locale: str
    optouts: frozenset[str]


def at_local(day: date, clock: time, tz: str) -> datetime:
    """A local wall-clock time on a local day, as UTC (right across daylight-saving changes)."""
    return datetime.combine(day, clock, tzinfo=zone(tz)).astimezone(UTC)


def local_today(now: datetime, tz: str) -> date:
    return now.astimezone(zone(tz)).date()


def _active_programs(db: Session) -> list[DueProgram]:
    rows = db.exec(
        select(
            Program.id,
            Program.patient_id,
            Program.days,
            Program.times_per_day,
            Program.start_date,
            Program.end_date,
            Program.reminder_time,
            Program.created_at,
            User.timezone,
            User.locale,
            User.notification_optouts,
        )
        .join(User, User.id == Program.patient_id)
        .where(Program.status == "active", User.active)
    ).all()
    programs = []
    for row in rows:
        try:
            schedule = Schedule(
                weekdays_from_names(row.days),
                max(1, row.times_per_day),
                row.start_date,
                row.end_date,
            )
        except ValueError:
            continue  # an unreadable schedule is the builder's to reject; nothing to remind
        programs.append(
            DueProgram(
                row.id,
                row.patient_id,
                schedule,
                row.reminder_time,
                row.created_at,
                row.timezone,
                row.locale,
                frozenset(row.notification_optouts or ()),
            )
        )
    return programs


@dataclass
class RecentSessions:
    """Counted sessions of the last LOOKBACK_DAYS, per program and per patient."""

    per_program: dict[int, dict[date, int]]
    # patient → local date → whether every counted session of that day has its check-in
    checked_in: dict[int, dict[date, bool]]


def _recent_sessions(db: Session, patient_ids: list[int], since: date) -> RecentSessions:
    per_program: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    checked_in: dict[int, dict[date, bool]] = defaultdict(dict)
    for chunk in chunks(sorted(set(patient_ids))):
        rows = db.exec(
            select(
                SessionLog.patient_id,
                SessionLog.program_id,
                SessionLog.local_date,
                MorningCheckin.id,
            )
            .join(MorningCheckin, MorningCheckin.session_id == SessionLog.id, isouter=True)
            .where(
                SessionLog.patient_id.in_(chunk),
                SessionLog.local_date >= since,
                SessionLog.counted,
            )
        ).all()
        for patient_id, program_id, day, checkin_id in rows:
            per_program[program_id][day] += 1
            done = checked_in[patient_id].get(day, True)
            checked_in[patient_id][day] = done and checkin_id is not None
    return RecentSessions(per_program, checked_in)


def nudge_day(schedule: Schedule, sessions: dict[date, int], today: date) -> date | None:
    """Today, if a missed-sessions nudge is due today: yesterday was the second scheduled day
    in a row with nothing done (SPEC §5's completed count). A longer run was nudged already,
    on the day after its second missed day."""

    def missed(day: date) -> bool:
        return completed_on(schedule, day, today, sessions.get(day, 0)) == 0

    def scheduled_before(day: date) -> date | None:
        floor = max(schedule.start, today - timedelta(days=LOOKBACK_DAYS))
        day -= timedelta(days=1)
        while day >= floor:
            if schedule.is_scheduled(day):
                return day
            day -= timedelta(days=1)
        return None

    yesterday = today - timedelta(days=1)
    if not schedule.is_scheduled(yesterday) or not missed(yesterday):
        return None
    # The last NUDGE_AFTER_MISSED_DAYS scheduled days, and the one before them.
    days = [yesterday]
    while len(days) <= NUDGE_AFTER_MISSED_DAYS:
        before = scheduled_before(days[-1])
        if before is None:
            break
        days.append(before)
    run = days[:NUDGE_AFTER_MISSED_DAYS]
    if len(run) < NUDGE_AFTER_MISSED_DAYS or not all(missed(day) for day in run):
        return None
    if len(days) > NUDGE_AFTER_MISSED_DAYS and missed(days[-1]):
        return None  # the run started earlier: it was nudged then
    return today


def reminder_drafts(
    now: datetime, programs: list[DueProgram], recent: RecentSessions
) -> list[Draft]:
    """Session reminders and missed-day nudges that are due by now (local time)."""
    nudge_words = Wording(
        lambda: (
            _("Your exercises are waiting"),
            _("It has been a few days. A short session today is a good restart."),
        )
    )
    reminder_words = Wording(
        lambda: (
            _("Time for your exercises"),
            _("Your exercises for today are ready. Tap to start."),
        )
    )
    drafts = []
    for program in programs:
        today = local_today(now, program.timezone)
        sessions = recent.per_program.get(program.id, {})
        nudge_at = at_local(today, program.reminder_time or DEFAULT_NUDGE_TIME, program.timezone)
        nudging = "missed_sessions" not in program.optouts
        if nudging and nudge_at <= now and nudge_day(program.schedule, sessions, today):
            # The nudge stands in for that day's reminder: one message, not two.
            title, body = nudge_words(program.locale)
            key = f"missed:{program.id}:{today.isoformat()}"
            drafts.append(
                Draft(program.patient_id, "missed_sessions", key, title, body, "/today", nudge_at)
            )
            continue
        if program.reminder_time is None or "session_reminder" in program.optouts:
            continue
        if not program.schedule.is_scheduled(today):
            continue
        due = at_local(today, program.reminder_time, program.timezone)
        if due > now or program.created_at > due:
            continue
        if sessions.get(today, 0) >= program.schedule.times_per_day:
            continue  # already done today
        title, body = reminder_words(program.locale)
        key = f"reminder:{program.id}:{today.isoformat()}"
        drafts.append(
            Draft(program.patient_id, "session_reminder", key, title, body, "/today", due)
        )
    return drafts


def checkin_drafts(
    now: datetime, programs: list[DueProgram], recent: RecentSessions
) -> list[Draft]:
    """The morning check-in, the morning after a day with a counted session."""
    words = Wording(
        lambda: (
            _("Good morning"),
            _("How do you feel after yesterday's exercises? Tap to answer."),
        )
    )
    drafts = []
    patients = {p.patient_id: p for p in programs}
    for patient_id, days in recent.checked_in.items():
        patient = patients.get(patient_id)
        if patient is None or "morning_checkin" in patient.optouts:
            continue
        today = local_today(now, patient.timezone)
        yesterday = today - timedelta(days=1)
        if yesterday not in days or days[yesterday]:
            continue  # no session yesterday, or already answered
        due = at_local(today, CHECKIN_TIME, patient.timezone)
        if due > now:
            continue
        title, body = words(patient.locale)
        key = f"checkin:{patient_id}:{yesterday.isoformat()}"
        drafts.append(Draft(patient_id, "morning_checkin", key, title, body, "/checkin", due))
    return drafts


def digest_body(alerts: int, inactive: int, suggestions: int) -> str:
    """Counts only: no names, no health data (it shows on a lock screen)."""
    parts = []
    if alerts:
        parts.append(ngettext("%(num)s alert to review", "%(num)s alerts to review", alerts))
    if inactive:
        parts.append(ngettext("%(num)s patient inactive", "%(num)s patients inactive", inactive))
    if suggestions:
        parts.append(
            ngettext(
                "%(num)s progression suggestion waiting",
                "%(num)s progression suggestions waiting",
                suggestions,
            )
        )
    return " · ".join(parts)


def digest_drafts(
    db: Session, now: datetime, programs: list[DueProgram], recent: RecentSessions
) -> list[Draft]:
    """Each therapist's daily digest at DIGEST_TIME local, when something needs them."""
    therapists = db.exec(select(User).where(User.role == "therapist", User.active)).all()
    due_therapists = []
    for therapist in therapists:
        if "daily_digest" in (therapist.notification_optouts or ()):
            continue
        today = local_today(now, therapist.timezone)
        if at_local(today, DIGEST_TIME, therapist.timezone) <= now:
            due_therapists.append((therapist, today))
    if not due_therapists:
        return []
    ids = [t.id for t, _today in due_therapists]
    caseload: dict[int, list[int]] = defaultdict(list)
    for therapist_id, patient_id in db.exec(
        select(PatientProfile.therapist_id, PatientProfile.user_id).where(
            PatientProfile.therapist_id.in_(ids)
        )
    ).all():
        caseload[therapist_id].append(patient_id)
    patient_ids = [p for patients in caseload.values() for p in patients]
    open_alerts = _count_by_patient(
        db, Alert.patient_id, patient_ids, Alert.acknowledged_at.is_(None)
    )
    pending = _count_by_patient(
        db,
        ProgressionSuggestion.patient_id,
        patient_ids,
        ProgressionSuggestion.status == "pending",
    )
    drafts = []
    for therapist, today in due_therapists:
        patients = set(caseload.get(therapist.id, ()))
        inactive = sum(
            1
            for program in programs
            if program.patient_id in patients
            and is_inactive(
                program.schedule,
                _days(recent.per_program.get(program.id, {})),
                local_today(now, program.timezone),
            )
        )
        alerts = sum(open_alerts.get(p, 0) for p in patients)
        suggestions = sum(pending.get(p, 0) for p in patients)
        if not (alerts or inactive or suggestions):
            continue
        with force_locale(therapist.locale):
            drafts.append(
                Draft(
                    therapist.id,
                    "daily_digest",
                    f"digest:{therapist.id}:{today.isoformat()}",
                    _("Your daily summary"),
                    digest_body(alerts, inactive, suggestions),
                    "/patients",
                    at_local(today, DIGEST_TIME, therapist.timezone),
                )
            )
    return drafts


def _days(per_day: dict[date, int]) -> list[date]:
    return [day for day, count in per_day.items() for _n in range(count)]


def _count_by_patient(db: Session, column, patient_ids: list[int], condition) -> dict[int, int]:
    counts: dict[int, int] = {}
    for chunk in chunks(sorted(set(patient_ids))):
        rows = db.exec(
            select(column, func.count()).where(column.in_(chunk), condition).group_by(column)
        ).all()
        counts.update(dict(rows))
    return counts


def enqueue_due(db: Session, now: datetime) -> int:
    """Add every notification that is due by `now`; returns how many were new."""
    db.commit()  # read the latest data, not an older snapshot the session may hold
    programs = _active_programs(db)
    earliest_today = min((local_today(now, p.timezone) for p in programs), default=now.date())
    recent = _recent_sessions(
        db,
        [p.patient_id for p in programs],
        earliest_today - timedelta(days=LOOKBACK_DAYS),
    )
    drafts = reminder_drafts(now, programs, recent)
    drafts += checkin_drafts(now, programs, recent)
    drafts += digest_drafts(db, now, programs, recent)
    fresh = unsent_drafts(db, drafts)
    # End the reading transaction before writing: on SQLite a transaction that read and then
    # writes fails at once ("database is locked") if anyone committed in between.
    db.commit()
    return insert_drafts(db, now, fresh) if fresh else 0
