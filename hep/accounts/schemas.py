"""Input models for sign-up, sign-in, invites and patients."""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated
from zoneinfo import available_timezones

from flask import current_app, has_app_context
from flask_babel import gettext as _
from pydantic import AfterValidator, BaseModel, Field, ValidationInfo, field_validator

from hep import totp
from hep.rules.safety import CONTRAINDICATIONS

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@cache
def time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


COMMON_TIME_ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Puerto_Rico",
    "Europe/London",
    "Europe/Madrid",
)


@cache
def time_zone_options() -> tuple[tuple[str, str], ...]:
    """(value, label) pairs: the usual zones first, then every other one A to Z."""
    rest = sorted(tz for tz in time_zones() if "/" in tz and tz not in COMMON_TIME_ZONES)
    return tuple((tz, tz.replace("_", " ")) for tz in (*COMMON_TIME_ZONES, *rest))


def _email(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().lower()
    if not EMAIL_RE.match(value):
        raise ValueError("Enter an email address like name@example.com")
    return value


def _time_zone(value: str) -> str:
    if value not in time_zones():
        raise ValueError("Choose a time zone from the list")
    return value


def _conditions(values: list[str]) -> list[str]:
    unknown = [v for v in values if v not in CONTRAINDICATIONS]
    if unknown:
        raise ValueError("Choose conditions from the list")
    return sorted(set(values))


# Each language by its own name, so anyone can find theirs (SPEC §3 L).
LANGUAGE_NAMES = {"en": "English", "es": "Español"}


def languages() -> tuple[str, ...]:
    """The app's languages (config LANGUAGES)."""
    return tuple(current_app.config["LANGUAGES"]) if has_app_context() else ("en",)


def language_options() -> tuple[tuple[str, str], ...]:
    return tuple((code, LANGUAGE_NAMES.get(code, code)) for code in languages())


def _language(value: str) -> str:
    if value not in languages():
        raise ValueError("Choose a language from the list")
    return value


Email = Annotated[str, Field(max_length=254, title="Email address"), AfterValidator(_email)]
OptionalEmail = Annotated[
    str | None, Field(default=None, max_length=254, title="Email address"), AfterValidator(_email)
]
Password = Annotated[str, Field(min_length=8, max_length=128, title="Password")]
TimeZone = Annotated[str, Field(title="Time zone"), AfterValidator(_time_zone)]
PersonName = Annotated[str, Field(min_length=1, max_length=120, title="Full name")]
Language = Annotated[str, Field(title="Language"), AfterValidator(_language)]


class PasswordPair(BaseModel):
    password: Password
    confirm: Annotated[str, Field(min_length=1, max_length=128, title="Password again")]

    @field_validator("confirm")
    @classmethod
    def _same(cls, value: str, info: ValidationInfo) -> str:
        if "password" in info.data and value != info.data["password"]:
            raise ValueError("The two passwords are not the same")
        return value


class SignUp(PasswordPair):
    clinic_name: Annotated[str, Field(min_length=1, max_length=120, title="Clinic name")]
    name: PersonName
    email: Email
    timezone: TimeZone


class SignIn(BaseModel):
    login: Annotated[str, Field(min_length=1, max_length=254, title="Email or sign-in name")]
    password: Annotated[str, Field(min_length=1, max_length=128, title="Password")]


class NewPatient(BaseModel):
    name: PersonName
    email: OptionalEmail = None
    phone: Annotated[str | None, Field(default=None, max_length=32, title="Phone")] = None
    timezone: TimeZone
    conditions: Annotated[list[str], AfterValidator(_conditions)] = []
    baseline_pain: Annotated[int | None, Field(default=None, ge=0, le=10, title="Usual pain")] = (
        None
    )
    locale: Language = "en"


class ChooseLanguage(BaseModel):
    """The language someone reads HEP in (User.locale)."""

    locale: Language


class NewTherapist(BaseModel):
    name: PersonName
    email: Email


def _six_digits(value: str) -> str:
    value = totp.clean_code(value)
    if len(value) != totp.DIGITS or not value.isdigit():
        raise ValueError(_("Enter the 6-digit code from your authenticator app"))
    return value


# Apps show "123 456"; spaces and dashes are dropped before the check.
SixDigitCode = Annotated[
    str, Field(min_length=1, max_length=20, title="The 6-digit code"), AfterValidator(_six_digits)
]


class TwoStepCode(BaseModel):
    """The code from the authenticator app: the second step of sign-in, or set-up."""

    code: SixDigitCode


class TurnOffTwoStep(BaseModel):
    password: Annotated[str, Field(min_length=1, max_length=128, title="Password")]
    code: SixDigitCode


class ClinicTwoStep(BaseModel):
    required: bool = False
