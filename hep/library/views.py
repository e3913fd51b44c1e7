"""The exercise library for therapists: search and filters, exercise pages with their ladder,
the clinic's own exercises with phone-recorded photos and videos, and program templates."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel

from hep.access import (
    clinic_row_or_404,
    exercise_or_404,
    media_or_404,
    role_required,
    template_or_404,
    therapist_required,
)
from hep.db import get_session
from hep.forms import FormResult, parse_form, validate
from hep.library import media as media_files
from hep.library import service
from hep.library.schemas import (
    MAX_TEMPLATE_ITEMS,
    ExerciseForm,
    LibraryQuery,
    MediaForm,
    TemplateForm,
    TemplateItemForm,
)
from hep.models import Exercise, ExerciseMedia, ProgramTemplate
from hep.rules.safety import ACCEPTABLE_MAX, CONTRAINDICATIONS, SORENESS_ADVICE
from hep.timeutil import utcnow
from hep.web import is_htmx, render

bp = Blueprint("library", __name__, url_prefix="/library")


def labels() -> dict[str, dict[str, str]]:
    """Plain words for the catalogue's codes, by kind."""
    return {
        "category": {
            "strength": _("Strength"),
            "endurance": _("Endurance"),
            "range_of_motion": _("Range of motion"),
            "flexibility": _("Flexibility (stretch)"),
            "balance": _("Balance"),
            "coordination": _("Coordination"),
            "functional": _("Everyday activity"),
        },
        "region": {
            "neck": _("Neck"),
            "shoulder": _("Shoulder"),
            "elbow_wrist_hand": _("Elbow, wrist and hand"),
            "back": _("Back"),
            "hip": _("Hip"),
            "knee": _("Knee"),
            "ankle_foot": _("Ankle and foot"),
            "whole_body": _("Whole body"),
        },
        "position": {
            "standing": _("Standing"),
            "sitting": _("Sitting"),
            "lying_on_back": _("Lying on the back"),
            "lying_on_front": _("Lying on the front"),
            "lying_on_side": _("Lying on the side"),
            "hands_and_knees": _("On hands and knees"),
            "kneeling": _("Kneeling"),
            "walking": _("Walking"),
        },
        "equipment": {
            "none": _("No equipment"),
            "chair": _("Chair"),
            "wall": _("Wall"),
            "step": _("Step"),
            "resistance_band": _("Resistance band"),
            "dumbbell": _("Dumbbell"),
            "ankle_weight": _("Ankle weight"),
            "towel": _("Towel"),
            "ball": _("Ball"),
            "pillow": _("Pillow"),
            "table_or_counter": _("Table or counter"),
            "stick": _("Stick"),
            "foam_pad": _("Foam pad"),
        },
        "cpt": {
            "97110": _("97110 · Therapeutic exercise"),
            "97530": _("97530 · Therapeutic activities"),
        },
        "source": {
            "all": _("All exercises"),
            "library": _("Library exercises"),
            "clinic": _("Your clinic's exercises"),
            "archived": _("Your clinic's archived exercises"),
        },
        "kind": {
            "reps": _("Reps"),
            "hold": _("Hold (seconds)"),
            "timed": _("Time (seconds)"),
        },
        "day": {
            "mon": _("Monday"),
            "tue": _("Tuesday"),
            "wed": _("Wednesday"),
            "thu": _("Thursday"),
            "fri": _("Friday"),
            "sat": _("Saturday"),
            "sun": _("Sunday"),
        },
        "contraindication": {tag: _(label) for tag, label in CONTRAINDICATIONS.items()},
    }


@bp.context_processor
def _library_context() -> dict[str, Any]:
    return {"labels": labels()}


@bp.app_context_processor
def _soreness_guide() -> dict[str, Any]:
    """For templates/library/_soreness.html, which patient pages include: the rules' numbers."""
    return {"soreness_guide": {"acceptable_max": ACCEPTABLE_MAX, "advice": SORENESS_ADVICE}}


# --- Search -----------------------------------------------------------------------------------


