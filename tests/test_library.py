"""The exercise library: search and filters, exercise pages, clinic exercises and their media,
program templates, and that no clinic sees another's."""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from pathlib import Path

import pytest
from flask import render_template
from markupsafe import escape
from sqlalchemy import event, func
from sqlmodel import select

from hep.content.loader import load_catalogue
from hep.library import media as media_files
from hep.library import service
from hep.library.schemas import LibraryQuery
from hep.models import Exercise, ExerciseMedia, Program, ProgramItem, ProgramTemplate
from hep.rules.safety import ACCEPTABLE_MAX, CONTRAINDICATIONS, SORENESS_ADVICE
from hep.timeutil import utcnow
from tests.conftest import PASSWORD

# A 1x1 PNG, and the first bytes of an MP4 and a WebM file.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 4
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm" + bytes(64)
RESULT_LINK = re.compile(r'exercise-card-title"><a href="/library/exercises/(\d+)"')


@cache
def catalogue():
    return load_catalogue()


@pytest.fixture
def library(db):
    """The real shipped catalogue, synced into the test database."""
    service.sync_catalogue(db, utcnow(), catalogue())
    db.commit()
    return {e.slug: e for e in db.exec(select(Exercise)).all()}


@pytest.fixture
def clinics(people):
    a = people.clinic_with_patient("Clinic A", "a@example.com")
    b = people.clinic_with_patient("Clinic B", "b@example.com")
    return a, b


def login(app, user):
    client = app.test_client()
    response = client.post("/login", data={"login": user.login, "password": PASSWORD})
    assert response.status_code == 302
    return client


def found_ids(html: str) -> list[int]:
    return [int(i) for i in RESULT_LINK.findall(html)]


def all_results(db, clinic_id: int, **params) -> set[str]:
    """Every slug the search finds, across all pages."""
    slugs: set[str] = set()
    page = 1
    while True:
        result = service.search_exercises(db, clinic_id, LibraryQuery(page=page, **params))
        slugs |= {e.slug for e in result.exercises}
        if result.page >= result.pages:
            return slugs
        page += 1


def exercise_form(**changes) -> dict:
    data = {
        "name": "Sit to stand from our low chair",
        "summary": "Stand up from the clinic's low chair without using your hands.",
        "category": "functional",
        "cpt_code": "97530",
        "body_region": "knee",
        "position": "sitting",
        "equipment": ["chair"],
        "steps": "Sit near the front of the chair.\nLean forward.\nStand up slowly.",
        "cues": "Nose over toes.",
        "mistakes": "Pushing with your hands.",
        "precautions": "Have a counter in front of you.",
        "contraindications": ["significant_pain_or_instability"],
        "dosage_kind": "timed",
        "amount": "60",
        "sets": "2",
        "rest_seconds": "30",
        "per_day": "1",
        "days_per_week": "5",
        "ceiling_reps": "15",
    }
    data.update(changes)
    return data


def assign(db, patient, exercise_id: int) -> None:
    program = Program(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        created_by_id=patient.id,
        title="Home program",
        days=["mon"],
        start_date=date(2026, 11, 2),
    )
    db.add(program)
    db.flush()
    db.add(ProgramItem(program_id=program.id, exercise_id=exercise_id))
    db.commit()


def media_row(db, exercise, clinic_id: int, content_type: str, storage_name: str):
    """A media row written straight to the database (no file behind it)."""
    row = ExerciseMedia(
        exercise_id=exercise.id,
        clinic_id=clinic_id,
        kind=content_type.split("/")[0],
        content_type=content_type,
        storage_name=storage_name,
        size_bytes=1,
    )
    db.add(row)
    db.commit()
    return row


# --- Search and filters -------------------------------------------------------------------------


def test_every_filter_value_returns_exactly_the_matching_exercises(db, library, clinics):
    a, _b = clinics
    shipped = catalogue().exercises
    checks = {
        "category": lambda e, v: e.category == v,
        "region": lambda e, v: e.body_region == v,
        "position": lambda e, v: e.position == v,
        "cpt": lambda e, v: e.cpt_code == v,
        "equipment": lambda e, v: v in e.equipment,
    }
    values = {
        "category": {e.category for e in shipped},
        "region": {e.body_region for e in shipped},
        "position": {e.position for e in shipped},
        "cpt": {e.cpt_code for e in shipped},
        "equipment": {item for e in shipped for item in e.equipment},
    }
    for name, matches in checks.items():
        for value in values[name]:
            expected = {e.slug for e in shipped if matches(e, value)}
            assert expected, (name, value)
            assert all_results(db, a.therapist.clinic_id, **{name: value}) == expected, (
                name,
                value,
            )


