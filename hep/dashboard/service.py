"""The therapist's dashboard: who needs attention today, and everything about one patient.

The caseload reads only the per-patient rollup (kept current by hep.rollup) and the patient's
name, so it costs the same few queries for 10 patients or 500. The patient page reads a bounded
window of history with a fixed number of queries, whatever the length of the history.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, case, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from hep import progression
from hep.dashboard.schemas import CaseloadFilters
from hep.models import (
    Alert,
    Exercise,
    ExerciseLog,
    MorningCheckin,
    PatientNote,
    PatientProfile,
    PatientRollup,
    Program,
    ProgramItem,
    ProgramItemVersion,
    SessionLog,
    User,
)
from hep.programs.service import live_items
from hep.rollup import dose_item
from hep.rules import adherence as rules
from hep.timeutil import local_date

PAGE_SIZE = 50
SESSIONS_PAGE_SIZE = 20
CHART_DAYS = 90  # pain and effort charts: the last three months
STATS_DAYS = rules.WINDOW_MONTH  # per-exercise completion and dose: the same 30 days
CHECKINS_SHOWN = 14
ALERTS_HISTORY_SHOWN = 10
NOTES_SHOWN = 50
CLINIC_ALERTS_SHOWN = 200

URGENT_SEVERITIES = ("immediate",)  # hep.rules.safety: red flags and pain of 7 or more


# --- Caseload -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseloadRow:
    patient_id: int
    name: str
    signed_up: bool
    rollup: Figures
    needs: tuple[str, ...]

    @property
    def band_7(self) -> str | None:
        return rules.band(self.rollup.adherence_7)

    @property
    def band_30(self) -> str | None:
        return rules.band(self.rollup.adherence_30)


@dataclass(frozen=True)
class CaseloadPage:
    rows: list[CaseloadRow]
    total: int
    page: int
    pages: int
    page_size: int = PAGE_SIZE

    @property
    def first(self) -> int:
        return 0 if not self.total else (self.page - 1) * self.page_size + 1

    @property
    def last(self) -> int:
        return min(self.total, self.page * self.page_size)


def needs_of(rollup: PatientRollup | Figures) -> tuple[str, ...]:
    """Why a patient needs attention, most pressing first (the caseload's sort order).

    "urgent": an open red-flag or severe-pain alert; "alerts": any other open alert;
    "low": 7-day adherence below 80 % (SPEC §5 band); "inactive": no counted session on the
    last 3 scheduled days; "worsening": pain 2 or more points over baseline; "progress": a
    progression suggestion waits for the therapist.
    """
    needs: list[str] = []
    if rollup.urgent_alerts:
        needs.append("urgent")
    if rollup.open_alerts > rollup.urgent_alerts:
        needs.append("alerts")
    if rules.band(rollup.adherence_7) in ("amber", "red"):
        needs.append("low")
    if rollup.inactive:
        needs.append("inactive")
    if rollup.worsening:
        needs.append("worsening")
    if rollup.pending_suggestions:
        needs.append("progress")
    return tuple(needs)


def _need_conditions() -> dict[str, Any]:
    """The SQL twin of needs_of, condition by condition, for sorting and filtering."""
    r = PatientRollup
    return {
        "urgent": r.urgent_alerts > 0,
        "alerts": r.open_alerts > 0,
        "low": and_(r.adherence_7.is_not(None), r.adherence_7 < rules.GREEN_FROM),
        "inactive": r.inactive.is_(True),
        "worsening": r.worsening.is_(True),
        "progress": r.pending_suggestions > 0,
    }


@dataclass(frozen=True)
class Figures:
    """The rollup's caseload figures of one patient (plain values, read without the ORM's
    bookkeeping: the caseload reads 50 of them on every request)."""

    adherence_7: float | None = None
    adherence_30: float | None = None
    adherence_all: float | None = None
    inactive: bool = False
    last_session_at: datetime | None = None
    last_pain: int | None = None
    open_alerts: int = 0
    urgent_alerts: int = 0
    pending_suggestions: int = 0
    worsening: bool = False
    sparkline: list[float] = field(default_factory=list)


FIGURES = [getattr(PatientRollup, name) for name in Figures.__dataclass_fields__]
ROW_COLUMNS = [User.id, User.name, User.password_hash, PatientRollup.patient_id, *FIGURES]


def _need_order() -> list[Any]:
    """Most pressing first: each need in turn, then the lowest 7-day adherence, then name."""
    order = [case((condition, 0), else_=1) for condition in _need_conditions().values()]
    order += [
        case((PatientRollup.adherence_7.is_(None), 1), else_=0),
        PatientRollup.adherence_7,
        User.name,
        User.id,
    ]
    return order


@lru_cache(maxsize=64)
def _caseload_statements(has_text: bool, mine: bool, show: str) -> tuple[Any, Any, Any]:
    """The count, page and whole-list queries for one shape of filters, built once and reused
    with bound values (building SQLAlchemy statements costs more than running these)."""
    where: list[Any] = [
        User.clinic_id == bindparam("clinic_id"),
        User.role == "patient",
        col(User.active).is_(True),
    ]
    if has_text:
        where.append(col(User.name).ilike(bindparam("pattern"), escape="\\"))
    if mine:
        where.append(PatientProfile.therapist_id == bindparam("therapist_id"))
    conditions = _need_conditions()
    if show == "attention":
        where.append(or_(*conditions.values()))
    elif show != "all":
        where.append(conditions[show])

    def base(columns: Sequence[Any]) -> Any:
        query = select(*columns).select_from(User)
        if show != "all" or len(columns) > 1:
            query = query.join(PatientRollup, PatientRollup.patient_id == User.id, isouter=True)
        if mine:
            query = query.join(PatientProfile, PatientProfile.user_id == User.id, isouter=True)
        return query.where(*where)

    everyone = base(ROW_COLUMNS).order_by(*_need_order())
    page = everyone.limit(bindparam("limit")).offset(bindparam("offset"))
    return base([func.count()]), page, everyone


def _caseload_params(clinic_id: int, therapist_id: int, filters: CaseloadFilters) -> dict:
    text = filters.q.strip()
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return {"clinic_id": clinic_id, "therapist_id": therapist_id, "pattern": f"%{escaped}%"}


def caseload(
    db: Session, clinic_id: int, therapist_id: int, filters: CaseloadFilters
) -> CaseloadPage:
    """One page of the clinic's patients, most in need first: two queries, whatever the size."""
    count, page_query, _everyone = _caseload_statements(
        bool(filters.q.strip()), filters.mine, filters.show
    )
    params = _caseload_params(clinic_id, therapist_id, filters)
    total = db.exec(count, params=params).one()
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(filters.page, pages)
    params.update(limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    found = db.exec(page_query, params=params).all()
    return CaseloadPage(rows=_rows(found), total=total, page=page, pages=pages)


def caseload_all(
    db: Session, clinic_id: int, therapist_id: int, filters: CaseloadFilters
) -> list[CaseloadRow]:
    """Every patient matching the filters, in the caseload's order (for the CSV summary)."""
    _count, _page, everyone = _caseload_statements(
        bool(filters.q.strip()), filters.mine, filters.show
    )
    found = db.exec(everyone, params=_caseload_params(clinic_id, therapist_id, filters)).all()
    return _rows(found)


def _rows(found: Iterable[Any]) -> list[CaseloadRow]:
    rows = []
    for patient_id, name, password_hash, has_rollup, *values in found:
        # A patient whose figures were never computed shows as a patient with no data yet.
        figures = Figures(*values) if has_rollup is not None else Figures()
        signed_up = password_hash is not None
        rows.append(CaseloadRow(patient_id, name, signed_up, figures, needs_of(figures)))
    return rows


def open_alert_count(db: Session, clinic_id: int) -> int:
    """Open alerts of the clinic, for the navigation (one indexed count)."""
    return db.exec(
        select(func.count())
        .select_from(Alert)
        .where(Alert.clinic_id == clinic_id, Alert.acknowledged_at.is_(None))
    ).one()


# --- One patient --------------------------------------------------------------------------


def is_performed(log: ExerciseLog) -> bool:
    """Done, not skipped: at least one set with something in it (SPEC §5 counted session)."""
    return log.skipped_reason is None and any(n > 0 for n in log.sets_done or [])


@dataclass
class ExerciseStats:
    """Completion and dose adherence of one exercise over the stats window."""

    program_item_id: int
    name: str
    logged: int = 0
    performed: int = 0
    dose_items: list[rules.DoseItem] = field(default_factory=list)

    @property
    def completion(self) -> float | None:
        return self.performed / self.logged if self.logged else None

    @property
    def dose(self) -> float | None:
        return rules.dose_adherence(self.dose_items)


def exercise_stats(logs: Iterable[tuple[ExerciseLog, str]]) -> list[ExerciseStats]:
    """Per exercise: in how many logged sessions it was done, and its dose adherence
    (hep.rules.adherence.dose_adherence over the performed logs' target and actual volume)."""
    stats: dict[int, ExerciseStats] = {}
    for log, name in logs:
        entry = stats.setdefault(log.program_item_id, ExerciseStats(log.program_item_id, name))
        entry.logged += 1
        if is_performed(log):
            entry.performed += 1
            item = dose_item(log)
            if item is not None:
                entry.dose_items.append(item)
    return sorted(stats.values(), key=lambda s: s.name)


@dataclass(frozen=True)
class SessionRow:
    session: SessionLog
    exercises: list[tuple[ExerciseLog, str]]


@dataclass(frozen=True)
class SessionsPage:
    rows: list[SessionRow]
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class AlertRow:
    alert: Alert
    patient_name: str
    acknowledged_by: str | None

    @property
    def urgent(self) -> bool:
        return self.alert.severity in URGENT_SEVERITIES


@dataclass(frozen=True)
class VersionRow:
    version: ProgramItemVersion
    exercise: str
    changed_by: str | None


@dataclass(frozen=True)
class ChartPoint:
    day: date
    pain: int | None
    effort: int | None


@dataclass
class PatientOverview:
    today: date
    profile: PatientProfile | None
    rollup: PatientRollup | None
    programs: list[Program]
    program: Program | None
    items: list[tuple[ProgramItem, Exercise]]
    versions: list[VersionRow]
    stats: list[ExerciseStats]
    stats_from: date
    dose_30: float | None
    chart: list[ChartPoint]
    chart_from: date
    checkins: list[tuple[MorningCheckin, date]]
    sessions: SessionsPage
    alerts_open: list[AlertRow]
    alerts_done: list[AlertRow]
    notes: list[tuple[PatientNote, str]]
    suggestions: list[progression.SuggestionView]


def patient_today(patient: User, now: datetime) -> date:
    return local_date(now, patient.timezone)


def current_program(programs: Sequence[Program]) -> Program | None:
    """The active program that started last, else the latest one."""
    active = [p for p in programs if p.status == "active"]
    pool = active or list(programs)
    return max(pool, key=lambda p: (p.start_date, p.id or 0), default=None)


def session_page(db: Session, patient_id: int, page: int) -> SessionsPage:
    """One page of the session log, newest first, each with its exercises (three queries)."""
    total = db.exec(
        select(func.count()).select_from(SessionLog).where(SessionLog.patient_id == patient_id)
    ).one()
    pages = max(1, math.ceil(total / SESSIONS_PAGE_SIZE))
    page = min(page, pages)
    sessions = db.exec(
        select(SessionLog)
        .where(SessionLog.patient_id == patient_id)
        .order_by(col(SessionLog.performed_at).desc(), col(SessionLog.id).desc())
        .offset((page - 1) * SESSIONS_PAGE_SIZE)
        .limit(SESSIONS_PAGE_SIZE)
    ).all()
    by_session: dict[int, list[tuple[ExerciseLog, str]]] = defaultdict(list)
    if sessions:
        for log, name in db.exec(
            select(ExerciseLog, Exercise.name)
            .join(Exercise, Exercise.id == ExerciseLog.exercise_id)
            .where(col(ExerciseLog.session_id).in_([s.id for s in sessions]))
            .order_by(ExerciseLog.session_id, ExerciseLog.position, ExerciseLog.id)
        ).all():
            by_session[log.session_id].append((log, name))
    rows = [SessionRow(s, by_session.get(s.id, [])) for s in sessions]
    return SessionsPage(rows=rows, total=total, page=page, pages=pages)


def _alert_rows(db: Session, where: list[Any], order: Any, limit: int) -> list[AlertRow]:
    patient, acknowledger = aliased(User), aliased(User)
    found = db.exec(
        select(Alert, patient.name, acknowledger.name)
        .join(patient, patient.id == Alert.patient_id)
        .join(acknowledger, acknowledger.id == Alert.acknowledged_by_id, isouter=True)
        .where(*where)
        .order_by(*order)
        .limit(limit)
    ).all()
    return [AlertRow(alert, pname, aname) for alert, pname, aname in found]


def _urgent_first() -> list[Any]:
    return [
        case((col(Alert.severity).in_(URGENT_SEVERITIES), 0), else_=1),
        col(Alert.created_at).desc(),
        col(Alert.id).desc(),
    ]


def clinic_open_alerts(db: Session, clinic_id: int) -> list[AlertRow]:
    """The clinic's open alerts, urgent first, newest first."""
    where = [Alert.clinic_id == clinic_id, Alert.acknowledged_at.is_(None)]
    return _alert_rows(db, where, _urgent_first(), CLINIC_ALERTS_SHOWN)


def alert_row(db: Session, alert: Alert) -> AlertRow:
    return _alert_rows(db, [Alert.id == alert.id], [Alert.id], 1)[0]


def patient_overview(
    db: Session, now: datetime, patient: User, sessions_page: int = 1
) -> PatientOverview:
    """Everything the patient page shows, in a fixed number of queries."""
    today = patient_today(patient, now)
    profile = db.get(PatientProfile, patient.id)
    rollup = db.get(PatientRollup, patient.id)
    programs = list(
        db.exec(
            select(Program)
            .where(Program.patient_id == patient.id)
            .order_by(col(Program.start_date).desc(), col(Program.id).desc())
        ).all()
    )
    program = current_program(programs)
    items: list[tuple[ProgramItem, Exercise]] = []
    versions: list[VersionRow] = []
    if program is not None:
        items = live_items(db, program)
        changed_by = aliased(User)
        versions = [
            VersionRow(version, name, who)
            for version, name, who in db.exec(
                select(ProgramItemVersion, Exercise.name, changed_by.name)
                .join(ProgramItem, ProgramItem.id == ProgramItemVersion.item_id)
                .join(Exercise, Exercise.id == ProgramItem.exercise_id)
                .join(changed_by, changed_by.id == ProgramItemVersion.changed_by_id, isouter=True)
                .where(ProgramItem.program_id == program.id)
                .order_by(
                    col(ProgramItemVersion.changed_at).desc(), col(ProgramItemVersion.id).desc()
                )
            ).all()
        ]

    stats_from = today - timedelta(days=STATS_DAYS - 1)
    logs = db.exec(
        select(ExerciseLog, Exercise.name)
        .join(SessionLog, SessionLog.id == ExerciseLog.session_id)
        .join(Exercise, Exercise.id == ExerciseLog.exercise_id)
        .where(
            SessionLog.patient_id == patient.id,
            SessionLog.counted.is_(True),
            SessionLog.local_date >= stats_from,
            SessionLog.local_date <= today,
        )
    ).all()
    stats = exercise_stats(logs)
    dose_30 = rules.dose_adherence(item for s in stats for item in s.dose_items)

    chart_from = today - timedelta(days=CHART_DAYS - 1)
    chart = pain_and_effort(db, patient.id, chart_from, today)
    checkins = list(
        db.exec(
            select(MorningCheckin, SessionLog.local_date)
            .join(SessionLog, SessionLog.id == MorningCheckin.session_id)
            .where(MorningCheckin.patient_id == patient.id)
            .order_by(col(MorningCheckin.answered_at).desc(), col(MorningCheckin.id).desc())
            .limit(CHECKINS_SHOWN)
        ).all()
    )
    alerts_open = _alert_rows(
        db, [Alert.patient_id == patient.id, Alert.acknowledged_at.is_(None)], _urgent_first(), 100
    )
    alerts_done = _alert_rows(
        db,
        [Alert.patient_id == patient.id, Alert.acknowledged_at.is_not(None)],
        [col(Alert.acknowledged_at).desc(), col(Alert.id).desc()],
        ALERTS_HISTORY_SHOWN,
    )
    suggestions = progression.pending_for_patient(db, patient.id)
    return PatientOverview(
        today=today,
        profile=profile,
        rollup=rollup,
        programs=programs,
        program=program,
        items=items,
        versions=versions,
        stats=stats,
        stats_from=stats_from,
        dose_30=dose_30,
        chart=chart,
        chart_from=chart_from,
        checkins=checkins,
        sessions=session_page(db, patient.id, sessions_page),
        alerts_open=alerts_open,
        alerts_done=alerts_done,
        notes=notes_of(db, patient.id),
        suggestions=suggestions,
    )


def pain_and_effort(db: Session, patient_id: int, first: date, last: date) -> list[ChartPoint]:
    """Pain and effort of each session between two local dates, oldest first.

    A session's pain is the worst it reported, during any exercise or overall (as
    hep.rollup.session_pain, which the caseload's "last pain" uses); its effort is the overall
    answer, else the hardest exercise.
    """
    found = db.exec(
        select(
            SessionLog.local_date,
            SessionLog.pain_overall,
            SessionLog.effort_overall,
            func.max(ExerciseLog.pain_during),
            func.max(ExerciseLog.effort),
        )
        .join(ExerciseLog, ExerciseLog.session_id == SessionLog.id, isouter=True)
        .where(
            SessionLog.patient_id == patient_id,
            SessionLog.local_date >= first,
            SessionLog.local_date <= last,
        )
        .group_by(
            SessionLog.id,
            SessionLog.local_date,
            SessionLog.performed_at,
            SessionLog.pain_overall,
            SessionLog.effort_overall,
        )
        .order_by(SessionLog.performed_at, SessionLog.id)
    ).all()
    points = []
    for day, pain_overall, effort_overall, pain_during, effort_during in found:
        pains = [p for p in (pain_overall, pain_during) if p is not None]
        pain = max(pains) if pains else None
        effort = effort_overall if effort_overall is not None else effort_during
        if pain is not None or effort is not None:
            points.append(ChartPoint(day, pain, effort))
    return points


def notes_of(db: Session, patient_id: int) -> list[tuple[PatientNote, str]]:
    return list(
        db.exec(
            select(PatientNote, User.name)
            .join(User, User.id == PatientNote.author_id)
            .where(PatientNote.patient_id == patient_id)
            .order_by(col(PatientNote.created_at).desc(), col(PatientNote.id).desc())
            .limit(NOTES_SHOWN)
        ).all()
    )


# --- Writing ------------------------------------------------------------------------------


def acknowledge_alert(db: Session, now: datetime, therapist: User, alert: Alert, note: str) -> bool:
    """Mark an alert seen: who, when and what they did. False if someone acknowledged it
    first (theirs stands). The patient's caseload figures follow in the same transaction."""
    claimed = db.execute(
        update(Alert)
        .where(col(Alert.id) == alert.id, col(Alert.acknowledged_at).is_(None))
        .values(acknowledged_at=now, acknowledged_by_id=therapist.id, acknowledge_note=note)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.refresh(alert)
    if not claimed:
        return False
    refresh_rollup(db, now, alert.patient_id)
    return True


def refresh_rollup(db: Session, now: datetime, patient_id: int) -> None:
    from hep.rollup import refresh_patient

    refresh_patient(db, now, patient_id)


def add_note(db: Session, now: datetime, therapist: User, patient: User, body: str) -> PatientNote:
    note = PatientNote(patient_id=patient.id, author_id=therapist.id, body=body, created_at=now)
    db.add(note)
    db.flush()
    return note


# --- CSV ----------------------------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A cell a spreadsheet shows as text: text that starts like a formula gets an apostrophe
    (CSV formula injection); numbers, dates and empty cells pass through."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """UTF-8 CSV with a byte-order mark, so spreadsheets read accents right."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_cell(h) for h in header])
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return buffer.getvalue()


def patient_log_rows(db: Session, patient_id: int) -> list[tuple[SessionLog, ExerciseLog, str]]:
    """Every exercise log of the patient, oldest first, with its session and exercise name."""
    return list(
        db.exec(
            select(SessionLog, ExerciseLog, Exercise.name)
            .join(ExerciseLog, ExerciseLog.session_id == SessionLog.id)
            .join(Exercise, Exercise.id == ExerciseLog.exercise_id)
            .where(SessionLog.patient_id == patient_id)
            .order_by(SessionLog.performed_at, SessionLog.id, ExerciseLog.position, ExerciseLog.id)
        ).all()
    )


# --- Words for logs -----------------------------------------------------------------------


def _unit(kind: str) -> str:
    return _("reps") if kind == "reps" else _("s")


def _per_set(log: ExerciseLog) -> int:
    """The prescribed reps (or seconds, for holds and timed items) of each set."""
    return (log.target_reps if log.dosage_kind == "reps" else log.target_seconds) or 0


def describe_target(log: ExerciseLog) -> str:
    """What was prescribed when the log was made: "3 × 10 reps", "2 × 30 s", "load 5"."""
    text = f"{log.target_sets} × {_per_set(log)} {_unit(log.dosage_kind)}"
    if log.target_load is not None:
        text += ", " + _("load %(n)s", n=f"{log.target_load:g}")
    return text


def describe_actual(log: ExerciseLog) -> str:
    """What was done, set by set: "10, 10, 8 reps"; "Skipped" when skipped."""
    if log.skipped_reason is not None or not log.sets_done:
        return _("Skipped")
    text = ", ".join(str(n) for n in log.sets_done) + f" {_unit(log.dosage_kind)}"
    if log.actual_load is not None:
        text += ", " + _("load %(n)s", n=f"{log.actual_load:g}")
    return text


def target_volume(log: ExerciseLog) -> float:
    return rules.volume([_per_set(log)] * log.target_sets)


def actual_volume(log: ExerciseLog) -> float:
    return rules.volume(log.sets_done or []) if log.skipped_reason is None else 0.0
