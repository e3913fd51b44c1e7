"""A therapist signs up and adds a patient; the patient opens the link on a phone."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_accessible, screenshot


def therapist_signs_up_and_adds_patient(page: Page, base: str, patient_name: str) -> str:
    page.goto(f"{base}/signup")
    assert_accessible(page)
    page.get_by_label("Clinic name").fill("Lakeside Therapy")
    page.get_by_label("Your full name").fill("Dana Lee")
    page.get_by_label("Email address").fill("dana@example.com")
    page.get_by_label("Clinic time zone").select_option("America/Chicago")
    page.get_by_label("Password", exact=True).fill("a good long password")
    page.get_by_label("Password again").fill("a good long password")
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(f"{base}/patients")
    expect(page.get_by_text("No patients yet.")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Add patient").first.click()
    page.get_by_label("Full name").fill(patient_name)
    page.get_by_label("Time zone").select_option("America/Denver")
    page.get_by_label("Acute fracture").check()
    assert_accessible(page)
    page.get_by_role("button", name="Add patient and make a sign-in link").click()
    expect(page.get_by_role("heading", name=f"Sign-in link for {patient_name}")).to_be_visible()
    expect(page.locator("svg.qr")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "therapist-invite-desktop")
    return page.locator("#invite-url").inner_text()


def test_signup_add_patient_and_patient_sets_password_on_phone(live_server, desktop, phone):
    base = live_server.live_url
    link = therapist_signs_up_and_adds_patient(desktop, base, "Ruth Alvarez")
    assert re.match(rf"{re.escape(base)}/invite/[\w-]+$", link)

    phone.goto(link)
    expect(phone.get_by_role("heading", name="Welcome, Ruth Alvarez")).to_be_visible()
    sign_in_name = phone.locator("#signin-name").inner_text()
    assert sign_in_name.startswith("ruth-")
    assert_accessible(phone)

    # A mistake first: the message shows and nothing is lost.
    phone.get_by_label("Choose a password").fill("short")
    phone.get_by_label("Type the password again").fill("short")
    phone.get_by_role("button", name="Save and continue").click()
    expect(phone.get_by_role("alert")).to_contain_text("at least 8 characters")
    assert_accessible(phone)

    phone.get_by_label("Choose a password").fill("sunny garden 42")
    phone.get_by_label("Type the password again").fill("sunny garden 42")
    phone.get_by_role("button", name="Save and continue").click()
    expect(phone).to_have_url(f"{base}/today")
    expect(phone.get_by_role("heading", name="Hello, Ruth")).to_be_visible()
    assert_accessible(phone)
    screenshot(phone, "patient-home-phone")

    # The link is spent: opening it again explains what to do.
    phone.goto(link)
    expect(phone.get_by_role("heading", name="This link was already used")).to_be_visible()


def test_sign_in_page_is_accessible_and_large_on_a_phone(live_server, phone):
    phone.goto(f"{live_server.live_url}/login")
    assert_accessible(phone)
    box = phone.get_by_role("button", name="Sign in").bounding_box()
    assert box["height"] >= 44
    font_size = phone.evaluate("getComputedStyle(document.body).fontSize")
    assert float(font_size.removesuffix("px")) >= 16
    phone.get_by_role("button", name="Sign in").click()
    expect(phone.get_by_role("alert")).to_contain_text("Enter email or sign-in name")
    screenshot(phone, "sign-in-error-phone")
