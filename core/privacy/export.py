"""Download my data (SPEC §21; GDPR art. 15 access, art. 20 portability).

The rule:
1. A signed-in user (patient, doctor or admin) asks for an export; at most one is in progress
   (queued or building) per user — the database refuses a second (ERR_EXPORT_IN_PROGRESS) — and
   at most 3 in 24 hours (ERR_RATE_LIMITED: each export reads everything). The
   request is audited (`data_export.requested`) and owed: the row itself is the work order, built
   by a job right after the commit and, should that job be lost, by the sweep every 10 minutes.
2. The job builds a ZIP: one JSON file per section of `core.privacy.sections` for the user's role,
   files (documents, receipts) where a file section exists, and a README.md describing every field.
   It reads as the user (their RLS context), so nothing of anyone else's can slip in.
3. The ZIP is kept in `data_exports` with the sha256 of a random token; the link
   `/account/data/download/<token>` is emailed. It works once, for 24 hours, and only for the
   same account signed in. The first download empties the stored archive (`data_export.downloaded`).
4. A new request retires a ready export not yet downloaded (its link stops working); expired
   archives are emptied by the retention job.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import secrets
import uuid
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core import clock, config, i18n
from core.actor import ROLES, SYSTEM, Actor
from core.audit import record_audit
from core.db import UnitOfWork, acting_as_system, unit_of_work
from core.errors import ExportInProgress, Forbidden, LinkExpired, RateLimited
from core.i18n import N_
from core.models import DataExport, Doctor, Patient, User
from core.notify.email import Email, queue_email
from core.notify.rendering import language_of, render, zone_of
from core.privacy import sections
from core.privacy.sections import Subject

log = logging.getLogger(__name__)

BUILD_TASK = "jobs.privacy.build_export_job"
LINK_LIFETIME = timedelta(hours=24)
IN_PROGRESS = ("queued", "building")
DAILY_CAP = 3  # exports a user may ask for in 24 hours: each reads everything, so it is not free
# A build that has not finished after this long died with its worker: the sweep takes it again.
STALE_BUILD = timedelta(minutes=30)


@dataclass(frozen=True)
class ExportState:
    """The latest export, for the Settings page."""

    id: uuid.UUID
    status: str
    requested_at: datetime
    ready_at: datetime | None
    expires_at: datetime | None
    downloaded_at: datetime | None

    @property
    def in_progress(self) -> bool:
        return self.status in IN_PROGRESS


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _require_user(actor: Actor) -> None:
    if actor.role not in ROLES or actor.user_id is None:
        raise Forbidden(N_("Sign in to download your data."))


# --- services ---------------------------------------------------------------------------------

def request_export(actor: Actor) -> ExportState:
    """Ask for an export (SPEC §21): one in progress per user (ERR_EXPORT_IN_PROGRESS), audited,
    built by a job after the commit. A ready export not yet downloaded is retired."""
    _require_user(actor)
    now = clock.now()
    try:
        with unit_of_work(actor) as uow:
            s = uow.session
            recent = list(s.scalars(select(DataExport.requested_at).where(
                DataExport.user_id == actor.user_id, DataExport.requested_at > now - timedelta(hours=24))
                .order_by(DataExport.requested_at)))
            if len(recent) >= DAILY_CAP:
                wait = int((recent[0] + timedelta(hours=24) - now).total_seconds()) + 1
                raise RateLimited(N_("You can ask for %(count)d exports in 24 hours. Please try again later."),
                                  params={"count": DAILY_CAP},
                                  retry_after=wait)
            row = DataExport(user_id=actor.user_id, status="queued", requested_at=now)
            s.add(row)
            s.flush()
            with acting_as_system(uow):
                s.execute(update(DataExport).where(DataExport.user_id == actor.user_id, DataExport.id != row.id,
                                                   DataExport.status == "ready")
                          .values(status="expired", archive=None))
                record_audit(s, actor, action="data_export.requested", subject_type="user",
                             subject_id=str(actor.user_id), at=now, details={"exportId": str(row.id)})
            uow.defer(BUILD_TASK, str(row.id))
            return _state(row)
    except IntegrityError as exc:  # the partial unique index: one queued or building export per user
        raise ExportInProgress() from exc


def latest_export(actor: Actor) -> ExportState | None:
    """The user's most recent export, whatever its state (the Settings page says where it is)."""
    _require_user(actor)
    with unit_of_work(actor) as uow:
        row = uow.session.scalar(select(DataExport).where(DataExport.user_id == actor.user_id)
                                 .order_by(DataExport.requested_at.desc()).limit(1))
        return _state(row) if row else None


