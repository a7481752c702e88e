"""The `doktu` command (SPEC §15): a Flask CLI group bound to the app factory."""

from __future__ import annotations

import dataclasses
import os

import click
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate.cli import db as db_group

from core import runtime
from core.config import Settings
from core.scheduling.cal_service import sync_calendars
from core.seed import seed_demo
from portals import create_app
from portals.migrate import upgrade


def _create_app(*_args):
    return create_app()


# Flask's development commands still work (`doktu shell`), but `doktu --help` lists only ours.
FLASK_DEFAULT_COMMANDS = {"run", "shell", "routes"}


class DoktuGroup(FlaskGroup):
    """Lists and finds its commands without building the app (no database start for --help)."""

    def get_command(self, ctx, name):
        return click.Group.get_command(self, ctx, name)

    def list_commands(self, ctx):
        return [name for name in click.Group.list_commands(self, ctx) if name not in FLASK_DEFAULT_COMMANDS]


class HelpWithoutAppGroup(click.Group):
    """A group whose own callback loads the app (Flask-Migrate's `db`): `doktu db seed --help`
    prints the help before that callback runs, so asking for help never starts a database."""

    def invoke(self, ctx):
        args = [*ctx._protected_args, *ctx.args]
        if any(arg in ctx.help_option_names for arg in args) and ctx._protected_args:
            name, command, rest = self.resolve_command(ctx, args)
            if command is not None:
                with ctx:
                    command.make_context(name, rest, parent=ctx)  # prints the help and exits
        return super().invoke(ctx)


@click.group(cls=DoktuGroup, create_app=_create_app, add_default_commands=True,
             add_version_option=False, load_dotenv=False)
def cli() -> None:
    """Doktu: tele-consultation booking."""


db_group = HelpWithoutAppGroup(name=db_group.name, commands=db_group.commands, params=db_group.params,
                              callback=db_group.callback, help=db_group.help)
cli.add_command(db_group)


def seed_calendars(cal_api_key: str | None) -> str:
    """SPEC §14: without CAL_API_KEY the doctors get the deterministic fake Cal.com events."""
    if cal_api_key:
        return "Cal.com: CAL_API_KEY is set; the worker syncs real calendars every 5 minutes."
    report = sync_calendars(None)
    return f"Cal.com (dev fake): {report['events']} busy events for {report['doctors']} doctors."


def print_logins(report, password: str, url: str | None = None) -> None:
    if url:
        click.secho(f"\n  Doktu is running at {url}\n", fg="green", bold=True)
    click.echo("  Demo logins (password: " + password + "):")
    for email, role in report.logins:
        click.echo(f"    {role:<8} {email}")
    click.echo("")


@db_group.command("seed")
@click.option("--history", "history_months", default=0, type=click.IntRange(0, 60), metavar="MONTHS",
              help="Also generate MONTHS of demo history (bookings, payments, funnel) for the admin console.")
@with_appcontext
def seed_command(history_months: int) -> None:
    """Create the demo doctors, patient, admin and slots (idempotent)."""
    settings = runtime.current().settings
    report = seed_demo(settings.demo_password)
    click.echo(f"Seeded: {report.users_created} new users, {report.slots_created} new slots.")
    click.echo(seed_calendars(settings.cal_api_key))
    if history_months:
        seed_history_with_report(history_months)
    print_logins(report, settings.demo_password if not settings.is_production else "<DOKTU_DEMO_PASSWORD>")


def seed_history_with_report(months: int) -> None:
    """Generate the demo history (idempotent) and say what it made and how long it took."""
    import time

    from core.seed_history import seed_history

    started = time.perf_counter()
    history = seed_history(months)
    click.echo("History: already there (nothing added)." if history.skipped else
               f"History: {history.months} months, {history.patients} patients, {history.appointments} "
               f"appointments, {history.payments} payments, {history.funnel_events} funnel events "
               f"({time.perf_counter() - started:.1f} s).")


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, type=int, show_default=True)
@click.option("--workers", default=None, type=int, help="Default: 2 × cores + 1 (1 in embedded mode).")
def serve_command(host: str, port: int, workers: int | None) -> None:
    """Serve with gunicorn, the production WSGI server."""
    from portals.server import serve

    serve(Settings.from_env(), host=host, port=port, workers=workers)


