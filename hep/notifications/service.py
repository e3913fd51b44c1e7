"""Notifications: every kind lands in the in-app inbox; delivery by Web Push follows.

`notify` is the one way any part of HEP tells someone something. The dedupe key makes it
idempotent: a job run twice, or a request retried, adds the notification once. This module
also holds the person's side of it: the inbox, their devices and their settings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import force_locale, gettext
from sqlalchemy import func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from hep.models import Notification, PushSubscription, User

PATIENT_KINDS = ("session_reminder", "missed_sessions", "morning_checkin", "program_updated")
THERAPIST_KINDS = ("red_flag", "pain_alert", "progression_ready", "daily_digest")
# Kinds that should reach a device at once rather than on the deliverer's next round.
URGENT_KINDS = ("red_flag", "pain_alert")
# Set on a session by notify(); the embedded scheduler runs delivery right after the commit.
DELIVER_SOON = "hep.deliver_soon"


@dataclass(frozen=True)
class PushPolicy:
    """How a kind travels: how long the push service keeps it (TTL), how urgent it is, how
    late it may still be worth sending (grace), and the tag that lets a newer one replace it."""

    ttl: timedelta
    urgency: str  # very-low | low | normal | high (RFC 8030)
    grace: timedelta
    tag: str


PUSH_POLICY: dict[str, PushPolicy] = {
    "session_reminder": PushPolicy(
        timedelta(hours=2), "normal", timedelta(hours=2), "hep-exercise"
    ),
    "missed_sessions": PushPolicy(timedelta(hours=6), "normal", timedelta(hours=6), "hep-exercise"),
    "morning_checkin": PushPolicy(timedelta(hours=4), "normal", timedelta(hours=4), "hep-checkin"),
    "program_updated": PushPolicy(timedelta(hours=24), "low", timedelta(hours=48), "hep-program"),
    "red_flag": PushPolicy(timedelta(hours=12), "high", timedelta(hours=24), "hep-attention"),
    "pain_alert": PushPolicy(timedelta(hours=12), "high", timedelta(hours=24), "hep-attention"),
    "progression_ready": PushPolicy(timedelta(hours=24), "low", timedelta(hours=48), "hep-review"),
    "daily_digest": PushPolicy(timedelta(hours=4), "low", timedelta(hours=4), "hep-digest"),
}


@dataclass(frozen=True)
class Draft:
    """A notification to add, before it has a row."""

    user_id: int
    kind: str
    dedupe_key: str
    title: str
    body: str = ""
    url: str = "/"
    scheduled_for: datetime | None = None


def _row_values(now: datetime, draft: Draft) -> dict:
    """The columns of a new notification row (the one definition notify and notify_many use)."""
    if draft.kind not in PATIENT_KINDS + THERAPIST_KINDS:
        raise ValueError(f"unknown notification kind {draft.kind!r}")
    due = draft.scheduled_for or now
    return {
        "user_id": draft.user_id,
        "kind": draft.kind,
        "dedupe_key": draft.dedupe_key,
        "title": draft.title,
        "body": draft.body,
        "url": draft.url,
        "scheduled_for": due,
        "created_at": now,
        "sent_at": None,
        "read_at": None,
        "attempts": 0,
        "next_attempt_at": due,
        "last_error": None,
        "channel_results": {},
        "status": "pending",
        "expires_at": due + PUSH_POLICY[draft.kind].grace,
        "claim_token": None,
    }


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
    "Time for your exercises", not the diagnosis. Pass them in English (listed in
    hep/translations/dynamic.py): they are stored in the recipient's language, whoever's
    request or job this is.
    """
    title, body = in_language_of(db, user_id, title, body)
    draft = Draft(user_id, kind, dedupe_key, title, body, url, scheduled_for)
    notification = Notification(**_row_values(now, draft))
    if db.exec(select(Notification.id).where(Notification.dedupe_key == dedupe_key)).first():
        return None
    # A savepoint, so a concurrent insert of the same key loses quietly and the caller's
    # transaction carries on.
    try:
        with db.begin_nested():
            db.add(notification)
    except IntegrityError:
        return None
    if kind in URGENT_KINDS:
        db.info[DELIVER_SOON] = True
    return notification