@bp.get("")
@therapist_required
def index():
    db = get_session()
    # Empty filters ("Any") count as not given, as in every form.
    args = {name: value.strip() for name, value in request.args.items() if value.strip()}
    query, errors = validate(LibraryQuery, args)
    if query is None:
        result = service.SearchResult([], 0, 1, 1)
        query = LibraryQuery()
    else:
        result = service.search_exercises(db, current_user.clinic_id, query)
    form = FormResult(values=args, errors=errors)
    # A history restore asks with HX-Request too, but needs the whole page.
    partial = None if request.headers.get("HX-History-Restore-Request") else "library/_results.html"
    response = render(
        "library/index.html",
        partial=partial,
        status=422 if errors else 200,
        form=form,
        query=query,
        result=result,
        oob=partial is not None and is_htmx(),
    )
    if is_htmx() and not errors:
        # The address bar shows the search without the empty filters: short and bookmarkable.
        page = {"page": result.page} if result.page > 1 else {}
        response.headers["HX-Push-Url"] = url_for("library.index", **query.filters(), **page)
    return response


# --- One exercise -----------------------------------------------------------------------------


@bp.get("/exercises/<int:exercise_id>")
@therapist_required
def exercise(exercise_id: int):
    db = get_session()
    exercise = exercise_or_404(db, exercise_id)
    media = service.media_for(db, current_user.clinic_id, [exercise.id])[exercise.id]
    return render(
        "library/exercise.html",
        exercise=exercise,
        media=media,
        ladder=service.ladder(db, current_user.clinic_id, exercise),
        dosage=service.exercise_dosage(exercise),
        own=exercise.clinic_id == current_user.clinic_id,
    )


def _choices(db, exclude_slug: str | None = None) -> list[tuple[str, str]]:
    """(slug, name) of every exercise the clinic may use, for a select."""
    rungs = service.ladder_choices(db, current_user.clinic_id, exclude_slug)
    return [(rung.slug, rung.name) for rung in rungs]


def _exercise_form_page(form, exercise: Exercise | None, status: int = 200):
    db = get_session()
    return render(
        "library/exercise_form.html",
        status=status,
        form=form,
        exercise=exercise,
        choices=_choices(db, exercise.slug if exercise else None),
    )


def _parse_exercise(exercise: Exercise | None) -> FormResult[ExerciseForm]:
    form = parse_form(ExerciseForm, request.form, lists=("equipment", "contraindications"))
    if form.ok:
        problems = service.ladder_problems(
            get_session(), current_user.clinic_id, form.data, exercise.slug if exercise else None
        )
        for name, message in problems.items():
            form.add_error(name, message)
    return form


@bp.route("/exercises/new", methods=["GET", "POST"])
@therapist_required
def new_exercise():
    if request.method == "GET":
        values = {"dosage_kind": "reps", "sets": 2, "amount": 10, "rest_seconds": 30}
        values |= {"per_day": 1, "days_per_week": 3, "ceiling_reps": 15, "cpt_code": "97110"}
        return _exercise_form_page(FormResult(values=values), None)
    form = _parse_exercise(None)
    if not form.ok:
        return _exercise_form_page(form, None, status=422)
    db = get_session()
    exercise = service.create_exercise(db, utcnow(), current_user.row, form.data)
    db.commit()
    flash(_("%(name)s is in your clinic's library.", name=exercise.name))
    return redirect(url_for("library.exercise", exercise_id=exercise.id))


@bp.route("/exercises/<int:exercise_id>/edit", methods=["GET", "POST"])
@therapist_required
def edit_exercise(exercise_id: int):
    db = get_session()
    exercise = clinic_row_or_404(db, Exercise, exercise_id)
    if request.method == "GET":
        return _exercise_form_page(FormResult(values=service.form_values(exercise)), exercise)
    form = _parse_exercise(exercise)
    if not form.ok:
        return _exercise_form_page(form, exercise, status=422)
    service.update_exercise(db, utcnow(), exercise, form.data)
    db.commit()
    flash(_("Your changes are saved."))
    return redirect(url_for("library.exercise", exercise_id=exercise.id))


