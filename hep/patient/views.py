"""The patient's side, on their phone: today, the guided session, check-in and history."""

from __future__ import annotations

import uuid
from datetime import date

from flask import Blueprint, abort, redirect, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from hep import charts, rollup
from hep.access import exercise_or_404, patient_required
from hep.content.text import exercise_words
from hep.db import get_session
from hep.models import Clinic, User
from hep.patient import service
from hep.patient.schemas import (
    EFFORT_WORDS,
    PAIN_WORDS,
    SKIP_REASONS,
    parse_checkin_form,
    parse_session_form,
)
from hep.programs.service import describe_dosage, item_dosage
from hep.rules.safety import (
    ACCEPTABLE_MAX,
    RED_FLAG_GUIDANCE,
    RED_FLAGS,
    SORENESS_ADVICE,
    red_flag_guidance,
    soreness_rule,
)
from hep.timeutil import utcnow
from hep.web import render

bp = Blueprint("patient", __name__)


def _me() -> User:
    return current_user.row


def _clinic() -> Clinic:
    return get_session().get(Clinic, current_user.clinic_id)


@bp.get("/today")
@patient_required
def today():
    view = service.today_view(get_session(), utcnow(), _me())
    return render(
        "patient/today.html",
        partial="patient/_today.html",
        view=view,
        soreness_advice=SORENESS_ADVICE["continues"],
    )


def _session_page(form=None, status: int = 200):
    db = get_session()
    now = utcnow()
    program = rollup.current_program(db, current_user.id)
    if program is None:
        return redirect(url_for("patient.today"))
    steps = service.session_steps(db, _me(), program)
    if not steps:
        return redirect(url_for("patient.today"))
    submitted = form.values if form else {}
    return render(
        "patient/session.html",
        status=status,
        form=form,
        program=program,
        steps=steps,
        client_uuid=_same_or_new_uuid((submitted.get("client_uuid") or [""])[0]),
        performed_at=now.isoformat(timespec="seconds"),
        red_flags=RED_FLAGS,
        skip_reasons=[(key, _(words)) for key, words in SKIP_REASONS.items()],
        pain_words=PAIN_WORDS,
        effort_words=EFFORT_WORDS,
        acceptable_pain=ACCEPTABLE_MAX,
        emergency_number=_clinic().emergency_number,
        soreness_stop=SORENESS_ADVICE["continues"],
    )


def _same_or_new_uuid(value: str) -> uuid.UUID:
    """Keep the page's session id when it comes back with errors, so a corrected send is still
    the same session; a new one only if it was missing or mangled."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return uuid.uuid4()


@bp.get("/session")
@patient_required
def session():
    return _session_page()


@bp.post("/session")
@patient_required
def save_session():
    db = get_session()
    form = parse_session_form(request.form)
    if form.ok:
        try:
            log, _created = service.record_session(db, utcnow(), _me(), form.data)
        except service.InvalidSubmission as refused:
            db.rollback()
            for name, message in refused.errors.items():
                form.add_error(name, _(message))
        else:
            db.commit()
            return redirect(url_for("patient.session_done", session_id=log.id), code=303)
    return _session_page(form, status=422)


@bp.get("/sessions/<int:session_id>")
@patient_required
def session_done(session_id: int):
    db = get_session()
    log = service.own_session(db, _me(), session_id)
    if log is None:
        abort(404)
    guidance = red_flag_guidance(log.red_flags, _clinic().emergency_number)
    advice = soreness_rule("continues", False).advice if log.stop_reason == "soreness" else None
    view = service.today_view(db, utcnow(), _me())
    return render(
        "patient/session_done.html",
        log=log,
        entries=service.exercise_logs_of(db, log),
        guidance=guidance,
        red_flag_words=RED_FLAG_GUIDANCE,
        advice=advice,
        view=view,
    )


@bp.route("/checkin", methods=["GET", "POST"])
@patient_required
def checkin():
    db = get_session()
    now = utcnow()
    me = _me()
    target = service.checkin_target(db, now, me)
    answered = service.checkin_of(db, target) if target else None
    form = None
    if request.method == "POST" and target is not None and answered is None:
        form = parse_checkin_form(request.form)
        if form.ok:
            try:
                service.record_checkin(db, now, me, form.data)
            except service.InvalidSubmission:
                db.rollback()
                form.add_error("__all__", _("This check-in is for an older session."))
            else:
                db.commit()
                return redirect(url_for("patient.checkin"), code=303)
    elif request.method == "POST":
        return redirect(url_for("patient.checkin"), code=303)
    advice = service.checkin_advice(target, answered) if answered else None
    return render(
        "patient/checkin.html",
        status=422 if form is not None and not form.ok else 200,
        target=target,
        answered=answered,
        advice=advice,
        form=form,
        pain_words=PAIN_WORDS,
    )


def _month_arg() -> date | None:
    raw = request.args.get("month", "")
    try:
        return date.fromisoformat(f"{raw}-01") if raw else None
    except ValueError:
        return None


@bp.get("/history")
@patient_required
def history():
    view = service.history_view(get_session(), utcnow(), _me(), _month_arg())
    labels = [format_date(day, "MMM d") for day, _pain, _effort in view.trend]
    trend = charts.line_chart(
        "pain-effort",
        _("Pain and effort, last 30 days"),
        _("Pain and effort from 0 to 10 for each session in the last 30 days."),
        labels,
        [
            charts.Series(_("Pain"), [pain for _day, pain, _effort in view.trend]),
            charts.Series(_("Effort"), [effort for _day, _pain, effort in view.trend]),
        ],
        first_column=_("Date"),
        table_label=_("Show the numbers"),
    )
    progress_charts = []
    for number, progress in enumerate(view.progress):
        done = progress.done_volumes()
        unit = _("reps") if progress.item.dosage_kind == "reps" else _("seconds")
        target = progress.target_volume
        progress_charts.append(
            charts.bar_chart(
                f"progress-{number}",
                _("%(name)s: what you did", name=exercise_words(progress.exercise).name),
                _(
                    "Total %(unit)s done in each of your last sessions, with the target line.",
                    unit=unit,
                ),
                [format_date(day, "MMM d") for day, _volume in done],
                [volume for _day, volume in done],
                y_max=max([target, *(volume for _day, volume in done)]),
                value_label=_("Done (%(unit)s)", unit=unit),
                first_column=_("Date"),
                target=target or None,
                target_label=_("Target"),
                table_label=_("Show the numbers"),
            )
            if done
            else None
        )
    return render(
        "patient/history.html",
        view=view,
        trend=trend if view.trend else None,
        progress=list(zip(view.progress, progress_charts, strict=True)),
    )


@bp.get("/exercises/<int:exercise_id>")
@patient_required
def exercise(exercise_id: int):
    db = get_session()
    exercise_or_404(db, exercise_id)
    found = service.exercise_on_program(db, _me(), exercise_id)
    if found is None:
        abort(404)
    exercise, item, media = found
    return render(
        "patient/exercise.html",
        exercise=exercise,
        item=item,
        media=media,
        dosage=describe_dosage(item_dosage(item)),
    )
