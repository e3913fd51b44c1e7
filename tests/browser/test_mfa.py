"""A therapist turns on two-step sign-in on a phone (Pixel 7), signs out, and signs back in
with the password and a code computed here as their authenticator app would."""

from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from hep import totp
from tests.browser.conftest import assert_accessible, screenshot, sign_in


def test_therapist_turns_on_two_step_and_signs_in_with_a_code(live_server, people, pixel):
    base = live_server.live_url
    page = pixel
    therapist = people.clinic()
    sign_in(page, base, therapist.login, "/patients")

    page.get_by_role("link", name="Account").click()
    expect(page.get_by_text("Two-step sign-in: off")).to_be_visible()
    page.get_by_role("button", name="Set up two-step sign-in").click()
    expect(page).to_have_url(f"{base}/account/two-step")
    expect(page.locator("svg.qr")).to_be_visible()
    key = page.locator("#totp-key").inner_text()
    assert re.fullmatch(r"([A-Z2-7]{4} ){7}[A-Z2-7]{4}", key)
    secret = key.replace(" ", "")
    assert_accessible(page)
    screenshot(page, "mfa-setup-pixel")

    # A mistyped code: the message beside the field, still off.
    page.get_by_label("6-digit code from your app").fill("12345")
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.locator("#code-error")).to_contain_text("Enter the 6-digit code")
    assert_accessible(page)

    page.get_by_label("6-digit code from your app").fill(totp.code_at(secret, time.time()))
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page).to_have_url(f"{base}/account")
    expect(page.get_by_text("Two-step sign-in: on")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "mfa-account-on-pixel")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{base}/login")
    sign_in(page, base, therapist.login, "/login/code")
    expect(page.get_by_role("heading", name="Type your code")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "mfa-code-pixel")
    # The next 30-second code: the one used to turn it on is spent.
    page.get_by_label("6-digit code").fill(totp.code_at(secret, time.time() + 30))
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/patients")
