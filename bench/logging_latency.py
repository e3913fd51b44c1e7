"""Storing a session log through the JSON API, against a bare route (SPEC §9).

Budget: POST /api/v1/sessions takes at most 3× a bare Flask route on the same app and test
client. The patient has 90 days of history in a clinic of 50 patients, so the alerts, the
progression check and the rollup refresh that run with every log see real data. Each round
sends a new session (a new client UUID) with every item of the program done.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import event
from sqlmodel import Session, select
from werkzeug.security import generate_password_hash

from bench.caseload import PASSWORD, build, timed
from hep import create_app, migrate
from hep.models import ProgramItem, SessionLog, User

PATIENTS = 50
DAYS = 90
BUDGET = 3.0
WARM_UP = 20
ROUNDS = 200


def main(patients: int = PATIENTS, days: int = DAYS) -> bool:
    folder = Path(tempfile.mkdtemp(prefix="hep-bench-logging-"))
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
    build(app, datetime.now(UTC), patients, days)
    engine = app.extensions["hep.engine"]
    with Session(engine) as db:
        patient_id, program_id = db.exec(
            select(SessionLog.patient_id, SessionLog.program_id).order_by(SessionLog.id)
        ).first()
        items = db.exec(select(ProgramItem.id).where(ProgramItem.program_id == program_id)).all()
        patient = db.get(User, patient_id)
        # Patients in the bench clinic have not set a password: give this one a sign-in.
        patient.login = "bench-patient"
        patient.password_hash = generate_password_hash(PASSWORD)
        db.add(patient)
        db.commit()

    client = app.test_client()
    signed_in = client.post("/login", data={"login": "bench-patient", "password": PASSWORD})
    assert signed_in.status_code == 302, signed_in.status_code
    rng = random.Random(3)

    def body() -> dict:
        return {
            "client_uuid": str(uuid.uuid4()),
            "program_id": program_id,
            "performed_at": datetime.now(UTC).isoformat(),
            "warmup_soreness": "none",
            "exercises": [
                {
                    "program_item_id": item,
                    "sets_done": [10, 10, rng.choice([8, 10, 12])],
                    "pain_during": rng.randint(0, 3),
                    "effort": rng.randint(2, 6),
                }
                for item in items
            ],
            "pain_overall": rng.randint(0, 3),
            "effort_overall": rng.randint(2, 6),
        }

    def log_a_session() -> None:
        response = client.post("/api/v1/sessions", json=body())
        assert response.status_code == 201, (response.status_code, response.get_data()[:300])

    def bare_route() -> None:
        assert client.get("/bench/bare").status_code == 200

    timed(log_a_session, WARM_UP)
    timed(bare_route, WARM_UP)
    stored, plain = [], []
    for _ in range(ROUNDS):  # interleaved, so both see the same machine
        stored += timed(log_a_session, 1)
        plain += timed(bare_route, 1)

    statements = []
    event.listen(engine, "before_cursor_execute", lambda *_args: statements.append(1))
    log_a_session()
    ratio = statistics.median(stored) / statistics.median(plain)
    verdict = "within" if ratio <= BUDGET else "OVER"
    print(
        f"  POST /api/v1/sessions {statistics.median(stored) * 1000:6.2f} ms, bare route "
        f"{statistics.median(plain) * 1000:6.2f} ms (medians of {ROUNDS}, {len(items)} exercises, "
        f"{days} days of history): {ratio:4.1f}× — {verdict} the {BUDGET:g}× budget"
    )
    print(f"  SQL statements per stored session: {len(statements)}")
    return ratio <= BUDGET


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
