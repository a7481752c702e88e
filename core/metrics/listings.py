"""The admin console's tables (SPEC §9): appointments, doctors, patients and payments of a period,
paged in PostgreSQL (LIMIT/OFFSET with a count), and the same rows whole for a CSV export.

Each listing is one query with the period's bounds; values stay raw (UTC instants, cents): the
portal formats them for people, the CSV keeps them for analysts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from sqlalchemy import text

from core import clock
from core.actor import Actor
from core.csv_export import frame_csv
from core.db import unit_of_work
from core.errors import ValidationFailed
from core.metrics.kpis import require_staff
from core.metrics.periods import Period, period_for

PAGE_SIZE = 25
EXPORT_LIMIT = 100_000  # rows in one CSV download of a view


@dataclass(frozen=True)
class Listing:
    """One table of the console: which rows a period holds, and how they are shown, searched,
    filtered and sorted. `count_sql` and `rows_sql` have a `{where}` slot (extra conditions, each
    starting with AND) and `rows_sql` an `{order}` slot (the sort, then the row id)."""

    key: str
    title: str
    description: str
    columns: tuple[tuple[str, str], ...]  # (field, header)
    count_sql: str
    rows_sql: str  # ordered; takes :limit and :offset
    search_sql: str | None = None  # a condition on :q (an ILIKE pattern)
    status_sql: str | None = None  # a condition on :status
    statuses: tuple[str, ...] = ()
    sorts: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (order in the page, order of the result)
    default_sort: str = ""


_NAMED_PATIENTS = ("(SELECT pt.id FROM patients pt JOIN users u ON u.id = pt.user_id WHERE u.full_name ILIKE :q "
                   "OR u.email ILIKE :q)")
_NAMED_DOCTORS = "(SELECT id FROM doctors WHERE display_name ILIKE :q OR specialty ILIKE :q)"

# Each query takes its page first (ORDER BY … LIMIT on one table), then joins names to those rows
# only: row-level security's policies make PostgreSQL's row estimates useless for the joins, so
# no join may depend on them being right.
APPOINTMENTS = Listing(
    "appointments", "Appointments",
    "Appointments starting in the period, latest first, with their payment.",
    (("start_at", "Start"), ("doctor", "Doctor"), ("patient", "Patient"), ("status", "Status"),
     ("price_cents", "Price"), ("payment_status", "Payment"), ("payment_provider", "Paid by"),
     ("booked_at", "Booked at")),
    "SELECT count(*) FROM appointments a WHERE start_at >= :s AND start_at < :e {where}",
    """WITH page AS MATERIALIZED (
         SELECT id, doctor_id, patient_id, start_at, status, price_cents, created_at FROM appointments a
          WHERE start_at >= :s AND start_at < :e {where}
          ORDER BY {order} LIMIT :limit OFFSET :offset)
       SELECT a.id, a.start_at, d.display_name AS doctor, u.full_name AS patient, a.status, a.price_cents,
              p.status AS payment_status, p.provider AS payment_provider, a.created_at AS booked_at
         FROM page a
         JOIN doctors d ON d.id = a.doctor_id
         JOIN patients pt ON pt.id = a.patient_id
         JOIN users u ON u.id = pt.user_id
         LEFT JOIN LATERAL (SELECT status, provider FROM payments
                             WHERE appointment_id = a.id AND status <> 'failed'
                             ORDER BY created_at DESC LIMIT 1) p ON true
        ORDER BY {order}""",
    search_sql=f"(a.doctor_id IN {_NAMED_DOCTORS} OR a.patient_id IN {_NAMED_PATIENTS} OR a.id::text ILIKE :q)",
    status_sql="a.status = :status",
    statuses=("pending", "confirmed", "paid", "completed", "no_show", "cancelled"),
    sorts={"start_desc": ("a.start_at DESC, a.id", "a.start_at DESC, a.id"),
           "start_asc": ("a.start_at, a.id", "a.start_at, a.id"),
           "booked_desc": ("a.created_at DESC, a.id", "a.created_at DESC, a.id"),
           "price_desc": ("a.price_cents DESC, a.start_at DESC, a.id", "a.price_cents DESC, a.start_at DESC, a.id")},
    default_sort="start_desc",
)

DOCTORS = Listing(
    "doctors", "Doctors",
    "Every doctor with their consultations starting in the period, busiest first.",
    (("doctor", "Doctor"), ("specialty", "Specialty"), ("online", "Online"), ("booked", "Booked"),
     ("completed", "Completed"), ("no_show", "No-shows"), ("cancelled", "Cancelled"), ("rating", "Rating")),
    "SELECT count(*) FROM doctors d WHERE true {where}",
    """WITH x AS MATERIALIZED (
         SELECT doctor_id,
                count(*) FILTER (WHERE status IN ('paid', 'confirmed', 'completed', 'no_show')) AS booked,
                count(*) FILTER (WHERE status = 'completed') AS completed,
                count(*) FILTER (WHERE status = 'no_show') AS no_show,
                count(*) FILTER (WHERE status = 'cancelled') AS cancelled
           FROM appointments WHERE start_at >= :s AND start_at < :e GROUP BY doctor_id)
       SELECT d.id, d.display_name AS doctor, d.specialty, d.online, coalesce(x.booked, 0) AS booked,
              coalesce(x.completed, 0) AS completed, coalesce(x.no_show, 0) AS no_show,
              coalesce(x.cancelled, 0) AS cancelled, r.rating_avg AS rating
         FROM doctors d LEFT JOIN x ON x.doctor_id = d.id LEFT JOIN doctor_rating_stats r ON r.doctor_id = d.id
        WHERE true {where}
        ORDER BY {order}
        LIMIT :limit OFFSET :offset""",
    search_sql="(d.display_name ILIKE :q OR d.specialty ILIKE :q)",
    status_sql="(CASE WHEN d.status <> 'approved' THEN d.status WHEN d.online THEN 'online' ELSE 'offline' END)"
               " = :status",
    statuses=("online", "offline", "pending", "suspended"),
    sorts={"busiest": ("", "coalesce(x.booked, 0) DESC, d.display_name, d.id"),
           "name": ("", "d.display_name, d.id"),
           "no_shows": ("", "coalesce(x.no_show, 0) DESC, d.display_name, d.id"),
           "rating": ("", "r.rating_avg DESC NULLS LAST, d.display_name, d.id")},
    default_sort="busiest",
)

_ACTIVE_PATIENTS = """
  WITH who AS MATERIALIZED (
    SELECT patient_id, sum(appointments) AS appointments, sum(completed) AS completed, sum(no_show) AS no_show
      FROM (SELECT patient_id, 1 AS appointments, (status = 'completed')::int AS completed,
                   (status = 'no_show')::int AS no_show
              FROM appointments WHERE start_at >= :s AND start_at < :e
            UNION ALL
            SELECT id, 0, 0, 0 FROM patients WHERE created_at >= :s AND created_at < :e) x
     GROUP BY patient_id)
