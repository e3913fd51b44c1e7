"""The therapist's program builder: start from a template or from nothing, add exercises from
the library without leaving the page, set dosage and schedule, and print a handout.

The builder keeps its whole state in the form: adding, moving or removing an exercise posts the
form and gets the item list back (htmx), so nothing is written until the therapist saves. A new
program's form carries a one-time token, so saving it twice (a double click, a retried POST)
makes one program.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import uuid4

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import Session, select
from werkzeug.datastructures import MultiDict

from hep import audit
from hep.access import clinic_row_or_404, exercises_for_clinic, patient_or_404, therapist_required
from hep.db import get_session
from hep.forms import FormResult
from hep.models import Exercise, Program, ProgramItem, ProgramTemplate, User
from hep.programs import service
from hep.programs.schemas import (
    MAX_GOALS,
    MAX_ITEMS,
    MEASURE_FIELD,
    RECOMMENDED_MAX_ITEMS,
    WEEKDAY_ORDER,
    validate_program,
)
from hep.qr import qr_svg
from hep.rules.safety import ACCEPTABLE_MAX
from hep.timeutil import local_date, utcnow
from hep.web import render

bp = Blueprint("programs", __name__)

ITEM_FIELDS = (
    "item_id",
    "exercise_id",
    "sets",
    "reps",
    "hold_seconds",
    "duration_seconds",
    "rest_seconds",
    "load_text",
    "load_value",
    "load_unit",
    "side",
    "notes",
    "contraindication_override",
)
GOAL_FIELDS = ("goal_id", "text", "target_date")
SCALAR_FIELDS = (
    "title",
    "times_per_day",
    "start_date",
    "end_date",
    "reminder_time",
    "diagnosis",
    "icd10",
    "precautions",
    "auto_apply_progressions",
    "end_previous",
    "change_reason",
    "form_token",
)
BLANK_GOAL_ROWS = 2


# --- The builder's state, carried in the form ----------------------------------------------


@dataclass
class Builder:
    """What the builder form holds: the program's fields, its items and goals, as typed."""

    values: dict[str, Any]
    items: list[dict[str, str]]
    goals: list[dict[str, str]]
    errors: dict[str, str] = field(default_factory=dict)
    message: str | None = None
    # The id to move keyboard focus to after an htmx swap (the pressed button is gone).
    focus: str | None = None

    @property
    def form(self) -> FormResult:
        """A flat view (`items-0-sets` -> "3") for the form macros."""
        flat = dict(self.values)
        for index, item in enumerate(self.items):
            flat.update({f"items-{index}-{k}": v for k, v in item.items()})
        for index, goal in enumerate(self.goals):
            flat.update({f"goals-{index}-{k}": v for k, v in goal.items()})
        return FormResult(values=flat, errors=self.errors)

    def payload(self, exercises: dict[int, Exercise]) -> dict[str, Any]:
        """What pydantic validates: blank fields left out, each item's kind from its exercise."""
        payload: dict[str, Any] = {k: v for k, v in self.values.items() if v not in ("", None)}
        payload["days"] = list(self.values.get("days", []))
        items = []
        for row in self.items:
            item = {k: v for k, v in row.items() if v != ""}
            exercise = exercises.get(_int(row.get("exercise_id")))
            if exercise is not None:
                item["dosage_kind"] = exercise.dosage_kind
            items.append(item)
        payload["items"] = items
        payload["goals"] = [{k: v for k, v in g.items() if v != ""} for g in self.goals]
        return payload


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _rows(form: MultiDict, prefix: str, fields: tuple[str, ...], limit: int) -> list[dict]:
    pattern = re.compile(rf"^{prefix}-(\d{{1,3}})-")
    indices = sorted({int(m.group(1)) for key in form if (m := pattern.match(key))})
    return [
        {name: form.get(f"{prefix}-{index}-{name}", "").strip() for name in fields}
        for index in indices[:limit]
    ]


