"""The program builder: templates and scratch, items, dosage versions, screening, bad input."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, time, timedelta
from html.parser import HTMLParser
from uuid import UUID, uuid4

import pytest
from sqlmodel import Session, func, select

from hep.content.loader import load_catalogue
from hep.library.service import sync_catalogue
from hep.models import (
    AuditEvent,
    Exercise,
    Goal,
    Notification,
    PatientProfile,
    Program,
    ProgramItem,
    ProgramItemVersion,
    ProgramTemplate,
)
from hep.programs import service
from hep.programs.schemas import ICD10_RE, ProgramIn, validate_program
from hep.timeutil import utcnow

# --- Helpers --------------------------------------------------------------------------------


class _FormReader(HTMLParser):
    """What a browser would submit from one form: inputs, checked boxes, selects, textareas."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._select_value: str | None = None
        self._first_option: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = True
        if not self.inside and a.get("form") != self.form_id:
            return
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            if a.get("form") not in (None, self.form_id):
                return
            self.fields.append((name, a.get("value") or ""))
        elif tag == "select" and name:
            self._select, self._select_value, self._first_option = name, None, None
        elif tag == "option" and self._select:
            value = a.get("value") or ""
            if self._first_option is None:
                self._first_option = value
            if "selected" in a:
                self._select_value = value
        elif tag == "textarea" and name:
            self._textarea, self._text = name, ""

    def handle_data(self, data):
        if self._textarea:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "form" and self.inside:
            self.inside = False
        elif tag == "select" and self._select:
            self.fields.append((self._select, self._select_value or self._first_option or ""))
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.fields.append((self._textarea, self._text))
            self._textarea = None


def form_fields(html: str, form_id: str = "program-form") -> dict[str, str | list[str]]:
    reader = _FormReader(form_id)
    reader.feed(html)
    data: dict[str, str | list[str]] = {}
    for name, value in reader.fields:
        if name in data:
            current = data[name]
            data[name] = [*current, value] if isinstance(current, list) else [current, value]
        else:
            data[name] = value
    return data


def count(db: Session, model) -> int:
    db.expire_all()
    return db.exec(select(func.count()).select_from(model)).one()


def changes(db: Session) -> list[ProgramItemVersion]:
    """Versions that record a change (the first version of each item has no "before")."""
    db.expire_all()
    return [v for v in db.exec(select(ProgramItemVersion)).all() if v.before is not None]


def find_exercise(db: Session, kind: str = "reps", tag: str | None = None, avoid=()) -> Exercise:
    """A library exercise of this dosage kind, with (or, given avoid, without) a tag."""
    for exercise in db.exec(
        select(Exercise).where(Exercise.clinic_id.is_(None)).order_by(Exercise.id)
    ).all():
        if exercise.dosage_kind != kind:
            continue
        if tag is not None and tag not in exercise.contraindications:
            continue
        if any(t in exercise.contraindications for t in avoid):
            continue
        return exercise
    pytest.skip(f"the library has no {kind} exercise tagged {tag}")


def item_fields(index: int, exercise: Exercise, **override) -> dict[str, str]:
    measure = {"reps": "reps", "hold": "hold_seconds", "timed": "duration_seconds"}
    data = {
        f"items-{index}-exercise_id": str(exercise.id),
        f"items-{index}-sets": str(exercise.sets),
        f"items-{index}-{measure[exercise.dosage_kind]}": str(
            getattr(exercise, measure[exercise.dosage_kind])
        ),
        f"items-{index}-rest_seconds": str(exercise.rest_seconds),
        f"items-{index}-side": "both",
    }
    data.update({f"items-{index}-{k}": v for k, v in override.items()})
    return data


def program_fields(**override) -> dict:
    data = {
        "title": "Knee plan",
        "days": ["mon", "wed", "fri"],
        "times_per_day": "1",
        "start_date": "2026-11-02",
        "end_date": "2026-12-14",
        "reminder_time": "08:30",
        "diagnosis": "Knee osteoarthritis",
        "icd10": "",
        "precautions": "Stop if the knee swells.",
        "goals-0-text": "Climb 12 stairs without stopping",
        "goals-0-target_date": "2026-12-01",
    }
    data.update(override)
    return data


@pytest.fixture
def library(app, db: Session) -> None:
    with app.app_context():
        sync_catalogue(db, utcnow(), load_catalogue())
    db.commit()


@pytest.fixture
def clinic(people, library):
    return people.clinic_with_patient()


@pytest.fixture
def signed_in(clinic, auth):
    auth.login(clinic.therapist)
    return clinic


def new_url(patient) -> str:
    return f"/patients/{patient.id}/programs/new"