@cli.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, type=int, show_default=True)
@click.option("--history", "history_months", default=3, show_default=True, type=click.IntRange(0, 60),
              metavar="MONTHS", help="Months of demo history (bookings, payments, funnel) for the admin console; "
                                     "0 for none. Added once: an existing history is kept.")
def demo_command(host: str, port: int, history_months: int) -> None:
    """One command: embedded PostgreSQL and Redis, migrate, seed (with 3 months of history), serve."""
    from portals.server import serve

    settings = Settings.from_env(database_url=None, redis_url=None, database_app_url=None)
    if not os.environ.get("PUBLIC_BASE_URL"):  # links in emails point at this demo, whatever its port
        settings = dataclasses.replace(settings, public_base_url=f"http://{host}:{port}")
    app = create_app(settings)
    upgrade(runtime.current().database_url)
    with app.app_context():
        report = seed_demo(settings.demo_password)
        click.echo(seed_calendars(settings.cal_api_key))
        if history_months:
            seed_history_with_report(history_months)
    print_logins(report, settings.demo_password, f"http://{host}:{port}/")
    serve(settings, host=host, port=port, workers=1)


@cli.command("worker")
def worker_command() -> None:
    """Run the RQ worker and the periodic jobs (RQ cron); needs REDIS_URL. Stop with Ctrl-C or SIGTERM."""
    from core.config import ConfigError
    from jobs.runtime import run_worker

    try:
        run_worker(Settings.from_env())
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@cli.group("payments")
def payments_group() -> None:
    """Payments: the local stand-in for Stripe."""


@payments_group.command("renew-local-subscriptions")
@click.option("--now", "now_text", default=None, metavar="ISO-8601",
              help="Pretend it is this moment (e.g. next month) to see the renewals it brings.")
@click.option("--decline", is_flag=True, help="The renewal payments are declined (plans become past_due).")
@with_appcontext
def renew_local_subscriptions_command(now_text: str | None, decline: bool) -> None:
    """Play Stripe's part at the end of each local plan month: renew (signed invoice.paid events to
    the webhook), end the plans whose cancellation was asked for, lapse unused credit."""
    from datetime import UTC, datetime

    from core.payments.local_subscriptions import renew_local_subscriptions

    if runtime.current().settings.stripe_secret_key:
        raise click.ClickException("STRIPE_SECRET_KEY is set: Stripe renews the plans itself.")
    now = None
    if now_text:
        now = datetime.fromisoformat(now_text)
        now = now if now.tzinfo else now.replace(tzinfo=UTC)
    report = renew_local_subscriptions(now, decline=decline)
    click.echo(", ".join(f"{key}: {value}" for key, value in report.items()))


@cli.group("kpis")
def kpis_group() -> None:
    """The admin console's daily KPI roll-ups (SPEC §22)."""


@kpis_group.command("rollup")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Recompute every day from this Paris day (YYYY-MM-DD) to yesterday; without it, what the "
                   "job does: the last 8 days and any missing day.")
@with_appcontext
def kpis_rollup_command(first) -> None:
    """Recompute the daily KPI roll-ups (after a correction to old data, say)."""
    import time
    from datetime import timedelta

    from core import clock
    from core.metrics import rollups
    from core.metrics.periods import PARIS

    started = time.perf_counter()
    if first is None:
        days = rollups.refresh()
    else:
        today = clock.now().astimezone(PARIS).date()
        days = rollups.rollup_days([first.date() + timedelta(days=i) for i in range((today - first.date()).days)])
    click.echo(f"KPI roll-ups: {days} days recomputed in {time.perf_counter() - started:.1f} s.")


@cli.group("owed")
def owed_group() -> None:
    """Owed side effects (refunds, notices, expiries owed by committed transactions)."""


@owed_group.command("status")
@with_appcontext
def owed_status_command() -> None:
    """What is still owed or given up, by task, with the oldest row."""
    from core.owed import owed_summary

    rows = owed_summary()
    for row in rows:
        click.echo(f"{row.status:8} {row.count:6}  {row.task}  (oldest {row.oldest.isoformat(timespec='seconds')})")
    if not rows:
        click.echo("Nothing owed.")


