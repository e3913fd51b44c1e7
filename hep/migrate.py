"""Alembic, driven from the app's own configuration (no alembic.ini to keep in step)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from flask import Flask

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(app: Flask) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", app.config["DATABASE_URL"].replace("%", "%%"))
    return cfg


def upgrade(app: Flask, revision: str = "head") -> None:
    from hep.db import engine

    cfg = alembic_config(app)
    with engine(app).begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def downgrade(app: Flask, revision: str) -> None:
    from hep.db import engine

    cfg = alembic_config(app)
    with engine(app).begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)


def revision(app: Flask, message: str, rev_id: str | None = None) -> None:
    cfg = alembic_config(app)
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id)
