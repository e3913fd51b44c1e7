"""Web Push delivery: the scheduler's `deliver_pending` job and the pywebpush sender.

A deliverer first claims due rows (one conditional UPDATE, committed), so two schedulers, or a
restart while the first still runs, never push the same notification twice. Quiet hours
postpone, opt-outs skip, 404/410 remove the device, other failures retry with backoff and show
on the clinic admin's page. The payload is the row's title and body, a link and a tag: never
health data.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import Counter, defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.request import getproxies

import requests
from flask import Flask, current_app
from py_vapid import Vapid
from pywebpush import WebPushException, webpush
from requests.adapters import HTTPAdapter
from sqlalchemy import delete, update
from sqlmodel import Session, select

from hep.models import Notification, PushSubscription, User
from hep.notifications.service import PUSH_POLICY, quiet_until
from hep.push import load_vapid

log = logging.getLogger(__name__)

BATCH_SIZE = 200
# A claimed row is left alone this long; a deliverer that crashed mid-batch frees it after.
LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 8
BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)
DEFAULT_WORKERS = 8
TIMEOUT = (3.05, 10)  # seconds to connect, to read the push service's answer
# A device that has failed this often and not worked for this long is dropped.
DEAD_AFTER_FAILURES = 20
DEAD_AFTER = timedelta(days=30)


@dataclass(frozen=True)
class PushJob:
    notification_id: int
    subscription_id: int
    subscription_info: dict[str, Any]
    payload: str
    ttl: int
    urgency: str


@dataclass(frozen=True)
class PushOutcome:
    job: PushJob
    result: str  # sent | gone | retry
    detail: str


class PushSender:
    """Sends through pywebpush: one pooled HTTP session, a few threads, the VAPID key loaded
    once, and a fresh claims dict for every send (pywebpush writes aud and exp into it)."""

    def __init__(
        self, vapid: Vapid, subject: str, workers: int = DEFAULT_WORKERS, timeout=TIMEOUT
    ) -> None:
        self.vapid = vapid
        self.subject = subject
        self.workers = max(1, workers)
        self.timeout = timeout
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=16, pool_maxsize=self.workers, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        if not any(scheme in getproxies() for scheme in ("http", "https", "all")):
            # No proxy configured: do not re-read the environment (and .netrc) on every push,
            # a third of requests' own cost per request.
            self.session.trust_env = False

    def send(self, job: PushJob) -> PushOutcome:
        try:
            response = webpush(
                job.subscription_info,
                data=job.payload,
                vapid_private_key=self.vapid,
                vapid_claims={"sub": self.subject},
                ttl=job.ttl,
                timeout=self.timeout,
                headers={"Urgency": job.urgency},
                requests_session=self.session,
            )
        except WebPushException as exc:
            status = exc.status_code
            if status in (404, 410):  # the browser unsubscribed, or the service forgot it
                return PushOutcome(job, "gone", f"HTTP {status}")
            if status is None:
                return PushOutcome(job, "retry", str(exc.message)[:200])
            return PushOutcome(job, "retry", f"HTTP {status} from the push service")
        except requests.RequestException as exc:
            return PushOutcome(job, "retry", f"{type(exc).__name__} reaching the push service")
        except Exception as exc:  # noqa: BLE001 - one bad device must not stop the bookkeeping
            log.exception("Push to subscription %s failed", job.subscription_id)
            return PushOutcome(job, "retry", f"{type(exc).__name__}: {exc}"[:200])
        return PushOutcome(job, "sent", f"HTTP {response.status_code}")


def sender_for(app: Flask) -> PushSender:
    """The app's sender (HEP_PUSH_WORKERS sets its threads)."""
    sender = app.extensions.get("hep.push_sender")
    if sender is None:
        sender = PushSender(
            load_vapid(app),
            app.config["VAPID_SUBJECT"],
            workers=int(app.config.get("PUSH_WORKERS", DEFAULT_WORKERS)),
        )
        app.extensions["hep.push_sender"] = sender
    return sender


