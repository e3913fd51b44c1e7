"""Configuration defaults; instance/config.py and HEP_* environment variables override them."""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path


class Defaults:
    # Where data lives; HEP_DATABASE_URL overrides (e.g. postgresql+psycopg://...).
    DATABASE_URL: str | None = None  # None → SQLite file in the instance folder
    SIGNUP_ENABLED = True
    INVITE_TTL_HOURS = 72
    # Therapists are signed out after this long without a request; patients stay signed in.
    THERAPIST_IDLE_MINUTES = 30
    REMEMBER_COOKIE_DURATION = timedelta(days=365)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Set HEP_SECURE_COOKIES=true behind TLS: Secure cookies and HSTS.
    SECURE_COOKIES = False
    LOGIN_RATE_LIMIT = "10 per minute;50 per hour"
    LOGIN_LOCKOUT_AFTER = 5
    LOGIN_LOCKOUT_MINUTES = 15
    RATELIMIT_STORAGE_URI = "memory://"  # redis://127.0.0.1:6379 for several web nodes
    RATELIMIT_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    MAX_CONTENT_LENGTH = 60 * 1024 * 1024  # phone-recorded videos
    # Largest exercise photo or video a clinic may upload (below MAX_CONTENT_LENGTH).
    MEDIA_MAX_BYTES = 50 * 1024 * 1024
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    LANGUAGES = ("en", "es")
    # The scheduler runs inside `flask run` / gunicorn unless this is false or it runs
    # as its own process (`flask --app hep scheduler`).
    SCHEDULER_EMBEDDED = True
    VAPID_SUBJECT = "mailto:admin@hep.invalid"
    SEND_FILE_MAX_AGE_DEFAULT = timedelta(days=365)


def load_secret_key(instance_path: str) -> str:
    """Read the instance's secret key, generating it on first run (never committed)."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
