"""The admin console's alert feed (SPEC §9): Critical, Warning and Info alerts, each with a call
to action. Rules are plain functions over `AlertFacts` (pure, tested with literal facts); the
service gathers the facts — a few aggregate queries, the slot engine for "no availability" — and
the portal adds what only it can see (failed RQ jobs). Each rule's docstring is its definition.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial

from babel import numbers
from sqlalchemy import text

from core import clock, config, heartbeats, i18n
from core.actor import Actor
from core.db import unit_of_work
from core.i18n import N_
from core.metrics.kpis import require_staff
from core.metrics.periods import PARIS, period_for
from core.metrics.snapshots import snapshot
from core.scheduling.availability import MAX_BATCH, next_free_slots
from core.support.inbox import overdue_count

SEVERITIES = ("critical", "warning", "info")

# Thresholds, in one place so the README and the tests quote the same numbers.
PAYMENT_FAILURES_MIN = 5  # failed card payments today before the rate matters
PAYMENT_FAILURE_RATE = 0.15  # share of today's card attempts that failed
NO_SHOW_MARGIN = 0.02  # 2 points above the 30-day average
NO_SHOW_MIN_VISITS = 10
DEVICE_FAILURE_MARGIN = 0.05  # 5 points above the 30-day average
DEVICE_MIN_TESTS = 20
STUCK_PENDING_GRACE = timedelta(minutes=5)  # unlock_stale_slots runs every 60 s
JOBS_STALE_SECONDS = 180  # three runs of the 60 s unlock job missed
UNSETTLED_AFTER = timedelta(hours=2)  # the settlement reminds the doctor to complete at start + 2 h
LINKS_SHOWN = 5
RUNBOOK = "docs/operations.md#background-jobs-stalled"


@dataclass(frozen=True)
class Alert:
    severity: str  # critical | warning | info
    code: str  # stable key, e.g. "payment_failures"
    title: str
    detail: str
    action: str  # the call to action
    action_href: str | None = None  # where to act, in the console or outside it
    # The doctors or appointments it is about, each with where to act on it: (label, href).
    links: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class AlertFacts:
    payments_failed_today: int = 0
    payments_succeeded_today: int = 0
    top_failure_code: str | None = None
    doctors_without_availability: list[str] = field(default_factory=list)  # names
    doctors_offline: int = 0
    doctors_offline_names: list[str] = field(default_factory=list)
    # Booked consultations that started over UNSETTLED_AFTER ago with no outcome: (appointment id, label).
    unsettled: list = field(default_factory=list)
    no_show_week: tuple[int, int] = (0, 0)  # (no-shows, completed + no-shows) over the last 7 days
    no_show_month: tuple[int, int] = (0, 0)  # the same over the 30 days before those 7
    device_tests_week: tuple[int, int] = (0, 0)  # (failed, all) over the last 7 days
    device_tests_month: tuple[int, int] = (0, 0)  # the same over the 30 days before
    stuck_pending: int = 0
    doctors_missing_visits: list[str] = field(default_factory=list)  # names, last 7 days (SPEC §16)
    failed_jobs: int | None = None  # None: the queue could not be asked
    owed_given_up: int = 0  # owed side effects (refunds, notices) parked as failed
    # Seconds since a periodic job last finished (`job_heartbeats`); None: none ever has.
    jobs_last_ran_seconds_ago: int | None = 0
    # See a doctor now (SPEC §17): patients waiting longer than WALKIN_MAX_WAIT, and the longest wait.
    walkins_over_max_wait: int = 0
    walkin_longest_wait_seconds: int = 0
    walkin_max_wait_minutes: int = 15
    support_overdue: int = 0  # support conversations waiting on us past their due time (issue 25)


def _pct(value: float, language: str, digits: int) -> str:
    """`60%` / `12.5%` in English (as the feed always wrote it), Babel's `60 %` / `12,5 %` otherwise."""
    if i18n.language_of(language) == "en":
        return f"{value:.{digits}%}"
    pattern = i18n.babel_locale(language).percent_formats[None].pattern
    if digits:
        pattern = pattern.replace("#,##0", "#,##0." + "0" * digits, 1)
    return numbers.format_percent(value, pattern, locale=i18n.babel_locale(language))


