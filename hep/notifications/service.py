"""Notifications: every kind lands in the in-app inbox; delivery by Web Push follows.

`notify` is the one way any part of HEP tells someone something. The dedupe key makes it
idempotent: a job run twice, or a request retried, adds the notification once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from hep.models import Notification

PATIENT_KINDS = ("session_reminder", "missed_sessions", "morning_checkin", "program_updated")
THERAPIST_KINDS = ("red_flag", "pain_alert", "progression_ready", "daily_digest")


def notify(
    db: Session,
    now: datetime,
    user_id: int,
    kind: str,
    dedupe_key: str,
    title: str,
    body: str = "",
    url: str = "/",
    scheduled_for: datetime | None = None,
) -> Notification | None:
    """Queue a notification once per dedupe key; None if it already exists.

    Title and body go to the lock screen through Web Push, so they never hold health data:
    "Time for your exercises", not the diagnosis.
    """
    if kind not in PATIENT_KINDS + THERAPIST_KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    if db.exec(select(Notification.id).where(Notification.dedupe_key == dedupe_key)).first():
        return None
    notification = Notification(
        user_id=user_id,
        kind=kind,
        dedupe_key=dedupe_key,
        title=title,
        body=body,
        url=url,
        scheduled_for=scheduled_for or now,
        created_at=now,
        next_attempt_at=scheduled_for or now,
    )
    # A savepoint, so a concurrent insert of the same key loses quietly and the caller's
    # transaction carries on.
    try:
        with db.begin_nested():
            db.add(notification)
    except IntegrityError:
        return None
    return notification
