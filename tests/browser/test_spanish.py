"""A Spanish-speaking patient on a phone: Today, the guided session and the language choice
read in Spanish, with <html lang="es"> and no accessibility problems."""

from __future__ import annotations

from datetime import date, time, timedelta

from playwright.sync_api import Page, expect
from sqlmodel import select

from hep.content.loader import load_catalogue
from hep.library.service import sync_catalogue
from hep.models import Exercise
from hep.timeutil import utcnow
from tests.browser.conftest import assert_accessible, screenshot, session_ready, sign_in
from tests.test_i18n import compile_catalogue
from tests.test_patient import make_program


def test_a_spanish_patient_on_a_phone(live_server, pixel: Page, people, db):
    compile_catalogue()
    clinic = people.clinic_with_patient()
    clinic.patient.locale = "es"
    db.add(clinic.patient)
    db.commit()
    make_program(
        db,
        clinic.therapist,
        clinic.patient,
        start=date.today() - timedelta(days=3),
        reminder_time=time(18, 30),
    )
    base = live_server.live_url
    page = pixel

    sign_in(page, base, clinic.patient.login, lands_on="/today")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hola, Pat")
    expect(page.get_by_text("1 sesión para hacer hoy")).to_be_visible()
    expect(page.get_by_role("link", name="Empezar", exact=True)).to_be_visible()
    assert_accessible(page)
    screenshot(page, "spanish-today-pixel")

    page.get_by_role("link", name="Empezar", exact=True).click()
    session_ready(page)
    expect(page.get_by_role("heading", name="Primero, caliente")).to_be_visible()
    expect(
        page.get_by_role("group", name="¿Cómo siente ahora sus músculos y articulaciones?")
    ).to_be_visible()
    assert_accessible(page)
    screenshot(page, "spanish-session-pixel")

    page.get_by_role("link", name="Cuenta").click()
    expect(page.get_by_role("heading", name="Language / Idioma")).to_be_visible()
    page.get_by_label("English").check()
    page.get_by_role("button", name="Guardar idioma").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_text("Your language is saved.")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "spanish-account-pixel")


def test_a_spanish_patient_reads_a_shipped_exercise_on_a_phone(
    live_server, pixel: Page, people, db
):
    compile_catalogue()
    sync_catalogue(db, utcnow(), load_catalogue())
    clinic = people.clinic_with_patient()
    clinic.patient.locale = "es"
    db.add(clinic.patient)
    _program, items = make_program(
        db, clinic.therapist, clinic.patient, start=date.today() - timedelta(days=3)
    )
    shipped = db.exec(select(Exercise).where(Exercise.slug == "weight-shifts")).one()
    items[0].exercise_id = shipped.id
    db.add(items[0])
    db.commit()
    spanish = shipped.translations["es"]
    page = pixel

    sign_in(page, live_server.live_url, clinic.patient.login, lands_on="/today")
    page.get_by_role("link", name=spanish["name"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(spanish["name"])
    for step in spanish["steps"]:
        expect(page.get_by_text(step)).to_be_visible()
    expect(page.get_by_text(spanish["precautions"][0])).to_be_visible()
    assert_accessible(page)
    screenshot(page, "spanish-exercise-pixel")