def describe_age(seconds: int, language: str = i18n.DEFAULT_LANGUAGE) -> str:
    """40 s, 3 min, 2 h 5 min, 3 days: how long ago, in the console's words."""
    _ = partial(i18n.translate, language)  # `_`: extracted into the catalogs
    if seconds < 120:
        return _("%(n)s s", n=seconds)
    if seconds < 3600:
        return _("%(n)s min", n=seconds // 60)
    if seconds < 2 * 86400:
        hours, minutes = divmod(seconds // 60, 60)
        return _("%(hours)s h %(minutes)s min", hours=hours, minutes=minutes) if minutes else _("%(n)s h", n=hours)
    return _("%(n)s days", n=seconds // 86400)


def jobs_status_text(seconds_ago: int | None, language: str = i18n.DEFAULT_LANGUAGE) -> str:
    """The console's line about the worker: "Background jobs last ran 40 s ago"."""
    if seconds_ago is None:
        return i18n.translate(language, "Background jobs have never run.")
    return i18n.translate(language, "Background jobs last ran %(age)s ago.", age=describe_age(seconds_ago, language))


def _rate(pair: tuple[int, int]) -> float | None:
    return pair[0] / pair[1] if pair[1] else None


def rule(definition: str) -> Callable:
    """An alert rule, defined in words: the definition is the rule's docstring and, translated, the
    console's list of rules (marked `N_` so the catalogs hold it)."""
    def mark(check: Callable) -> Callable:
        check.__doc__ = definition
        return check
    return mark


# Each rule takes the facts and the reader's language (the console's admin; English for the API).

@rule(N_("Critical when no periodic job has finished for more than 3 minutes (the job that releases expired "
         "holds runs every 60 s), or none ever has: `doktu worker` or its cron is down, so holds, reminders, "
         "payment reconciliation, redelivery, plan lapses and the Cal.com sync all stop."))
def jobs_stalled(f: AlertFacts, language: str = i18n.DEFAULT_LANGUAGE) -> Alert | None:
    age = f.jobs_last_ran_seconds_ago
    if age is not None and age <= JOBS_STALE_SECONDS:
        return None
    _ = partial(i18n.translate, language)  # `_`: extracted into the catalogs
    return Alert("critical", "jobs_stalled", _("Background jobs are not running"),
                 jobs_status_text(age, language) + " "
                 + _("Expired holds are not released; reminders and payment checks do not run."),
                 _("Start or restart `doktu worker` and read its log; follow the runbook (%(runbook)s).",
                   runbook=RUNBOOK), None)


@rule(N_("Critical when today (Paris) at least 5 card payments failed and they are at least 15 % of today's "
         "card payment attempts."))
def payment_failures(f: AlertFacts, language: str = i18n.DEFAULT_LANGUAGE) -> Alert | None:
    attempts = f.payments_failed_today + f.payments_succeeded_today
    if f.payments_failed_today < PAYMENT_FAILURES_MIN or f.payments_failed_today / attempts < PAYMENT_FAILURE_RATE:
        return None
    _ = partial(i18n.translate, language)  # `_`: extracted into the catalogs
    share = f.payments_failed_today / attempts
    code = (" " + _("Most common reason: %(code)s.", code=f.top_failure_code)) if f.top_failure_code else ""
    return Alert("critical", "payment_failures",
                 i18n.translate_plural(language, "%(num)d card payment failed today",
                                       "%(num)d card payments failed today", f.payments_failed_today),
                 _("%(share)s of today's %(attempts)s card payment attempts failed.",
                   share=_pct(share, language, 0), attempts=attempts) + code,
                 _("Check the payment provider's status and the webhook log, then contact the patients whose "
                   "payments failed."), "/admin/payments")


@rule(N_("Warning for each doctor (listed together) with no bookable time in the next 7 days, as the slot engine "
         "computes it for patients: Offline, fully booked, or every slot turned off."))
def doctors_without_availability(f: AlertFacts, language: str = i18n.DEFAULT_LANGUAGE) -> Alert | None:
    if not f.doctors_without_availability:
        return None
    _ = partial(i18n.translate, language)  # `_`: extracted into the catalogs
    names = f.doctors_without_availability
    return Alert("warning", "no_availability",
                 i18n.translate_plural(language, "%(num)d doctor with no free time in the next 7 days",
                                       "%(num)d doctors with no free time in the next 7 days", len(names)),
                 _("Patients cannot book %(names)s.", names=_named(names, language)),
                 _("Ask them to open slots or switch back Online in the doctor portal."), "/admin/doctors",
                 _doctor_links(names))


@rule(N_("Warning when the no-show rate of the last 7 days is at least 2 points above its average over the 30 "
         "days before (with at least 10 consultations in the 7 days)."))
def no_show_rising(f: AlertFacts, language: str = i18n.DEFAULT_LANGUAGE) -> Alert | None:
    week, month = _rate(f.no_show_week), _rate(f.no_show_month)
    if week is None or month is None or f.no_show_week[1] < NO_SHOW_MIN_VISITS or week < month + NO_SHOW_MARGIN:
        return None
    _ = partial(i18n.translate, language)  # `_`: extracted into the catalogs
    return Alert("warning", "no_show_rising", _("No-shows up: %(rate)s this week", rate=_pct(week, language, 1)),
                 _("%(missed)s of %(total)s consultations of the last 7 days were no-shows, against %(average)s "
                   "over the 30 days before.", missed=f.no_show_week[0], total=f.no_show_week[1],
                   average=_pct(month, language, 1)),
                 _("Check that reminders go out (24 h and 1 h before) and call this week's no-shows."),
                 "/admin/appointments")


@rule(N_("Warning when the share of failed device tests over the last 7 days is at least 5 points above the 30 "
         "days before (with at least 20 tests in the 7 days)."))
def device_tests_failing(f: AlertFacts, language: str = i18n.DEFAULT_LANGUAGE) -> Alert | None:
    week, month = _rate(f.device_tests_week), _rate(f.device_tests_month)
    if week is None or month is None or f.device_tests_week[1] < DEVICE_MIN_TESTS \
            or week < month + DEVICE_FAILURE_MARGIN:
        return None
    _ = partial(i18n.translate, language)  # `_`: extracted into the catalogs
    return Alert("warning", "device_tests_failing",
                 _("Device tests failing more: %(rate)s this week", rate=_pct(week, language, 1)),
                 _("%(failed)s of %(total)s device tests failed in the last 7 days, against %(average)s over the "
                   "30 days before.", failed=f.device_tests_week[0], total=f.device_tests_week[1],
                   average=_pct(month, language, 1)),
                 _("Check the STUN server and the bandwidth test endpoint; read the failed tests' details."), None)


@rule(N_("Warning when appointments are still pending more than 5 minutes after their 15-minute hold ended: the "
         "job that releases expired holds (every 60 s) is not running."))
def pending_stuck(f: AlertFacts, language: str = i18n.DEFAULT_LANGUAGE) -> Alert | None:
    if not f.stuck_pending:
        return None
    _ = partial(i18n.translate, language)  # `_`: extracted into the catalogs
    return Alert("warning", "pending_stuck",
                 i18n.translate_plural(language, "%(num)d unpaid hold not released",
                                       "%(num)d unpaid holds not released", f.stuck_pending),
                 _("Their times stay blocked for other patients."),
                 _("Check that `doktu worker` (RQ and its cron) is running; unlock_stale_slots releases them."),
                 "/admin/appointments")


@rule(N_("Warning when background jobs (emails, SMS, reminders, refunds) are in RQ's failed registry; Info when "
         "the queue cannot be asked."))
def jobs_failing(f: AlertFacts, language: str = i18n.DEFAULT_LANGUAGE) -> Alert | None:
    _ = partial(i18n.translate, language)  # `_`: extracted into the catalogs
    if f.failed_jobs is None:
        return Alert("info", "jobs_unknown", _("Background jobs: status unknown"),
                     _("The job queue (Redis) did not answer."), _("Check Redis (GET /readyz)."), "/readyz")
    if not f.failed_jobs:
        return None
    return Alert("warning", "jobs_failing",
                 i18n.translate_plural(language, "%(num)d background job failed", "%(num)d background jobs failed",
                                       f.failed_jobs),
                 _("Notifications or refunds may not have gone out."),
                 _("Inspect them with `rq info` and the worker log, fix the cause, then `rq requeue --all`."), None)


@rule(N_("Critical when owed side effects (gateway refunds, notices, checkout expiries owed by committed changes) "
         "were retried for about a day and given up: money or a notice owed to someone is not going out until a "
         "person acts."))
def owed_effects_given_up(f: AlertFacts, language: str = i18n.DEFAULT_LANGUAGE) -> Alert | None:
    if not f.owed_given_up:
        return None
    _ = partial(i18n.translate, language)  # `_`: extracted into the catalogs
    return Alert("critical", "owed_given_up",
                 i18n.translate_plural(language, "%(num)d owed refund or notice given up",
                                       "%(num)d owed refunds or notices given up", f.owed_given_up),
                 _("Refunds or notices owed by committed changes have failed for about a day."),
                 _("Run `doktu owed status`, read last_error, fix the cause, then `doktu owed retry` "
                   "(docs/operations.md, Owed side effects)."), None)


def _doctor_links(names: list[str]) -> tuple[tuple[str, str], ...]:
    return tuple((name, "/admin/doctors") for name in names[:LINKS_SHOWN])


def _named(names: list[str], language: str = i18n.DEFAULT_LANGUAGE) -> str:
    shown = ", ".join(names[:LINKS_SHOWN])
    if len(names) <= LINKS_SHOWN:
        return shown
    return i18n.translate(language, "%(names)s and %(n)s more", names=shown, n=len(names) - LINKS_SHOWN)


@rule(N_("Info: which doctors are Offline now (their times are hidden from patients)."))
def doctors_offline(f: AlertFacts, language: str = i18n.DEFAULT_LANGUAGE) -> Alert | None:
    if not f.doctors_offline:
        return None
    _ = partial(i18n.translate, language)  # `_`: extracted into the catalogs
    names = f.doctors_offline_names
    return Alert("info", "doctors_offline",
                 i18n.translate_plural(language, "%(num)d doctor Offline", "%(num)d doctors Offline",
                                       f.doctors_offline),
                 _("Offline doctors' times are hidden from patients: %(names)s.", names=_named(names, language))
                 if names else _("Offline doctors' times are hidden from patients."),
                 _("Nothing to do unless it lasts: doctors switch Online in their portal."), "/admin/doctors",
                 _doctor_links(names))


@rule(N_("Warning when booked consultations started more than 2 hours ago and are still neither completed nor a "
         "no-show: the doctor did not press Complete (the settlement has reminded them), or the consultation "
         "happened outside the room. Each is named, with its actions."))
def consultations_without_outcome(f: AlertFacts, language: str = i18n.DEFAULT_LANGUAGE) -> Alert | None:
    if not f.unsettled:
        return None
    _ = partial(i18n.translate, language)  # `_`: extracted into the catalogs
    n = len(f.unsettled)
    return Alert("warning", "consultations_without_outcome",
                 i18n.translate_plural(language, "%(num)d consultation without an outcome",
                                       "%(num)d consultations without an outcome", n),
                 _("Started over 2 hours ago, still not completed or marked as a no-show: %(names)s.",
                   names=_named([label for _id, label in f.unsettled], language)),
                 _("Open each one: mark a no-show, refund, or ask the doctor to complete it."), "/admin/appointments",
                 tuple((label, f"/admin/appointments?appointment={aid}") for aid, label in f.unsettled[:LINKS_SHOWN]))


@rule(N_("Critical when, in the last 7 days, a doctor never joined a consultation their patient waited for: the "
         "settlement cancelled it as the doctor's and refunded the patient in full plus a €10 credit (SPEC §16, "
         "§5)."))
def doctors_missed_consultations(f: AlertFacts, language: str = i18n.DEFAULT_LANGUAGE) -> Alert | None:
    if not f.doctors_missing_visits:
        return None
    _ = partial(i18n.translate, language)  # `_`: extracted into the catalogs
    n = len(f.doctors_missing_visits)
    return Alert("critical", "doctor_missed_consultations",
                 i18n.translate_plural(language, "%(num)d doctor missed a consultation this week",
                                       "%(num)d doctors missed a consultation this week", n),
                 _("Patients waited and nobody came: %(names)s. They were refunded in full with a %(credit)s "
                   "credit.", names=_named(f.doctors_missing_visits, language),
                   credit=i18n.format_money(1000, "EUR", language, short_whole=True)),
                 _("Call the doctor, check their availability and connection, and take them Offline if needed."),
                 "/admin/doctors", _doctor_links(f.doctors_missing_visits))


@rule(N_("Critical when a patient who pressed “See a doctor now” and paid has waited longer than WALKIN_MAX_WAIT "
         "(default 15 min) without a doctor accepting (SPEC §17); they have been offered a full refund."))
def walkins_waiting_too_long(f: AlertFacts, language: str = i18n.DEFAULT_LANGUAGE) -> Alert | None:
    if not f.walkins_over_max_wait:
        return None
    _ = partial(i18n.translate, language)  # `_`: extracted into the catalogs
    return Alert("critical", "walkins_waiting_too_long",
                 i18n.translate_plural(language, "%(num)d patient waiting over %(max)s min to see a doctor now",
                                       "%(num)d patients waiting over %(max)s min to see a doctor now",
                                       f.walkins_over_max_wait, max=f.walkin_max_wait_minutes),
                 _("The longest has waited %(wait)s. They were offered a full refund; those who leave are refunded "
                   "automatically.", wait=describe_age(f.walkin_longest_wait_seconds, language)),
                 _("Ask a doctor who is online to switch on “Taking consultations now” and accept the next "
                   "patient."), "/admin/doctors")


@rule(N_("Warning when support conversations wait on us past their due time (issue 25: Premium members are "
         "promised an answer within 4 working hours, everyone else within 2 working days)."))
def support_overdue(f: AlertFacts, language: str = i18n.DEFAULT_LANGUAGE) -> Alert | None:
    if not f.support_overdue:
        return None
    _ = partial(i18n.translate, language)  # `_`: extracted into the catalogs
    return Alert("warning", "support_overdue",
                 i18n.translate_plural(language, "%(num)d support conversation overdue",
                                       "%(num)d support conversations overdue", f.support_overdue),
                 _("Users are waiting longer for an answer than we promise."),
                 _("Open the Inbox and answer the oldest first."), "/admin/inbox")


RULES: tuple[Callable[..., Alert | None], ...] = (
    walkins_waiting_too_long,
    jobs_stalled, payment_failures, doctors_missed_consultations, doctors_without_availability,
    consultations_without_outcome, no_show_rising,
    device_tests_failing, pending_stuck, jobs_failing, owed_effects_given_up, support_overdue, doctors_offline,
)


def rule_definitions(language: str = i18n.DEFAULT_LANGUAGE) -> list[tuple[str, str]]:
    return [(check.__name__, i18n.translate(language, check.__doc__)) for check in RULES]


def evaluate(facts: AlertFacts, language: str = i18n.DEFAULT_LANGUAGE) -> list[Alert]:
    """Every rule's alert, Critical first, then Warning, then Info (rule order within a severity),
    worded in `language`."""
    found = [alert for check in RULES if (alert := check(facts, language)) is not None]
    return sorted(found, key=lambda a: SEVERITIES.index(a.severity))


FACTS = text("""
SELECT
  (SELECT count(*) FROM payments WHERE provider <> 'credit' AND status = 'failed'
      AND created_at >= :today AND created_at < :tomorrow) AS failed,
  (SELECT count(*) FROM payments WHERE provider <> 'credit'
      AND status IN ('succeeded', 'partially_refunded', 'refunded')
      AND created_at >= :today AND created_at < :tomorrow) AS succeeded,
  (SELECT failure_code FROM payments WHERE provider <> 'credit' AND status = 'failed' AND failure_code IS NOT NULL
      AND created_at >= :today AND created_at < :tomorrow GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1) AS top_code,
  (SELECT count(*) FROM doctors WHERE NOT online) AS offline,
  (SELECT count(*) FROM appointments WHERE status = 'pending' AND hold_expires_at < :stuck_before) AS stuck,
  (SELECT count(*) FROM owed_effects WHERE status = 'failed') AS owed_given_up,
  (SELECT count(*) FROM walkin_requests WHERE status = 'waiting' AND paid_at <= :walkin_cutoff) AS walkins_over,
  (SELECT coalesce(extract(epoch FROM :now - min(paid_at)), 0)::int FROM walkin_requests
      WHERE status = 'waiting') AS walkin_longest
""")
VISITS = text("""
SELECT count(*) FILTER (WHERE start_at >= :week AND status = 'no_show') AS week_no_show,
       count(*) FILTER (WHERE start_at >= :week) AS week_all,
       count(*) FILTER (WHERE start_at < :week AND status = 'no_show') AS month_no_show,
       count(*) FILTER (WHERE start_at < :week) AS month_all
  FROM appointments WHERE start_at >= :month AND start_at < :now AND status IN ('completed', 'no_show')
""")
TESTS = text("""
SELECT count(*) FILTER (WHERE created_at >= :week AND NOT passed) AS week_failed,
       count(*) FILTER (WHERE created_at >= :week) AS week_all,
       count(*) FILTER (WHERE created_at < :week AND NOT passed) AS month_failed,
       count(*) FILTER (WHERE created_at < :week) AS month_all
  FROM video_tests WHERE created_at >= :month AND created_at < :now
""")

UNSETTLED = text("""
SELECT a.id, d.display_name || ' with ' || u.full_name || ', '
             || to_char(a.start_at AT TIME ZONE 'Europe/Paris', 'Dy DD Mon HH24:MI') AS label
  FROM appointments a JOIN doctors d ON d.id = a.doctor_id JOIN patients pt ON pt.id = a.patient_id
  JOIN users u ON u.id = pt.user_id
 WHERE a.status IN ('paid', 'confirmed') AND a.start_at < :unsettled_before AND a.start_at >= :month
 ORDER BY a.start_at
 LIMIT 50
""")
MISSED = text("""
SELECT d.display_name FROM visit_events e JOIN appointments a ON a.id = e.appointment_id
  JOIN doctors d ON d.id = a.doctor_id
 WHERE e.kind = 'ended' AND e.outcome = 'doctor_no_show' AND e.occurred_at >= :week AND e.occurred_at < :now
 GROUP BY d.display_name ORDER BY count(*) DESC, d.display_name
""")


def gather_facts(actor: Actor, *, now: datetime | None = None, failed_jobs: int | None = None) -> AlertFacts:
    """Read what the rules need (SPEC §9 alert feed) as the admin; the database's
    part is a snapshot at most a minute old (the slot engine's look at every doctor is the costly
    part), the failed jobs and the jobs' heartbeat are always fresh."""
    require_staff(actor)
    # Fresh on every call, like the failed jobs: a stalled worker must show within the minute.
    last_ran = heartbeats.seconds_since_last_run(actor, now)
    if now is not None:
        return replace(_read_facts(actor, now), failed_jobs=failed_jobs, jobs_last_ran_seconds_ago=last_ran)
    facts = snapshot("alert-facts", lambda: _read_facts(actor, clock.now()), asdict,
                     lambda d: AlertFacts(**{k: tuple(v) if isinstance(v, list) and k.endswith(("week", "month"))
                                             else v for k, v in d.items()}))
    return replace(facts, failed_jobs=failed_jobs, jobs_last_ran_seconds_ago=last_ran)


def _read_facts(actor: Actor, now: datetime) -> AlertFacts:
    today = period_for("today", now, PARIS)
    week_start = now - timedelta(days=7)
    max_wait = config.current().walkin_max_wait_minutes
    params = {"today": today.start, "tomorrow": today.end, "stuck_before": now - STUCK_PENDING_GRACE, "now": now,
              "week": week_start, "month": week_start - timedelta(days=30),
              "walkin_cutoff": now - timedelta(minutes=max_wait), "unsettled_before": now - UNSETTLED_AFTER}
    with unit_of_work(actor) as uow:
        s = uow.session
        base = s.execute(FACTS, params).mappings().one()
        visits = s.execute(VISITS, params).mappings().one()
        tests = s.execute(TESTS, params).mappings().one()
        # Every listed doctor (approved), Online or not: the rule says "Offline, fully booked or every slot off".
        doctors = s.execute(text("SELECT id, display_name FROM doctors WHERE status = 'approved' "
                                 "ORDER BY display_name")).all()
        offline = list(s.scalars(text("SELECT display_name FROM doctors WHERE NOT online ORDER BY display_name "
                                      "LIMIT 50")))
        unsettled = [[str(r.id), r.label] for r in s.execute(UNSETTLED, params)]
        missing = list(s.scalars(MISSED, params))
        overdue = overdue_count(s, now)
    return AlertFacts(
        payments_failed_today=base["failed"], payments_succeeded_today=base["succeeded"],
        top_failure_code=base["top_code"], doctors_offline=base["offline"], stuck_pending=base["stuck"],
        owed_given_up=base["owed_given_up"], walkins_over_max_wait=base["walkins_over"],
        walkin_longest_wait_seconds=base["walkin_longest"], walkin_max_wait_minutes=max_wait,
        doctors_without_availability=_without_availability(actor, doctors, now),
        no_show_week=(visits["week_no_show"], visits["week_all"]),
        no_show_month=(visits["month_no_show"], visits["month_all"]),
        device_tests_week=(tests["week_failed"], tests["week_all"]),
        device_tests_month=(tests["month_failed"], tests["month_all"]),
        doctors_missing_visits=missing, support_overdue=overdue, doctors_offline_names=offline,
        unsettled=unsettled,
    )


def _without_availability(actor: Actor, doctors: list, now: datetime) -> list[str]:
    """Listed doctors the slot engine offers nothing for in the next 7 days: Offline (the engine
    offers an Offline doctor nothing), fully booked, or every slot turned off."""
    names = {row.id: row.display_name for row in doctors}
    ids: list[uuid.UUID] = list(names)
    empty = []
    for i in range(0, len(ids), MAX_BATCH):
        found = next_free_slots(actor, ids[i:i + MAX_BATCH], count=1, start=now, end=now + timedelta(days=7))
        empty += [names[d] for d in ids[i:i + MAX_BATCH] if not found.get(d)]
    return empty


def alert_feed(actor: Actor, *, now: datetime | None = None, failed_jobs: int | None = None,
               language: str = i18n.DEFAULT_LANGUAGE) -> list[Alert]:
    """The feed worded in `language` (the facts are cached per minute, the words are not)."""
    return evaluate(gather_facts(actor, now=now, failed_jobs=failed_jobs), language)