# --- From a template ------------------------------------------------------------------------


def test_therapist_builds_a_program_from_a_template(client, db, signed_in):
    patient = signed_in.patient
    template = db.exec(select(ProgramTemplate).order_by(ProgramTemplate.id)).first()

    chooser = client.get(new_url(patient))
    assert chooser.status_code == 200
    assert template.name in chooser.text
    assert "Start an empty program" in chooser.text

    page = client.get(f"{new_url(patient)}?template={template.id}")
    assert page.status_code == 200
    fields = form_fields(page.text)
    assert fields["title"] == template.name
    assert sorted(fields["days"]) == sorted(template.days)
    assert len([k for k in fields if k.endswith("-exercise_id")]) == len(template.items)

    response = client.post(new_url(patient), data=fields)
    assert response.status_code == 302, response.text
    program = db.exec(select(Program)).one()
    assert response.headers["Location"] == f"/programs/{program.id}"
    assert program.template_id is None  # saved through the builder, as adjusted
    assert program.title == template.name
    items = db.exec(
        select(ProgramItem).where(ProgramItem.program_id == program.id).order_by("position")
    ).all()
    slugs = [db.get(Exercise, item.exercise_id).slug for item in items]
    assert slugs == [entry["exercise"] for entry in template.items]
    versions = db.exec(select(ProgramItemVersion)).all()
    assert len(versions) == len(items)
    assert all(v.before is None and v.changed_by_id == signed_in.therapist.id for v in versions)
    assert count(db, Notification) == 0  # a new program is not an "update"
    shown = client.get(f"/programs/{program.id}")
    assert shown.status_code == 200
    assert all(db.get(Exercise, i.exercise_id).name in shown.text for i in items)


def test_create_program_from_template_merges_exercise_defaults_and_overrides(app, db, clinic):
    quad = find_exercise(db, "reps", avoid=("severe_osteoporosis",))
    hold = find_exercise(db, "hold", avoid=("severe_osteoporosis",))
    template = ProgramTemplate(
        slug="test-template",
        name="Test template",
        condition="Testing",
        days=["tue", "thu"],
        times_per_day=2,
        weeks=4,
        precautions=["Go slowly."],
        items=[
            {"exercise": quad.slug, "sets": 3, "reps": 12, "load": "red band"},
            {"exercise": hold.slug},
        ],
    )
    db.add(template)
    db.commit()
    now = utcnow()
    with app.test_request_context():
        program = service.create_program_from_template(
            db, now, clinic.therapist, clinic.patient, template, date(2026, 11, 3), time(9, 0)
        )
        db.commit()
    assert (program.days, program.times_per_day, program.status) == (["tue", "thu"], 2, "active")
    assert program.end_date == date(2026, 11, 30)
    assert program.reminder_time == time(9, 0)
    assert program.template_id == template.id
    first, second = db.exec(
        select(ProgramItem).where(ProgramItem.program_id == program.id).order_by("position")
    ).all()
    assert (first.sets, first.reps, first.load_text, first.dosage_kind) == (
        3,
        12,
        "red band",
        "reps",
    )
    assert first.hold_seconds is None and first.duration_seconds is None
    assert (second.sets, second.hold_seconds, second.reps) == (hold.sets, hold.hold_seconds, None)
    versions = db.exec(select(ProgramItemVersion).order_by(ProgramItemVersion.id)).all()
    assert [v.item_id for v in versions] == [first.id, second.id]
    assert versions[0].before is None and versions[0].after["reps"] == 12


def test_template_with_a_contraindicated_exercise_needs_a_reason(app, db, people, library):
    therapist = people.clinic()
    patient = people.patient(therapist, conditions=["severe_osteoporosis"])
    risky = find_exercise(db, "reps", tag="severe_osteoporosis")
    template = ProgramTemplate(
        slug="risky", name="Risky", days=["mon"], items=[{"exercise": risky.slug}]
    )
    db.add(template)
    db.commit()
    with app.test_request_context():
        with pytest.raises(service.ProgramInputError):
            service.create_program_from_template(
                db, utcnow(), therapist, patient, template, date(2026, 11, 2)
            )
        db.rollback()
        assert count(db, Program) == 0
        program = service.create_program_from_template(
            db,
            utcnow(),
            therapist,
            patient,
            template,
            date(2026, 11, 2),
            override_reason="Bone density reviewed by the surgeon.",
        )
        db.commit()
    item = db.exec(select(ProgramItem).where(ProgramItem.program_id == program.id)).one()
    assert item.contraindication_override == "Bone density reviewed by the surgeon."


# --- From nothing -----------------------------------------------------------------------------