def test_filters_combine_with_words(db, library, clinics):
    a, _b = clinics
    expected = {
        e.slug
        for e in library.values()
        if e.body_region == "knee" and "towel" in e.equipment and "slide" in e.search_text
    }
    found = all_results(db, a.therapist.clinic_id, q="Slide", region="knee", equipment="towel")
    assert expected and found == expected
    assert all_results(db, a.therapist.clinic_id, region="knee", equipment="towel") > found


def test_search_words_must_all_match(db, library, clinics):
    a, _b = clinics
    found = all_results(db, a.therapist.clinic_id, q="heel raise")
    assert found
    for slug in found:
        text = library[slug].search_text
        assert "heel" in text and "raise" in text
    assert all_results(db, a.therapist.clinic_id, q="zzzz-no-such-word") == set()


def test_search_page_answers_htmx_with_the_results_alone(app, library, clinics):
    a, _b = clinics
    client = login(app, a.therapist)
    response = client.get("/library?q=wall&region=shoulder", headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html and 'hx-swap-oob="true"' in html
    assert "HX-Request" in response.headers["Vary"]
    ids = found_ids(html)
    assert ids and all(
        e.body_region == "shoulder" and "wall" in e.search_text
        for e in library.values()
        if e.id in ids
    )


def test_filters_work_as_a_plain_get_and_stay_selected(app, library, clinics):
    a, _b = clinics
    client = login(app, a.therapist)
    response = client.get("/library?category=balance&cpt=97530&position=standing")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in html
    assert '<option value="balance" selected>' in html
    assert '<option value="standing" selected>' in html
    expected = {
        e.id
        for e in library.values()
        if (e.category, e.cpt_code, e.position) == ("balance", "97530", "standing")
    }
    assert set(found_ids(html)) == expected


def test_a_tampered_filter_is_a_422_with_a_message(app, library, clinics):
    a, _b = clinics
    client = login(app, a.therapist)
    response = client.get("/library?category=juggling")
    assert response.status_code == 422
    assert "Choose type from the list" in response.get_data(as_text=True)


def test_pages_through_a_long_result(app, library, clinics):
    a, _b = clinics
    client = login(app, a.therapist)
    first = found_ids(client.get("/library").get_data(as_text=True))
    second_html = client.get("/library?page=2").get_data(as_text=True)
    second = found_ids(second_html)
    assert len(first) == service.PAGE_SIZE and second and not set(first) & set(second)
    assert "Previous page" in second_html


def count_queries(app, client, url: str, headers: dict) -> int:
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    engine = app.extensions["hep.engine"]
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.get(url, headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200
    return len(statements)


def test_search_query_count_does_not_grow_with_the_catalogue(app, db, library, clinics):
    a, _b = clinics
    client = login(app, a.therapist)
    url = "/library?q=stand&category=functional"
    htmx = {"HX-Request": "true"}
    client.get(url, headers=htmx)  # warm up whatever a first request loads once
    before = count_queries(app, client, url, htmx)
    for n in range(300):
        db.add(
            Exercise(
                clinic_id=a.therapist.clinic_id,
                slug=f"extra-{n}",
                name=f"Extra stand {n}",
                category="functional",
                cpt_code="97530",
                body_region="knee",
                position="standing",
                search_text=f"extra stand {n} functional",
            )
        )
    db.commit()
    after = count_queries(app, client, url, htmx)
    assert after == before <= 5
    assert count_queries(app, client, "/library", {}) <= 5


# --- The exercise page ----------------------------------------------------------------------------


def test_exercise_page_shows_everything_and_its_ladder(app, library, clinics):
    a, _b = clinics
    client = login(app, a.therapist)
    data = next(e for e in catalogue().exercises if e.regression and e.progression)
    row = library[data.slug]
    html = client.get(f"/library/exercises/{row.id}").get_data(as_text=True)
    for text in (*data.steps, *data.cues, *data.mistakes, *data.precautions):
        assert str(escape(text)) in html
    for tag in data.contraindications:
        assert CONTRAINDICATIONS[tag] in html
    assert data.cpt_code in html
    assert f"rest {data.dosage.rest_seconds} seconds" in html
    for slug in (data.regression, data.progression):
        assert f'href="/library/exercises/{library[slug].id}"' in html
    ladder = catalogue().ladder(data.slug)
    start = html.index("Easier and harder versions")
    positions = [html.index(str(escape(e.name)), start) for e in ladder]
    assert positions == sorted(positions), "the ladder runs easiest first"


def test_patient_partial_renders_steps_tips_avoid_and_media(app, db, library, clinics):
    a, _b = clinics
    exercise = next(iter(library.values()))
    video = media_row(db, exercise, a.therapist.clinic_id, "video/mp4", "x.mp4")
    with app.test_request_context():
        html = render_template("library/_exercise_steps.html", exercise=exercise, media=[video])
    assert html.count("<li>") >= len(exercise.steps) and "<ol" in html
    assert "Tips" in html and "Avoid" in html
    assert '<video controls playsinline preload="metadata"' in html
    assert "<script" not in html and "style=" not in html and "<html" not in html


def test_soreness_partial_tells_patients_what_is_normal_from_the_rules(app):
    with app.test_request_context():
        html = render_template("library/_soreness.html", heading_level=3)
    assert "<h3" in html and "<html" not in html
    for advice in SORENESS_ADVICE.values():
        assert str(escape(advice)) in html
    assert f"may reach {ACCEPTABLE_MAX} out of 10" in html


def test_history_restore_gets_the_whole_page(app, library, clinics):
    a, _b = clinics
    client = login(app, a.therapist)
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    html = client.get("/library?q=knee", headers=headers).get_data(as_text=True)
    assert "<html" in html and html.count('id="result-count"') == 1


# --- Clinic exercises -----------------------------------------------------------------------------


def test_therapist_adds_a_clinic_exercise_only_their_clinic_sees(app, db, library, clinics):
    a, b = clinics
    client = login(app, a.therapist)
    response = client.post("/library/exercises/new", data=exercise_form())
    assert response.status_code == 302
    row = db.exec(select(Exercise).where(Exercise.clinic_id == a.therapist.clinic_id)).one()
    assert row.steps == [
        "Sit near the front of the chair.",
        "Lean forward.",
        "Stand up slowly.",
    ]
    assert (row.dosage_kind, row.duration_seconds, row.reps) == ("timed", 60, None)
    assert row.contraindications == ["significant_pain_or_instability"]
    assert row.id in found_ids(client.get("/library?q=low+chair").get_data(as_text=True))
    assert client.get(f"/library/exercises/{row.id}").status_code == 200

    other = login(app, b.therapist)
    assert row.id not in found_ids(other.get("/library?q=low+chair").get_data(as_text=True))
    assert row.slug not in all_results(db, b.therapist.clinic_id, q="chair")
    for url in (
        f"/library/exercises/{row.id}",
        f"/library/exercises/{row.id}/edit",
        f"/library/exercises/{row.id}/media",
    ):
        assert other.get(url).status_code == 404
    assert other.post(f"/library/exercises/{row.id}/edit", data=exercise_form()).status_code == 404
    assert other.post(f"/library/exercises/{row.id}/archive").status_code == 404
    db.refresh(row)
    assert row.archived_at is None and row.name == "Sit to stand from our low chair"


def test_bad_exercise_input_is_422_with_messages_values_kept_nothing_written(
    app, db, library, clinics
):
    a, _b = clinics
    client = login(app, a.therapist)
    bad = exercise_form(
        name="",
        category="juggling",
        dosage_kind="reps",
        amount="45",
        equipment=["none", "chair"],
        steps="",
        summary="A tidy summary the therapist typed.",
    )
    response = client.post("/library/exercises/new", data=bad)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "There is a problem" in html
    assert "Enter name" in html
    assert "Choose type of exercise from the list" in html
    assert "Reps must be from 1 to 30" in html
    assert "No equipment" in html and "on its own" in html
    assert "Enter steps" in html or "Steps" in html
    assert 'value="A tidy summary the therapist typed."' in html
    count = db.exec(
        select(func.count()).select_from(Exercise).where(Exercise.clinic_id.is_not(None))
    ).one()
    assert count == 0


def test_library_exercises_cannot_be_edited_or_archived(app, library, clinics):
    a, _b = clinics
    client = login(app, a.therapist)
    some = next(iter(library.values()))
    assert client.get(f"/library/exercises/{some.id}/edit").status_code == 404
    assert client.post(f"/library/exercises/{some.id}/archive").status_code == 404


def test_archived_exercise_leaves_search_and_can_come_back(app, db, library, clinics):
    a, _b = clinics
    client = login(app, a.therapist)
    client.post("/library/exercises/new", data=exercise_form())
    row = db.exec(select(Exercise).where(Exercise.clinic_id == a.therapist.clinic_id)).one()
    edit = client.get(f"/library/exercises/{row.id}/edit").get_data(as_text=True)
    assert "Sit near the front of the chair.\nLean forward." in edit
    changed = exercise_form(name="Chair stand, clinic version")
    assert client.post(f"/library/exercises/{row.id}/edit", data=changed).status_code == 302
    assert client.post(f"/library/exercises/{row.id}/archive").status_code == 302
    assert row.id not in found_ids(client.get("/library?q=chair").get_data(as_text=True))
    archived = client.get("/library?source=archived").get_data(as_text=True)
    assert found_ids(archived) == [row.id] and "Chair stand, clinic version" in archived
    client.post(f"/library/exercises/{row.id}/archive", data={"archive": "0"})
    assert row.id in found_ids(client.get("/library?q=chair&source=clinic").get_data(as_text=True))


def test_clinic_exercise_sits_on_a_ladder_with_library_exercises(app, db, library, clinics):
    a, _b = clinics
    client = login(app, a.therapist)
    data = next(e for e in catalogue().exercises if e.progression and e.regression)
    easier, harder = library[data.slug], library[data.progression]
    form = exercise_form(regression_slug=easier.slug, progression_slug=harder.slug)
    assert client.post("/library/exercises/new", data=form).status_code == 302
    mine = db.exec(select(Exercise).where(Exercise.clinic_id == a.therapist.clinic_id)).one()
    page = client.get(f"/library/exercises/{mine.id}").get_data(as_text=True)
    assert page.index(easier.name) < page.index(mine.name, page.index("Easier and harder"))
    assert f'href="/library/exercises/{harder.id}"' in page
    library_page = client.get(f"/library/exercises/{easier.id}").get_data(as_text=True)
    assert "clinic's versions" in library_page.replace("&#39;", "'")
    assert mine.name in library_page

    # A second clinic exercise above the first may not loop back below it.
    second = exercise_form(name="Even harder stand", regression_slug=mine.slug)
    assert client.post("/library/exercises/new", data=second).status_code == 302
    top = db.exec(select(Exercise).where(Exercise.name == "Even harder stand")).one()
    loop = exercise_form(regression_slug=top.slug, progression_slug=harder.slug)
    response = client.post(f"/library/exercises/{mine.id}/edit", data=loop)
    assert response.status_code == 422
    assert "go round in a circle" in response.get_data(as_text=True)
    itself = exercise_form(progression_slug=mine.slug)
    response = client.post(f"/library/exercises/{mine.id}/edit", data=itself)
    assert response.status_code == 422


# --- Media ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "content_type"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (PNG, "image/png"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (MP4, "video/mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ", "video/quicktime"),
        (WEBM, "video/webm"),
    ],
)
def test_sniffing_knows_each_accepted_type(head, content_type):
    assert media_files.sniff(head).content_type == content_type