"""
PATIENTS = Listing(
    "patients", "Patients",
    "Patients with an appointment starting in the period or who joined in it, most appointments first.",
    (("patient", "Patient"), ("joined_at", "Joined"), ("appointments", "Appointments"), ("completed", "Completed"),
     ("no_show", "No-shows"), ("paid_cents", "Paid (net)")),
    _ACTIVE_PATIENTS + "SELECT count(*) FROM who WHERE true {where}",
    _ACTIVE_PATIENTS + """
       , page AS MATERIALIZED (
         SELECT who.*, pt.created_at AS joined_at, pt.user_id FROM who JOIN patients pt ON pt.id = who.patient_id
          WHERE true {where}
          ORDER BY {order} LIMIT :limit OFFSET :offset)
       SELECT page.patient_id AS id, u.full_name AS patient, page.joined_at, page.appointments, page.completed,
              page.no_show,
              coalesce((SELECT sum(amount_cents - refunded_cents) FROM payments p
                         WHERE p.user_id = page.user_id AND p.provider <> 'credit'
                           AND p.status IN ('succeeded', 'partially_refunded', 'refunded')
                           AND p.created_at >= :s AND p.created_at < :e), 0) AS paid_cents
         FROM page JOIN users u ON u.id = page.user_id
        ORDER BY {result_order}""",
    search_sql=f"who.patient_id IN {_NAMED_PATIENTS}",
    status_sql="(CASE WHEN who.no_show > 0 THEN 'no_show' WHEN who.appointments = 0 THEN 'joined_only' "
               "ELSE 'booked' END) = :status",
    statuses=("booked", "no_show", "joined_only"),
    sorts={"most": ("who.appointments DESC, pt.created_at DESC, pt.id",
                    "page.appointments DESC, page.joined_at DESC, page.patient_id"),
           "newest": ("pt.created_at DESC, pt.id", "page.joined_at DESC, page.patient_id"),
           "no_shows": ("who.no_show DESC, who.appointments DESC, pt.id",
                        "page.no_show DESC, page.appointments DESC, page.patient_id")},
    default_sort="most",
)

PAYMENTS = Listing(
    "payments", "Payments",
    "Payments started in the period (card, local stand-in or credit; visits and plans), latest first.",
    (("created_at", "Time"), ("account", "Account"), ("kind", "Kind"), ("provider", "Provider"),
     ("status", "Status"), ("amount_cents", "Amount"), ("refunded_cents", "Refunded"), ("failure_code", "Failure")),
    "SELECT count(*) FROM payments p WHERE created_at >= :s AND created_at < :e {where}",
    """WITH page AS MATERIALIZED (
         SELECT * FROM payments p WHERE created_at >= :s AND created_at < :e {where}
          ORDER BY {order} LIMIT :limit OFFSET :offset)
       SELECT p.id, p.created_at, u.full_name AS account, p.kind, p.provider, p.status, p.amount_cents,
              p.refunded_cents, p.failure_code, p.appointment_id
         FROM page p JOIN users u ON u.id = p.user_id
        ORDER BY {order}""",
    search_sql="(p.user_id IN (SELECT id FROM users WHERE full_name ILIKE :q OR email ILIKE :q) "
               "OR p.failure_code ILIKE :q)",
    status_sql="p.status = :status",
    statuses=("succeeded", "failed", "partially_refunded", "refunded", "pending"),
    sorts={"latest": ("p.created_at DESC, p.id", "p.created_at DESC, p.id"),
           "amount_desc": ("p.amount_cents DESC, p.created_at DESC, p.id",
                           "p.amount_cents DESC, p.created_at DESC, p.id"),
           "refunded_desc": ("p.refunded_cents DESC, p.created_at DESC, p.id",
                             "p.refunded_cents DESC, p.created_at DESC, p.id")},
    default_sort="latest",
)

LISTINGS = {listing.key: listing for listing in (APPOINTMENTS, DOCTORS, PATIENTS, PAYMENTS)}


@dataclass(frozen=True)
class Page:
    listing: Listing
    period: Period
    rows: list[dict]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def first_row(self) -> int:
        return 0 if not self.total else (self.page - 1) * self.page_size + 1

    @property
    def last_row(self) -> int:
        return min(self.total, self.page * self.page_size)


def _listing(key: str) -> Listing:
    if key not in LISTINGS:
        raise ValidationFailed(f"No table called {key!r}.")
    return LISTINGS[key]


@dataclass(frozen=True)
class Query:
    """What the admin asked of a table: a search (names, emails, ids), a status, a sort."""

    search: str = ""
    status: str = ""
    sort: str = ""


def _sql(listing: Listing, query: Query) -> tuple[str, str, dict]:
    """The listing's count and rows SQL with the query's conditions, and their parameters. Only
    fixed SQL fragments are spliced in; what the admin typed is a bound parameter."""
    where, params = [], {}
    search = (query.search or "").strip()[:100]
    if search and listing.search_sql:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(listing.search_sql)
        params["q"] = f"%{escaped}%"
    if query.status:
        if query.status not in listing.statuses:
            raise ValidationFailed(f"No status {query.status!r} in {listing.key}.", details={"field": "status"})
        where.append(listing.status_sql)
        params["status"] = query.status
    sort = query.sort or listing.default_sort
    if sort not in listing.sorts:
        raise ValidationFailed(f"No sort {sort!r} in {listing.key}.", details={"field": "sort"})
    page_order, result_order = listing.sorts[sort]
    conditions = "".join(f" AND {c}" for c in where)
    count = listing.count_sql.format(where=conditions)
    rows = listing.rows_sql.format(where=conditions, order=page_order or result_order, result_order=result_order)
    return count, rows, params


def page_of(actor: Actor, key: str, range_name: str, page: int = 1, *, page_size: int = PAGE_SIZE,
            now: datetime | None = None, query: Query | None = None) -> Page:
    """Page `page` (from 1; clamped to the last page) of a console table for the period, searched,
    filtered and sorted in PostgreSQL."""
    require_staff(actor)
    listing, period = _listing(key), period_for(range_name, now or clock.now())
    count_sql, rows_sql, params = _sql(listing, query or Query())
    bounds = {"s": period.start, "e": period.end, **params}
    with unit_of_work(actor) as uow:
        total = uow.session.execute(text(count_sql), bounds).scalar_one()
        pages = max(1, -(-total // page_size))
        page = min(max(1, page), pages)
        rows = uow.session.execute(text(rows_sql), {**bounds, "limit": page_size,
                                                    "offset": (page - 1) * page_size}).mappings().all()
    return Page(listing, period, [dict(r) for r in rows], total, page, page_size)


def listing_csv(actor: Actor, key: str, range_name: str, *, now: datetime | None = None,
                language: str | None = None, query: Query | None = None,
                headers: Mapping[str, str] | None = None) -> str:
    """The whole table of the period as CSV (at most EXPORT_LIMIT rows), with the same search,
    status and sort as on screen: times in ISO 8601 UTC, money in cents, the row id first. `headers`
    renames columns (the console's download: in the admin's language)."""
    require_staff(actor)
    listing, period = _listing(key), period_for(range_name, now or clock.now())
    _, rows_sql, params = _sql(listing, query or Query())
    with unit_of_work(actor) as uow:
        rows = uow.session.execute(text(rows_sql), {"s": period.start, "e": period.end, **params,
                                                    "limit": EXPORT_LIMIT, "offset": 0}).mappings().all()
    frame = pd.DataFrame([dict(r) for r in rows], columns=["id", *[c for c, _ in listing.columns]])
    for column in frame.columns:
        frame[column] = [_csv_cell(v) for v in frame[column]]
    return frame_csv(frame.rename(columns=dict(headers or {})), language=language)


def _csv_cell(value):
    if isinstance(value, datetime):
        return value.isoformat()
    return "" if value is None else value