@owed_group.command("sweep")
@with_appcontext
def owed_sweep_command() -> None:
    """Run every owed effect that is due now (what the minute's job does)."""
    from core.owed import sweep_owed

    report = sweep_owed()
    click.echo(", ".join(f"{key}: {value}" for key, value in report.items()) or "Nothing due.")


@owed_group.command("retry")
@click.argument("effect_id", required=False)
@with_appcontext
def owed_retry_command(effect_id: str | None) -> None:
    """Put a given-up effect (or all of them) back in the queue once the cause is fixed."""
    from core.owed import retry_failed

    click.echo(f"{retry_failed(effect_id)} effect(s) owed again.")


@cli.group("users")
def users_group() -> None:
    """Staff accounts and doctor invitations (SPEC §19)."""


@users_group.command("create-admin")
@click.argument("email")
@click.option("--name", default="", help="Full name shown in the console (default: the email's local part).")
@click.password_option("--password", envvar="DOKTU_ADMIN_PASSWORD", show_envvar=True,
                       help="The password; asked for (twice) unless given here or in DOKTU_ADMIN_PASSWORD.")
@with_appcontext
def create_admin_command(email: str, name: str, password: str) -> None:
    """Create an admin account with EMAIL."""
    from core.accounts.staff import create_admin
    from core.errors import DomainError

    try:
        user = create_admin(email, password, name)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Admin {user.email} created.")


@users_group.command("invite-doctor")
@click.argument("email")
@click.option("--language", type=click.Choice(["en", "fr", "de"]), default="en", show_default=True,
              help="The invitation's language (the invitee has no account, so no saved language).")
@with_appcontext
def invite_doctor_command(email: str, language: str) -> None:
    """Email EMAIL a doctor invitation (a single-use link valid 7 days) and print the link."""
    from core.actor import SYSTEM
    from core.doctors.onboarding import invitation_link, invite_doctor
    from core.errors import DomainError

    base_url = runtime.current().settings.public_base_url
    try:
        view, token = invite_doctor(SYSTEM, email, base_url=base_url, language=language)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Invitation sent to {view.email}, valid until {view.expires_at.isoformat(timespec='minutes')}.")
    click.echo(f"Link (single use): {invitation_link(base_url, token)}")


@cli.group("i18n", cls=click.Group)
def i18n_group() -> None:
    """Translation catalogs (SPEC §20): core/translations/<lang>/LC_MESSAGES/messages.po."""


EXTRACT_KEYWORDS = ["-k", "_", "-k", "gettext", "-k", "ngettext:1,2", "-k", "lazy_gettext", "-k", "_l", "-k", "N_",
                    "-k", "translate:2", "-k", "translate_plural:2,3"]


@i18n_group.command("update")
def i18n_update_command() -> None:
    """Extract every message (babel.cfg) and merge it into the fr and de catalogs; new ones are empty
    until translated (`doktu i18n check` and the test suite fail on them)."""
    from babel.messages.frontend import CommandLineInterface

    from core import i18n

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    template = os.path.join(str(i18n.CATALOGS), "messages.pot")
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", os.path.join(root, "babel.cfg"), "--no-location",
                                "--sort-output", "--omit-header", "--project", "Doktu", "--no-default-keywords",
                                *EXTRACT_KEYWORDS,
                                "-o", template, root])
    for language in i18n.LANGUAGES:
        if language == i18n.DEFAULT_LANGUAGE:
            continue
        exists = os.path.exists(os.path.join(str(i18n.CATALOGS), language, "LC_MESSAGES", "messages.po"))
        CommandLineInterface().run(["pybabel", "-q", "update" if exists else "init", "-i", template,
                                    "-d", str(i18n.CATALOGS), "-l", language, "--no-wrap",
                                    *(["--no-fuzzy-matching", "--ignore-obsolete"] if exists else [])])
    os.remove(template)
    click.echo("catalogs updated: " + ", ".join(i18n.LANGUAGES[1:]))


@i18n_group.command("check")
def i18n_check_command() -> None:
    """Fail when a message of the code is missing or untranslated in a catalog."""
    from portals.i18n_check import missing_translations

    missing = missing_translations()
    for language, messages in missing.items():
        for message in messages:
            click.echo(f"{language}: {message!r}", err=True)
    if any(missing.values()):
        raise SystemExit(1)
    click.echo("every message is translated")