@bp.post("/exercises/<int:exercise_id>/archive")
@therapist_required
def archive_exercise(exercise_id: int):
    db = get_session()
    exercise = clinic_row_or_404(db, Exercise, exercise_id)
    archive = request.form.get("archive", "1") != "0"
    service.set_archived(db, utcnow(), exercise, archive)
    db.commit()
    if archive:
        flash(_("%(name)s is archived. Programs that use it keep it.", name=exercise.name))
    else:
        flash(_("%(name)s is back in your library.", name=exercise.name))
    return redirect(url_for("library.exercise", exercise_id=exercise.id))


# --- Photos and videos ------------------------------------------------------------------------


def _limit() -> str:
    return media_files.size_words(media_files.max_bytes())


@bp.route("/exercises/<int:exercise_id>/media", methods=["GET", "POST"])
@therapist_required
def upload_media(exercise_id: int):
    db = get_session()
    exercise = exercise_or_404(db, exercise_id)
    if request.method == "GET":
        return render("library/media_form.html", exercise=exercise, form=None, limit=_limit())
    form = parse_form(MediaForm, request.form)
    stored = None
    try:
        stored = media_files.store(request.files.get("file"))
    except media_files.MediaRejected as rejected:
        form.add_error("file", str(rejected))
    if not form.ok:
        if stored is not None:
            media_files.remove(stored.storage_name)
        return render(
            "library/media_form.html", status=422, exercise=exercise, form=form, limit=_limit()
        )
    try:
        service.add_media(db, utcnow(), current_user.row, exercise, stored, form.data.caption)
        db.commit()
    except BaseException:
        media_files.remove(stored.storage_name)
        raise
    flash(
        _("The video is added.") if stored.media_type.kind == "video" else _("The photo is added.")
    )
    return redirect(url_for("library.exercise", exercise_id=exercise.id) + "#media")


@bp.get("/media/<int:media_id>")
@role_required(None)
def media(media_id: int):
    media = media_or_404(get_session(), media_id)
    return media_files.serve(media.storage_name, media.content_type)


class RemoveMedia(BaseModel):
    """Removing a photo or video takes a second step: the confirm page's (or the inline
    confirm's) "Remove" button sends confirm=yes; a bare POST removes nothing."""

    confirm: Literal["yes"]


@bp.route("/media/<int:media_id>/delete", methods=["GET", "POST"])
@therapist_required
def delete_media(media_id: int):
    """GET asks "Remove this video?" (a page, or the inline question on the exercise page for
    htmx); POST with confirm=yes removes the row, then the file."""
    db = get_session()
    media = clinic_row_or_404(db, ExerciseMedia, media_id)
    exercise = service.media_exercise(db, media)
    if request.method == "GET":
        if is_htmx() and "keep" in request.args:  # "Keep it", in place: the line as it was
            return render("library/_media_item.html", item=media, focus=True)
        return render(
            "library/media_remove.html",
            partial="library/_media_remove.html",
            media=media,
            exercise=exercise,
            form=None,
            in_place=is_htmx(),
        )
    form = parse_form(RemoveMedia, request.form)
    if not form.ok:
        form.errors = {"confirm": _("Choose “Remove” to take it off, or “Keep it”.")}
        return render(
            "library/media_remove.html", status=422, media=media, exercise=exercise, form=form
        )
    done = _("The video is removed.") if media.kind == "video" else _("The photo is removed.")
    exercise_id = exercise.id
    storage_name = service.delete_media(db, media)
    db.commit()
    media_files.remove(storage_name)
    flash(done)
    return redirect(url_for("library.exercise", exercise_id=exercise_id) + "#media")


# --- Program templates ------------------------------------------------------------------------


@bp.get("/templates")
@therapist_required
def templates():
    db = get_session()
    return render(
        "library/templates.html", templates=service.templates_for(db, current_user.clinic_id)
    )


