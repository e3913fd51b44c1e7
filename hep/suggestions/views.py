"""Therapists decide on progression suggestions: accept (optionally edited) or dismiss."""

from __future__ import annotations

from typing import Annotated

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field

from hep import audit, progression
from hep.access import clinic_row_or_404, therapist_required
from hep.db import get_session
from hep.forms import parse_form
from hep.models import ProgressionSuggestion
from hep.programs.service import describe_dosage
from hep.rollup import refresh_patient
from hep.timeutil import utcnow
from hep.web import is_htmx, render

bp = Blueprint("suggestions", __name__, url_prefix="/suggestions")
bp.add_app_template_global(describe_dosage)


class SuggestionEdit(BaseModel):
    """The dosage a therapist accepts, when they change the proposal first."""

    model_config = ConfigDict(extra="ignore")

    sets: Annotated[int | None, Field(ge=1, le=10, title="Sets")] = None
    reps: Annotated[int | None, Field(ge=1, le=100, title="Reps")] = None
    hold_seconds: Annotated[int | None, Field(ge=5, le=300, title="Hold seconds")] = None
    duration_seconds: Annotated[int | None, Field(ge=5, le=7200, title="Seconds")] = None
    load_value: Annotated[float | None, Field(ge=0, le=1000, title="Weight")] = None


def _view(db, suggestion: ProgressionSuggestion) -> progression.SuggestionView:
    return progression.views_of(db, [suggestion])[0]


def _answer(db, suggestion: ProgressionSuggestion, form=None, status: int = 200):
    if is_htmx() or form is not None:
        return render(
            "suggestions/suggestion.html",
            partial="suggestions/_suggestion.html",
            view=_view(db, suggestion),
            form=form,
            status=status,
        )
    return redirect(url_for("dashboard.patient", patient_id=suggestion.patient_id))


@bp.post("/<int:suggestion_id>/accept")
@therapist_required
def accept(suggestion_id: int):
    db = get_session()
    suggestion = clinic_row_or_404(db, ProgressionSuggestion, suggestion_id)
    if suggestion.status != "pending":
        flash(_("This suggestion was already decided."))
        return _answer(db, suggestion)
    view = _view(db, suggestion)
    edited = None
    if view.editable:
        form = parse_form(SuggestionEdit, request.form)
        if not form.ok:
            return _answer(db, suggestion, form=form, status=422)
        changes = {k: v for k, v in form.data.model_dump().items() if k in view.editable}
        changes = {k: v for k, v in changes.items() if v is not None}
        if changes != {k: suggestion.to_dosage[k] for k in changes}:
            edited = {**suggestion.to_dosage, **changes}
    now = utcnow()
    progression.apply(db, now, suggestion, current_user.row, edited=edited)
    refresh_patient(db, now, suggestion.patient_id)
    audit.record(
        db,
        now,
        "suggestion.accept",
        suggestion.patient_id,
        f"suggestion:{suggestion.id}",
        edited=edited is not None,
    )
    db.commit()
    flash(_("Accepted. The patient's program is updated and they have been told."))
    return _answer(db, suggestion)


@bp.post("/<int:suggestion_id>/dismiss")
@therapist_required
def dismiss(suggestion_id: int):
    db = get_session()
    suggestion = clinic_row_or_404(db, ProgressionSuggestion, suggestion_id)
    if suggestion.status == "pending":
        now = utcnow()
        progression.dismiss(db, now, suggestion, current_user.row)
        refresh_patient(db, now, suggestion.patient_id)
        audit.record(
            db, now, "suggestion.dismiss", suggestion.patient_id, f"suggestion:{suggestion.id}"
        )
        db.commit()
    return _answer(db, suggestion)


@bp.get("/<int:suggestion_id>")
@therapist_required
def show(suggestion_id: int):
    db = get_session()
    suggestion = clinic_row_or_404(db, ProgressionSuggestion, suggestion_id)
    if suggestion is None:
        abort(404)
    return render(
        "suggestions/suggestion.html",
        partial="suggestions/_suggestion.html",
        view=_view(db, suggestion),
        form=None,
    )
