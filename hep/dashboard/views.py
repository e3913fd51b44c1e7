"""The therapist's side: the caseload sorted by need, one patient's page, alerts to
acknowledge, notes, CSV exports, adding patients and handing them their invite link."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from babel.dates import format_date as babel_format_date
from babel.dates import get_day_names
from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import format_date, format_time, get_locale, get_timezone, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlmodel import Session, select

from hep import audit, charts
from hep.access import clinic_row_or_404, patient_or_404, therapist_required
from hep.accounts import service as accounts
from hep.accounts.schemas import NewPatient
from hep.dashboard import service
from hep.dashboard.schemas import Acknowledge, CaseloadFilters, NewNote, PageArg
from hep.db import get_session
from hep.forms import FormResult, parse_form
from hep.models import WEEKDAYS, Alert, Clinic, Invite, Program, User
from hep.patient.schemas import SKIP_REASONS
from hep.programs.service import describe_dosage, item_dosage
from hep.qr import qr_svg
from hep.rules.adherence import band
from hep.rules.safety import CONTRAINDICATIONS
from hep.timeutil import local_datetime, utcnow
from hep.web import is_htmx, render

bp = Blueprint("dashboard", __name__)


@bp.app_context_processor
def _navigation() -> dict:
    """`open_alert_count()` for the navigation: the clinic's open alerts, counted once."""

    def open_alert_count() -> int:
        if not (current_user.is_authenticated and current_user.is_therapist):
            return 0
        if "open_alert_count" not in g:
            g.open_alert_count = service.open_alert_count(get_session(), current_user.clinic_id)
        return g.open_alert_count

    return {"open_alert_count": open_alert_count}


@bp.context_processor
def _words() -> dict:
    """Helpers for the dashboard's templates: plain words for codes, dosage, charts."""
    return {
        "band_word": band_word,
        "alert_words": alert_words,
        "schedule_words": schedule_words,
        "describe_target": service.describe_target,
        "describe_actual": service.describe_actual,
        "describe_dosage": describe_dosage,
        "item_dosage": item_dosage,
        "skip_words": SKIP_REASONS,
    }


@bp.app_template_filter("adherence_band")
def adherence_band(score: float | None) -> str | None:
    return band(score)


@bp.app_template_filter("days_ago")
def days_ago(moment: datetime, now: datetime) -> str:
    """ "today", "yesterday", "3 days ago", counted in the signed-in user's time zone."""
    zone = get_timezone()
    return days_words((now.astimezone(zone).date() - moment.astimezone(zone).date()).days)


def days_words(days: int) -> str:
    if days <= 0:
        return _("today")
    if days == 1:
        return _("yesterday")
    return ngettext("%(num)d day ago", "%(num)d days ago", days)


@bp.app_template_filter("clock_in")
def clock_in(moment: datetime, zone: str) -> str:
    """The time of day of a moment where the patient lives (their 9 am, not ours)."""
    return format_time(local_datetime(moment, zone), "short", rebase=False)


def band_word(band_name: str | None) -> str:
    """The word that goes with an adherence band's colour (never colour alone)."""
    return {"green": _("Good"), "amber": _("Fair"), "red": _("Low")}.get(band_name or "", "")


def alert_words(kind: str) -> str:
    return {
        "red_flag": _("Red flag"),
        "severe_pain": _("Pain 7 or more"),
        "pain_over_5_twice": _("Pain over 5 twice in a row"),
        "worsening": _("Pain 2 or more above usual"),
    }.get(kind, kind.replace("_", " ").capitalize())


def schedule_words(program: Program) -> str:
    """ "2 times a day on Mon, Wed, Fri, from 2 Nov 2026" in the user's language."""
    names = get_day_names("abbreviated", locale=get_locale())
    days = ", ".join(names[i] for i, day in enumerate(WEEKDAYS) if day in program.days)
    times = ngettext("%(num)d time a day", "%(num)d times a day", program.times_per_day)
    text = _("%(times)s on %(days)s", times=times, days=days)
    start = format_date(program.start_date)
    if program.end_date:
        end = format_date(program.end_date)
        return _("%(schedule)s, from %(start)s to %(end)s", schedule=text, start=start, end=end)
    return _("%(schedule)s, from %(start)s", schedule=text, start=start)