def builder_from_form(form: MultiDict) -> Builder:
    values: dict[str, Any] = {name: form.get(name, "").strip() for name in SCALAR_FIELDS}
    values["days"] = [day for day in WEEKDAY_ORDER if day in form.getlist("days")]
    items = _rows(form, "items", ITEM_FIELDS, MAX_ITEMS + 1)
    goals = [
        goal
        for goal in _rows(form, "goals", GOAL_FIELDS, MAX_GOALS + BLANK_GOAL_ROWS)
        if goal["text"] or goal["target_date"]
    ]
    return Builder(values=values, items=items, goals=goals)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def item_row(exercise: Exercise, dosage: dict[str, Any], **extra: Any) -> dict[str, str]:
    row = {name: "" for name in ITEM_FIELDS}
    row.update({k: _text(v) for k, v in dosage.items() if k in ITEM_FIELDS})
    row.update({k: _text(v) for k, v in extra.items()})
    row["exercise_id"] = str(exercise.id)
    return row


def builder_for_template(
    db: Session, patient: User, template: ProgramTemplate | None, today: date
) -> Builder:
    values: dict[str, Any] = {name: "" for name in SCALAR_FIELDS}
    values.update(times_per_day="1", start_date=today.isoformat(), days=[])
    # One token per builder form shown: saving it twice finds the first program (see new()).
    values["form_token"] = str(uuid4())
    values["end_previous"] = "1" if service.active_programs(db, patient) else ""
    items: list[dict[str, str]] = []
    if template is not None:
        values.update(
            title=template.name,
            days=[day for day in WEEKDAY_ORDER if day in template.days],
            times_per_day=str(template.times_per_day),
            end_date=service.template_end_date(template, today).isoformat(),
            diagnosis=template.condition,
            precautions="\n".join(template.precautions),
        )
        items = [
            item_row(exercise, dosage)
            for exercise, dosage in service.template_items(db, patient.clinic_id, template)
        ]
    return Builder(values=values, items=items, goals=[])


def builder_for_program(db: Session, program: Program) -> Builder:
    values: dict[str, Any] = {name: "" for name in SCALAR_FIELDS}
    for name in service.DETAIL_FIELDS:
        value = getattr(program, name)
        if name == "reminder_time" and value is not None:
            value = value.strftime("%H:%M")
        elif name == "auto_apply_progressions":
            value = "1" if value else ""
        elif name == "days":
            continue
        values[name] = _text(value.isoformat() if isinstance(value, date) else value)
    values["days"] = [day for day in WEEKDAY_ORDER if day in program.days]
    items = [
        item_row(
            exercise,
            service.item_dosage(item),
            item_id=item.id,
            contraindication_override=item.contraindication_override,
        )
        for item, exercise in service.live_items(db, program)
    ]
    goals = [
        {"goal_id": str(g.id), "text": g.text, "target_date": _text(g.target_date)}
        for g in service.goals_of(db, program)
    ]
    return Builder(values=values, items=items, goals=goals)


