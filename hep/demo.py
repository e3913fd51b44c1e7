"""Demo data for `make run`: a clinic, its therapists and patients (empty database only)."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, func, select
from werkzeug.security import generate_password_hash

from hep.accounts import service as accounts
from hep.accounts.schemas import NewPatient, SignUp
from hep.models import User
from hep.patient.schemas import CheckinSubmission, SessionSubmission
from hep.patient.service import record_checkin, record_session
from hep.programs.service import create_program_from_template, live_items
from hep.rollup import refresh_patient, schedule_for
from hep.timeutil import local_date

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
    demo_patients: list[tuple[User, User]] = []
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
        demo_patients.append((patient, therapist))
    db.flush()
    add_programs_and_history(db, now, demo_patients)
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


# --- Programs and weeks of history, recorded through the patient's own services ---------------


@dataclass(frozen=True)
class Story:
    """How a demo patient has been doing: the dashboard should show every state.

    Done sessions are spread evenly at `done_rate`; the amber and red patients follow daily
    programs, so their 7-day figure is the same whichever weekday the demo is seeded on.
    """

    template: str
    days_ago: int  # when the program started
    done_rate: float  # share of scheduled sessions done
    pain: tuple[int, int]  # usual pain during, low to high
    effort: tuple[int, int]
    ending: str = ""  # progress | red_flag | rising_pain | inactive | sore_next_day
    reminder: time = time(9, 0)


STORIES: dict[str, Story] = {
    "Rosa Martinez": Story("knee-osteoarthritis-phase-1", 36, 1.0, (1, 2), (3, 4), "progress"),
    "Walter Brown": Story("plantar-heel-pain", 38, 0.67, (2, 4), (4, 6), reminder=time(10, 0)),
    "Grace Kim": Story("low-back-pain", 30, 0.95, (0, 1), (2, 4), "progress", time(8, 30)),
    "Harold Jenkins": Story("reconditioning-after-illness", 28, 0.85, (2, 4), (4, 6), "red_flag"),
    "Amina Yusuf": Story("stiff-shoulder-early-motion", 32, 0.3, (2, 4), (4, 6)),
    "Frank Osei": Story("ankle-sprain", 40, 0.9, (1, 3), (3, 5), "inactive"),
    "Lucia Romero": Story("hip-strengthening", 26, 0.85, (2, 4), (4, 5), "rising_pain"),
    "Dorothy Hughes": Story("neck-pain", 24, 0.8, (3, 5), (4, 6), "sore_next_day", time(17, 0)),
}
RISING_PAIN = (3, 4, 6, 6, 7)
INACTIVE_DAYS = 8


def add_programs_and_history(db: Session, now: datetime, patients: list[tuple[User, User]]) -> None:
    """Give each demo patient a program from a template and weeks of sessions and check-ins,
    stored through record_session and record_checkin so rollups and alerts are as in real use."""
    from hep.content.loader import load_catalogue
    from hep.library.service import sync_catalogue
    from hep.models import ProgramTemplate

    if db.exec(select(func.count()).select_from(ProgramTemplate)).one() == 0:
        sync_catalogue(db, now, load_catalogue())
    for patient, therapist in patients:
        story = STORIES.get(patient.name)
        if story is None:
            continue
        template = db.exec(select(ProgramTemplate).where(ProgramTemplate.slug == story.template))
        _live_a_story(db, now, patient, therapist, template.one(), story)
    for patient, _therapist in patients:
        refresh_patient(db, now, patient.id)
    db.flush()


def _live_a_story(db, now, patient, therapist, template, story: Story) -> None:
    zone = ZoneInfo(patient.timezone)
    today = local_date(now, patient.timezone)
    start = today - timedelta(days=story.days_ago)
    created = datetime.combine(start - timedelta(days=1), time(15, 0), tzinfo=zone)
    program = create_program_from_template(
        db,
        created.astimezone(UTC),
        therapist,
        patient,
        template,
        start,
        story.reminder,
        override_reason="Checked with the patient's doctor; start gently and watch closely.",
    )
    items = [item for item, _exercise in live_items(db, program)]
    schedule = schedule_for(program)
    rng = random.Random(patient.name)
    last_day = today - timedelta(days=INACTIVE_DAYS if story.ending == "inactive" else 1)
    plan: list[datetime] = []
    due = 0  # scheduled sessions so far: done ones are spread evenly at the story's rate
    day = start
    while day <= last_day:
        if schedule.is_scheduled(day):
            for turn in range(schedule.times_per_day):
                due += 1
                if int(due * story.done_rate) > int((due - 1) * story.done_rate):
                    at = time(9 + 8 * turn, rng.randrange(0, 50))
                    plan.append(datetime.combine(day, at, tzinfo=zone).astimezone(UTC))
        day += timedelta(days=1)
    if story.ending == "red_flag" and plan:
        plan = [at for at in plan if local_date(at, patient.timezone) <= today - timedelta(days=2)]

    for number, performed in enumerate(plan):
        left = len(plan) - number  # 1 for the last session
        pain = rng.randint(*story.pain)
        if story.ending == "rising_pain" and left <= len(RISING_PAIN):
            pain = RISING_PAIN[-left]
        effort = rng.randint(*story.effort)
        warmup = "gone" if story.ending == "sore_next_day" and rng.random() < 0.3 else "none"
        exercises = []
        for item in items:
            per_set = {"hold": item.hold_seconds, "timed": item.duration_seconds}.get(
                item.dosage_kind, item.reps
            ) or 1
            sets = [per_set] * item.sets
            if story.ending == "progress" and item.dosage_kind == "reps" and left <= 2:
                sets[-1] = per_set + 2
            elif story.done_rate < 0.9 and rng.random() < 0.25:
                sets[-1] = max(1, per_set - rng.randint(1, 3))
            if story.ending != "progress" and rng.random() < 0.06:
                exercises.append({"program_item_id": item.id, "skipped_reason": "time"})
                continue
            exercises.append(
                {
                    "program_item_id": item.id,
                    "sets_done": sets,
                    "pain_during": pain,
                    "effort": effort,
                }
            )
        red_flags = ["dizzy_or_fainting"] if story.ending == "red_flag" and left == 1 else []
        received = performed + timedelta(minutes=rng.randrange(1, 30))
        submission = SessionSubmission.model_validate(
            {
                "client_uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "program_id": program.id,
                "performed_at": performed,
                "warmup_soreness": warmup,
                "exercises": exercises,
                "pain_overall": pain,
                "effort_overall": effort,
                "red_flags": red_flags,
                "notes": "Felt a bit light-headed at the end." if red_flags else "",
            },
            context={"now": received},
        )
        log, _created = record_session(db, received, patient, submission)

        morning = datetime.combine(
            log.local_date + timedelta(days=1), time(8, rng.randrange(0, 40)), tzinfo=zone
        ).astimezone(UTC)
        same_day_again = (
            left > 1 and local_date(plan[number + 1], patient.timezone) == log.local_date
        )
        if morning < now and not red_flags and not same_day_again and rng.random() < 0.6:
            lasted = story.ending == "sore_next_day" and left <= 3
            answer = CheckinSubmission(
                session_id=log.id, soreness_gone=not lasted, pain_now=max(0, pain - 1)
            )
            record_checkin(db, morning, patient, answer)