def test_scratch_program_add_reorder_remove_without_leaving_the_page(client, db, signed_in):
    patient = signed_in.patient
    page = client.get(f"{new_url(patient)}?start=blank")
    assert page.status_code == 200
    assert "No exercises yet" in page.text

    exercises = [
        e
        for e in db.exec(select(Exercise).where(Exercise.clinic_id.is_(None))).all()
        if not e.contraindications
    ][:3]
    first, second, third = exercises

    found = client.get(
        f"/patients/{patient.id}/programs/exercises",
        query_string={"q": first.name.split()[0]},
        headers={"HX-Request": "true"},
    )
    assert found.status_code == 200
    assert first.name in found.text and f'name="add" value="{first.id}"' in found.text

    htmx = {"HX-Request": "true"}
    items_url = f"/patients/{patient.id}/programs/new/items"
    state = program_fields()
    for exercise in (first, second, third):
        response = client.post(items_url, data={**state, "add": str(exercise.id)}, headers=htmx)
        assert response.status_code == 200
        assert response.text.lstrip().startswith('<div id="items"')  # the partial alone
        assert f"Added {exercise.name}" in response.text
        state = {**program_fields(), **form_fields(f'<form id="program-form">{response.text}')}
    assert count(db, Program) == 0  # nothing is written while building

    # Changed dosage survives later operations.
    state["items-0-sets"] = "3"
    response = client.post(items_url, data={**state, "move": "0:down"}, headers=htmx)
    state = {**program_fields(), **form_fields(f'<form id="program-form">{response.text}')}
    assert state["items-0-exercise_id"] == str(second.id)
    assert state["items-1-exercise_id"] == str(first.id)
    assert state["items-1-sets"] == "3"
    response = client.post(items_url, data={**state, "move": "2:up"}, headers=htmx)
    state = {**program_fields(), **form_fields(f'<form id="program-form">{response.text}')}
    assert [state[f"items-{i}-exercise_id"] for i in range(3)] == [
        str(second.id),
        str(third.id),
        str(first.id),
    ]
    response = client.post(items_url, data={**state, "remove": "1"}, headers=htmx)
    state = {**program_fields(), **form_fields(f'<form id="program-form">{response.text}')}
    assert "items-2-exercise_id" not in state

    response = client.post(new_url(patient), data=state)
    assert response.status_code == 302, response.text
    program = db.exec(select(Program)).one()
    items = db.exec(
        select(ProgramItem).where(ProgramItem.program_id == program.id).order_by("position")
    ).all()
    assert [i.exercise_id for i in items] == [second.id, first.id]
    assert items[1].sets == 3
    assert program.reminder_time == time(8, 30)
    assert (program.start_date, program.end_date) == (date(2026, 11, 2), date(2026, 12, 14))
    goal = db.exec(select(Goal)).one()
    assert (goal.text, goal.target_date) == ("Climb 12 stairs without stopping", date(2026, 12, 1))
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "program.create")).one()


def test_without_htmx_the_buttons_post_the_whole_builder_page(client, db, signed_in):
    exercise = find_exercise(db, "reps", avoid=())
    response = client.post(
        f"/patients/{signed_in.patient.id}/programs/new/items",
        data={**program_fields(), "add": str(exercise.id)},
    )
    assert response.status_code == 200
    assert "<html" in response.text and exercise.name in response.text


def test_dosage_kind_decides_the_fields_and_load_can_be_words_or_a_weight(client, db, signed_in):
    reps = find_exercise(db, "reps", avoid=())
    hold = find_exercise(db, "hold", avoid=())
    data = {
        **program_fields(),
        **item_fields(0, reps, load_value="2.5", load_unit="kg", side="each", notes="Slowly"),
        **item_fields(1, hold, load_text="red band", side="left"),
        # A reps value on a hold exercise is dropped: the exercise decides the measure.
        "items-1-reps": "10",
    }
    response = client.post(new_url(signed_in.patient), data=data)
    assert response.status_code == 302, response.text
    first, second = db.exec(select(ProgramItem).order_by("position")).all()
    assert (first.load_value, first.load_unit, first.side, first.notes) == (
        2.5,
        "kg",
        "each",
        "Slowly",
    )
    assert (second.load_text, second.side, second.reps) == ("red band", "left", None)
    assert second.hold_seconds == hold.hold_seconds


# --- Saving once -----------------------------------------------------------------------------


def _blank_builder_fields(client, db, patient) -> dict:
    page = client.get(f"{new_url(patient)}?start=blank")
    fields = form_fields(page.text)
    UUID(fields["form_token"])  # a fresh one-time token in every builder form
    return {**fields, **program_fields(), **item_fields(0, find_exercise(db, "reps"))}