def in_language_of(db: Session, user_id: int, *texts: str) -> tuple[str, ...]:
    """English texts in the person's language (unchanged where the catalogue has none)."""
    person = db.get(User, user_id)
    with force_locale(person.locale if person else "en"):
        return tuple(gettext(text) if text else text for text in texts)


def chunks(items: Sequence, size: int = 500) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def unsent_drafts(db: Session, drafts: Iterable[Draft]) -> list[Draft]:
    """The drafts whose dedupe key has no row yet (a read only; see insert_drafts)."""
    unique = {draft.dedupe_key: draft for draft in drafts}
    existing: set[str] = set()
    for chunk in chunks(list(unique)):
        existing.update(
            db.exec(select(Notification.dedupe_key).where(Notification.dedupe_key.in_(chunk)))
        )
    return [draft for key, draft in unique.items() if key not in existing]


def insert_drafts(db: Session, now: datetime, drafts: Sequence[Draft]) -> int:
    """Add the drafts with INSERT … ON CONFLICT DO NOTHING; returns how many rows are new.
    Nothing is read first, so two schedulers inserting the same keys at once both succeed
    and each key is stored once."""
    if not drafts:
        return 0
    table = Notification.__table__
    insert_for = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert_for(table)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(table.c.id)
    )
    rows = [_row_values(now, draft) for draft in drafts]
    added = len(db.exec(statement, params=rows).all())
    if added and any(draft.kind in URGENT_KINDS for draft in drafts):
        db.info[DELIVER_SOON] = True
    return added


def notify_many(db: Session, now: datetime, drafts: Iterable[Draft]) -> int:
    """notify() for many at once (the scheduler's thousands of reminders); returns how many
    were added. Same rule: each dedupe key once, however many runs race."""
    return insert_drafts(db, now, unsent_drafts(db, drafts))


# --- Time zones and quiet hours -----------------------------------------------------------


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The person's time zone; UTC if the name is unknown (never fail a whole job run)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def quiet_until(now: datetime, tz: str, start: time | None, end: time | None) -> datetime | None:
    """When the person's quiet hours end, if `now` falls inside them; else None.

    Quiet hours are local wall-clock times and may run past midnight (22:00 to 07:00).
    """
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(zone(tz))
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    end_day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(end_day, end, tzinfo=zone(tz)).astimezone(UTC)


# --- The inbox ------------------------------------------------------------------------------


def _visible(user_id: int, now: datetime):
    return (Notification.user_id == user_id) & (Notification.scheduled_for <= now)


def inbox(db: Session, now: datetime, user_id: int, limit: int = 50) -> list[Notification]:
    """The person's notifications that are due, newest first."""
    query = (
        select(Notification)
        .where(_visible(user_id, now))
        .order_by(Notification.scheduled_for.desc(), Notification.id.desc())
        .limit(limit)
    )
    return list(db.exec(query).all())


def unread_count(db: Session, now: datetime, user_id: int) -> int:
    query = select(func.count()).where(_visible(user_id, now), Notification.read_at.is_(None))
    return db.exec(query.select_from(Notification)).one()


def mark_read(db: Session, now: datetime, notification: Notification) -> None:
    if notification.read_at is None:
        notification.read_at = now
        db.add(notification)


