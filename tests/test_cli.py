"""The command line: demo data, VAPID keys."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import func, select

from hep.models import User
from tests.conftest import AuthActions


def test_demo_seeds_an_empty_database_and_its_logins_work(app, runner, db):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "therapist@demo.hep" in result.output and "demo-password" in result.output
    therapists = db.exec(select(func.count()).select_from(User).where(User.role == "therapist"))
    assert therapists.one() == 2
    client = AuthActions(app.test_client())
    assert client.login("therapist@demo.hep", "demo-password").status_code == 302
    assert client.client.get("/patients").status_code == 200
    patient = AuthActions(app.test_client())
    assert patient.login("rosa@demo.hep", "demo-password").status_code == 302
    assert patient.client.get("/today").status_code == 200


def test_demo_run_again_reprints_the_logins_and_adds_nothing(runner, db):
    runner.invoke(args=["demo"])
    before = db.exec(select(func.count()).select_from(User)).one()
    result = runner.invoke(args=["demo"])
    assert "already has users" in result.output and "rosa@demo.hep" in result.output
    assert db.exec(select(func.count()).select_from(User)).one() == before


def test_demo_leaves_a_database_with_users_alone(runner, people, db):
    people.clinic()
    result = runner.invoke(args=["demo"])
    assert "already has users" in result.output
    assert db.exec(select(func.count()).select_from(User)).one() == 1


def test_vapid_keys_are_generated_once(app, runner):
    first = runner.invoke(args=["vapid"]).output
    second = runner.invoke(args=["vapid"]).output
    assert first == second and first.startswith("VAPID public key: ")
    assert len(first.split(": ")[1].strip()) == 87  # 65 bytes, base64url without padding
    assert (Path(app.instance_path) / "vapid_private.pem").stat().st_mode & 0o077 == 0