@pytest.mark.parametrize(
    "head", [b"%PDF-1.7", b"<svg xmlns=", b"GIF89a", b"MZ\x90\x00", b"\x1a\x45\xdf\xa3matroska"]
)
def test_sniffing_refuses_everything_else(head):
    assert media_files.sniff(head) is None


def upload(client, exercise_id: int, content: bytes, filename: str, mimetype: str, caption=""):
    from io import BytesIO

    return client.post(
        f"/library/exercises/{exercise_id}/media",
        data={"file": (BytesIO(content), filename, mimetype), "caption": caption},
        content_type="multipart/form-data",
    )


def media_files_on_disk(app) -> list[Path]:
    folder = Path(app.instance_path) / "media"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_upload_stores_a_random_name_and_serves_only_the_right_people(app, db, library, clinics):
    a, b = clinics
    client = login(app, a.therapist)
    client.post("/library/exercises/new", data=exercise_form())
    mine = db.exec(select(Exercise).where(Exercise.clinic_id == a.therapist.clinic_id)).one()
    response = upload(client, mine.id, MP4, "IMG_0001.MOV", "video/quicktime", "Side view")
    assert response.status_code == 302
    media = db.exec(select(ExerciseMedia)).one()
    assert (media.kind, media.content_type, media.size_bytes) == ("video", "video/mp4", len(MP4))
    assert media.clinic_id == a.therapist.clinic_id
    [path] = media_files_on_disk(app)
    assert path.name == media.storage_name and "IMG_0001" not in path.name
    assert path.read_bytes() == MP4
    url = f"/library/media/{media.id}"

    own = client.get(url)
    assert own.status_code == 200 and own.mimetype == "video/mp4" and own.data == MP4
    assert own.headers["Accept-Ranges"] == "bytes"
    assert "private" in own.headers["Cache-Control"]
    page = client.get(f"/library/exercises/{mine.id}").get_data(as_text=True)
    assert f'src="{url}"' in page and "Side view" in page

    assert login(app, b.therapist).get(url).status_code == 404
    assert login(app, b.patient).get(url).status_code == 404
    patient = login(app, a.patient)
    assert patient.get(url).status_code == 404  # not on any of their programs yet
    assign(db, a.patient, mine.id)
    whole = patient.get(url)
    assert whole.status_code == 200 and whole.data == MP4
    part = patient.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.data == MP4[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(MP4)}"
    assert part.mimetype == "video/mp4"
    assert app.test_client().get(url).status_code in (302, 401)