def build_export(export_id: uuid.UUID, *, now: datetime | None = None) -> bool:
    """Build one queued export and email its link (SPEC §21). Idempotent: an export that is not
    queued (or a stale build) is left alone, so a job run twice builds once. Returns True if built."""
    now = now or clock.now()
    with unit_of_work(SYSTEM) as uow:
        row = uow.session.scalar(select(DataExport).where(DataExport.id == export_id).with_for_update(skip_locked=True))
        if row is None or not _claimable(row, now):
            return False
        user = uow.session.get(User, row.user_id)
        if not user.is_active:  # erased meanwhile: nothing to send, nobody to send it to
            row.status, row.failure = "failed", "inactive account"
            return False
        row.status, row.ready_at = "building", now  # ready_at doubles as "building since" until ready
        subject = _subject(uow, user)
    try:
        archive = build_archive(subject, now=now)
    except Exception as exc:
        log.exception("data export failed", extra={"exportId": str(export_id)})
        with unit_of_work(SYSTEM) as uow:
            uow.session.execute(update(DataExport).where(DataExport.id == export_id)
                                .values(status="failed", failure=type(exc).__name__[:200]))
        return False
    token = secrets.token_urlsafe(32)
    with unit_of_work(SYSTEM) as uow:
        done = uow.session.execute(
            update(DataExport).where(DataExport.id == export_id, DataExport.status == "building")
            .values(status="ready", archive=archive, size_bytes=len(archive), token_hash=_digest(token),
                    ready_at=now, expires_at=now + LINK_LIFETIME))
        if not done.rowcount:
            return False
        record_audit(uow.session, SYSTEM, action="data_export.ready", subject_type="user",
                     subject_id=str(subject.user_id), at=now,
                     details={"exportId": str(export_id), "sizeBytes": len(archive)})
        _email_link(uow, subject, token, now + LINK_LIFETIME)
    return True


def build_queued_exports(now: datetime | None = None) -> int:
    """The sweep (every 10 minutes): build exports whose job was lost, and retry dead builds."""
    now = now or clock.now()
    with unit_of_work(SYSTEM) as uow:
        ids = list(uow.session.scalars(select(DataExport.id).where(DataExport.status.in_(IN_PROGRESS))
                                       .order_by(DataExport.requested_at)))
    return sum(1 for export_id in ids if build_export(export_id, now=now))


def download_export(actor: Actor, token: str) -> tuple[str, bytes]:
    """Use the emailed link (SPEC §21): once, within 24 hours, by the same account. Returns the file
    name and the ZIP; the stored copy is emptied. Anything else is ERR_LINK_EXPIRED (410), the
    same answer for an unknown token, so links cannot be probed."""
    _require_user(actor)
    now = clock.now()
    with unit_of_work(SYSTEM) as uow:  # the link is checked against the account below
        s = uow.session
        row = s.scalar(select(DataExport).where(DataExport.token_hash == _digest(token or "")).with_for_update())
        if (row is None or row.user_id != actor.user_id or row.status != "ready" or row.archive is None
                or row.expires_at <= now):
            raise LinkExpired(N_("This download link has expired or was already used. "
                                 "Ask for a new export in Settings."))
        archive = row.archive
        row.status, row.downloaded_at, row.archive = "downloaded", now, None
        record_audit(s, actor, action="data_export.downloaded", subject_type="user", subject_id=str(actor.user_id),
                     at=now, details={"exportId": str(row.id)})
        return f"doktu-data-{now:%Y-%m-%d}.zip", archive


