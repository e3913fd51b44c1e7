"""Command line: flask --app hep db | demo | content | scheduler | vapid."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

db_cli = AppGroup("db", help="Database schema migrations.")
content_cli = AppGroup("content", help="The shipped exercise library.")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from hep import migrate

    migrate.upgrade(current_app, revision)
    click.echo("Database is up to date.")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Undo migrations back to REVISION."""
    from hep import migrate

    migrate.downgrade(current_app, revision)


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
@click.option("--rev-id", default=None, help="Revision id (default: a random one).")
def db_revision(message: str, rev_id: str | None) -> None:
    """Write a new migration from the difference between the models and the database."""
    from hep import migrate

    migrate.revision(current_app, message, rev_id)


@content_cli.command("sync")
def content_sync() -> None:
    """Load the shipped exercise library and templates; clinics' own content is untouched."""
    from hep.content.loader import load_catalogue
    from hep.db import session_scope
    from hep.library.service import sync_catalogue
    from hep.timeutil import utcnow

    with session_scope(current_app) as db:
        counts = sync_catalogue(db, utcnow(), load_catalogue())
    click.echo(
        f"Library: {counts['exercises']} exercises, {counts['templates']} templates "
        f"({counts['changed']} added or updated)."
    )


@click.command("demo")
@with_appcontext
@click.option("--force", is_flag=True, help="Add demo data even if the database has users.")
def demo(force: bool) -> None:
    """Seed a demo clinic, therapist and patients with weeks of history (empty database only)."""
    from hep.db import session_scope
    from hep.demo import existing_logins, seed
    from hep.timeutil import utcnow

    with session_scope(current_app) as db:
        logins = seed(db, utcnow(), force=force)
        if logins is None:
            click.echo("The database already has users; demo data not added.")
            logins = existing_logins(db)
    if logins is None:
        return
    click.echo("Demo sign-ins (password for all: " + logins["password"] + "):")
    for role, login in logins["users"]:
        click.echo(f"  {role:<10} {login}")


@click.command("scheduler")
@with_appcontext
def scheduler() -> None:
    """Run the notification scheduler as its own process (for several web nodes)."""
    from hep.scheduler import run_forever

    run_forever(current_app)


@click.command("vapid")
@with_appcontext
@click.option("--force", is_flag=True, help="Replace existing keys (every push subscription ends).")
def vapid(force: bool) -> None:
    """Generate the VAPID key pair for Web Push into the instance folder."""
    from hep.push import ensure_vapid_keys

    public_key = ensure_vapid_keys(current_app, force=force)
    click.echo(f"VAPID public key: {public_key}")


def init_app(app: Flask) -> None:
    for command in (db_cli, content_cli, demo, scheduler, vapid):
        app.cli.add_command(command)