def _pain_effort_chart(overview: service.PatientOverview) -> charts.Chart | None:
    points = overview.chart
    if not points:
        return None
    pains = [p.pain for p in points if p.pain is not None]
    efforts = [p.effort for p in points if p.effort is not None]
    parts = [
        ngettext(
            "%(num)d session from %(first)s to %(last)s.",
            "%(num)d sessions from %(first)s to %(last)s.",
            len(points),
            first=format_date(points[0].day),
            last=format_date(points[-1].day),
        )
    ]
    if pains:
        parts.append(
            _(
                "Pain from %(low)s to %(high)s, latest %(last)s.",
                low=min(pains),
                high=max(pains),
                last=pains[-1],
            )
        )
    if efforts:
        parts.append(
            _(
                "Effort from %(low)s to %(high)s, latest %(last)s.",
                low=min(efforts),
                high=max(efforts),
                last=efforts[-1],
            )
        )
    return charts.line_chart(
        "pain-effort-chart",
        _("Pain and effort after each session, 0 to 10"),
        " ".join(parts),
        [format_date(p.day, "d MMM") for p in points],
        [
            charts.Series(_("Pain (0-10)"), [p.pain for p in points]),
            charts.Series(_("Effort (0-10)"), [p.effort for p in points]),
        ],
        first_column=_("Date"),
        table_label=_("Show the numbers"),
    )


def _partial(name: str) -> str | None:
    """The partial for an htmx request, except when htmx restores history (it needs the page)."""
    if request.headers.get("HX-History-Restore-Request") == "true":
        return None
    return name


def _caseload_filters() -> tuple[FormResult, CaseloadFilters]:
    form = parse_form(CaseloadFilters, request.args)
    return form, form.data if form.ok else CaseloadFilters()


def _filter_args(filters: CaseloadFilters, **changes) -> dict:
    """The query string of a caseload view, without its defaults."""
    values = {**filters.model_dump(), **changes}
    defaults = CaseloadFilters().model_dump()
    return {k: ("on" if v is True else v) for k, v in values.items() if v != defaults[k]}


@bp.get("/patients")
@therapist_required
def caseload():
    db = get_session()
    now = utcnow()
    form, filters = _caseload_filters()
    page = service.caseload(db, current_user.clinic_id, current_user.id, filters)
    audit.record(db, now, "caseload.view", None, **_filter_args(filters))
    db.commit()
    return render(
        "dashboard/caseload.html",
        partial=_partial("dashboard/_caseload_rows.html"),
        status=200 if form.ok else 422,
        form=form,
        filters=filters,
        result=page,
        lines=caseload_lines(page.rows, now),
        filter_args=lambda **changes: _filter_args(filters, **changes),
    )


@dataclass(frozen=True)
class Line:
    """One caseload row, in words: built in Python because 50 rows of template macros and
    translation look-ups cost more than the queries (SPEC §9: 10× a bare route)."""

    patient_id: int
    name: str
    signed_up: bool
    urgent: bool
    needs: list[tuple[str, str]]  # (tone, words)
    adherence_7: tuple[str, str | None, str]  # (figure, band, band word)
    adherence_30: tuple[str, str | None, str]
    trend: Markup
    last_session: tuple[str, str, str] | None  # (ISO time, "yesterday", "Nov 23")
    last_pain: int | None
    open_alerts: int
    urgent_alerts: int


def gettext_template(text: str) -> str:
    """A translated message with its %(placeholders)s left to fill in later."""
    return _(text, **{name: f"%({name})s" for name in re.findall(r"%\((\w+)\)s", text)})


def caseload_lines(rows: list[service.CaseloadRow], now: datetime) -> list[Line]:
    bands = {"green": _("Good"), "amber": _("Fair"), "red": _("Low"), None: ""}
    fixed = {
        "low": ("amber", _("Below 80 %")),
        "inactive": ("red", _("Inactive")),
        "worsening": ("red", _("Pain up 2+")),
        "progress": ("blue", _("To review")),
    }
    zone, locale = get_timezone(), get_locale()
    today = now.astimezone(zone).date()
    day_words: dict[int, str] = {}
    short_dates: dict[date, str] = {}
    counted: dict[tuple[str, int], tuple[str, str]] = {}
    # Translated once, filled in per row (a look-up per row costs more than the row).
    weekly = gettext_template("Weekly adherence, oldest first: %(numbers)s")
    no_weekly = _("No weekly adherence yet")

    def figure(score: float | None) -> tuple[str, str | None, str]:
        tone = band(score)
        return ("—" if score is None else f"{round(score * 100)} %", tone, bands[tone])

    def when(moment: datetime | None) -> tuple[str, str, str] | None:
        if moment is None:
            return None
        day = moment.astimezone(zone).date()
        days = max(0, (today - day).days)
        if days not in day_words:
            day_words[days] = days_words(days)
        if day not in short_dates:
            pattern = "MMM d" if days < 300 else "medium"
            short_dates[day] = babel_format_date(day, pattern, locale=locale)
        return moment.isoformat(), day_words[days], short_dates[day]

    def trend(values: list[float]) -> Markup:
        numbers = ", ".join(f"{round(v * 100)} %" for v in values)
        return charts.sparkline(values, weekly % {"numbers": numbers} if values else no_weekly)

    lines = []
    for row in rows:
        r = row.rollup
        needs = []
        for need in row.needs:
            if need in ("urgent", "alerts"):
                count = r.urgent_alerts if need == "urgent" else r.open_alerts - r.urgent_alerts
                if (need, count) not in counted:
                    counted[need, count] = (
                        ("urgent", ngettext("%(num)d urgent alert", "%(num)d urgent alerts", count))
                        if need == "urgent"
                        else ("amber", ngettext("%(num)d alert", "%(num)d alerts", count))
                    )
                needs.append(counted[need, count])
            else:
                needs.append(fixed[need])
        lines.append(
            Line(
                patient_id=row.patient_id,
                name=row.name,
                signed_up=row.signed_up,
                urgent="urgent" in row.needs,
                needs=needs,
                adherence_7=figure(r.adherence_7),
                adherence_30=figure(r.adherence_30),
                trend=trend(r.sparkline),
                last_session=when(r.last_session_at),
                last_pain=r.last_pain,
                open_alerts=r.open_alerts,
                urgent_alerts=r.urgent_alerts,
            )
        )
    return lines


