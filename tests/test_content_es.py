"""Spanish exercise text: the es/ files load through the real loader and match their English
files, a broken one is refused whole, `content sync` stores the words, and a Spanish patient
reads them (English where no Spanish exists)."""

from __future__ import annotations

import shutil
import tomllib
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from hep.content import loader
from hep.content.loader import LIBRARY_DIR, ContentError, load_catalogue
from hep.content.schema import TEXT_LISTS
from hep.content.text import exercise_text
from hep.library.service import sync_catalogue
from hep.models import Exercise, ProgramItem
from hep.timeutil import utcnow
from tests.conftest import PASSWORD
from tests.test_content import _edit, _problems
from tests.test_i18n import compile_catalogue
from tests.test_patient import make_program

SPANISH_DIR = LIBRARY_DIR / "es"
SPANISH_FILES = sorted(SPANISH_DIR.glob("exercises-*.toml"))
# Written by the author of this test, so the patient pages below can count on them.
SEEN_BY_THE_PATIENT = "seated-marching"


@pytest.fixture(autouse=True, scope="module")
def _compiled():
    compile_catalogue()


def _exercises(path: Path) -> list[dict]:
    with path.open("rb") as handle:
        return tomllib.load(handle)["exercise"]


# --- The shipped files ----------------------------------------------------------------------


@pytest.mark.parametrize("spanish", SPANISH_FILES, ids=lambda path: path.name)
def test_every_shipped_spanish_file_loads_and_matches_its_english_file(spanish):
    english = LIBRARY_DIR / spanish.name
    assert english.is_file(), f"es/{spanish.name} has no English file"
    assert spanish.read_text(encoding="utf-8").startswith(
        f"# Spanish text for ../{spanish.name}: same slugs, same order"
    )
    english_rows, spanish_rows = _exercises(english), _exercises(spanish)
    assert [row["slug"] for row in spanish_rows] == [row["slug"] for row in english_rows]
    for ours, theirs in zip(spanish_rows, english_rows, strict=True):
        assert set(ours) == {"slug", "name", "summary", *TEXT_LISTS}, ours["slug"]
        for field in TEXT_LISTS:
            assert len(ours[field]) == len(theirs[field]), (ours["slug"], field)
        assert ours["name"] != theirs["name"], f"{ours['slug']}: the name is still English"
    # Through the real loader: every sentence rule, and each one lands in the catalogue.
    translations = load_catalogue().translations["es"]
    for row in spanish_rows:
        assert translations[row["slug"]].name == row["name"]


def test_every_shipped_exercise_has_spanish_text():
    catalogue = load_catalogue()
    missing = [e.slug for e in catalogue.exercises if e.slug not in catalogue.translations["es"]]
    assert missing == [], f"{len(missing)} exercise(s) have no Spanish text: {missing}"


def test_spanish_sentences_may_open_with_an_inverted_mark():
    catalogue = load_catalogue()
    english = catalogue.exercise(SEEN_BY_THE_PATIENT)
    text = catalogue.translations["es"][SEEN_BY_THE_PATIENT]
    asked = text.model_copy(update={"cues": ["¿Puede hablar mientras marcha?", *text.cues[1:]]})
    assert type(text).model_validate(asked.model_dump()).cues[0].startswith("¿Puede")
    assert asked.mismatches(english) == {}


# --- A broken Spanish file is refused, with every problem at once ---------------------------


def test_a_copy_with_the_spanish_files_loads(library):
    assert load_catalogue(library).translations == load_catalogue().translations


def test_a_bad_spanish_file_is_refused_naming_every_problem(library):
    spanish = library / "es" / "exercises-endurance.toml"
    _edit(spanish, 'slug = "step-touch"', 'slug = "step-touch-x"')  # unknown slug
    _edit(spanish, '  "Lance el golpe con el otro brazo', '  "lance el golpe con el otro brazo')
    _edit(  # one cue too many
        spanish,
        '  "Siéntese derecho en lugar de echarse hacia atrás.",\n',
        '  "Siéntese derecho en lugar de echarse hacia atrás.",\n  "Respire con calma.",\n',
    )
    _edit(spanish, 'name = "Caminata diaria"', 'name = "Caminata diaria"\nnotes = "Extra."')
    _edit(spanish, 'name = "Caminata a paso rápido"\n', "")  # a missing key
    problems = _problems(library)
    assert "5 problem(s)" in problems
    assert (
        "es/exercises-endurance.toml: exercise #6 'step-touch-x', field 'slug': "
        "no exercise 'step-touch-x' in the library"
    ) in problems
    assert (
        "es/exercises-endurance.toml: exercise #5 'seated-arm-punches', field 'steps[2]': "
        "start with a capital letter"
    ) in problems
    assert (
        "es/exercises-endurance.toml: exercise #1 'seated-marching', field 'cues': "
        "has 3 item(s); the English exercise has 2"
    ) in problems
    assert (
        "exercise #3 'walking-program', field 'notes': Extra inputs are not permitted" in problems
    )
    assert "exercise #4 'brisk-walking', field 'name': Field required" in problems