def test_saving_the_same_form_twice_makes_one_program_and_lands_on_it(client, db, signed_in):
    fields = _blank_builder_fields(client, db, signed_in.patient)
    first = client.post(new_url(signed_in.patient), data=fields)
    second = client.post(new_url(signed_in.patient), data=fields)
    assert first.status_code == second.status_code == 302, second.text
    assert first.headers["Location"] == second.headers["Location"]
    program = db.exec(select(Program)).one()
    assert first.headers["Location"] == f"/programs/{program.id}"
    assert program.form_token == UUID(fields["form_token"])
    assert count(db, ProgramItem) == 1 and count(db, Goal) == 1
    creates = db.exec(select(AuditEvent).where(AuditEvent.action == "program.create")).all()
    assert len(creates) == 1
    shown = client.get(second.headers["Location"])
    assert "This program was saved already." in shown.text


def test_each_builder_form_has_its_own_token_and_saves_its_own_program(client, db, signed_in):
    first = _blank_builder_fields(client, db, signed_in.patient)
    second = _blank_builder_fields(client, db, signed_in.patient)
    assert first["form_token"] != second["form_token"]
    one = client.post(new_url(signed_in.patient), data=first)
    other = client.post(new_url(signed_in.patient), data=second)
    assert one.status_code == other.status_code == 302
    assert one.headers["Location"] != other.headers["Location"]
    assert count(db, Program) == 2


def test_a_refused_form_keeps_its_token_until_it_is_saved(client, db, signed_in):
    fields = _blank_builder_fields(client, db, signed_in.patient)
    refused = client.post(new_url(signed_in.patient), data={**fields, "days": []})
    assert refused.status_code == 422
    assert form_fields(refused.text)["form_token"] == fields["form_token"]
    saved = client.post(new_url(signed_in.patient), data=fields)
    again = client.post(new_url(signed_in.patient), data=fields)
    assert saved.status_code == again.status_code == 302
    assert saved.headers["Location"] == again.headers["Location"]
    assert count(db, Program) == 1


def test_a_form_without_a_token_gets_one_back_when_refused(client, db, signed_in):
    refused = client.post(new_url(signed_in.patient), data=program_fields(days=[]))
    assert refused.status_code == 422
    UUID(form_fields(refused.text)["form_token"])
    assert count(db, Program) == 0


def test_the_edit_form_has_no_token(app, client, db, signed_in):
    program = _program_from_template(app, db, signed_in)
    assert "form_token" not in form_fields(client.get(f"/programs/{program.id}/edit").text)


def test_the_same_token_for_another_patient_is_another_program(client, db, people, signed_in):
    other = people.patient(signed_in.therapist, name="Other", email="other@example.com")
    fields = _blank_builder_fields(client, db, signed_in.patient)
    assert client.post(new_url(signed_in.patient), data=fields).status_code == 302
    assert client.post(new_url(other), data=fields).status_code == 302
    assert {p.patient_id for p in db.exec(select(Program)).all()} == {
        signed_in.patient.id,
        other.id,
    }


def _program_in(db, token) -> ProgramIn:
    exercise = find_exercise(db, "reps")
    return ProgramIn(
        title="Knee plan",
        days=["mon"],
        start_date=date(2026, 11, 2),
        items=[{"exercise_id": exercise.id, "sets": 2, "reps": 10}],
        form_token=token,
    )


def test_a_token_stored_by_another_request_is_caught_at_the_insert(app, db, clinic):
    """The look-up before writing missed it (it was not committed yet): the unique
    constraint stops the second program and the first one is answered."""
    data = _program_in(db, uuid4())
    now = utcnow()
    with app.test_request_context():
        first = service.create_program(db, now, clinic.therapist, clinic.patient, data)
        db.commit()
        with pytest.raises(service.ProgramAlreadySaved) as raised:
            service._write_program(db, now, clinic.therapist, clinic.patient, data, {})
    db.rollback()
    assert raised.value.program.id == first.id
    assert count(db, Program) == 1


def test_concurrent_saves_of_one_form_make_one_program(app, db, clinic):
    """Two requests with one form token at the same moment, each on its own connection."""
    engine = app.extensions["hep.engine"]
    data = _program_in(db, uuid4())
    db.commit()
    now = utcnow()
    barrier = threading.Barrier(2)

    def save(_n: int) -> tuple[int, bool]:
        with app.test_request_context(), Session(engine, expire_on_commit=False) as session:
            therapist = session.get(type(clinic.therapist), clinic.therapist.id)
            patient = session.get(type(clinic.patient), clinic.patient.id)
            barrier.wait(timeout=10)
            try:
                program = service.create_program(session, now, therapist, patient, data)
            except service.ProgramAlreadySaved as already:
                session.rollback()
                return already.program.id, False
            session.commit()
            return program.id, True

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(save, range(2), timeout=30))  # re-raises a thread's error
    assert sorted(created for _id, created in results) == [False, True]
    assert len({program_id for program_id, _created in results}) == 1
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Program)).one() == 1
        assert session.exec(select(func.count()).select_from(ProgramItem)).one() == 1


