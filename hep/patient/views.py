"""The patient's side, on their phone: what to do today."""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user
from sqlmodel import select

from hep.access import patient_required
from hep.db import get_session
from hep.models import Clinic, Program
from hep.web import render

bp = Blueprint("patient", __name__)


@bp.get("/today")
@patient_required
def today():
    db = get_session()
    programs = db.exec(
        select(Program).where(Program.patient_id == current_user.id, Program.status == "active")
    ).all()
    clinic = db.get(Clinic, current_user.clinic_id)
    return render("patient/today.html", programs=programs, clinic=clinic)
