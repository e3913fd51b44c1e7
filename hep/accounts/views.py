"""Sign in and out (with two-step sign-in for therapists), clinic sign-up, invite links for
patients and therapists, a therapist's account page, the team page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlmodel import select

from hep import audit, totp
from hep.access import (
    SignedInUser,
    admin_required,
    clinic_row_or_404,
    role_required,
    therapist_required,
)
from hep.accounts import service
from hep.accounts.schemas import (
    ChooseLanguage,
    ClinicTwoStep,
    NewTherapist,
    PasswordPair,
    SignIn,
    SignUp,
    TurnOffTwoStep,
    TwoStepCode,
    language_options,
    time_zone_options,
)
from hep.db import get_session
from hep.extensions import limiter
from hep.forms import FormResult, parse_form
from hep.models import Clinic, User
from hep.qr import qr_svg
from hep.timeutil import utcnow
from hep.web import render

bp = Blueprint("accounts", __name__)
bp.add_app_template_global(time_zone_options)
bp.add_app_template_global(language_options)

# How long the code page waits after a right password (SPEC §3 A: MFA for therapists).
TWO_STEP_PENDING = timedelta(minutes=5)
# Password and code tries share one rate limit, so a second step is no way around it.
sign_in_limit = limiter.shared_limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"], scope="sign-in", methods=["POST"]
)


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


def _lockout() -> tuple[int, timedelta]:
    cfg = current_app.config
    return cfg["LOGIN_LOCKOUT_AFTER"], timedelta(minutes=cfg["LOGIN_LOCKOUT_MINUTES"])


def _locked_message() -> str:
    return _(
        "Too many wrong tries. Wait %(n)s minutes, then try again.",
        n=current_app.config["LOGIN_LOCKOUT_MINUTES"],
    )


def _after_password(db, user: User, next_url: str | None):
    """The password was right: ask for the code, or sign in (and send a therapist whose
    clinic requires two-step sign-in to set it up)."""
    if service.needs_second_step(user):
        session.clear()
        session["two_step"] = {
            "user": user.id,
            "version": user.session_version,
            "until": (utcnow() + TWO_STEP_PENDING).timestamp(),
            "next": next_url,
        }
        return redirect(url_for("accounts.login_code"))
    _sign_in(user)
    if service.must_set_up_two_step(db, user):
        session["two_step_required"] = True
        flash(_("Your clinic asks every therapist to use two-step sign-in. Set it up now."))
        return redirect(url_for("accounts.account"))
    return redirect(next_url or home_for(user))


def _pending_two_step() -> dict[str, Any] | None:
    """The sign-in waiting for its code, if it has not run out."""
    pending = session.get("two_step")
    if not isinstance(pending, dict) or pending.get("until", 0) <= utcnow().timestamp():
        return None
    return pending


@bp.route("/login", methods=["GET", "POST"])
@sign_in_limit
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
            return _after_password(db, user, _safe_next(request.args.get("next")))
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


@bp.route("/login/code", methods=["GET", "POST"])
@sign_in_limit
def login_code():
    """The second step of a therapist's sign-in: the 6-digit code from their app."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    pending = _pending_two_step()
    if pending is None:
        if session.pop("two_step", None) is not None:
            flash(_("That took too long. Please sign in again."))
        return redirect(url_for("accounts.login"))
    form = parse_form(TwoStepCode, request.form) if request.method == "POST" else None
    if form is not None and form.ok:
        db = get_session()
        lockout_after, lockout = _lockout()
        user, problem = service.check_sign_in_code(
            db,
            utcnow(),
            pending["user"],
            pending["version"],
            form.data.code,
            lockout_after,
            lockout,
        )
        db.commit()
        if user is not None:
            _sign_in(user)
            return redirect(pending.get("next") or home_for(user))
        if problem in ("expired", "locked"):
            session.pop("two_step", None)
            flash(_locked_message() if problem == "locked" else _("Please sign in again."))
            return redirect(url_for("accounts.login"))
        form.add_error(
            "code",
            _("That code was used already. Wait for the next code in your app, then type it.")
            if problem == "reused"
            else _("That code is not right. Check the code in your app and try again."),
        )
    status = 422 if form is not None and not form.ok else 200
    return render("accounts/login_code.html", form=form, status=status)


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
    with force_locale(user.locale):  # the language the therapist chose for them
        return _invite_page(db, now, invite, user)


