"""Sign in and out, clinic sign-up, invite links for patients and therapists, the team page."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlmodel import select

from hep import audit
from hep.access import SignedInUser, admin_required
from hep.accounts import service
from hep.accounts.schemas import NewTherapist, PasswordPair, SignIn, SignUp, time_zone_options
from hep.db import get_session
from hep.extensions import limiter
from hep.forms import parse_form
from hep.models import Clinic, User
from hep.qr import qr_svg
from hep.timeutil import utcnow
from hep.web import render

bp = Blueprint("accounts", __name__)
bp.add_app_template_global(time_zone_options)


def _invite_ttl() -> timedelta:
    return timedelta(hours=current_app.config["INVITE_TTL_HOURS"])


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def home_for(user) -> str:
    return url_for("dashboard.caseload" if user.role == "therapist" else "patient.today")


def _sign_in(user: User) -> None:
    # Patients stay signed in on their own phone; therapists' sessions end when idle.
    is_patient = user.role == "patient"
    session.clear()
    session.permanent = is_patient
    login_user(SignedInUser(user), remember=is_patient)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = parse_form(SignIn, request.form) if request.method == "POST" else None
    if form is not None and form.ok:
        db = get_session()
        cfg = current_app.config
        user, problem = service.authenticate(
            db,
            utcnow(),
            form.data.login,
            form.data.password,
            cfg["LOGIN_LOCKOUT_AFTER"],
            timedelta(minutes=cfg["LOGIN_LOCKOUT_MINUTES"]),
        )
        db.commit()
        if user is not None:
            _sign_in(user)
            return redirect(_safe_next(request.args.get("next")) or home_for(user))
        if problem == "locked":
            form.add_error(
                "password",
                _(
                    "Too many wrong passwords. Wait %(n)s minutes, then try again.",
                    n=cfg["LOGIN_LOCKOUT_MINUTES"],
                ),
            )
        else:
            form.add_error("password", _("That sign-in name and password do not match."))
    status = 422 if form is not None and not form.ok else 200
    return render("accounts/login.html", form=form, status=status)


@bp.post("/logout")
def logout():
    # This device stops getting the person's notifications (static/js/push.js fills the field).
    endpoint = request.form.get("push_endpoint", "").strip()
    if endpoint and current_user.is_authenticated:
        from hep.notifications.service import forget_device

        db = get_session()
        forget_device(db, current_user.id, endpoint)
        db.commit()
    # Clear first: logout_user() leaves the note that deletes the remember-me cookie, which a
    # clear afterwards would wipe, signing a patient straight back in.
    session.clear()
    logout_user()
    flash(_("You are signed out."))
    return redirect(url_for("accounts.login"))


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    if not current_app.config["SIGNUP_ENABLED"]:
        abort(404)
    form = parse_form(SignUp, request.form) if request.method == "POST" else None
    if form is not None and form.ok:
        db = get_session()
        user = service.sign_up(db, utcnow(), form.data)
        if user is None:
            form.add_error(
                "email", _("An account with this email already exists. Sign in instead.")
            )
        else:
            db.commit()
            _sign_in(user)
            flash(_("Welcome to HEP. Add your first patient to get started."))
            return redirect(url_for("dashboard.caseload"))
    status = 422 if form is not None and not form.ok else 200
    return render("accounts/signup.html", form=form, status=status)


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invite(token: str):
    db = get_session()
    now = utcnow()
    invite, problem = service.find_invite(db, now, token)
    if problem is not None:
        return render(
            "accounts/invite_invalid.html", problem=problem, status=410 if invite else 404
        )
    user = db.get(User, invite.user_id)
    clinic = db.get(Clinic, invite.clinic_id)
    form = parse_form(PasswordPair, request.form) if request.method == "POST" else None
    if form is not None and form.ok:
        user = service.accept_invite(db, now, invite, form.data.password)
        db.commit()
        _sign_in(user)
        flash(_("Your password is set. You are signed in."))
        return redirect(home_for(user))
    status = 422 if form is not None and not form.ok else 200
    return render("accounts/invite.html", form=form, user=user, clinic=clinic, status=status)


def _clinic_therapists(db) -> list[User]:
    query = select(User).where(User.clinic_id == current_user.clinic_id, User.role == "therapist")
    return list(db.exec(query.order_by(User.name)).all())


@bp.get("/team")
@admin_required
def team():
    db = get_session()
    members = _clinic_therapists(db)
    return render("accounts/team.html", members=members, form=None, invite_url=None, qr=None)


@bp.post("/team")
@admin_required
def invite_therapist():
    db = get_session()
    form = parse_form(NewTherapist, request.form)
    if form.ok and service.email_taken(db, form.data.email):
        form.add_error("email", _("Someone already uses this email address."))
    invite_url = qr = None
    if form.ok:
        therapist, token = service.invite_therapist(
            db, utcnow(), current_user.row, form.data, _invite_ttl()
        )
        audit.record(db, utcnow(), "therapist.invite", None, f"user:{therapist.id}")
        db.commit()
        invite_url = url_for("accounts.accept_invite", token=token, _external=True)
        qr = qr_svg(invite_url, _("Invite link for %(name)s", name=therapist.name))
        flash(
            _(
                "Send this link to %(name)s. It works once, for %(h)s hours.",
                name=therapist.name,
                h=current_app.config["INVITE_TTL_HOURS"],
            )
        )
    members = _clinic_therapists(db)
    return render(
        "accounts/team.html",
        members=members,
        form=None if form.ok else form,
        invite_url=invite_url,
        qr=qr,
        status=200 if form.ok else 422,
    )
