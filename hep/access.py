"""Who may do what: sign-in state, roles, idle logoff and clinic scoping, decided here only.

Every view that touches patient data gets its rows through the `*_or_404` helpers below, so a
therapist of another clinic or another patient meets a 404, never someone else's data.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, current_user, logout_user
from sqlmodel import Session, SQLModel, select

from hep.db import get_session
from hep.models import Exercise, ExerciseMedia, Program, ProgramItem, ProgramTemplate, User

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=SQLModel)


class SignedInUser:
    """The flask-login face of a User row (kept apart so the table stays plain data)."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, user: User) -> None:
        self.row = user

    def __getattr__(self, name: str) -> Any:
        return getattr(self.row, name)

    @property
    def is_active(self) -> bool:
        return self.row.active

    @property
    def is_therapist(self) -> bool:
        return self.row.role == "therapist"

    @property
    def is_patient(self) -> bool:
        return self.row.role == "patient"

    def get_id(self) -> str:
        # The session version is part of the id: bumping it signs the user out everywhere.
        return f"{self.row.id}:{self.row.session_version}"


def init_app(app: Flask, login_manager: LoginManager) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = None
    login_manager.user_loader(_load_user)
    login_manager.unauthorized_handler(_unauthorized)
    app.before_request(_enforce_therapist_idle_logoff)


def _load_user(user_id: str) -> SignedInUser | None:
    try:
        row_id, version = (int(part) for part in user_id.split(":"))
    except ValueError:
        return None
    user = get_session().get(User, row_id)
    if user is None or not user.active or user.session_version != version:
        return None
    return SignedInUser(user)


def _unauthorized():
    """Pages send people to sign in; the JSON API answers 401 so a client can keep its data."""
    if request.path.startswith("/api/"):
        abort(401)
    return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))


def _enforce_therapist_idle_logoff():
    if request.endpoint in (None, "static") or not current_user.is_authenticated:
        return None
    if not current_user.is_therapist:
        return None
    now = datetime.now(UTC).timestamp()
    idle = timedelta(minutes=current_app.config["THERAPIST_IDLE_MINUTES"]).total_seconds()
    last_seen = session.get("seen")
    if last_seen is not None and now - last_seen > idle:
        logout_user()
        session.clear()
        if request.path.startswith("/api/"):
            abort(401)
        flash(_("You were signed out after a while without activity. Please sign in again."))
        return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
    session["seen"] = now
    return None


def role_required(role: str | None) -> Callable[[F], F]:
    """Signed in, and with this role (None: any role)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if role is not None and current_user.role != role:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


therapist_required = role_required("therapist")
patient_required = role_required("patient")


def admin_required(view: F) -> F:
    @wraps(view)
    @therapist_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def clinic_row_or_404(db: Session, model: type[M], row_id: int) -> M:
    """A row that carries clinic_id, only if it belongs to the signed-in therapist's clinic."""
    row = db.get(model, row_id)
    if row is None or getattr(row, "clinic_id", None) != current_user.clinic_id:
        abort(404)
    return row


def own_row_or_404(db: Session, model: type[M], row_id: int) -> M:
    """A row that carries user_id (a notification, a device), only if it is the signed-in
    person's own; anyone else's, a therapist's included, is a 404."""
    row = db.get(model, row_id)
    if row is None or getattr(row, "user_id", None) != current_user.id:
        abort(404)
    return row


def patient_or_404(db: Session, patient_id: int) -> User:
    """A patient of the signed-in therapist's clinic."""
    patient = db.get(User, patient_id)
    if patient is None or patient.role != "patient" or patient.clinic_id != current_user.clinic_id:
        abort(404)
    return patient


def own_program_or_404(db: Session, program_id: int) -> Program:
    """A program the signed-in patient was given, or one of the therapist's clinic."""
    program = db.get(Program, program_id)
    if program is None:
        abort(404)
    if current_user.is_patient and program.patient_id != current_user.id:
        abort(404)
    if current_user.is_therapist and program.clinic_id != current_user.clinic_id:
        abort(404)
    return program


def patient_has_exercise(db: Session, patient_id: int, exercise_id: int) -> bool:
    """True when the exercise is on one of the patient's programs (and not removed from it)."""
    found = db.exec(
        select(ProgramItem.id)
        .join(Program, Program.id == ProgramItem.program_id)
        .where(
            Program.patient_id == patient_id,
            ProgramItem.exercise_id == exercise_id,
            ProgramItem.removed_at.is_(None),
        )
        .limit(1)
    ).first()
    return found is not None


def may_see_exercise(db: Session, exercise: Exercise) -> bool:
    """Library exercises and the clinic's own for its therapists; assigned ones for patients."""
    if current_user.is_therapist:
        return exercise.clinic_id is None or exercise.clinic_id == current_user.clinic_id
    if exercise.clinic_id is not None and exercise.clinic_id != current_user.clinic_id:
        return False
    return patient_has_exercise(db, current_user.id, exercise.id)


def exercises_for_clinic(db: Session, clinic_id: int, exercise_ids: Any) -> dict[int, Exercise]:
    """The exercises among these ids that a clinic's therapists may prescribe: the library's
    and the clinic's own (archived ones included; the caller decides about those)."""
    ids = {int(i) for i in exercise_ids}
    if not ids:
        return {}
    rows = db.exec(
        select(Exercise).where(
            Exercise.id.in_(ids),
            (Exercise.clinic_id.is_(None)) | (Exercise.clinic_id == clinic_id),
        )
    ).all()
    return {row.id: row for row in rows}


def exercise_or_404(db: Session, exercise_id: int) -> Exercise:
    """An exercise the signed-in user may see (see may_see_exercise)."""
    exercise = db.get(Exercise, exercise_id)
    if exercise is None or not may_see_exercise(db, exercise):
        abort(404)
    return exercise


def template_or_404(db: Session, template_id: int) -> ProgramTemplate:
    """A shipped program template, or one of the signed-in therapist's clinic's own."""
    template = db.get(ProgramTemplate, template_id)
    if template is None or not current_user.is_therapist:
        abort(404)
    if template.clinic_id is not None and template.clinic_id != current_user.clinic_id:
        abort(404)
    return template


def media_or_404(db: Session, media_id: int) -> ExerciseMedia:
    """A photo or video for the clinic's users, or for a patient assigned its exercise."""
    media = db.get(ExerciseMedia, media_id)
    if media is None:
        abort(404)
    if media.clinic_id is not None and media.clinic_id != current_user.clinic_id:
        abort(404)
    exercise = db.get(Exercise, media.exercise_id)
    if exercise is None or not may_see_exercise(db, exercise):
        abort(404)
    return media