# --- Editing a live program -------------------------------------------------------------------


def _program_from_template(app, db, clinic) -> Program:
    template = db.exec(select(ProgramTemplate).order_by(ProgramTemplate.id)).first()
    with app.test_request_context():
        program = service.create_program_from_template(
            db, utcnow(), clinic.therapist, clinic.patient, template, date(2026, 11, 2)
        )
    db.commit()
    return program


def test_dosage_edit_creates_versions_and_tells_the_patient_once(app, client, db, signed_in):
    program = _program_from_template(app, db, signed_in)
    first, second = db.exec(
        select(ProgramItem).where(ProgramItem.program_id == program.id).order_by("position")
    ).all()[:2]
    edit_url = f"/programs/{program.id}/edit"
    fields = form_fields(client.get(edit_url).text)
    assert fields["items-0-item_id"] == str(first.id)
    sets, rest = first.sets, second.rest_seconds
    fields["items-0-sets"] = str(sets + 1)
    fields["items-1-rest_seconds"] = str(rest + 15)
    fields["change_reason"] = "Pain settled; ready for more."

    response = client.post(edit_url, data=fields)
    assert response.status_code == 302, response.text
    versions = changes(db)
    by_item = {v.item_id: v for v in versions}
    assert set(by_item) == {first.id, second.id}
    assert by_item[first.id].before["sets"] == sets
    assert by_item[first.id].after["sets"] == sets + 1
    assert by_item[second.id].before["rest_seconds"] == rest
    assert by_item[second.id].after["rest_seconds"] == rest + 15
    assert by_item[first.id].changed_by_id == signed_in.therapist.id
    assert by_item[first.id].reason == "Pain settled; ready for more."
    notes = db.exec(select(Notification)).all()
    assert len(notes) == 1
    note = notes[0]
    assert (note.user_id, note.kind, note.url) == (
        signed_in.patient.id,
        "program_updated",
        "/today",
    )
    assert note.title == "Your exercises were updated"
    assert program.diagnosis not in (note.title + note.body) or not program.diagnosis

    history = client.get(f"/programs/{program.id}")
    assert "Pain settled; ready for more." in history.text
    assert "First prescribed" in history.text

    # Saving the same form again changes nothing: no version, no notification.
    again = form_fields(client.get(edit_url).text)
    client.post(edit_url, data=again)
    assert count(db, Notification) == 1
    assert len(changes(db)) == 2


def test_schedule_change_tells_the_patient_and_details_alone_do_not(app, client, db, signed_in):
    program = _program_from_template(app, db, signed_in)
    edit_url = f"/programs/{program.id}/edit"
    fields = form_fields(client.get(edit_url).text)
    fields["diagnosis"] = "Left knee OA"
    client.post(edit_url, data=fields)
    assert count(db, Notification) == 0
    fields = form_fields(client.get(edit_url).text)
    fields["reminder_time"] = "18:00"
    client.post(edit_url, data=fields)
    assert count(db, Notification) == 1
    db.refresh(program)
    assert program.reminder_time == time(18, 0)


def test_removing_an_item_keeps_its_history(app, client, db, signed_in):
    program = _program_from_template(app, db, signed_in)
    items_url = f"/programs/{program.id}/edit/items"
    fields = form_fields(client.get(f"/programs/{program.id}/edit").text)
    removed_id = int(fields["items-0-item_id"])
    partial = client.post(items_url, data={**fields, "remove": "0"}, headers={"HX-Request": "true"})
    assert "Removed." in partial.text
    kept = {k: v for k, v in fields.items() if not k.startswith("items-")}
    kept.update(form_fields(f'<form id="program-form">{partial.text}'))
    assert client.post(f"/programs/{program.id}/edit", data=kept).status_code == 302
    removed = db.get(ProgramItem, removed_id)
    db.refresh(removed)
    assert removed.removed_at is not None
    assert db.exec(select(ProgramItemVersion).where(ProgramItemVersion.item_id == removed_id)).all()
    assert count(db, Notification) == 1


