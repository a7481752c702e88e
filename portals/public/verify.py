"""`/verify/<code>` (SPEC §18): anyone holding a document checks that Doktu issued it — by whom,
when, for whose initials. No health content, nothing at all for an unknown code."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import render_template

from core.documents.issuing import verify
from portals.public import public


@public.get("/verify/<code>")
def verify_document(code: str):
    found = verify(code)
    issued = found.issued_at.astimezone(ZoneInfo("Europe/Paris")) if found else None
    response = render_template("public/verify.html", found=found, code=code[:32],
                               issued_on=f"{issued.day} {issued:%B %Y}" if issued else "")
    return (response, 200) if found else (response, 404)
