"""Demo data for `make run`: a clinic, its therapists and patients (empty database only)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, func, select
from werkzeug.security import generate_password_hash

from hep.accounts import service as accounts
from hep.accounts.schemas import NewPatient, SignUp
from hep.models import User

DEMO_PASSWORD = "demo-password"
THERAPIST = "therapist@demo.hep"

# name, time zone, conditions, usual pain
PATIENTS = (
    ("Rosa Martinez", "America/New_York", [], 3),
    ("Walter Brown", "America/Chicago", ["severe_osteoporosis"], 4),
    ("Grace Kim", "America/Los_Angeles", [], 2),
    ("Harold Jenkins", "America/New_York", ["uncontrolled_cardiovascular"], 5),
    ("Amina Yusuf", "America/Denver", [], 3),
    ("Frank Osei", "America/New_York", [], 2),
    ("Lucia Romero", "America/Phoenix", [], 4),
    ("Dorothy Hughes", "America/New_York", [], 6),
)


def seed(db: Session, now: datetime, force: bool = False) -> dict | None:
    """Add the demo clinic; None when the database already has users (unless forced)."""
    if not force and db.exec(select(func.count()).select_from(User)).one() > 0:
        return None
    admin = accounts.sign_up(
        db,
        now,
        SignUp(
            clinic_name="Riverside Physical Therapy",
            name="Tess Alvarez, PT",
            email=THERAPIST,
            timezone="America/New_York",
            password=DEMO_PASSWORD,
            confirm=DEMO_PASSWORD,
        ),
    )
    if admin is None:
        return None
    colleague, _token = accounts.invite_therapist(
        db,
        now,
        admin,
        accounts.NewTherapist(name="Sam Okafor, DPT", email="sam@demo.hep"),
        timedelta(hours=1),
    )
    colleague.password_hash = generate_password_hash(DEMO_PASSWORD)
    db.add(colleague)
    users: list[tuple[str, str]] = [("therapist", admin.login), ("therapist", colleague.login)]
    for index, (name, tz, conditions, pain) in enumerate(PATIENTS):
        therapist = admin if index % 3 else colleague
        patient, token = accounts.add_patient(
            db,
            now - timedelta(days=42),
            therapist,
            NewPatient(
                name=name,
                email=f"{name.split()[0].lower()}@demo.hep",
                timezone=tz,
                conditions=conditions,
                baseline_pain=pain,
            ),
            ttl=timedelta(hours=72),
        )
        invite, _problem = accounts.find_invite(db, now - timedelta(days=42), token)
        accounts.accept_invite(db, now - timedelta(days=42), invite, DEMO_PASSWORD)
        users.append(("patient", patient.login))
    db.flush()
    return {"password": DEMO_PASSWORD, "users": users}


def existing_logins(db: Session) -> dict | None:
    """The demo clinic's sign-ins, when the demo was seeded earlier."""
    admin = db.exec(select(User).where(User.login == THERAPIST)).first()
    if admin is None:
        return None
    people = db.exec(
        select(User).where(User.clinic_id == admin.clinic_id).order_by(User.role.desc(), User.id)
    ).all()
    return {"password": DEMO_PASSWORD, "users": [(u.role, u.login) for u in people]}