def test_new_active_program_can_end_the_previous_one(app, client, db, signed_in):
    old = _program_from_template(app, db, signed_in)
    exercise = find_exercise(db, "reps", avoid=())
    page = client.get(f"{new_url(signed_in.patient)}?start=blank")
    assert "End the current program when this one starts" in page.text
    data = {**program_fields(start_date="2026-12-01", end_date=""), **item_fields(0, exercise)}
    data["end_previous"] = "1"
    assert client.post(new_url(signed_in.patient), data=data).status_code == 302
    db.refresh(old)
    assert old.status == "ended"
    assert old.end_date == date(2026, 11, 30)
    assert client.get(f"/programs/{old.id}/edit").status_code == 302  # ended: read-only


def test_ending_a_program(app, client, db, signed_in):
    program = _program_from_template(app, db, signed_in)
    assert client.post(f"/programs/{program.id}/end").status_code == 302
    db.refresh(program)
    assert program.status == "ended"


# --- Contraindications and the size warning ----------------------------------------------------


def test_contraindicated_exercise_warns_and_needs_a_written_reason(
    client, db, people, library, auth
):
    therapist = people.clinic()
    patient = people.patient(therapist, conditions=["severe_osteoporosis"])
    auth.login(therapist)
    risky = find_exercise(db, "reps", tag="severe_osteoporosis")
    htmx = {"HX-Request": "true"}

    found = client.get(
        f"/patients/{patient.id}/programs/exercises", query_string={"q": risky.name}, headers=htmx
    )
    assert "Not advised" in found.text and "severe osteoporosis" in found.text
    assert "Add anyway" in found.text

    items_url = f"/patients/{patient.id}/programs/new/items"
    refused = client.post(items_url, data={**program_fields(), "add": str(risky.id)}, headers=htmx)
    assert "was not added" in refused.text
    assert "items-0-exercise_id" not in form_fields(f'<form id="program-form">{refused.text}')

    reason = "Cleared by her physician for light squats."
    added = client.post(
        items_url,
        data={**program_fields(), "add": str(risky.id), f"add_reason_{risky.id}": reason},
        headers=htmx,
    )
    state = form_fields(f'<form id="program-form">{added.text}')
    assert state["items-0-contraindication_override"] == reason
    assert "severe osteoporosis" in added.text

    # Emptying the reason before saving is refused, nothing written.
    state["items-0-contraindication_override"] = ""
    response = client.post(new_url(patient), data={**program_fields(), **state})
    assert response.status_code == 422
    assert "not advised with severe osteoporosis" in response.text
    assert count(db, Program) == 0 and count(db, ProgramItem) == 0

    state["items-0-contraindication_override"] = reason
    response = client.post(new_url(patient), data={**program_fields(), **state})
    assert response.status_code == 302
    item = db.exec(select(ProgramItem)).one()
    assert item.contraindication_override == reason
    assert reason in client.get(response.headers["Location"]).text


def test_more_than_six_exercises_shows_a_warning(client, db, signed_in):
    exercises = db.exec(
        select(Exercise).where(Exercise.clinic_id.is_(None)).order_by(Exercise.id)
    ).all()[:7]
    data = program_fields()
    for index, exercise in enumerate(exercises[:6]):
        data.update(item_fields(index, exercise))
    items_url = f"/patients/{signed_in.patient.id}/programs/new/items"
    six = client.post(items_url, data={**data, "move": "9:up"}, headers={"HX-Request": "true"})
    assert "6 or fewer" not in six.text
    seven = client.post(
        items_url, data={**data, "add": str(exercises[6].id)}, headers={"HX-Request": "true"}
    )
    assert "This program has 7 exercises" in seven.text and "6 or fewer" in seven.text
    data.update(item_fields(6, exercises[6]))
    response = client.post(new_url(signed_in.patient), data=data)
    assert response.status_code == 302
    assert "6 or fewer" in client.get(response.headers["Location"]).text


# --- Validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "stored"),
    [("m17.11", "M17.11"), ("S83.511A", "S83.511A"), ("M54", "M54"), ("c4a.9", "C4A.9")],
)
def test_icd10_codes_are_checked_and_upper_cased(code, stored):
    data, errors = validate_program(
        {"title": "x", "days": ["mon"], "start_date": "2026-11-02", "icd10": code}
    )
    assert errors == {} and data.icd10 == stored


@pytest.mark.parametrize("code", ["123", "U07.1", "M1", "M17.", "M17.12345", "MM7.1"])
def test_malformed_icd10_codes_are_refused(code):
    assert not ICD10_RE.match(code)
    _data, errors = validate_program(
        {"title": "x", "days": ["mon"], "start_date": "2026-11-02", "icd10": code}
    )
    assert "icd10" in errors