def mark_all_read(db: Session, now: datetime, user_id: int) -> int:
    result = db.exec(
        update(Notification)
        .where(_visible(user_id, now), Notification.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def safe_target(url: str) -> str:
    """Where opening a notification leads: only a path on this site."""
    if url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return "/inbox"


# --- Settings -------------------------------------------------------------------------------


def kinds_for(role: str) -> tuple[str, ...]:
    return THERAPIST_KINDS if role == "therapist" else PATIENT_KINDS


def save_preferences(
    db: Session,
    user: User,
    quiet_start: time | None,
    quiet_end: time | None,
    enabled_kinds: Iterable[str],
) -> None:
    """Store quiet hours and which kinds the person wants (the rest are opted out)."""
    enabled = set(enabled_kinds)
    user.quiet_hours_start = quiet_start
    user.quiet_hours_end = quiet_end
    user.notification_optouts = [kind for kind in kinds_for(user.role) if kind not in enabled]
    db.add(user)


# --- Devices (push subscriptions) -----------------------------------------------------------


def device_label(user_agent: str) -> str:
    """A name a person recognises for their device, from its browser's User-Agent."""
    ua = user_agent or ""
    if "iPhone" in ua:
        device = "iPhone"
    elif "iPad" in ua:
        device = "iPad"
    elif "Android" in ua:
        device = "Android phone" if "Mobile" in ua else "Android tablet"
    elif "Windows" in ua:
        device = "Windows computer"
    elif "Macintosh" in ua:
        device = "Mac"
    elif "CrOS" in ua:
        device = "Chromebook"
    elif "Linux" in ua:
        device = "Linux computer"
    else:
        device = "Device"
    for marker, browser in (
        ("Edg/", "Edge"),
        ("SamsungBrowser", "Samsung Internet"),
        ("Firefox/", "Firefox"),
        ("FxiOS", "Firefox"),
        ("CriOS", "Chrome"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ):
        if marker in ua:
            return f"{device} · {browser}"
    return device


def endpoint_hash(endpoint: str) -> str:
    """Lets the page tell which listed device is this one without printing the endpoint."""
    return hashlib.sha256(endpoint.encode()).hexdigest()


def save_subscription(
    db: Session, now: datetime, user_id: int, endpoint: str, p256dh: str, auth: str, label: str
) -> PushSubscription:
    """Store this device's subscription; subscribing again (or as another person on a shared
    phone) updates the one row of that endpoint."""
    row = db.exec(select(PushSubscription).where(PushSubscription.endpoint == endpoint)).first()
    if row is None:
        row = PushSubscription(endpoint=endpoint, user_id=user_id, p256dh=p256dh, auth=auth,
                               device_label=label, created_at=now, updated_at=now)  # fmt: skip
        try:
            with db.begin_nested():
                db.add(row)
            return row
        except IntegrityError:  # the same device subscribed twice at once
            row = db.exec(
                select(PushSubscription).where(PushSubscription.endpoint == endpoint)
            ).one()
    row.user_id = user_id
    row.p256dh = p256dh
    row.auth = auth
    row.device_label = label
    row.updated_at = now
    row.failures = 0
    db.add(row)
    return row


def devices(db: Session, user_id: int) -> list[PushSubscription]:
    query = select(PushSubscription).where(PushSubscription.user_id == user_id)
    return list(db.exec(query.order_by(PushSubscription.created_at)).all())


def forget_device(db: Session, user_id: int, endpoint: str) -> bool:
    """Delete this person's subscription for one endpoint (sign-out, "turn off")."""
    row = db.exec(
        select(PushSubscription).where(
            PushSubscription.endpoint == endpoint, PushSubscription.user_id == user_id
        )
    ).first()
    if row is None:
        return False
    db.delete(row)
    return True


# --- The clinic admin's view of delivery ----------------------------------------------------


def delivery_problems(
    db: Session, clinic_id: int, limit: int = 100
) -> list[tuple[Notification, User]]:
    """Notifications of the clinic's people whose push failed at least once, newest first."""
    query = (
        select(Notification, User)
        .join(User, User.id == Notification.user_id)
        .where(User.clinic_id == clinic_id, Notification.last_error.is_not(None))
        .order_by(Notification.scheduled_for.desc())
        .limit(limit)
    )
    return list(db.exec(query).all())
