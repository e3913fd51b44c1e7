"""Programs: prescribing exercises to a patient, and keeping every dosage change on record.

A program is written in one go (program, items, their first dosage versions, goals) inside the
caller's transaction; editing a live program versions each dosage change and tells the patient.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from uuid import UUID

from flask_babel import LazyString, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from hep.access import exercises_for_clinic
from hep.models import (
    Exercise,
    Goal,
    PatientProfile,
    Program,
    ProgramItem,
    ProgramItemVersion,
    ProgramTemplate,
    User,
)
from hep.notifications.service import notify
from hep.programs.schemas import (
    DOSAGE_FIELDS,
    MEASURE_FIELD,
    RECOMMENDED_MAX_ITEMS,
    GoalIn,
    ItemIn,
    ProgramIn,
)
from hep.rules.safety import CONTRAINDICATIONS, screen

_ = gettext

SCHEDULE_FIELDS = ("days", "times_per_day", "start_date", "end_date", "reminder_time")
DETAIL_FIELDS = (
    "title",
    *SCHEDULE_FIELDS,
    "diagnosis",
    "icd10",
    "precautions",
    "auto_apply_progressions",
)


class ProgramInputError(ValueError):
    """The program cannot be written as asked; `errors` maps form field names to messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        # The messages are lazy (translated when shown), so they are not joined in here.
        super().__init__(f"cannot write the program: problems with {sorted(errors)}")
        self.errors = errors


class ProgramAlreadySaved(Exception):
    """The builder form with this token was saved before (a double click, a retried POST):
    `program` is the program it made, and nothing more was written."""

    def __init__(self, program: Program) -> None:
        super().__init__(f"the form was saved before as program {program.id}")
        self.program = program


# --- Reading ------------------------------------------------------------------------------


def patient_conditions(db: Session, patient: User) -> list[str]:
    profile = db.get(PatientProfile, patient.id)
    return list(profile.conditions) if profile else []


def condition_names(tags: list[str]) -> list[str]:
    """Plain words for contraindication tags (untranslated; templates pass them through _())."""
    return [CONTRAINDICATIONS.get(tag, tag.replace("_", " ")) for tag in tags]


def contraindications_for(exercise: Exercise, conditions: list[str]) -> list[str]:
    """The patient's conditions this exercise is not advised for, in plain words."""
    return condition_names(screen(exercise.contraindications, conditions))


def live_items(db: Session, program: Program) -> list[tuple[ProgramItem, Exercise]]:
    return list(
        db.exec(
            select(ProgramItem, Exercise)
            .join(Exercise, Exercise.id == ProgramItem.exercise_id)
            .where(ProgramItem.program_id == program.id, ProgramItem.removed_at.is_(None))
            .order_by(ProgramItem.position, ProgramItem.id)
        ).all()
    )


def program_for_form(db: Session, patient: User, form_token: UUID) -> Program | None:
    """The patient's program that the builder form with this one-time token saved, if any."""
    return db.exec(
        select(Program).where(Program.patient_id == patient.id, Program.form_token == form_token)
    ).first()


def goals_of(db: Session, program: Program) -> list[Goal]:
    return list(db.exec(select(Goal).where(Goal.program_id == program.id).order_by(Goal.id)).all())


def versions_of(db: Session, program: Program) -> list[tuple[ProgramItemVersion, ProgramItem]]:
    """Every dosage version of the program's items, newest first."""
    return list(
        db.exec(
            select(ProgramItemVersion, ProgramItem)
            .join(ProgramItem, ProgramItem.id == ProgramItemVersion.item_id)
            .where(ProgramItem.program_id == program.id)
            .order_by(col(ProgramItemVersion.changed_at).desc(), col(ProgramItemVersion.id).desc())
        ).all()
    )


def programs_of(db: Session, patient: User) -> list[Program]:
    return list(
        db.exec(
            select(Program)
            .where(Program.patient_id == patient.id)
            .order_by(Program.status, col(Program.start_date).desc(), col(Program.id).desc())
        ).all()
    )


def active_programs(db: Session, patient: User) -> list[Program]:
    return list(
        db.exec(
            select(Program).where(Program.patient_id == patient.id, Program.status == "active")
        ).all()
    )


def templates_for(db: Session, clinic_id: int) -> list[ProgramTemplate]:
    return list(
        db.exec(
            select(ProgramTemplate)
            .where((ProgramTemplate.clinic_id.is_(None)) | (ProgramTemplate.clinic_id == clinic_id))
            .order_by(ProgramTemplate.name)
        ).all()
    )