def test_bad_icd10_in_the_builder_is_a_422_with_values_kept(client, db, signed_in):
    exercise = find_exercise(db, "reps", avoid=())
    data = {**program_fields(icd10="knee"), **item_fields(0, exercise, sets="3")}
    response = client.post(new_url(signed_in.patient), data=data)
    assert response.status_code == 422
    assert "There is a problem" in response.text
    assert 'href="#icd10"' in response.text and "ICD-10 code like M17.11" in response.text
    kept = form_fields(response.text)
    assert kept["icd10"] == "knee" and kept["items-0-sets"] == "3" and kept["title"] == "Knee plan"
    assert count(db, Program) == 0


def test_end_date_must_be_after_start_date(client, db, signed_in):
    exercise = find_exercise(db, "reps", avoid=())
    data = {
        **program_fields(start_date="2026-11-02", end_date="2026-11-01"),
        **item_fields(0, exercise),
    }
    response = client.post(new_url(signed_in.patient), data=data)
    assert response.status_code == 422
    assert "The end date must be after the start date" in response.text
    assert count(db, Program) == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sets", "-1", "Sets must be 1 or more"),
        ("reps", "500", "Reps must be 100 or less"),
        ("sets", "three", "Sets must be a whole number"),
        ("rest_seconds", "-5", "Rest (seconds) must be 0 or more"),
        ("load_value", "-2", "Weight must be 0.1 or more"),
        ("side", "up", "Choose side from the list"),
    ],
)
def test_bad_dosage_is_refused_and_nothing_is_written(client, db, signed_in, field, value, message):
    exercise = find_exercise(db, "reps", avoid=())
    data = {**program_fields(), **item_fields(0, exercise, **{field: value, "load_unit": "kg"})}
    response = client.post(new_url(signed_in.patient), data=data)
    assert response.status_code == 422
    assert message in response.text, response.text
    assert f'href="#items-0-{field}"' in response.text
    assert count(db, Program) == 0 and count(db, ProgramItem) == 0 and count(db, Goal) == 0


def test_weight_needs_a_unit_and_not_words_too(client, db, signed_in):
    exercise = find_exercise(db, "reps", avoid=())
    data = {**program_fields(), **item_fields(0, exercise, load_value="5")}
    response = client.post(new_url(signed_in.patient), data=data)
    assert response.status_code == 422 and "Choose kg or lb" in response.text
    data = {
        **program_fields(),
        **item_fields(0, exercise, load_value="5", load_unit="lb", load_text="band"),
    }
    response = client.post(new_url(signed_in.patient), data=data)
    assert response.status_code == 422 and "not both" in response.text
    assert count(db, Program) == 0


def test_no_days_and_no_exercises_are_refused(client, db, signed_in):
    response = client.post(new_url(signed_in.patient), data=program_fields(days=[]))
    assert response.status_code == 422
    assert "Add at least one exercise" in response.text
    assert 'href="#days"' in response.text
    assert count(db, Program) == 0


def test_unknown_exercise_id_is_refused(client, db, signed_in):
    exercise = find_exercise(db, "reps", avoid=())
    data = {**program_fields(), **item_fields(0, exercise, exercise_id="999999")}
    response = client.post(new_url(signed_in.patient), data=data)
    assert response.status_code == 422
    assert count(db, Program) == 0


def test_another_clinics_exercise_is_refused(client, db, people, signed_in):
    other = people.clinic("Other Clinic", "other@example.com")
    theirs = Exercise(
        clinic_id=other.clinic_id,
        slug="their-own-squat",
        name="Their own squat",
        category="strength",
        cpt_code="97110",
        body_region="knee",
        position="standing",
        reps=10,
    )
    db.add(theirs)
    db.commit()
    data = {**program_fields(), **item_fields(0, theirs)}
    response = client.post(new_url(signed_in.patient), data=data)
    assert response.status_code == 422
    assert "not in your library" in response.text
    assert count(db, Program) == 0
    searched = client.get(
        f"/patients/{signed_in.patient.id}/programs/exercises", query_string={"q": "their own"}
    )
    assert "Their own squat" not in searched.text
    added = client.post(
        f"/patients/{signed_in.patient.id}/programs/new/items",
        data={**program_fields(), "add": str(theirs.id)},
        headers={"HX-Request": "true"},
    )
    assert "not in your library" in added.text and "items-0-exercise_id" not in added.text


def test_another_clinics_patient_is_a_404(client, db, people, signed_in):
    other = people.clinic("Other Clinic", "other@example.com")
    their_patient = people.patient(other, name="Not Yours", email="notyours@example.com")
    exercise = find_exercise(db, "reps", avoid=())
    data = {**program_fields(), **item_fields(0, exercise)}
    assert client.post(new_url(their_patient), data=data).status_code == 404
    assert client.get(new_url(their_patient)).status_code == 404
    assert count(db, Program) == 0


