"""The application factory: one Flask server, four portals (DESIGN "The shape in one picture")."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask
from flask_migrate import Migrate

from core import runtime
from core.config import Settings
from core.models import Base
from portals.assets import init_assets
from portals.migrate import MIGRATIONS_DIR
from portals.pipeline import speed_up_pipeline

log = logging.getLogger(__name__)


class _MetadataOnly:
    """Flask-Migrate wants a `db` with `.metadata`; our models live in plain SQLAlchemy."""

    metadata = Base.metadata


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    rt = runtime.bootstrap(settings)
    app = Flask(__name__, static_folder="static", template_folder="templates",
                instance_path=str(settings.instance_path))
    configure_flask(app, settings)
    speed_up_pipeline(app)
    app.extensions["doktu"] = rt  # the same object as core.runtime.current(), for the CLI and tests
    register_extensions(app, settings)
    register_blueprints(app)
    init_assets(app)
    mount_portals(app)
    from jobs.runtime import init_jobs

    app.extensions["doktu_queue"] = init_jobs(rt)
    trust_proxy_headers(app, settings.proxy_hops)
    return app


def trust_proxy_headers(app: Flask, hops: int) -> None:
    """Behind `hops` proxies (PROXY_HOPS), read the client's address and scheme from the headers
    they add, so rate limits and logs see each visitor rather than the load balancer. Outermost
    middleware, so everything inside sees the same."""
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def configure_flask(app: Flask, settings: Settings) -> None:
    from portals.observability import configure_logging

    if not settings.is_testing:
        configure_logging(settings.log_level)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="doktu_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=settings.session_cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        MAX_CONTENT_LENGTH=1024 * 1024,
        WTF_CSRF_TIME_LIMIT=12 * 3600,
        TESTING=settings.is_testing,
        JSON_SORT_KEYS=False,
    )


def register_extensions(app: Flask, settings: Settings) -> None:
    from portals.api import init_api
    from portals.auth import init_auth
    from portals.i18n import init_i18n
    from portals.limits import init_limits
    from portals.observability import init_observability
    from portals.security import init_security

    init_observability(app, settings)
    init_api(app)
    init_auth(app)
    init_security(app)
    init_limits(app)
    init_i18n(app)
    Migrate(app, _MetadataOnly(), directory=str(MIGRATIONS_DIR))


def register_blueprints(app: Flask) -> None:
    from portals.admin.api import admin_api
    from portals.api import register_openapi
    from portals.doctor.api import doctor_api
    from portals.doctor.pages import doctor_pages
    from portals.patient import patient
    from portals.public import public

    app.register_blueprint(public)
    app.register_blueprint(patient)
    app.register_blueprint(doctor_api)
    app.register_blueprint(doctor_pages)
    app.register_blueprint(admin_api)
    register_openapi(app, check_responses=not app.extensions["doktu"].settings.is_production)


def mount_portals(app: Flask) -> None:
    from portals.admin.dash_app import create_admin_dash
    from portals.doctor.dash_app import create_doctor_dash
    from portals.security import init_content_security_policy

    init_content_security_policy(app, [create_doctor_dash(app), create_admin_dash(app)])