def payload_for(notification: Notification | Claimed) -> str:
    """What goes to the device: the title and body (written to hold no health data), a link
    that opens the notification in the inbox, and a tag so a newer one of a kind replaces it."""
    return json.dumps(
        {
            "title": notification.title,
            "body": notification.body,
            "url": f"/inbox/{notification.id}",
            "tag": PUSH_POLICY[notification.kind].tag,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after each failure, at most an hour."""
    return min(BACKOFF_FIRST * 2 ** max(0, attempts - 1), BACKOFF_MAX)


def _due(now: datetime):
    return (Notification.status == "pending") & (Notification.next_attempt_at <= now)


def skip_expired(db: Session, now: datetime) -> int:
    """Rows too late to push ("Time for your exercises" three hours on) stop being tried;
    they stay in the inbox. A scheduler back from an outage catches up without a flood."""
    result = db.exec(
        update(Notification)
        .where(_due(now), Notification.expires_at < now)
        .values(status="skipped", next_attempt_at=None, claim_token=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


@dataclass
class Claimed:
    """A claimed notification as plain values: a run handles thousands, so no ORM objects."""

    id: int
    user_id: int
    kind: str
    title: str
    body: str
    expires_at: datetime | None
    attempts: int
    last_error: str | None
    channel_results: dict
    token: str


def claim(db: Session, now: datetime, limit: int = BATCH_SIZE) -> list[Claimed]:
    """Take up to `limit` due rows for this deliverer alone, committed before any send.

    One UPDATE … RETURNING picks and takes them; it only touches rows still due, so of two
    deliverers racing for a row exactly one moves it past the lease and gets it back. (Being a
    write from its first statement, it also never trips SQLite's read-then-write lock error.)
    """
    while True:
        token = uuid.uuid4().hex
        candidates = (
            select(Notification.id)
            .where(_due(now))
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(limit)
        )
        rows = db.exec(
            update(Notification)
            .where(Notification.id.in_(candidates.scalar_subquery()), _due(now))
            .values(next_attempt_at=now + LEASE, claim_token=token)
            .returning(
                Notification.id,
                Notification.user_id,
                Notification.kind,
                Notification.title,
                Notification.body,
                Notification.expires_at,
                Notification.attempts,
                Notification.last_error,
                Notification.channel_results,
            )
            .execution_options(synchronize_session=False)
        ).all()
        db.commit()
        if rows:
            return [Claimed(*row, token=token) for row in rows]
        # None taken: either nothing is due, or another deliverer took these first.
        still_due = db.exec(select(Notification.id).where(_due(now)).limit(1)).first()
        db.commit()
        if still_due is None:
            return []


@dataclass
class Batch:
    """One claimed batch: what was decided without sending, and the sends under way."""

    token: str
    updates: dict[int, dict[str, Any]]
    sending: dict[int, Claimed]
    jobs: list[PushJob]
    futures: list[Future] = field(default_factory=list)


def _values(row: Claimed, **changes: Any) -> dict[str, Any]:
    """Every column a delivery may change, so one executemany writes the whole batch."""
    values = {
        "id": row.id,
        "status": "pending",
        "sent_at": None,
        "next_attempt_at": None,
        "expires_at": row.expires_at,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "channel_results": row.channel_results or {},
        "claim_token": None,
    }
    values.update(changes)
    return values


def _prepare(db: Session, now: datetime, rows: list[Claimed], report: Counter) -> Batch:
    """Decide each row: skip (opted out), postpone (quiet hours), done (no device), or send."""
    user_ids = {row.user_id for row in rows}
    users = {
        user.id: user
        for user in db.exec(
            select(
                User.id,
                User.active,
                User.timezone,
                User.quiet_hours_start,
                User.quiet_hours_end,
                User.notification_optouts,
            ).where(User.id.in_(user_ids))
        )
    }
    devices: dict[int, list] = defaultdict(list)
    for device in db.exec(
        select(
            PushSubscription.id,
            PushSubscription.user_id,
            PushSubscription.endpoint,
            PushSubscription.p256dh,
            PushSubscription.auth,
        ).where(PushSubscription.user_id.in_(user_ids))
    ):
        devices[device.user_id].append(device)

    batch = Batch(rows[0].token, {}, {}, [])
    for row in rows:
        user = users.get(row.user_id)
        if user is None or not user.active or row.kind in (user.notification_optouts or ()):
            reason = "opted out" if user is not None and user.active else "account closed"
            results = {**(row.channel_results or {}), "skipped": reason}
            batch.updates[row.id] = _values(row, status="skipped", channel_results=results)
            report["skipped"] += 1
            continue
        policy = PUSH_POLICY[row.kind]
        until = quiet_until(now, user.timezone, user.quiet_hours_start, user.quiet_hours_end)
        if until is not None:
            expires = max(row.expires_at or until, until + policy.grace)
            batch.updates[row.id] = _values(row, next_attempt_at=until, expires_at=expires)
            report["postponed"] += 1
            continue
        already = (row.channel_results or {}).get("push") or {}
        targets = [d for d in devices[row.user_id] if already.get(str(d.id)) != "sent"]
        if not targets:  # inbox only: no device, or every device has it already
            batch.updates[row.id] = _values(row, status="sent", sent_at=now)
            report["sent"] += 1
            continue
        payload = payload_for(row)
        ttl = int(policy.ttl.total_seconds())
        for device in targets:
            info = {"endpoint": device.endpoint, "keys": {"p256dh": device.p256dh,
                                                          "auth": device.auth}}  # fmt: skip
            batch.jobs.append(PushJob(row.id, device.id, info, payload, ttl, policy.urgency))
        batch.sending[row.id] = row
    db.commit()  # end the reading transaction: the next statement on this session writes
    return batch


def _record(db: Session, now: datetime, batch: Batch, report: Counter) -> None:
    """Wait for the batch's sends and write every outcome in a few statements."""
    per_row: dict[int, list[PushOutcome]] = defaultdict(list)
    worked, failed, gone = set(), set(), set()
    for future in batch.futures:
        outcome = future.result()
        per_row[outcome.job.notification_id].append(outcome)
        device_id = outcome.job.subscription_id
        if outcome.result == "sent":
            worked.add(device_id)
            report["pushes"] += 1
        elif outcome.result == "gone":
            gone.add(device_id)
            report["devices_removed"] += 1
        else:
            failed.add(device_id)
    for row_id, row in batch.sending.items():
        results = dict((row.channel_results or {}).get("push") or {})
        errors = []
        for outcome in per_row[row_id]:
            key = str(outcome.job.subscription_id)
            if outcome.result == "retry":
                results[key] = f"error: {outcome.detail}"
                errors.append(outcome.detail)
            else:
                results[key] = outcome.result
        channel_results = {**(row.channel_results or {}), "push": results}
        if not errors:
            values = _values(row, status="sent", sent_at=now, channel_results=channel_results)
            report["sent"] += 1
        else:
            attempts = row.attempts + 1
            values = _values(
                row,
                attempts=attempts,
                last_error="; ".join(sorted(set(errors)))[:300],
                channel_results=channel_results,
            )
            if attempts >= MAX_ATTEMPTS:
                values["status"] = "failed"
                report["failed"] += 1
            else:
                values["next_attempt_at"] = now + backoff(attempts)
                report["retrying"] += 1
        batch.updates[row_id] = values

    if batch.updates:
        # Only rows this deliverer still holds: after a lease ran out, another one owns them.
        db.exec(
            update(Notification).where(Notification.claim_token == batch.token),
            params=list(batch.updates.values()),
            execution_options={"synchronize_session": None},
        )
    if worked:
        db.exec(
            update(PushSubscription)
            .where(PushSubscription.id.in_(worked))
            .values(last_success_at=now, failures=0)
            .execution_options(synchronize_session=False)
        )
    if failed - gone:
        db.exec(
            update(PushSubscription)
            .where(PushSubscription.id.in_(failed - gone))
            .values(failures=PushSubscription.failures + 1)
            .execution_options(synchronize_session=False)
        )
    if gone:
        db.exec(
            delete(PushSubscription)
            .where(PushSubscription.id.in_(gone))
            .execution_options(synchronize_session=False)
        )
    db.commit()


def deliver_pending(
    db: Session, now: datetime, sender: PushSender | None = None, batch_size: int = BATCH_SIZE
) -> Counter:
    """Push every due, unsent notification to each of its person's devices.

    Batches overlap: while one batch's pushes are on the wire, the next is claimed and
    prepared. Returns counts: sent (done, with or without devices), pushes (successful
    sends), retrying, failed (gave up), postponed (quiet hours), skipped (opted out),
    expired, devices_removed.
    """
    sender = sender or sender_for(current_app)
    report: Counter = Counter()
    db.commit()  # start from the latest data, not an older snapshot the session may hold
    report["expired"] = skip_expired(db, now)
    db.commit()
    in_flight: Batch | None = None
    with ThreadPoolExecutor(sender.workers, "hep-push") as pool:
        while True:
            rows = claim(db, now, batch_size)
            batch = _prepare(db, now, rows, report) if rows else None
            if batch is not None:
                batch.futures = [pool.submit(sender.send, job) for job in batch.jobs]
            if in_flight is not None:
                _record(db, now, in_flight, report)
            if batch is None:
                break
            in_flight = batch
    if report["retrying"] or report["failed"]:
        log.warning("Push delivery problems: %s", dict(report))
    return report


def prune_subscriptions(db: Session, now: datetime) -> int:
    """Drop devices that have failed many times and not worked for a month."""
    cutoff = now - DEAD_AFTER
    result = db.exec(
        delete(PushSubscription).where(
            PushSubscription.failures >= DEAD_AFTER_FAILURES,
            PushSubscription.updated_at < cutoff,
            (PushSubscription.last_success_at.is_(None))
            | (PushSubscription.last_success_at < cutoff),
        )
    )
    return result.rowcount
