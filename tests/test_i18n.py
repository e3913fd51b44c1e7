"""Spanish (SPEC §3 L): the catalogue compiles and keeps every placeholder, the patient side is
wholly translated, and patients, visitors and reminders come up in the language chosen."""

from __future__ import annotations

import io
import re
from datetime import date, time, timedelta
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from sqlmodel import select

from hep.models import Program, User
from hep.notifications.service import notify
from hep.patient import service as patient_service
from hep.patient.schemas import EFFORT_WORDS, PAIN_WORDS, SKIP_REASONS
from hep.rules.safety import RED_FLAG_GUIDANCE, RED_FLAGS, SORENESS_ADVICE
from hep.timeutil import utcnow
from tests.conftest import PASSWORD
from tests.test_notifications import add_program, add_session, rows, run_enqueue, utc
from tests.test_patient import make_program, submission

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "hep" / "translations"
PO = TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")

# Where patient-facing text lives: all of it must be in Spanish (the therapist side may still
# fall back to English).
PATIENT_SOURCES = re.compile(
    r"^(templates/patient/|templates/offline\.html|templates/_offline_ui\.html"
    r"|templates/_install_hint\.html|templates/base\.html|templates/_forms\.html"
    r"|templates/accounts/(login|invite|account)|templates/notifications/(inbox|_inbox|settings)"
    r"|templates/errors/|hep/patient/|hep/notifications/|hep/forms\.py|hep/access\.py"
    r"|hep/errors\.py|hep/pwa\.py|hep/offline\.py)"
)
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|\{(\w*)\}|%[sdif]")


def _catalogue():
    with PO.open("rb") as f:
        return read_po(f, locale="es")


def compile_catalogue() -> None:
    """What `make install` does, for a test run started without it: .po → .mo when stale."""
    if not MO.exists() or MO.stat().st_mtime < PO.stat().st_mtime:
        with MO.open("wb") as f:
            write_mo(f, _catalogue())


@pytest.fixture(autouse=True, scope="module")
def _compiled():
    compile_catalogue()


def _placeholders(text: str) -> list[str]:
    return sorted(m.group(0) for m in PLACEHOLDER.finditer(text))


def _spanish(db, user: User) -> User:
    user.locale = "es"
    db.add(user)
    db.commit()
    return user


def _client(app, user: User):
    client = app.test_client()
    response = client.post("/login", data={"login": user.login, "password": PASSWORD})
    assert response.status_code == 302
    return client


# --- The catalogue ---------------------------------------------------------------------------


def test_the_catalogue_compiles_with_spanish_plurals():
    catalogue = _catalogue()
    assert catalogue.plural_forms == "nplurals=2; plural=(n != 1);"
    write_mo(io.BytesIO(), catalogue)  # raises on a broken catalogue
    problems = [(m.id, errors) for m, errors in catalogue.check() if errors]
    assert problems == []


def test_every_translation_keeps_the_placeholders_of_its_msgid():
    broken = []
    for message in _catalogue():
        if not message.id or not message.string or message.fuzzy:  # fuzzy: not compiled
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        # A plural form keeps the placeholders of the singular or of the plural msgid.
        wanted = [_placeholders(i) for i in ids]
        for string in strings:
            if string and _placeholders(string) not in wanted:
                broken.append((ids[0], string))
    assert broken == []


def test_everything_a_patient_reads_is_translated():
    untranslated = []
    for message in _catalogue():
        if not message.id or not any(PATIENT_SOURCES.match(f) for f, _line in message.locations):
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings) or message.fuzzy:
            untranslated.append(message.id)
    assert untranslated == []


def test_rules_and_schema_words_shown_through_variables_are_in_the_catalogue():
    """hep/translations/dynamic.py lists them for pybabel; this notices one added later."""
    catalogue = _catalogue()
    words = [
        *SORENESS_ADVICE.values(),
        *(flag.question for flag in RED_FLAGS),
        *RED_FLAG_GUIDANCE.values(),
        *SKIP_REASONS.values(),
        *PAIN_WORDS,
        *EFFORT_WORDS,
    ]
    missing = [w for w in words if not (catalogue.get(w) and catalogue.get(w).string)]
    assert missing == [], "add these to hep/translations/dynamic.py, then `make translations`"


# --- A Spanish patient -----------------------------------------------------------------------


@pytest.fixture
def spanish_patient(people, db):
    clinic = people.clinic_with_patient()
    _spanish(db, clinic.patient)
    program, items = make_program(
        db,
        clinic.therapist,
        clinic.patient,
        start=date.today() - timedelta(days=14),
        reminder_time=time(18, 0),
    )
    return clinic, program, items


