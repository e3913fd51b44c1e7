"""Scheduled jobs: plain functions of (session, now), safe to run twice or after a crash."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import Flask
from sqlmodel import Session

from hep.db import session_scope
from hep.timeutil import utcnow

log = logging.getLogger(__name__)

JobFunc = Callable[[Session, datetime], object]


@dataclass(frozen=True)
class Job:
    func: JobFunc
    every_seconds: int


def refresh_rollups(db: Session, now: datetime) -> int:
    """Recompute caseload figures of patients whose local day has rolled over."""
    from hep.rollup import refresh_stale

    return refresh_stale(db, now)


def enqueue_due(db: Session, now: datetime) -> int:
    """Add the reminders, nudges, check-ins and digests due by now, in each person's zone."""
    from hep.notifications.due import enqueue_due as enqueue

    return enqueue(db, now)


def deliver_pending(db: Session, now: datetime) -> object:
    """Push due notifications to people's devices (postponed in quiet hours, retried)."""
    from hep.notifications.delivery import deliver_pending as deliver

    return deliver(db, now)


def prune_subscriptions(db: Session, now: datetime) -> int:
    """Drop devices whose pushes have failed for a month."""
    from hep.notifications.delivery import prune_subscriptions as prune

    return prune(db, now)


def evaluate_progressions(db: Session, now: datetime) -> int:
    """The daily progression pass over every active program (logs also trigger it at once)."""
    from hep.progression import evaluate_all

    return evaluate_all(db, now)


SCHEDULE: tuple[Job, ...] = (
    Job(refresh_rollups, every_seconds=300),
    Job(enqueue_due, every_seconds=60),
    # Often, so red flags and pain alerts reach the therapist at once; an idle run is one query.
    Job(deliver_pending, every_seconds=10),
    Job(prune_subscriptions, every_seconds=3600),
    Job(evaluate_progressions, every_seconds=24 * 3600),
)


def run(app: Flask, func: JobFunc) -> None:
    """Run one job in its own transaction; a failure is logged and the next run tries again."""
    try:
        with app.app_context(), session_scope(app) as db:
            func(db, utcnow())
    except Exception:
        log.exception("Job %s failed", func.__name__)