def expire_exports(now: datetime | None = None) -> int:
    """Retention: empty ready exports whose 24 hours are over (the link is dead anyway)."""
    now = now or clock.now()
    with unit_of_work(SYSTEM) as uow:
        done = uow.session.execute(update(DataExport).where(DataExport.status == "ready", DataExport.expires_at <= now)
                                   .values(status="expired", archive=None))
        return done.rowcount or 0


# --- building the archive ---------------------------------------------------------------------

def build_archive(subject: Subject, *, now: datetime) -> bytes:
    """The ZIP: README.md, one <section>.json per section for the subject's role, and files. Read
    as the subject (RLS), system-only tables through their explicitly filtered sections."""
    actor = Actor(subject.user_id, subject.role)
    buffer = io.BytesIO()
    with unit_of_work(actor) as uow, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        s = uow.session
        written = []
        for sec in sections.SECTIONS:
            if subject.role not in sec.roles:
                continue
            if sec.as_system:
                with acting_as_system(uow):
                    rows = sec.rows(s, subject)
            else:
                rows = sec.rows(s, subject)
            archive.writestr(f"{sec.name}.json", json.dumps(rows, default=_json_value, ensure_ascii=False, indent=2))
            written.append((sec, len(rows)))
        folders = []
        for fsec in sections.FILE_SECTIONS:
            if subject.role not in fsec.roles:
                continue
            if fsec.as_system:
                with acting_as_system(uow):
                    files = fsec.files(s, subject)
            else:
                files = fsec.files(s, subject)
            for item in files:
                archive.writestr(f"{fsec.folder}/{item.path}", item.content)
            folders.append((fsec, len(files)))
        archive.writestr("README.md", readme(written, folders, now=now))
    return buffer.getvalue()


def readme(written: list, folders: list, *, now: datetime) -> str:
    """What each file holds and what each field means."""
    lines = [
        "# Your Doktu data",
        "",
        f"Exported on {now:%Y-%m-%d at %H:%M} UTC. Every time is UTC in ISO 8601; amounts are in cents.",
        "Each .json file is a list of objects, one per record (an empty list: we hold none).",
        "Under the GDPR (art. 15 and 20) you may reuse this data anywhere you like.",
        "",
    ]
    for sec, count in written:
        lines += [f"## {sec.name}.json — {sec.title} ({count})", "", sec.about, ""]
        lines += [f"- `{name}`: {meaning}" for name, meaning in sec.fields.items()]
        lines.append("")
    for fsec, count in folders:
        lines += [f"## {fsec.folder}/ — {fsec.title} ({count} files)", "", fsec.about, ""]
    return "\n".join(lines)


def _json_value(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot export {type(value).__name__}")


# --- the steps --------------------------------------------------------------------------------

def _claimable(row: DataExport, now: datetime) -> bool:
    if row.status == "queued":
        return True
    return row.status == "building" and row.ready_at is not None and row.ready_at <= now - STALE_BUILD


def _subject(uow: UnitOfWork, user: User) -> Subject:
    s = uow.session
    patient = s.scalar(select(Patient).where(Patient.user_id == user.id))
    doctor_id = s.scalar(select(Doctor.id).where(Doctor.user_id == user.id))
    return Subject(user.id, user.role, user.email, patient.phone if patient else None,
                   patient.id if patient else None, doctor_id)


def _state(row: DataExport) -> ExportState:
    return ExportState(row.id, row.status, row.requested_at, row.ready_at if row.status != "building" else None,
                       row.expires_at, row.downloaded_at)


def _email_link(uow: UnitOfWork, subject: Subject, token: str, expires_at: datetime) -> None:
    """The link, in the user's language, the deadline in their own zone (SPEC §20)."""
    link = f"{config.current().public_base_url}/account/data/download/{token}"
    locale, zone, device_zone = uow.session.execute(
        select(User.locale, User.timezone, User.device_zone).where(User.id == subject.user_id)).one()
    language = language_of(locale)
    message = render("data_export_ready", language, link=link,
                     until=i18n.format_moment(expires_at, zone_of(zone, device_zone), language))
    queue_email(uow, Email(to=subject.email, subject=message.subject, text=message.text, html=message.html))