@bp.get("/patients/export.csv")
@therapist_required
def export_caseload():
    """The caseload summary as it is filtered on screen, every page, as CSV."""
    db = get_session()
    now = utcnow()
    _form, filters = _caseload_filters()
    rows = service.caseload_all(db, current_user.clinic_id, current_user.id, filters)
    audit.record(db, now, "caseload.export", None, rows=len(rows), **_filter_args(filters))
    db.commit()
    header = [
        _("Patient"),
        _("Needs attention"),
        _("7-day adherence (%)"),
        _("7-day band"),
        _("30-day adherence (%)"),
        _("30-day band"),
        _("Adherence since start (%)"),
        _("Inactive 3+ scheduled days"),
        _("Last session (UTC)"),
        _("Last pain (0-10)"),
        _("Open alerts"),
        _("Urgent alerts"),
        _("Pain up 2+ on usual"),
        _("Suggestions to review"),
        _("Signed up"),
    ]
    words = need_words()
    body = service.to_csv(
        header,
        (
            [
                row.name,
                "; ".join(str(words[need]) for need in row.needs),
                _percent(row.rollup.adherence_7),
                band_word(row.band_7),
                _percent(row.rollup.adherence_30),
                band_word(row.band_30),
                _percent(row.rollup.adherence_all),
                _yes_no(row.rollup.inactive),
                row.rollup.last_session_at,
                row.rollup.last_pain,
                row.rollup.open_alerts,
                row.rollup.urgent_alerts,
                _yes_no(row.rollup.worsening),
                row.rollup.pending_suggestions,
                _yes_no(row.signed_up),
            ]
            for row in rows
        ),
    )
    return _csv_response(body, f"hep-caseload-{now.date().isoformat()}.csv")


def _percent(score: float | None) -> float | None:
    return None if score is None else round(score * 100, 1)


def _yes_no(value: bool) -> str:
    return _("Yes") if value else _("No")


def need_words() -> dict[str, str]:
    return {
        "urgent": _("Urgent alert"),
        "alerts": _("Alert"),
        "low": _("Below 80 %"),
        "inactive": _("Inactive"),
        "worsening": _("Pain worse"),
        "progress": _("Suggestion to review"),
    }


def _csv_response(body: str, filename: str) -> Response:
    response = Response(body.encode("utf-8"), content_type="text/csv; charset=utf-8")
    # The file name carries no patient name: downloads folders are not private.
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/alerts")
@therapist_required
def alerts():
    """Every open alert of the clinic, urgent first, to acknowledge one by one."""
    db = get_session()
    now = utcnow()
    rows = service.clinic_open_alerts(db, current_user.clinic_id)
    audit.record(db, now, "alerts.view", None, shown=len(rows))
    db.commit()
    return render("dashboard/alerts.html", rows=rows, now=now)