def _apply_operation(db: Session, builder: Builder, patient: User, form: MultiDict) -> None:
    """Add, move or remove one item, as the pressed button asks."""
    items = builder.items
    if (add := _int(form.get("add"))) is not None:
        exercise = exercises_for_clinic(db, patient.clinic_id, [add]).get(add)
        if exercise is None or exercise.archived_at is not None:
            builder.message = _("That exercise is not in your library.")
            return
        if len(items) >= MAX_ITEMS:
            builder.message = _("A program can hold %(n)s exercises at most.", n=MAX_ITEMS)
            return
        flagged = _flagged(exercise, service.patient_conditions(db, patient))
        reason = form.get(f"add_reason_{exercise.id}", "").strip()[:500]
        if flagged and not reason:
            builder.message = _(
                "%(name)s was not added: it is not advised with %(conditions)s. "
                "Write why you are giving it anyway, then press Add anyway.",
                name=exercise.name,
                conditions=", ".join(flagged).lower(),
            )
            return
        items.append(
            item_row(
                exercise,
                service.default_dosage(exercise),
                contraindication_override=reason if flagged else "",
            )
        )
        builder.message = _("Added %(name)s.", name=exercise.name)
        return
    move = form.get("move", "")
    if ":" in move:
        index, direction = _int(move.split(":")[0]), move.split(":")[1]
        if index is not None and 0 <= index < len(items):
            target = index - 1 if direction == "up" else index + 1
            if 0 <= target < len(items):
                items[index], items[target] = items[target], items[index]
                builder.message = _("Moved.")
                at_end = target == 0 if direction == "up" else target == len(items) - 1
                builder.focus = f"item-{target}-title" if at_end else f"{direction}-{target}"
        return
    if (remove := _int(form.get("remove"))) is not None and 0 <= remove < len(items):
        items.pop(remove)
        builder.message = _("Removed.")
        builder.focus = "items-status"


# --- Rendering the builder -----------------------------------------------------------------


def _item_views(db: Session, patient: User, builder: Builder) -> list[dict[str, Any]]:
    ids = [_int(row.get("exercise_id")) for row in builder.items]
    exercises = exercises_for_clinic(db, patient.clinic_id, [i for i in ids if i is not None])
    conditions = service.patient_conditions(db, patient)
    views = []
    for index, row in enumerate(builder.items):
        exercise = exercises.get(_int(row.get("exercise_id")))
        views.append(
            {
                "index": index,
                "row": row,
                "exercise": exercise,
                "measure": MEASURE_FIELD.get(exercise.dosage_kind, "reps") if exercise else "reps",
                "flagged": _flagged(exercise, conditions) if exercise else [],
            }
        )
    return views


def _flagged(exercise: Exercise, conditions: list[str]) -> list[str]:
    """The patient's conditions this exercise is not advised for, in the reader's language."""
    return [_(name) for name in service.contraindications_for(exercise, conditions)]


def _render_builder(
    db: Session,
    patient: User,
    builder: Builder,
    program: Program | None = None,
    template: ProgramTemplate | None = None,
    status: int = 200,
):
    items = _item_views(db, patient, builder)
    previous = [
        p for p in service.active_programs(db, patient) if program is None or p.id != program.id
    ]
    if program is None:
        builder.values["form_token"] = builder.values.get("form_token") or str(uuid4())
        save_url = url_for("programs.new", patient_id=patient.id)
        items_url = url_for("programs.new_items", patient_id=patient.id)
    else:
        save_url = url_for("programs.edit", program_id=program.id)
        items_url = url_for("programs.edit_items", program_id=program.id)
    goal_rows = len(builder.goals) + BLANK_GOAL_ROWS
    return render(
        "programs/builder.html",
        partial="programs/_items.html",
        status=status,
        patient=patient,
        program=program,
        template=template,
        builder=builder,
        form=builder.form,
        items=items,
        warnings=service.program_warnings(len(items)),
        previous=previous,
        save_url=save_url,
        items_url=items_url,
        search_url=url_for(
            "programs.search", patient_id=patient.id, program=program.id if program else None
        ),
        goal_rows=min(goal_rows, MAX_GOALS),
        weekdays=_weekday_options(),
        recommended_max=RECOMMENDED_MAX_ITEMS,
    )


def _weekday_options() -> list[tuple[str, str]]:
    names = (
        _("Monday"),
        _("Tuesday"),
        _("Wednesday"),
        _("Thursday"),
        _("Friday"),
        _("Saturday"),
        _("Sunday"),
    )
    return list(zip(WEEKDAY_ORDER, names, strict=True))


