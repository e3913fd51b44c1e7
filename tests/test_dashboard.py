"""The therapist's dashboard: the caseload sorted by need, the patient page, alerts, notes,
CSV exports, and the rollup that keeps the caseload cheap (SPEC §3 I, §5, §8).

Histories are recorded through hep.patient.service.record_session, as a phone would send them,
and every figure is checked against SPEC §5 and the shared rule cases.
"""

from __future__ import annotations

import csv
import io
import random
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import func, select

from hep.accounts import service as accounts
from hep.accounts.schemas import NewPatient
from hep.dashboard import service as dashboard
from hep.models import (
    Alert,
    AuditEvent,
    Exercise,
    MorningCheckin,
    PatientNote,
    PatientRollup,
    Program,
    ProgramItem,
    ProgressionSuggestion,
    SessionLog,
    User,
)
from hep.patient.schemas import SessionSubmission
from hep.patient.service import record_session
from hep.programs import service as programs
from hep.programs.schemas import ProgramIn
from hep.rollup import refresh_patient, refresh_stale
from hep.rules import adherence
from hep.rules.safety import SessionSignals, alerts_for
from tests.conftest import PASSWORD, count_queries
from tests.rules.test_rule_cases import CASES, rounded, to_schedule

NEW_YORK = ZoneInfo("America/New_York")
WEEKDAY_NAMES = adherence.WEEKDAY_NAMES


# --- Building histories the way the app does ------------------------------------------------


def at_local(day: date, hour: int = 21, minute: int = 30, tz: ZoneInfo = NEW_YORK) -> datetime:
    """A moment of a patient's local day, in UTC (21:30 in New York is the next day in UTC)."""
    return datetime.combine(day, time(hour, minute), tzinfo=tz).astimezone(UTC)


@dataclass
class Clinic:
    """A clinic's therapist, the exercises it prescribes, and helpers to give patients a
    program and a history through the real services."""

    app: object
    db: object
    therapist: User
    exercises: dict[str, Exercise] = field(default_factory=dict)

    def patient(
        self,
        name: str,
        tz: str = "America/New_York",
        baseline: int | None = None,
        therapist: User | None = None,
    ) -> User:
        patient, _token = accounts.add_patient(
            self.db,
            datetime.now(UTC),
            therapist or self.therapist,
            NewPatient(name=name, timezone=tz, baseline_pain=baseline),
            ttl=timedelta(hours=72),
        )
        self.db.commit()
        return patient

    def program(
        self,
        patient: User,
        days: list[str],
        start: date,
        times_per_day: int = 1,
        end: date | None = None,
        items: tuple[str, ...] = ("squat",),
    ) -> Program:
        data = ProgramIn(
            title="Knee plan",
            days=days,
            times_per_day=times_per_day,
            start_date=start,
            end_date=end,
            items=[self._item(slug) for slug in items],
        )
        with self.app.test_request_context():
            program = programs.create_program(
                self.db, start_at(start), self.therapist, patient, data
            )
        self.db.commit()
        return program

    def _item(self, slug: str, **dosage) -> dict:
        exercise = self.exercises[slug]
        item = {"exercise_id": exercise.id, "dosage_kind": exercise.dosage_kind, "sets": 3}
        if exercise.dosage_kind == "reps":
            item["reps"] = 10
        else:
            item["hold_seconds"] = 30
        return {**item, **dosage}

    def items(self, program: Program) -> list[ProgramItem]:
        return [item for item, _exercise in programs.live_items(self.db, program)]

    def log(
        self,
        patient: User,
        program: Program,
        performed_at: datetime,
        sets: list[int] | None = None,
        pain: int = 2,
        effort: int = 5,
        red_flags: tuple[str, ...] = (),
        skip: bool = False,
        warmup: str = "none",
    ) -> SessionLog:
        """Record a session through record_session, received a few minutes after it was done."""
        entries = []
        for item in self.items(program):
            if skip:
                entries.append({"program_item_id": item.id, "skipped_reason": "time"})
                continue
            done = sets if sets is not None else [item.reps or item.hold_seconds] * item.sets
            entries.append(
                {
                    "program_item_id": item.id,
                    "sets_done": done,
                    "pain_during": pain,
                    "effort": effort,
                }
            )
        submission = SessionSubmission.model_validate(
            {
                "client_uuid": str(uuid.uuid4()),
                "program_id": program.id,
                "performed_at": performed_at.isoformat(),
                "warmup_soreness": warmup,
                "exercises": entries,
                "pain_overall": None if skip else pain,
                "effort_overall": None if skip else effort,
                "red_flags": list(red_flags),
            },
            context={"now": performed_at},
        )
        with self.app.test_request_context():
            log, created = record_session(
                self.db, performed_at + timedelta(minutes=3), patient, submission
            )
        assert created
        self.db.commit()
        return log


def start_at(day: date) -> datetime:
    return at_local(day, 9, 0)


def make_exercises(db) -> dict[str, Exercise]:
    rows = {
        "squat": Exercise(
            slug="test-squat",
            name="Sit to stand",
            category="strength",
            cpt_code="97110",
            body_region="knee",
            position="sitting",
            dosage_kind="reps",
            sets=3,
            reps=10,
        ),
        "bridge": Exercise(
            slug="test-bridge",
            name="Bridge",
            category="strength",
            cpt_code="97110",
            body_region="hip",
            position="lying",
            dosage_kind="reps",
            sets=2,
            reps=12,
        ),
        "stretch": Exercise(
            slug="test-calf-stretch",
            name="Calf stretch",
            category="flexibility",
            cpt_code="97110",
            body_region="ankle",
            position="standing",
            dosage_kind="hold",
            sets=3,
            hold_seconds=30,
        ),
    }
    db.add_all(rows.values())
    db.commit()
    return rows