def test_spanish_text_for_an_exercise_of_another_file_or_twice_is_refused(library):
    spanish = library / "es" / "exercises-endurance.toml"
    _edit(spanish, 'slug = "step-touch"', 'slug = "finger-to-nose"')
    _edit(spanish, 'slug = "brisk-walking"', 'slug = "walking-program"')
    problems = _problems(library)
    assert "'finger-to-nose' is in exercises-coordination.toml, not exercises-endurance.toml" in (
        problems
    )
    assert "exercise #4 'walking-program', field 'slug': translated more than once" in problems


def test_a_spanish_file_without_an_english_one_and_a_repeated_name_are_refused(library):
    shutil.copy(library / "es" / "exercises-endurance.toml", library / "es" / "exercises-x.toml")
    spanish = library / "es" / "exercises-coordination.toml"
    _edit(spanish, 'name = "Marcha cruzada"', 'name = "Dedo a la nariz"')
    _edit(spanish, '"Voltee las manos con la palma', '"Voltee las manos. Con la palma')
    problems = _problems(library)
    assert "es/exercises-x.toml: there is no English exercises-x.toml to translate" in problems
    assert "field 'name': 'Dedo a la nariz' is used twice" in problems
    assert "exercise #3 'hand-flips', field 'summary': the summary must be one sentence" in problems


def test_a_spanish_folder_may_be_incomplete(library):
    (library / "es" / "exercises-endurance.toml").unlink()
    translations = load_catalogue(library).translations["es"]
    assert SEEN_BY_THE_PATIENT not in translations
    assert "finger-to-nose" in translations
    shutil.rmtree(library / "es")
    assert load_catalogue(library).translations == {"es": {}}


def test_a_bad_spanish_file_stops_content_sync_before_anything_is_written(
    app, db, runner, library, monkeypatch
):
    _edit(library / "es" / "exercises-coordination.toml", 'slug = "hand-flips"', 'slug = "x-y"')
    monkeypatch.setattr(loader, "LIBRARY_DIR", library)
    result = runner.invoke(args=["content", "sync"])
    assert isinstance(result.exception, ContentError)
    assert "no exercise 'x-y' in the library" in str(result.exception)
    assert db.exec(select(Exercise)).all() == []


# --- content sync stores the words ----------------------------------------------------------


def test_sync_stores_the_spanish_words_and_a_second_sync_changes_nothing(app, db, people):
    catalogue = load_catalogue()
    clinic = people.clinic_with_patient()
    own = make_program(db, clinic.therapist, clinic.patient, date.today())[1][0]
    first = sync_catalogue(db, utcnow(), catalogue)
    db.commit()
    assert first["changed"] >= len(catalogue.exercises)
    row = db.exec(select(Exercise).where(Exercise.slug == SEEN_BY_THE_PATIENT)).one()
    spanish = catalogue.translations["es"][SEEN_BY_THE_PATIENT]
    assert row.translations == {
        "es": {
            "name": spanish.name,
            "summary": spanish.summary,
            "steps": list(spanish.steps),
            "cues": list(spanish.cues),
            "mistakes": list(spanish.mistakes),
            "precautions": list(spanish.precautions),
        }
    }
    assert row.name == "Seated marching"  # English stays in the columns (and in search)
    for exercise in catalogue.exercises:
        if exercise.slug not in catalogue.translations["es"]:
            stored = db.exec(select(Exercise).where(Exercise.slug == exercise.slug)).one()
            assert stored.translations == {}
    assert db.get(Exercise, own.exercise_id).translations == {}  # a clinic's own exercise

    again = sync_catalogue(db, utcnow(), load_catalogue())
    db.commit()
    assert again["changed"] == 0


def test_a_changed_spanish_text_is_synced(app, db, library):
    sync_catalogue(db, utcnow(), load_catalogue())
    db.commit()
    _edit(
        library / "es" / "exercises-endurance.toml",
        'name = "Marcha sentado"',
        'name = "Marcha en la silla"',
    )
    counts = sync_catalogue(db, utcnow(), load_catalogue(library))
    db.commit()
    assert counts["changed"] == 1
    row = db.exec(select(Exercise).where(Exercise.slug == SEEN_BY_THE_PATIENT)).one()
    assert row.translations["es"]["name"] == "Marcha en la silla"


