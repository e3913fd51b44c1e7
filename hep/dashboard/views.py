"""The therapist's side: the caseload, adding patients and handing them their invite link."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import select

from hep import audit
from hep.access import patient_or_404, therapist_required
from hep.accounts import service as accounts
from hep.accounts.schemas import NewPatient
from hep.db import get_session
from hep.forms import parse_form
from hep.models import Clinic, Invite, PatientProfile, PatientRollup, Program, User
from hep.qr import qr_svg
from hep.rules.safety import CONTRAINDICATIONS
from hep.timeutil import utcnow
from hep.web import render

bp = Blueprint("dashboard", __name__)


@bp.get("/patients")
@therapist_required
def caseload():
    db = get_session()
    rows = db.exec(
        select(User, PatientRollup)
        .join(PatientRollup, PatientRollup.patient_id == User.id, isouter=True)
        .where(User.clinic_id == current_user.clinic_id, User.role == "patient")
        .order_by(User.name)
    ).all()
    return render("dashboard/caseload.html", rows=rows)


@bp.route("/patients/new", methods=["GET", "POST"])
@therapist_required
def add_patient():
    db = get_session()
    form = (
        parse_form(NewPatient, request.form, lists=("conditions",))
        if request.method == "POST"
        else None
    )
    if form is not None and form.ok and accounts.email_taken(db, form.data.email):
        form.add_error("email", _("Someone already uses this email address."))
    if form is not None and form.ok:
        now = utcnow()
        ttl = timedelta(hours=current_app.config["INVITE_TTL_HOURS"])
        patient, token = accounts.add_patient(db, now, current_user.row, form.data, ttl)
        audit.record(db, now, "patient.create", patient.id)
        db.commit()
        session["fresh_invite"] = {"patient_id": patient.id, "token": token}
        return redirect(url_for("dashboard.invite", patient_id=patient.id))
    clinic = db.get(Clinic, current_user.clinic_id)
    return render(
        "dashboard/add_patient.html",
        form=form,
        default_tz=clinic.timezone,
        conditions=CONTRAINDICATIONS,
        status=422 if form is not None and not form.ok else 200,
    )


@bp.get("/patients/<int:patient_id>")
@therapist_required
def patient(patient_id: int):
    db = get_session()
    patient = patient_or_404(db, patient_id)
    profile = db.get(PatientProfile, patient.id)
    programs = db.exec(
        select(Program).where(Program.patient_id == patient.id).order_by(Program.start_date.desc())
    ).all()
    audit.record(db, utcnow(), "patient.view", patient.id)
    db.commit()
    return render(
        "dashboard/patient.html",
        patient=patient,
        profile=profile,
        programs=programs,
        conditions=CONTRAINDICATIONS,
        signed_up=patient.password_hash is not None,
    )


@bp.route("/patients/<int:patient_id>/invite", methods=["GET", "POST"])
@therapist_required
def invite(patient_id: int):
    """Show a patient's sign-in link and QR code; posting issues a new one (the reset)."""
    db = get_session()
    patient = patient_or_404(db, patient_id)
    token = None
    fresh = session.pop("fresh_invite", None)
    if fresh and fresh["patient_id"] == patient.id:
        token = fresh["token"]
    if request.method == "POST":
        token = accounts.issue_invite(
            db,
            utcnow(),
            patient,
            created_by=current_user.row,
            ttl=timedelta(hours=current_app.config["INVITE_TTL_HOURS"]),
        )
        audit.record(db, utcnow(), "patient.invite", patient.id)
        db.commit()
        flash(_("A new link is ready. Any older link no longer works."))
    url = url_for("accounts.accept_invite", token=token, _external=True) if token else None
    latest = db.exec(
        select(Invite).where(Invite.user_id == patient.id).order_by(Invite.created_at.desc())
    ).first()
    return render(
        "dashboard/invite.html",
        patient=patient,
        invite_url=url,
        qr=qr_svg(url, _("Sign-in link for %(name)s", name=patient.name)) if url else None,
        latest=latest,
        hours=current_app.config["INVITE_TTL_HOURS"],
    )
