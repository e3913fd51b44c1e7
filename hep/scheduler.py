"""APScheduler set-up: embedded in the web app (one process, by lock file) or its own process."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from hep import jobs

log = logging.getLogger(__name__)
_embedded_lock = threading.Lock()


def _add_jobs(app: Flask, scheduler: BackgroundScheduler | BlockingScheduler) -> None:
    for job in jobs.SCHEDULE:
        scheduler.add_job(
            jobs.run,
            args=(app, job.func),
            id=job.func.__name__,
            trigger="interval",
            seconds=job.every_seconds,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=job.every_seconds,
        )


def acquire_lock(app: Flask) -> IO[str] | None:
    """Take the instance's scheduler lock without waiting; None if another process holds it."""
    handle = open(Path(app.instance_path) / "scheduler.lock", "w")  # noqa: SIM115 - held open
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def start_embedded(app: Flask) -> BackgroundScheduler | None:
    """Start the scheduler in this web process if no other process on the machine runs it."""
    with _embedded_lock:
        if "hep.scheduler" in app.extensions:
            return app.extensions["hep.scheduler"]
        lock = acquire_lock(app)
        if lock is None:
            app.extensions["hep.scheduler"] = None
            return None
        scheduler = BackgroundScheduler(timezone="UTC", daemon=True)
        _add_jobs(app, scheduler)
        scheduler.start()
        app.extensions["hep.scheduler"] = scheduler
        app.extensions["hep.scheduler_lock"] = lock
        _deliver_urgent_at_once(app)
        log.info("Embedded scheduler started in process %s", os.getpid())
        return scheduler


def run_soon(app: Flask, job_name: str) -> bool:
    """Bring a job's next run forward to now, if this process runs the scheduler."""
    scheduler = app.extensions.get("hep.scheduler")
    if scheduler is None or not scheduler.running:
        return False
    try:
        scheduler.modify_job(job_name, next_run_time=datetime.now(UTC))
    except JobLookupError:
        return False
    return True


def _deliver_urgent_at_once(app: Flask) -> None:
    """A red flag or pain alert committed in this process is pushed right away, not on the
    deliverer's next round (other processes rely on that round, every few seconds)."""
    from hep.notifications.service import DELIVER_SOON

    def after_commit(session: Session) -> None:
        if session.info.pop(DELIVER_SOON, False):
            run_soon(app, "deliver_pending")

    event.listen(Session, "after_commit", after_commit)
    app.extensions["hep.scheduler_listener"] = after_commit


def init_app(app: Flask) -> None:
    if not app.config["SCHEDULER_EMBEDDED"] or app.testing:
        return

    @app.before_request
    def _start_scheduler_once() -> None:
        if "hep.scheduler" not in app.extensions:
            start_embedded(app)


def run_forever(app: Flask) -> None:
    lock = acquire_lock(app)
    if lock is None:
        raise SystemExit("Another scheduler holds instance/scheduler.lock; not starting.")
    scheduler = BlockingScheduler(timezone="UTC")
    _add_jobs(app, scheduler)
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    log.info("Scheduler running; Ctrl+C to stop.")
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()
