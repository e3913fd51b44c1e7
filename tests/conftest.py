"""Fixtures: the app on a fresh database (SQLite file, or PostgreSQL when
HEP_TEST_DATABASE_URL is set), clients, sign-in helpers and people to sign in as."""

from __future__ import annotations

import atexit
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, make_url, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel
from werkzeug.serving import make_server

from hep import create_app, migrate
from hep.accounts import service as accounts
from hep.accounts.schemas import NewPatient, SignUp
from hep.content.loader import LIBRARY_DIR
from hep.db import make_engine
from hep.models import User
from hep.timeutil import utcnow

PASSWORD = "correct horse battery"
TEST_DATABASE_URL = os.environ.get("HEP_TEST_DATABASE_URL")


@contextmanager
def count_queries(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement the app runs inside the block."""
    statements: list[str] = []

    def before_cursor_execute(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = app.extensions["hep.engine"]
    event.listen(engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before_cursor_execute)


def pytest_report_header() -> str:
    return f"database: {'PostgreSQL' if TEST_DATABASE_URL else 'SQLite'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated, empty database for the whole run."""
    if TEST_DATABASE_URL:
        url = _private_postgres_database(TEST_DATABASE_URL)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "SECRET_KEY": "x",
            "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
        }
    )
    migrate.upgrade(app)
    app.extensions["hep.engine"].dispose()
    return url


def _private_postgres_database(base_url: str) -> str:
    """A database of this run's own next to the given one, so parallel runs never collide."""
    server = make_url(base_url)
    name = f"{server.database}_run_{os.getpid()}"
    admin = make_engine(base_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    atexit.register(_drop_database, base_url, name)
    return server.set(database=name).render_as_string(hide_password=False)


def _drop_database(base_url: str, name: str) -> None:
    admin = make_engine(base_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _empty_all_tables(app: Flask) -> None:
    engine = app.extensions["hep.engine"]
    engine.dispose()  # no pooled connection of this app keeps a transaction open
    if engine.dialect.name != "postgresql":
        with engine.begin() as conn:
            for table in reversed(SQLModel.metadata.sorted_tables):
                conn.execute(table.delete())
        return
    names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    # A live server's request thread can outlive server.shutdown() for a moment; if PostgreSQL
    # picks our TRUNCATE as the deadlock victim, try again once that request is gone.
    for attempt in range(5):
        try:
            with engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            return
        except OperationalError:
            if attempt == 4:
                raise
            time.sleep(0.5)


@pytest.fixture
def app_config(database_url: str, tmp_path: Path) -> dict:
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SCHEDULER_EMBEDDED": False,
        "SERVER_NAME": None,
    }


@pytest.fixture
def app(app_config: dict) -> Iterator[Flask]:
    app = create_app(app_config)
    yield app
    _empty_all_tables(app)
    app.extensions["hep.engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def db(app: Flask) -> Iterator[Session]:
    # No app context stays pushed here: requests made during the test must each get their own
    # (and so their own `g`), as they would in production.
    with Session(app.extensions["hep.engine"], expire_on_commit=False) as s:
        yield s


@dataclass
class ClinicPeople:
    """A clinic with an admin therapist and one signed-up patient."""

    therapist: User
    patient: User


@pytest.fixture
def people(app: Flask, db: Session):
    """Build clinics and patients straight through the account services."""

    class People:
        tokens: dict[int, str] = {}  # patient id -> the raw invite token made with them

        def clinic(self, name: str = "Riverside Physio", email: str = "tess@example.com") -> User:
            user = accounts.sign_up(
                db,
                utcnow(),
                SignUp(
                    clinic_name=name,
                    name="Tess Therapist",
                    email=email,
                    timezone="America/New_York",
                    password=PASSWORD,
                    confirm=PASSWORD,
                ),
            )
            db.commit()
            return user

        def patient(
            self,
            therapist: User,
            name: str = "Pat Patient",
            email: str | None = None,
            timezone: str = "America/New_York",
            conditions: list[str] | None = None,
            signed_up: bool = True,
        ) -> User:
            patient, token = accounts.add_patient(
                db,
                utcnow(),
                therapist,
                NewPatient(name=name, email=email, timezone=timezone, conditions=conditions or []),
                ttl=timedelta(hours=72),
            )
            if signed_up:
                invite, _problem = accounts.find_invite(db, utcnow(), token)
                accounts.accept_invite(db, utcnow(), invite, PASSWORD)
            db.commit()
            self.tokens[patient.id] = token
            return patient

        def clinic_with_patient(
            self, name: str = "Riverside Physio", email: str = "tess@example.com"
        ) -> ClinicPeople:
            therapist = self.clinic(name, email)
            return ClinicPeople(therapist, self.patient(therapist, email=f"pat.{email}"))

    return People()


class AuthActions:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, user_or_login, password: str = PASSWORD, follow: bool = False):
        login = user_or_login if isinstance(user_or_login, str) else user_or_login.login
        return self.client.post(
            "/login", data={"login": login, "password": password}, follow_redirects=follow
        )

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


# --- A real server for the browser ---------------------------------------------------------


@pytest.fixture
def live_server(app_config: dict) -> Iterator[str]:
    """The app served over HTTP in a thread, with CSRF on, for Playwright."""
    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.live_url = f"http://127.0.0.1:{server.server_port}"  # type: ignore[attr-defined]
    yield app
    server.shutdown()
    thread.join(timeout=5)
    _empty_all_tables(app)
    app.extensions["hep.engine"].dispose()


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A copy of the shipped content library (English and translations) to break in a test."""
    copy = tmp_path / "library"
    shutil.copytree(LIBRARY_DIR, copy)
    return copy