def _invite_page(db, now, invite, user: User):
    clinic = db.get(Clinic, invite.clinic_id)
    form = parse_form(PasswordPair, request.form) if request.method == "POST" else None
    if form is not None and form.ok:
        user = service.accept_invite(db, now, invite, form.data.password)
        db.commit()
        response = _after_password(db, user, None)
        if current_user.is_authenticated:
            flash(_("Your password is set. You are signed in."))
        else:
            flash(_("Your password is set. Now type the code from your app."))
        return response
    status = 422 if form is not None and not form.ok else 200
    return render("accounts/invite.html", form=form, user=user, clinic=clinic, status=status)


# --- A therapist's account: two-step sign-in ----------------------------------------------

# Where a therapist whose clinic requires two-step sign-in may go before setting it up.
_SET_UP_FIRST_ALLOWS = {
    "static",
    "accounts.account",
    "accounts.language",
    "accounts.two_step_start",
    "accounts.two_step_setup",
    "accounts.logout",
}


@bp.before_app_request
def _send_to_two_step_set_up():
    if not session.get("two_step_required") or request.endpoint in _SET_UP_FIRST_ALLOWS:
        return None
    if request.endpoint is None or request.blueprint in ("pwa", "offline", "errors"):
        return None
    if not current_user.is_authenticated:
        return None
    if request.path.startswith("/api/"):
        abort(403)
    return redirect(url_for("accounts.account"))


def _account_page(
    off_form: FormResult | None = None,
    language_form: FormResult | None = None,
    status: int = 200,
):
    db = get_session()
    user = current_user.row
    clinic = db.get(Clinic, user.clinic_id)
    return render(
        "accounts/account.html",
        two_step_on=service.needs_second_step(user),
        clinic_requires=clinic is not None and clinic.require_two_step,
        form=off_form,
        language_form=language_form or FormResult(values={"locale": user.locale}),
        status=status,
    )


@bp.get("/account")
@therapist_required
def account():
    return _account_page()


@bp.route("/account/language", methods=["GET", "POST"])
@role_required(None)
def language():
    """Language / Idioma: on a therapist's account page; a patient's account page is this."""
    if request.method == "GET":
        return _account_page()
    form = parse_form(ChooseLanguage, request.form)
    if not form.ok:
        return _account_page(language_form=form, status=422)
    db = get_session()
    service.set_locale(db, db.get(User, current_user.id), form.data.locale)
    db.commit()
    with force_locale(form.data.locale):  # say it in the language just chosen
        flash(_("Your language is saved."))
    return redirect(
        url_for("accounts.account" if current_user.is_therapist else "accounts.language")
    )


@bp.post("/account/two-step/start")
@therapist_required
def two_step_start():
    db = get_session()
    user = db.get(User, current_user.id)
    if service.needs_second_step(user):
        return redirect(url_for("accounts.account"))
    service.start_two_step(db, user)
    db.commit()
    return redirect(url_for("accounts.two_step_setup"))


def _setup_page(user: User, secret: str, form: FormResult | None, status: int = 200):
    uri = totp.provisioning_uri(secret, user.login or user.email or user.name, "HEP")
    return render(
        "accounts/two_step_setup.html",
        qr=qr_svg(uri, _("Code for your authenticator app")),
        key=totp.grouped(secret),
        uri=uri,
        form=form,
        status=status,
    )