def template_for(db: Session, clinic_id: int, template_id: int) -> ProgramTemplate | None:
    template = db.get(ProgramTemplate, template_id)
    if template is None or template.clinic_id not in (None, clinic_id):
        return None
    return template


def search_exercises(db: Session, clinic_id: int, query: str, limit: int = 12) -> list[Exercise]:
    """Exercises a therapist of the clinic may prescribe whose words match every query word."""
    statement = select(Exercise).where(
        (Exercise.clinic_id.is_(None)) | (Exercise.clinic_id == clinic_id),
        Exercise.archived_at.is_(None),
    )
    for word in query.lower().split()[:6]:
        pattern = f"%{word[:40]}%"
        statement = statement.where(
            col(Exercise.name).ilike(pattern) | col(Exercise.search_text).like(pattern)
        )
    return list(db.exec(statement.order_by(Exercise.name).limit(limit)).all())


# --- Dosage -------------------------------------------------------------------------------


def default_dosage(exercise: Exercise, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """An exercise's default dosage as ProgramItem fields, with a template item's overrides."""
    overrides = overrides or {}
    dosage = {
        "dosage_kind": exercise.dosage_kind,
        "sets": exercise.sets,
        "reps": exercise.reps,
        "hold_seconds": exercise.hold_seconds,
        "duration_seconds": exercise.duration_seconds,
        "rest_seconds": exercise.rest_seconds,
        "load_value": None,
        "load_unit": None,
        "load_text": exercise.load_text,
        "side": "both",
        "notes": "",
    }
    for name in ("sets", "reps", "hold_seconds", "duration_seconds", "rest_seconds"):
        if overrides.get(name) is not None:
            dosage[name] = overrides[name]
    if overrides.get("load"):
        dosage["load_text"] = overrides["load"]
    measure = MEASURE_FIELD.get(exercise.dosage_kind, "reps")
    for name in MEASURE_FIELD.values():
        if name != measure:
            dosage[name] = None
    return dosage


def item_dosage(item: ProgramItem) -> dict[str, Any]:
    return {name: getattr(item, name) for name in DOSAGE_FIELDS}


def describe_dosage(dosage: dict[str, Any]) -> str:
    """ "3 sets of 10 reps, rest 30 s, red band, each side" in plain words."""
    kind = dosage.get("dosage_kind")
    sets = dosage.get("sets") or 1
    if kind == "hold":
        amount = _("hold %(n)s seconds", n=dosage.get("hold_seconds"))
        parts = [_("%(sets)s times, %(amount)s", sets=sets, amount=amount)]
    elif kind == "timed":
        time_words = duration_words(dosage.get("duration_seconds"))
        parts = [time_words if sets == 1 else _("%(sets)s × %(time)s", sets=sets, time=time_words)]
    else:
        parts = [_("%(sets)s sets of %(reps)s", sets=sets, reps=dosage.get("reps"))]
    if dosage.get("rest_seconds"):
        parts.append(_("rest %(n)s seconds", n=dosage["rest_seconds"]))
    if dosage.get("load_value") is not None:
        parts.append(f"{dosage['load_value']:g} {dosage.get('load_unit') or ''}".strip())
    elif dosage.get("load_text"):
        parts.append(dosage["load_text"])
    side = dosage.get("side")
    if side == "left":
        parts.append(_("left side"))
    elif side == "right":
        parts.append(_("right side"))
    elif side == "each":
        parts.append(_("each side"))
    return ", ".join(str(p) for p in parts)


def duration_words(seconds: int | None) -> str:
    if not seconds:
        return ""
    minutes, rest = divmod(int(seconds), 60)
    if minutes and not rest:
        return _("%(n)s min", n=minutes)
    if minutes:
        return _("%(m)s min %(s)s s", m=minutes, s=rest)
    return _("%(n)s seconds", n=rest)


# --- Checks that need the database ----------------------------------------------------------


def item_problems(
    db: Session,
    clinic_id: int,
    conditions: list[str],
    items: list[ItemIn],
    existing: dict[int, ProgramItem] | None = None,
) -> dict[str, str]:
    """Per-field problems with the items: unknown or foreign exercises, items of another
    program, and contraindicated exercises without a written reason."""
    existing = existing or {}
    exercises = exercises_for_clinic(db, clinic_id, [item.exercise_id for item in items])
    problems: dict[str, str] = {}
    seen_items: set[int] = set()
    for index, item in enumerate(items):
        exercise = exercises.get(item.exercise_id)
        old = existing.get(item.item_id) if item.item_id is not None else None
        if item.item_id is not None and (old is None or item.item_id in seen_items):
            problems[f"items-{index}-exercise_id"] = _l("This exercise is not on this program.")
            continue
        if item.item_id is not None:
            seen_items.add(item.item_id)
        if exercise is None or (old is not None and old.exercise_id != exercise.id):
            problems[f"items-{index}-exercise_id"] = _l("This exercise is not in your library.")
            continue
        if old is None and exercise.archived_at is not None:
            problems[f"items-{index}-exercise_id"] = _l(
                "%(name)s was taken out of the library.", name=exercise.name
            )
            continue
        if item.dosage_kind != exercise.dosage_kind:
            problems[f"items-{index}-exercise_id"] = _l("Reload the page and try again.")
            continue
        flagged = contraindications_for(exercise, conditions)
        if flagged and not item.contraindication_override:
            problems[f"items-{index}-contraindication_override"] = _l(
                "%(name)s is not advised with %(conditions)s. "
                "Write why you are giving it anyway, or remove it.",
                name=exercise.name,
                conditions=_conditions_words(flagged),
            )
    return problems


def _conditions_words(flagged: list[str]) -> LazyString:
    return LazyString(lambda: ", ".join(gettext(c) for c in flagged).lower())


def program_warnings(count: int) -> list[str]:
    if count > RECOMMENDED_MAX_ITEMS:
        return [
            _l(
                "This program has %(n)s exercises. Patients keep up better with 6 or fewer.",
                n=count,
            )
        ]
    return []


# --- Writing ------------------------------------------------------------------------------


def _new_item(
    db: Session,
    now: datetime,
    therapist: User,
    program: Program,
    position: int,
    item: ItemIn,
    exercise: Exercise,
    reason: str,
) -> ProgramItem:
    row = ProgramItem(
        program_id=program.id,
        exercise_id=exercise.id,
        position=position,
        ceiling_reps=max(exercise.ceiling_reps, item.reps or 0),
        contraindication_override=item.contraindication_override,
        **item.dosage(),
    )
    db.add(row)
    db.flush()
    change_item_dosage(db, now, row, {}, therapist, reason, before=None)
    return row


def change_item_dosage(
    db: Session,
    now: datetime,
    item: ProgramItem,
    changes: dict[str, Any],
    by: User | None,
    reason: str,
    before: dict[str, Any] | None | Literal["current"] = "current",
) -> ProgramItemVersion | None:
    """Set dosage fields on an item and record the change (who, when, before, after, why).

    The one way a dosage changes, whether a therapist edits it or a progression is applied.
    `before=None` records an item's first dosage. None when nothing changed.
    """
    previous = item_dosage(item) if before == "current" else before
    for name, value in changes.items():
        setattr(item, name, value)
    if item.reps:
        item.ceiling_reps = max(item.ceiling_reps, item.reps)
    after = item_dosage(item)
    if previous == after:
        return None
    db.add(item)
    version = ProgramItemVersion(
        item_id=item.id,
        changed_by_id=by.id if by else None,
        changed_at=now,
        before=previous,
        after=after,
        reason=reason[:200],
    )
    db.add(version)
    return version


def _end_other_programs(db: Session, now: datetime, program: Program) -> list[Program]:
    ended = []
    for other in db.exec(
        select(Program).where(
            Program.patient_id == program.patient_id,
            Program.status == "active",
            Program.id != program.id,
        )
    ).all():
        other.status = "ended"
        last_day = max(other.start_date, program.start_date - timedelta(days=1))
        if other.end_date is None or other.end_date > last_day:
            other.end_date = last_day
        other.updated_at = now
        db.add(other)
        ended.append(other)
    return ended


def _write_program(
    db: Session,
    now: datetime,
    therapist: User,
    patient: User,
    data: ProgramIn,
    exercises: dict[int, Exercise],
    template_id: int | None = None,
) -> Program:
    program = Program(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        created_by_id=therapist.id,
        template_id=template_id,
        status="active",
        form_token=data.form_token,
        created_at=now,
        updated_at=now,
        **{name: getattr(data, name) for name in DETAIL_FIELDS},
    )
    if data.form_token is None:
        db.add(program)
        db.flush()
    else:
        try:
            with db.begin_nested():
                db.add(program)
        except IntegrityError:
            # The same form, posted again at the same moment: the other request saved it.
            saved = program_for_form(db, patient, data.form_token)
            if saved is None:
                raise
            raise ProgramAlreadySaved(saved) from None
    for position, item in enumerate(data.items):
        _new_item(
            db,
            now,
            therapist,
            program,
            position,
            item,
            exercises[item.exercise_id],
            data.change_reason,
        )
    for goal in data.goals:
        db.add(Goal(program_id=program.id, text=goal.text, target_date=goal.target_date))
    if data.end_previous:
        _end_other_programs(db, now, program)
    db.flush()
    return program


def _check_people(therapist: User, patient: User) -> None:
    if therapist.role != "therapist" or patient.role != "patient":
        raise ValueError("a therapist prescribes programs to a patient")
    if therapist.clinic_id != patient.clinic_id:
        raise ValueError("the patient belongs to another clinic")


def create_program(
    db: Session, now: datetime, therapist: User, patient: User, data: ProgramIn
) -> Program:
    """Write a program built in the builder (or from scratch): the program, its items with
    a first dosage version each (before=None), and its goals, in the caller's transaction.

    Raises ProgramInputError when an exercise is unknown, belongs to another clinic, or is
    contraindicated for the patient without a written reason, and ProgramAlreadySaved when a
    program was saved with the same `form_token` (also by a concurrent request). Nothing is
    written then.
    """
    _check_people(therapist, patient)
    if data.form_token is not None:
        saved = program_for_form(db, patient, data.form_token)
        if saved is not None:
            raise ProgramAlreadySaved(saved)
    new_items = [item.model_copy(update={"item_id": None}) for item in data.items]
    data = data.model_copy(update={"items": new_items})
    problems = item_problems(db, therapist.clinic_id, patient_conditions(db, patient), new_items)
    if problems:
        raise ProgramInputError(problems)
    exercises = exercises_for_clinic(db, therapist.clinic_id, [i.exercise_id for i in new_items])
    return _write_program(db, now, therapist, patient, data, exercises)


def template_items(
    db: Session, clinic_id: int, template: ProgramTemplate
) -> list[tuple[Exercise, dict[str, Any]]]:
    """A template's exercises in order, each with its dosage (exercise default + overrides)."""
    slugs = [entry["exercise"] for entry in template.items]
    rows = db.exec(
        select(Exercise).where(
            col(Exercise.slug).in_(slugs),
            (Exercise.clinic_id.is_(None)) | (Exercise.clinic_id == clinic_id),
        )
    ).all()
    by_slug = {row.slug: row for row in rows}
    missing = [slug for slug in slugs if slug not in by_slug]
    if missing:
        raise LookupError(f"template {template.slug!r} names unknown exercises {missing!r}")
    return [
        (by_slug[e["exercise"]], default_dosage(by_slug[e["exercise"]], e)) for e in template.items
    ]


def template_end_date(template: ProgramTemplate, start_date: date) -> date:
    return start_date + timedelta(weeks=template.weeks) - timedelta(days=1)


def create_program_from_template(
    db: Session,
    now: datetime,
    therapist: User,
    patient: User,
    template: ProgramTemplate,
    start_date: date,
    reminder_time: time | None = None,
    *,
    override_reason: str | None = None,
) -> Program:
    """A live program from a template as it stands: the template's schedule, its exercises in
    order with the exercise's default dosage overridden by the template item, an initial
    ProgramItemVersion per item (before=None); written in the caller's transaction.

    An exercise contraindicated for the patient needs `override_reason` (kept on the item as
    the written reason); without one this raises ProgramInputError and writes nothing.
    LookupError when the template names an exercise that is not loaded.
    """
    _check_people(therapist, patient)
    if template.clinic_id not in (None, therapist.clinic_id):
        raise ValueError("the template belongs to another clinic")
    conditions = patient_conditions(db, patient)
    entries = template_items(db, therapist.clinic_id, template)
    problems = {}
    for index, (exercise, _dosage) in enumerate(entries):
        flagged = contraindications_for(exercise, conditions)
        if flagged and not (override_reason or "").strip():
            problems[f"items-{index}-contraindication_override"] = _l(
                "%(name)s is not advised with %(conditions)s.",
                name=exercise.name,
                conditions=_conditions_words(flagged),
            )
    if problems:
        raise ProgramInputError(problems)
    data = ProgramIn(
        title=template.name[:120],
        days=list(template.days),
        times_per_day=template.times_per_day,
        start_date=start_date,
        end_date=template_end_date(template, start_date),
        reminder_time=reminder_time,
        diagnosis=template.condition[:300],
        precautions="\n".join(template.precautions)[:1000],
        items=[
            ItemIn(
                exercise_id=exercise.id,
                contraindication_override=(
                    override_reason.strip()[:500]
                    if override_reason and contraindications_for(exercise, conditions)
                    else None
                ),
                **dosage,
            )
            for exercise, dosage in entries
        ],
    )
    exercises = {exercise.id: exercise for exercise, _dosage in entries}
    return _write_program(db, now, therapist, patient, data, exercises, template_id=template.id)


@dataclass
class ProgramChanges:
    """What an edit changed: what the patient is told about, and what was versioned."""

    versions: list[ProgramItemVersion] = field(default_factory=list)
    added: list[ProgramItem] = field(default_factory=list)
    removed: list[ProgramItem] = field(default_factory=list)
    moved: bool = False
    schedule: bool = False
    details: bool = False
    goals: bool = False

    @property
    def tells_patient(self) -> bool:
        return bool(self.versions or self.added or self.removed or self.moved or self.schedule)

    @property
    def any(self) -> bool:
        return self.tells_patient or self.details or self.goals


def update_program(
    db: Session, now: datetime, therapist: User, program: Program, data: ProgramIn
) -> ProgramChanges:
    """Apply an edit of a program: each dosage change becomes a ProgramItemVersion (who, when,
    before, after, reason); removed items keep their history; a live program's patient is told
    once per edit when the dosage, the exercises or the schedule changed.

    Raises ProgramInputError (nothing written) for unknown, foreign or contraindicated items.
    """
    patient = db.get(User, program.patient_id)
    _check_people(therapist, patient)
    if program.clinic_id != therapist.clinic_id:
        raise ValueError("the program belongs to another clinic")
    existing = {item.id: item for item, _exercise in live_items(db, program)}
    conditions = patient_conditions(db, patient)
    problems = item_problems(db, therapist.clinic_id, conditions, data.items, existing)
    if problems:
        raise ProgramInputError(problems)
    exercises = exercises_for_clinic(db, therapist.clinic_id, [i.exercise_id for i in data.items])
    changes = ProgramChanges()

    for name in DETAIL_FIELDS:
        if getattr(program, name) != getattr(data, name):
            setattr(program, name, getattr(data, name))
            if name in SCHEDULE_FIELDS:
                changes.schedule = True
            else:
                changes.details = True

    kept: set[int] = set()
    for position, item in enumerate(data.items):
        if item.item_id is None:
            changes.added.append(
                _new_item(
                    db,
                    now,
                    therapist,
                    program,
                    position,
                    item,
                    exercises[item.exercise_id],
                    data.change_reason,
                )
            )
            continue
        row = existing[item.item_id]
        kept.add(row.id)
        if row.position != position:
            row.position = position
            changes.moved = True
        version = change_item_dosage(db, now, row, item.dosage(), therapist, data.change_reason)
        if version is not None:
            changes.versions.append(version)
        if row.contraindication_override != item.contraindication_override:
            row.contraindication_override = item.contraindication_override
            changes.details = True
        db.add(row)
    for item_id, row in existing.items():
        if item_id not in kept:
            row.removed_at = now
            db.add(row)
            changes.removed.append(row)

    changes.goals = _update_goals(db, program, data.goals)
    if changes.any:
        program.updated_at = now
        db.add(program)
    if data.end_previous and program.status == "active":
        _end_other_programs(db, now, program)
    db.flush()
    if program.status == "active" and changes.tells_patient:
        notify(
            db,
            now,
            patient.id,
            "program_updated",
            dedupe_key=f"program-updated:{program.id}:{now.isoformat()}",
            # No health data; notify() stores it in the patient's language.
            title="Your exercises were updated",
            url="/today",
        )
    return changes


def _update_goals(db: Session, program: Program, goals: list[GoalIn]) -> bool:
    current = {goal.id: goal for goal in goals_of(db, program)}
    changed = False
    kept: set[int] = set()
    for goal in goals:
        row = current.get(goal.goal_id) if goal.goal_id is not None else None
        if row is None:
            db.add(Goal(program_id=program.id, text=goal.text, target_date=goal.target_date))
            changed = True
            continue
        kept.add(row.id)
        if (row.text, row.target_date) != (goal.text, goal.target_date):
            row.text, row.target_date = goal.text, goal.target_date
            db.add(row)
            changed = True
    for goal_id, row in current.items():
        if goal_id not in kept:
            db.delete(row)
            changed = True
    return changed


def end_program(db: Session, now: datetime, program: Program, today: date) -> None:
    """Stop a program: the patient no longer sees it from today."""
    if program.status == "ended":
        return
    program.status = "ended"
    last_day = max(program.start_date, today)
    if program.end_date is None or program.end_date > last_day:
        program.end_date = last_day
    program.updated_at = now
    db.add(program)
    db.flush()
