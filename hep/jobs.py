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


SCHEDULE: tuple[Job, ...] = (Job(refresh_rollups, every_seconds=300),)


def run(app: Flask, func: JobFunc) -> None:
    """Run one job in its own transaction; a failure is logged and the next run tries again."""
    try:
        with app.app_context(), session_scope(app) as db:
            func(db, utcnow())
    except Exception:
        log.exception("Job %s failed", func.__name__)