@bp.route("/account/two-step", methods=["GET", "POST"])
@therapist_required
def two_step_setup():
    db = get_session()
    user = db.get(User, current_user.id)
    secret = service.pending_two_step_secret(user)
    if secret is None:
        return redirect(url_for("accounts.account"))
    if request.method == "GET":
        return _setup_page(user, secret, None)
    form = parse_form(TwoStepCode, request.form)
    if form.ok and not service.confirm_two_step(db, utcnow(), user, form.data.code):
        form.add_error(
            "code", _("That code is not right. Type the 6 numbers your app shows right now.")
        )
    if not form.ok:
        return _setup_page(user, secret, form, status=422)
    db.commit()
    _sign_in(user)  # the session version changed: other devices are signed out, not this one
    flash(_("Two-step sign-in is on. Next time you sign in, we will ask for a code."))
    return redirect(url_for("accounts.account"))


@bp.post("/account/two-step/off")
@therapist_required
def two_step_off():
    db = get_session()
    user = db.get(User, current_user.id)
    if not service.needs_second_step(user):
        return redirect(url_for("accounts.account"))
    if db.get(Clinic, user.clinic_id).require_two_step:
        flash(_("Your clinic asks every therapist to use two-step sign-in, so it stays on."))
        return redirect(url_for("accounts.account"))
    form = parse_form(TurnOffTwoStep, request.form)
    if form.ok:
        lockout_after, lockout = _lockout()
        refused = service.turn_off_two_step(
            db, utcnow(), user, form.data.password, form.data.code, lockout_after, lockout
        )
        db.commit()  # a wrong try is counted, like a wrong password at sign-in
        if refused is None:
            flash(_("Two-step sign-in is off. You sign in with your password only."))
            return redirect(url_for("accounts.account"))
        field_name, problem = refused
        if problem == "locked":
            message = _locked_message()
        elif field_name == "password":
            message = _("That password is not right.")
        elif problem == "reused":
            message = _("That code was used already. Wait for the next code in your app.")
        else:
            message = _("That code is not right. Check the code in your app and try again.")
        form.add_error(field_name, message)
    return _account_page(form, status=422)


def _clinic_therapists(db) -> list[User]:
    query = select(User).where(User.clinic_id == current_user.clinic_id, User.role == "therapist")
    return list(db.exec(query.order_by(User.name)).all())


def _team_page(**context: Any):
    db = get_session()
    context.setdefault("form", None)
    context.setdefault("invite_url", None)
    context.setdefault("qr", None)
    return render(
        "accounts/team.html",
        members=_clinic_therapists(db),
        clinic=db.get(Clinic, current_user.clinic_id),
        two_step_on=service.needs_second_step,
        **context,
    )


@bp.get("/team")
@admin_required
def team():
    return _team_page()


@bp.post("/team/two-step")
@admin_required
def require_two_step():
    db = get_session()
    form = parse_form(ClinicTwoStep, request.form)
    if not form.ok:
        return _team_page(status=422)
    clinic = db.get(Clinic, current_user.clinic_id)
    service.require_two_step(db, clinic, form.data.required)
    audit.record(
        db, utcnow(), "clinic.two_step", None, f"clinic:{clinic.id}", required=form.data.required
    )
    db.commit()
    flash(
        _("Every therapist now needs two-step sign-in. Each one sets it up at their next sign-in.")
        if form.data.required
        else _("Two-step sign-in is now each therapist's own choice.")
    )
    return redirect(url_for("accounts.team"))


@bp.post("/team/<int:user_id>/two-step/reset")
@admin_required
def reset_two_step(user_id: int):
    """For a therapist who lost their phone: they sign in with the password and set it up again."""
    db = get_session()
    member = clinic_row_or_404(db, User, user_id)
    if member.role != "therapist":
        abort(404)
    service.reset_two_step(db, member)
    audit.record(db, utcnow(), "therapist.two_step_reset", None, f"user:{member.id}")
    db.commit()
    flash(_("Two-step sign-in is off for %(name)s.", name=member.name))
    return redirect(url_for("accounts.team"))


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
    return _team_page(
        form=None if form.ok else form,
        invite_url=invite_url,
        qr=qr,
        status=200 if form.ok else 422,
    )