@pytest.fixture
def clinic(app, db, people) -> Clinic:
    therapist = people.clinic()
    return Clinic(app=app, db=db, therapist=therapist, exercises=make_exercises(db))


@pytest.fixture
def signed_in(client, clinic):
    response = client.post("/login", data={"login": clinic.therapist.login, "password": PASSWORD})
    assert response.status_code == 302
    return client


def caseload_names(html: str) -> list[str]:
    return re.findall(r'class="patient-link" href="/patients/\d+">([^<]+)</a>', html)


def today_ny() -> date:
    return datetime.now(NEW_YORK).date()


def audit_actions(db, patient_id: int | None = None) -> list[str]:
    query = select(AuditEvent.action).order_by(AuditEvent.id)
    if patient_id is not None:
        query = query.where(AuditEvent.patient_id == patient_id)
    return list(db.exec(query).all())


# --- Every state the caseload knows -----------------------------------------------------------

EVERY_DAY = list(WEEKDAY_NAMES)


def build_caseload(clinic: Clinic, now: datetime) -> dict[str, User]:
    """One patient in each state of SPEC §3 I, built through record_session; rollups as of now."""
    today = now.astimezone(NEW_YORK).date()
    start = today - timedelta(days=20)
    people: dict[str, User] = {}

    def daily(name: str, baseline: int | None = None, missed: tuple[int, ...] = ()) -> tuple:
        patient = clinic.patient(name, baseline=baseline)
        program = clinic.program(patient, EVERY_DAY, start)
        for days_ago in range(20, 1, -1):
            if days_ago not in missed:
                clinic.log(patient, program, at_local(today - timedelta(days=days_ago)))
        people[name] = patient
        return patient, program

    patient, program = daily("Rosa Redflag")
    clinic.log(patient, program, at_local(today - timedelta(days=1)), red_flags=("chest_pain",))

    patient, program = daily("Paul Paintwice")
    clinic.log(patient, program, at_local(today - timedelta(days=1), 9), pain=6)
    clinic.log(patient, program, at_local(today - timedelta(days=1), 18), pain=6)

    patient, program = daily("Amy Amber", missed=(2, 4, 5))
    clinic.log(patient, program, at_local(today - timedelta(days=1)))

    patient = clinic.patient("Ian Inactive")
    program = clinic.program(patient, ["mon", "wed", "fri"], start)
    clinic.log(patient, program, at_local(start))
    people["Ian Inactive"] = patient

    patient, program = daily("Wendy Worse", baseline=2)
    clinic.log(patient, program, at_local(today - timedelta(days=1)), pain=4)
    for alert in clinic.db.exec(select(Alert).where(Alert.patient_id == patient.id)).all():
        dashboard.acknowledge_alert(clinic.db, now, clinic.therapist, alert, "Called her")
    clinic.db.commit()

    # Two easy sessions at full dose: the progression engine suggests more (SPEC §5 row 7).
    patient, program = daily("Pia Progress")
    clinic.log(patient, program, at_local(today - timedelta(days=1), 8), effort=3)
    clinic.log(patient, program, at_local(today - timedelta(days=1)), effort=3)

    patient, program = daily("Greg Green")
    # Working hard at the prescribed dose: nothing to suggest yet (keep-going).
    clinic.log(patient, program, at_local(today - timedelta(days=1)), pain=1, effort=6)

    refresh_stale(clinic.db, now)
    for patient in people.values():  # suggestions and acknowledgements since the last log
        refresh_patient(clinic.db, now, patient.id)
    clinic.db.commit()
    return people


CASELOAD_ORDER = [
    "Rosa Redflag",
    "Paul Paintwice",
    "Ian Inactive",
    "Amy Amber",
    "Wendy Worse",
    "Pia Progress",
    "Greg Green",
]


def test_caseload_puts_red_flags_first_then_each_need_in_turn(signed_in, clinic, db):
    now = datetime.now(UTC)
    people = build_caseload(clinic, now)
    rollups = {name: db.get(PatientRollup, p.id) for name, p in people.items()}
    assert rollups["Rosa Redflag"].urgent_alerts == 1
    assert (
        rollups["Paul Paintwice"].open_alerts == 1 and not rollups["Paul Paintwice"].urgent_alerts
    )
    assert rollups["Amy Amber"].adherence_7 < 0.8 and not rollups["Amy Amber"].inactive
    assert rollups["Ian Inactive"].inactive
    assert rollups["Wendy Worse"].worsening and rollups["Wendy Worse"].open_alerts == 0
    assert rollups["Pia Progress"].pending_suggestions == 1
    assert rollups["Greg Green"].pending_suggestions == 0
    assert rollups["Greg Green"].adherence_7 == 1.0

    response = signed_in.get("/patients")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert caseload_names(html) == CASELOAD_ORDER
    # Colour always comes with a word, and every need is spelled out.
    assert 'tag tag-green">Good<' in html and 'tag tag-amber">Fair<' in html
    for words in (
        "1 urgent alert",
        "1 alert",
        '"tag tag-amber">Below 80 %<',
        '"tag tag-red">Inactive<',
        '"tag tag-red">Pain up 2+<',
        '"tag tag-blue">To review<',
    ):
        assert words in html
    assert html.count('class="sparkline"') == len(CASELOAD_ORDER)
    assert "Weekly adherence, oldest first: " in html


FILTERED = {
    "alerts": ["Rosa Redflag", "Paul Paintwice"],
    "low": ["Ian Inactive", "Amy Amber"],
    "inactive": ["Ian Inactive"],
    "worsening": ["Wendy Worse"],
    "progress": ["Paul Paintwice", "Pia Progress"],  # pain over 5: make it easier
    "attention": CASELOAD_ORDER[:-1],
    "all": CASELOAD_ORDER,
}


