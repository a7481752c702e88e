"""WSGI entry point for any server: `gunicorn wsgi:app` (or `doktu serve`)."""

from portals import create_app

app = create_app()
