"""Reminder job, 10,000 due patients, against raw pywebpush sends (SPEC §9).

Budget: `enqueue_due` + `deliver_pending` (from the rows in a SQLite file to every push
answered) reach at least 0.7× the pushes per second of plain pywebpush sends of the same
payload to the same local push service, measured in the same run. The baseline is the
obvious loop: one webpush() after another on a pooled requests.Session, measured before and
after the job (a busy machine drifts). For reference, also webpush() as its documentation shows
it (a new connection per push) and the pooled loop with the deliverer's thread count. The push
service (tests/pushserver.py) runs as its own process and only counts, so its work does not
slow the sender; `--verify` runs it in this process and decrypts and checks every message.

    python -m bench reminders            # or: python -m bench.reminders --patients 2000
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import time as clock
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from requests.adapters import HTTPAdapter
from sqlalchemy import func, insert
from sqlmodel import Session, select

from hep import create_app, migrate
from hep.models import Clinic, Notification, Program, PushSubscription, User
from hep.notifications.delivery import DEFAULT_WORKERS, deliver_pending, sender_for
from hep.notifications.due import enqueue_due
from hep.push import load_vapid

PATIENTS = 10_000
RAW_SENDS = 2_000
BUDGET = 0.7
ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "Europe/Madrid",
    "Europe/London",
)
ROOT = Path(__file__).resolve().parent.parent


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def device_keys() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    raw = key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64(raw), b64(os.urandom(16))


class PushService:
    """The local push service: its own process (counting only), or in this process, checking."""

    def __init__(self, verify: bool) -> None:
        self.verify = verify
        self.server = None
        self.process = None
        if verify:
            from tests.pushserver import PushServer

            self.server = PushServer().start()
            self.origin = self.server.origin
        else:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.pushserver", "--light"],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
            self.origin = self.process.stdout.readline().strip()

    def subscription(self, n: int) -> tuple[str, str, str]:
        if self.server is not None:
            sub = self.server.subscription()
            return sub.endpoint, sub.p256dh, sub.auth
        return (f"{self.origin}/push/device-{n}", *device_keys())

    def count(self) -> int:
        if self.server is not None:
            return self.server.count
        return requests.get(self.origin, timeout=5).json()["count"]

    def problems(self) -> list[str]:
        return self.server.problems if self.server is not None else []

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


def seed(app, service: PushService, now: datetime, patients: int) -> list[dict]:
    """A clinic with `patients` patients, each with one device and a program due right now."""
    engine = app.extensions["hep.engine"]
    long_ago = now - timedelta(days=30)
    with Session(engine) as db:
        clinic = Clinic(name="Bench Clinic", created_at=long_ago)
        db.add(clinic)
        db.flush()
        therapist = User(clinic_id=clinic.id, role="therapist", name="Bench Therapist",
                         notification_optouts=["daily_digest"], created_at=long_ago)  # fmt: skip
        db.add(therapist)
        db.commit()
        users = []
        for n in range(patients):
            users.append(
                {
                    "clinic_id": clinic.id,
                    "role": "patient",
                    "name": f"Patient {n}",
                    "timezone": ZONES[n % len(ZONES)],
                    "locale": "en",
                    "is_admin": False,
                    "session_version": 1,
                    "failed_logins": 0,
                    "notification_optouts": [],
                    "active": True,
                    "created_at": long_ago,
                }  # fmt: skip
            )
        db.exec(insert(User), params=users)
        ids = db.exec(select(User.id).where(User.role == "patient").order_by(User.id)).all()
        programs, devices, infos = [], [], []
        for n, patient_id in enumerate(ids):
            zone = ZoneInfo(ZONES[n % len(ZONES)])
            local = now.astimezone(zone)  # reminder at this very minute: due now
            programs.append(
                {
                    "clinic_id": clinic.id,
                    "patient_id": patient_id,
                    "created_by_id": therapist.id,
                    "title": "Knee strength",
                    "status": "active",
                    "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                    "times_per_day": 1,
                    "start_date": local.date() - timedelta(days=7),
                    "reminder_time": time(local.hour, local.minute),
                    "diagnosis": "Knee OA",
                    "precautions": "",
                    "auto_apply_progressions": False,
                    "created_at": long_ago,
                    "updated_at": long_ago,
                }  # fmt: skip
            )
            endpoint, p256dh, auth = service.subscription(n)
            devices.append(
                {
                    "user_id": patient_id,
                    "endpoint": endpoint,
                    "p256dh": p256dh,
                    "auth": auth,
                    "device_label": "Phone",
                    "created_at": long_ago,
                    "updated_at": long_ago,
                    "failures": 0,
                }  # fmt: skip
            )
            infos.append({"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}})
        db.exec(insert(Program), params=programs)
        db.exec(insert(PushSubscription), params=devices)
        db.commit()
    return infos


def raw_sends(app, infos: list[dict], count: int, workers: int, pooled: bool = True) -> float:
    """Pushes per second of plain pywebpush calls: the same payload size, TTL and urgency.
    Not pooled: webpush() as its documentation shows it, a new connection for every push."""
    from pywebpush import webpush

    vapid = load_vapid(app)
    session = None
    if pooled:
        session = requests.Session()
        session.mount("http://", HTTPAdapter(pool_maxsize=max(workers, 1), max_retries=0))
    payload = json.dumps(
        {"title": "Time for your exercises",
         "body": "Your exercises for today are ready. Tap to start.",
         "url": "/inbox/12345", "tag": "hep-exercise"}, separators=(",", ":"),
    )  # fmt: skip

    def send(info: dict) -> None:
        webpush(info, data=payload, vapid_private_key=vapid,
                vapid_claims={"sub": app.config["VAPID_SUBJECT"]}, ttl=7200,
                timeout=(3.05, 10), headers={"Urgency": "normal"},
                requests_session=session)  # fmt: skip

    sample = [infos[n % len(infos)] for n in range(count)]
    started = clock.perf_counter()
    if workers == 1:
        for info in sample:
            send(info)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(send, sample))
    return count / (clock.perf_counter() - started)


def main(argv: list[str] | None = None) -> bool:
    parser = argparse.ArgumentParser(prog="python -m bench.reminders", description=__doc__)
    parser.add_argument("--patients", type=int, default=PATIENTS)
    parser.add_argument("--raw", type=int, default=RAW_SENDS, help="raw sends per baseline")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--verify", action="store_true", help="decrypt and check every push")
    args = parser.parse_args(argv if argv is not None else [])

    folder = Path(tempfile.mkdtemp(prefix="hep-bench-reminders-"))
    app = create_app(
        {"DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}", "INSTANCE_PATH": str(folder),
         "SECRET_KEY": "bench", "SCHEDULER_EMBEDDED": False, "PUSH_WORKERS": args.workers}
    )  # fmt: skip
    migrate.upgrade(app)
    service = PushService(verify=args.verify)
    try:
        now = datetime.now(UTC)
        infos = seed(app, service, now, args.patients)
        sender_for(app)  # load the VAPID key before the clock starts, as a running app has

        plain = raw_sends(app, infos, args.raw, workers=1, pooled=False)
        # The budget's baseline, measured before and after the job so a busy machine's drift
        # does not favour either side.
        before_job = raw_sends(app, infos, args.raw, workers=1)
        threaded = raw_sends(app, infos, args.raw, workers=args.workers)

        pushed_before = service.count()
        with app.app_context(), Session(app.extensions["hep.engine"]) as db:
            started = clock.perf_counter()
            added = enqueue_due(db, now)
            db.commit()
            enqueued = clock.perf_counter() - started
            report = deliver_pending(db, now)
            elapsed = clock.perf_counter() - started
            sent = db.exec(
                select(func.count()).select_from(Notification).where(Notification.status == "sent")
            ).one()
        pushed = service.count() - pushed_before
        ours = pushed / elapsed
        after_job = raw_sends(app, infos, args.raw, workers=1)
        pooled = (before_job + after_job) / 2
    finally:
        service.stop()

    ok = added == sent == pushed == args.patients and not service.problems()
    ratio = ours / pooled
    print(f"  due patients                        {args.patients:>8,}")
    print(f"  enqueue_due                         {enqueued:>8.2f} s  ({added:,} reminders)")
    print(f"  enqueue_due + deliver_pending       {elapsed:>8.2f} s  ({pushed:,} pushes answered,"
          f" {report['retrying']} retrying)")  # fmt: skip
    print(f"  HEP reminder job                    {ours:>8.0f} pushes/s  ({args.workers} threads)")
    print(f"  raw pywebpush, pooled, one by one   {pooled:>8.0f} pushes/s  (mean of "
          f"{before_job:.0f} before, {after_job:.0f} after; {args.raw:,} sends)")  # fmt: skip
    print(f"  raw pywebpush, as documented        {plain:>8.0f} pushes/s  (a connection per push)")
    print(f"  raw pywebpush, pooled, {args.workers} threads   {threaded:>8.0f} pushes/s")
    print(f"  ratio to pooled one by one          {ratio:>8.2f}×  (budget ≥ {BUDGET}×)")
    print(f"  ratio to as documented, to threaded {ours / plain:>8.2f}×, {ours / threaded:.2f}×")
    if not ok:
        print(f"  MISMATCH: added {added}, sent {sent}, pushed {pushed}; {service.problems()[:3]}")
    return ok and ratio >= BUDGET


if __name__ == "__main__":
    sys.exit(0 if main(sys.argv[1:]) else 1)