def test_an_item_of_another_program_cannot_be_edited_through_this_one(app, client, db, signed_in):
    mine = _program_from_template(app, db, signed_in)
    other = _program_from_template(app, db, signed_in)
    foreign = db.exec(select(ProgramItem).where(ProgramItem.program_id == other.id)).first()
    sets_before = foreign.sets
    fields = form_fields(client.get(f"/programs/{mine.id}/edit").text)
    fields["items-0-item_id"] = str(foreign.id)
    fields["items-0-exercise_id"] = str(foreign.exercise_id)
    fields["items-0-sets"] = str(sets_before + 1)
    response = client.post(f"/programs/{mine.id}/edit", data=fields)
    assert response.status_code == 422
    assert "not on this program" in response.text
    db.refresh(foreign)
    assert foreign.sets == sets_before
    assert count(db, Notification) == 0
    assert count(db, ProgramItemVersion) == 2 * len(
        db.exec(select(ProgramItem).where(ProgramItem.program_id == mine.id)).all()
    )


def test_search_for_another_patients_program_is_a_404(app, client, db, people, signed_in):
    program = _program_from_template(app, db, signed_in)
    other = people.patient(signed_in.therapist, name="Other Patient", email="o@example.com")
    url = f"/patients/{other.id}/programs/exercises"
    assert client.get(url, query_string={"q": "knee", "program": program.id}).status_code == 404
    mine = f"/patients/{signed_in.patient.id}/programs/exercises"
    found = client.get(mine, query_string={"q": "knee", "program": program.id})
    assert f"/programs/{program.id}/edit/items" in found.text


def test_patients_cannot_use_the_builder(app, client, db, clinic, auth):
    auth.login(clinic.patient)
    assert client.get(new_url(clinic.patient)).status_code == 403


# --- The handout and the patient page ------------------------------------------------------------


def test_handout_has_steps_dosage_and_a_qr_code_to_today(app, client, db, signed_in):
    program = _program_from_template(app, db, signed_in)
    item, exercise = None, None
    for item in db.exec(select(ProgramItem).where(ProgramItem.program_id == program.id)).all():
        exercise = db.get(Exercise, item.exercise_id)
        break
    page = client.get(f"/programs/{program.id}/handout")
    assert page.status_code == 200
    assert 'class="qr"' in page.text and "<svg" in page.text
    assert "http://localhost/today" in page.text
    assert exercise.steps[0] in page.text
    assert re.search(r"\d+ sets of \d+|\d+ times, hold", page.text)
    css = client.get("/static/css/app.css").text
    assert "@media print" in css and ".handout-exercise" in css


def test_the_handout_is_printed_in_the_patients_language(app, client, db, signed_in):
    program = _program_from_template(app, db, signed_in)
    patient = signed_in.patient
    patient.locale = "es"
    db.add(patient)
    db.commit()
    page = client.get(f"/programs/{program.id}/handout")
    assert page.status_code == 200
    assert '<html lang="es">' in page.text
    assert "Abra sus ejercicios en su teléfono" in page.text
    # The therapist's own pages stay in English.
    assert '<html lang="en">' in client.get(f"/programs/{program.id}").text


def test_patient_page_links_new_program_and_lists_programs(app, client, db, signed_in):
    program = _program_from_template(app, db, signed_in)
    page = client.get(f"/patients/{signed_in.patient.id}")
    assert f'href="/programs/{program.id}"' in page.text
    assert f'href="/patients/{signed_in.patient.id}/programs/new"' in page.text


def test_every_builder_step_is_audited(app, client, db, signed_in):
    program = _program_from_template(app, db, signed_in)
    client.get(f"/programs/{program.id}")
    client.get(f"/programs/{program.id}/handout")
    actions = {e.action for e in db.exec(select(AuditEvent)).all()}
    assert {"program.view", "program.handout"} <= actions


def test_profile_conditions_drive_screening(db, clinic):
    profile = db.get(PatientProfile, clinic.patient.id)
    assert service.patient_conditions(db, clinic.patient) == list(profile.conditions)


def test_end_previous_day_never_goes_before_the_old_start(app, db, clinic):
    old = _program_from_template(app, db, clinic)
    new = Program(
        clinic_id=old.clinic_id,
        patient_id=old.patient_id,
        created_by_id=old.created_by_id,
        title="New",
        days=["mon"],
        start_date=old.start_date - timedelta(days=3),
    )
    db.add(new)
    db.flush()
    service._end_other_programs(db, utcnow(), new)
    assert old.status == "ended" and old.end_date == old.start_date
