"""Caseload page, 500 patients × 90 days of sessions, against a bare route (SPEC §8, §9).

Budget: the caseload (50 rows) takes at most 10× a bare Flask route on the same app and the
same test client, right after a patient's log is written too; its SQL query count does not
depend on the caseload. The history is bulk-inserted into a SQLite file, then every rollup is
computed by hep.rollup.refresh_patient, as the scheduler would leave it.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time as clock
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import event, insert
from sqlmodel import Session, select

from hep import create_app, migrate
from hep.accounts import service as accounts
from hep.accounts.schemas import NewPatient, SignUp
from hep.models import Alert, Exercise, ExerciseLog, ProgramItem, SessionLog
from hep.patient.schemas import SessionSubmission
from hep.patient.service import record_session
from hep.programs.schemas import ProgramIn
from hep.programs.service import create_program
from hep.rollup import refresh_patient
from hep.timeutil import local_date

PATIENTS = 500
DAYS = 90
BUDGET = 10.0
WARM_UP = 20
ROUNDS = 200
WRITES = 60
PASSWORD = "bench password"
ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles")


def build(app, now: datetime, patients: int = PATIENTS, days: int = DAYS) -> str:
    """A clinic of `patients` patients, each on a daily program with `days` days of history."""
    rng = random.Random(500)
    engine = app.extensions["hep.engine"]
    with Session(engine, expire_on_commit=False) as db, app.test_request_context():
        therapist = accounts.sign_up(
            db,
            now,
            SignUp(
                clinic_name="Bench Clinic",
                name="Bench Therapist",
                email="bench@example.com",
                timezone="America/New_York",
                password=PASSWORD,
                confirm=PASSWORD,
            ),
        )
        exercises = [
            Exercise(
                slug=f"bench-{n}",
                name=f"Exercise {n}",
                category="strength",
                cpt_code="97110",
                body_region="knee",
                position="sitting",
                reps=10,
            )
            for n in range(3)
        ]
        db.add_all(exercises)
        db.flush()
        start = now.date() - timedelta(days=days)
        people = []
        for number in range(patients):
            zone = ZONES[number % len(ZONES)]
            patient, _token = accounts.add_patient(
                db,
                now,
                therapist,
                NewPatient(name=f"Patient {number:03d}", timezone=zone, baseline_pain=3),
                ttl=timedelta(hours=1),
            )
            program = create_program(
                db,
                now - timedelta(days=days + 1),
                therapist,
                patient,
                ProgramIn(
                    title="Daily plan",
                    days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                    start_date=start,
                    items=[
                        {"exercise_id": e.id, "dosage_kind": "reps", "sets": 3, "reps": 10}
                        for e in exercises
                    ],
                ),
            )
            people.append((patient, program))
        db.commit()

        items = {
            program.id: db.exec(
                select(ProgramItem).where(ProgramItem.program_id == program.id)
            ).all()
            for _patient, program in people
        }
        for patient, program in people:
            zone = ZoneInfo(patient.timezone)
            done_rate = rng.choice([0.95, 0.85, 0.7, 0.5, 0.3])
            sessions = []
            for offset in range(days, 0, -1):
                if rng.random() > done_rate:
                    continue
                day = now.astimezone(zone).date() - timedelta(days=offset)
                at = datetime.combine(day, time(rng.randint(7, 21), rng.randint(0, 59)), zone)
                pain = rng.randint(0, 5)
                sessions.append(
                    {
                        "client_uuid": uuid.uuid4(),
                        "patient_id": patient.id,
                        "program_id": program.id,
                        "performed_at": at.astimezone(UTC),
                        "received_at": at.astimezone(UTC) + timedelta(minutes=2),
                        "local_date": day,
                        "warmup_soreness": "none",
                        "pain_overall": pain,
                        "effort_overall": rng.randint(2, 7),
                        "red_flags": [],
                        "notes": "",
                        "stopped": False,
                        "counted": True,
                    }
                )
            if not sessions:
                continue
            ids = db.execute(insert(SessionLog).returning(SessionLog.id), sessions).scalars().all()
            db.execute(
                insert(ExerciseLog),
                [
                    {
                        "session_id": session_id,
                        "program_item_id": item.id,
                        "exercise_id": item.exercise_id,
                        "position": item.position,
                        "dosage_kind": "reps",
                        "target_sets": 3,
                        "target_reps": 10,
                        "sets_done": [10, 10, rng.choice([8, 10, 12])],
                        "pain_during": session["pain_overall"],
                        "effort": session["effort_overall"],
                    }
                    for session_id, session in zip(ids, sessions, strict=True)
                    for item in items[program.id]
                ],
            )
            if rng.random() < 0.05:
                db.add(
                    Alert(
                        clinic_id=patient.clinic_id,
                        patient_id=patient.id,
                        kind="red_flag",
                        severity="immediate",
                        created_at=now,
                    )
                )
        db.commit()
        for patient, _program in people:
            refresh_patient(db, now, patient.id)
        db.commit()
        return therapist.login


def timed(get: Callable[[], object], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        began = clock.perf_counter()
        get()
        samples.append(clock.perf_counter() - began)
    return samples


def count_queries(app, get: Callable[[], object]) -> int:
    statements = []

    def before_cursor_execute(*_args) -> None:
        statements.append(1)

    engine = app.extensions["hep.engine"]
    event.listen(engine, "before_cursor_execute", before_cursor_execute)
    try:
        get()
    finally:
        event.remove(engine, "before_cursor_execute", before_cursor_execute)
    return len(statements)


def write_a_session(app, rng: random.Random) -> None:
    """One patient logs a session through record_session (alerts, rollup, commit)."""
    engine = app.extensions["hep.engine"]
    with Session(engine, expire_on_commit=False) as db, app.test_request_context():
        patient_id, program_id = rng.choice(
            db.exec(select(SessionLog.patient_id, SessionLog.program_id).distinct()).all()
        )
        from hep.models import User

        patient = db.get(User, patient_id)
        items = db.exec(select(ProgramItem).where(ProgramItem.program_id == program_id)).all()
        now = datetime.now(UTC)
        submission = SessionSubmission.model_validate(
            {
                "client_uuid": str(uuid.uuid4()),
                "program_id": program_id,
                "performed_at": now.isoformat(),
                "exercises": [
                    {
                        "program_item_id": item.id,
                        "sets_done": [10, 10, 10],
                        "pain_during": 2,
                        "effort": 4,
                    }
                    for item in items
                ],
                "pain_overall": 2,
                "effort_overall": 4,
            },
            context={"now": now},
        )
        record_session(db, now, patient, submission)
        db.commit()
        assert local_date(now, patient.timezone)


def report(label: str, page: list[float], bare: list[float]) -> float:
    ratio = statistics.median(page) / statistics.median(bare)
    verdict = "within" if ratio <= BUDGET else "OVER"
    print(
        f"  {label:<28} caseload {statistics.median(page) * 1000:6.2f} ms, bare route "
        f"{statistics.median(bare) * 1000:6.2f} ms (medians): {ratio:4.1f}× — {verdict} the "
        f"{BUDGET:g}× budget"
    )
    return ratio


def main(patients: int = PATIENTS, days: int = DAYS) -> bool:
    folder = Path(tempfile.mkdtemp(prefix="hep-bench-caseload-"))
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}",
            "SECRET_KEY": "bench",
            "INSTANCE_PATH": str(folder),
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "SCHEDULER_EMBEDDED": False,
        }
    )

    @app.get("/bench/bare")
    def bare() -> str:
        return "ok"

    migrate.upgrade(app)
    began = clock.perf_counter()
    login = build(app, datetime.now(UTC), patients, days)
    with Session(app.extensions["hep.engine"]) as db:
        sessions = len(db.exec(select(SessionLog.id)).all())
    print(
        f"  built {patients} patients, {sessions} sessions over {days} days "
        f"in {clock.perf_counter() - began:.0f} s ({folder / 'bench.sqlite3'})"
    )

    client = app.test_client()
    client.post("/login", data={"login": login, "password": PASSWORD})

    def caseload() -> None:
        response = client.get("/patients")
        assert response.status_code == 200, response.status_code

    def bare_route() -> None:
        assert client.get("/bench/bare").status_code == 200

    timed(caseload, WARM_UP)
    timed(bare_route, WARM_UP)
    page, plain = [], []
    for _ in range(ROUNDS):  # interleaved, so both see the same machine
        page += timed(caseload, 1)
        plain += timed(bare_route, 1)
    steady = report("steady", page, plain)

    rng = random.Random(9)
    after_write, plain_after = [], []
    for _ in range(WRITES):
        write_a_session(app, rng)
        after_write += timed(caseload, 1)
        plain_after += timed(bare_route, 1)
    written = report("right after a write", after_write, plain_after)

    print(
        f"  SQL queries per caseload page: {count_queries(app, caseload)} "
        f"(the same at 10 and 500 patients: tests/test_dashboard.py)"
    )
    return max(steady, written) <= BUDGET


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