def test_media_on_a_library_exercise_stays_with_the_clinic_that_added_it(app, db, library, clinics):
    a, b = clinics
    exercise = next(iter(library.values()))
    client = login(app, a.therapist)
    assert upload(client, exercise.id, PNG, "photo.png", "image/png").status_code == 302
    media = db.exec(select(ExerciseMedia)).one()
    assert client.get(f"/library/media/{media.id}").mimetype == "image/png"
    other = login(app, b.therapist)
    assert other.get(f"/library/media/{media.id}").status_code == 404
    assert f"/library/media/{media.id}" not in other.get(
        f"/library/exercises/{exercise.id}"
    ).get_data(as_text=True)
    assert other.post(f"/library/media/{media.id}/delete").status_code == 404
    assert client.post(f"/library/media/{media.id}/delete").status_code == 422  # not confirmed
    confirmed = client.post(f"/library/media/{media.id}/delete", data={"confirm": "yes"})
    assert confirmed.status_code == 302
    assert db.exec(select(ExerciseMedia)).all() == [] and media_files_on_disk(app) == []


def test_upload_refuses_a_file_that_is_not_a_photo_or_video(app, db, library, clinics):
    a, _b = clinics
    client = login(app, a.therapist)
    exercise = next(iter(library.values()))
    response = upload(client, exercise.id, b"#!/bin/sh\necho hi\n" * 10, "clip.mp4", "video/mp4")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "must be a photo (JPEG, PNG or WebP) or a video (MP4, MOV or WebM)" in html
    assert db.exec(select(ExerciseMedia)).all() == [] and media_files_on_disk(app) == []
    response = client.post(f"/library/exercises/{exercise.id}/media", data={"caption": "x"})
    assert response.status_code == 422
    assert "Choose a photo or video to upload" in response.get_data(as_text=True)