# --- What the patient reads -----------------------------------------------------------------


def test_exercise_text_falls_back_to_english_field_by_field():
    row = Exercise(
        slug="x",
        name="Sit to stand",
        summary="Stand up from a chair.",
        category="strength",
        cpt_code="97110",
        body_region="knee",
        position="sitting",
        steps=["Sit tall.", "Stand up."],
        cues=["Breathe out."],
        translations={"es": {"name": "Pararse de la silla", "steps": ["Siéntese.", "Párese."]}},
    )
    spanish = exercise_text(row, "es")
    assert spanish.name == "Pararse de la silla" and spanish.steps == ["Siéntese.", "Párese."]
    assert spanish.summary == "Stand up from a chair." and spanish.cues == ["Breathe out."]
    assert exercise_text(row, "en").name == "Sit to stand"
    assert exercise_text(row, None).name == "Sit to stand"


@pytest.fixture
def program_with_spanish(app, db, people):
    """A program of a shipped exercise with Spanish text and a clinic's own (English only)."""
    sync_catalogue(db, utcnow(), load_catalogue())
    clinic = people.clinic_with_patient()
    program, items = make_program(
        db, clinic.therapist, clinic.patient, date.today() - timedelta(days=7)
    )
    shipped = db.exec(select(Exercise).where(Exercise.slug == SEEN_BY_THE_PATIENT)).one()
    items[0].exercise_id = shipped.id
    db.add(items[0])
    db.commit()
    own = db.get(Exercise, items[1].exercise_id)
    return clinic, program, shipped, own


def _login(app, user):
    client = app.test_client()
    response = client.post("/login", data={"login": user.login, "password": PASSWORD})
    assert response.status_code == 302
    return client


def _set_locale(db, user, locale: str) -> None:
    user.locale = locale
    db.add(user)
    db.commit()


def test_a_spanish_patient_reads_the_exercise_in_spanish(app, db, program_with_spanish):
    clinic, _program, shipped, own = program_with_spanish
    _set_locale(db, clinic.patient, "es")
    spanish = shipped.translations["es"]
    client = _login(app, clinic.patient)

    today = client.get("/today").get_data(as_text=True)
    assert spanish["name"] in today and shipped.name not in today
    assert own.name in today  # no Spanish for the clinic's own exercise: English

    session = client.get("/session").get_data(as_text=True)
    assert f">{spanish['name']}</h2>" in session
    for line in [*spanish["steps"], *spanish["cues"], *spanish["precautions"]]:
        assert line in session
    assert shipped.steps[0] not in session and shipped.name not in session
    assert own.name in session and own.steps[0] in session

    page = client.get(f"/exercises/{shipped.id}").get_data(as_text=True)
    assert f"<h1>{spanish['name']}</h1>" in page and spanish["summary"] in page
    for line in [*spanish["steps"], *spanish["mistakes"]]:
        assert line in page
    assert shipped.summary not in page and shipped.steps[0] not in page
    own_page = client.get(f"/exercises/{own.id}").get_data(as_text=True)
    assert f"<h1>{own.name}</h1>" in own_page and own.steps[0] in own_page


def test_an_english_patient_reads_the_exercise_in_english(app, db, program_with_spanish):
    clinic, _program, shipped, _own = program_with_spanish
    spanish = shipped.translations["es"]
    client = _login(app, clinic.patient)
    for url in ("/today", "/session", f"/exercises/{shipped.id}"):
        page = client.get(url).get_data(as_text=True)
        assert shipped.name in page and spanish["name"] not in page, url
    session = client.get("/session").get_data(as_text=True)
    assert shipped.steps[0] in session and spanish["steps"][0] not in session


def test_the_handout_of_a_spanish_patient_has_the_spanish_steps(app, db, program_with_spanish):
    clinic, program, shipped, own = program_with_spanish
    _set_locale(db, clinic.patient, "es")
    client = _login(app, clinic.therapist)
    page = client.get(f"/programs/{program.id}/handout").get_data(as_text=True)
    spanish = shipped.translations["es"]
    assert spanish["name"] in page and spanish["steps"][0] in page
    assert spanish["precautions"][0] in page
    assert shipped.steps[0] not in page
    assert own.name in page  # English where there is no Spanish
    items = db.exec(select(ProgramItem).where(ProgramItem.program_id == program.id)).all()
    assert len(items) == 2