def test_a_spanish_patient_sees_today_the_session_and_the_check_in_in_spanish(
    app, db, spanish_patient
):
    clinic, program, items = spanish_patient
    client = _client(app, clinic.patient)

    today = client.get("/today").get_data(as_text=True)
    assert '<html lang="es">' in today
    assert "Hola, Pat<" in today and "1 sesión para hacer hoy" in today
    assert ">Hoy<" in today and "Cerrar sesión" in today and "Empezar" in today
    assert "Sign out" not in today and "to do today" not in today

    page = client.get("/session").get_data(as_text=True)
    assert '<html lang="es">' in page
    assert "Primero, caliente" in page and "Revisión de seguridad" in page
    assert "¿Tiene dolor o presión en el pecho, el cuello, la mandíbula o el brazo?" in page
    assert "Sin dolor" in page and "Lo más fuerte que puedo" in page  # the 0-10 scale words
    assert "Terminar y guardar" in page and "Safety check" not in page

    # A red flag: the emergency advice, with the clinic's number, in Spanish.
    done = client.post(
        "/session",
        data={
            "client_uuid": "3f0d6b7e-8d3c-4d36-9a5e-2f1b8c3d4e5f",
            "program_id": str(program.id),
            "performed_at": utcnow().isoformat(),
            "warmup_soreness": "none",
            **{
                f"flag-{flag.key}": "yes" if flag.key == "chest_pain" else "no"
                for flag in RED_FLAGS
            },
        },
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Llame a su número de emergencias ahora: 911." in done
    assert "Llame al 911 ahora" in done and 'href="tel:911"' in done


def test_a_spanish_patient_gets_the_morning_check_in_and_its_errors_in_spanish(
    app, db, spanish_patient
):
    clinic, program, items = spanish_patient
    at = utcnow() - timedelta(days=1)
    patient_service.record_session(db, at, clinic.patient, submission(program, items, at, pain=3))
    db.commit()
    client = _client(app, clinic.patient)
    assert "¿Cómo se siente esta mañana?" in client.get("/today").get_data(as_text=True)
    page = client.get("/checkin").get_data(as_text=True)
    assert "Preguntas de la mañana" in page
    assert "¿Se le quitó el dolor muscular de los ejercicios?" in page
    refused = client.post("/checkin", data={})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "Hay un problema" in text and "Elija sí o no" in text


# --- Choosing the language -------------------------------------------------------------------


def test_a_patient_switches_to_spanish_on_the_account_page(app, db, people):
    clinic = people.clinic_with_patient()
    client = _client(app, clinic.patient)
    assert client.get("/account").status_code == 403  # two-step sign-in is for therapists
    page = client.get("/account/language").get_data(as_text=True)
    assert "Language / " in page and 'value="es"' in page and "Español" in page
    assert "Two-step sign-in" not in page  # that part is for therapists
    assert 'lang="en"' in page

    response = client.post("/account/language", data={"locale": "es"})
    assert response.status_code == 302 and response.headers["Location"] == "/account/language"
    db.commit()
    db.refresh(clinic.patient)
    assert clinic.patient.locale == "es"
    after = client.get("/account/language").get_data(as_text=True)
    assert '<html lang="es">' in after and "Se guardó su idioma." in after
    assert "Su cuenta" in after and "Guardar idioma" in after
    assert "Hola, Pat<" in client.get("/today").get_data(as_text=True)

    client.post("/account/language", data={"locale": "en"})
    assert "Hello, Pat<" in client.get("/today").get_data(as_text=True)


@pytest.mark.parametrize("bad", [{"locale": "fr"}, {"locale": ""}, {}, {"locale": "es" * 10}])
def test_a_language_not_offered_is_refused_and_nothing_is_written(app, db, people, bad):
    clinic = people.clinic_with_patient()
    client = _client(app, clinic.therapist)
    response = client.post("/account/language", data=bad)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "There is a problem" in page and 'id="locale"' in page
    assert "Choose a language from the list" in page or "Enter language" in page
    db.commit()
    db.refresh(clinic.therapist)
    assert clinic.therapist.locale == "en"


def test_a_therapist_adds_a_spanish_patient_whose_invite_page_is_in_spanish(app, db, people):
    therapist = people.clinic()
    client = _client(app, therapist)
    form = client.get("/patients/new").get_data(as_text=True)
    assert 'name="locale"' in form and "Español" in form
    response = client.post(
        "/patients/new",
        data={"name": "Rosa Ruiz", "timezone": "America/Chicago", "locale": "es"},
    )
    assert response.status_code == 302
    db.commit()
    rosa = db.exec(select(User).where(User.name == "Rosa Ruiz")).one()
    assert rosa.locale == "es"

    invite = client.get(response.headers["Location"]).get_data(as_text=True)
    token = re.search(r"/invite/([\w-]+)", invite).group(1)
    visitor = app.test_client()
    page = visitor.get(f"/invite/{token}", headers={"Accept-Language": "en"})
    text = page.get_data(as_text=True)
    assert '<html lang="es">' in text and "Elija su contraseña" in text
    assert "Le damos la bienvenida, Rosa Ruiz" in text
    refused = visitor.post(f"/invite/{token}", data={"password": "short", "confirm": "short"})
    assert refused.status_code == 422 and "Contraseña debe tener al menos 8 caracteres" in (
        refused.get_data(as_text=True)
    )


def test_a_bad_language_for_a_new_patient_is_refused(app, db, people):
    therapist = people.clinic()
    client = _client(app, therapist)
    response = client.post(
        "/patients/new",
        data={"name": "Rosa Ruiz", "timezone": "America/Chicago", "locale": "xx"},
    )
    assert response.status_code == 422
    assert "Choose a language from the list" in response.get_data(as_text=True)
    db.commit()
    assert db.exec(select(User).where(User.name == "Rosa Ruiz")).first() is None


def test_a_visitor_asking_for_spanish_gets_the_sign_in_page_in_spanish(app):
    client = app.test_client()
    page = client.get("/login", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    text = page.get_data(as_text=True)
    assert '<html lang="es">' in text
    assert "Iniciar sesión" in text and "Correo electrónico o nombre de usuario" in text
    english = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in english and "Email or sign-in name" in english


# --- Reminders and messages ------------------------------------------------------------------


def test_reminders_are_written_in_each_patients_language(app, db, people):
    clinic = people.clinic_with_patient()
    spanish = _spanish(db, people.patient(clinic.therapist, "Rosa Ruiz", email="rosa@example.com"))
    add_program(db, clinic.patient, clinic.therapist)
    add_program(db, spanish, clinic.therapist)
    run_enqueue(app, db, utc(2026, 11, 10, 13, 0))  # 08:00 in New York
    (rosa,) = rows(db, spanish, kind="session_reminder")
    assert (rosa.title, rosa.body) == (
        "Es hora de sus ejercicios",
        "Sus ejercicios de hoy están listos. Toque para empezar.",
    )
    (pat,) = rows(db, clinic.patient, kind="session_reminder")
    assert pat.title == "Time for your exercises"

    # The morning question after yesterday's session, also in Spanish and without health data.
    program = db.exec(select(Program).where(Program.patient_id == spanish.id)).one()
    add_session(db, program, date(2026, 11, 10))
    run_enqueue(app, db, utc(2026, 11, 11, 13, 0))
    (checkin,) = rows(db, spanish, kind="morning_checkin")
    assert checkin.title == "Buenos días" and "Toque para responder" in checkin.body


def test_a_message_stored_in_english_is_shown_in_spanish_in_the_inbox(app, db, people):
    clinic = people.clinic_with_patient()
    _spanish(db, clinic.patient)
    notify(
        db,
        utcnow(),
        clinic.patient.id,
        "program_updated",
        dedupe_key="program-updated:test",
        title="Your exercises were updated",
        url="/today",
    )
    db.commit()
    inbox = _client(app, clinic.patient).get("/inbox").get_data(as_text=True)
    assert "Sus ejercicios cambiaron" in inbox and "Sus mensajes" in inbox


def test_a_stored_message_with_a_percent_sign_is_shown_as_it_is(app, db, people):
    """Stored text is looked up in the catalogue, never %-formatted like a template's _()."""
    clinic = people.clinic_with_patient()
    notify(
        db,
        utcnow(),
        clinic.patient.id,
        "program_updated",
        dedupe_key="program-updated:percent",
        title="You did 100% of your sessions",
        body="50%(n)s of %s",
        url="/today",
    )
    db.commit()
    response = _client(app, clinic.patient).get("/inbox")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "You did 100% of your sessions" in page and "50%(n)s of %s" in page


def test_notifications_are_stored_in_the_recipients_language(app, db, people):
    """Whoever's request raises it (here an English-speaking therapist's), a notification is
    written in the language of the person it is for, so the push on the lock screen is too."""
    clinic = people.clinic_with_patient()
    _spanish(db, clinic.patient)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        for user, key in ((clinic.patient, "a"), (clinic.therapist, "b")):
            notify(
                db,
                utcnow(),
                user.id,
                "pain_alert",
                dedupe_key=key,
                title="A patient needs attention",
                body="Open HEP to see the alert.",
            )
        db.commit()
    (spanish,) = rows(db, clinic.patient)
    assert (spanish.title, spanish.body) == (
        "Un paciente necesita atención",
        "Abra HEP para ver la alerta.",
    )
    (english,) = rows(db, clinic.therapist)
    assert (english.title, english.body) == (
        "A patient needs attention",
        "Open HEP to see the alert.",
    )