@bp.get("/templates/<int:template_id>")
@therapist_required
def template(template_id: int):
    db = get_session()
    template = template_or_404(db, template_id)
    return render(
        "library/template.html",
        template=template,
        lines=service.template_lines(db, current_user.clinic_id, template),
        own=template.clinic_id == current_user.clinic_id,
    )


def _template_values(template: ProgramTemplate) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": template.name,
        "condition": template.condition,
        "description": template.description,
        "days": list(template.days),
        "times_per_day": template.times_per_day,
        "weeks": template.weeks,
        "precautions": "\n".join(template.precautions),
    }
    for index, item in enumerate(template.items[:MAX_TEMPLATE_ITEMS]):
        values[f"item-{index}-exercise"] = item["exercise"]
        values[f"item-{index}-sets"] = item.get("sets", "")
        amount = item.get("reps") or item.get("hold_seconds") or item.get("duration_seconds")
        values[f"item-{index}-amount"] = amount or ""
    return values


def _parse_template() -> tuple[FormResult[TemplateForm], list[dict[str, Any]]]:
    """The template fields and up to MAX_TEMPLATE_ITEMS exercise rows (blank rows skipped)."""
    form = parse_form(TemplateForm, request.form, lists=("days",))
    rows: list[TemplateItemForm] = []
    for index in range(MAX_TEMPLATE_ITEMS):
        raw = {
            name: request.form.get(f"item-{index}-{name}", "").strip()
            for name in TemplateItemForm.model_fields
        }
        for name, value in raw.items():
            form.values[f"item-{index}-{name}"] = value
        if not any(raw.values()):
            continue
        row, errors = validate(TemplateItemForm, {k: v for k, v in raw.items() if v})
        for name, message in errors.items():
            form.add_error(f"item-{index}-{name}", message)
        if row is not None:
            rows.append((index, row))
    if not rows and not any(key.startswith("item-") for key in form.errors):
        form.add_error("item-0-exercise", _("Choose at least one exercise"))
    items, problems = service.template_item_rows(
        get_session(), current_user.clinic_id, [row for _index, row in rows]
    )
    for position, row_problems in problems.items():
        index = rows[position][0]
        for name, message in row_problems.items():
            form.add_error(f"item-{index}-{name}", message)
    return form, items


def _template_form_page(form, template: ProgramTemplate | None, status: int = 200):
    db = get_session()
    return render(
        "library/template_form.html",
        status=status,
        form=form,
        template=template,
        choices=_choices(db),
        slots=range(MAX_TEMPLATE_ITEMS),
    )


@bp.route("/templates/new", methods=["GET", "POST"])
@therapist_required
def new_template():
    db = get_session()
    if request.method == "GET":
        values: dict[str, Any] = {"days": ["mon", "wed", "fri"], "times_per_day": 1, "weeks": 6}
        copy_of = request.args.get("copy", type=int)
        if copy_of is not None:
            source = template_or_404(db, copy_of)
            values = _template_values(source)
            values["name"] = _("%(name)s (our version)", name=source.name)[:120]
        return _template_form_page(FormResult(values=values), None)
    form, items = _parse_template()
    if not form.ok:
        return _template_form_page(form, None, status=422)
    template = service.save_template(db, utcnow(), current_user.row, form.data, items)
    db.commit()
    flash(_("The template %(name)s is saved for your clinic.", name=template.name))
    return redirect(url_for("library.template", template_id=template.id))


@bp.route("/templates/<int:template_id>/edit", methods=["GET", "POST"])
@therapist_required
def edit_template(template_id: int):
    db = get_session()
    template = clinic_row_or_404(db, ProgramTemplate, template_id)
    if request.method == "GET":
        return _template_form_page(FormResult(values=_template_values(template)), template)
    form, items = _parse_template()
    if not form.ok:
        return _template_form_page(form, template, status=422)
    service.save_template(db, utcnow(), current_user.row, form.data, items, template)
    db.commit()
    flash(_("Your changes are saved."))
    return redirect(url_for("library.template", template_id=template.id))