@bp.post("/alerts/<int:alert_id>/acknowledge")
@therapist_required
def acknowledge(alert_id: int):
    """Mark an alert seen with a note; htmx gets the alert back and the new count."""
    db = get_session()
    alert = clinic_row_or_404(db, Alert, alert_id)
    back = "alerts" if request.form.get("back") == "alerts" else "patient"
    form = parse_form(Acknowledge, request.form)
    if not form.ok:
        row = service.alert_row(db, alert)
        if is_htmx():
            return render(
                "dashboard/_alert.html", status=422, row=row, form=form, back=back, now=utcnow()
            )
        return render("dashboard/acknowledge.html", status=422, row=row, form=form, back=back)
    now = utcnow()
    acknowledged = service.acknowledge_alert(db, now, current_user.row, alert, form.data.note)
    if acknowledged:
        audit.record(db, now, "alert.acknowledge", alert.patient_id, alert_id=alert.id)
    db.commit()
    if is_htmx():
        row = service.alert_row(db, alert)
        return render("dashboard/_alert.html", row=row, form=None, back=back, now=now, oob=True)
    if acknowledged:
        flash(_("The alert is marked as seen."))
    else:
        flash(_("Someone else marked this alert as seen already."))
    if back == "alerts":
        return redirect(url_for("dashboard.alerts"))
    return redirect(url_for("dashboard.patient", patient_id=alert.patient_id) + "#alerts")


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
    args = parse_form(PageArg, request.args)
    return _patient_page(db, patient, sessions_page=args.data.page if args.ok else 1)


def _patient_page(
    db: Session,
    patient: User,
    sessions_page: int = 1,
    note_form: FormResult | None = None,
    status: int = 200,
):
    now = utcnow()
    overview = service.patient_overview(db, now, patient, sessions_page)
    audit.record(db, now, "patient.view", patient.id)
    db.commit()
    return render(
        "dashboard/patient.html",
        status=status,
        patient=patient,
        o=overview,
        conditions=CONTRAINDICATIONS,
        signed_up=patient.password_hash is not None,
        note_form=note_form,
        now=now,
        chart=_pain_effort_chart(overview),
    )


@bp.get("/patients/<int:patient_id>/sessions")
@therapist_required
def sessions(patient_id: int):
    """One page of the session log (htmx); without htmx, the patient page at that page."""
    db = get_session()
    patient = patient_or_404(db, patient_id)
    args = parse_form(PageArg, request.args)
    page = args.data.page if args.ok else 1
    if not is_htmx():
        return redirect(url_for("dashboard.patient", patient_id=patient.id, page=page))
    now = utcnow()
    result = service.session_page(db, patient.id, page)
    audit.record(db, now, "patient.sessions", patient.id, page=result.page)
    db.commit()
    return render("dashboard/_sessions.html", patient=patient, sessions=result)


@bp.post("/patients/<int:patient_id>/notes")
@therapist_required
def add_note(patient_id: int):
    db = get_session()
    patient = patient_or_404(db, patient_id)
    form = parse_form(NewNote, request.form)
    if not form.ok:
        if is_htmx():
            notes = service.notes_of(db, patient.id)
            return render(
                "dashboard/_notes.html", status=422, patient=patient, notes=notes, note_form=form
            )
        return _patient_page(db, patient, note_form=form, status=422)
    now = utcnow()
    note = service.add_note(db, now, current_user.row, patient, form.data.body)
    audit.record(db, now, "note.create", patient.id, note_id=note.id)
    db.commit()
    if is_htmx():
        notes = service.notes_of(db, patient.id)
        return render(
            "dashboard/_notes.html", patient=patient, notes=notes, note_form=None, saved=True
        )
    flash(_("Your note is saved."))
    return redirect(url_for("dashboard.patient", patient_id=patient.id) + "#notes")


@bp.get("/patients/<int:patient_id>/export.csv")
@therapist_required
def export_patient(patient_id: int):
    """Every exercise log of the patient, one row each, for a spreadsheet."""
    db = get_session()
    patient = patient_or_404(db, patient_id)
    now = utcnow()
    rows = service.patient_log_rows(db, patient.id)
    audit.record(db, now, "patient.export", patient.id, rows=len(rows))
    db.commit()
    header = [
        _("Performed at (UTC)"),
        _("Local date"),
        _("Exercise"),
        _("Target"),
        _("Actual"),
        _("Target volume"),
        _("Actual volume"),
        _("Pain during (0-10)"),
        _("Effort (0-10)"),
        _("Skipped reason"),
    ]
    body = service.to_csv(
        header,
        (
            [
                session.performed_at,
                session.local_date,
                name,
                service.describe_target(log),
                service.describe_actual(log),
                service.target_volume(log),
                service.actual_volume(log),
                log.pain_during,
                log.effort,
                _(SKIP_REASONS[log.skipped_reason])
                if log.skipped_reason in SKIP_REASONS
                else log.skipped_reason,
            ]
            for session, log, name in rows
        ),
    )
    return _csv_response(body, f"hep-patient-{patient.id}-logs-{now.date().isoformat()}.csv")


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