@pytest.fixture
def app_config(app_config):
    return {**app_config, "MEDIA_MAX_BYTES": 4096}


def test_upload_refuses_a_file_over_the_size_limit(app, db, library, clinics):
    a, _b = clinics
    client = login(app, a.therapist)
    exercise = next(iter(library.values()))
    big = MP4 + bytes(5000)
    response = upload(client, exercise.id, big, "clip.mp4", "video/mp4", caption="Too long")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The file is too big" in html and "0.00 MB" not in html
    assert 'value="Too long"' in html
    assert db.exec(select(ExerciseMedia)).all() == [] and media_files_on_disk(app) == []
    assert upload(client, exercise.id, WEBM, "ok.webm", "video/webm").status_code == 302


def test_a_media_row_without_its_file_is_a_404(app, db, library, clinics):
    a, _b = clinics
    exercise = next(iter(library.values()))
    row = media_row(db, exercise, a.therapist.clinic_id, "image/png", "gone.png")
    assert login(app, a.therapist).get(f"/library/media/{row.id}").status_code == 404


# --- Program templates ----------------------------------------------------------------------------


def template_form(**changes) -> dict:
    data = {
        "name": "Knee, our way",
        "condition": "Knee osteoarthritis",
        "description": "Our clinic's first-month knee program.",
        "days": ["mon", "wed", "fri"],
        "times_per_day": "1",
        "weeks": "4",
        "precautions": "Stop if the knee swells.",
    }
    data.update(changes)
    return data