def _validated(db: Session, patient: User, builder: Builder):
    ids = [_int(row.get("exercise_id")) for row in builder.items]
    exercises = exercises_for_clinic(db, patient.clinic_id, [i for i in ids if i is not None])
    data, errors = validate_program(builder.payload(exercises))
    if len(builder.items) > MAX_ITEMS:
        errors["items"] = _("A program can hold %(n)s exercises at most.", n=MAX_ITEMS)
        data = None
    if not builder.items:
        errors.setdefault("search-q", _("Add at least one exercise"))
        data = None
    builder.errors = errors
    return data


# --- Routes: a new program ----------------------------------------------------------------


@bp.route("/patients/<int:patient_id>/programs/new", methods=["GET", "POST"])
@therapist_required
def new(patient_id: int):
    db = get_session()
    patient = patient_or_404(db, patient_id)
    now = utcnow()
    if request.method == "POST":
        builder = builder_from_form(request.form)
        data = _validated(db, patient, builder)
        if data is not None:
            try:
                program = service.create_program(db, now, current_user.row, patient, data)
            except service.ProgramInputError as error:
                builder.errors = error.errors
            except service.ProgramAlreadySaved as already:
                db.rollback()
                flash(_("This program was saved already. To change it, press Change program."))
                return redirect(url_for("programs.show", program_id=already.program.id))
            else:
                audit.record(db, now, "program.create", patient.id, f"program:{program.id}")
                db.commit()
                flash(_("The program is saved. %(name)s sees it on Today.", name=patient.name))
                return redirect(url_for("programs.show", program_id=program.id))
        db.rollback()
        return _render_builder(db, patient, builder, status=422)

    template = None
    template_id = _int(request.args.get("template"))
    if template_id is not None:
        template = service.template_for(db, current_user.clinic_id, template_id)
        if template is None:
            abort(404)
    elif request.args.get("start") != "blank":
        return render(
            "programs/start.html",
            patient=patient,
            templates=service.templates_for(db, current_user.clinic_id),
            active=service.active_programs(db, patient),
        )
    try:
        builder = builder_for_template(db, patient, template, local_date(now, patient.timezone))
    except LookupError:
        abort(404)
    return _render_builder(db, patient, builder, template=template)


@bp.post("/patients/<int:patient_id>/programs/new/items")
@therapist_required
def new_items(patient_id: int):
    db = get_session()
    patient = patient_or_404(db, patient_id)
    builder = builder_from_form(request.form)
    _apply_operation(db, builder, patient, request.form)
    return _render_builder(db, patient, builder)


@bp.get("/patients/<int:patient_id>/programs/exercises")
@therapist_required
def search(patient_id: int):
    db = get_session()
    patient = patient_or_404(db, patient_id)
    items_url = url_for("programs.new_items", patient_id=patient.id)
    if (program_id := _int(request.args.get("program"))) is not None:
        program = clinic_row_or_404(db, Program, program_id)
        if program.patient_id != patient.id:
            abort(404)
        items_url = url_for("programs.edit_items", program_id=program.id)
    query = request.args.get("q", "").strip()[:100]
    results = service.search_exercises(db, current_user.clinic_id, query) if query else []
    conditions = service.patient_conditions(db, patient)
    return render(
        "programs/_search_results.html",
        query=query,
        items_url=items_url,
        results=[(e, _flagged(e, conditions)) for e in results],
    )


# --- Routes: an existing program ----------------------------------------------------------


@bp.get("/programs/<int:program_id>")
@therapist_required
def show(program_id: int):
    db = get_session()
    program, patient = _program_and_patient(db, program_id)
    items = service.live_items(db, program)
    versions = service.versions_of(db, program)
    names = _names(db, {v.changed_by_id for v, _item in versions} | {program.created_by_id})
    exercise_names = _exercise_names(db, {item.exercise_id for _v, item in versions})
    audit.record(db, utcnow(), "program.view", patient.id, f"program:{program.id}")
    db.commit()
    return render(
        "programs/show.html",
        program=program,
        patient=patient,
        items=_with_dosage_words(items),
        goals=service.goals_of(db, program),
        versions=versions,
        names=names,
        exercise_names=exercise_names,
        describe=service.describe_dosage,
        warnings=service.program_warnings(len(items)),
    )


