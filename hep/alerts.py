"""Alerts for the therapist, raised from hep.rules.safety.alerts_for as patients' logs arrive.

Each alert is an Alert row (acknowledged later on the dashboard) and a notification to the
patient's therapist. Red flags and severe pain are raised every time; the two pain trends
(pain over 5 twice, worsening) once until a therapist acknowledges the open one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from hep.models import Alert, ExerciseLog, PatientProfile, SessionLog, User
from hep.notifications.service import notify
from hep.rollup import recent_sessions, signals_of
from hep.rules.safety import RED_FLAGS_BY_KEY, SessionSignals, alerts_for

# Alert kinds that describe a trend: one open alert of the kind is enough.
TREND_KINDS = ("pain_over_5_twice", "worsening")
NOTIFICATION_KIND = {"red_flag": "red_flag"}  # every other kind is a "pain_alert"


def raise_for_session(
    db: Session, now: datetime, patient: User, log: SessionLog, exercise_logs: Sequence[ExerciseLog]
) -> list[Alert]:
    """Apply the alert rules to a just-stored session and the one done before it."""
    previous = recent_sessions(db, patient.id, limit=1, before=log)
    previous_signals = signals_of(*previous[0]) if previous else None
    found = alerts_for(signals_of(log, exercise_logs), previous_signals, _baseline(db, patient))
    details = {"red_flag": _flag_words(log.red_flags)}
    return _store(db, now, patient, log.id, found, details)


def raise_for_checkin(db: Session, now: datetime, patient: User, pain_now: int) -> list[Alert]:
    """Pain of 7 or more in the morning is as urgent as during a session (SPEC §5 Alerts)."""
    found = alerts_for(SessionSignals(pain=pain_now), None, None)
    details = {"severe_pain": f"Pain {pain_now}/10 at the next-morning check-in."}
    return _store(db, now, patient, None, found, details)


def _baseline(db: Session, patient: User) -> int | None:
    profile = db.get(PatientProfile, patient.id)
    return profile.baseline_pain if profile else None


def _flag_words(keys: Sequence[str]) -> str:
    return " ".join(RED_FLAGS_BY_KEY[key].question for key in keys if key in RED_FLAGS_BY_KEY)


def _store(
    db: Session,
    now: datetime,
    patient: User,
    session_id: int | None,
    found: Sequence,
    details: dict[str, str],
) -> list[Alert]:
    if not found:
        return []
    open_trends = set(
        db.exec(
            select(Alert.kind).where(
                Alert.patient_id == patient.id,
                Alert.acknowledged_at.is_(None),
                col(Alert.kind).in_(TREND_KINDS),
            )
        ).all()
    )
    raised: list[Alert] = []
    for rule_alert in found:
        if rule_alert.kind in open_trends:
            continue
        detail = " ".join(filter(None, (rule_alert.reason, details.get(rule_alert.kind))))
        alert = Alert(
            clinic_id=patient.clinic_id,
            patient_id=patient.id,
            session_id=session_id,
            kind=rule_alert.kind,
            severity=rule_alert.severity,
            detail=detail[:500],
            created_at=now,
        )
        db.add(alert)
        raised.append(alert)
    if raised:
        db.flush()
        for alert in raised:
            _tell_therapists(db, now, patient, alert)
    return raised


def _tell_therapists(db: Session, now: datetime, patient: User, alert: Alert) -> None:
    """Notify the patient's therapist (or, with none set, the clinic's admins).

    The text goes to a lock screen, so it names no condition and no symptom. It is stored in
    English, as other notifications are: this runs in jobs and the CLI too, outside a request.
    """
    profile = db.get(PatientProfile, patient.id)
    recipients: list[int] = []
    if profile is not None and profile.therapist_id is not None:
        recipients = [profile.therapist_id]
    else:
        recipients = list(
            db.exec(
                select(User.id).where(
                    User.clinic_id == patient.clinic_id,
                    User.role == "therapist",
                    User.is_admin.is_(True),
                    User.active.is_(True),
                )
            ).all()
        )
    urgent = alert.severity == "immediate"
    for therapist_id in recipients:
        notify(
            db,
            now,
            therapist_id,
            NOTIFICATION_KIND.get(alert.kind, "pain_alert"),
            dedupe_key=f"alert:{alert.id}:{therapist_id}",
            title="A patient needs you now" if urgent else "A patient needs attention",
            body="Open HEP to see the alert.",
            url=f"/patients/{patient.id}",
        )