def test_shipped_templates_are_listed_and_shown_with_their_exercises(app, db, library, clinics):
    a, _b = clinics
    client = login(app, a.therapist)
    html = client.get("/library/templates").get_data(as_text=True)
    for template in catalogue().templates:
        assert str(escape(template.name)) in html
    shipped = catalogue().templates[0]
    row = db.exec(select(ProgramTemplate).where(ProgramTemplate.slug == shipped.slug)).one()
    page = client.get(f"/library/templates/{row.id}").get_data(as_text=True)
    names = [library[item.exercise].name for item in shipped.items]
    positions = [page.index(str(escape(n))) for n in names]
    assert positions == sorted(positions)
    copy = client.get(f"/library/templates/new?copy={row.id}").get_data(as_text=True)
    assert "(our version)" in copy and f'value="{shipped.items[0].exercise}" selected' in copy


def test_clinic_saves_its_own_template_in_the_shared_shape(app, db, library, clinics):
    a, b = clinics
    client = login(app, a.therapist)
    hold = next(e for e in library.values() if e.dosage_kind == "hold")
    reps = next(e for e in library.values() if e.dosage_kind == "reps")
    form = template_form(
        **{
            "item-0-exercise": reps.slug,
            "item-0-sets": "3",
            "item-0-amount": "12",
            "item-2-exercise": hold.slug,
        }
    )
    response = client.post("/library/templates/new", data=form)
    assert response.status_code == 302
    row = db.exec(select(ProgramTemplate).where(ProgramTemplate.clinic_id.is_not(None))).one()
    assert row.clinic_id == a.therapist.clinic_id
    assert row.items == [{"exercise": reps.slug, "sets": 3, "reps": 12}, {"exercise": hold.slug}]
    assert (row.days, row.times_per_day, row.weeks) == (["mon", "wed", "fri"], 1, 4)
    assert row.precautions == ["Stop if the knee swells."]
    page = client.get(f"/library/templates/{row.id}").get_data(as_text=True)
    assert "3 sets of 12 reps" in page

    other = login(app, b.therapist)
    assert "Knee, our way" not in other.get("/library/templates").get_data(as_text=True)
    assert other.get(f"/library/templates/{row.id}").status_code == 404
    assert other.get(f"/library/templates/{row.id}/edit").status_code == 404
    assert other.get(f"/library/templates/new?copy={row.id}").status_code == 404
    assert other.post(f"/library/templates/{row.id}/edit", data=form).status_code == 404

    edit = dict(form, name="Knee, our way, v2", **{"item-0-amount": ""})
    assert client.post(f"/library/templates/{row.id}/edit", data=edit).status_code == 302
    db.refresh(row)
    assert row.name == "Knee, our way, v2" and row.items[0] == {"exercise": reps.slug, "sets": 3}


def test_bad_template_input_is_422_and_nothing_is_written(app, db, library, clinics):
    a, _b = clinics
    client = login(app, a.therapist)
    hold = next(e for e in library.values() if e.dosage_kind == "hold")
    response = client.post("/library/templates/new", data=template_form(name="", days=[]))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Choose at least one exercise" in html and "Enter name" in html
    assert 'value="Knee osteoarthritis"' in html
    bad = template_form(
        **{
            "item-0-exercise": hold.slug,
            "item-0-amount": "500",
            "item-1-exercise": "no-such-exercise",
            "item-2-sets": "many",
        }
    )
    html = client.post("/library/templates/new", data=bad).get_data(as_text=True)
    assert f"For {hold.name}, enter 5 to 120 seconds" in html
    assert "Choose an exercise from the list" in html
    assert "Sets must be a whole number" in html
    clinic_rows = select(ProgramTemplate).where(ProgramTemplate.clinic_id.is_not(None))
    assert db.exec(clinic_rows).all() == []


def test_resync_leaves_clinic_exercises_and_templates_alone(app, db, library, clinics):
    a, _b = clinics
    client = login(app, a.therapist)
    client.post("/library/exercises/new", data=exercise_form())
    counts = service.sync_catalogue(db, utcnow(), catalogue())
    db.commit()
    assert counts["changed"] == 0
    mine = db.exec(select(Exercise).where(Exercise.clinic_id == a.therapist.clinic_id)).one()
    assert mine.name == "Sit to stand from our low chair"