@bp.route("/programs/<int:program_id>/edit", methods=["GET", "POST"])
@therapist_required
def edit(program_id: int):
    db = get_session()
    program, patient = _program_and_patient(db, program_id)
    if program.status != "active":
        flash(_("This program has ended. Start a new one to change it."))
        return redirect(url_for("programs.show", program_id=program.id))
    if request.method == "GET":
        return _render_builder(db, patient, builder_for_program(db, program), program=program)
    builder = builder_from_form(request.form)
    data = _validated(db, patient, builder)
    if data is not None:
        now = utcnow()
        try:
            changes = service.update_program(db, now, current_user.row, program, data)
        except service.ProgramInputError as error:
            builder.errors = error.errors
        else:
            audit.record(
                db,
                now,
                "program.update",
                patient.id,
                f"program:{program.id}",
                versions=len(changes.versions),
                added=len(changes.added),
                removed=len(changes.removed),
            )
            db.commit()
            if changes.tells_patient:
                flash(_("Saved. %(name)s was told the program changed.", name=patient.name))
            elif changes.any:
                flash(_("Saved."))
            else:
                flash(_("Nothing was changed."))
            return redirect(url_for("programs.show", program_id=program.id))
    db.rollback()
    db.refresh(program)
    return _render_builder(db, patient, builder, program=program, status=422)


@bp.post("/programs/<int:program_id>/edit/items")
@therapist_required
def edit_items(program_id: int):
    db = get_session()
    program, patient = _program_and_patient(db, program_id)
    builder = builder_from_form(request.form)
    _apply_operation(db, builder, patient, request.form)
    return _render_builder(db, patient, builder, program=program)


@bp.post("/programs/<int:program_id>/end")
@therapist_required
def end(program_id: int):
    db = get_session()
    program, patient = _program_and_patient(db, program_id)
    now = utcnow()
    service.end_program(db, now, program, local_date(now, patient.timezone))
    audit.record(db, now, "program.end", patient.id, f"program:{program.id}")
    db.commit()
    flash(_("The program has ended. %(name)s no longer sees it.", name=patient.name))
    return redirect(url_for("programs.show", program_id=program.id))


@bp.get("/programs/<int:program_id>/handout")
@therapist_required
def handout(program_id: int):
    db = get_session()
    program, patient = _program_and_patient(db, program_id)
    today_url = url_for("patient.today", _external=True)
    audit.record(db, utcnow(), "program.handout", patient.id, f"program:{program.id}")
    db.commit()
    # The handout is the patient's: printed in their language, not the therapist's.
    with force_locale(patient.locale):
        return render(
            "programs/handout.html",
            program=program,
            patient=patient,
            items=_with_dosage_words(service.live_items(db, program)),
            goals=service.goals_of(db, program),
            qr=qr_svg(today_url, _("Open your exercises on your phone")),
            today_url=today_url,
            pain_max=ACCEPTABLE_MAX,
        )


def _program_and_patient(db: Session, program_id: int) -> tuple[Program, User]:
    """A program of the therapist's clinic (else 404) and its patient."""
    program = clinic_row_or_404(db, Program, program_id)
    return program, db.get(User, program.patient_id)


def _with_dosage_words(
    rows: list[tuple[ProgramItem, Exercise]],
) -> list[tuple[ProgramItem, Exercise, str]]:
    return [
        (item, exercise, service.describe_dosage(service.item_dosage(item)))
        for item, exercise in rows
    ]


def _names(db: Session, ids: set[int | None]) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {u.id: u.name for u in db.exec(select(User).where(User.id.in_(ids))).all()}


def _exercise_names(db: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {e.id: e.name for e in db.exec(select(Exercise).where(Exercise.id.in_(ids))).all()}
