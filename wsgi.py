"""WSGI entry point: `gunicorn wsgi:app`."""

from hep import create_app

app = create_app()