def test_caseload_filters_by_need_and_counts_open_alerts_in_the_nav(signed_in, clinic):
    build_caseload(clinic, datetime.now(UTC))
    for show, expected in FILTERED.items():
        html = signed_in.get(f"/patients?show={show}").get_data(as_text=True)
        assert caseload_names(html) == expected, show
    html = signed_in.get("/patients").get_data(as_text=True)
    assert re.search(r'id="nav-alerts-count" class="count count-open">2<', html)


def test_caseload_search_and_mine_answer_htmx_with_the_rows_only(signed_in, clinic, db, people):
    colleague, _token = accounts.invite_therapist(
        db,
        datetime.now(UTC),
        clinic.therapist,
        accounts.NewTherapist(name="Sam Colleague", email="sam@example.com"),
        timedelta(hours=1),
    )
    db.commit()
    clinic.patient("José Núñez")
    clinic.patient("Josephine Baker", therapist=colleague)
    clinic.patient("Walter 100%_sure")

    page = signed_in.get("/patients?q=jos")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<html" in html and 'id="caseload-results"' in html
    assert caseload_names(html) == ["Josephine Baker", "José Núñez"]
    assert "HX-Request" in page.headers["Vary"]

    rows = signed_in.get("/patients?q=jos&mine=on", headers={"HX-Request": "true"})
    html = rows.get_data(as_text=True)
    assert "<html" not in html and html.lstrip().startswith('<div id="caseload-results">')
    assert caseload_names(html) == ["José Núñez"]
    assert "HX-Request" in rows.headers["Vary"]

    # Wildcards are taken literally.
    assert caseload_names(signed_in.get("/patients?q=100%25_").get_data(as_text=True)) == [
        "Walter 100%_sure"
    ]
    assert caseload_names(signed_in.get("/patients?q=%25").get_data(as_text=True)) == [
        "Walter 100%_sure"
    ]
    # Going back in history asks htmx for the whole page, not the rows.
    restore = signed_in.get(
        "/patients?q=jos", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restore.get_data(as_text=True)


def test_caseload_bad_filters_say_so_and_show_everyone(signed_in, clinic):
    clinic.patient("Ann Example")
    response = signed_in.get("/patients?show=nonsense&page=0&q=" + "x" * 101)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "There is a problem" in html
    assert "Choose show from the list" in html
    assert caseload_names(html) == ["Ann Example"]


def test_caseload_pages_fifty_at_a_time(signed_in, clinic, db):
    therapist = clinic.therapist
    for number in range(120):
        accounts.add_patient(
            db,
            datetime.now(UTC),
            therapist,
            NewPatient(name=f"Patient {number:03d}", timezone="America/New_York"),
            ttl=timedelta(hours=1),
        )
    db.commit()
    first = signed_in.get("/patients").get_data(as_text=True)
    assert len(caseload_names(first)) == 50
    assert "Showing 1 to 50 of 120 patients" in first
    assert "Page 1 of 3" in first
    last = signed_in.get("/patients?page=3", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert caseload_names(last) == [f"Patient {n:03d}" for n in range(100, 120)]
    assert 'hx-push-url="true"' in last and "page=2" in last
    # Past the end: the last page.
    assert caseload_names(signed_in.get("/patients?page=9").get_data(as_text=True))[-1] == (
        "Patient 119"
    )


# --- The patient page -----------------------------------------------------------------------


def history(clinic: Clinic, name: str, sessions: int, today: date) -> User:
    """A patient on a daily program with `sessions` sessions, one a day up to yesterday, a
    morning check-in, a note, an open and an acknowledged alert and a program edit."""
    patient = clinic.patient(name, baseline=3)
    program = clinic.program(
        patient, EVERY_DAY, today - timedelta(days=sessions), items=("squat", "stretch")
    )
    for days_ago in range(sessions, 0, -1):
        clinic.log(
            patient, program, at_local(today - timedelta(days=days_ago)), pain=2 + days_ago % 3
        )
    last = clinic.db.exec(
        select(SessionLog).where(SessionLog.patient_id == patient.id).order_by(SessionLog.id.desc())
    ).first()
    clinic.db.add(
        MorningCheckin(patient_id=patient.id, session_id=last.id, soreness_lasted=True, pain_now=3)
    )
    clinic.db.add_all(
        [
            Alert(
                clinic_id=patient.clinic_id,
                patient_id=patient.id,
                kind="severe_pain",
                severity="immediate",
                detail="Pain 8/10.",
            ),
            Alert(
                clinic_id=patient.clinic_id,
                patient_id=patient.id,
                kind="worsening",
                severity="routine",
                acknowledged_at=datetime.now(UTC),
                acknowledged_by_id=clinic.therapist.id,
                acknowledge_note="Rang her",
            ),
        ]
    )
    dashboard.add_note(clinic.db, datetime.now(UTC), clinic.therapist, patient, "Knee better.")
    edit_program(clinic, program, reps=12)
    clinic.db.commit()
    return patient


def edit_program(clinic: Clinic, program: Program, reps: int) -> None:
    """Change the first item's reps through the program builder's service (a new version)."""
    items = []
    for item, _exercise in programs.live_items(clinic.db, program):
        data = {"item_id": item.id, "exercise_id": item.exercise_id, **programs.item_dosage(item)}
        if item.dosage_kind == "reps":
            data["reps"] = reps
        items.append(data)
    fields = {name: getattr(program, name) for name in programs.DETAIL_FIELDS}
    data = ProgramIn(**fields, items=items, change_reason="Doing well")
    with clinic.app.test_request_context():
        programs.update_program(clinic.db, datetime.now(UTC), clinic.therapist, program, data)
    clinic.db.commit()


def test_patient_page_shows_everything_a_therapist_needs(signed_in, clinic, db):
    patient = history(clinic, "Hana Long", 12, today_ny())
    refresh_patient(db, datetime.now(UTC), patient.id)
    db.commit()
    response = signed_in.get(f"/patients/{patient.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for text in (
        "Last 7 days",
        "Last 30 days",
        "Since the start",
        "Dose done (30 days)",
        "Pain 7 or more",
        "Mark as seen",
        "Rang her",
        "Sit to stand",
        "Calf stretch",
        "12 of 12 sessions",
        "Still sore",
        "Knee better.",
        "Dosage history (3 changes)",
        "3 sets of 10",
        "3 sets of 12",
        "Doing well",
        "New program",
        'role="img"',
        "Show the numbers",
        "12 sessions in all",
    ):
        assert text in html, text
    assert audit_actions(db, patient.id)[-1] == "patient.view"


def test_patient_page_query_count_does_not_depend_on_history(signed_in, clinic):
    today = today_ny()
    counts = {}
    for sessions in (5, 200):
        patient = history(clinic, f"Has {sessions} sessions", sessions, today)
        with count_queries(clinic.app) as statements:
            html = signed_in.get(f"/patients/{patient.id}").get_data(as_text=True)
        assert f"{sessions} sessions in all" in html
        counts[sessions] = len(statements)
        with count_queries(clinic.app) as statements:
            page = signed_in.get(
                f"/patients/{patient.id}/sessions?page=2", headers={"HX-Request": "true"}
            )
        assert page.status_code == 200
        counts[f"sessions page {sessions}"] = len(statements)
    assert counts[5] == counts[200] <= 25, counts
    assert counts["sessions page 5"] == counts["sessions page 200"], counts


# --- SPEC §5 and the shared rule cases, through the whole app --------------------------------


@pytest.mark.parametrize("case", CASES["adherence"], ids=[c["id"] for c in CASES["adherence"]])
def test_adherence_cases_through_logging_rollup_and_page(signed_in, clinic, db, case):
    """Each shared adherence case, logged at 21:30 New York time (the next day in UTC, and
    across the end of daylight saving in adherence-12), lands in the rollup and on the page."""
    program_case = case["program"]
    schedule = to_schedule(program_case)
    patient = clinic.patient("Case Patient")
    program = clinic.program(
        patient,
        program_case["days"],
        schedule.start,
        times_per_day=schedule.times_per_day,
        end=schedule.end,
    )
    for number, day in enumerate(sorted(case["sessions"])):
        moment = at_local(date.fromisoformat(day), 21, number % 2 * 15)  # two a day: 21:00, 21:15
        log = clinic.log(patient, program, moment)
        assert log.local_date == date.fromisoformat(day) != moment.date()
    today = date.fromisoformat(case["today"])
    rollup = refresh_patient(db, at_local(today, 22, 0), patient.id)
    db.commit()
    expect = case["expect"]
    assert {
        "adherence_7": rounded(rollup.adherence_7),
        "adherence_30": rounded(rollup.adherence_30),
        "adherence_since_start": rounded(rollup.adherence_all),
        "band_7": adherence.band(rollup.adherence_7),
        "inactive": rollup.inactive,
    } == expect

    html = signed_in.get(f"/patients/{patient.id}").get_data(as_text=True)
    glance = html[html.index('class="stat-grid"') : html.index('id="alerts"')]
    shown = re.findall(r'<span class="figure">([^<]+)</span>', glance)[:3]
    assert shown == [
        "—" if expect[key] is None else f"{round(expect[key] * 100)} %"
        for key in ("adherence_7", "adherence_30", "adherence_since_start")
    ]
    if expect["band_7"]:
        word = {"green": "Good", "amber": "Fair", "red": "Low"}[expect["band_7"]]
        assert f'tag tag-{expect["band_7"]}">{word}<' in glance


DOSE_CASES = {c["id"]: c for c in CASES["dose_adherence"]}


@pytest.mark.parametrize("case_id", sorted(DOSE_CASES))
def test_dose_adherence_cases_through_exercise_logs(signed_in, clinic, db, case_id):
    """Each item of a dose case is one logged session of 3 sets of 10 (a target of 30)."""
    case = DOSE_CASES[case_id]
    today = today_ny()
    patient = clinic.patient("Dose Patient")
    program = clinic.program(patient, EVERY_DAY, today - timedelta(days=10))
    for days_ago, item in enumerate(case["items"], start=1):
        assert item["target"] == 30
        per_set = item["actual"] // 3
        clinic.log(patient, program, at_local(today - timedelta(days=days_ago)), sets=[per_set] * 3)
    overview = dashboard.patient_overview(db, datetime.now(UTC), patient)
    expected = case["expect"]["dose_adherence"]
    assert [rounded(s.dose) for s in overview.stats] == [expected]
    assert rounded(overview.dose_30) == expected
    html = signed_in.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert f"{round(expected * 100)} %" in html


def test_dose_adherence_keeps_the_target_of_the_day_after_the_program_is_edited(
    signed_in, clinic, db
):
    """3 × 10 done twice at 3 × 10, then the therapist raises it to 3 × 12 and 3 × 10 is done
    twice more: (30 + 30 + 30 + 30) ÷ (30 + 30 + 36 + 36)."""
    today = today_ny()
    patient = clinic.patient("Edited Midway")
    program = clinic.program(patient, EVERY_DAY, today - timedelta(days=10))
    for days_ago in (6, 5):
        clinic.log(patient, program, at_local(today - timedelta(days=days_ago)), sets=[10, 10, 10])
    edit_program(clinic, program, reps=12)
    for days_ago in (3, 2):
        clinic.log(patient, program, at_local(today - timedelta(days=days_ago)), sets=[10, 10, 10])

    expected = adherence.dose_adherence(
        [adherence.DoseItem(30, 30)] * 2 + [adherence.DoseItem(36, 30)] * 2
    )
    assert round(expected, 4) == 0.9091
    overview = dashboard.patient_overview(db, datetime.now(UTC), patient)
    assert overview.stats[0].dose == pytest.approx(expected)
    assert (overview.stats[0].performed, overview.stats[0].logged) == (4, 4)
    assert [v.version.after["reps"] for v in overview.versions] == [12, 10]
    assert overview.versions[0].version.before["reps"] == 10

    html = signed_in.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert "91 %" in html
    assert "3 sets of 10, rest 30 seconds → 3 sets of 12, rest 30 seconds" in html
    assert '10, 10, 10 reps <span class="muted">(3 × 12 reps' in html
    assert '10, 10, 10 reps <span class="muted">(3 × 10 reps' in html


def test_alerts_from_hand_built_histories_match_spec(clinic, db):
    """SPEC §5 Alerts: any red flag and pain ≥ 7 are immediate; pain > 5 twice in a row;
    latest pain 2 or more over baseline is worsening."""
    today = today_ny()

    def kinds(patient: User) -> list[tuple[str, str]]:
        rows = db.exec(select(Alert).where(Alert.patient_id == patient.id).order_by(Alert.id))
        return [(a.kind, a.severity) for a in rows.all()]

    def patient_with(pains: list[int], baseline: int | None = None, flags=()) -> User:
        patient = clinic.patient(f"Alert {len(db.exec(select(User)).all())}", baseline=baseline)
        program = clinic.program(patient, EVERY_DAY, today - timedelta(days=10))
        for index, pain in enumerate(pains):
            last = index == len(pains) - 1
            clinic.log(
                patient,
                program,
                at_local(today - timedelta(days=len(pains) - index)),
                pain=pain,
                red_flags=flags if last else (),
            )
        return patient

    assert kinds(patient_with([2], flags=("dizzy_or_fainting",))) == [("red_flag", "immediate")]
    assert kinds(patient_with([2, 7])) == [("severe_pain", "immediate")]
    assert kinds(patient_with([6, 4, 6])) == []
    assert kinds(patient_with([4, 6, 6])) == [("pain_over_5_twice", "routine")]
    assert kinds(patient_with([3, 4], baseline=3)) == []
    assert kinds(patient_with([3, 5], baseline=3)) == [("worsening", "routine")]
    everything = patient_with([6, 8], baseline=2, flags=("chest_pain",))
    # Worsening came with the first session (6 is 4 over 2) and stays one open alert.
    assert kinds(everything) == [
        ("worsening", "routine"),
        ("red_flag", "immediate"),
        ("severe_pain", "immediate"),
        ("pain_over_5_twice", "routine"),
    ]
    # The second session's answers, straight from the rule function.
    assert [
        (a.kind, a.severity)
        for a in alerts_for(SessionSignals(8, ("chest_pain",)), SessionSignals(6), 2)
    ] == kinds(everything)[1:] + kinds(everything)[:1]
    rollup = db.get(PatientRollup, everything.id)
    assert (rollup.open_alerts, rollup.urgent_alerts, rollup.worsening) == (4, 2, True)


# --- Acknowledging alerts, notes, audit ------------------------------------------------------


def red_flag_patient(clinic: Clinic) -> tuple[User, Alert]:
    today = today_ny()
    patient = clinic.patient("Rosa Redflag")
    program = clinic.program(patient, EVERY_DAY, today - timedelta(days=5))
    clinic.log(patient, program, at_local(today - timedelta(days=1)), red_flags=("chest_pain",))
    alert = clinic.db.exec(select(Alert).where(Alert.patient_id == patient.id)).one()
    return patient, alert


def test_acknowledging_with_htmx_updates_the_alert_and_the_nav_count(signed_in, clinic, db):
    patient, alert = red_flag_patient(clinic)
    page = signed_in.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert re.search(r'id="nav-alerts-count" class="count count-open">1<', page)
    assert f'hx-post="/alerts/{alert.id}/acknowledge"' in page

    response = signed_in.post(
        f"/alerts/{alert.id}/acknowledge",
        data={"note": "Called her: she is fine, saw her GP.", "back": "patient"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html
    assert f'id="alert-{alert.id}"' in html and "Seen by Tess Therapist" in html
    assert "Called her: she is fine, saw her GP." in html
    assert re.search(r'id="nav-alerts-count" class="count" hx-swap-oob="true">0<', html)

    db.refresh(alert)
    assert alert.acknowledged_by_id == clinic.therapist.id
    assert alert.acknowledged_at is not None
    assert alert.acknowledge_note == "Called her: she is fine, saw her GP."
    rollup = db.get(PatientRollup, patient.id)
    db.refresh(rollup)
    assert (rollup.open_alerts, rollup.urgent_alerts) == (0, 0)
    assert audit_actions(db, patient.id)[-1] == "alert.acknowledge"

    # A second acknowledgement does not overwrite the first.
    again = signed_in.post(f"/alerts/{alert.id}/acknowledge", data={"note": "Me too"})
    assert again.status_code == 302
    db.refresh(alert)
    assert alert.acknowledge_note == "Called her: she is fine, saw her GP."


def test_acknowledging_needs_a_note_and_writes_nothing_without_one(signed_in, clinic, db):
    patient, alert = red_flag_patient(clinic)
    for headers in ({"HX-Request": "true"}, {}):
        response = signed_in.post(
            f"/alerts/{alert.id}/acknowledge", data={"note": "   "}, headers=headers
        )
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert "Enter what you did" in html and 'aria-invalid="true"' in html
    assert "There is a problem" in html  # the full page has the error summary
    db.refresh(alert)
    assert alert.acknowledged_at is None
    too_long = signed_in.post(f"/alerts/{alert.id}/acknowledge", data={"note": "x" * 1001})
    assert too_long.status_code == 422
    assert "What you did must be 1000 characters or fewer" in too_long.get_data(as_text=True)


def test_acknowledging_without_htmx_goes_back_where_the_therapist_was(signed_in, clinic, db):
    patient, alert = red_flag_patient(clinic)
    listing = signed_in.get("/alerts").get_data(as_text=True)
    assert "Rosa Redflag" in listing and "Red flag" in listing
    response = signed_in.post(
        f"/alerts/{alert.id}/acknowledge", data={"note": "Phoned", "back": "alerts"}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/alerts"
    after = signed_in.get("/alerts").get_data(as_text=True)
    assert "The alert is marked as seen." in after and "No open alerts" in after


def test_notes_are_added_with_a_form_and_audited(signed_in, clinic, db):
    patient = clinic.patient("Noted Patient")
    response = signed_in.post(
        f"/patients/{patient.id}/notes",
        data={"body": "Knee swelling down.\nKeep going."},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="notes"')
    assert "Your note is saved." in html and "Knee swelling down." in html
    note = db.exec(select(PatientNote)).one()
    assert (note.patient_id, note.author_id) == (patient.id, clinic.therapist.id)
    assert audit_actions(db, patient.id) == ["note.create"]

    empty = signed_in.post(f"/patients/{patient.id}/notes", data={"body": ""})
    assert empty.status_code == 422
    assert "Enter note" in empty.get_data(as_text=True)
    assert db.exec(select(func.count()).select_from(PatientNote)).one() == 1

    plain = signed_in.post(f"/patients/{patient.id}/notes", data={"body": "Second"})
    assert plain.status_code == 302 and plain.headers["Location"].endswith("#notes")


def test_every_read_and_write_of_patient_data_is_audited(signed_in, clinic, db):
    patient, alert = red_flag_patient(clinic)
    signed_in.get("/patients")
    signed_in.get(f"/patients/{patient.id}")
    signed_in.get(f"/patients/{patient.id}/sessions?page=1", headers={"HX-Request": "true"})
    signed_in.get(f"/patients/{patient.id}/export.csv")
    signed_in.get("/patients/export.csv")
    signed_in.get("/alerts")
    signed_in.post(f"/alerts/{alert.id}/acknowledge", data={"note": "Done"})
    signed_in.post(f"/patients/{patient.id}/notes", data={"body": "Note"})
    events = db.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
    mine = [(e.action, e.patient_id) for e in events if e.actor_id == clinic.therapist.id]
    assert mine[-8:] == [
        ("caseload.view", None),
        ("patient.view", patient.id),
        ("patient.sessions", patient.id),
        ("patient.export", patient.id),
        ("caseload.export", None),
        ("alerts.view", None),
        ("alert.acknowledge", patient.id),
        ("note.create", patient.id),
    ]
    assert all(e.clinic_id == clinic.therapist.clinic_id for e in events if e.actor_id)


# --- CSV ------------------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_patient_logs_export_one_row_per_exercise_log(signed_in, clinic, db):
    today = today_ny()
    patient = clinic.patient("Zoë Ångström")
    program = clinic.program(
        patient, EVERY_DAY, today - timedelta(days=5), items=("squat", "stretch")
    )
    first = clinic.log(patient, program, at_local(today - timedelta(days=2)), sets=[10, 10, 8])
    clinic.log(patient, program, at_local(today - timedelta(days=1)), skip=True)

    response = signed_in.get(f"/patients/{patient.id}/export.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and f"hep-patient-{patient.id}-logs" in disposition
    assert "Zo" not in disposition  # no patient name in the downloads folder
    rows = read_csv(response)
    assert rows[0] == [
        "Performed at (UTC)",
        "Local date",
        "Exercise",
        "Target",
        "Actual",
        "Target volume",
        "Actual volume",
        "Pain during (0-10)",
        "Effort (0-10)",
        "Skipped reason",
    ]
    assert len(rows) == 1 + 4
    squat = rows[1]
    assert squat[0] == first.performed_at.isoformat().replace("+00:00", "Z")
    assert datetime.fromisoformat(squat[0]).tzinfo is not None
    assert squat[1] == (today - timedelta(days=2)).isoformat()
    assert squat[2:] == [
        "Sit to stand",
        "3 × 10 reps",
        "10, 10, 8 reps",
        "30.0",
        "28.0",
        "2",
        "5",
        "",
    ]
    assert rows[2][2:5] == ["Calf stretch", "3 × 30 s", "10, 10, 8 s"]
    assert rows[3][4] == "Skipped" and rows[3][9] == "I did not have time"


def test_csv_cells_that_look_like_formulas_are_defused(signed_in, clinic, db):
    today = today_ny()
    evil = Exercise(
        clinic_id=clinic.therapist.clinic_id,
        slug="evil",
        name='=HYPERLINK("http://x","y")',
        category="strength",
        cpt_code="97110",
        body_region="knee",
        position="sitting",
        reps=10,
    )
    db.add(evil)
    db.commit()
    clinic.exercises["evil"] = evil
    for name in ("+1 Plus", "-1 Minus", "@SUM(A1)", "Ordinary"):
        clinic.patient(name)
    patient = clinic.patient("=1+2")
    program = clinic.program(patient, EVERY_DAY, today - timedelta(days=3), items=("evil",))
    clinic.log(patient, program, at_local(today - timedelta(days=1)))

    logs = read_csv(signed_in.get(f"/patients/{patient.id}/export.csv"))
    assert logs[1][2] == '\'=HYPERLINK("http://x","y")'
    summary = read_csv(signed_in.get("/patients/export.csv"))
    names = sorted(row[0] for row in summary[1:])
    assert names == ["'+1 Plus", "'-1 Minus", "'=1+2", "'@SUM(A1)", "Ordinary"]
    assert dashboard.csv_cell(-3) == -3 and dashboard.csv_cell("a=b") == "a=b"


def test_caseload_export_follows_the_filters_and_uses_iso_dates(signed_in, clinic):
    build_caseload(clinic, datetime.now(UTC))
    response = signed_in.get("/patients/export.csv?show=alerts")
    assert response.headers["Content-Disposition"].startswith('attachment; filename="hep-caseload-')
    rows = read_csv(response)
    assert rows[0][:4] == ["Patient", "Needs attention", "7-day adherence (%)", "7-day band"]
    assert [row[0] for row in rows[1:]] == ["Rosa Redflag", "Paul Paintwice"]
    rosa = dict(zip(rows[0], rows[1], strict=True))
    assert rosa["Needs attention"] == "Urgent alert"
    assert rosa["7-day adherence (%)"] == "100.0" and rosa["7-day band"] == "Good"
    assert datetime.fromisoformat(rosa["Last session (UTC)"]).tzinfo == UTC
    assert rosa["Open alerts"] == "1" and rosa["Urgent alerts"] == "1"


# --- Scale: the caseload reads the rollup, never the history (SPEC §8) ------------------------


def add_patients(clinic: Clinic, count: int, seed: int) -> None:
    """Patients in every state: a few with real logged histories, the rest with varied rollups."""
    rng = random.Random(seed)
    today = today_ny()
    for number in range(count):
        patient = clinic.patient(f"Scale {seed}-{number:03d}")
        if number < 3:
            program = clinic.program(patient, EVERY_DAY, today - timedelta(days=6))
            for days_ago in range(5, 0, -1):
                clinic.log(
                    patient,
                    program,
                    at_local(today - timedelta(days=days_ago)),
                    pain=rng.randint(0, 8),
                )
            continue
        rollup = clinic.db.get(PatientRollup, patient.id)
        rollup.adherence_7 = rng.choice([None, 0.2, 0.6, 0.9, 1.0])
        rollup.adherence_30 = rng.choice([None, 0.4, 0.7, 1.0])
        rollup.inactive = rng.random() < 0.1
        rollup.worsening = rng.random() < 0.1
        rollup.open_alerts = rng.choice([0, 0, 0, 1, 2])
        rollup.urgent_alerts = min(rollup.open_alerts, rng.choice([0, 1]))
        rollup.pending_suggestions = rng.choice([0, 0, 1])
        rollup.last_pain = rng.choice([None, 1, 4, 7])
        rollup.last_session_at = datetime.now(UTC) - timedelta(days=rng.randint(0, 20))
        rollup.sparkline = [round(rng.random(), 2) for _ in range(8)]
        clinic.db.add(rollup)
    clinic.db.commit()


CASELOAD_VIEWS = (
    ("/patients", {}),
    ("/patients?page=2", {"HX-Request": "true"}),
    ("/patients?show=attention&mine=on", {"HX-Request": "true"}),
    ("/patients?q=scale", {"HX-Request": "true"}),
)


def caseload_query_counts(client, app) -> list[int]:
    counts = []
    for url, headers in CASELOAD_VIEWS:
        with count_queries(app) as statements:
            assert client.get(url, headers=headers).status_code == 200
        counts.append(len(statements))
    return counts


def test_caseload_query_count_is_the_same_for_10_and_500_patients(signed_in, clinic):
    add_patients(clinic, 10, seed=1)
    small = caseload_query_counts(signed_in, clinic.app)
    add_patients(clinic, 490, seed=2)
    large = caseload_query_counts(signed_in, clinic.app)
    assert small == large, (small, large)
    assert max(large) <= 8, large
    with count_queries(clinic.app) as statements:
        signed_in.get("/patients")
    # The rollup, the patient's name and profile, and the nav's count: no history is read.
    assert not [s for s in statements if "sessionlog" in s or "exerciselog" in s]
    html = signed_in.get("/patients").get_data(as_text=True)
    assert len(caseload_names(html)) == dashboard.PAGE_SIZE
    assert "of 500 patients" in html


# --- The rollup agrees with the rules (SPEC §8) -----------------------------------------------


@dataclass
class Logged:
    performed_at: datetime
    performed: bool
    pain: int | None


@dataclass
class Story:
    patient: User
    zone: ZoneInfo
    schedule: adherence.Schedule
    baseline: int | None
    logged: list[Logged] = field(default_factory=list)


def random_story(clinic: Clinic, rng: random.Random, zone: str, now: datetime) -> Story:
    """Two months of a patient's life: missed days, doubled sessions, sessions on rest days,
    skipped-only sessions, late evenings (another UTC day) and a daylight-saving change."""
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    days = sorted(rng.sample(WEEKDAY_NAMES, rng.randint(2, 7)), key=WEEKDAY_NAMES.index)
    times = rng.choice([1, 1, 2])
    start = today - timedelta(days=rng.randint(35, 60))
    baseline = rng.choice([None, 2, 4])
    patient = clinic.patient(f"Story {zone}", tz=zone, baseline=baseline)
    program = clinic.program(patient, days, start, times_per_day=times)
    story = Story(patient, tz, programs_schedule(program), baseline)
    day = start
    while day < today:
        scheduled = story.schedule.is_scheduled(day)
        sessions = (
            rng.choice([0, 1, times, times, times + 1]) if scheduled else int(rng.random() < 0.15)
        )
        hours = sorted(rng.sample(range(6, 24), sessions))
        for hour in hours:
            moment = datetime.combine(day, time(hour, rng.choice([0, 30, 59])), tzinfo=tz)
            skip = rng.random() < 0.1
            pain = rng.choice([0, 1, 2, 3, 4, 5, 6])
            clinic.log(patient, program, moment.astimezone(UTC), pain=pain, skip=skip)
            story.logged.append(Logged(moment.astimezone(UTC), not skip, None if skip else pain))
        day += timedelta(days=1)
    return story


def programs_schedule(program: Program) -> adherence.Schedule:
    return adherence.Schedule(
        weekdays=adherence.weekdays_from_names(program.days),
        times_per_day=program.times_per_day,
        start=program.start_date,
        end=program.end_date,
    )


def recomputed(story: Story, db, now: datetime) -> dict:
    """Every rollup figure, from the story as it was told, with the rule functions only."""
    today = now.astimezone(story.zone).date()
    days = [log.performed_at.astimezone(story.zone).date() for log in story.logged if log.performed]
    summary = adherence.summarize(story.schedule, days, today)
    weekly = [
        adherence.adherence(story.schedule, days, today - timedelta(days=7 * weeks), 7)
        for weeks in range(7, -1, -1)
    ]
    latest = sorted(story.logged, key=lambda log: log.performed_at, reverse=True)
    pain = next((log.pain for log in latest if log.pain is not None), None)
    open_alerts = db.exec(
        select(Alert.severity).where(
            Alert.patient_id == story.patient.id, Alert.acknowledged_at.is_(None)
        )
    ).all()
    pending = db.exec(
        select(ProgressionSuggestion.id).where(
            ProgressionSuggestion.patient_id == story.patient.id,
            ProgressionSuggestion.status == "pending",
        )
    ).all()
    return {
        "computed_for": today,
        "adherence_7": summary.adherence_7,
        "adherence_30": summary.adherence_30,
        "adherence_all": summary.adherence_since_start,
        "inactive": summary.inactive,
        "sparkline": [round(score, 4) for score in weekly if score is not None],
        "last_session_at": latest[0].performed_at if latest else None,
        "last_pain": pain,
        "worsening": pain is not None and story.baseline is not None and pain >= story.baseline + 2,
        "open_alerts": len(open_alerts),
        "urgent_alerts": sum(1 for severity in open_alerts if severity == "immediate"),
        "pending_suggestions": len(pending),
    }


def stored(db, patient_id: int) -> dict:
    db.expire_all()
    rollup = db.get(PatientRollup, patient_id)
    return {
        "computed_for": rollup.computed_for,
        "adherence_7": rollup.adherence_7,
        "adherence_30": rollup.adherence_30,
        "adherence_all": rollup.adherence_all,
        "inactive": rollup.inactive,
        "sparkline": rollup.sparkline,
        "last_session_at": rollup.last_session_at,
        "last_pain": rollup.last_pain,
        "worsening": rollup.worsening,
        "open_alerts": rollup.open_alerts,
        "urgent_alerts": rollup.urgent_alerts,
        "pending_suggestions": rollup.pending_suggestions,
    }


ZONES = (
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Pacific/Auckland",
    "Asia/Kolkata",
)


def test_rollup_equals_recomputation_with_the_rules_and_after_the_day_rolls_over(clinic, db):
    now = datetime.now(UTC)
    rng = random.Random(20261124)
    stories = [random_story(clinic, rng, zone, now) for zone in ZONES]
    assert sum(len(s.logged) for s in stories) > 100

    # As the last log left it (computed at that log's time), then the scheduler's refresh.
    for story in stories:
        last = max(log.performed_at for log in story.logged) + timedelta(minutes=3)
        assert stored(db, story.patient.id) == recomputed(story, db, last)
    refresh_stale(db, now)
    db.commit()
    for story in stories:
        assert stored(db, story.patient.id) == recomputed(story, db, now), story.patient.name

    # The next day every patient is stale once, and the figures move with the window.
    tomorrow = now + timedelta(days=1)
    assert refresh_stale(db, tomorrow) == len(stories)
    assert refresh_stale(db, tomorrow) == 0
    db.commit()
    for story in stories:
        assert stored(db, story.patient.id) == recomputed(story, db, tomorrow), story.patient.name


# --- The demo shows every state -------------------------------------------------------------


def test_demo_clinic_shows_every_state_on_the_caseload(app, client, db):
    from hep import demo

    with app.test_request_context():
        demo.seed(db, datetime.now(UTC))
    db.commit()
    client.post("/login", data={"login": demo.THERAPIST, "password": demo.DEMO_PASSWORD})
    html = client.get("/patients").get_data(as_text=True)
    for band, word in (("green", "Good"), ("amber", "Fair"), ("red", "Low")):
        assert f'tag tag-{band}">{word}<' in html, band
    for need in ("urgent alert", "Below 80 %", "Inactive<", "Pain up 2+", "To review"):
        assert need in html, need
    names = caseload_names(html)
    assert names[0] in ("Harold Jenkins", "Lucia Romero")  # the red flag and the pain of 7
    pending = db.exec(
        select(User.name, ProgressionSuggestion.decision)
        .join(User, User.id == ProgressionSuggestion.patient_id)
        .where(ProgressionSuggestion.status == "pending")
    ).all()
    assert ("Rosa Martinez", "advance") in pending and ("Grace Kim", "advance") in pending
